//! The lab clock: a start date, a scale and an offset, never moving back below its high-water
//! mark. Token expiry, lockout windows, password ages and log timestamps all read this clock.
#![allow(clippy::disallowed_methods)] // the one place that may read the OS clock

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 100-ns intervals between 1601-01-01 and 1970-01-01 (the FILETIME epoch offset).
const FILETIME_UNIX_OFFSET: u64 = 116_444_736_000_000_000;

/// A point in lab time, in nanoseconds since the Unix epoch.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct LabTime(pub u64);

impl LabTime {
    /// The lab time `secs` seconds after the Unix epoch.
    pub fn from_unix_secs(secs: u64) -> Self {
        LabTime(secs * 1_000_000_000)
    }

    /// Seconds since the Unix epoch.
    pub fn unix_secs(self) -> u64 {
        self.0 / 1_000_000_000
    }

    /// This time as a Windows FILETIME (100-ns ticks since 1601-01-01 UTC), as AD stores it.
    pub fn filetime(self) -> i64 {
        (self.0 / 100 + FILETIME_UNIX_OFFSET) as i64
    }

    /// The lab time of a FILETIME value; values before 1970 map to the epoch.
    pub fn from_filetime(ft: i64) -> Self {
        LabTime((ft.max(0) as u64).saturating_sub(FILETIME_UNIX_OFFSET) * 100)
    }

    /// This time plus `d`.
    pub fn plus(self, d: Duration) -> Self {
        LabTime(self.0.saturating_add(d.as_nanos() as u64))
    }

    /// This time minus `d`, saturating at the epoch.
    pub fn minus(self, d: Duration) -> Self {
        LabTime(self.0.saturating_sub(d.as_nanos() as u64))
    }

    /// LDAP GeneralizedTime as AD writes it, e.g. `20261125124500.0Z`.
    pub fn generalized(self) -> String {
        let t = self.offset_date_time();
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}.0Z",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }

    /// RFC 3339 with milliseconds, for logs and JSON.
    pub fn rfc3339(self) -> String {
        let t = self.offset_date_time();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }

    /// Parses `YYYYMMDDHHMMSS[.f]Z` (GeneralizedTime, UTC only).
    pub fn parse_generalized(s: &str) -> Option<Self> {
        let s = s.strip_suffix('Z')?;
        let digits = s.split('.').next()?;
        if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n = |r: std::ops::Range<usize>| digits[r].parse::<u32>().ok();
        let date = time::Date::from_calendar_date(
            n(0..4)? as i32,
            time::Month::try_from(n(4..6)? as u8).ok()?,
            n(6..8)? as u8,
        )
        .ok()?;
        let t = time::Time::from_hms(n(8..10)? as u8, n(10..12)? as u8, n(12..14)? as u8).ok()?;
        let secs = time::PrimitiveDateTime::new(date, t)
            .assume_utc()
            .unix_timestamp();
        u64::try_from(secs).ok().map(LabTime::from_unix_secs)
    }

    fn offset_date_time(self) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }
}

/// How a lab clock starts.
#[derive(Clone, Debug)]
pub struct ClockConfig {
    /// The lab time at start; `None` reads the OS time once.
    pub start: Option<LabTime>,
    /// Lab seconds per real second (1.0 = real time).
    pub scale: f64,
    /// A persisted offset added to every reading.
    pub offset: Duration,
    /// The persisted high-water mark: the clock never reads earlier than this.
    pub high_water: LabTime,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            start: None,
            scale: 1.0,
            offset: Duration::ZERO,
            high_water: LabTime(0),
        }
    }
}

/// The lab clock. Cheap to clone; every clone reads the same time.
#[derive(Clone, Debug)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    base: LabTime,
    origin: tokio::time::Instant,
    scale: f64,
    offset_ns: AtomicI64,
    high_water: AtomicU64,
    moved: tokio::sync::Notify,
}

impl Clock {
    /// Starts a clock. Must be called inside a tokio runtime (it reads tokio's instant).
    pub fn new(config: ClockConfig) -> Self {
        let base = config.start.unwrap_or_else(|| {
            let d = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            LabTime(d.as_nanos() as u64)
        });
        let scale = if config.scale.is_finite() && config.scale > 0.0 {
            config.scale
        } else {
            1.0
        };
        Clock {
            inner: Arc::new(Inner {
                base,
                origin: tokio::time::Instant::now(),
                scale,
                offset_ns: AtomicI64::new(config.offset.as_nanos() as i64),
                high_water: AtomicU64::new(config.high_water.0),
                moved: tokio::sync::Notify::new(),
            }),
        }
    }

