//! Where a lab's state lasts (DESIGN §3): a [`Store`] takes each operation's changes as one
//! [`Batch`] and says when it is durable. In memory it is at once; with SQLite a writer thread
//! commits batches in groups (WAL, `synchronous=NORMAL` or `FULL`) and acknowledges each only
//! after its group committed.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;

use tokio::sync::oneshot;

/// One operation's changes to one partition (a DC's copy of a domain, or the lab's own rows).
#[derive(Debug, Default)]
pub struct Batch {
    /// The partition, e.g. `contoso.lab/DC1`.
    pub partition: String,
    /// Rows to insert or replace: (id, encoded entry).
    pub upserts: Vec<(u64, Vec<u8>)>,
    /// Row ids to delete.
    pub deletes: Vec<u64>,
    /// Lab-wide key/values to set alongside (allocator state, clock mark, …).
    pub meta: Vec<(String, String)>,
    /// Rows of other partitions in the same commit: `Some` upserts, `None` deletes.
    pub rows: Vec<(String, u64, Option<Vec<u8>>)>,
}

/// A store failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused something.
    #[error("{path}: {message}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's message.
        message: String,
    },
    /// The writer thread has stopped.
    #[error("the store's writer has stopped")]
    Closed,
}

/// How hard a commit tries to survive a power cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// WAL with `synchronous=NORMAL`: survives a killed process, may lose the last commits on a
    /// power cut.
    #[default]
    Normal,
    /// WAL with `synchronous=FULL`: an fsync per commit group.
    Full,
}

/// Resolves when a batch is durable (or failed).
pub type Commit = oneshot::Receiver<Result<(), StoreError>>;

/// Durable state behind the directory.
pub trait Store: Send + Sync + 'static {
    /// Queues `batch`; the receiver resolves once it is durable. Batches commit in queue order.
    fn commit(&self, batch: Batch) -> Commit;
    /// Every row of `partition`, in id order.
    fn load(&self, partition: &str) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;
    /// A lab-wide value.
    fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Whether rows are kept at all (false for the in-memory store, so writers can skip
    /// encoding them).
    fn keeps_rows(&self) -> bool {
        true
    }
}

/// The in-memory store: nothing lasts, every batch is durable at once.
#[derive(Debug, Default)]
pub struct MemStore;

impl Store for MemStore {
    fn commit(&self, _batch: Batch) -> Commit {
        let (tx, rx) = oneshot::channel();
        let _ = tx.send(Ok(()));
        rx
    }

    fn load(&self, _partition: &str) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        Ok(Vec::new())
    }

    fn meta(&self, _key: &str) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    fn keeps_rows(&self) -> bool {
        false
    }
}

type Job = (Batch, oneshot::Sender<Result<(), StoreError>>);

