//! Background traffic: when operations arrive (a Poisson rate or a diurnal curve, plus bursts),
//! which operations (a weighted mix over every supported and unsupported operation), and for
//! which users.

use serde::{Deserialize, Serialize};

use super::duration::{BurstAt, Dur, TimeOfDay};
use super::names::{Op, PasswordKind};

fn one() -> f64 {
    1.0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// The steady arrival process (none: bursts only).
    #[serde(default)]
    pub arrivals: Arrivals,
    /// Bursts on top of it, e.g. Monday 09:00.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bursts: Vec<Burst>,
    /// Which operations, with weights.
    pub mix: Vec<MixEntry>,
    /// Which users.
    #[serde(default)]
    pub users: UserSelection,
}

/// The steady arrival process: at most one of the two.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arrivals {
    /// A constant rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poisson: Option<Poisson>,
    /// A daily curve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diurnal: Option<Diurnal>,
}

/// Poisson arrivals at a constant rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Poisson {
    /// Mean operations per hour of lab time.
    pub per_hour: f64,
}

/// Poisson arrivals whose rate follows a daily cosine from the trough to the peak and back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Diurnal {
    /// The rate at the peak, per hour.
    pub peak_per_hour: f64,
    /// The rate 12 hours from the peak, per hour.
    pub trough_per_hour: f64,
    /// When the peak is, lab time of day (UTC).
    pub peak_at: TimeOfDay,
}

impl Diurnal {
    /// The rate per hour `secs_of_day` seconds after midnight.
    pub fn rate_at(&self, secs_of_day: u64) -> f64 {
        let day = 86_400.0;
        let from_peak = (secs_of_day as f64 - self.peak_at.seconds() as f64) / day;
        let mid = (self.peak_per_hour + self.trough_per_hour) / 2.0;
        let amp = (self.peak_per_hour - self.trough_per_hour) / 2.0;
        mid + amp * (2.0 * std::f64::consts::PI * from_peak).cos()
    }
}

/// A burst: `count` extra arrivals spread evenly (Poisson) over `over`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Burst {
    /// When it starts: `"Mon 09:00"` (weekly), `"09:00"` (daily) or an offset (`"2h"`).
    pub at: BurstAt,
    /// Arrivals in it.
    pub count: u32,
    /// How long it lasts.
    pub over: Dur,
}

/// One operation of the mix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixEntry {
    /// The operation (any of the decision table's twelve, supported or not).
    pub op: Op,
    /// Its relative weight.
    pub weight: u32,
    /// The administrator for an admin tool (default `helpdesk`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Which new password the runner generates (default `valid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordKind>,
}

/// Which users the workload draws from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSelection {
    /// These domains (default: every domain with generated users).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    /// The share (0–1] of their generated users, the same ones for the whole run.
    #[serde(default = "one")]
    pub share: f64,
    /// Also the teaching users (alice, bob, …).
    #[serde(default, skip_serializing_if = "is_false")]
    pub teaching: bool,
}

impl Default for UserSelection {
    fn default() -> Self {
        UserSelection {
            domains: Vec::new(),
            share: 1.0,
            teaching: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diurnal_curve_peaks_and_troughs() {
        let d = Diurnal {
            peak_per_hour: 1000.0,
            trough_per_hour: 100.0,
            peak_at: TimeOfDay::parse("10:00").unwrap(),
        };
        assert!((d.rate_at(10 * 3600) - 1000.0).abs() < 1e-6);
        assert!((d.rate_at(22 * 3600) - 100.0).abs() < 1e-6);
        assert!((d.rate_at(16 * 3600) - 550.0).abs() < 1e-6);
    }
}
