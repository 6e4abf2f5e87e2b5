//! What a bench measured: latency histograms (HDR, recorded in nanoseconds, reported in
//! microseconds), outcome counts, and the JSON report with every figure and the parameters.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency a histogram records (10 minutes, in ns); longer values are clamped to it.
const MAX_NS: u64 = 600_000_000_000;

/// A latency histogram: nanoseconds, three significant digits.
#[derive(Clone, Debug)]
pub struct Latency {
    hist: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Latency::new()
    }
}

impl Latency {
    /// An empty histogram.
    pub fn new() -> Latency {
        Latency {
            hist: Histogram::new_with_bounds(1, MAX_NS, 3).expect("valid histogram bounds"),
        }
    }

    /// Records one latency of `ns` nanoseconds (at least 1, at most ten minutes).
    pub fn record_ns(&mut self, ns: u64) {
        // Saturating: in bounds by construction.
        let _ = self.hist.record(ns.clamp(1, MAX_NS));
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// Adds another histogram's values.
    pub fn merge(&mut self, other: &Latency) {
        let _ = self.hist.add(&other.hist);
    }

    /// Count, mean and percentiles, in microseconds.
    pub fn summary(&self) -> Summary {
        let us = |ns: u64| (ns as f64 / 100.0).round() / 10.0;
        if self.hist.is_empty() {
            return Summary::default();
        }
        Summary {
            count: self.hist.len(),
            mean_us: (self.hist.mean() / 100.0).round() / 10.0,
            p50_us: us(self.hist.value_at_quantile(0.50)),
            p90_us: us(self.hist.value_at_quantile(0.90)),
            p99_us: us(self.hist.value_at_quantile(0.99)),
            p999_us: us(self.hist.value_at_quantile(0.999)),
            max_us: us(self.hist.max()),
        }
    }
}

/// A latency distribution as reported: microseconds, one decimal (HDR: 3 significant digits).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Values recorded.
    pub count: u64,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Largest.
    pub max_us: f64,
}

/// The parameters a run was given.
#[derive(Clone, Debug, Serialize)]
pub struct Parameters {
    /// Concurrent workers (closed loop: one writeback in flight each).
    pub workers: u32,
    /// Seconds measured, after the warm-up.
    pub duration_secs: f64,
    /// Seconds of warm-up, not measured.
    pub warmup_secs: f64,
    /// Milliseconds between polls of an operation.
    pub poll_ms: u64,
    /// Distinct users reset.
    pub users: usize,
    /// The administrator whose token resets.
    pub admin: String,
    /// `in-process` or the ready file's path.
    pub lab: String,
}

/// The lab that was measured.
#[derive(Clone, Debug, Serialize)]
pub struct LabInfo {
    /// `in-process` (started by the bench) or `ready-file`.
    pub mode: String,
    /// The serving process.
    pub pid: u32,
    /// Lab seconds per real second.
    pub time_scale: f64,
    /// Writeback agents the lab reported (ready file or in-process).
    pub agents: usize,
    /// Domains written back to.
    pub domains: Vec<String>,
    /// Where Graph was reached.
    pub graph: String,
}

/// Throughput and outcomes.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Writebacks {
    /// Writebacks that reached a terminal state (or failed to start) inside the window.
    pub completed: u64,
    /// `completed` per second of the window.
    pub per_sec: f64,
    /// How each ended: `succeeded`, `failed <statusDetail>`, `refused <HTTP status> <code>`,
    /// `error <what>`.
    pub outcomes: BTreeMap<String, u64>,
    /// Polls of the operation per writeback, on average.
    pub polls_per_writeback: f64,
}

/// Latencies of the writebacks completed in the window.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latencies {
    /// Which clocks the figures come from.
    pub clocks: String,
    /// Server side: the operation's accepted → terminal times (lab clock, as real time).
    pub server: Summary,
    /// Client side: POST sent → terminal status read (includes polling's granularity).
    pub client: Summary,
}

/// CPU used during the window.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Cpu {
    /// Where the figures come from.
    pub source: String,
    /// The serving process's CPU seconds in the window.
    pub server_secs: f64,
    /// Server CPU microseconds per completed writeback.
    pub server_us_per_writeback: f64,
    /// Server CPU seconds per second: cores kept busy (of 2 on the lab machine).
    pub server_cores: f64,
    /// The load generator's CPU seconds in the window (its own thread).
    pub client_secs: f64,
    /// Load-generator CPU microseconds per completed writeback.
    pub client_us_per_writeback: f64,
}

