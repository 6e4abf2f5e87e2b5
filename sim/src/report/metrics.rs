//! Metrics of a run record: HDR latency histograms per hop, domain and engine, outcome counts, and
//! outcomes by reason over time in fixed buckets. Computed from the record alone, so the same
//! record gives the same figures.

use std::collections::{BTreeMap, BTreeSet};

use hdrhistogram::Histogram;
use runtime::LabTime;
use serde::{Deserialize, Serialize};

use super::record::{RunRecord, Writeback, hop};
use super::times::serde_time;

/// The longest latency a histogram holds: seven days, in µs; longer values are clamped to it.
const MAX_US: u64 = 7 * 86_400 * 1_000_000;

/// Bucket widths for outcomes over time, in seconds; the narrowest that gives at most
/// [`MAX_BUCKETS`] buckets is used.
const WIDTHS: [u64; 19] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200,
    86_400, 604_800,
];
/// The most buckets of outcomes over time (a day gives 48 half-hours).
pub const MAX_BUCKETS: u64 = 60;

/// The key of "every domain" or "every engine" in a [`HopLatency`].
pub const ALL: &str = "*";

/// One latency distribution: exact count, min, mean and max, HDR percentiles (3 significant
/// digits).
#[derive(Clone, Debug)]
pub struct Latency {
    hist: Histogram<u64>,
    min: u64,
    max: u64,
    sum: u128,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    /// An empty distribution.
    pub fn new() -> Self {
        Self {
            hist: Histogram::new_with_bounds(1, MAX_US, 3).expect("valid histogram bounds"),
            min: u64::MAX,
            max: 0,
            sum: 0,
        }
    }

    /// Records one value in µs (clamped to seven days).
    pub fn record(&mut self, us: u64) {
        let us = us.min(MAX_US);
        // In bounds by construction.
        let _ = self.hist.record(us);
        self.min = self.min.min(us);
        self.max = self.max.max(us);
        self.sum += u128::from(us);
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// The value at quantile `q` (0..=1), never above the exact maximum; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.hist.is_empty() {
            return 0;
        }
        self.hist.value_at_quantile(q).min(self.max)
    }

    /// The distribution as reported.
    pub fn summary(&self) -> LatencySummary {
        let n = self.count();
        if n == 0 {
            return LatencySummary::default();
        }
        LatencySummary {
            count: n,
            min_us: self.min,
            mean_us: ((self.sum + u128::from(n) / 2) / u128::from(n)) as u64,
            p50_us: self.quantile(0.50),
            p90_us: self.quantile(0.90),
            p99_us: self.quantile(0.99),
            p999_us: self.quantile(0.999),
            max_us: self.max,
        }
    }

    /// Points of the cumulative distribution, `(value µs, fraction at or below)`, at 101 evenly
    /// spaced quantiles; empty when nothing was recorded.
    pub fn cdf(&self) -> Vec<(u64, f64)> {
        if self.hist.is_empty() {
            return Vec::new();
        }
        (0..=100)
            .map(|i| {
                let q = f64::from(i) / 100.0;
                (self.quantile(q), q)
            })
            .collect()
    }
}

/// A latency distribution as reported, in whole microseconds of lab time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Values recorded.
    pub count: u64,
    /// Smallest (exact).
    pub min_us: u64,
    /// Mean (exact, rounded).
    pub mean_us: u64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest (exact).
    pub max_us: u64,
}

impl LatencySummary {
    /// The named figures in report order: `count`, `min`, `mean`, `p50`, `p90`, `p99`, `p999`,
    /// `max`.
    pub fn figures(&self) -> [(&'static str, u64); 8] {
        [
            ("count", self.count),
            ("min", self.min_us),
            ("mean", self.mean_us),
            ("p50", self.p50_us),
            ("p90", self.p90_us),
            ("p99", self.p99_us),
            ("p999", self.p999_us),
            ("max", self.max_us),
        ]
    }
}

/// Every latency histogram of a run, keyed by (hop, domain, engine); [`ALL`] stands for every
/// domain or engine.
#[derive(Clone, Debug, Default)]
pub struct Histograms {
    by_key: BTreeMap<(usize, String, String, String), Latency>,
}

impl Histograms {
    /// The histograms of every timed hop of every writeback, plus [`hop::TOTAL`] for the ended
    /// ones.
    pub fn from_record(record: &RunRecord) -> Self {
        let mut h = Self::default();
        for w in &record.writebacks {
            h.add(w);
        }
        h
    }

