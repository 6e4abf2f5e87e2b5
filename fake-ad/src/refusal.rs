//! Why a DC refused a write, kept per DC so reports can explain every refusal and the agent's job
//! id (its private control) can be joined to the reason.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

/// How many refusals a DC keeps.
const KEEP: usize = 10_000;

/// What made the DC refuse.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// The access check refused a right.
    Access(crate::security::Denial),
    /// The password policy refused the new password (AD never says which rule).
    Policy {
        /// The rule that failed, for the lab's eyes only.
        rule: String,
    },
    /// The old password of a change did not match.
    WrongOldPassword,
}

/// One refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// Lab time, RFC 3339.
    pub at: String,
    /// The DC, e.g. `dc1.contoso.lab`.
    pub dc: String,
    /// The bound principal (`DOMAIN\name`).
    pub who: String,
    /// The target's DN.
    pub object: String,
    /// The agent's job id, if the request carried it.
    pub job_id: Option<String>,
    /// The LDAP result code answered.
    pub code: u8,
    /// The diagnostic answered.
    pub diagnostic: String,
    /// The structured reason.
    pub reason: Reason,
}

/// A DC's recent refusals.
#[derive(Debug, Default)]
pub struct RefusalLog(Mutex<VecDeque<Refusal>>);

impl RefusalLog {
    /// Records one refusal (the oldest are dropped past a bound).
    pub fn record(&self, r: Refusal) {
        let mut q = self.0.lock().expect("refusal log lock");
        if q.len() == KEEP {
            q.pop_front();
        }
        q.push_back(r);
    }

    /// Every kept refusal, oldest first.
    pub fn all(&self) -> Vec<Refusal> {
        self.0
            .lock()
            .expect("refusal log lock")
            .iter()
            .cloned()
            .collect()
    }

    /// The latest refusal of job `id`.
    pub fn for_job(&self, id: &str) -> Option<Refusal> {
        self.0
            .lock()
            .expect("refusal log lock")
            .iter()
            .rev()
            .find(|r| r.job_id.as_deref() == Some(id))
            .cloned()
    }
}
