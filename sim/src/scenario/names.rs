//! The closed vocabularies a scenario file names: password operations (every row of fake-cloud's
//! decision table), outcomes, latency hops, network hosts, the passwords the runner generates, and
//! the cloud settings a step may change.

use std::fmt;

use fake_cloud::decision::{
    self, OnPremisesFailure, Operation, Refusal, UserCode, WritebackSwitch,
};
use fake_cloud::password_policy::CloudPolicyFailure;
use serde::{Deserialize, Serialize};

use super::duration::string_serde;

/// A password operation, named as fake-cloud's decision table names it (snake case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// SSPR portal: a forgotten password reset (which also unlocks). Supported.
    SelfServiceReset,
    /// SSPR portal: "unlock and reset". Supported.
    SelfServiceUnlockAndReset,
    /// SSPR portal: "unlock without reset" (only lockoutTime is written). Supported.
    SelfServiceUnlockOnly,
    /// A voluntary change with the current password. Supported.
    VoluntaryChange,
    /// The forced change of an expired password at sign-in. Supported.
    ForcedChange,
    /// The user's own password through PowerShell or Graph. Unsupported (cloud only).
    EndUserPowershellOrGraph,
    /// An admin resets another user in the Entra admin center. Supported.
    AdminCenterReset,
    /// An admin resets another user in My Staff. Supported.
    MyStaffReset,
    /// An admin calls Graph `resetPassword`. Supported.
    GraphResetPassword,
    /// Graph `PATCH /users/{id}` with a passwordProfile. Refused for synced users.
    GraphPatchPasswordProfile,
    /// An admin resets a user with PowerShell cmdlets. Unsupported (cloud only).
    PowershellAdminReset,
    /// An admin resets a user in the Microsoft 365 admin center. Unsupported (cloud only).
    M365AdminCenterReset,
}

impl Op {
    /// Every operation, in the decision table's order.
    pub const ALL: [Op; 12] = [
        Op::SelfServiceReset,
        Op::SelfServiceUnlockAndReset,
        Op::SelfServiceUnlockOnly,
        Op::VoluntaryChange,
        Op::ForcedChange,
        Op::EndUserPowershellOrGraph,
        Op::AdminCenterReset,
        Op::MyStaffReset,
        Op::GraphResetPassword,
        Op::GraphPatchPasswordProfile,
        Op::PowershellAdminReset,
        Op::M365AdminCenterReset,
    ];

    /// The decision table's operation.
    pub fn operation(self) -> Operation {
        Operation::ALL[self as usize]
    }

