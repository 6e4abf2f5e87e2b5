//! The scenario file's types: the header, the lab (a base lab and its overrides, or a full
//! `LabSpec`), and the sections the other modules define (timeline, workload, expectations).
//! `docs/scenarios.md` documents every field with its type, default and an example.

use std::collections::BTreeMap;

use fake_ad::bootstrap::Policy;
use serde::{Deserialize, Serialize};

use super::duration::{Dur, Timestamp};
use super::expect::Expectations;
use super::network::Network;
use super::timeline::Step;
use super::workload::Workload;
use crate::spec::{DcSpec, ForestSpec, LabSpec, TimersSpec, UserSpec};

fn one() -> u64 {
    1
}

fn ten_ms() -> Dur {
    Dur::millis(10)
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A whole scenario file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Its name: `[a-z0-9-]+`, the file's stem for the catalogue (`sspr-lab run NAME`).
    pub name: String,
    /// One line saying what it shows (`scenarios list` prints it).
    pub description: String,
    /// Free labels; `heavy` keeps it out of `cargo test`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The seed of every component's stream: the same seed gives the same run.
    #[serde(default = "one")]
    pub seed: u64,
    /// The lab clock's start (RFC 3339); default Monday 2026-01-05 08:00 UTC.
    #[serde(default)]
    pub start: Timestamp,
    /// How long the run lasts, in lab time.
    pub duration: Dur,
    /// turmoil's tick (the `turmoil` backend only).
    #[serde(default = "ten_ms")]
    pub tick: Dur,
    /// How the simulation runs.
    #[serde(default)]
    pub backend: Backend,
    /// The lab it runs on.
    #[serde(default)]
    pub lab: LabSection,
    /// Steps at given offsets, in time order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<Step>,
    /// Background traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<Workload>,
    /// What must be true at the end; `run` exits non-zero when one fails.
    #[serde(default)]
    pub expect: Expectations,
}

impl Scenario {
    /// Whether it carries `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

/// How the simulation runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// One paused current-thread tokio runtime with an in-memory network that skips idle time:
    /// host faults and fixed latencies, fast for long scenarios.
    #[default]
    Paused,
    /// turmoil: its network faults too (partitions, latency distributions, spikes); every host
    /// is polled each tick.
    Turmoil,
}

impl Backend {
    /// The file's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Paused => "paused",
            Backend::Turmoil => "turmoil",
        }
    }
}

/// A lab to start from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabBase {
    /// The default lab (DESIGN §7): contoso.lab, fabrikam.lab (cloud sync), northwind.lab
    /// (Connect Sync).
    #[default]
    Default,
}

/// The lab: a base plus overrides, or a full inline `LabSpec`; then what `LabSpec` does not
/// describe (generated users, PSOs, ACL changes, cloud settings, agents, network).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabSection {
    /// The lab to start from (default `"default"`); absent when `spec` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<LabBase>,
    /// A full lab instead of a base (the `LabSpec` of `sim/src/spec.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<LabSpec>,
    /// The tutorial's starting point: no writeback ACEs on the domain roots, the three
    /// integration options and the cloud sync writeback flags off, no agent registered.
    #[serde(default, skip_serializing_if = "is_false")]
    pub undeployed: bool,
    /// Domains of the base to leave out (a forest left empty goes too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
    /// Another tenant name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Other directory timers (replaces the base's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timers: Option<TimersSpec>,
    /// Changes to the base's domains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<DomainOverride>,
    /// More forests, each a full `ForestSpec`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forests: Vec<ForestSpec>,
    /// Generated users, per domain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generated: Vec<GeneratedUsers>,
    /// Fine-grained password policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub psos: Vec<Pso>,
    /// Security descriptor changes made when the lab is built.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acl: Vec<AclChange>,
    /// The tenant's settings.
    #[serde(default)]
    pub cloud: CloudSection,
    /// Writeback agents, per domain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<AgentGroup>,
    /// Link latencies.
    #[serde(default)]
    pub network: Network,
}

impl LabSection {
    /// Whether the lab starts undeployed: `undeployed = true`, or an inline `spec` with
    /// `deployed = false`.
    pub fn is_undeployed(&self) -> bool {
        self.undeployed || self.spec.as_ref().is_some_and(|s| !s.deployed)
    }

    /// The agent settings of domain `dns`, if the file gives any.
    pub fn agent_group(&self, dns: &str) -> Option<&AgentGroup> {
        self.agents
            .iter()
            .find(|g| g.domain.eq_ignore_ascii_case(dns))
    }

    /// Whether `dns`'s agents are registered and polling at time zero.
    pub fn agents_started(&self, dns: &str) -> bool {
        self.agent_group(dns)
            .and_then(|g| g.started)
            .unwrap_or(!self.is_undeployed())
    }

    /// Whether `dns`'s sync account holds the writeback ACEs on the domain root at build.
    pub fn writeback_aces(&self, dns: &str) -> bool {
        self.domains
            .iter()
            .find(|d| d.dns.eq_ignore_ascii_case(dns))
            .and_then(|d| d.writeback_aces)
            .unwrap_or(!self.is_undeployed())
    }

