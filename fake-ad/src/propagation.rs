//! The security-descriptor propagator (facts §3.3): a change to a container's inheritable ACEs
//! reaches its descendants only after a delay, then in batches at a set rate, each batch an
//! ordinary (replicated) write on the DC where the change was made. With no delay and no batch
//! limit it runs inline, inside the write that changed the descriptor.

use std::time::Duration;

use rand::Rng;
use runtime::LabTime;
use serde::{Deserialize, Serialize};

use crate::domain::Dc;
use crate::error::DirError;
use crate::value::EntryId;

/// How long before a propagation starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Delay {
    /// Always this many seconds.
    Fixed {
        /// Seconds.
        secs: u64,
    },
    /// Uniform in [min, max] seconds, drawn from the DC's seeded stream.
    Uniform {
        /// Lowest.
        min_secs: u64,
        /// Highest.
        max_secs: u64,
    },
}

/// The propagator's settings (`acl.propagation_delay` and its rate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Propagation {
    /// The delay before a propagation starts.
    pub delay: Delay,
    /// Objects per batch (0 = all at once).
    pub batch: usize,
    /// Lab milliseconds between batches.
    pub batch_interval_ms: u64,
}

impl Propagation {
    /// Inline and immediate: no delay, no batching (tests that are not about time).
    pub fn immediate() -> Propagation {
        Propagation {
            delay: Delay::Fixed { secs: 0 },
            batch: 0,
            batch_interval_ms: 0,
        }
    }

    /// The lab's default: U(0, 3600) s, then 1000 objects a second (facts §8, an assumption).
    pub fn realistic() -> Propagation {
        Propagation {
            delay: Delay::Uniform {
                min_secs: 0,
                max_secs: 3600,
            },
            batch: 1000,
            batch_interval_ms: 1000,
        }
    }

    /// Whether changes propagate inside the write that made them.
    pub fn is_inline(&self) -> bool {
        self.delay == (Delay::Fixed { secs: 0 }) && self.batch == 0
    }

    /// Checks the settings; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if let Delay::Uniform { min_secs, max_secs } = self.delay
            && min_secs > max_secs
        {
            return Err(format!(
                "delay: min_secs {min_secs} is above max_secs {max_secs}"
            ));
        }
        Ok(())
    }
}

impl Default for Propagation {
    fn default() -> Self {
        Propagation::realistic()
    }
}

/// One propagation in progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The DC it runs on.
    pub dc: String,
    /// The object whose descriptor changed.
    pub root: EntryId,
    /// Its DN when the job started (for progress reports).
    pub root_dn: String,
    /// When the next batch runs.
    pub next_at: LabTime,
    /// Objects still to visit (a depth-first stack).
    pub pending: Vec<EntryId>,
    /// Objects visited so far.
    pub done: usize,
    /// Descriptors it changed so far.
    pub changed: usize,
}

/// Draws the start delay for a new job.
pub fn draw_delay(p: &Propagation, rng: &mut impl Rng) -> Duration {
    match p.delay {
        Delay::Fixed { secs } => Duration::from_secs(secs),
        Delay::Uniform { min_secs, max_secs } => {
            let span = max_secs - min_secs;
            let off = if span == 0 {
                0
            } else {
                rng.next_u64() % (span + 1)
            };
            Duration::from_secs(min_secs + off)
        }
    }
}

/// Runs one batch of `job` on `dc`: recomputes up to `batch` descendants' descriptors from their
/// parents' current ones. Returns false when the job is finished.
pub async fn run_batch(dc: &Dc, job: &mut Job, batch: usize) -> Result<bool, DirError> {
    let limit = if batch == 0 { usize::MAX } else { batch };
    let mut pending = std::mem::take(&mut job.pending);
    let (done, changed) = dc
        .write(|txn| {
            let mut done = 0;
            let mut changed = 0;
            while done < limit {
                let Some(id) = pending.pop() else { break };
                done += 1;
                if txn.reinherit_one(id) {
                    changed += 1;
                }
                let kids: Vec<EntryId> = txn.dit.children(id).collect();
                pending.extend(kids.into_iter().rev());
            }
            Ok((done, changed))
        })
        .await?;
    job.pending = pending;
    job.done += done;
    job.changed += changed;
    Ok(!job.pending.is_empty())
}