    /// A clock fixed at `start` with scale 1, for tests and simulation.
    pub fn starting_at(start: LabTime) -> Self {
        Clock::new(ClockConfig {
            start: Some(start),
            ..ClockConfig::default()
        })
    }

    /// The current lab time; never earlier than any earlier reading or the persisted mark.
    pub fn now(&self) -> LabTime {
        let i = &self.inner;
        let elapsed = i.origin.elapsed().as_nanos() as f64 * i.scale;
        let raw = (i.base.0 as i128 + elapsed as i128 + i.offset_ns.load(Ordering::Relaxed) as i128)
            .max(0) as u64;
        let prev = i.high_water.fetch_max(raw, Ordering::AcqRel);
        LabTime(raw.max(prev))
    }

    /// The highest time this clock has read, to persist so a restart never moves time back.
    pub fn high_water(&self) -> LabTime {
        LabTime(self.inner.high_water.load(Ordering::Acquire))
    }

    /// The current offset added to every reading.
    pub fn offset(&self) -> Duration {
        Duration::from_nanos(self.inner.offset_ns.load(Ordering::Relaxed).max(0) as u64)
    }

    /// Moves the clock forward by `d` (lab time); the clock never moves back.
    pub fn advance(&self, d: Duration) {
        self.inner
            .offset_ns
            .fetch_add(d.as_nanos() as i64, Ordering::AcqRel);
        self.inner.moved.notify_waiters();
    }

    /// Sleeps until the lab clock reads `t` or later; wakes early (and re-checks) when the clock
    /// is moved forward, so a jump of the clock fires every timer it passes.
    pub async fn sleep_until(&self, t: LabTime) {
        loop {
            let moved = self.inner.moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            let now = self.now();
            if now >= t {
                return;
            }
            let wait = Duration::from_nanos(t.0 - now.0);
            tokio::select! {
                biased;
                _ = moved => {}
                _ = tokio::time::sleep(self.real(wait)) => {}
            }
        }
    }

    /// Lab seconds per real second.
    pub fn scale(&self) -> f64 {
        self.inner.scale
    }

    /// Sleeps for `d` of lab time.
    pub fn sleep(&self, d: Duration) -> tokio::time::Sleep {
        tokio::time::sleep(self.real(d))
    }

    /// Runs `fut` for at most `d` of lab time.
    pub fn timeout<F: Future>(&self, d: Duration, fut: F) -> tokio::time::Timeout<F> {
        tokio::time::timeout(self.real(d), fut)
    }

    fn real(&self, d: Duration) -> Duration {
        Duration::from_secs_f64(d.as_secs_f64() / self.inner.scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetime_round_trip() {
        let t = LabTime::from_unix_secs(1_700_000_000);
        assert_eq!(t.filetime(), 133_444_736_000_000_000);
        assert_eq!(LabTime::from_filetime(t.filetime()), t);
    }

    #[test]
    fn generalized_time_round_trip() {
        let t = LabTime::from_unix_secs(1_795_000_000);
        let s = t.generalized();
        assert_eq!(s, "20261118110640.0Z");
        assert_eq!(LabTime::parse_generalized(&s), Some(t));
        assert_eq!(LabTime::parse_generalized("2026"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn scaled_time_and_high_water() {
        let clock = Clock::new(ClockConfig {
            start: Some(LabTime::from_unix_secs(1000)),
            scale: 60.0,
            offset: Duration::ZERO,
            high_water: LabTime::from_unix_secs(2000),
        });
        // Below the persisted mark the clock reads the mark.
        assert_eq!(clock.now(), LabTime::from_unix_secs(2000));
        tokio::time::advance(Duration::from_secs(20)).await; // 20 s real = 1200 s lab
        assert_eq!(clock.now().unix_secs(), 2200);
        clock.advance(Duration::from_secs(100));
        assert_eq!(clock.now().unix_secs(), 2300);
        assert_eq!(clock.high_water().unix_secs(), 2300);
    }

    #[tokio::test(start_paused = true)]
    async fn a_jump_wakes_sleepers() {
        let clock = Clock::starting_at(LabTime::from_unix_secs(1000));
        let c2 = clock.clone();
        let sleeper =
            tokio::spawn(async move { c2.sleep_until(LabTime::from_unix_secs(4600)).await });
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(3600));
        tokio::time::timeout(Duration::from_secs(1), sleeper)
            .await
            .unwrap()
            .unwrap();
    }
}