/// The SQLite store: one database file, one writer thread doing group commit.
pub struct SqliteStore {
    path: PathBuf,
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    reader: Mutex<rusqlite::Connection>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

/// Most batches one commit group takes.
const GROUP_MAX: usize = 512;

impl SqliteStore {
    /// Opens (or creates) `dir/lab.sqlite`.
    pub fn open(dir: &Path, durability: Durability) -> Result<SqliteStore, StoreError> {
        let path = dir.join("lab.sqlite");
        let err = |e: rusqlite::Error| StoreError::Sqlite {
            path: path.clone(),
            message: e.to_string(),
        };
        let conn = rusqlite::Connection::open(&path).map_err(err)?;
        let sync = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync};
             CREATE TABLE IF NOT EXISTS entries (part TEXT NOT NULL, id INTEGER NOT NULL,
                 data BLOB NOT NULL, PRIMARY KEY (part, id)) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        ))
        .map_err(err)?;
        let reader = rusqlite::Connection::open(&path).map_err(err)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let wpath = path.clone();
        let writer = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer_loop(conn, rx, wpath))
            .map_err(|e| StoreError::Sqlite {
                path: path.clone(),
                message: e.to_string(),
            })?;
        Ok(SqliteStore {
            path,
            tx: Mutex::new(Some(tx)),
            reader: Mutex::new(reader),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Stops the writer after it has committed everything queued.
    pub fn close(&self) {
        self.tx.lock().expect("store lock").take();
        if let Some(h) = self.writer.lock().expect("store lock").take() {
            let _ = h.join();
        }
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

fn writer_loop(mut conn: rusqlite::Connection, rx: mpsc::Receiver<Job>, path: PathBuf) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        let result = apply_group(&mut conn, &group).map_err(|e| StoreError::Sqlite {
            path: path.clone(),
            message: e.to_string(),
        });
        for (_, ack) in group {
            let _ = ack.send(result.clone());
        }
    }
}

fn apply_group(conn: &mut rusqlite::Connection, group: &[Job]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut up = tx.prepare_cached(
            "INSERT OR REPLACE INTO entries (part, id, data) VALUES (?1, ?2, ?3)",
        )?;
        let mut del = tx.prepare_cached("DELETE FROM entries WHERE part = ?1 AND id = ?2")?;
        let mut meta =
            tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?;
        for (b, _) in group {
            for (id, data) in &b.upserts {
                up.execute(rusqlite::params![b.partition, *id as i64, data])?;
            }
            for id in &b.deletes {
                del.execute(rusqlite::params![b.partition, *id as i64])?;
            }
            for (k, v) in &b.meta {
                meta.execute(rusqlite::params![k, v])?;
            }
            for (part, id, data) in &b.rows {
                match data {
                    Some(d) => up.execute(rusqlite::params![part, *id as i64, d])?,
                    None => del.execute(rusqlite::params![part, *id as i64])?,
                };
            }
        }
    }
    tx.commit()
}

impl Store for SqliteStore {
    fn commit(&self, batch: Batch) -> Commit {
        let (tx, rx) = oneshot::channel();
        let sender = self.tx.lock().expect("store lock").clone();
        match sender {
            Some(s) => {
                if let Err(mpsc::SendError((_, ack))) = s.send((batch, tx)) {
                    let _ = ack.send(Err(StoreError::Closed));
                }
            }
            None => {
                let _ = tx.send(Err(StoreError::Closed));
            }
        }
        rx
    }

    fn load(&self, partition: &str) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let conn = self.reader.lock().expect("store lock");
        let mut st = conn
            .prepare("SELECT id, data FROM entries WHERE part = ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([partition], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let conn = self.reader.lock().expect("store lock");
        match conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)) {
            Ok(v) => Ok(Some(v)),
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(self.err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn batches_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = SqliteStore::open(dir.path(), Durability::Normal).unwrap();
            let mut acks = Vec::new();
            for i in 0..100u64 {
                acks.push(s.commit(Batch {
                    partition: "d/DC1".into(),
                    upserts: vec![(i, vec![i as u8])],
                    deletes: if i > 0 { vec![i - 1] } else { vec![] },
                    meta: vec![("k".into(), i.to_string())],
                    rows: vec![("other".into(), i, Some(vec![1]))],
                }));
            }
            for a in acks {
                a.await.unwrap().unwrap();
            }
        }
        let s = SqliteStore::open(dir.path(), Durability::Full).unwrap();
        assert_eq!(s.load("d/DC1").unwrap(), vec![(99, vec![99])]);
        assert_eq!(s.meta("k").unwrap().as_deref(), Some("99"));
        assert_eq!(s.meta("none").unwrap(), None);
        assert_eq!(
            s.load("other").unwrap().len(),
            100,
            "rows of another partition commit too"
        );
    }

    #[test]
    fn a_file_that_is_not_a_database_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("lab.sqlite"),
            b"not sqlite at all, just text........",
        )
        .unwrap();
        let e = SqliteStore::open(dir.path(), Durability::Normal).unwrap_err();
        assert!(e.to_string().contains("lab.sqlite"), "{e}");
    }
}
