//! The human time forms of scenario files: durations (`"90s"`, `"30m"`, `"1h30m"`, `"1d"`), the
//! lab start (RFC 3339), a time of day (`"09:30"`) and a burst's time (`"Mon 09:00"`, `"09:00"` or
//! an offset). Each parses from a TOML string and serialises back to the same form.

use std::fmt;
use std::time::Duration;

use runtime::LabTime;
use serde::de::{self, Visitor};

/// The units a duration may use, largest first: suffix and milliseconds.
const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// A span of lab time written as numbers with units, e.g. `"90s"`, `"30m"`, `"1h30m"`, `"1d"`,
/// `"250ms"`; millisecond precision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dur(pub Duration);

impl Dur {
    /// `n` seconds.
    pub const fn secs(n: u64) -> Dur {
        Dur(Duration::from_secs(n))
    }

    /// `n` milliseconds.
    pub const fn millis(n: u64) -> Dur {
        Dur(Duration::from_millis(n))
    }

    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }

    /// Parses `"1h30m"` and the like: one or more `<digits><unit>` with units `d`, `h`, `m`,
    /// `s`, `ms`, each at most once and largest first.
    pub fn parse(s: &str) -> Result<Dur, String> {
        let bad = |why: &str| {
            Err(format!(
                "bad duration {s:?}: {why} (write a number and a unit, d, h, m, s or ms, e.g. \"90s\", \"30m\", \"1h30m\")"
            ))
        };
        let t = s.trim();
        if t.is_empty() {
            return bad("it is empty");
        }
        let mut rest = t;
        let mut total: u64 = 0;
        let mut last_rank = None::<usize>;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return bad("a unit must follow a number");
            }
            let n: u64 = match rest[..digits].parse() {
                Ok(n) => n,
                Err(_) => return bad("the number is too large"),
            };
            rest = &rest[digits..];
            let letters = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
            let unit = &rest[..letters];
            let Some(rank) = UNITS.iter().position(|(u, _)| *u == unit) else {
                return if unit.is_empty() {
                    bad("the number has no unit")
                } else {
                    bad(&format!("unknown unit {unit:?}"))
                };
            };
            if last_rank.is_some_and(|r| r >= rank) {
                return bad("units must go from largest to smallest, each once");
            }
            last_rank = Some(rank);
            let ms = match n.checked_mul(UNITS[rank].1) {
                Some(ms) => ms,
                None => return bad("it is too long"),
            };
            total = match total.checked_add(ms) {
                Some(t) => t,
                None => return bad("it is too long"),
            };
            rest = &rest[letters..];
        }
        Ok(Dur(Duration::from_millis(total)))
    }
}

impl fmt::Display for Dur {
    /// The shortest form with the largest units first, e.g. `1h30m`, `250ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0.as_millis() as u64;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in UNITS {
            if ms >= size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for Dur {
    type Err = String;
    fn from_str(s: &str) -> Result<Dur, String> {
        Dur::parse(s)
    }
}

/// A serde visitor for values written as one string, parsed by `parse`.
pub(crate) struct StrVisitor<T> {
    /// What the value should look like.
    pub(crate) expecting: &'static str,
    /// Its parser.
    pub(crate) parse: fn(&str) -> Result<T, String>,
}

impl<T> Visitor<'_> for StrVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).map_err(E::custom)
    }
}

/// Implements Serialize (via Display) and Deserialize (from a string, via `parse`).
macro_rules! string_serde {
    ($ty:ty, $expecting:literal, $parse:expr) => {
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str($crate::scenario::duration::StrVisitor {
                    expecting: $expecting,
                    parse: $parse,
                })
            }
        }
    };
}
pub(crate) use string_serde;

string_serde!(
    Dur,
    "a duration such as \"90s\", \"30m\", \"1h30m\" or \"1d\"",
    Dur::parse
);

/// The lab clock's start, written in RFC 3339 (`"2026-01-05T08:00:00Z"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub LabTime);

impl Timestamp {
    /// Parses RFC 3339 with any offset (kept as the instant it names).
    pub fn parse(s: &str) -> Result<Timestamp, String> {
        let t =
            time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
                .map_err(|e| {
                format!("bad time {s:?}: {e} (write RFC 3339, e.g. \"2026-01-05T08:00:00Z\")")
            })?;
        let ns = t.unix_timestamp_nanos();
        u64::try_from(ns)
            .map(|ns| Timestamp(LabTime(ns)))
            .map_err(|_| format!("bad time {s:?}: before 1970"))
    }

