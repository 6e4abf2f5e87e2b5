//! Reports of a simulation run: the run record the runner fills ([`record`]), its metrics (HDR
//! histograms per hop, domain and engine; outcomes over time), an explanation of every failed
//! writeback, and the outputs: a terminal table, `report.json`, `report.md`, SVG plots, and a
//! SQLite run history that `sspr-lab compare` reads.
//!
//! The same record always gives the same bytes: everything is ordered (Vec, BTreeMap) and
//! computed from the record alone. Nothing here holds or prints a password.

pub mod compare;
pub mod explain;
pub mod history;
pub mod json;
pub mod markdown;
pub mod metrics;
pub mod record;
pub mod svg;
pub mod table;
pub mod times;

#[cfg(test)]
pub(crate) mod sample;

use std::path::{Path, PathBuf};

pub use explain::Explanation;
pub use metrics::{Histograms, Metrics, RunSummary};
pub use record::RunRecord;

/// The JSON report's file name.
pub const REPORT_JSON: &str = "report.json";
/// The Markdown report's file name.
pub const REPORT_MD: &str = "report.md";
/// The latency CDF plot's file name.
pub const LATENCY_SVG: &str = "latency_cdf.svg";
/// The outcomes-over-time plot's file name.
pub const OUTCOMES_SVG: &str = "outcomes.svg";
/// The replication and propagation progress plot's file name.
pub const PROGRESS_SVG: &str = "progress.svg";

/// Why a report could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file or directory could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file is not a report this version reads.
    #[error("{path}: not an sspr-lab report: {problem}")]
    NotAReport {
        /// The file.
        path: String,
        /// What is wrong, e.g. the JSON error with its line and column.
        problem: String,
    },
    /// A plot could not be drawn.
    #[error("plot {name}: {problem}")]
    Plot {
        /// The plot's file name.
        name: &'static str,
        /// plotters' error.
        problem: String,
    },
    /// The run history database failed.
    #[error("run history {path}: {source}")]
    History {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// No run has that id in the history.
    #[error("run history {path}: no run {id}")]
    NoRun {
        /// The database file.
        path: PathBuf,
        /// The id asked for.
        id: i64,
    },
    /// A run id was given without a history file.
    #[error("{0:?} is a run id: give --history FILE to compare runs by id")]
    NeedHistory(String),
}

/// A record with everything the outputs need computed once: histograms, metrics, summary and
/// explanations.
#[derive(Debug)]
pub struct Analysis<'a> {
    /// The record.
    pub record: &'a RunRecord,
    /// Its latency histograms.
    pub histograms: Histograms,
    /// Its summary (identity, metrics, expectations).
    pub summary: RunSummary,
    /// One explanation per writeback that did not succeed.
    pub explanations: Vec<Explanation>,
}

impl<'a> Analysis<'a> {
    /// Analyses `record`.
    pub fn new(record: &'a RunRecord) -> Self {
        let histograms = Histograms::from_record(record);
        let metrics = Metrics::with_histograms(record, &histograms);
        Self {
            record,
            summary: RunSummary::with_metrics(record, metrics),
            explanations: explain::explain(record),
            histograms,
        }
    }
}

/// The terminal report of `record`: run, outcomes, latency per hop, expectations, explanations.
pub fn table(record: &RunRecord) -> String {
    table::render(&Analysis::new(record))
}

/// Writes `report.json`, `report.md` and the SVG plots of `record` into `out_dir` (created if
/// needed); returns the paths written, in that order.
pub fn write_all(record: &RunRecord, out_dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(out_dir).map_err(|source| ReportError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let a = Analysis::new(record);
    let mut files = vec![
        (REPORT_JSON, json::render(&a)),
        (REPORT_MD, markdown::render(&a)),
    ];
    files.extend(svg::render_all(&a)?);
    let mut written = Vec::new();
    for (name, text) in files {
        let path = out_dir.join(name);
        std::fs::write(&path, text).map_err(|source| ReportError::Io {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_all_writes_every_file_and_the_same_bytes_twice() {
        let r = sample::record();
        let dir = tempfile::tempdir().unwrap();
        let (one, two) = (dir.path().join("one"), dir.path().join("two"));
        let a = write_all(&r, &one).unwrap();
        let b = write_all(&r, &two).unwrap();
        let names: Vec<_> = a
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            [
                REPORT_JSON,
                REPORT_MD,
                LATENCY_SVG,
                OUTCOMES_SVG,
                PROGRESS_SVG
            ]
        );
        for (x, y) in a.iter().zip(&b) {
            let (x, y) = (std::fs::read(x).unwrap(), std::fs::read(y).unwrap());
            assert!(!x.is_empty());
            assert_eq!(x, y);
        }
        let text = table(&r);
        assert!(text.contains("sample"));
        assert!(write_all(&r, &one.join(REPORT_JSON)).is_err());
    }
}
