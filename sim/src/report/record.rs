//! The run record: what one simulation run observed, as the runner fills it and every report reads
//! it. Everything is a `Vec` in the order the runner pushed it (or sorted), so one run gives one
//! byte sequence. It names users by sAMAccountName or UPN and never holds a password.

use std::fmt;

use runtime::LabTime;
use serde::{Deserialize, Serialize};
use wire::types::{Engine, Hop, JobKind, OnPremError, Outcome, UserFacing};

use super::times::{serde_opt_time, serde_time};

/// The hop names a [`Writeback`] lists: the agent's own ([`wire::types::hop`]) and the lab's.
pub mod hop {
    pub use wire::types::hop::{ACK, AGENT_TOTAL, CONNECT, MODIFY, OPEN, SEARCH};

    /// The cloud's checks: from the request's arrival to the job submitted to the relay (or to the
    /// cloud's refusal).
    pub const CLOUD: &str = "cloud";
    /// The relay queue: from the job submitted to its (latest) offer to an agent.
    pub const RELAY_QUEUE: &str = "relay_queue";
    /// Replication: from the end of the write until the change is visible on every DC of the
    /// domain (when measured).
    pub const REPLICATION: &str = "replication";
    /// End to end: from submitted to ended. Computed by the metrics, never listed in `hops`.
    pub const TOTAL: &str = "total";

    /// The usual order of hops in tables and plots; others follow in name order.
    pub const ORDER: [&str; 10] = [
        TOTAL,
        CLOUD,
        RELAY_QUEUE,
        ACK,
        OPEN,
        CONNECT,
        SEARCH,
        MODIFY,
        AGENT_TOTAL,
        REPLICATION,
    ];

    /// Sort key of a hop name: its place in [`ORDER`], unknown names last.
    pub fn rank(name: &str) -> usize {
        ORDER.iter().position(|h| *h == name).unwrap_or(ORDER.len())
    }
}

/// Everything one run observed, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The scenario's name, e.g. `tutorial`.
    pub scenario: String,
    /// The seed the run used.
    pub seed: u64,
    /// The simulate backend, e.g. `turmoil` or `tokio-paused`.
    pub backend: String,
    /// Virtual time at the start of the run.
    #[serde(with = "serde_time")]
    pub start: LabTime,
    /// Virtual time at the end of the run.
    #[serde(with = "serde_time")]
    pub end: LabTime,
    /// Every password operation the workload or the timeline started, in submission order.
    pub writebacks: Vec<Writeback>,
    /// The DCs' recorded refusals of the run's jobs, joined by job id.
    pub refusals: Vec<Refusal>,
    /// The timeline steps executed, in order.
    pub steps: Vec<Step>,
    /// Replication and propagation progress, one series per change followed.
    pub progress: Vec<ProgressSeries>,
    /// The scenario's expectations, checked at the end of the run.
    pub expectations: Vec<Expectation>,
}

impl RunRecord {
    /// An empty record of a run of `scenario` with `seed` on `backend` from `start` (and, until
    /// the runner sets it, to `start`).
    pub fn new(scenario: &str, seed: u64, backend: &str, start: LabTime) -> Self {
        Self {
            scenario: scenario.to_string(),
            seed,
            backend: backend.to_string(),
            start,
            end: start,
            writebacks: Vec::new(),
            refusals: Vec::new(),
            steps: Vec::new(),
            progress: Vec::new(),
            expectations: Vec::new(),
        }
    }

    /// The refusal joined to `job_id`: the latest recorded for that job.
    pub fn refusal_for(&self, job_id: &str) -> Option<&Refusal> {
        self.refusals.iter().rev().find(|r| r.job_id == job_id)
    }

    /// Whether every expectation passed (true when there are none).
    pub fn passed(&self) -> bool {
        self.expectations.iter().all(|e| e.passed)
    }
}

