//! `sspr-lab compare A B`: two runs, each a run id in the history or a `report.json`, and their
//! differences per outcome, per hop percentile and per expectation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::history::History;
use super::metrics::{ALL, LatencySummary};
use super::record::hop;
use super::table::grid;
use super::times::rfc3339;
use super::{ReportError, RunSummary};

/// One side of a comparison: what it was loaded from, and its summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Side {
    /// `run 3` or the report's path.
    pub label: String,
    /// The run's summary.
    pub summary: RunSummary,
}

/// Loads `spec`: a run id (or `last`) in the history at `history`, else a `report.json` path.
pub fn load(spec: &str, history: Option<&Path>) -> Result<Side, ReportError> {
    let id = if spec == "last" {
        Some(None)
    } else {
        spec.parse::<i64>().ok().map(Some)
    };
    if let Some(id) = id
        && (history.is_some() || !Path::new(spec).exists())
    {
        let path = history.ok_or_else(|| ReportError::NeedHistory(spec.to_string()))?;
        let h = History::open(path)?;
        let id = match id {
            Some(id) => id,
            None => h.latest()?.ok_or(ReportError::NoRun {
                path: path.to_path_buf(),
                id: 0,
            })?,
        };
        return Ok(Side {
            label: format!("run {id}"),
            summary: h.get(id)?,
        });
    }
    let text = std::fs::read_to_string(spec).map_err(|source| ReportError::Io {
        path: spec.into(),
        source,
    })?;
    Ok(Side {
        label: spec.to_string(),
        summary: super::json::read_summary(&text, spec)?,
    })
}

/// A count on both sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountRow {
    /// The outcome key.
    pub key: String,
    /// A's count.
    pub a: u64,
    /// B's count.
    pub b: u64,
}

/// One latency figure of one hop on both sides; `None` where the side did not time the hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FigureRow {
    /// The hop.
    pub hop: String,
    /// `count`, `mean`, `p50`, `p90`, `p99`, `p999` or `max`.
    pub figure: &'static str,
    /// A's value (µs, or a count).
    pub a: Option<u64>,
    /// B's value.
    pub b: Option<u64>,
}

/// The differences between two runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    /// Every outcome seen on either side, in key order.
    pub outcomes: Vec<CountRow>,
    /// Every figure of every hop timed on either side (all domains), in hop order.
    pub latency: Vec<FigureRow>,
    /// Expectations that failed in A but not in B.
    pub fixed: Vec<String>,
    /// Expectations that failed in B but not in A.
    pub broken: Vec<String>,
}

fn figures(l: &LatencySummary) -> impl Iterator<Item = (&'static str, u64)> {
    l.figures().into_iter().filter(|(n, _)| *n != "min")
}

/// Compares run `a` with run `b`.
pub fn compare(a: &RunSummary, b: &RunSummary) -> Comparison {
    let keys: BTreeSet<&String> = a
        .metrics
        .outcomes
        .keys()
        .chain(b.metrics.outcomes.keys())
        .collect();
    let outcomes = keys
        .into_iter()
        .map(|k| CountRow {
            key: k.clone(),
            a: a.metrics.outcomes.get(k).copied().unwrap_or(0),
            b: b.metrics.outcomes.get(k).copied().unwrap_or(0),
        })
        .collect();
    let totals = |s: &RunSummary| -> BTreeMap<(usize, String), LatencySummary> {
        s.metrics
            .latency
            .iter()
            .filter(|l| l.domain == ALL && l.engine == ALL)
            .map(|l| ((hop::rank(&l.hop), l.hop.clone()), l.latency.clone()))
            .collect()
    };
    let (ta, tb) = (totals(a), totals(b));
    let hops: BTreeSet<&(usize, String)> = ta.keys().chain(tb.keys()).collect();
    let mut latency = Vec::new();
    for key in hops {
        let (la, lb) = (ta.get(key), tb.get(key));
        let names = figures(la.or(lb).expect("the hop is on one side"));
        for (figure, _) in names {
            let pick = |l: Option<&LatencySummary>| {
                l.and_then(|l| figures(l).find(|(n, _)| *n == figure).map(|(_, v)| v))
            };
            latency.push(FigureRow {
                hop: key.1.clone(),
                figure,
                a: pick(la),
                b: pick(lb),
            });
        }
    }
    let fa: BTreeSet<&String> = a.expectations_failed.iter().collect();
    let fb: BTreeSet<&String> = b.expectations_failed.iter().collect();
    Comparison {
        outcomes,
        latency,
        fixed: fa.difference(&fb).map(|s| s.to_string()).collect(),
        broken: fb.difference(&fa).map(|s| s.to_string()).collect(),
    }
}

fn change(a: Option<u64>, b: Option<u64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if a == b => "=".into(),
        (Some(a), Some(b)) => {
            let d = i128::from(b) - i128::from(a);
            if a == 0 {
                format!("{d:+}")
            } else {
                format!("{d:+} ({:+.1}%)", d as f64 * 100.0 / a as f64)
            }
        }
        (None, Some(_)) => "only in B".into(),
        (Some(_), None) => "only in A".into(),
        (None, None) => "=".into(),
    }
}