    fn add(&mut self, w: &Writeback) {
        let engine = w.engine.map(|e| e.as_str()).unwrap_or("-");
        let total = w.total_micros().map(|t| (hop::TOTAL, t));
        let hops = w.hops.iter().map(|h| (h.name.as_str(), h.micros));
        for (name, us) in total.into_iter().chain(hops) {
            for (d, e) in [
                (ALL, ALL),
                (w.domain.as_str(), ALL),
                (w.domain.as_str(), engine),
            ] {
                let key = (
                    hop::rank(name),
                    name.to_string(),
                    d.to_string(),
                    e.to_string(),
                );
                self.by_key.entry(key).or_default().record(us);
            }
        }
    }

    /// The distribution of `hop` over every domain and engine.
    pub fn hop(&self, name: &str) -> Option<&Latency> {
        self.get(name, ALL, ALL)
    }

    /// The distribution of `hop` for one domain (or [`ALL`]) and engine (or [`ALL`]).
    pub fn get(&self, name: &str, domain: &str, engine: &str) -> Option<&Latency> {
        let key = (
            hop::rank(name),
            name.to_string(),
            domain.to_string(),
            engine.to_string(),
        );
        self.by_key.get(&key)
    }

    /// The hop names recorded, in report order.
    pub fn hop_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .by_key
            .keys()
            .filter(|(_, _, d, e)| d == ALL && e == ALL)
            .map(|(_, n, _, _)| n.clone())
            .collect();
        names.dedup();
        names
    }

    /// Every distribution as reported, in (hop order, domain, engine) order.
    pub fn summaries(&self) -> Vec<HopLatency> {
        self.by_key
            .iter()
            .map(|((_, hop, domain, engine), l)| HopLatency {
                hop: hop.clone(),
                domain: domain.clone(),
                engine: engine.clone(),
                latency: l.summary(),
            })
            .collect()
    }
}

/// One hop's latency for one domain and engine ([`ALL`] for every one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HopLatency {
    /// The hop, e.g. `ldap_modify` or `total`.
    pub hop: String,
    /// The domain, or `*`.
    pub domain: String,
    /// The engine (`cloud-sync`, `connect-sync`, `-` when none), or `*`.
    pub engine: String,
    /// The distribution.
    pub latency: LatencySummary,
}

/// Outcome counts in one time bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// The bucket's start (lab time); it lasts [`Metrics::bucket_secs`].
    #[serde(with = "serde_time")]
    pub start: LabTime,
    /// Operations that ended in it, by outcome key.
    pub counts: BTreeMap<String, u64>,
}

/// The figures of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metrics {
    /// Operations recorded.
    pub writebacks: u64,
    /// Written back.
    pub succeeded: u64,
    /// Failed: neither a success nor in doubt.
    pub failed: u64,
    /// In doubt: the directory may have changed (`unknown`, `deadline_exceeded`, `pending`).
    pub in_doubt: u64,
    /// Count by outcome key (`succeeded`, `access_denied`, `cloud:WritebackNotEnabled`…).
    pub outcomes: BTreeMap<String, u64>,
    /// Count by what the person was shown (`SSPR_0029`…; `success` when nothing was).
    pub user_codes: BTreeMap<String, u64>,
    /// Latency per hop, domain and engine; the rows with domain and engine `*` are the totals.
    pub latency: Vec<HopLatency>,
    /// The width of each time bucket, in seconds.
    pub bucket_secs: u64,
    /// Outcomes over time: every bucket from the run's start to its end, empty ones included.
    pub buckets: Vec<Bucket>,
}

impl Metrics {
    /// The metrics of `record`.
    pub fn from_record(record: &RunRecord) -> Self {
        Self::with_histograms(record, &Histograms::from_record(record))
    }