    /// Whether user `sam` of `dns`, living in `ou` (None = CN=Users), is in the sync scope.
    pub fn in_scope(&self, dns: &str, ou: Option<&str>, sam: &str) -> bool {
        self.cloud
            .scope
            .iter()
            .filter(|s| s.domain.eq_ignore_ascii_case(dns))
            .all(|s| s.covers(ou, sam))
    }
}

/// Changes to one domain of the base lab.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainOverride {
    /// The domain (DNS name), which the base must have.
    pub dns: String,
    /// Default Domain Policy settings (MS-GPSB keys, e.g. `MinimumPasswordAge = 1`) over the
    /// base's policy.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gpo: BTreeMap<String, i64>,
    /// Its DCs instead of the base's (the first is the PDC emulator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dcs: Option<Vec<DcSpec>>,
    /// More OUs under the domain head.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ous: Vec<String>,
    /// More users, listed (the `UserSpec` of `sim/src/spec.rs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserSpec>,
    /// Whether the sync account holds the writeback ACEs on the domain root at build (default
    /// true; false with `undeployed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writeback_aces: Option<bool>,
}

fn default_pattern() -> String {
    "user{n:06}".into()
}

fn default_generated_ou() -> Vec<String> {
    vec!["Generated".into()]
}

/// Users made from a pattern, with shares of them in each starting state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratedUsers {
    /// The domain.
    pub domain: String,
    /// How many.
    pub count: u32,
    /// sAMAccountName pattern: `{n}` is the 1-based number, `{n:06}` zero-padded to 6 digits.
    #[serde(default = "default_pattern")]
    pub pattern: String,
    /// OUs under the domain head, filled in turn (created if missing).
    #[serde(default = "default_generated_ou")]
    pub ous: Vec<String>,
    /// Groups every generated user joins (created if missing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Share (0–1) in Domain Admins: protected by SDProp, so writeback is refused for them.
    #[serde(default)]
    pub admins: f64,
    /// Share locked out at the start.
    #[serde(default)]
    pub locked: f64,
    /// Share whose password has expired.
    #[serde(default)]
    pub expired: f64,
    /// Share with inheritance disabled on their object.
    #[serde(default)]
    pub protected: f64,
    /// Share disabled on-premises.
    #[serde(default)]
    pub disabled: f64,
    /// Share outside the cloud sync scope.
    #[serde(default)]
    pub out_of_scope: f64,
}

impl GeneratedUsers {
    /// The shares, by name, in the order the runner assigns them (disjoint, drawn with the seed).
    pub fn shares(&self) -> [(&'static str, f64); 6] {
        [
            ("admins", self.admins),
            ("locked", self.locked),
            ("expired", self.expired),
            ("protected", self.protected),
            ("disabled", self.disabled),
            ("out_of_scope", self.out_of_scope),
        ]
    }

    /// The pattern split at `{n}` / `{n:0W}`: prefix, zero-pad width, suffix.
    pub fn pattern_parts(&self) -> Option<(&str, usize, &str)> {
        let open = self.pattern.find("{n")?;
        let close = open + self.pattern[open..].find('}')?;
        let spec = &self.pattern[open + 2..close];
        let width = match spec {
            "" => 0,
            s => s.strip_prefix(":0")?.parse().ok()?,
        };
        let (prefix, suffix) = (&self.pattern[..open], &self.pattern[close + 1..]);
        (!prefix.contains('{') && !suffix.contains('{')).then_some((prefix, width, suffix))
    }

    /// The sAMAccountName of user `n` (1-based).
    pub fn sam(&self, n: u32) -> String {
        match self.pattern_parts() {
            Some((p, w, s)) => format!("{p}{n:0w$}{s}"),
            None => format!("{}{n}", self.pattern),
        }
    }

    /// The OU of user `n` (1-based): the OUs are filled in turn.
    pub fn ou_of(&self, n: u32) -> &str {
        let i = (n.max(1) - 1) as usize % self.ous.len().max(1);
        self.ous.get(i).map(String::as_str).unwrap_or("Generated")
    }

    /// The number of `sam` if the pattern made it and it is within `count`.
    pub fn index_of(&self, sam: &str) -> Option<u32> {
        let (p, _, s) = self.pattern_parts()?;
        let lower = sam.to_ascii_lowercase();
        let mid = lower
            .strip_prefix(&p.to_ascii_lowercase())?
            .strip_suffix(&s.to_ascii_lowercase())?;
        let n: u32 = mid.parse().ok()?;
        (n >= 1 && n <= self.count && self.sam(n).eq_ignore_ascii_case(sam)).then_some(n)
    }
}

/// A fine-grained password policy (a PSO).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pso {
    /// The domain.
    pub domain: String,
    /// Its name (CN under the Password Settings Container).
    pub name: String,
    /// msDS-PasswordSettingsPrecedence (≥ 1, lower wins).
    pub precedence: u32,
    /// Users and groups it applies to, by sAMAccountName.
    pub applies_to: Vec<String>,
    /// Its settings; fields left out take AD's defaults (facts §4.1).
    #[serde(default)]
    pub policy: Policy,
}

