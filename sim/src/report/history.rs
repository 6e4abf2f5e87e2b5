//! The run history: a SQLite file (`--history FILE`) with one row per run (its summary as JSON,
//! the source of truth for `compare`) and the outcome counts and hop latencies as tables, for
//! queries of your own.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use super::times::rfc3339;
use super::{ReportError, RunRecord, RunSummary};

/// The schema's version, kept in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scenario TEXT NOT NULL,
    seed TEXT NOT NULL,
    backend TEXT NOT NULL,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    writebacks INTEGER NOT NULL,
    succeeded INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    in_doubt INTEGER NOT NULL,
    expectations_failed INTEGER NOT NULL,
    summary TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outcomes (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    outcome TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (run_id, outcome)
);
CREATE TABLE IF NOT EXISTS latencies (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    hop TEXT NOT NULL,
    domain TEXT NOT NULL,
    engine TEXT NOT NULL,
    count INTEGER NOT NULL,
    min_us INTEGER NOT NULL,
    mean_us INTEGER NOT NULL,
    p50_us INTEGER NOT NULL,
    p90_us INTEGER NOT NULL,
    p99_us INTEGER NOT NULL,
    p999_us INTEGER NOT NULL,
    max_us INTEGER NOT NULL,
    PRIMARY KEY (run_id, hop, domain, engine)
);
";

/// One line of [`History::list`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRow {
    /// The run's id.
    pub id: i64,
    /// The scenario.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Virtual start, RFC 3339.
    pub start: String,
    /// Operations recorded.
    pub writebacks: u64,
    /// Expectations that failed.
    pub expectations_failed: u64,
}

/// An open run history.
#[derive(Debug)]
pub struct History {
    conn: Connection,
    path: PathBuf,
}

fn db(path: &Path) -> impl Fn(rusqlite::Error) -> ReportError + '_ {
    move |source| ReportError::History {
        path: path.to_path_buf(),
        source,
    }
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl History {
    /// Opens (creating if needed) the history at `path`.
    pub fn open(path: &Path) -> Result<Self, ReportError> {
        let conn = Connection::open(path).map_err(db(path))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db(path))?;
        conn.execute_batch(SCHEMA).map_err(db(path))?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(db(path))?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Appends a run; returns its id.
    pub fn append(&mut self, s: &RunSummary) -> Result<i64, ReportError> {
        let path = self.path.clone();
        let err = db(&path);
        let json = serde_json::to_string(s).expect("a summary always serializes");
        let m = &s.metrics;
        let tx = self.conn.transaction().map_err(&err)?;
        tx.execute(
            "INSERT INTO runs (scenario, seed, backend, start, end, writebacks, succeeded, failed,
                 in_doubt, expectations_failed, summary)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                s.scenario,
                s.seed.to_string(),
                s.backend,
                rfc3339(s.start),
                rfc3339(s.end),
                int(m.writebacks),
                int(m.succeeded),
                int(m.failed),
                int(m.in_doubt),
                int(s.expectations_failed.len() as u64),
                json
            ],
        )
        .map_err(&err)?;
        let id = tx.last_insert_rowid();
        for (outcome, n) in &m.outcomes {
            tx.execute(
                "INSERT INTO outcomes (run_id, outcome, count) VALUES (?1, ?2, ?3)",
                params![id, outcome, int(*n)],
            )
            .map_err(&err)?;
        }
        for l in &m.latency {
            let x = &l.latency;
            tx.execute(
                "INSERT INTO latencies (run_id, hop, domain, engine, count, min_us, mean_us,
                     p50_us, p90_us, p99_us, p999_us, max_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    id,
                    l.hop,
                    l.domain,
                    l.engine,
                    int(x.count),
                    int(x.min_us),
                    int(x.mean_us),
                    int(x.p50_us),
                    int(x.p90_us),
                    int(x.p99_us),
                    int(x.p999_us),
                    int(x.max_us)
                ],
            )
            .map_err(&err)?;
        }
        tx.commit().map_err(&err)?;
        Ok(id)
    }

    /// The summary of run `id`.
    pub fn get(&self, id: i64) -> Result<RunSummary, ReportError> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT summary FROM runs WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(db(&self.path))?;
        let json = json.ok_or_else(|| ReportError::NoRun {
            path: self.path.clone(),
            id,
        })?;
        serde_json::from_str(&json).map_err(|e| ReportError::NotAReport {
            path: format!("{} run {id}", self.path.display()),
            problem: e.to_string(),
        })
    }

    /// The id of the latest run, if any.
    pub fn latest(&self) -> Result<Option<i64>, ReportError> {
        self.conn
            .query_row("SELECT max(id) FROM runs", [], |r| r.get(0))
            .map_err(db(&self.path))
    }

    /// Every run, oldest first.
    pub fn list(&self) -> Result<Vec<RunRow>, ReportError> {
        let err = db(&self.path);
        let mut q = self
            .conn
            .prepare(
                "SELECT id, scenario, seed, start, writebacks, expectations_failed
                 FROM runs ORDER BY id",
            )
            .map_err(&err)?;
        let rows = q
            .query_map([], |r| {
                Ok(RunRow {
                    id: r.get(0)?,
                    scenario: r.get(1)?,
                    seed: r.get::<_, String>(2)?.parse().unwrap_or_default(),
                    start: r.get(3)?,
                    writebacks: r.get::<_, i64>(4)?.max(0) as u64,
                    expectations_failed: r.get::<_, i64>(5)?.max(0) as u64,
                })
            })
            .map_err(&err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(&err)
    }
}

/// Appends the run of `record` to the history at `path` (`--history FILE`); returns its id.
pub fn append_run(path: &Path, record: &RunRecord) -> Result<i64, ReportError> {
    History::open(path)?.append(&RunSummary::from_record(record))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn append_get_list_and_query() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.sqlite");
        let r = sample::record();
        let one = append_run(&path, &r).unwrap();
        let mut other = r.clone();
        other.seed = u64::MAX;
        other.writebacks.truncate(3);
        let two = append_run(&path, &other).unwrap();
        assert_eq!((one, two), (1, 2));

        let h = History::open(&path).unwrap();
        assert_eq!(h.get(one).unwrap(), RunSummary::from_record(&r));
        assert_eq!(h.get(two).unwrap().seed, u64::MAX);
        assert_eq!(h.latest().unwrap(), Some(2));
        let rows = h.list().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].scenario, "sample");
        assert_eq!(rows[0].writebacks, 10);
        assert_eq!(rows[0].expectations_failed, 1);
        assert_eq!(rows[1].seed, u64::MAX);
        // The side tables answer plain SQL.
        let denied: i64 = h
            .conn
            .query_row(
                "SELECT count FROM outcomes WHERE run_id = 1 AND outcome = 'access_denied'",
                [],
                |x| x.get(0),
            )
            .unwrap();
        assert_eq!(denied, 3);
        let p50: i64 = h
            .conn
            .query_row(
                "SELECT p50_us FROM latencies
                 WHERE run_id = 1 AND hop = 'ldap_connect' AND domain = '*' AND engine = '*'",
                [],
                |x| x.get(0),
            )
            .unwrap();
        assert_eq!(p50, 500);
        let e = h.get(9).unwrap_err().to_string();
        assert!(e.ends_with("no run 9"), "{e}");
    }
}