fn value(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

impl Comparison {
    /// How many rows differ, plus the expectations that changed verdict.
    pub fn differences(&self) -> usize {
        self.outcomes.iter().filter(|r| r.a != r.b).count()
            + self.latency.iter().filter(|r| r.a != r.b).count()
            + self.fixed.len()
            + self.broken.len()
    }

    /// The comparison as terminal text.
    pub fn render(&self, a: &Side, b: &Side) -> String {
        let describe = |s: &Side| {
            let x = &s.summary;
            format!(
                "{} ({}, seed {}, {}, from {}, {} writebacks)",
                s.label,
                x.scenario,
                x.seed,
                x.backend,
                rfc3339(x.start),
                x.metrics.writebacks
            )
        };
        let mut out = format!("A: {}\nB: {}\n", describe(a), describe(b));
        if !self.outcomes.is_empty() {
            out.push_str("\nOutcomes\n");
            let rows: Vec<Vec<String>> = self
                .outcomes
                .iter()
                .map(|r| {
                    vec![
                        r.key.clone(),
                        r.a.to_string(),
                        r.b.to_string(),
                        change(Some(r.a), Some(r.b)),
                    ]
                })
                .collect();
            out.push_str(&grid(&["outcome", "A", "B", "change"], &rows, "lrrl"));
        }
        if !self.latency.is_empty() {
            out.push_str("\nLatency per hop (µs of lab time, every domain)\n");
            let rows: Vec<Vec<String>> = self
                .latency
                .iter()
                .map(|r| {
                    vec![
                        r.hop.clone(),
                        r.figure.to_string(),
                        value(r.a),
                        value(r.b),
                        change(r.a, r.b),
                    ]
                })
                .collect();
            out.push_str(&grid(
                &["hop", "figure", "A", "B", "change"],
                &rows,
                "llrrl",
            ));
        }
        if !self.fixed.is_empty() || !self.broken.is_empty() {
            out.push_str("\nExpectations\n");
            for e in &self.fixed {
                out.push_str(&format!("  failed in A only: {e}\n"));
            }
            for e in &self.broken {
                out.push_str(&format!("  failed in B only: {e}\n"));
            }
        }
        match self.differences() {
            0 => out.push_str("\nno differences\n"),
            1 => out.push_str("\n1 difference\n"),
            n => out.push_str(&format!("\n{n} differences\n")),
        }
        out
    }
}

/// `sspr-lab compare A B [--history FILE]`: the text to print.
pub fn compare_cmd(a: &str, b: &str, history: Option<&Path>) -> Result<String, ReportError> {
    let (a, b) = (load(a, history)?, load(b, history)?);
    Ok(compare(&a.summary, &b.summary).render(&a, &b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::table::tests::squeeze;
    use crate::report::{history::append_run, json, sample};

    #[test]
    fn history_append_then_compare_by_id_and_by_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("runs.sqlite");
        let r = sample::record();
        let mut worse = r.clone();
        worse.seed = 8;
        // One more denial, a slower connect, a newly failing expectation.
        let mut extra = sample::writeback(5_000, wire::types::Outcome::AccessDenied);
        extra.push_hop(hop::CONNECT, 1_000);
        worse.writebacks.push(extra);
        worse.expectations[0].passed = false;

        assert_eq!(append_run(&db, &r).unwrap(), 1);
        assert_eq!(append_run(&db, &worse).unwrap(), 2);
        let file = dir.path().join("report.json");
        std::fs::write(&file, json::to_json(&worse)).unwrap();

        let same = compare_cmd("1", "1", Some(&db)).unwrap();
        assert!(same.ends_with("\nno differences\n"), "{same}");

        let by_id = compare_cmd("1", "last", Some(&db)).unwrap();
        let by_file = compare_cmd("1", file.to_str().unwrap(), Some(&db)).unwrap();
        assert!(by_id.starts_with("A: run 1 (sample, seed 7, turmoil, from 2026-11-25T09:00:00Z, 10 writebacks)\nB: run 2 (sample, seed 8,"));
        // The same differences whichever way B was named.
        let body = |s: &str| s.split_once("\n\n").unwrap().1.to_string();
        assert_eq!(body(&by_id), body(&by_file));
        let lines = squeeze(&by_id);
        for want in [
            "access_denied 3 4 +1 (+33.3%)",
            "succeeded 2 2 =",
            "ldap_connect count 3 4 +1 (+33.3%)",
            "ldap_connect max 600 1000 +400 (+66.7%)",
            "ldap_modify p50 1500 1500 =",
            "failed in B only: outcome succeeded",
        ] {
            assert!(
                lines.iter().any(|l| l == want),
                "no line {want:?} in\n{by_id}"
            );
        }
        assert!(by_id.ends_with("\n15 differences\n"), "{by_id}");

        let c = compare(
            &RunSummary::from_record(&r),
            &RunSummary::from_record(&worse),
        );
        assert_eq!(c.broken, ["outcome succeeded"]);
        assert!(c.fixed.is_empty());
        assert!(c.differences() > 3);
    }

    #[test]
    fn ids_need_a_history_and_files_must_be_reports() {
        let e = compare_cmd("1", "2", None).unwrap_err();
        assert!(
            matches!(e, ReportError::NeedHistory(ref s) if s == "1"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("x.json");
        std::fs::write(&bad, "[]").unwrap();
        let e = compare_cmd(bad.to_str().unwrap(), bad.to_str().unwrap(), None).unwrap_err();
        assert!(e.to_string().contains("not an sspr-lab report"), "{e}");
        let missing = dir.path().join("missing.json");
        assert!(matches!(
            compare_cmd(missing.to_str().unwrap(), "x", None),
            Err(ReportError::Io { .. })
        ));
        let db = dir.path().join("h.sqlite");
        assert!(matches!(
            compare_cmd("last", "last", Some(&db)),
            Err(ReportError::NoRun { .. })
        ));
    }
}
