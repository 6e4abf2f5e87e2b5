//! Expectations: counts of operations by outcome, latency percentile bounds per hop, and users'
//! final states. `run` checks them at the end and exits non-zero when one fails.

use serde::{Deserialize, Serialize};

use super::duration::Dur;
use super::names::{Hop, Op, Outcome};
use crate::spec::Engine;

/// Everything a run must show.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Counts of operations by outcome.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<OutcomeCount>,
    /// Latency percentile bounds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency: Vec<LatencyBound>,
    /// Users' final states.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserEnd>,
}

impl Expectations {
    /// How many expectations there are.
    pub fn len(&self) -> usize {
        self.outcomes.len() + self.latency.len() + self.users.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where the counted operations come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The timeline's `operation` steps.
    Timeline,
    /// The workload.
    Workload,
}

/// How many operations ended with an outcome: `{ outcome = "SSPR_0029", at_least = 1 }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeCount {
    /// The outcome counted.
    pub outcome: Outcome,
    /// At least this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<u64>,
    /// At most this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<u64>,
    /// Exactly this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exactly: Option<u64>,
    /// Only this operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<Op>,
    /// Only users of this domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Only this user (UPN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Only the timeline's or the workload's operations (default: both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

impl OutcomeCount {
    /// Whether `n` satisfies the bounds.
    pub fn holds(&self, n: u64) -> bool {
        self.at_least.is_none_or(|m| n >= m)
            && self.at_most.is_none_or(|m| n <= m)
            && self.exactly.is_none_or(|m| n == m)
    }

    /// The bounds as text, e.g. `>= 10`, `== 1`, `>= 1 and <= 5`.
    pub fn bounds(&self) -> String {
        let mut parts = Vec::new();
        if let Some(n) = self.exactly {
            parts.push(format!("== {n}"));
        }
        if let Some(n) = self.at_least {
            parts.push(format!(">= {n}"));
        }
        if let Some(n) = self.at_most {
            parts.push(format!("<= {n}"));
        }
        parts.join(" and ")
    }
}

/// A latency percentile bound: `{ hop = "agent_total", p = 99, under = "200ms" }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyBound {
    /// The hop.
    pub hop: Hop,
    /// The percentile, in (0, 100].
    pub p: f64,
    /// The bound it must stay under (strictly).
    pub under: Dur,
    /// Only writebacks of this domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Only writebacks through this engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<Engine>,
}

/// Which password a user's account accepts at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    /// The password the lab gave it at the start.
    Initial,
    /// The new password of the last operation on the user that ended succeeded.
    LastSet,
    /// Neither.
    None,
}

/// A user's final state: `{ user = "alice@contoso.lab", binds_with = "last_set", locked = false }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEnd {
    /// The user (UPN).
    pub user: String,
    /// Which password AD accepts on every DC once replication settled (a bind refused only for
    /// the account's state, 773/775/532, still accepts the password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binds_with: Option<Which>,
    /// Which password the cloud sign-in accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signs_in_with: Option<Which>,
    /// Locked out on-premises (a bind answers 775).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked: Option<bool>,
    /// Must change the password at the next logon on-premises (pwdLastSet = 0, bind 773).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub must_change: Option<bool>,
}