/// One password operation and how it ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Writeback {
    /// The relay's job id; absent when the cloud ended the operation before any job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// The operation as the scenario names it, e.g. `sspr_reset` or `graph_reset_password`.
    pub operation: String,
    /// The job's kind, when a job was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<JobKind>,
    /// The user's on-premises domain (DNS name, lower case), or the tenant for a cloud-only user.
    pub domain: String,
    /// The engine that owns the user, when synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<Engine>,
    /// The user, by sAMAccountName or UPN (never a password).
    pub user: String,
    /// When the operation was submitted (lab time).
    #[serde(with = "serde_time")]
    pub submitted: LabTime,
    /// When it ended; absent while pending at the end of the run.
    #[serde(
        default,
        with = "serde_opt_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub ended: Option<LabTime>,
    /// How it ended.
    pub outcome: WritebackOutcome,
    /// What the person was shown: `SSPR_0029`, `On-premises policy violation`…; absent on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_code: Option<String>,
    /// The DC the write went to, e.g. `dc1.contoso.lab`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc: Option<String>,
    /// The DC's answer when it refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onprem: Option<OnPremError>,
    /// Timed hops in microseconds of lab time, in the order they happened: [`hop::CLOUD`],
    /// [`hop::RELAY_QUEUE`], the agent's ([`wire::types::hop`]), [`hop::REPLICATION`] when measured.
    /// In JSON an object `{"cloud": 2000, "relay_queue": 150000, …}` in that order.
    #[serde(default, with = "serde_hops")]
    pub hops: Vec<Hop>,
}

impl Writeback {
    /// The microseconds of hop `name`, if timed (the first, if listed twice).
    pub fn hop(&self, name: &str) -> Option<u64> {
        self.hops.iter().find(|h| h.name == name).map(|h| h.micros)
    }

    /// End to end, submitted to ended, in microseconds; `None` while pending.
    pub fn total_micros(&self) -> Option<u64> {
        self.ended
            .map(|e| e.0.saturating_sub(self.submitted.0) / 1_000)
    }

    /// Adds a hop (no-op past [`wire::types::MAX_HOPS`] * 2, a guard against runaway lists).
    pub fn push_hop(&mut self, name: &str, micros: u64) {
        if self.hops.len() < wire::types::MAX_HOPS * 2 {
            self.hops.push(Hop {
                name: name.to_string(),
                micros,
            });
        }
    }
}

/// serde for a list of hops as a JSON object of name to microseconds, in list order.
mod serde_hops {
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};
    use wire::types::Hop;

    pub fn serialize<S: Serializer>(hops: &[Hop], s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(hops.len()))?;
        for h in hops {
            m.serialize_entry(&h.name, &h.micros)?;
        }
        m.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hop>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<Hop>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of hop names to microseconds")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<Hop>, A::Error> {
                let mut hops = Vec::new();
                while let Some((name, micros)) = map.next_entry::<String, u64>()? {
                    hops.push(Hop { name, micros });
                }
                Ok(hops)
            }
        }
        d.deserialize_map(V)
    }
}

/// The relay's hops of a job: [`hop::RELAY_QUEUE`] (submitted to latest offer), then the agent's
/// timings from its result.
pub fn hops_from_status(status: &fake_cloud::relay::JobStatus) -> Vec<Hop> {
    let mut hops = Vec::new();
    if let Some(offered) = status.offered_at {
        hops.push(Hop {
            name: hop::RELAY_QUEUE.to_string(),
            micros: offered.0.saturating_sub(status.submitted_at.0) / 1_000,
        });
    }
    if let Some(r) = &status.result {
        hops.extend(r.timings.iter().cloned());
    }
    hops
}

/// How an operation ended. In JSON a string: the job's outcome (`succeeded`, `access_denied`…),
/// `cloud:<reason>` when the cloud ended it before or instead of a job (its audit reason, e.g.
/// `cloud:WritebackNotEnabled`), or `pending` when the run ended first.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum WritebackOutcome {
    /// The job ended so (the agent's result, or the relay's deadline).
    Job(Outcome),
    /// The cloud ended the operation itself; the audit reason (e.g. `WritebackNotEnabled`,
    /// `OnPremisesConnectivityError`, or `CloudOnly` for an unsupported operation performed in
    /// the cloud only).
    Cloud(String),
    /// Still running when the run ended.
    Pending,
}

impl WritebackOutcome {
    /// The key reports group by: `succeeded`, `cloud:WritebackNotEnabled`, `pending`.
    pub fn key(&self) -> String {
        match self {
            WritebackOutcome::Job(o) => o.as_str().to_string(),
            WritebackOutcome::Cloud(r) => format!("cloud:{r}"),
            WritebackOutcome::Pending => "pending".to_string(),
        }
    }