    /// The file's spelling, e.g. `self_service_reset`.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::SelfServiceReset => "self_service_reset",
            Op::SelfServiceUnlockAndReset => "self_service_unlock_and_reset",
            Op::SelfServiceUnlockOnly => "self_service_unlock_only",
            Op::VoluntaryChange => "voluntary_change",
            Op::ForcedChange => "forced_change",
            Op::EndUserPowershellOrGraph => "end_user_powershell_or_graph",
            Op::AdminCenterReset => "admin_center_reset",
            Op::MyStaffReset => "my_staff_reset",
            Op::GraphResetPassword => "graph_reset_password",
            Op::GraphPatchPasswordProfile => "graph_patch_password_profile",
            Op::PowershellAdminReset => "powershell_admin_reset",
            Op::M365AdminCenterReset => "m365_admin_center_reset",
        }
    }

    /// Whether an administrator starts it on someone else's account (`by` names the admin).
    pub fn by_admin(self) -> bool {
        self.operation().row().channel == decision::Channel::AdminTool
    }

    /// Whether it sets a new password (every operation but the unlock without reset).
    pub fn sets_password(self) -> bool {
        self != Op::SelfServiceUnlockOnly
    }

    /// Whether the user gives the current password (the two changes and the user's own API).
    pub fn is_change(self) -> bool {
        matches!(
            self,
            Op::VoluntaryChange | Op::ForcedChange | Op::EndUserPowershellOrGraph
        )
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which new password the runner generates for an operation (from the seed; a file never holds
/// a password).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordKind {
    /// Fresh, long and complex, in no banned list, with no token of the user's names.
    #[default]
    Valid,
    /// The user's previous password (the one before the current): refused by AD's history
    /// with the policy-hints control, accepted without it (facts scenarios 4, 5).
    Previous,
    /// Built around a banned term so its banned-password score is below 5 (facts scenario 8).
    Banned,
    /// 7 characters, otherwise complex: below the cloud's 8 (facts scenario 9).
    TooShort,
    /// Long, two character classes only, e.g. all lowercase and digits (facts scenario 7).
    LowComplexity,
    /// Contains the user's surname (a displayName token of 3+ characters) and is otherwise long
    /// and varied enough to pass the cloud's banned-password score (facts scenario 6).
    DisplayName,
    /// Complex, with a non-ASCII letter: AD accepts it, the cloud's fixed rules do not (facts
    /// scenario 37).
    Unicode,
    /// A change given a wrong current password (facts scenario 27).
    WrongCurrent,
}

/// An outcome a step expects or an expectation counts: a class, a user-facing code, or an audit
/// reason. Written as one string, e.g. `"succeeded"`, `"SSPR_0029"`, `"ADPermissionsError"`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// `succeeded`: the operation ended succeeded (any route; OnPremisesSuccessCloudFailure
    /// counts, as the product reports it as a success).
    Succeeded,
    /// `failed`: every operation that did not succeed (refused in the cloud, or failed
    /// on-premises, or no answer).
    Failed,
    /// `refused`: refused by the cloud before anything was sent on-premises.
    Refused,
    /// `failed_on_premises`: sent to an agent, then failed on-premises or got no answer.
    FailedOnPremises,
    /// `written_back`: succeeded through an agent and a DC.
    WrittenBack,
    /// `cloud_only`: succeeded, but only the cloud password changed (unsupported operations on
    /// synced users, and admin tools on synced admins).
    CloudOnly,
    /// A code the user is shown: `SSPR_0009` … `SSPR_0030`, `OnPremisesSuccessCloudFailure`,
    /// `OnPremisesPolicyViolation` ("On-premises policy violation"), `FuzzyPolicy` ("Password
    /// doesn't comply with fuzzy policy").
    Code(UserCode),
    /// An audit failure reason, e.g. `ADPermissionsError` (33004), `ADPasswordPolicyError`
    /// (33008), `WritebackNotEnabled`, `Throttled`, `FuzzyPolicyViolationInvalidPassword`.
    Reason(&'static str),
}

/// The classes, by spelling.
const CLASSES: [(&str, Outcome); 6] = [
    ("succeeded", Outcome::Succeeded),
    ("failed", Outcome::Failed),
    ("refused", Outcome::Refused),
    ("failed_on_premises", Outcome::FailedOnPremises),
    ("written_back", Outcome::WrittenBack),
    ("cloud_only", Outcome::CloudOnly),
];

/// The spelling of a user code in a file.
fn code_name(c: UserCode) -> &'static str {
    match c {
        UserCode::OnPremisesPolicyViolation => "OnPremisesPolicyViolation",
        UserCode::FuzzyPolicy => "FuzzyPolicy",
        UserCode::OnPremisesSuccessCloudFailure => "OnPremisesSuccessCloudFailure",
        numbered => numbered.as_str(),
    }
}

/// Every audit reason fake-cloud writes: its refusals, its on-premises failures and its cloud
/// password policy failures.
pub fn reasons() -> Vec<&'static str> {
    let refusals = [
        Refusal::NotTheUser,
        Refusal::OwnAccount,
        Refusal::InsufficientRole,
        Refusal::SsprDisabled,
        Refusal::NotInSsprGroup,
        Refusal::OnPremisesMastered,
        Refusal::NoOnPremisesAccount,
        Refusal::WritebackNotEnabled(WritebackSwitch::SyncedUsers),
        Refusal::NoHealthyAgent,
        Refusal::Throttled,
        Refusal::UnlockWithoutResetOff,
    ];
    let policy = [
        CloudPolicyFailure::TooShort { length: 0 },
        CloudPolicyFailure::TooLong { length: 0 },
        CloudPolicyFailure::DisallowedCharacter,
        CloudPolicyFailure::TooFewClasses { classes: 0 },
        CloudPolicyFailure::Banned { score: 0 },
    ];
    let mut all: Vec<&'static str> = refusals
        .iter()
        .map(|r| r.reason())
        .chain(OnPremisesFailure::ALL.iter().map(|f| f.reason()))
        .chain(policy.iter().map(|p| p.reason()))
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