    /// The lab time.
    pub fn lab_time(self) -> LabTime {
        self.0
    }
}

impl Default for Timestamp {
    /// Monday 2026-01-05 08:00 UTC (simulate mode's default start): a fixed start keeps runs
    /// reproducible.
    fn default() -> Self {
        Timestamp(LabTime::from_unix_secs(1_767_600_000))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.rfc3339();
        // `…:SS.000Z` → `…:SSZ` when there is no fraction.
        match s.strip_suffix(".000Z") {
            Some(whole) => write!(f, "{whole}Z"),
            None => f.write_str(&s),
        }
    }
}

string_serde!(
    Timestamp,
    "an RFC 3339 time such as \"2026-01-05T08:00:00Z\"",
    Timestamp::parse
);

/// A time of day in lab time (UTC), `"HH:MM"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    /// 0–23.
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
}

impl TimeOfDay {
    /// Parses `"HH:MM"` (24-hour).
    pub fn parse(s: &str) -> Result<TimeOfDay, String> {
        let bad = || format!("bad time of day {s:?} (write HH:MM, e.g. \"09:30\")");
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        let two = |x: &str| {
            (x.len() == 2 && x.bytes().all(|b| b.is_ascii_digit()))
                .then(|| x.parse::<u8>().ok())
                .flatten()
        };
        let (hour, minute) = (two(h).ok_or_else(bad)?, two(m).ok_or_else(bad)?);
        if hour > 23 || minute > 59 {
            return Err(bad());
        }
        Ok(TimeOfDay { hour, minute })
    }

    /// Seconds after midnight.
    pub fn seconds(self) -> u64 {
        self.hour as u64 * 3600 + self.minute as u64 * 60
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

string_serde!(
    TimeOfDay,
    "a time of day such as \"09:30\"",
    TimeOfDay::parse
);

/// A day of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Weekday {
    const ALL: [(Weekday, &'static str); 7] = [
        (Weekday::Mon, "Mon"),
        (Weekday::Tue, "Tue"),
        (Weekday::Wed, "Wed"),
        (Weekday::Thu, "Thu"),
        (Weekday::Fri, "Fri"),
        (Weekday::Sat, "Sat"),
        (Weekday::Sun, "Sun"),
    ];

    /// `Mon` … `Sun`.
    pub fn as_str(self) -> &'static str {
        Weekday::ALL[self as usize].1
    }

    /// Days after Monday (Monday = 0).
    pub fn from_monday(self) -> u64 {
        self as u64
    }
}

/// When a burst of arrivals starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BurstAt {
    /// This long after the lab start, e.g. `"2h"`.
    Offset(Dur),
    /// Every day at this time, e.g. `"09:00"`.
    Daily(TimeOfDay),
    /// Every week on this day at this time, e.g. `"Mon 09:00"`.
    Weekly(Weekday, TimeOfDay),
}

impl BurstAt {
    /// Parses `"Mon 09:00"`, `"09:00"` or a duration.
    pub fn parse(s: &str) -> Result<BurstAt, String> {
        let t = s.trim();
        if let Some((day, time)) = t.split_once(' ') {
            let day = Weekday::ALL
                .iter()
                .find(|(_, n)| n.eq_ignore_ascii_case(day.trim()))
                .map(|(d, _)| *d)
                .ok_or_else(|| {
                    format!(
                        "bad burst time {s:?}: {day:?} is not Mon, Tue, Wed, Thu, Fri, Sat or Sun"
                    )
                })?;
            return Ok(BurstAt::Weekly(day, TimeOfDay::parse(time)?));
        }
        if t.contains(':') {
            return TimeOfDay::parse(t).map(BurstAt::Daily);
        }
        Dur::parse(t).map(BurstAt::Offset).map_err(|e| {
            format!("{e}; a burst time is also \"Mon 09:00\" (weekly) or \"09:00\" (daily)")
        })
    }