    /// The metrics of `record`, reusing its histograms.
    pub fn with_histograms(record: &RunRecord, hist: &Histograms) -> Self {
        let mut m = Metrics {
            writebacks: record.writebacks.len() as u64,
            latency: hist.summaries(),
            ..Metrics::default()
        };
        for w in &record.writebacks {
            if w.outcome.is_success() {
                m.succeeded += 1;
            } else if w.outcome.is_in_doubt() {
                m.in_doubt += 1;
            } else {
                m.failed += 1;
            }
            *m.outcomes.entry(w.outcome.key()).or_default() += 1;
            let code = w.user_code.clone().unwrap_or_else(|| "success".into());
            *m.user_codes.entry(code).or_default() += 1;
        }
        let (width, buckets) = bucket(record);
        m.bucket_secs = width;
        m.buckets = buckets;
        m
    }

    /// The all-domain, all-engine latency of `hop`.
    pub fn hop(&self, name: &str) -> Option<&LatencySummary> {
        self.latency
            .iter()
            .find(|l| l.hop == name && l.domain == ALL && l.engine == ALL)
            .map(|l| &l.latency)
    }
}

/// What a run's history row and `compare` keep: the run's identity, its metrics and its
/// expectations' verdicts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// The simulate backend.
    pub backend: String,
    /// Virtual start.
    #[serde(with = "serde_time")]
    pub start: LabTime,
    /// Virtual end.
    #[serde(with = "serde_time")]
    pub end: LabTime,
    /// Expectations that held.
    pub expectations_passed: u64,
    /// The names of the expectations that failed, in scenario order.
    pub expectations_failed: Vec<String>,
    /// The figures.
    pub metrics: Metrics,
}

impl RunSummary {
    /// The summary of `record`.
    pub fn from_record(record: &RunRecord) -> Self {
        Self::with_metrics(record, Metrics::from_record(record))
    }

    /// The summary of `record` with its metrics already computed.
    pub fn with_metrics(record: &RunRecord, metrics: Metrics) -> Self {
        Self {
            scenario: record.scenario.clone(),
            seed: record.seed,
            backend: record.backend.clone(),
            start: record.start,
            end: record.end,
            expectations_passed: record.expectations.iter().filter(|e| e.passed).count() as u64,
            expectations_failed: record
                .expectations
                .iter()
                .filter(|e| !e.passed)
                .map(|e| e.name.clone())
                .collect(),
            metrics,
        }
    }
}

/// The user codes seen per outcome key (`success` when none was shown), for tables.
pub fn codes_by_outcome(record: &RunRecord) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for w in &record.writebacks {
        let code = w.user_code.clone().unwrap_or_else(|| "success".into());
        m.entry(w.outcome.key()).or_default().insert(code);
    }
    m
}

/// The bucket width for a run of `span_secs`: the narrowest of [`WIDTHS`] giving at most
/// [`MAX_BUCKETS`] buckets.
pub fn bucket_width(span_secs: u64) -> u64 {
    WIDTHS
        .iter()
        .copied()
        .find(|w| span_secs.div_ceil(*w) <= MAX_BUCKETS)
        .unwrap_or_else(|| span_secs.div_ceil(MAX_BUCKETS).max(1))
}