    /// Reads a [`key`](Self::key).
    pub fn parse(s: &str) -> Option<Self> {
        if s == "pending" {
            return Some(WritebackOutcome::Pending);
        }
        if let Some(r) = s.strip_prefix("cloud:") {
            return (!r.is_empty()).then(|| WritebackOutcome::Cloud(r.to_string()));
        }
        Outcome::ALL
            .iter()
            .find(|o| o.as_str() == s)
            .map(|o| WritebackOutcome::Job(*o))
    }

    /// What the product shows the person for a job's outcome: the SSPR code (`SSPR_0029`,
    /// `SSPR_0030`), else the wording (`On-premises policy violation`); `None` on success and for
    /// cloud endings and pending operations (the runner records what the cloud said).
    pub fn default_user_code(&self) -> Option<String> {
        let WritebackOutcome::Job(o) = self else {
            return None;
        };
        match o.user_facing() {
            UserFacing::Success => None,
            UserFacing::OnPremisesPolicyViolation => Some("On-premises policy violation".into()),
            f => Some(f.code().unwrap_or(f.name()).to_string()),
        }
    }

    /// Whether the password was written back.
    pub fn is_success(&self) -> bool {
        matches!(self, WritebackOutcome::Job(o) if o.is_success())
    }

    /// Whether the directory may have changed although this is not a success: reports say "in
    /// doubt" for these, not "failed".
    pub fn is_in_doubt(&self) -> bool {
        match self {
            WritebackOutcome::Job(o) => o.is_in_doubt(),
            WritebackOutcome::Pending => true,
            WritebackOutcome::Cloud(_) => false,
        }
    }
}

impl fmt::Display for WritebackOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl From<WritebackOutcome> for String {
    fn from(o: WritebackOutcome) -> String {
        o.key()
    }
}

impl TryFrom<String> for WritebackOutcome {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        WritebackOutcome::parse(&s).ok_or_else(|| format!("unknown outcome {s:?}"))
    }
}

/// A DC's recorded refusal of a job's write (fake-ad's refusal log, joined by job id), with the
/// context the runner knew, for [`super::explain`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The job whose write was refused.
    pub job_id: String,
    /// When the DC refused (lab time).
    #[serde(with = "serde_time")]
    pub at: LabTime,
    /// The DC, e.g. `dc2.contoso.lab`.
    pub dc: String,
    /// The bound principal, e.g. `CONTOSO\provAgentgMSA$`.
    pub who: String,
    /// The target's DN.
    pub object: String,
    /// The LDAP result code answered (50, 53, 19).
    pub ldap_code: u32,
    /// The diagnostic answered.
    pub diagnostic: String,
    /// What made the DC refuse.
    pub reason: RefusalReason,
}

impl Refusal {
    /// A refusal from fake-ad's log with no context yet; `None` when it carried no job id. A time
    /// that does not parse becomes the epoch.
    pub fn from_lab(r: &fake_ad::refusal::Refusal) -> Option<Self> {
        let job_id = r.job_id.clone()?;
        let reason = match &r.reason {
            fake_ad::refusal::Reason::Access(d) => RefusalReason::Access {
                right: d.right.clone(),
                on: d.object.clone(),
                by: d.by.clone(),
                descriptor: d.descriptor.clone(),
                context: AccessContext::default(),
            },
            fake_ad::refusal::Reason::Policy { rule } => RefusalReason::Policy {
                rule: PolicyRule::from_lab(rule),
                context: PolicyContext::default(),
            },
            fake_ad::refusal::Reason::WrongOldPassword => RefusalReason::WrongOldPassword,
        };
        Some(Self {
            job_id,
            at: super::times::parse_rfc3339(&r.at).unwrap_or_default(),
            dc: r.dc.clone(),
            who: r.who.clone(),
            object: r.object.clone(),
            ldap_code: u32::from(r.code),
            diagnostic: r.diagnostic.clone(),
            reason,
        })
    }
}