impl Outcome {
    /// Parses the file's spelling.
    pub fn parse(s: &str) -> Result<Outcome, String> {
        if let Some((_, o)) = CLASSES.iter().find(|(n, _)| *n == s) {
            return Ok(o.clone());
        }
        if let Some(c) = UserCode::ALL.iter().find(|c| code_name(**c) == s) {
            return Ok(Outcome::Code(*c));
        }
        if let Some(r) = reasons().into_iter().find(|r| *r == s) {
            return Ok(Outcome::Reason(r));
        }
        Err(format!(
            "unknown outcome {s:?}: write a class ({}), a user code ({}) or an audit reason ({})",
            CLASSES.map(|(n, _)| n).join(", "),
            UserCode::ALL.map(code_name).join(", "),
            reasons().join(", ")
        ))
    }

    /// The file's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Code(c) => code_name(*c),
            Outcome::Reason(r) => r,
            class => CLASSES
                .iter()
                .find(|(_, o)| o == class)
                .map(|(n, _)| *n)
                .unwrap_or("?"),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

string_serde!(
    Outcome,
    "an outcome such as \"succeeded\", \"SSPR_0029\" or \"ADPermissionsError\"",
    Outcome::parse
);

/// A timed hop of a writeback, for latency bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hop {
    /// The whole operation: accepted by the cloud → succeeded or failed.
    Total,
    /// Cloud: operation accepted → relay job queued (the cloud's checks).
    AcceptToQueue,
    /// Relay: job queued → offered to an agent's poll.
    QueueToOffer,
    /// Relay: offered → the agent's ack arrived.
    OfferToAck,
    /// Relay: acked → the agent's result arrived.
    AckToResult,
    /// Cloud: result arrived → operation terminal.
    ResultToTerminal,
    /// Agent: poll answer arrived → ack answered (wire `hop::ACK`).
    Ack,
    /// Agent: opening the sealed password (wire `hop::OPEN`).
    Open,
    /// Agent: a bound LDAPS connection, pool hit or connect + TLS + bind.
    LdapConnect,
    /// Agent: finding the user by objectGUID.
    LdapSearch,
    /// Agent: the password Modify.
    LdapModify,
    /// Agent: the whole job inside the agent (wire `hop::AGENT_TOTAL`).
    AgentTotal,
    /// Directory: the write on its first DC → visible on every DC of the domain.
    Replication,
}

impl Hop {
    /// The file's spelling, e.g. `agent_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Hop::Total => "total",
            Hop::AcceptToQueue => "accept_to_queue",
            Hop::QueueToOffer => "queue_to_offer",
            Hop::OfferToAck => "offer_to_ack",
            Hop::AckToResult => "ack_to_result",
            Hop::ResultToTerminal => "result_to_terminal",
            Hop::Ack => "ack",
            Hop::Open => "open",
            Hop::LdapConnect => "ldap_connect",
            Hop::LdapSearch => "ldap_search",
            Hop::LdapModify => "ldap_modify",
            Hop::AgentTotal => "agent_total",
            Hop::Replication => "replication",
        }
    }
}

/// A host of the simulated network, or a pattern of hosts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Host {
    /// `cloud`: fake-cloud (tenant, Graph, portal, relay).
    Cloud,
    /// `driver`: the workload driver, where every simulated person and admin runs.
    Driver,
    /// `<domain>/<DC>`, e.g. `contoso.lab/DC2`.
    Dc {
        /// The domain.
        domain: String,
        /// The DC.
        dc: String,
    },
    /// `<domain>/agent<N>`, e.g. `contoso.lab/agent1` (1-based).
    Agent {
        /// The domain.
        domain: String,
        /// 1-based.
        index: u32,
    },
    /// `<domain>/*`: every DC and agent of the domain.
    Domain(String),
    /// `*`: every host.
    Any,
}

