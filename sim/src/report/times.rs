//! Lab times as reports write them: RFC 3339 in UTC with only the fraction digits needed (so JSON
//! round-trips to the nanosecond), and short forms for tables and explanations.

use runtime::LabTime;

/// RFC 3339 in UTC, e.g. `2026-11-25T10:00:00Z`, `…T10:00:00.250Z` or `…T10:00:00.000000001Z`:
/// the fraction has 0, 3, 6 or 9 digits, as few as keep the exact value.
pub fn rfc3339(t: LabTime) -> String {
    let secs = t.0 / 1_000_000_000;
    let nanos = t.0 % 1_000_000_000;
    let base = LabTime::from_unix_secs(secs).rfc3339(); // `YYYY-MM-DDTHH:MM:SS.000Z`
    let whole = &base[..19];
    if nanos == 0 {
        format!("{whole}Z")
    } else if nanos.is_multiple_of(1_000_000) {
        format!("{whole}.{:03}Z", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!("{whole}.{:06}Z", nanos / 1_000)
    } else {
        format!("{whole}.{nanos:09}Z")
    }
}

/// Parses what [`rfc3339`] writes (and fake-ad's refusal times): `YYYY-MM-DDTHH:MM:SS[.f]Z`,
/// UTC only, 1 to 9 fraction digits.
pub fn parse_rfc3339(s: &str) -> Option<LabTime> {
    let body = s.strip_suffix('Z')?;
    let (whole, frac) = match body.split_once('.') {
        Some((w, f)) => (w, f),
        None => (body, ""),
    };
    let b = whole.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    let compact = format!(
        "{}{}{}{}{}{}Z",
        &whole[0..4],
        &whole[5..7],
        &whole[8..10],
        &whole[11..13],
        &whole[14..16],
        &whole[17..19]
    );
    let secs = LabTime::parse_generalized(&compact)?;
    if frac.len() > 9 || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let nanos = if frac.is_empty() {
        0
    } else {
        frac.parse::<u64>().ok()? * 10u64.pow(9 - frac.len() as u32)
    };
    Some(LabTime(secs.0 + nanos))
}

/// `HH:MM:SS` of `t` when it falls on the same UTC day as `day`, else `YYYY-MM-DD HH:MM:SS`.
pub fn short(t: LabTime, day: LabTime) -> String {
    let full = LabTime::from_unix_secs(t.unix_secs()).rfc3339();
    if t.unix_secs() / 86_400 == day.unix_secs() / 86_400 {
        full[11..19].to_string()
    } else {
        format!("{} {}", &full[..10], &full[11..19])
    }
}

/// A duration in microseconds as people read it: `850 µs`, `12.3 ms`, `15.0 s`, `1 h 02 min`.
pub fn duration_us(us: u64) -> String {
    if us < 1_000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        format!("{:.1} ms", us as f64 / 1_000.0)
    } else if us < 60_000_000 {
        format!("{:.1} s", us as f64 / 1_000_000.0)
    } else if us < 3_600_000_000 {
        let s = us / 1_000_000;
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        let m = us / 60_000_000;
        format!("{} h {:02} min", m / 60, m % 60)
    }
}

/// serde for a [`LabTime`] field as [`rfc3339`] text.
pub mod serde_time {
    use runtime::LabTime;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the time as RFC 3339 text.
    pub fn serialize<S: Serializer>(t: &LabTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*t))
    }

    /// Reads RFC 3339 text.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<LabTime, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_rfc3339(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("bad RFC 3339 time {s:?}")))
    }
}

/// serde for an `Option<LabTime>` field as [`rfc3339`] text or null.
pub mod serde_opt_time {
    use runtime::LabTime;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the time as RFC 3339 text, or null.
    pub fn serialize<S: Serializer>(t: &Option<LabTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::rfc3339(*t)),
            None => s.serialize_none(),
        }
    }

    /// Reads RFC 3339 text or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<LabTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => super::parse_rfc3339(&s)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("bad RFC 3339 time {s:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_keeps_only_the_digits_needed_and_round_trips() {
        let t = LabTime::from_unix_secs(1_795_000_000);
        for (nanos, want) in [
            (0, "2026-11-18T11:06:40Z"),
            (250_000_000, "2026-11-18T11:06:40.250Z"),
            (250_100_000, "2026-11-18T11:06:40.250100Z"),
            (1, "2026-11-18T11:06:40.000000001Z"),
        ] {
            let x = LabTime(t.0 + nanos);
            assert_eq!(rfc3339(x), want);
            assert_eq!(parse_rfc3339(want), Some(x));
        }
        assert_eq!(
            parse_rfc3339("2026-11-18T11:06:40.5Z"),
            Some(LabTime(t.0 + 500_000_000))
        );
        assert_eq!(parse_rfc3339("2026-11-18 11:06:40Z"), None);
        assert_eq!(parse_rfc3339("2026-11-18T11:06:40"), None);
    }

    #[test]
    fn short_form_and_durations() {
        let day = LabTime::from_unix_secs(1_795_000_000); // 2026-11-18T11:06:40Z
        assert_eq!(short(day, day), "11:06:40");
        let next = LabTime::from_unix_secs(1_795_000_000 + 86_400);
        assert_eq!(short(next, day), "2026-11-19 11:06:40");
        assert_eq!(duration_us(850), "850 µs");
        assert_eq!(duration_us(12_345), "12.3 ms");
        assert_eq!(duration_us(15_000_000), "15.0 s");
        assert_eq!(duration_us(125_000_000), "2 min 05 s");
        assert_eq!(duration_us(3_720_000_000), "1 h 02 min");
    }
}