/// What made a DC refuse a write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RefusalReason {
    /// The access check refused a right.
    Access {
        /// The right asked for, e.g. `Reset Password` or `write pwdLastSet`.
        right: String,
        /// The object whose descriptor decided.
        on: String,
        /// `no ACE grants it` or `denied by ACE n`.
        by: String,
        /// A short digest of the deciding descriptor (its version).
        descriptor: String,
        /// What the runner knew about the object and the grants.
        #[serde(default)]
        context: AccessContext,
    },
    /// The password policy refused the new password.
    Policy {
        /// The rule that failed.
        rule: PolicyRule,
        /// The policy in force and the user's state, as the runner read them.
        #[serde(default)]
        context: PolicyContext,
    },
    /// The old password of a change did not match.
    WrongOldPassword,
}

/// The object's state and the run's grants behind an access refusal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessContext {
    /// The object's DACL is protected (inheritance disabled) on the refusing DC.
    #[serde(default)]
    pub inheritance_disabled: bool,
    /// The object has adminCount=1: SDProp gave it AdminSDHolder's descriptor.
    #[serde(default)]
    pub admin_count: bool,
    /// The run's latest grant of the refused right for this object (on it, an ancestor, or
    /// AdminSDHolder), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<Grant>,
}

/// An ACE grant a scenario made, and when it reached the refusing DC and the object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// When the ACE was written (lab time).
    #[serde(with = "serde_time")]
    pub at: LabTime,
    /// The DC it was written on, e.g. `dc1.contoso.lab`.
    pub dc: String,
    /// The object it was written on (the domain root, the user, AdminSDHolder).
    pub object: String,
    /// When replication brought it to the refusing DC; absent if not within the run (or the same
    /// DC).
    #[serde(
        default,
        with = "serde_opt_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub reached_dc_at: Option<LabTime>,
    /// When it took effect on the refused object on the refusing DC (the propagator's or SDProp's
    /// pass); absent if not within the run (or written on the object itself).
    #[serde(
        default,
        with = "serde_opt_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub reached_object_at: Option<LabTime>,
}

/// The password rule that failed (fake-ad's `PolicyFailure`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyRule {
    /// Longer than 256 UTF-16 units.
    TooLong,
    /// Shorter than the minimum length.
    TooShort,
    /// Fails the complexity rule.
    Complexity,
    /// Matches a remembered password.
    History,
    /// The current password is younger than the minimum age.
    MinimumAge,
    /// A rule this version does not know, by fake-ad's name.
    Other(String),
}

impl PolicyRule {
    /// The rule from fake-ad's refusal log (`Reason::Policy::rule`, the `PolicyFailure` name).
    pub fn from_lab(rule: &str) -> Self {
        match rule {
            "TooLong" => PolicyRule::TooLong,
            "TooShort" => PolicyRule::TooShort,
            "Complexity" => PolicyRule::Complexity,
            "History" => PolicyRule::History,
            "MinimumAge" => PolicyRule::MinimumAge,
            other => PolicyRule::Other(other.to_string()),
        }
    }
}

/// The policy in force on the refusing DC and the user's password state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyContext {
    /// The user's pwdLastSet on the refusing DC.
    #[serde(
        default,
        with = "serde_opt_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_set: Option<LabTime>,
    /// The minimum password age in force, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_age_secs: Option<u64>,
    /// The minimum length in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// How many passwords the history remembers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_size: Option<u32>,
    /// Where the setting that refused came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<PolicySource>,
}

/// Where a password setting came from: the GPO applied on a DC, a PSO, the domain head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySource {
    /// `GPO` (the Default Domain Policy), `PSO <name>`, or `domain head`.
    pub origin: String,
    /// The setting, e.g. `MinimumPasswordAge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setting: Option<String>,
    /// Its value as the GPO writes it, e.g. `1` (days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The DC that applied it, e.g. `dc1.contoso.lab`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc: Option<String>,
    /// When that DC applied it.
    #[serde(
        default,
        with = "serde_opt_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub applied_at: Option<LabTime>,
}

/// One timeline step as executed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// When it ran (lab time).
    #[serde(with = "serde_time")]
    pub at: LabTime,
    /// What it did, e.g. `dc down dc2.contoso.lab` or `grant ace`.
    pub action: String,
    /// The scenario's narration, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narration: Option<String>,
    /// Whether it did what it asked.
    pub ok: bool,
    /// What came back, in a few words (never a password).
    pub result: String,
}