impl Host {
    /// Parses the file's spelling.
    pub fn parse(s: &str) -> Result<Host, String> {
        let t = s.trim();
        match t {
            "cloud" => return Ok(Host::Cloud),
            "driver" => return Ok(Host::Driver),
            "*" => return Ok(Host::Any),
            _ => {}
        }
        let (domain, name) = t.split_once('/').ok_or_else(|| {
            format!(
                "bad host {s:?}: write cloud, driver, *, <domain>/<DC>, <domain>/agent<N> or <domain>/*"
            )
        })?;
        let domain = domain.to_string();
        if name == "*" {
            return Ok(Host::Domain(domain));
        }
        if let Some(n) = name.strip_prefix("agent")
            && !n.is_empty()
        {
            let index = n
                .parse::<u32>()
                .ok()
                .filter(|i| *i >= 1)
                .ok_or_else(|| format!("bad host {s:?}: agents are agent1, agent2, …"))?;
            return Ok(Host::Agent { domain, index });
        }
        Ok(Host::Dc {
            domain,
            dc: name.to_string(),
        })
    }

    /// Whether it names one host (not a pattern).
    pub fn is_single(&self) -> bool {
        !matches!(self, Host::Any | Host::Domain(_))
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Cloud => f.write_str("cloud"),
            Host::Driver => f.write_str("driver"),
            Host::Any => f.write_str("*"),
            Host::Domain(d) => write!(f, "{d}/*"),
            Host::Dc { domain, dc } => write!(f, "{domain}/{dc}"),
            Host::Agent { domain, index } => write!(f, "{domain}/agent{index}"),
        }
    }
}

string_serde!(
    Host,
    "a host such as \"cloud\", \"contoso.lab/DC2\", \"contoso.lab/agent1\" or \"contoso.lab/*\"",
    Host::parse
);

/// A tenant setting a step may change through `PUT /lab/settings`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingName {
    /// Who SSPR is enabled for: `"none"`, `"group"` or `"all"`.
    Sspr,
    /// "Enable password write back for synced users" (bool).
    WritebackForSynced,
    /// "Write back passwords with Microsoft Entra Connect cloud sync" (bool).
    WritebackWithCloudSync,
    /// "Allow users to unlock accounts without resetting their password" (bool).
    UnlockWithoutReset,
}

/// Who SSPR is enabled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SsprScopeName {
    /// Nobody.
    None,
    /// One group (the lab models one, holding everybody).
    Group,
    /// Everybody.
    All,
}

impl SsprScopeName {
    /// The decision table's scope.
    pub fn scope(self) -> decision::SsprScope {
        match self {
            SsprScopeName::None => decision::SsprScope::None,
            SsprScopeName::Group => decision::SsprScope::Group { member: true },
            SsprScopeName::All => decision::SsprScope::All,
        }
    }

    /// The spelling of `/lab/settings`.
    pub fn as_str(self) -> &'static str {
        match self {
            SsprScopeName::None => "none",
            SsprScopeName::Group => "group",
            SsprScopeName::All => "all",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_of_the_decision_table_has_a_name() {
        for (op, operation) in Op::ALL.iter().zip(Operation::ALL) {
            assert_eq!(op.operation(), operation);
            let json = serde_json::to_string(op).unwrap();
            assert_eq!(json, format!("\"{}\"", op.as_str()));
        }
    }

    #[test]
    fn outcomes_round_trip_and_unknown_ones_list_the_known() {
        for s in [
            "succeeded",
            "cloud_only",
            "SSPR_0010",
            "SSPR_0029",
            "SSPR_0030",
            "OnPremisesPolicyViolation",
            "FuzzyPolicy",
            "OnPremisesSuccessCloudFailure",
            "ADPermissionsError",
            "WritebackNotEnabled",
            "Throttled",
            "FuzzyPolicyViolationInvalidPassword",
            "UnlockWithoutResetNotEnabled",
        ] {
            assert_eq!(Outcome::parse(s).unwrap().as_str(), s);
        }
        let e = Outcome::parse("SSPR_29").unwrap_err();
        assert!(
            e.contains("SSPR_0029") && e.contains("ADPermissionsError"),
            "{e}"
        );
    }

    #[test]
    fn hosts_parse() {
        for s in [
            "cloud",
            "driver",
            "*",
            "contoso.lab/*",
            "contoso.lab/DC2",
            "contoso.lab/agent2",
        ] {
            assert_eq!(Host::parse(s).unwrap().to_string(), s);
        }
        assert!(Host::parse("contoso.lab").is_err());
        assert!(Host::parse("contoso.lab/agent0").is_err());
    }
}