/// Outcomes over time: each operation counts in the bucket of its end (of its submission while
/// pending); times outside the run fall in the first or last bucket.
fn bucket(record: &RunRecord) -> (u64, Vec<Bucket>) {
    let span_ns = record.end.0.saturating_sub(record.start.0);
    let span_secs = span_ns.div_ceil(1_000_000_000).max(1);
    let width = bucket_width(span_secs);
    let n = span_secs.div_ceil(width).max(1);
    let mut buckets: Vec<Bucket> = (0..n)
        .map(|i| Bucket {
            start: LabTime(record.start.0 + i * width * 1_000_000_000),
            counts: BTreeMap::new(),
        })
        .collect();
    for w in &record.writebacks {
        let at = w.ended.unwrap_or(w.submitted);
        let i = (at.0.saturating_sub(record.start.0) / 1_000_000_000 / width).min(n - 1);
        *buckets[i as usize]
            .counts
            .entry(w.outcome.key())
            .or_default() += 1;
    }
    (width, buckets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn percentiles_from_a_hand_made_record() {
        let mut r = sample::empty();
        // 100 resets whose LDAP modify took 1..=100 ms, ended 1 s after submission.
        for i in 1..=100u64 {
            let mut w = sample::writeback(i, wire::types::Outcome::Succeeded);
            w.hops.clear();
            w.push_hop(hop::MODIFY, i * 1_000);
            r.writebacks.push(w);
        }
        let m = Metrics::from_record(&r);
        let modify = m.hop(hop::MODIFY).unwrap();
        assert_eq!(modify.count, 100);
        assert_eq!(modify.min_us, 1_000);
        assert_eq!(modify.max_us, 100_000);
        assert_eq!(modify.mean_us, 50_500);
        // HDR, 3 significant digits: within 0.1 %.
        for (got, want) in [
            (modify.p50_us, 50_000),
            (modify.p90_us, 90_000),
            (modify.p99_us, 99_000),
            (modify.p999_us, 100_000),
        ] {
            assert!(got.abs_diff(want) <= want / 1_000, "{got} vs {want}");
        }
        let total = m.hop(hop::TOTAL).unwrap();
        assert_eq!(
            (total.count, total.min_us, total.max_us),
            (100, 1_000_000, 1_000_000)
        );
        assert_eq!(m.writebacks, 100);
        assert_eq!(m.succeeded, 100);
        assert_eq!(m.outcomes.get("succeeded"), Some(&100));
    }

    #[test]
    fn small_values_are_exact_and_per_domain_engine_rows_exist() {
        let r = sample::record();
        let h = Histograms::from_record(&r);
        let all = h.hop(hop::CONNECT).unwrap();
        // The sample's connects: 400, 500, 600 µs (fabrikam has one).
        assert_eq!(all.summary().p50_us, 500);
        assert_eq!(all.summary().min_us, 400);
        let fab = h.get(hop::CONNECT, "fabrikam.lab", "connect-sync").unwrap();
        assert_eq!(fab.count(), 1);
        assert!(h.get(hop::CONNECT, "fabrikam.lab", "cloud-sync").is_none());
        let names = h.hop_names();
        assert_eq!(names.first().map(String::as_str), Some(hop::TOTAL));
        let pos = |n: &str| names.iter().position(|x| x == n).unwrap();
        assert!(pos(hop::RELAY_QUEUE) < pos(hop::MODIFY));
        assert!(pos(hop::MODIFY) < pos(hop::REPLICATION));
    }

    #[test]
    fn outcomes_by_reason_in_time_buckets() {
        let r = sample::record();
        let m = Metrics::from_record(&r);
        // Two hours in at most 60 buckets: 2 minutes each.
        assert_eq!(m.bucket_secs, 120);
        assert_eq!(m.buckets.len(), 60);
        assert_eq!(m.buckets[0].start, r.start);
        let total: u64 = m.buckets.iter().flat_map(|b| b.counts.values()).sum();
        assert_eq!(total, r.writebacks.len() as u64);
        // carol's denial (10:00:05) and dave's (10:01:40) land in the bucket from 10:00:00 (index
        // 30), erin's (10:03:20) in the next.
        assert_eq!(m.buckets[30].counts.get("access_denied"), Some(&2));
        assert_eq!(m.buckets[31].counts.get("access_denied"), Some(&1));
        assert_eq!(m.buckets[30].start, sample::at(3_600));
        assert_eq!(m.user_codes.get("SSPR_0029"), Some(&3));
        assert_eq!(m.user_codes.get("SSPR_0030"), Some(&2));
        assert_eq!(m.outcomes.get("cloud:WritebackNotEnabled"), Some(&1));
        assert_eq!(m.failed + m.succeeded + m.in_doubt, m.writebacks);
        assert_eq!(m.in_doubt, 1);
    }

    #[test]
    fn bucket_widths() {
        assert_eq!(bucket_width(1), 1);
        assert_eq!(bucket_width(60), 1);
        assert_eq!(bucket_width(61), 2);
        assert_eq!(bucket_width(86_400), 1_800);
        assert_eq!(bucket_width(30 * 86_400), 43_200);
        assert!(bucket_width(10_000 * 86_400).div_ceil(1) > 0);
    }

    #[test]
    fn cdf_is_monotonic_and_empty_when_nothing_recorded() {
        let mut l = Latency::new();
        assert!(l.cdf().is_empty());
        for v in [5, 1, 3, 1_000_000, 0] {
            l.record(v);
        }
        let c = l.cdf();
        assert_eq!(c.len(), 101);
        assert!(c.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 < w[1].1));
        assert_eq!(c.last().unwrap().0, 1_000_000);
        assert_eq!(l.summary().min_us, 0);
    }
}