/// What a progress series follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgressKind {
    /// A change reaching the DCs of a domain (done = DCs that have it).
    Replication,
    /// An inheritable ACE reaching the objects below (done = objects updated), or SDProp.
    Propagation,
    /// A GPO version applied by the DCs.
    GroupPolicy,
}

impl ProgressKind {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProgressKind::Replication => "replication",
            ProgressKind::Propagation => "propagation",
            ProgressKind::GroupPolicy => "group_policy",
        }
    }
}

/// How far one change had spread, sampled over time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressSeries {
    /// What is followed.
    pub kind: ProgressKind,
    /// Which change, e.g. `ACE on DC=contoso,DC=lab`.
    pub name: String,
    /// The samples, in time order.
    pub samples: Vec<ProgressSample>,
}

/// One sample of a [`ProgressSeries`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressSample {
    /// When (lab time).
    #[serde(with = "serde_time")]
    pub at: LabTime,
    /// How many have it.
    pub done: u64,
    /// Out of how many.
    pub total: u64,
}

/// One expectation of the scenario, checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expectation {
    /// What is expected, as the scenario states it, e.g. `outcome access_denied = 3`.
    pub name: String,
    /// The expected value or bound, e.g. `3` or `<= 50 ms`.
    pub expected: String,
    /// What the run observed.
    pub observed: String,
    /// Whether it held.
    pub passed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_keys_round_trip() {
        for o in Outcome::ALL {
            let w = WritebackOutcome::Job(o);
            assert_eq!(WritebackOutcome::parse(&w.key()), Some(w));
        }
        let c = WritebackOutcome::Cloud("WritebackNotEnabled".into());
        assert_eq!(c.key(), "cloud:WritebackNotEnabled");
        assert_eq!(
            WritebackOutcome::parse("cloud:WritebackNotEnabled"),
            Some(c)
        );
        assert_eq!(
            WritebackOutcome::parse("pending"),
            Some(WritebackOutcome::Pending)
        );
        assert_eq!(WritebackOutcome::parse("cloud:"), None);
        assert_eq!(WritebackOutcome::parse("nonsense"), None);
        let code = |o| WritebackOutcome::Job(o).default_user_code();
        assert_eq!(code(Outcome::Succeeded), None);
        assert_eq!(code(Outcome::AccessDenied).as_deref(), Some("SSPR_0029"));
        assert_eq!(
            code(Outcome::DeadlineExceeded).as_deref(),
            Some("SSPR_0030")
        );
        assert_eq!(
            code(Outcome::PolicyViolation).as_deref(),
            Some("On-premises policy violation")
        );
        assert_eq!(
            code(Outcome::BadOldPassword).as_deref(),
            Some("IncorrectCurrentPassword")
        );
        assert_eq!(WritebackOutcome::Pending.default_user_code(), None);
        assert_eq!(
            serde_json::to_string(&WritebackOutcome::Job(Outcome::AccessDenied)).unwrap(),
            "\"access_denied\""
        );
    }

    #[test]
    fn refusal_from_fake_ads_log() {
        let lab = fake_ad::refusal::Refusal {
            at: "2026-11-25T10:00:05.000Z".into(),
            dc: "dc2.contoso.lab".into(),
            who: "CONTOSO\\provAgentgMSA$".into(),
            object: "CN=Carol Cruz,OU=Staff,DC=contoso,DC=lab".into(),
            job_id: Some("job-1".into()),
            code: 50,
            diagnostic: "00002098: SecErr".into(),
            reason: fake_ad::refusal::Reason::Policy {
                rule: "MinimumAge".into(),
            },
        };
        let r = Refusal::from_lab(&lab).unwrap();
        assert_eq!(r.at, LabTime::from_unix_secs(1_795_597_200 + 3_605));
        assert_eq!(r.ldap_code, 50);
        assert!(matches!(
            r.reason,
            RefusalReason::Policy {
                rule: PolicyRule::MinimumAge,
                ..
            }
        ));
        let without = fake_ad::refusal::Refusal {
            job_id: None,
            ..lab
        };
        assert!(Refusal::from_lab(&without).is_none());
    }
}