    /// Every start of this burst within `[start, start + duration]`, as offsets from the start.
    pub fn occurrences(self, start: LabTime, duration: Dur) -> Vec<Dur> {
        let end = duration.0.as_millis() as u64;
        let start_ms = start.0 / 1_000_000;
        let (period, first) = match self {
            BurstAt::Offset(d) => {
                let at = d.0.as_millis() as u64;
                return if at <= end {
                    vec![Dur::millis(at)]
                } else {
                    vec![]
                };
            }
            BurstAt::Daily(t) => {
                let day = 86_400_000;
                let since_midnight = start_ms % day;
                let target = t.seconds() * 1000;
                (day, (target + day - since_midnight) % day)
            }
            BurstAt::Weekly(d, t) => {
                let week = 7 * 86_400_000;
                // 1970-01-01 was a Thursday: Monday 1970-01-05 starts the weeks.
                let monday0 = 4 * 86_400_000;
                let since_monday = (start_ms + week - monday0 % week) % week;
                let target = d.from_monday() * 86_400_000 + t.seconds() * 1000;
                (week, (target + week - since_monday) % week)
            }
        };
        (0..)
            .map(|k| first + k * period)
            .take_while(|at| *at <= end)
            .map(Dur::millis)
            .collect()
    }
}

impl fmt::Display for BurstAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BurstAt::Offset(d) => write!(f, "{d}"),
            BurstAt::Daily(t) => write!(f, "{t}"),
            BurstAt::Weekly(d, t) => write!(f, "{} {t}", d.as_str()),
        }
    }
}

string_serde!(
    BurstAt,
    "a burst time such as \"Mon 09:00\", \"09:00\" or \"2h\"",
    BurstAt::parse
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_back() {
        for (text, ms, canon) in [
            ("90s", 90_000, "1m30s"),
            ("30m", 1_800_000, "30m"),
            ("24h", 86_400_000, "1d"),
            ("1d", 86_400_000, "1d"),
            ("1h30m", 5_400_000, "1h30m"),
            ("250ms", 250, "250ms"),
            ("0s", 0, "0s"),
            ("2d3h4m5s6ms", 183_845_006, "2d3h4m5s6ms"),
        ] {
            let d = Dur::parse(text).unwrap();
            assert_eq!(d.0.as_millis() as u64, ms, "{text}");
            assert_eq!(d.to_string(), canon);
            assert_eq!(Dur::parse(canon).unwrap(), d);
        }
    }

    #[test]
    fn bad_durations_say_why() {
        for (text, why) in [
            ("", "empty"),
            ("10", "no unit"),
            ("5 min", "has no unit"),
            ("5x", "unknown unit \"x\""),
            ("m", "unit must follow a number"),
            ("1m1h", "largest to smallest"),
            ("1s1s", "largest to smallest"),
            ("99999999999999999999s", "too large"),
            ("9999999999999999d", "too long"),
        ] {
            let e = Dur::parse(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn timestamps_parse_rfc3339() {
        let t = Timestamp::parse("2026-01-05T08:00:00Z").unwrap();
        assert_eq!(t, Timestamp::default());
        assert_eq!(t.to_string(), "2026-01-05T08:00:00Z");
        let shifted = Timestamp::parse("2026-01-05T09:00:00+01:00").unwrap();
        assert_eq!(shifted, t);
        assert!(Timestamp::parse("2025-01-06 08:00").is_err());
    }

    #[test]
    fn bursts_recur_from_the_start() {
        // The default start is Monday 08:00.
        let start = Timestamp::default().0;
        let day = 86_400_000u64;
        let at = |s| BurstAt::parse(s).unwrap();
        assert_eq!(
            at("Mon 09:00").occurrences(start, Dur::millis(8 * day)),
            vec![Dur::millis(3_600_000), Dur::millis(3_600_000 + 7 * day)]
        );
        assert_eq!(
            at("07:00").occurrences(start, Dur::millis(day)),
            vec![Dur::millis(day - 3_600_000)]
        );
        assert_eq!(
            at("Sun 08:00").occurrences(start, Dur::millis(day)),
            Vec::<Dur>::new()
        );
        assert_eq!(at("2h").occurrences(start, Dur::secs(3600)), vec![]);
        assert_eq!(at("mon 09:00").to_string(), "Mon 09:00");
        assert!(BurstAt::parse("Funday 09:00").is_err());
        assert!(BurstAt::parse("25:00").is_err());
    }
}
