//! `LabSpec`: the serde description of a lab (forests, domains, DCs, users and their starting
//! states, policies, agents). The default lab is one value of it; scenario files embed one.

use fake_ad::bootstrap::Policy;
use serde::{Deserialize, Serialize};

/// A whole lab.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabSpec {
    /// The lab's (or scenario's) name; a `--state` directory remembers it.
    pub name: String,
    /// The Entra tenant.
    pub tenant: TenantSpec,
    /// The lab clock's start (`YYYYMMDDHHMMSSZ`); absent = the OS time at start.
    #[serde(default)]
    pub start: Option<String>,
    /// Disconnected forests.
    pub forests: Vec<ForestSpec>,
    /// The directory's background timers.
    #[serde(default)]
    pub timers: TimersSpec,
    /// Whether writeback is deployed at start (DESIGN §7): the sync accounts hold the writeback
    /// rights, the three on-premises integration options and the cloud sync flags are on, and the
    /// agents run. `false` is the tutorial's start: its steps deploy it.
    #[serde(default = "deployed", skip_serializing_if = "is_deployed")]
    pub deployed: bool,
}

fn deployed() -> bool {
    true
}

fn is_deployed(d: &bool) -> bool {
    *d
}

/// The directory's background work: the descriptor propagator and SDProp.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimersSpec {
    /// `acl.propagation_delay` and the propagator's rate.
    pub propagation: fake_ad::propagation::Propagation,
    /// SDProp's period on each PDC emulator (AdminSDProtectFrequency, 60–7200 s).
    pub sdprop_every_secs: u64,
    /// The replication topology's delays.
    pub topology: fake_ad::replication::Topology,
    /// Each DC's group-policy background refresh (seconds; DCs refresh every 5 minutes).
    pub gp_refresh_secs: u64,
}

impl Default for TimersSpec {
    fn default() -> Self {
        TimersSpec {
            propagation: fake_ad::propagation::Propagation::realistic(),
            sdprop_every_secs: 3600,
            topology: fake_ad::replication::Topology::default(),
            gp_refresh_secs: 300,
        }
    }
}

/// The Entra tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    /// Its initial domain, e.g. `contoso.onmicrosoft.example`.
    pub name: String,
    /// The custom banned password list, enforced (empty: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub banned: Vec<String>,
    /// Synced users outside their domain's sync scope, by UPN.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub out_of_scope: Vec<String>,
}

/// One forest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForestSpec {
    /// Its domains; the first is the forest root.
    pub domains: Vec<DomainSpec>,
}

/// Which sync engine serves a domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    /// Entra Connect cloud sync (provisioning agents, a gMSA).
    CloudSync,
    /// Entra Connect Sync (the MSOL_ account).
    ConnectSync,
}

impl Engine {
    /// The ready file's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::CloudSync => "cloud-sync",
            Engine::ConnectSync => "connect-sync",
        }
    }
}

/// One domain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainSpec {
    /// DNS name.
    pub dns: String,
    /// NetBIOS name.
    pub netbios: String,
    /// The sync engine.
    pub engine: Engine,
    /// Domain controllers; the first is the PDC emulator.
    pub dcs: Vec<DcSpec>,
    /// The Default Domain Policy's password and lockout settings.
    #[serde(default)]
    pub policy: Policy,
    /// OUs to create under the domain head (e.g. `Staff`).
    #[serde(default)]
    pub ous: Vec<String>,
    /// Users to create.
    #[serde(default)]
    pub users: Vec<UserSpec>,
    /// Writeback agents serving the domain (issue [E] starts them).
    #[serde(default)]
    pub agents: u32,
    /// Whether the sync account holds the writeback rights on the root at build; absent = as
    /// the lab is deployed or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writeback_aces: Option<bool>,
}

/// One DC.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DcSpec {
    /// `DC1`, `DC2`, …
    pub name: String,
    /// Its AD site.
    #[serde(default = "default_site")]
    pub site: String,
    /// Minutes the previous password still binds after a change (0 = off; Windows' behaviour
    /// for simple binds is unconfirmed, see README).
    #[serde(default)]
    pub old_password_window_min: u32,
}

fn default_site() -> String {
    "Default-First-Site-Name".into()
}

/// A user's starting state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserState {
    /// Locked out at lab start (lockoutTime = start, badPwdCount = 5).
    Locked,
    /// Inheritance disabled on the object (applied by issue [B]'s security descriptors).
    Protected,
    /// Password older than the maximum age.
    Expired,
    /// Must change password at next logon (pwdLastSet = 0).
    MustChange,
    /// Account disabled.
    Disabled,
}

/// One user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// sAMAccountName; the UPN is `<sam>@<domain>`.
    pub sam: String,
    /// Given name.
    pub given: String,
    /// Surname.
    pub surname: String,
    /// The OU it lives in (under the domain head); absent = CN=Users.
    #[serde(default)]
    pub ou: Option<String>,
    /// Groups (by sAMAccountName) it is a member of.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Starting states.
    #[serde(default)]
    pub states: Vec<UserState>,
    /// Cloud roles (issue [D]).
    #[serde(default)]
    pub cloud_roles: Vec<String>,
}

impl UserSpec {
    /// `Given Surname`.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.given, self.surname)
    }
}

/// Why a spec cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A structural problem, described.
    #[error("lab spec: {0}")]
    Invalid(String),
}

impl LabSpec {
    /// Checks what serde cannot: names present and unique, at least one DC per domain.
    pub fn validate(&self) -> Result<(), SpecError> {
        let bad = |m: String| Err(SpecError::Invalid(m));
        let mut seen = std::collections::BTreeSet::new();
        if !(60..=7200).contains(&self.timers.sdprop_every_secs) {
            return bad(format!(
                "timers.sdprop_every_secs {} is outside 60..=7200",
                self.timers.sdprop_every_secs
            ));
        }
        self.timers
            .propagation
            .validate()
            .map_err(|m| SpecError::Invalid(format!("timers.propagation.{m}")))?;
        self.timers
            .topology
            .validate()
            .map_err(|m| SpecError::Invalid(format!("timers.topology.{m}")))?;
        if self.forests.is_empty() {
            return bad("no forests".into());
        }
        for f in &self.forests {
            if f.domains.is_empty() {
                return bad("a forest has no domains".into());
            }
            for d in &f.domains {
                if !seen.insert(d.dns.to_lowercase()) {
                    return bad(format!("domain {} appears twice", d.dns));
                }
                if d.dns.split('.').any(|p| {
                    p.is_empty() || !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                }) {
                    return bad(format!("{:?} is not a DNS name", d.dns));
                }
                if d.dcs.is_empty() {
                    return bad(format!("domain {} has no DCs", d.dns));
                }
                let mut names = std::collections::BTreeSet::new();
                for dc in &d.dcs {
                    if !names.insert(dc.name.to_lowercase()) {
                        return bad(format!("DC {} appears twice in {}", dc.name, d.dns));
                    }
                }
                let mut users = std::collections::BTreeSet::new();
                for u in &d.users {
                    if !users.insert(u.sam.to_lowercase()) {
                        return bad(format!("user {} appears twice in {}", u.sam, d.dns));
                    }
                    if let Some(ou) = &u.ou
                        && !d.ous.iter().any(|o| o.eq_ignore_ascii_case(ou))
                    {
                        return bad(format!(
                            "user {} is in OU {ou}, which {} does not list",
                            u.sam, d.dns
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}