/// The whole report of `bench e2e`.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `e2e`.
    pub bench: String,
    /// sspr-lab's version.
    pub version: String,
    /// The parameters.
    pub parameters: Parameters,
    /// The lab measured.
    pub lab: LabInfo,
    /// The measured window in seconds (the client's clock).
    pub window_secs: f64,
    /// Throughput and outcomes.
    pub writebacks: Writebacks,
    /// Latency percentiles.
    pub latency: Latencies,
    /// CPU per writeback.
    pub cpu: Cpu,
    /// Per-hop latencies from the relay's job records and the agent's reported timings
    /// (in-process only; empty with `--lab`).
    pub hops_us: BTreeMap<String, Summary>,
    /// What the hop names mean.
    pub hop_notes: BTreeMap<String, String>,
}

impl Report {
    /// The report as a few lines for a terminal.
    pub fn text(&self) -> String {
        let w = &self.writebacks;
        let s = &self.latency.server;
        let c = &self.latency.client;
        let mut out = format!(
            "bench e2e: {} workers, {:.1} s measured after {:.1} s warm-up, {} users, lab {}\n\
             writebacks: {} completed, {:.0}/s, {:.2} polls each\n",
            self.parameters.workers,
            self.window_secs,
            self.parameters.warmup_secs,
            self.parameters.users,
            self.parameters.lab,
            w.completed,
            w.per_sec,
            w.polls_per_writeback,
        );
        for (k, v) in &w.outcomes {
            out.push_str(&format!("  {k}: {v}\n"));
        }
        let line = |name: &str, s: &Summary| {
            format!(
                "{name}: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms, max {:.1} ms (n {})\n",
                s.p50_us / 1e3,
                s.p90_us / 1e3,
                s.p99_us / 1e3,
                s.p999_us / 1e3,
                s.max_us / 1e3,
                s.count
            )
        };
        out.push_str(&line("server latency (accepted → terminal)", s));
        out.push_str(&line("client latency (POST → terminal read)", c));
        out.push_str(&format!(
            "server CPU: {:.0} µs per writeback ({:.2} cores); load generator {:.0} µs per writeback\n",
            self.cpu.server_us_per_writeback, self.cpu.server_cores, self.cpu.client_us_per_writeback
        ));
        for (k, v) in &self.hops_us {
            out.push_str(&format!(
                "  hop {k}: p50 {:.0} µs, p99 {:.0} µs, mean {:.0} µs\n",
                v.p50_us, v.p99_us, v.mean_us
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_in_microseconds() {
        let mut h = Latency::new();
        for ms in 1..=100u64 {
            h.record_ns(ms * 1_000_000);
        }
        let s = h.summary();
        assert_eq!(s.count, 100);
        // HDR keeps three significant digits: 50 ms is reported within 0.1 %.
        assert!((s.p50_us - 50_000.0).abs() <= 50.0, "{s:?}");
        assert!((s.p99_us - 99_000.0).abs() <= 100.0, "{s:?}");
        assert!((s.max_us - 100_000.0).abs() <= 100.0, "{s:?}");
        assert!((s.mean_us - 50_500.0).abs() <= 100.0, "{s:?}");
        let mut other = Latency::new();
        other.record_ns(0); // clamped to 1 ns
        h.merge(&other);
        assert_eq!(h.count(), 101);
        assert_eq!(Latency::new().summary(), Summary::default());
    }

    #[test]
    fn the_report_serializes_every_figure_and_the_parameters() {
        let mut outcomes = BTreeMap::new();
        outcomes.insert("succeeded".to_string(), 10);
        let r = Report {
            bench: "e2e".into(),
            version: "0.1.0".into(),
            parameters: Parameters {
                workers: 2,
                duration_secs: 1.0,
                warmup_secs: 0.0,
                poll_ms: 1,
                users: 6,
                admin: "admin@contoso.onmicrosoft.example".into(),
                lab: "in-process".into(),
            },
            lab: LabInfo {
                mode: "in-process".into(),
                pid: 1,
                time_scale: 1.0,
                agents: 4,
                domains: vec!["contoso.lab".into()],
                graph: "https://127.0.0.1:1/v1.0".into(),
            },
            window_secs: 1.0,
            writebacks: Writebacks {
                completed: 10,
                per_sec: 10.0,
                outcomes,
                polls_per_writeback: 2.0,
            },
            latency: Latencies::default(),
            cpu: Cpu::default(),
            hops_us: BTreeMap::new(),
            hop_notes: BTreeMap::new(),
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["parameters"]["workers"], 2);
        assert_eq!(v["writebacks"]["outcomes"]["succeeded"], 10);
        for k in ["p50_us", "p90_us", "p99_us", "p999_us", "max_us", "count"] {
            assert!(v["latency"]["server"].get(k).is_some(), "{k}");
            assert!(v["latency"]["client"].get(k).is_some(), "{k}");
        }
        for k in [
            "server_us_per_writeback",
            "client_us_per_writeback",
            "server_cores",
        ] {
            assert!(v["cpu"].get(k).is_some(), "{k}");
        }
        assert!(r.text().contains("10 completed"));
    }
}