/// One security descriptor change made when the lab is built.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AclChange {
    /// The domain.
    pub domain: String,
    /// The object: a user's UPN, `root`, `AdminSDHolder`, or a DN (full, or relative to the
    /// domain head such as `OU=Staff`).
    pub object: String,
    /// ACEs to add, in SDDL (`{sync}` stands for the domain's sync account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
    /// ACEs to remove (those equal to one of these), in SDDL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove: Option<String>,
    /// Disable inheritance on the object (the DACL's protected flag).
    #[serde(default, skip_serializing_if = "is_false")]
    pub disable_inheritance: bool,
}

/// The tenant's settings; each absent field keeps the base's (deployed, or undeployed).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudSection {
    /// Who SSPR is enabled for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sspr: Option<super::names::SsprScopeName>,
    /// SSPR for admins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_sspr: Option<bool>,
    /// "Enable password write back for synced users".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writeback_for_synced: Option<bool>,
    /// "Write back passwords with Microsoft Entra Connect cloud sync".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writeback_with_cloud_sync: Option<bool>,
    /// "Allow users to unlock accounts without resetting their password".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlock_without_reset: Option<bool>,
    /// `EnforceCloudPasswordPolicyForPasswordSyncedUsers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_cloud_policy_for_synced: Option<bool>,
    /// Each cloud sync domain's writeback flag (`Set-AADCloudSyncPasswordWritebackConfiguration`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub domain_writeback: BTreeMap<String, bool>,
    /// The custom banned password list (at most 1000 terms of 4–16 characters).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub banned: Vec<String>,
    /// The sync scope of each domain (default: the whole domain).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<SyncScope>,
}

impl CloudSection {
    /// The decision table's settings: deployed or undeployed, then these overrides.
    pub fn settings(&self, undeployed: bool) -> fake_cloud::decision::Settings {
        let base = if undeployed {
            fake_cloud::decision::Settings::UNDEPLOYED
        } else {
            fake_cloud::decision::Settings::DEPLOYED
        };
        fake_cloud::decision::Settings {
            sspr: self.sspr.map(|s| s.scope()).unwrap_or(base.sspr),
            admin_sspr: self.admin_sspr.unwrap_or(base.admin_sspr),
            writeback_for_synced: self
                .writeback_for_synced
                .unwrap_or(base.writeback_for_synced),
            writeback_with_cloud_sync: self
                .writeback_with_cloud_sync
                .unwrap_or(base.writeback_with_cloud_sync),
            unlock_without_reset: self
                .unlock_without_reset
                .unwrap_or(base.unlock_without_reset),
            enforce_cloud_policy_for_synced: self
                .enforce_cloud_policy_for_synced
                .unwrap_or(base.enforce_cloud_policy_for_synced),
        }
    }

    /// A cloud sync domain's writeback flag at the start.
    pub fn domain_writeback(&self, domain: &str, undeployed: bool) -> bool {
        self.domain_writeback
            .iter()
            .find(|(d, _)| d.eq_ignore_ascii_case(domain))
            .map(|(_, on)| *on)
            .unwrap_or(!undeployed)
    }
}

/// Which of a domain's users the sync configuration covers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncScope {
    /// The domain.
    pub domain: String,
    /// Only users in these OUs (absent: every OU and CN=Users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ous: Option<Vec<String>>,
    /// Users left out by sAMAccountName.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

impl SyncScope {
    /// Whether a user in `ou` (None = CN=Users) named `sam` is in scope.
    pub fn covers(&self, ou: Option<&str>, sam: &str) -> bool {
        let in_ou = match (&self.ous, ou) {
            (None, _) => true,
            (Some(list), Some(ou)) => list.iter().any(|o| o.eq_ignore_ascii_case(ou)),
            (Some(_), None) => false,
        };
        in_ou && !self.exclude.iter().any(|e| e.eq_ignore_ascii_case(sam))
    }
}

/// How an agent sends the policy-hints control on resets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hints {
    /// Critical (the agent's default): a DC without it refuses.
    #[default]
    Critical,
    /// Non-critical.
    On,
    /// Not sent: a reset skips history and minimum age.
    Off,
}

/// The writeback agents of one domain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentGroup {
    /// The domain; the agents' engine is the domain's.
    pub domain: String,
    /// How many (replaces the base's count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Registered and polling at time zero (default true; false with `undeployed`, then a
    /// step's `agent_start` installs them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<bool>,
    /// Each LDAP operation's timeout (`LdapConnectionTimeoutInMilliseconds`, default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap_timeout: Option<Dur>,
    /// The policy-hints control on resets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_hints: Option<Hints>,
}
