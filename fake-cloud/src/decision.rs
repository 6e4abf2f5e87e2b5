//! The one decision table of the tenant's password operations (issue [D] item 4): operation ×
//! settings × engine × agent health × sync scope × initiator's and target's roles → cloud result,
//! user-facing code, whether it writes back, whether only the cloud password changes, and the
//! audit row. Rendered to `docs/decision-table.md` by [`render_markdown`].
//!
//! Two steps, both tables:
//! - [`decide`] is what the cloud decides when an operation starts, before any gate or one-time
//!   code: the [`CHECKS`] in the product's order, then the [`Route`] the password takes and the
//!   [`PasswordChecks`] it must pass.
//! - [`conclude`] maps what happened next (the cloud policy, the agent's answer, the cloud write)
//!   to the final result, user code and audit row.
//!
//! Order of the checks (sources in [`CHECKS`]): who starts it; for admin tools, who may reset whom
//! (authorisation comes first, as in any Graph call); for the SSPR portal, whether SSPR is enabled
//! for the user (concept-sspr-howitworks lists this check before the on-premises one); whether the
//! operation exists for this user at all; then, for an on-premises-mastered password, writeback
//! enabled (else SSPR_0010) and a healthy agent for the user's domain (else SSPR_0030) — facts §1.1,
//! before any gate or one-time code —; then throttling; then the unlock-only choice.
//!
//! Facts the product does not publish are marked UNCONFIRMED where they are decided; the rendered
//! table repeats the marks. Pure logic: no I/O, no clock.

use crate::password_policy::CloudPolicyFailure;
use std::fmt::Write as _;

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

/// A password operation, named by where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// SSPR portal: a forgotten password reset (which also unlocks the account).
    SelfServiceReset,
    /// SSPR portal, "unlock and reset" chosen when unlock without reset is offered.
    SelfServiceUnlockAndReset,
    /// SSPR portal, "unlock without reset": only lockoutTime is written.
    SelfServiceUnlockOnly,
    /// A voluntary change with the current password (My Account, Ctrl+Alt+Del).
    VoluntaryChange,
    /// The forced change of an expired password at sign-in.
    ForcedChange,
    /// The user's own password through PowerShell or Graph (e.g. `POST /me/changePassword`).
    EndUserPowerShellOrGraph,
    /// An admin resets another user in the Entra admin center.
    AdminCenterReset,
    /// An admin resets another user in My Staff (the frontline worker portal).
    MyStaffReset,
    /// An admin calls Graph `resetPassword` on the password method `28c10230-…`.
    GraphResetPassword,
    /// Graph `PATCH /users/{id}` with a `passwordProfile`.
    GraphPatchPasswordProfile,
    /// An admin resets a user with PowerShell cmdlets (MSOnline, AzureAD, `Update-MgUser`).
    PowerShellAdminReset,
    /// An admin resets a user in the Microsoft 365 admin center.
    M365AdminCenterReset,
}

impl Operation {
    /// Every operation, in table order.
    pub const ALL: [Operation; 12] = [
        Operation::SelfServiceReset,
        Operation::SelfServiceUnlockAndReset,
        Operation::SelfServiceUnlockOnly,
        Operation::VoluntaryChange,
        Operation::ForcedChange,
        Operation::EndUserPowerShellOrGraph,
        Operation::AdminCenterReset,
        Operation::MyStaffReset,
        Operation::GraphResetPassword,
        Operation::GraphPatchPasswordProfile,
        Operation::PowerShellAdminReset,
        Operation::M365AdminCenterReset,
    ];

    /// This operation's row of [`OPERATIONS`].
    pub fn row(self) -> &'static OperationRow {
        &OPERATIONS[self as usize]
    }
}

/// Where an operation starts; it decides which checks apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The SSPR portal: SSPR enablement and throttling apply.
    SsprPortal,
    /// A password change by the user, who knows the current password.
    PasswordChange,
    /// The user's own PowerShell or Graph call.
    UserApi,
    /// An admin tool acting on another account: who may reset whom applies.
    AdminTool,
}

/// What an operation does to a synced (on-premises-mastered) user's password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncedPath {
    /// Written back through the agent of the user's domain (a supported operation).
    WriteBack,
    /// Only the cloud password changes; on-premises keeps the old one (an unsupported operation
    /// the product still performs).
    CloudOnly,
    /// Refused for synced users.
    Refused,
}

/// What an operation does to a cloud-only user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudUserPath {
    /// The cloud password changes.
    Changes,
    /// The operation is not offered: there is no on-premises account to unlock.
    NotOffered,
}

/// One row of the operations table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationRow {
    /// The operation.
    pub op: Operation,
    /// A short human name.
    pub label: &'static str,
    /// Where it starts.
    pub channel: Channel,
    /// What it does for a synced user (an admin tool on a synced admin changes only the cloud).
    pub synced: SyncedPath,
    /// What it does for a cloud-only user.
    pub cloud_user: CloudUserPath,
    /// The audit activity it records.
    pub activity: Activity,
    /// Where the row comes from, and what is UNCONFIRMED about it.
    pub source: &'static str,
}

/// The operations table, indexed by `Operation as usize`.
pub const OPERATIONS: [OperationRow; 12] = [
    OperationRow {
        op: Operation::SelfServiceReset,
        label: "Self-service password reset (SSPR portal)",
        channel: Channel::SsprPortal,
        synced: SyncedPath::WriteBack,
        cloud_user: CloudUserPath::Changes,
        activity: Activity::ResetSelfService,
        source: "facts §5.2 supported; a reset also unlocks (facts §2.3)",
    },
    OperationRow {
        op: Operation::SelfServiceUnlockAndReset,
        label: "Self-service unlock with reset (SSPR portal)",
        channel: Channel::SsprPortal,
        synced: SyncedPath::WriteBack,
        cloud_user: CloudUserPath::Changes,
        activity: Activity::ResetSelfService,
        source: "facts §5.1, §5.2; its audit activity is UNCONFIRMED (we record a reset)",
    },
    OperationRow {
        op: Operation::SelfServiceUnlockOnly,
        label: "Self-service unlock without reset (SSPR portal)",
        channel: Channel::SsprPortal,
        synced: SyncedPath::WriteBack,
        cloud_user: CloudUserPath::NotOffered,
        activity: Activity::UnlockSelfService,
        source: "facts §5.1, §5.3, scenario 25; not offered to cloud-only users is UNCONFIRMED",
    },
    OperationRow {
        op: Operation::VoluntaryChange,
        label: "Voluntary password change",
        channel: Channel::PasswordChange,
        synced: SyncedPath::WriteBack,
        cloud_user: CloudUserPath::Changes,
        activity: Activity::ChangeSelfService,
        source: "facts §5.2 supported; not gated by the SSPR scope is UNCONFIRMED",
    },
    OperationRow {
        op: Operation::ForcedChange,
        label: "Forced change of an expired password at sign-in",
        channel: Channel::PasswordChange,
        synced: SyncedPath::WriteBack,
        cloud_user: CloudUserPath::Changes,
        activity: Activity::ChangeSelfService,
        source: "facts §5.2 supported; not gated by the SSPR scope is UNCONFIRMED",
    },
    OperationRow {
        op: Operation::EndUserPowerShellOrGraph,
        label: "End user, own password through PowerShell or Graph",
        channel: Channel::UserApi,
        synced: SyncedPath::CloudOnly,
        cloud_user: CloudUserPath::Changes,
        activity: Activity::ChangeSelfService,
        source: "facts §5.2 unsupported; accepted as a cloud-only change is UNCONFIRMED",
    },
    OperationRow {
        op: Operation::AdminCenterReset,
        label: "Admin reset in the Entra admin center",
        channel: Channel::AdminTool,
        synced: SyncedPath::WriteBack,
        cloud_user: CloudUserPath::Changes,
        activity: Activity::ResetByAdmin,
        source: "facts §5.2 supported",
    },
    OperationRow {
        op: Operation::MyStaffReset,
        label: "Admin reset in My Staff",
        channel: Channel::AdminTool,
        synced: SyncedPath::WriteBack,
        cloud_user: CloudUserPath::Changes,
        activity: Activity::ResetByAdmin,
        source: "tutorial validation scenario (frontline worker portal); writeback UNCONFIRMED",
    },
    OperationRow {
        op: Operation::GraphResetPassword,
        label: "Admin reset through Graph resetPassword",
        channel: Channel::AdminTool,
        synced: SyncedPath::WriteBack,
        cloud_user: CloudUserPath::Changes,
        activity: Activity::ResetByAdmin,
        source: "facts §5.2 supported, §5.5 (never the caller's own account)",
    },
    OperationRow {
        op: Operation::GraphPatchPasswordProfile,
        label: "Graph PATCH of passwordProfile",
        channel: Channel::AdminTool,
        synced: SyncedPath::Refused,
        cloud_user: CloudUserPath::Changes,
        activity: Activity::ResetByAdmin,
        source: "facts §5.2, scenario 36 (400 for synced users); its audit row is UNCONFIRMED",
    },
    OperationRow {
        op: Operation::PowerShellAdminReset,
        label: "Admin reset through PowerShell cmdlets",
        channel: Channel::AdminTool,
        synced: SyncedPath::CloudOnly,
        cloud_user: CloudUserPath::Changes,
        activity: Activity::ResetByAdmin,
        source: "facts §5.2 unsupported, accepted as a cloud-only change [S46]",
    },
    OperationRow {
        op: Operation::M365AdminCenterReset,
        label: "Admin reset in the Microsoft 365 admin center",
        channel: Channel::AdminTool,
        synced: SyncedPath::CloudOnly,
        cloud_user: CloudUserPath::Changes,
        activity: Activity::ResetByAdmin,
        source: "facts §5.2 unsupported; accepted as a cloud-only change is UNCONFIRMED",
    },
];

/// One row of the tutorial's supported and unsupported tables (facts §5.2), with the operation
/// and the situation that stand for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TutorialRow {
    /// The row, paraphrased.
    pub text: &'static str,
    /// Whether the tutorial says the password is written back.
    pub written_back: bool,
    /// The operation.
    pub op: Operation,
    /// Whether the target holds an Entra admin role.
    pub target_is_admin: bool,
    /// Whether the admin tool is pointed at the caller's own account.
    pub own_account: bool,
}

/// Every row of the tutorial's supported and unsupported tables (facts §5.2).
pub const TUTORIAL_ROWS: [TutorialRow; 13] = [
    TutorialRow {
        text: "End user: self-service voluntary change",
        written_back: true,
        op: Operation::VoluntaryChange,
        target_is_admin: false,
        own_account: false,
    },
    TutorialRow {
        text: "End user: self-service forced change (password expired)",
        written_back: true,
        op: Operation::ForcedChange,
        target_is_admin: false,
        own_account: false,
    },
    TutorialRow {
        text: "End user: self-service reset from the password reset portal",
        written_back: true,
        op: Operation::SelfServiceReset,
        target_is_admin: false,
        own_account: false,
    },
    TutorialRow {
        text: "Administrator: self-service voluntary change",
        written_back: true,
        op: Operation::VoluntaryChange,
        target_is_admin: true,
        own_account: false,
    },
    TutorialRow {
        text: "Administrator: self-service forced change (password expired)",
        written_back: true,
        op: Operation::ForcedChange,
        target_is_admin: true,
        own_account: false,
    },
    TutorialRow {
        text: "Administrator: self-service reset from the password reset portal",
        written_back: true,
        op: Operation::SelfServiceReset,
        target_is_admin: true,
        own_account: false,
    },
    TutorialRow {
        text: "Administrator: reset of an end user from the Entra admin center",
        written_back: true,
        op: Operation::AdminCenterReset,
        target_is_admin: false,
        own_account: false,
    },
    TutorialRow {
        text: "Administrator: reset of an end user through Graph",
        written_back: true,
        op: Operation::GraphResetPassword,
        target_is_admin: false,
        own_account: false,
    },
    TutorialRow {
        text: "End user: own password through PowerShell or Graph",
        written_back: false,
        op: Operation::EndUserPowerShellOrGraph,
        target_is_admin: false,
        own_account: false,
    },
    TutorialRow {
        text: "Administrator: reset of an end user through PowerShell cmdlets",
        written_back: false,
        op: Operation::PowerShellAdminReset,
        target_is_admin: false,
        own_account: false,
    },
    TutorialRow {
        text: "Administrator: reset of an end user from the Microsoft 365 admin center",
        written_back: false,
        op: Operation::M365AdminCenterReset,
        target_is_admin: false,
        own_account: false,
    },
    TutorialRow {
        text: "Administrator: own password through the reset tool",
        written_back: false,
        op: Operation::AdminCenterReset,
        target_is_admin: true,
        own_account: true,
    },
    TutorialRow {
        text: "Administrator: another administrator's password through the reset tool",
        written_back: false,
        op: Operation::AdminCenterReset,
        target_is_admin: true,
        own_account: false,
    },
];

// ---------------------------------------------------------------------------------------------
// Roles: who may reset whom
// ---------------------------------------------------------------------------------------------

/// An Entra admin role that matters to password operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Helpdesk Administrator.
    Helpdesk,
    /// Password Administrator.
    Password,
    /// Authentication Administrator.
    Authentication,
    /// Privileged Authentication Administrator.
    PrivilegedAuthentication,
    /// User Administrator.
    User,
    /// Hybrid Identity Administrator (settings and agents; resets no password).
    HybridIdentity,
    /// Global Administrator.
    Global,
}

impl Role {
    /// Every role, in table order.
    pub const ALL: [Role; 7] = [
        Role::Helpdesk,
        Role::Password,
        Role::Authentication,
        Role::PrivilegedAuthentication,
        Role::User,
        Role::HybridIdentity,
        Role::Global,
    ];

    /// The role's display name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Helpdesk => "Helpdesk Administrator",
            Role::Password => "Password Administrator",
            Role::Authentication => "Authentication Administrator",
            Role::PrivilegedAuthentication => "Privileged Authentication Administrator",
            Role::User => "User Administrator",
            Role::HybridIdentity => "Hybrid Identity Administrator",
            Role::Global => "Global Administrator",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of [`Role`]s; empty for a user with no admin role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RoleSet(u8);

impl RoleSet {
    /// No admin role.
    pub const NONE: RoleSet = RoleSet(0);

    /// The set holding exactly `role`.
    pub const fn only(role: Role) -> RoleSet {
        RoleSet(role.bit())
    }

    /// This set with `role` added.
    pub const fn with(self, role: Role) -> RoleSet {
        RoleSet(self.0 | role.bit())
    }

    /// Whether `role` is in the set.
    pub const fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// Whether the set is empty (not an admin).
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The roles in the set, in table order.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |&r| self.contains(r))
    }
}

impl FromIterator<Role> for RoleSet {
    fn from_iter<I: IntoIterator<Item = Role>>(roles: I) -> RoleSet {
        roles.into_iter().fold(RoleSet::NONE, RoleSet::with)
    }
}

/// Who may reset a target holding a role: for each target role, the roles that may reset it.
///
/// Source: Microsoft Entra "Privileged roles and permissions" → "Who can reset passwords"
/// (entra-docs `docs/identity/role-based-access-control/privileged-roles-permissions.md`), for
/// roles assigned at tenant scope. The resetter columns there are Password, Helpdesk,
/// Authentication, User, Privileged Authentication and Global Administrator; Hybrid Identity
/// Administrator resets nobody. The Hybrid Identity Administrator target row is not in that
/// table: the page says a user with "any other role" is out of a Password Administrator's reach,
/// and its "All custom roles" row allows only Privileged Authentication and Global — we use that
/// row (UNCONFIRMED for built-in roles it does not list).
pub const RESET_RULES: [(Option<Role>, RoleSet); 8] = [
    (None, ANY_RESETTER),
    (
        Some(Role::Helpdesk),
        RoleSet::only(Role::Helpdesk)
            .with(Role::User)
            .with(Role::PrivilegedAuthentication)
            .with(Role::Global),
    ),
    (
        Some(Role::Password),
        RoleSet::only(Role::Password)
            .with(Role::Helpdesk)
            .with(Role::Authentication)
            .with(Role::User)
            .with(Role::PrivilegedAuthentication)
            .with(Role::Global),
    ),
    (
        Some(Role::Authentication),
        RoleSet::only(Role::Authentication)
            .with(Role::PrivilegedAuthentication)
            .with(Role::Global),
    ),
    (Some(Role::PrivilegedAuthentication), PRIVILEGED_ONLY),
    (
        Some(Role::User),
        RoleSet::only(Role::User)
            .with(Role::PrivilegedAuthentication)
            .with(Role::Global),
    ),
    (Some(Role::HybridIdentity), PRIVILEGED_ONLY),
    (Some(Role::Global), PRIVILEGED_ONLY),
];

const ANY_RESETTER: RoleSet = RoleSet::only(Role::Password)
    .with(Role::Helpdesk)
    .with(Role::Authentication)
    .with(Role::User)
    .with(Role::PrivilegedAuthentication)
    .with(Role::Global);

const PRIVILEGED_ONLY: RoleSet = RoleSet::only(Role::PrivilegedAuthentication).with(Role::Global);

fn resetters_of(target_role: Option<Role>) -> RoleSet {
    RESET_RULES
        .iter()
        .find(|(row, _)| *row == target_role)
        .map_or(RoleSet::NONE, |&(_, resetters)| resetters)
}

/// Whether `resetter` may reset the password of a user holding `target` (every role of it).
pub fn role_may_reset(resetter: Role, target: RoleSet) -> bool {
    if target.is_empty() {
        return resetters_of(None).contains(resetter);
    }
    target
        .iter()
        .all(|role| resetters_of(Some(role)).contains(resetter))
}

/// Whether a caller holding `caller` may reset a user holding `target`: one of the caller's roles
/// must reach every role of the target (the lab does not combine roles; UNCONFIRMED).
pub fn may_reset(caller: RoleSet, target: RoleSet) -> bool {
    caller.iter().any(|role| role_may_reset(role, target))
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

/// Who SSPR is enabled for ("Self service password reset enabled").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsprScope {
    /// Nobody.
    None,
    /// The members of one group; whether the target is one.
    Group {
        /// Whether the target is a member of the SSPR group.
        member: bool,
    },
    /// Everybody.
    All,
}

/// The tenant's settings that the table reads (facts §5.1, §5.6, concept-sspr-policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// SSPR for users with no admin role.
    pub sspr: SsprScope,
    /// SSPR for admins (`allowedToUseSSPR` of the authorization policy; on by default).
    pub admin_sspr: bool,
    /// "Enable password write back for synced users".
    pub writeback_for_synced: bool,
    /// "Write back passwords with Microsoft Entra Connect cloud sync".
    pub writeback_with_cloud_sync: bool,
    /// "Allow users to unlock accounts without resetting their password".
    pub unlock_without_reset: bool,
    /// `EnforceCloudPasswordPolicyForPasswordSyncedUsers`: the cloud policy's fixed rules also
    /// apply to synced users' cloud passwords.
    pub enforce_cloud_policy_for_synced: bool,
}

impl Settings {
    /// The default lab (DESIGN §7): SSPR for all, the three on-premises integration options on.
    pub const DEPLOYED: Settings = Settings {
        sspr: SsprScope::All,
        admin_sspr: true,
        writeback_for_synced: true,
        writeback_with_cloud_sync: true,
        unlock_without_reset: true,
        enforce_cloud_policy_for_synced: false,
    };

    /// The tutorial's start (and its first clean-up): SSPR on, the three options unchecked.
    pub const UNDEPLOYED: Settings = Settings {
        writeback_for_synced: false,
        writeback_with_cloud_sync: false,
        unlock_without_reset: false,
        ..Settings::DEPLOYED
    };

    /// The tutorial's second clean-up: only "Write back passwords with … cloud sync" unchecked,
    /// Connect Sync keeps writing back.
    pub const CLOUD_SYNC_REMOVED: Settings = Settings {
        writeback_with_cloud_sync: false,
        ..Settings::DEPLOYED
    };
}

/// The sync engine that owns a synced user's domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Microsoft Entra Connect cloud sync, with the domain's writeback flag
    /// (`Set-AADCloudSyncPasswordWritebackConfiguration`, `PUT …/domains/{domain}/writeback`).
    CloudSync {
        /// The domain's cloud sync writeback flag.
        domain_writeback: bool,
    },
    /// Microsoft Entra Connect Sync (password writeback configured on the Connect server).
    ConnectSync,
}

/// A synced user's on-premises side, as the cloud knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synced {
    /// The engine of the user's domain.
    pub engine: Engine,
    /// Whether the user is in the scope of the sync configuration of their domain.
    pub in_scope: bool,
    /// Whether a healthy agent (cloud sync) or Connect server is listening for the domain.
    pub agent_healthy: bool,
}

/// Where a user's password is mastered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A cloud-only user.
    CloudOnly,
    /// A synced user: the password is mastered on-premises.
    Synced(Synced),
}

/// The user whose password is at stake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The user's Entra admin roles.
    pub roles: RoleSet,
    /// Where the password is mastered.
    pub source: Source,
}

/// Who starts the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The target, on their own account.
    Target,
    /// Another account, with its admin roles.
    Other(RoleSet),
}

/// Everything [`decide`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inputs {
    /// The tenant's settings.
    pub settings: Settings,
    /// The user whose password is at stake.
    pub target: Target,
    /// Who starts the operation.
    pub caller: Caller,
    /// Whether the target is throttled (5 resets in an hour, facts §1.4), decided by the caller.
    pub throttled: bool,
}

// ---------------------------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------------------------

/// Where an allowed operation's password goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A cloud-only user's password changes in the cloud.
    CloudUser,
    /// Sent to an agent of the user's domain; the cloud password follows on success.
    WriteBack,
    /// Only the synced user's cloud password changes; on-premises keeps the old one (the lab
    /// shows the split).
    CloudOnly,
}

/// Which cloud password checks the new password must pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChecks {
    /// No new password (unlock only, or refused).
    None,
    /// The whole cloud policy (`CloudPolicy::check`) before anything is stored.
    Full,
    /// Banned passwords before the writeback (`CloudPolicy::check_banned`); AD's own policy
    /// decides the rest (facts §1.1: the on-premises policy is the one enforced); with
    /// `composition_after`, the fixed rules (`CloudPolicy::check_composition`) are applied to the
    /// cloud copy after AD accepted, and a failure there is `OnPremisesSuccessCloudFailure`.
    BannedThenWriteback {
        /// Whether `EnforceCloudPasswordPolicyForPasswordSyncedUsers` is on.
        composition_after: bool,
    },
}

/// Which on-premises integration switch is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritebackSwitch {
    /// "Enable password write back for synced users" is off.
    SyncedUsers,
    /// "Write back passwords with … cloud sync" is off (cloud sync domains only).
    CloudSync,
    /// The domain's cloud sync writeback flag is off.
    Domain,
    /// The user is outside the sync configuration's scope (the lab's choice: no writeback route;
    /// the product would send the job and Connect would report 33002 — UNCONFIRMED).
    SyncScope,
}

/// Why the cloud refused an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A self-service operation started by someone other than the user.
    NotTheUser,
    /// An admin tool pointed at the caller's own account (Graph: "cannot target the caller's own
    /// account", facts §5.5; the admin center likewise, UNCONFIRMED).
    OwnAccount,
    /// The caller's roles may not reset the target's (Graph answers 403).
    InsufficientRole,
    /// SSPR is off for the user (policy None, or admin SSPR disabled).
    SsprDisabled,
    /// SSPR is enabled for a group the user is not in.
    NotInSsprGroup,
    /// Graph's 400 for a synced user's passwordProfile ([`SYNCED_PASSWORD_PROFILE_ERROR`]).
    OnPremisesMastered,
    /// Unlock without reset for a user with no on-premises account.
    NoOnPremisesAccount,
    /// The password is mastered on-premises and writeback is not enabled for it.
    WritebackNotEnabled(WritebackSwitch),
    /// No healthy agent for the user's domain.
    NoHealthyAgent,
    /// Throttled: "Blocked from self-service password reset".
    Throttled,
    /// "Allow users to unlock accounts without resetting their password" is off.
    UnlockWithoutResetOff,
    /// The new password failed the cloud password policy.
    CloudPolicy(CloudPolicyFailure),
}

impl Refusal {
    /// The code the user sees, if the product has one for it.
    pub fn user_code(self) -> Option<UserCode> {
        match self {
            Refusal::SsprDisabled => Some(UserCode::TenantSsprFlagDisabled),
            Refusal::NotInSsprGroup => Some(UserCode::UserNotMemberOfScopedAccessGroup),
            Refusal::WritebackNotEnabled(_) => Some(UserCode::WritebackNotEnabled),
            Refusal::NoHealthyAgent => Some(UserCode::OnPremisesConnectivityError),
            Refusal::CloudPolicy(failure) if failure.is_banned() => Some(UserCode::FuzzyPolicy),
            Refusal::NotTheUser
            | Refusal::OwnAccount
            | Refusal::InsufficientRole
            | Refusal::OnPremisesMastered
            | Refusal::NoOnPremisesAccount
            | Refusal::Throttled
            | Refusal::UnlockWithoutResetOff
            | Refusal::CloudPolicy(_) => None,
        }
    }

    /// The audit failure reason. `FuzzyPolicyViolationInvalidPassword` is the product's; where a
    /// user code exists we use its enum name (facts §5.4); the rest are the lab's names.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::NotTheUser => "NotTheTargetUser",
            Refusal::OwnAccount => "CannotResetOwnPassword",
            Refusal::InsufficientRole => "InsufficientPrivileges",
            Refusal::SsprDisabled => "TenantSSPRFlagDisabled",
            Refusal::NotInSsprGroup => "UserNotMemberOfScopedAccessGroup",
            Refusal::OnPremisesMastered => "OnPremisesMasteredObject",
            Refusal::NoOnPremisesAccount => "NoOnPremisesAccount",
            Refusal::WritebackNotEnabled(_) => "WritebackNotEnabled",
            Refusal::NoHealthyAgent => "OnPremisesConnectivityError",
            Refusal::Throttled => "Throttled",
            Refusal::UnlockWithoutResetOff => "UnlockWithoutResetNotEnabled",
            Refusal::CloudPolicy(failure) => failure.reason(),
        }
    }
}

/// Graph's error text for a passwordProfile update of a synced user (facts §5.2, scenario 36).
pub const SYNCED_PASSWORD_PROFILE_ERROR: &str = "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration";

/// The codes and messages a user is shown (facts §5.4), with their exact strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UserCode {
    /// `SSPR_0009` TenantSSPRFlagDisabled = 9.
    TenantSsprFlagDisabled,
    /// `SSPR_0010` WritebackNotEnabled = 10.
    WritebackNotEnabled,
    /// `SSPR_0011` SsprNotEnabledInUserPolicy = 11.
    SsprNotEnabledInUserPolicy,
    /// `SSPR_0012` UserNotLicensed = 12.
    UserNotLicensed,
    /// `SSPR_0013` UserNotMemberOfScopedAccessGroup = 13.
    UserNotMemberOfScopedAccessGroup,
    /// `SSPR_0014` UserNotProperlyConfigured = 14.
    UserNotProperlyConfigured,
    /// `SSPR_0029` OnPremisesAdminActionRequired = 29.
    OnPremisesAdminActionRequired,
    /// `SSPR_0030` OnPremisesConnectivityError = 30.
    OnPremisesConnectivityError,
    /// OnPremisesSuccessCloudFailure: reset on-premises, the cloud write failed; wait minutes.
    OnPremisesSuccessCloudFailure,
    /// The usage error "On-premises policy violation".
    OnPremisesPolicyViolation,
    /// The usage error "Password doesn't comply with fuzzy policy".
    FuzzyPolicy,
}

impl UserCode {
    /// Every code, in table order.
    pub const ALL: [UserCode; 11] = [
        UserCode::TenantSsprFlagDisabled,
        UserCode::WritebackNotEnabled,
        UserCode::SsprNotEnabledInUserPolicy,
        UserCode::UserNotLicensed,
        UserCode::UserNotMemberOfScopedAccessGroup,
        UserCode::UserNotProperlyConfigured,
        UserCode::OnPremisesAdminActionRequired,
        UserCode::OnPremisesConnectivityError,
        UserCode::OnPremisesSuccessCloudFailure,
        UserCode::OnPremisesPolicyViolation,
        UserCode::FuzzyPolicy,
    ];

    /// The code as shown: `SSPR_0010`, or the name of a code without a number.
    pub fn as_str(self) -> &'static str {
        match self {
            UserCode::TenantSsprFlagDisabled => "SSPR_0009",
            UserCode::WritebackNotEnabled => "SSPR_0010",
            UserCode::SsprNotEnabledInUserPolicy => "SSPR_0011",
            UserCode::UserNotLicensed => "SSPR_0012",
            UserCode::UserNotMemberOfScopedAccessGroup => "SSPR_0013",
            UserCode::UserNotProperlyConfigured => "SSPR_0014",
            UserCode::OnPremisesAdminActionRequired => "SSPR_0029",
            UserCode::OnPremisesConnectivityError => "SSPR_0030",
            UserCode::OnPremisesSuccessCloudFailure => "OnPremisesSuccessCloudFailure",
            UserCode::OnPremisesPolicyViolation => "On-premises policy violation",
            UserCode::FuzzyPolicy => "Password doesn't comply with fuzzy policy",
        }
    }

    /// The product's enum name (`WritebackNotEnabled`), for the numbered codes and
    /// OnPremisesSuccessCloudFailure.
    pub fn name(self) -> Option<&'static str> {
        match self {
            UserCode::TenantSsprFlagDisabled => Some("TenantSSPRFlagDisabled"),
            UserCode::WritebackNotEnabled => Some("WritebackNotEnabled"),
            UserCode::SsprNotEnabledInUserPolicy => Some("SsprNotEnabledInUserPolicy"),
            UserCode::UserNotLicensed => Some("UserNotLicensed"),
            UserCode::UserNotMemberOfScopedAccessGroup => Some("UserNotMemberOfScopedAccessGroup"),
            UserCode::UserNotProperlyConfigured => Some("UserNotProperlyConfigured"),
            UserCode::OnPremisesAdminActionRequired => Some("OnPremisesAdminActionRequired"),
            UserCode::OnPremisesConnectivityError => Some("OnPremisesConnectivityError"),
            UserCode::OnPremisesSuccessCloudFailure => Some("OnPremisesSuccessCloudFailure"),
            UserCode::OnPremisesPolicyViolation | UserCode::FuzzyPolicy => None,
        }
    }

    /// The enum value (`10` for SSPR_0010), for the numbered codes.
    pub fn number(self) -> Option<u8> {
        match self {
            UserCode::TenantSsprFlagDisabled => Some(9),
            UserCode::WritebackNotEnabled => Some(10),
            UserCode::SsprNotEnabledInUserPolicy => Some(11),
            UserCode::UserNotLicensed => Some(12),
            UserCode::UserNotMemberOfScopedAccessGroup => Some(13),
            UserCode::UserNotProperlyConfigured => Some(14),
            UserCode::OnPremisesAdminActionRequired => Some(29),
            UserCode::OnPremisesConnectivityError => Some(30),
            UserCode::OnPremisesSuccessCloudFailure
            | UserCode::OnPremisesPolicyViolation
            | UserCode::FuzzyPolicy => None,
        }
    }
}

/// The audit log's service for every row here (facts §5.3).
pub const AUDIT_SERVICE: &str = "Self-service Password Management";

/// An audit activity of the "Self-service Password Management" service (facts §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Activity {
    /// "Self-service password reset policy changes".
    PolicyChanges,
    /// "Blocked from self-service password reset".
    Blocked,
    /// "Change password (self-service)".
    ChangeSelfService,
    /// "Reset password (by admin)".
    ResetByAdmin,
    /// "Reset password (self-service)".
    ResetSelfService,
    /// "Self-service password reset flow activity progress".
    FlowActivityProgress,
    /// "Unlock user account (self-service)".
    UnlockSelfService,
    /// "User registered for self-service password reset".
    UserRegistered,
}

impl Activity {
    /// The activity's exact name.
    pub fn as_str(self) -> &'static str {
        match self {
            Activity::PolicyChanges => "Self-service password reset policy changes",
            Activity::Blocked => "Blocked from self-service password reset",
            Activity::ChangeSelfService => "Change password (self-service)",
            Activity::ResetByAdmin => "Reset password (by admin)",
            Activity::ResetSelfService => "Reset password (self-service)",
            Activity::FlowActivityProgress => "Self-service password reset flow activity progress",
            Activity::UnlockSelfService => "Unlock user account (self-service)",
            Activity::UserRegistered => "User registered for self-service password reset",
        }
    }

    /// The activity's category. UNCONFIRMED: the product documents the service, not the category;
    /// we use Graph's `UserManagement` and `Policy`.
    pub fn category(self) -> AuditCategory {
        match self {
            Activity::PolicyChanges => AuditCategory::Policy,
            _ => AuditCategory::UserManagement,
        }
    }
}

/// An audit row's category (Graph `directoryAudit.category`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuditCategory {
    /// `UserManagement`.
    UserManagement,
    /// `Policy`.
    Policy,
}

impl AuditCategory {
    /// The category's exact string.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditCategory::UserManagement => "UserManagement",
            AuditCategory::Policy => "Policy",
        }
    }
}

/// An audit row's result (Graph `directoryAudit.result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuditResult {
    /// `success`.
    Success,
    /// `failure`.
    Failure,
}

impl AuditResult {
    /// The result's exact string.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditResult::Success => "success",
            AuditResult::Failure => "failure",
        }
    }
}

/// The `OnPremisesAgent` detail of "Reset password (by admin)" (facts §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OnPremisesAgent {
    /// `None`: a cloud-only reset.
    None,
    /// `Microsoft Entra Connect`.
    EntraConnect,
    /// `CloudSync`.
    CloudSync,
}

impl OnPremisesAgent {
    /// The detail's exact value.
    pub fn as_str(self) -> &'static str {
        match self {
            OnPremisesAgent::None => "None",
            OnPremisesAgent::EntraConnect => "Microsoft Entra Connect",
            OnPremisesAgent::CloudSync => "CloudSync",
        }
    }
}

/// The audit row an operation writes; never a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditRow {
    /// The activity.
    pub activity: Activity,
    /// The category.
    pub category: AuditCategory,
    /// Success or failure.
    pub result: AuditResult,
    /// The status reason (failures; `OnPremisesSuccessCloudFailure` on a success).
    pub reason: Option<&'static str>,
    /// For "Reset password (by admin)" only: which agent handled it.
    pub on_premises_agent: Option<OnPremisesAgent>,
}

impl AuditRow {
    fn new(activity: Activity, result: AuditResult, reason: Option<&'static str>) -> AuditRow {
        AuditRow {
            activity,
            category: activity.category(),
            result,
            reason,
            on_premises_agent: None,
        }
    }
}

/// The cloud's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudResult {
    /// Accepted; the password takes this route.
    Allowed(Route),
    /// Refused in the cloud; nothing was written anywhere.
    Refused(Refusal),
    /// Sent on-premises, where it failed (or no answer came); the cloud password is unchanged.
    FailedOnPremises(OnPremisesFailure),
}

/// What the table decides for one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The cloud's verdict.
    pub cloud_result: CloudResult,
    /// The code the user is shown, if any.
    pub user_code: Option<UserCode>,
    /// The audit row to write.
    pub audit: AuditRow,
    /// The cloud password checks the new password must pass.
    pub checks: PasswordChecks,
}

impl Decision {
    /// Whether the cloud accepted the operation.
    pub fn allowed(&self) -> bool {
        matches!(self.cloud_result, CloudResult::Allowed(_))
    }

    /// Whether the operation goes through an agent to on-premises AD.
    pub fn writes_back(&self) -> bool {
        matches!(
            self.cloud_result,
            CloudResult::Allowed(Route::WriteBack) | CloudResult::FailedOnPremises(_)
        )
    }

    /// Whether only a synced user's cloud password changes (the split the lab shows).
    pub fn cloud_only_change(&self) -> bool {
        self.cloud_result == CloudResult::Allowed(Route::CloudOnly)
    }

    /// The refusal, if the cloud refused.
    pub fn refusal(&self) -> Option<Refusal> {
        match self.cloud_result {
            CloudResult::Refused(refusal) => Some(refusal),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The checks, in the product's order
// ---------------------------------------------------------------------------------------------

/// What a check sees: the operation's row, the inputs and the route the password would take.
struct Ctx<'a> {
    row: &'a OperationRow,
    inputs: &'a Inputs,
    route: Result<Route, Refusal>,
}

/// One check of [`CHECKS`].
pub struct Check {
    /// Its name.
    pub name: &'static str,
    /// When it refuses, in words.
    pub refuses_when: &'static str,
    /// The refusals it can give, for the rendered table.
    pub refusals: &'static [Refusal],
    /// Where the rule and its place in the order come from.
    pub source: &'static str,
    run: fn(&Ctx<'_>) -> Option<Refusal>,
}

/// The cloud's checks in the product's order; the first refusal wins.
pub const CHECKS: [Check; 8] = [
    Check {
        name: "Who starts it",
        refuses_when: "a self-service operation is started by another account; an admin tool is pointed at the caller's own account",
        refusals: &[Refusal::NotTheUser, Refusal::OwnAccount],
        source: "facts §5.2 (an admin cannot use the reset tool on their own password), §5.5",
        run: check_caller,
    },
    Check {
        name: "Who may reset whom",
        refuses_when: "admin tools: none of the caller's roles may reset every role of the target",
        refusals: &[Refusal::InsufficientRole],
        source: "privileged-roles-permissions \"Who can reset passwords\"; authorisation first, as in Graph",
        run: check_role,
    },
    Check {
        name: "SSPR enabled for the user",
        refuses_when: "SSPR portal: policy None (SSPR_0009), a group the user is not in (SSPR_0013); for admins, admin SSPR off (SSPR_0009)",
        refusals: &[Refusal::SsprDisabled, Refusal::NotInSsprGroup],
        source: "concept-sspr-howitworks (checked first), concept-sspr-policy (admin policy), facts §5.4; SSPR_0009 for admins is UNCONFIRMED",
        run: check_sspr,
    },
    Check {
        name: "The operation exists for this user",
        refuses_when: "passwordProfile of a synced user (400); unlock without reset for a cloud-only user",
        refusals: &[Refusal::OnPremisesMastered, Refusal::NoOnPremisesAccount],
        source: "facts §5.2, scenario 36",
        run: check_route,
    },
    Check {
        name: "Writeback enabled",
        refuses_when: "writeback route: \"Enable password write back for synced users\" off; for cloud sync, its option or the domain flag off; user outside the sync scope",
        refusals: &[
            Refusal::WritebackNotEnabled(WritebackSwitch::SyncedUsers),
            Refusal::WritebackNotEnabled(WritebackSwitch::CloudSync),
            Refusal::WritebackNotEnabled(WritebackSwitch::Domain),
            Refusal::WritebackNotEnabled(WritebackSwitch::SyncScope),
        ],
        source: "facts §1.1 (before any gate), §5.1, scenario 39, tutorial clean-up; domain flag and scope codes UNCONFIRMED",
        run: check_writeback,
    },
    Check {
        name: "Healthy agent for the domain",
        refuses_when: "writeback route: no healthy agent (or Connect server) listening for the user's domain",
        refusals: &[Refusal::NoHealthyAgent],
        source: "facts §1.1 (before any gate), §1.4, scenario 18",
        run: check_agent,
    },
    Check {
        name: "Throttling",
        refuses_when: "SSPR portal: the user is throttled (5 resets an hour → 24 h)",
        refusals: &[Refusal::Throttled],
        source: "facts §1.4, scenario 38; after the on-premises checks (issue [D] item 4)",
        run: check_throttle,
    },
    Check {
        name: "Unlock without reset offered",
        refuses_when: "unlock without reset while \"Allow users to unlock accounts without resetting their password\" is off",
        refusals: &[Refusal::UnlockWithoutResetOff],
        source: "facts §5.1, scenario 25",
        run: check_unlock,
    },
];

fn check_caller(ctx: &Ctx<'_>) -> Option<Refusal> {
    match (ctx.row.channel, ctx.inputs.caller) {
        (Channel::AdminTool, Caller::Target) => Some(Refusal::OwnAccount),
        (Channel::AdminTool, Caller::Other(_)) => None,
        (_, Caller::Target) => None,
        (_, Caller::Other(_)) => Some(Refusal::NotTheUser),
    }
}

fn check_role(ctx: &Ctx<'_>) -> Option<Refusal> {
    match (ctx.row.channel, ctx.inputs.caller) {
        (Channel::AdminTool, Caller::Other(roles))
            if !may_reset(roles, ctx.inputs.target.roles) =>
        {
            Some(Refusal::InsufficientRole)
        }
        _ => None,
    }
}

fn check_sspr(ctx: &Ctx<'_>) -> Option<Refusal> {
    let settings = &ctx.inputs.settings;
    let is_admin = !ctx.inputs.target.roles.is_empty();
    match (
        ctx.row.channel,
        is_admin,
        settings.admin_sspr,
        settings.sspr,
    ) {
        (Channel::SsprPortal, true, false, _) => Some(Refusal::SsprDisabled),
        (Channel::SsprPortal, true, true, _) => None,
        (Channel::SsprPortal, false, _, SsprScope::None) => Some(Refusal::SsprDisabled),
        (Channel::SsprPortal, false, _, SsprScope::Group { member: false }) => {
            Some(Refusal::NotInSsprGroup)
        }
        _ => None,
    }
}

fn check_route(ctx: &Ctx<'_>) -> Option<Refusal> {
    ctx.route.err()
}

fn check_writeback(ctx: &Ctx<'_>) -> Option<Refusal> {
    let settings = &ctx.inputs.settings;
    let Source::Synced(synced) = ctx.inputs.target.source else {
        return None;
    };
    let switch = match (ctx.route, synced.engine) {
        (Ok(Route::WriteBack), _) if !settings.writeback_for_synced => WritebackSwitch::SyncedUsers,
        (Ok(Route::WriteBack), Engine::CloudSync { .. }) if !settings.writeback_with_cloud_sync => {
            WritebackSwitch::CloudSync
        }
        (
            Ok(Route::WriteBack),
            Engine::CloudSync {
                domain_writeback: false,
            },
        ) => WritebackSwitch::Domain,
        (Ok(Route::WriteBack), _) if !synced.in_scope => WritebackSwitch::SyncScope,
        _ => return None,
    };
    Some(Refusal::WritebackNotEnabled(switch))
}

fn check_agent(ctx: &Ctx<'_>) -> Option<Refusal> {
    match (ctx.route, ctx.inputs.target.source) {
        (Ok(Route::WriteBack), Source::Synced(synced)) if !synced.agent_healthy => {
            Some(Refusal::NoHealthyAgent)
        }
        _ => None,
    }
}

fn check_throttle(ctx: &Ctx<'_>) -> Option<Refusal> {
    match (ctx.row.channel, ctx.inputs.throttled) {
        (Channel::SsprPortal, true) => Some(Refusal::Throttled),
        _ => None,
    }
}

fn check_unlock(ctx: &Ctx<'_>) -> Option<Refusal> {
    match (ctx.row.op, ctx.inputs.settings.unlock_without_reset) {
        (Operation::SelfServiceUnlockOnly, false) => Some(Refusal::UnlockWithoutResetOff),
        _ => None,
    }
}

/// The route an operation's password takes for this target, or why it has none.
fn route(row: &OperationRow, target: &Target) -> Result<Route, Refusal> {
    match (target.source, row.cloud_user, row.synced, row.channel) {
        (Source::CloudOnly, CloudUserPath::NotOffered, ..) => Err(Refusal::NoOnPremisesAccount),
        (Source::CloudOnly, CloudUserPath::Changes, ..) => Ok(Route::CloudUser),
        (Source::Synced(_), _, SyncedPath::Refused, _) => Err(Refusal::OnPremisesMastered),
        (Source::Synced(_), _, SyncedPath::CloudOnly, _) => Ok(Route::CloudOnly),
        // "An administrator cannot use the reset tool to reset … any other administrator … for
        // password writeback" (cloud sync tutorial): the cloud password only. UNCONFIRMED that
        // the product changes the cloud password rather than refusing.
        (Source::Synced(_), _, SyncedPath::WriteBack, Channel::AdminTool)
            if !target.roles.is_empty() =>
        {
            Ok(Route::CloudOnly)
        }
        (Source::Synced(_), _, SyncedPath::WriteBack, _) => Ok(Route::WriteBack),
    }
}

/// Which checks the new password must pass on a route.
fn password_checks(op: Operation, route: Route, settings: &Settings) -> PasswordChecks {
    match (op, route) {
        (Operation::SelfServiceUnlockOnly, _) => PasswordChecks::None,
        (_, Route::CloudUser | Route::CloudOnly) => PasswordChecks::Full,
        (_, Route::WriteBack) => PasswordChecks::BannedThenWriteback {
            composition_after: settings.enforce_cloud_policy_for_synced,
        },
    }
}

fn agent_detail(
    activity: Activity,
    route: Option<Route>,
    source: Source,
) -> Option<OnPremisesAgent> {
    match (activity, route, source) {
        (Activity::ResetByAdmin, Some(Route::WriteBack), Source::Synced(synced)) => {
            Some(match synced.engine {
                Engine::CloudSync { .. } => OnPremisesAgent::CloudSync,
                Engine::ConnectSync => OnPremisesAgent::EntraConnect,
            })
        }
        (Activity::ResetByAdmin, ..) => Some(OnPremisesAgent::None),
        _ => None,
    }
}

/// What the cloud decides when `op` starts with `inputs`: the first refusal of [`CHECKS`], or
/// the route and the password checks.
pub fn decide(op: Operation, inputs: &Inputs) -> Decision {
    let row = op.row();
    let ctx = Ctx {
        row,
        inputs,
        route: route(row, &inputs.target),
    };
    match CHECKS.iter().find_map(|check| (check.run)(&ctx)) {
        Some(refusal) => refused(row, inputs, refusal),
        None => {
            let route = ctx
                .route
                .expect("check_route refuses every operation without a route");
            let mut audit = AuditRow::new(row.activity, AuditResult::Success, None);
            audit.on_premises_agent = agent_detail(row.activity, Some(route), inputs.target.source);
            Decision {
                cloud_result: CloudResult::Allowed(route),
                user_code: None,
                audit,
                checks: password_checks(op, route, &inputs.settings),
            }
        }
    }
}

fn refused(row: &OperationRow, inputs: &Inputs, refusal: Refusal) -> Decision {
    // Before the user reaches the reset page, the portal records the step that failed
    // ("flow activity progress"); a throttled user gets the "Blocked" row, whose only status is
    // success (howto-sspr-reporting). Which row a refused portal start writes is UNCONFIRMED.
    let (activity, result, reason) = match (row.channel, refusal) {
        (Channel::SsprPortal, Refusal::Throttled) => {
            (Activity::Blocked, AuditResult::Success, None)
        }
        (Channel::SsprPortal, Refusal::CloudPolicy(_)) => {
            (row.activity, AuditResult::Failure, Some(refusal.reason()))
        }
        (Channel::SsprPortal, _) => (
            Activity::FlowActivityProgress,
            AuditResult::Failure,
            Some(refusal.reason()),
        ),
        _ => (row.activity, AuditResult::Failure, Some(refusal.reason())),
    };
    let mut audit = AuditRow::new(activity, result, reason);
    audit.on_premises_agent = agent_detail(activity, None, inputs.target.source);
    Decision {
        cloud_result: CloudResult::Refused(refusal),
        user_code: refusal.user_code(),
        audit,
        checks: PasswordChecks::None,
    }
}

// ---------------------------------------------------------------------------------------------
// Completion
// ---------------------------------------------------------------------------------------------

/// An on-premises failure the agent reports (Connect's 33xxx events, facts §6.1), or no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OnPremisesFailure {
    /// 33001 ADUnKnownError.
    Unknown,
    /// 33002 ADUserNotFoundError.
    UserNotFound,
    /// 33003 ADMutliMatchError (sic).
    MultipleMatches,
    /// 33004 ADPermissionsError: missing rights, adminCount=1.
    Permissions,
    /// 33005 ADUserAccountDisabled.
    AccountDisabled,
    /// 33006 ADUserAccountLockedOut.
    AccountLockedOut,
    /// 33007 ADUserIncorrectPassword: wrong current password on a change.
    IncorrectPassword,
    /// 33008 ADPasswordPolicyError: age, history, complexity, filter.
    PasswordPolicy,
    /// 33009 ADConfigurationError.
    Configuration,
    /// No answer before the deadline (agent gone, LDAP timeout).
    NoAnswer,
}

impl OnPremisesFailure {
    /// Every failure, in table order.
    pub const ALL: [OnPremisesFailure; 10] = [
        OnPremisesFailure::Unknown,
        OnPremisesFailure::UserNotFound,
        OnPremisesFailure::MultipleMatches,
        OnPremisesFailure::Permissions,
        OnPremisesFailure::AccountDisabled,
        OnPremisesFailure::AccountLockedOut,
        OnPremisesFailure::IncorrectPassword,
        OnPremisesFailure::PasswordPolicy,
        OnPremisesFailure::Configuration,
        OnPremisesFailure::NoAnswer,
    ];

    /// The Connect event id, if there is one.
    pub fn event_id(self) -> Option<u16> {
        match self {
            OnPremisesFailure::Unknown => Some(33001),
            OnPremisesFailure::UserNotFound => Some(33002),
            OnPremisesFailure::MultipleMatches => Some(33003),
            OnPremisesFailure::Permissions => Some(33004),
            OnPremisesFailure::AccountDisabled => Some(33005),
            OnPremisesFailure::AccountLockedOut => Some(33006),
            OnPremisesFailure::IncorrectPassword => Some(33007),
            OnPremisesFailure::PasswordPolicy => Some(33008),
            OnPremisesFailure::Configuration => Some(33009),
            OnPremisesFailure::NoAnswer => None,
        }
    }

    /// The audit reason: the Connect event's name (the lab's choice; the product publishes no
    /// audit reasons for these), or `OnPremisesConnectivityError` for no answer.
    pub fn reason(self) -> &'static str {
        match self {
            OnPremisesFailure::Unknown => "ADUnKnownError",
            OnPremisesFailure::UserNotFound => "ADUserNotFoundError",
            OnPremisesFailure::MultipleMatches => "ADMutliMatchError",
            OnPremisesFailure::Permissions => "ADPermissionsError",
            OnPremisesFailure::AccountDisabled => "ADUserAccountDisabled",
            OnPremisesFailure::AccountLockedOut => "ADUserAccountLockedOut",
            OnPremisesFailure::IncorrectPassword => "ADUserIncorrectPassword",
            OnPremisesFailure::PasswordPolicy => "ADPasswordPolicyError",
            OnPremisesFailure::Configuration => "ADConfigurationError",
            OnPremisesFailure::NoAnswer => "OnPremisesConnectivityError",
        }
    }

    /// What the user is shown. Policy → "On-premises policy violation" and permissions →
    /// SSPR_0029 are documented (facts §5.4, §3.5); no answer → SSPR_0030 follows facts §8's
    /// knob; the rest → SSPR_0029 (or none for a mistyped current password) are UNCONFIRMED.
    pub fn user_code(self) -> Option<UserCode> {
        match self {
            OnPremisesFailure::PasswordPolicy => Some(UserCode::OnPremisesPolicyViolation),
            OnPremisesFailure::NoAnswer => Some(UserCode::OnPremisesConnectivityError),
            OnPremisesFailure::IncorrectPassword => None,
            OnPremisesFailure::Unknown
            | OnPremisesFailure::UserNotFound
            | OnPremisesFailure::MultipleMatches
            | OnPremisesFailure::Permissions
            | OnPremisesFailure::AccountDisabled
            | OnPremisesFailure::AccountLockedOut
            | OnPremisesFailure::Configuration => Some(UserCode::OnPremisesAdminActionRequired),
        }
    }
}

/// What happened after the cloud allowed an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// The new password failed a cloud check before anything was written.
    CloudPolicyRejected(CloudPolicyFailure),
    /// Stored: in the cloud, or on-premises and then in the cloud.
    Succeeded,
    /// AD accepted, the cloud write failed (cloud policy after writeback, timeout, throttling).
    CloudWriteFailed,
    /// The agent reported a failure, or none answered.
    OnPremisesFailed(OnPremisesFailure),
}

/// The final decision once `completion` happened, or `None` when it cannot follow the start (the
/// start was refused; an on-premises outcome without a writeback; a cloud check the route does
/// not run before storing).
pub fn conclude(op: Operation, inputs: &Inputs, completion: Completion) -> Option<Decision> {
    let start = decide(op, inputs);
    let CloudResult::Allowed(route) = start.cloud_result else {
        return None;
    };
    let row = op.row();
    match (route, start.checks, completion) {
        (_, _, Completion::Succeeded) => Some(start),
        (_, PasswordChecks::Full, Completion::CloudPolicyRejected(failure)) => {
            Some(refused(row, inputs, Refusal::CloudPolicy(failure)))
        }
        (
            _,
            PasswordChecks::BannedThenWriteback { .. },
            Completion::CloudPolicyRejected(failure),
        ) if failure.is_banned() => Some(refused(row, inputs, Refusal::CloudPolicy(failure))),
        (Route::WriteBack, _, Completion::CloudWriteFailed) => Some(Decision {
            user_code: Some(UserCode::OnPremisesSuccessCloudFailure),
            audit: AuditRow {
                reason: Some("OnPremisesSuccessCloudFailure"),
                ..start.audit
            },
            ..start
        }),
        (Route::WriteBack, _, Completion::OnPremisesFailed(failure)) => Some(Decision {
            cloud_result: CloudResult::FailedOnPremises(failure),
            user_code: failure.user_code(),
            audit: AuditRow {
                result: AuditResult::Failure,
                reason: Some(failure.reason()),
                ..start.audit
            },
            ..start
        }),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Named situations and the catalogue's scenarios
// ---------------------------------------------------------------------------------------------

/// A synced user of a cloud sync domain of the default lab (alice@contoso.lab).
pub const SYNCED_CLOUD_SYNC: Target = Target {
    roles: RoleSet::NONE,
    source: Source::Synced(Synced {
        engine: Engine::CloudSync {
            domain_writeback: true,
        },
        in_scope: true,
        agent_healthy: true,
    }),
};

/// A synced user of the Connect Sync domain of the default lab (alice@northwind.lab).
pub const SYNCED_CONNECT: Target = Target {
    roles: RoleSet::NONE,
    source: Source::Synced(Synced {
        engine: Engine::ConnectSync,
        in_scope: true,
        agent_healthy: true,
    }),
};

/// A cloud-only user.
pub const CLOUD_ONLY: Target = Target {
    roles: RoleSet::NONE,
    source: Source::CloudOnly,
};

/// The helpdesk@ admin of the default lab, as a caller.
pub const HELPDESK: Caller = Caller::Other(RoleSet::only(Role::Helpdesk));

/// The admin@ Global Administrator of the default lab, as a caller.
pub const GLOBAL_ADMIN: Caller = Caller::Other(RoleSet::only(Role::Global));

/// The default lab for `target`: the caller is the target for self-service operations and
/// helpdesk@ for admin tools.
pub fn lab_inputs(op: Operation, target: Target) -> Inputs {
    Inputs {
        settings: Settings::DEPLOYED,
        target,
        caller: match op.row().channel {
            Channel::AdminTool => HELPDESK,
            _ => Caller::Target,
        },
        throttled: false,
    }
}

fn with_synced(target: Target, change: impl FnOnce(&mut Synced)) -> Target {
    let mut target = target;
    if let Source::Synced(synced) = &mut target.source {
        change(synced);
    }
    target
}

/// A column of the rendered grid: a named change to the default lab.
struct Situation {
    name: &'static str,
    inputs: fn(Operation) -> Inputs,
}

const SITUATIONS: [Situation; 16] = [
    Situation {
        name: "cloud sync user",
        inputs: |op| lab_inputs(op, SYNCED_CLOUD_SYNC),
    },
    Situation {
        name: "Connect user",
        inputs: |op| lab_inputs(op, SYNCED_CONNECT),
    },
    Situation {
        name: "cloud-only user",
        inputs: |op| lab_inputs(op, CLOUD_ONLY),
    },
    Situation {
        name: "undeployed / clean-up 1",
        inputs: |op| Inputs {
            settings: Settings::UNDEPLOYED,
            ..lab_inputs(op, SYNCED_CLOUD_SYNC)
        },
    },
    Situation {
        name: "clean-up 2, cloud sync user",
        inputs: |op| Inputs {
            settings: Settings::CLOUD_SYNC_REMOVED,
            ..lab_inputs(op, SYNCED_CLOUD_SYNC)
        },
    },
    Situation {
        name: "clean-up 2, Connect user",
        inputs: |op| Inputs {
            settings: Settings::CLOUD_SYNC_REMOVED,
            ..lab_inputs(op, SYNCED_CONNECT)
        },
    },
    Situation {
        name: "domain flag off",
        inputs: |op| {
            lab_inputs(
                op,
                with_synced(SYNCED_CLOUD_SYNC, |s| {
                    s.engine = Engine::CloudSync {
                        domain_writeback: false,
                    }
                }),
            )
        },
    },
    Situation {
        name: "out of sync scope",
        inputs: |op| lab_inputs(op, with_synced(SYNCED_CLOUD_SYNC, |s| s.in_scope = false)),
    },
    Situation {
        name: "no healthy agent",
        inputs: |op| {
            lab_inputs(
                op,
                with_synced(SYNCED_CLOUD_SYNC, |s| s.agent_healthy = false),
            )
        },
    },
    Situation {
        name: "throttled",
        inputs: |op| Inputs {
            throttled: true,
            ..lab_inputs(op, SYNCED_CLOUD_SYNC)
        },
    },
    Situation {
        name: "SSPR none",
        inputs: |op| Inputs {
            settings: Settings {
                sspr: SsprScope::None,
                ..Settings::DEPLOYED
            },
            ..lab_inputs(op, SYNCED_CLOUD_SYNC)
        },
    },
    Situation {
        name: "not in SSPR group",
        inputs: |op| Inputs {
            settings: Settings {
                sspr: SsprScope::Group { member: false },
                ..Settings::DEPLOYED
            },
            ..lab_inputs(op, SYNCED_CLOUD_SYNC)
        },
    },
    Situation {
        name: "unlock w/o reset off",
        inputs: |op| Inputs {
            settings: Settings {
                unlock_without_reset: false,
                ..Settings::DEPLOYED
            },
            ..lab_inputs(op, SYNCED_CLOUD_SYNC)
        },
    },
    Situation {
        name: "target is a Helpdesk admin (caller: Global)",
        inputs: |op| {
            let mut inputs = lab_inputs(
                op,
                Target {
                    roles: RoleSet::only(Role::Helpdesk),
                    ..SYNCED_CLOUD_SYNC
                },
            );
            if op.row().channel == Channel::AdminTool {
                inputs.caller = GLOBAL_ADMIN;
            }
            inputs
        },
    },
    Situation {
        name: "caller: Hybrid Identity admin",
        inputs: |op| {
            let mut inputs = lab_inputs(op, SYNCED_CLOUD_SYNC);
            if op.row().channel == Channel::AdminTool {
                inputs.caller = Caller::Other(RoleSet::only(Role::HybridIdentity));
            }
            inputs
        },
    },
    Situation {
        name: "caller is the target (a Helpdesk admin)",
        inputs: |op| Inputs {
            caller: Caller::Target,
            ..lab_inputs(
                op,
                Target {
                    roles: RoleSet::only(Role::Helpdesk),
                    ..SYNCED_CLOUD_SYNC
                },
            )
        },
    },
];

/// A scenario of the facts catalogue, pinned as a row.
pub struct Scenario {
    /// The catalogue's number and title.
    pub name: &'static str,
    /// The operation.
    pub op: Operation,
    /// The inputs.
    pub inputs: Inputs,
    /// What happened after the start, if the scenario goes that far.
    pub completion: Option<Completion>,
}

/// The catalogue scenarios this table decides (8, 9, 18, 19, 22, 25, 35–39).
pub fn scenarios() -> Vec<Scenario> {
    let reset = Operation::SelfServiceReset;
    let unlock = Operation::SelfServiceUnlockOnly;
    vec![
        Scenario {
            name: "8 Cloud banned password (custom \"contoso\", score 4)",
            op: reset,
            inputs: lab_inputs(reset, SYNCED_CLOUD_SYNC),
            completion: Some(Completion::CloudPolicyRejected(
                CloudPolicyFailure::Banned { score: 4 },
            )),
        },
        Scenario {
            name: "9 Cloud length rule (7 characters, cloud-only user)",
            op: reset,
            inputs: lab_inputs(reset, CLOUD_ONLY),
            completion: Some(Completion::CloudPolicyRejected(
                CloudPolicyFailure::TooShort { length: 7 },
            )),
        },
        Scenario {
            name: "18 Agent offline before the flow",
            op: reset,
            inputs: lab_inputs(
                reset,
                with_synced(SYNCED_CLOUD_SYNC, |s| s.agent_healthy = false),
            ),
            completion: None,
        },
        Scenario {
            name: "19 Agent dies mid-request",
            op: reset,
            inputs: lab_inputs(reset, SYNCED_CLOUD_SYNC),
            completion: Some(Completion::OnPremisesFailed(OnPremisesFailure::NoAnswer)),
        },
        Scenario {
            name: "22 Two agents, one down (the survivor is healthy)",
            op: reset,
            inputs: lab_inputs(reset, SYNCED_CLOUD_SYNC),
            completion: Some(Completion::Succeeded),
        },
        Scenario {
            name: "25 Unlock only, setting on",
            op: unlock,
            inputs: lab_inputs(unlock, SYNCED_CLOUD_SYNC),
            completion: Some(Completion::Succeeded),
        },
        Scenario {
            name: "25 Unlock only, setting off",
            op: unlock,
            inputs: Inputs {
                settings: Settings {
                    unlock_without_reset: false,
                    ..Settings::DEPLOYED
                },
                ..lab_inputs(unlock, SYNCED_CLOUD_SYNC)
            },
            completion: None,
        },
        Scenario {
            name: "35 Admin reset via Graph",
            op: Operation::GraphResetPassword,
            inputs: lab_inputs(Operation::GraphResetPassword, SYNCED_CLOUD_SYNC),
            completion: Some(Completion::Succeeded),
        },
        Scenario {
            name: "36 PATCH passwordProfile of a synced user",
            op: Operation::GraphPatchPasswordProfile,
            inputs: lab_inputs(Operation::GraphPatchPasswordProfile, SYNCED_CLOUD_SYNC),
            completion: None,
        },
        Scenario {
            name: "37 OnPremisesSuccessCloudFailure",
            op: reset,
            inputs: Inputs {
                settings: Settings {
                    enforce_cloud_policy_for_synced: true,
                    ..Settings::DEPLOYED
                },
                ..lab_inputs(reset, SYNCED_CLOUD_SYNC)
            },
            completion: Some(Completion::CloudWriteFailed),
        },
        Scenario {
            name: "38 Throttled",
            op: reset,
            inputs: Inputs {
                throttled: true,
                ..lab_inputs(reset, SYNCED_CLOUD_SYNC)
            },
            completion: None,
        },
        Scenario {
            name: "39 Writeback toggled off",
            op: reset,
            inputs: Inputs {
                settings: Settings {
                    writeback_for_synced: false,
                    ..Settings::DEPLOYED
                },
                ..lab_inputs(reset, SYNCED_CLOUD_SYNC)
            },
            completion: None,
        },
    ]
}

impl Scenario {
    /// The scenario's decision: the completion's if it has one, else the start's.
    pub fn decision(&self) -> Decision {
        match self.completion {
            Some(completion) => conclude(self.op, &self.inputs, completion)
                .expect("a catalogue scenario's completion follows its start"),
            None => decide(self.op, &self.inputs),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

fn route_label(route: Route) -> &'static str {
    match route {
        Route::CloudUser => "cloud",
        Route::WriteBack => "write back",
        Route::CloudOnly => "cloud only (split)",
    }
}

fn synced_label(row: &OperationRow) -> &'static str {
    match (row.synced, row.channel) {
        (SyncedPath::WriteBack, Channel::AdminTool) => "write back (admin target: cloud only)",
        (SyncedPath::WriteBack, _) => "write back",
        (SyncedPath::CloudOnly, _) => "cloud only (split)",
        (SyncedPath::Refused, _) => "refused (400)",
    }
}

fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::SsprPortal => "SSPR portal",
        Channel::PasswordChange => "password change",
        Channel::UserApi => "user's PowerShell/Graph",
        Channel::AdminTool => "admin tool",
    }
}

fn checks_label(checks: PasswordChecks) -> &'static str {
    match checks {
        PasswordChecks::None => "none",
        PasswordChecks::Full => "full cloud policy",
        PasswordChecks::BannedThenWriteback {
            composition_after: false,
        } => "banned, then AD",
        PasswordChecks::BannedThenWriteback {
            composition_after: true,
        } => "banned, then AD, then cloud rules",
    }
}

/// One grid cell: the route, or the user code (or reason) of the refusal.
fn cell(decision: &Decision) -> String {
    match decision.cloud_result {
        CloudResult::Allowed(route) => route_label(route).to_owned(),
        CloudResult::Refused(refusal) => match refusal.user_code() {
            Some(code) => code.as_str().to_owned(),
            None => format!("✗ {}", refusal.reason()),
        },
        CloudResult::FailedOnPremises(failure) => format!("✗ {}", failure.reason()),
    }
}

fn audit_label(audit: &AuditRow) -> String {
    let mut text = format!("{} / {}", audit.activity.as_str(), audit.result.as_str());
    if let Some(reason) = audit.reason {
        let _ = write!(text, " / {reason}");
    }
    if let Some(agent) = audit.on_premises_agent {
        let _ = write!(text, " / OnPremisesAgent={}", agent.as_str());
    }
    text
}

fn result_label(decision: &Decision) -> String {
    match decision.cloud_result {
        CloudResult::Allowed(route) => format!("allowed: {}", route_label(route)),
        CloudResult::Refused(refusal) => format!("refused: {}", refusal.reason()),
        CloudResult::FailedOnPremises(failure) => {
            format!("failed on-premises: {}", failure.reason())
        }
    }
}

fn tick(yes: bool) -> &'static str {
    if yes { "yes" } else { "no" }
}

/// The decision table as Markdown, as checked in at `docs/decision-table.md`.
pub fn render_markdown() -> String {
    let mut md = String::new();
    let out = &mut md;
    let _ = writeln!(
        out,
        "# Decision table: password operations of the fake tenant\n"
    );
    let _ = writeln!(
        out,
        "Generated from `fake-cloud/src/decision.rs` by `render_markdown()`; do not edit by hand.\n\
         Regenerate with `UPDATE_DOCS=1 cargo test -q -p fake-cloud decision_table_doc`.\n"
    );
    let _ = writeln!(
        out,
        "Sources: `reference/facts.md` §1.1, §1.4, §5.1–§5.5, the catalogue, and the Microsoft Learn \
         pages named in the code. UNCONFIRMED marks a choice of the lab where the product publishes \
         nothing.\n"
    );

    let _ = writeln!(out, "## Operations\n");
    let _ = writeln!(
        out,
        "| Operation | Starts in | Synced user | Cloud-only user | Audit activity | Source |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for row in &OPERATIONS {
        let cloud = match row.cloud_user {
            CloudUserPath::Changes => "cloud",
            CloudUserPath::NotOffered => "not offered",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            row.label,
            channel_label(row.channel),
            synced_label(row),
            cloud,
            row.activity.as_str(),
            row.source
        );
    }

    let _ = writeln!(
        out,
        "\n## The tutorial's supported and unsupported rows (facts §5.2)\n"
    );
    let _ = writeln!(
        out,
        "| Row | Written back (tutorial) | Operation | Lab result (cloud sync user) |"
    );
    let _ = writeln!(out, "|---|---|---|---|");
    for row in &TUTORIAL_ROWS {
        let decision = decide(row.op, &tutorial_inputs(row));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            row.text,
            tick(row.written_back),
            row.op.row().label,
            result_label(&decision)
        );
    }

    let _ = writeln!(
        out,
        "\n## Checks, in the product's order (the first refusal wins)\n"
    );
    let _ = writeln!(
        out,
        "| # | Check | Refuses when | Refusal → user code, audit reason | Source |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    for (i, check) in CHECKS.iter().enumerate() {
        let refusals: Vec<String> = check
            .refusals
            .iter()
            .map(|r| {
                let code = r.user_code().map_or("no code", UserCode::as_str);
                format!("{} → {code}, {}", refusal_label(*r), r.reason())
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            i + 1,
            check.name,
            check.refuses_when,
            refusals.join("; "),
            check.source
        );
    }
    let _ = writeln!(
        out,
        "\nA refused SSPR-portal start is audited as \"{}\" / failure (UNCONFIRMED); a throttled user \
         as \"{}\" / success with no reason; other refusals under the operation's own activity. \
         \"{}\" rows always carry `OnPremisesAgent`.",
        Activity::FlowActivityProgress.as_str(),
        Activity::Blocked.as_str(),
        Activity::ResetByAdmin.as_str()
    );

    let _ = writeln!(out, "\n## Routes and the cloud password checks\n");
    let _ = writeln!(out, "| Route | Password checks | Meaning |");
    let _ = writeln!(out, "|---|---|---|");
    let _ = writeln!(
        out,
        "| cloud | full cloud policy | a cloud-only user's password changes in the cloud |"
    );
    let _ = writeln!(
        out,
        "| write back | banned, then AD (then cloud rules with EnforceCloudPasswordPolicyForPasswordSyncedUsers) | \
         sent to an agent of the user's domain; AD's policy decides; the cloud copy follows (unlock only: no password) |"
    );
    let _ = writeln!(
        out,
        "| cloud only (split) | full cloud policy | a synced user's cloud password changes, on-premises keeps the old one |"
    );

    let _ = writeln!(out, "\n## Who may reset whom\n");
    let _ = writeln!(
        out,
        "From \"Who can reset passwords\" (privileged-roles-permissions); a caller needs one role that \
         reaches every role of the target. The Hybrid Identity Administrator target row is inferred \
         (UNCONFIRMED).\n"
    );
    let _ = write!(out, "| Target's role |");
    for resetter in Role::ALL {
        let _ = write!(out, " {} |", resetter.name());
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "|---|{}", "---|".repeat(Role::ALL.len()));
    for (target_role, _) in &RESET_RULES {
        let target = target_role.map_or(RoleSet::NONE, RoleSet::only);
        let name = target_role.map_or("(no admin role)", Role::name);
        let _ = write!(out, "| {name} |");
        for resetter in Role::ALL {
            let _ = write!(
                out,
                " {} |",
                if role_may_reset(resetter, target) {
                    "✓"
                } else {
                    ""
                }
            );
        }
        let _ = writeln!(out);
    }

    let _ = writeln!(
        out,
        "\n## Completions (after the cloud allowed the start)\n"
    );
    let _ = writeln!(
        out,
        "| Completion | Result | User code | Audit result / reason |"
    );
    let _ = writeln!(out, "|---|---|---|---|");
    let reset = Operation::SelfServiceReset;
    let base = lab_inputs(reset, SYNCED_CLOUD_SYNC);
    let mut completions = vec![
        ("succeeded".to_owned(), Completion::Succeeded),
        (
            "banned password".to_owned(),
            Completion::CloudPolicyRejected(CloudPolicyFailure::Banned { score: 4 }),
        ),
        (
            "AD accepted, cloud write failed".to_owned(),
            Completion::CloudWriteFailed,
        ),
    ];
    for failure in OnPremisesFailure::ALL {
        let name = match failure.event_id() {
            Some(id) => format!("on-premises {id} {}", failure.reason()),
            None => "no answer before the deadline".to_owned(),
        };
        completions.push((name, Completion::OnPremisesFailed(failure)));
    }
    for (name, completion) in completions {
        let decision =
            conclude(reset, &base, completion).expect("every completion follows a writeback");
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} |",
            result_label(&decision),
            decision.user_code.map_or("—", UserCode::as_str),
            decision.audit.reason.map_or_else(
                || decision.audit.result.as_str().to_owned(),
                |reason| format!("{} / {reason}", decision.audit.result.as_str())
            )
        );
    }
    let _ = writeln!(
        out,
        "\nA cloud policy failure other than the banned-password one happens before storing only on the \
         \"full cloud policy\" routes; on a writeback route it can only happen after AD accepted, and is \
         then \"AD accepted, cloud write failed\"."
    );

    let _ = writeln!(
        out,
        "\n## The grid: every operation in the default lab and its variations\n"
    );
    let _ = writeln!(
        out,
        "Default lab (DESIGN §7): SSPR for all, the three on-premises integration options on, healthy \
         agents; the target is an ordinary user, the caller is the user (self-service) or helpdesk@ \
         (admin tools). Each column changes one thing. Cells: the route (`write back`, `cloud`, \
         `cloud only (split)`), or the user code, or ✗ and the audit reason of a refusal.\n"
    );
    let _ = write!(out, "| Operation |");
    for situation in &SITUATIONS {
        let _ = write!(out, " {} |", situation.name);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "|---|{}", "---|".repeat(SITUATIONS.len()));
    for op in Operation::ALL {
        let _ = write!(out, "| {} |", op.row().label);
        for situation in &SITUATIONS {
            let _ = write!(out, " {} |", cell(&decide(op, &(situation.inputs)(op))));
        }
        let _ = writeln!(out);
    }

    let _ = writeln!(out, "\n## Catalogue scenarios\n");
    let _ = writeln!(
        out,
        "| Scenario | Operation | Result | User code | Writes back | Password checks | Audit |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for scenario in scenarios() {
        let decision = scenario.decision();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            scenario.name,
            scenario.op.row().label,
            result_label(&decision),
            decision.user_code.map_or("—", UserCode::as_str),
            tick(decision.writes_back()),
            checks_label(decide(scenario.op, &scenario.inputs).checks),
            audit_label(&decision.audit)
        );
    }
    md
}

fn refusal_label(refusal: Refusal) -> String {
    match refusal {
        Refusal::WritebackNotEnabled(switch) => format!("WritebackNotEnabled({switch:?})"),
        other => format!("{other:?}"),
    }
}

/// The inputs that stand for a tutorial row: the default lab, a cloud sync user (a Helpdesk
/// admin when the row is about admins), helpdesk@'s Global colleague for admin tools.
pub fn tutorial_inputs(row: &TutorialRow) -> Inputs {
    let target = Target {
        roles: if row.target_is_admin {
            RoleSet::only(Role::Helpdesk)
        } else {
            RoleSet::NONE
        },
        ..SYNCED_CLOUD_SYNC
    };
    let mut inputs = lab_inputs(row.op, target);
    if row.op.row().channel == Channel::AdminTool {
        inputs.caller = if row.own_account {
            Caller::Target
        } else {
            GLOBAL_ADMIN
        };
    }
    inputs
}

// ---------------------------------------------------------------------------------------------
// Tests: generated from the table
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    /// Every combination of the inputs the table reads, for every operation.
    fn grid() -> Vec<(Operation, Inputs)> {
        let scopes = [
            SsprScope::None,
            SsprScope::Group { member: false },
            SsprScope::Group { member: true },
            SsprScope::All,
        ];
        let mut sources = vec![Source::CloudOnly];
        for engine in [
            Engine::CloudSync {
                domain_writeback: true,
            },
            Engine::CloudSync {
                domain_writeback: false,
            },
            Engine::ConnectSync,
        ] {
            for in_scope in [true, false] {
                for agent_healthy in [true, false] {
                    sources.push(Source::Synced(Synced {
                        engine,
                        in_scope,
                        agent_healthy,
                    }));
                }
            }
        }
        let role_sets = [
            RoleSet::NONE,
            RoleSet::only(Role::Helpdesk),
            RoleSet::only(Role::Password),
            RoleSet::only(Role::Global),
        ];
        let mut callers = vec![Caller::Target];
        callers.extend(role_sets.iter().map(|&r| Caller::Other(r)));
        callers.push(Caller::Other(RoleSet::only(Role::HybridIdentity)));
        callers.push(Caller::Other(RoleSet::only(Role::PrivilegedAuthentication)));
        let bools = [false, true];

        let mut all = Vec::new();
        for op in Operation::ALL {
            for sspr in scopes {
                for bits in 0u8..32 {
                    let bit = |n: u8| bits & (1 << n) != 0;
                    let settings = Settings {
                        sspr,
                        admin_sspr: bit(0),
                        writeback_for_synced: bit(1),
                        writeback_with_cloud_sync: bit(2),
                        unlock_without_reset: bit(3),
                        enforce_cloud_policy_for_synced: bit(4),
                    };
                    for &source in &sources {
                        for &roles in &role_sets {
                            for &caller in &callers {
                                for throttled in bools {
                                    all.push((
                                        op,
                                        Inputs {
                                            settings,
                                            target: Target { roles, source },
                                            caller,
                                            throttled,
                                        },
                                    ));
                                }
                            }
                        }
                    }
                }
            }
        }
        all
    }

    fn writeback_switches_on(inputs: &Inputs, synced: &Synced) -> bool {
        let settings = &inputs.settings;
        settings.writeback_for_synced
            && synced.in_scope
            && match synced.engine {
                Engine::CloudSync { domain_writeback } => {
                    settings.writeback_with_cloud_sync && domain_writeback
                }
                Engine::ConnectSync => true,
            }
    }

    #[test]
    fn tables_are_indexed_and_complete() {
        for (i, op) in Operation::ALL.into_iter().enumerate() {
            assert_eq!(OPERATIONS[i].op, op);
            assert_eq!(op.row().op, op);
        }
        for role in Role::ALL {
            assert!(
                RESET_RULES.iter().any(|(r, _)| *r == Some(role)),
                "{role:?} has a target row"
            );
        }
        for code in UserCode::ALL {
            assert!(!code.as_str().is_empty());
            if let Some(number) = code.number() {
                assert_eq!(code.as_str(), format!("SSPR_{number:04}"));
            }
        }
    }

    #[test]
    fn invariants_over_the_grid() {
        let grid = grid();
        assert!(grid.len() > 100_000, "{} rows", grid.len());
        for (op, inputs) in &grid {
            let row = op.row();
            let d = decide(*op, inputs);

            // Writeback never happens for cloud-only users, nor for unsupported operations.
            if inputs.target.source == Source::CloudOnly || row.synced != SyncedPath::WriteBack {
                assert!(!d.writes_back(), "{op:?} {inputs:?} → {d:?}");
            }
            // A writeback needs every switch on and a healthy agent, and never an admin tool on an
            // admin target.
            if d.writes_back() {
                let Source::Synced(synced) = inputs.target.source else {
                    panic!("{op:?} {inputs:?} → {d:?}")
                };
                assert!(
                    writeback_switches_on(inputs, &synced) && synced.agent_healthy,
                    "{op:?} {inputs:?} → {d:?}"
                );
                assert!(
                    row.channel != Channel::AdminTool || inputs.target.roles.is_empty(),
                    "{op:?} {inputs:?} → {d:?}"
                );
                assert!(
                    matches!(d.checks, PasswordChecks::BannedThenWriteback { .. })
                        || *op == Operation::SelfServiceUnlockOnly,
                    "{op:?} {inputs:?} → {d:?}"
                );
            }
            // SSPR_0010 only for synced users with a switch off; SSPR_0030 only without an agent.
            if d.user_code == Some(UserCode::WritebackNotEnabled) {
                let Source::Synced(synced) = inputs.target.source else {
                    panic!("{op:?} {inputs:?} → {d:?}")
                };
                assert!(
                    !writeback_switches_on(inputs, &synced),
                    "{op:?} {inputs:?} → {d:?}"
                );
            }
            if d.user_code == Some(UserCode::OnPremisesConnectivityError) {
                let Source::Synced(synced) = inputs.target.source else {
                    panic!("{op:?} {inputs:?} → {d:?}")
                };
                assert!(
                    writeback_switches_on(inputs, &synced) && !synced.agent_healthy,
                    "{op:?} {inputs:?} → {d:?}"
                );
            }
            // Audit: a refusal fails (a throttled user's "Blocked" row is the product's success);
            // an allowed start succeeds and shows the user no code.
            match d.cloud_result {
                CloudResult::Refused(Refusal::Throttled) => {
                    assert_eq!(
                        d.audit.activity,
                        Activity::Blocked,
                        "{op:?} {inputs:?} → {d:?}"
                    );
                    assert_eq!(
                        d.audit.result,
                        AuditResult::Success,
                        "{op:?} {inputs:?} → {d:?}"
                    );
                }
                CloudResult::Refused(refusal) => {
                    assert_eq!(
                        d.audit.result,
                        AuditResult::Failure,
                        "{op:?} {inputs:?} → {d:?}"
                    );
                    assert_eq!(
                        d.audit.reason,
                        Some(refusal.reason()),
                        "{op:?} {inputs:?} → {d:?}"
                    );
                    assert_eq!(
                        d.user_code,
                        refusal.user_code(),
                        "{op:?} {inputs:?} → {d:?}"
                    );
                    assert_eq!(d.checks, PasswordChecks::None, "{op:?} {inputs:?} → {d:?}");
                }
                CloudResult::Allowed(_) => {
                    assert_eq!(
                        d.audit.result,
                        AuditResult::Success,
                        "{op:?} {inputs:?} → {d:?}"
                    );
                    assert_eq!(d.audit.activity, row.activity, "{op:?} {inputs:?} → {d:?}");
                    assert_eq!(d.user_code, None, "{op:?} {inputs:?} → {d:?}");
                }
                CloudResult::FailedOnPremises(_) => {
                    panic!("a start never fails on-premises: {op:?} {inputs:?}")
                }
            }
            // "Reset password (by admin)" rows carry OnPremisesAgent, naming the engine that wrote.
            assert_eq!(
                d.audit.on_premises_agent.is_some(),
                d.audit.activity == Activity::ResetByAdmin,
                "{op:?} {inputs:?} → {d:?}"
            );
            if d.audit.activity == Activity::ResetByAdmin {
                let expected = match (d.cloud_result, inputs.target.source) {
                    (CloudResult::Allowed(Route::WriteBack), Source::Synced(s)) => match s.engine {
                        Engine::CloudSync { .. } => OnPremisesAgent::CloudSync,
                        Engine::ConnectSync => OnPremisesAgent::EntraConnect,
                    },
                    _ => OnPremisesAgent::None,
                };
                assert_eq!(
                    d.audit.on_premises_agent,
                    Some(expected),
                    "{op:?} {inputs:?} → {d:?}"
                );
            }
            // Only a synced user's cloud password can split from on-premises.
            if d.cloud_only_change() {
                assert!(
                    matches!(inputs.target.source, Source::Synced(_)),
                    "{op:?} {inputs:?} → {d:?}"
                );
                assert!(
                    row.synced == SyncedPath::CloudOnly
                        || (row.channel == Channel::AdminTool && !inputs.target.roles.is_empty()),
                    "{op:?} {inputs:?} → {d:?}"
                );
            }
            // Admin tools never act on the caller's own account; self-service only on one's own.
            match (row.channel, inputs.caller) {
                (Channel::AdminTool, Caller::Target) => {
                    assert_eq!(
                        d.refusal(),
                        Some(Refusal::OwnAccount),
                        "{op:?} {inputs:?} → {d:?}"
                    )
                }
                (Channel::AdminTool, Caller::Other(roles))
                    if !may_reset(roles, inputs.target.roles) =>
                {
                    assert_eq!(
                        d.refusal(),
                        Some(Refusal::InsufficientRole),
                        "{op:?} {inputs:?} → {d:?}"
                    )
                }
                (Channel::AdminTool, _) => {}
                (_, Caller::Other(_)) => assert_eq!(
                    d.refusal(),
                    Some(Refusal::NotTheUser),
                    "{op:?} {inputs:?} → {d:?}"
                ),
                (_, Caller::Target) => {}
            }
        }
    }

    #[test]
    fn order_writeback_then_agent_before_any_gate() {
        for (op, inputs) in grid() {
            let Source::Synced(synced) = inputs.target.source else {
                continue;
            };
            let start = decide(op, &inputs);
            // Whenever a start would write back, turning any switch off gives SSPR_0010, and
            // losing the agent gives SSPR_0030 — even when throttled or without the unlock option.
            if start.writes_back() {
                let offs: [fn(&mut Inputs); 4] = [
                    |i| i.settings.writeback_for_synced = false,
                    |i| i.settings.writeback_with_cloud_sync = false,
                    |i| {
                        if let Source::Synced(s) = &mut i.target.source {
                            s.in_scope = false;
                            s.agent_healthy = false;
                        }
                    },
                    |i| {
                        if let Source::Synced(s) = &mut i.target.source {
                            s.engine = match s.engine {
                                Engine::CloudSync { .. } => Engine::CloudSync {
                                    domain_writeback: false,
                                },
                                Engine::ConnectSync => Engine::ConnectSync,
                            };
                            s.agent_healthy = false;
                        }
                    },
                ];
                for off in offs {
                    let mut changed = inputs;
                    off(&mut changed);
                    changed.throttled = true;
                    changed.settings.unlock_without_reset = false;
                    let Source::Synced(s) = changed.target.source else {
                        unreachable!()
                    };
                    if !writeback_switches_on(&changed, &s) {
                        assert_eq!(
                            decide(op, &changed).user_code,
                            Some(UserCode::WritebackNotEnabled),
                            "{op:?} {changed:?}"
                        );
                    }
                }
                let mut no_agent = inputs;
                no_agent.target.source = Source::Synced(Synced {
                    agent_healthy: false,
                    ..synced
                });
                no_agent.throttled = true;
                no_agent.settings.unlock_without_reset = false;
                assert_eq!(
                    decide(op, &no_agent).user_code,
                    Some(UserCode::OnPremisesConnectivityError),
                    "{op:?} {no_agent:?}"
                );
            }
        }
    }

    #[test]
    fn completions_follow_only_their_starts() {
        let mut completions = vec![
            Completion::Succeeded,
            Completion::CloudWriteFailed,
            Completion::CloudPolicyRejected(CloudPolicyFailure::Banned { score: 3 }),
            Completion::CloudPolicyRejected(CloudPolicyFailure::TooShort { length: 7 }),
        ];
        completions.extend(OnPremisesFailure::ALL.map(Completion::OnPremisesFailed));
        for (op, inputs) in grid().into_iter().step_by(7) {
            let start = decide(op, &inputs);
            for completion in &completions {
                let end = conclude(op, &inputs, *completion);
                let Some(end) = end else {
                    // Inapplicable: a refused start, an on-premises outcome without writeback, or
                    // a password check the route does not run first.
                    let applicable = start.allowed()
                        && match completion {
                            Completion::Succeeded => true,
                            Completion::CloudWriteFailed | Completion::OnPremisesFailed(_) => {
                                start.writes_back()
                            }
                            Completion::CloudPolicyRejected(f) => match start.checks {
                                PasswordChecks::Full => true,
                                PasswordChecks::BannedThenWriteback { .. } => f.is_banned(),
                                PasswordChecks::None => false,
                            },
                        };
                    assert!(!applicable, "{op:?} {inputs:?} {completion:?} → {end:?}");
                    continue;
                };
                assert_eq!(
                    end.audit.activity,
                    op.row().activity,
                    "{op:?} {inputs:?} {completion:?} → {end:?}"
                );
                match completion {
                    Completion::Succeeded => {
                        assert_eq!(end, start, "{op:?} {inputs:?} {completion:?} → {end:?}")
                    }
                    Completion::CloudWriteFailed => {
                        assert!(
                            end.writes_back() && end.allowed(),
                            "{op:?} {inputs:?} {completion:?} → {end:?}"
                        );
                        assert_eq!(
                            end.audit.result,
                            AuditResult::Success,
                            "{op:?} {inputs:?} {completion:?} → {end:?}"
                        );
                        assert_eq!(
                            end.audit.reason,
                            Some("OnPremisesSuccessCloudFailure"),
                            "{op:?} {inputs:?} {completion:?} → {end:?}"
                        );
                        assert_eq!(
                            end.user_code,
                            Some(UserCode::OnPremisesSuccessCloudFailure),
                            "{op:?} {inputs:?} {completion:?} → {end:?}"
                        );
                    }
                    Completion::OnPremisesFailed(f) => {
                        assert_eq!(
                            end.cloud_result,
                            CloudResult::FailedOnPremises(*f),
                            "{op:?} {inputs:?} {completion:?} → {end:?}"
                        );
                        assert_eq!(
                            end.audit.result,
                            AuditResult::Failure,
                            "{op:?} {inputs:?} {completion:?} → {end:?}"
                        );
                        assert_eq!(
                            end.user_code,
                            f.user_code(),
                            "{op:?} {inputs:?} {completion:?} → {end:?}"
                        );
                    }
                    Completion::CloudPolicyRejected(f) => {
                        assert_eq!(
                            end.refusal(),
                            Some(Refusal::CloudPolicy(*f)),
                            "{op:?} {inputs:?} {completion:?} → {end:?}"
                        );
                        assert!(
                            !end.writes_back(),
                            "{op:?} {inputs:?} {completion:?} → {end:?}"
                        );
                        assert_eq!(
                            end.audit.result,
                            AuditResult::Failure,
                            "{op:?} {inputs:?} {completion:?} → {end:?}"
                        );
                        assert_eq!(
                            end.audit.reason,
                            Some(f.reason()),
                            "{op:?} {inputs:?} {completion:?} → {end:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn tutorial_rows() {
        for row in &TUTORIAL_ROWS {
            let d = decide(row.op, &tutorial_inputs(row));
            assert_eq!(d.writes_back(), row.written_back, "{}: {d:?}", row.text);
            if !row.written_back {
                // The product still changes the cloud password, except on one's own account.
                assert_eq!(
                    d.cloud_only_change(),
                    !row.own_account,
                    "{}: {d:?}",
                    row.text
                );
            }
        }
        let ops: std::collections::BTreeSet<Operation> =
            TUTORIAL_ROWS.iter().map(|r| r.op).collect();
        for op in Operation::ALL {
            assert!(
                ops.contains(&op)
                    || matches!(
                        op,
                        Operation::SelfServiceUnlockAndReset
                            | Operation::SelfServiceUnlockOnly
                            | Operation::MyStaffReset
                            | Operation::GraphPatchPasswordProfile
                    ),
                "{op:?} stands for no tutorial row"
            );
        }
    }

    #[test]
    fn catalogue_scenarios() {
        let by_name = |prefix: &str| {
            scenarios()
                .into_iter()
                .find(|s| s.name.starts_with(prefix))
                .unwrap_or_else(|| panic!("scenario {prefix}"))
                .decision()
        };

        let s8 = by_name("8 ");
        assert_eq!(
            s8.refusal(),
            Some(Refusal::CloudPolicy(CloudPolicyFailure::Banned {
                score: 4
            }))
        );
        assert_eq!(s8.audit.reason, Some("FuzzyPolicyViolationInvalidPassword"));
        assert_eq!(s8.audit.activity, Activity::ResetSelfService);
        assert_eq!(s8.user_code, Some(UserCode::FuzzyPolicy));
        assert!(!s8.writes_back());

        let s9 = by_name("9 ");
        assert_eq!(
            s9.refusal(),
            Some(Refusal::CloudPolicy(CloudPolicyFailure::TooShort {
                length: 7
            }))
        );

        let s18 = by_name("18 ");
        assert_eq!(s18.user_code, Some(UserCode::OnPremisesConnectivityError));
        assert_eq!(s18.audit.activity, Activity::FlowActivityProgress);
        assert_eq!(s18.audit.result, AuditResult::Failure);
        assert!(!s18.writes_back());

        let s19 = by_name("19 ");
        assert_eq!(s19.user_code, Some(UserCode::OnPremisesConnectivityError));
        assert!(s19.writes_back());

        assert_eq!(
            by_name("22 ").cloud_result,
            CloudResult::Allowed(Route::WriteBack)
        );

        let s25 = by_name("25 Unlock only, setting on");
        assert!(s25.writes_back());
        assert_eq!(s25.audit.activity, Activity::UnlockSelfService);
        assert_eq!(s25.checks, PasswordChecks::None);
        let s25_off = by_name("25 Unlock only, setting off");
        assert_eq!(s25_off.refusal(), Some(Refusal::UnlockWithoutResetOff));
        assert_eq!(s25_off.user_code, None);

        let s35 = by_name("35 ");
        assert!(s35.writes_back());
        assert_eq!(s35.audit.activity, Activity::ResetByAdmin);
        assert_eq!(s35.audit.result, AuditResult::Success);
        assert_eq!(
            s35.audit.on_premises_agent,
            Some(OnPremisesAgent::CloudSync)
        );

        let s36 = by_name("36 ");
        assert_eq!(s36.refusal(), Some(Refusal::OnPremisesMastered));
        assert!(!s36.writes_back());
        assert_eq!(s36.audit.result, AuditResult::Failure);

        let s37 = by_name("37 ");
        assert_eq!(s37.user_code, Some(UserCode::OnPremisesSuccessCloudFailure));
        assert_eq!(s37.audit.result, AuditResult::Success);
        assert_eq!(s37.audit.reason, Some("OnPremisesSuccessCloudFailure"));
        let s37_start = scenarios()
            .into_iter()
            .find(|s| s.name.starts_with("37 "))
            .map(|s| decide(s.op, &s.inputs))
            .expect("scenario 37");
        assert_eq!(
            s37_start.checks,
            PasswordChecks::BannedThenWriteback {
                composition_after: true
            }
        );

        let s38 = by_name("38 ");
        assert_eq!(s38.audit.activity, Activity::Blocked);

        let s39 = by_name("39 ");
        assert_eq!(s39.user_code, Some(UserCode::WritebackNotEnabled));
        assert_eq!(
            s39.refusal(),
            Some(Refusal::WritebackNotEnabled(WritebackSwitch::SyncedUsers))
        );
        assert!(!s39.writes_back());
    }

    #[test]
    fn cleanup_states() {
        let reset = Operation::SelfServiceReset;
        // Clean-up 1: every option off — every synced user gets SSPR_0010, cloud-only users reset.
        for target in [SYNCED_CLOUD_SYNC, SYNCED_CONNECT] {
            let inputs = Inputs {
                settings: Settings::UNDEPLOYED,
                ..lab_inputs(reset, target)
            };
            assert_eq!(
                decide(reset, &inputs).user_code,
                Some(UserCode::WritebackNotEnabled)
            );
        }
        let cloud = Inputs {
            settings: Settings::UNDEPLOYED,
            ..lab_inputs(reset, CLOUD_ONLY)
        };
        assert_eq!(
            decide(reset, &cloud).cloud_result,
            CloudResult::Allowed(Route::CloudUser)
        );
        // Clean-up 2: cloud sync off, Connect keeps writing back.
        let cloud_sync = Inputs {
            settings: Settings::CLOUD_SYNC_REMOVED,
            ..lab_inputs(reset, SYNCED_CLOUD_SYNC)
        };
        assert_eq!(
            decide(reset, &cloud_sync).refusal(),
            Some(Refusal::WritebackNotEnabled(WritebackSwitch::CloudSync))
        );
        let connect = Inputs {
            settings: Settings::CLOUD_SYNC_REMOVED,
            ..lab_inputs(reset, SYNCED_CONNECT)
        };
        assert!(decide(reset, &connect).writes_back());
    }

    #[test]
    fn who_may_reset_whom() {
        use Role::*;
        let cases: &[(Role, RoleSet, bool)] = &[
            (Helpdesk, RoleSet::NONE, true),
            (Helpdesk, RoleSet::only(Helpdesk), true),
            (Helpdesk, RoleSet::only(Password), true),
            (Password, RoleSet::only(Helpdesk), false),
            (Password, RoleSet::only(Password), true),
            (Helpdesk, RoleSet::only(Global), false),
            (Helpdesk, RoleSet::only(Authentication), false),
            (Authentication, RoleSet::only(Authentication), true),
            (User, RoleSet::only(Helpdesk), true),
            (User, RoleSet::only(Authentication), false),
            (PrivilegedAuthentication, RoleSet::only(Global), true),
            (Global, RoleSet::only(Global).with(Helpdesk), true),
            (Helpdesk, RoleSet::only(Helpdesk).with(Global), false),
            (HybridIdentity, RoleSet::NONE, false),
            (Helpdesk, RoleSet::only(HybridIdentity), false),
            (
                PrivilegedAuthentication,
                RoleSet::only(HybridIdentity),
                true,
            ),
        ];
        for &(resetter, target, expected) in cases {
            assert_eq!(
                role_may_reset(resetter, target),
                expected,
                "{resetter:?} → {target:?}"
            );
        }
        assert!(may_reset(
            RoleSet::only(Password).with(Helpdesk),
            RoleSet::only(Helpdesk)
        ));
        assert!(!may_reset(RoleSet::NONE, RoleSet::NONE));
        assert_eq!(
            RoleSet::from_iter([Helpdesk, Global]),
            RoleSet::only(Global).with(Helpdesk)
        );
        assert_eq!(
            RoleSet::only(Global)
                .with(Helpdesk)
                .iter()
                .collect::<Vec<_>>(),
            vec![Helpdesk, Global]
        );
    }

    #[test]
    fn exact_strings() {
        assert_eq!(UserCode::WritebackNotEnabled.as_str(), "SSPR_0010");
        assert_eq!(
            UserCode::OnPremisesAdminActionRequired.as_str(),
            "SSPR_0029"
        );
        assert_eq!(UserCode::OnPremisesConnectivityError.as_str(), "SSPR_0030");
        assert_eq!(
            UserCode::OnPremisesConnectivityError.name(),
            Some("OnPremisesConnectivityError")
        );
        assert_eq!(
            UserCode::OnPremisesSuccessCloudFailure.as_str(),
            "OnPremisesSuccessCloudFailure"
        );
        assert_eq!(
            Activity::ResetSelfService.as_str(),
            "Reset password (self-service)"
        );
        assert_eq!(Activity::ResetByAdmin.as_str(), "Reset password (by admin)");
        assert_eq!(
            Activity::UnlockSelfService.as_str(),
            "Unlock user account (self-service)"
        );
        assert_eq!(
            Activity::Blocked.as_str(),
            "Blocked from self-service password reset"
        );
        assert_eq!(
            OnPremisesAgent::EntraConnect.as_str(),
            "Microsoft Entra Connect"
        );
    }

    /// The checked-in `docs/decision-table.md` is what `render_markdown` renders.
    #[test]
    fn decision_table_doc() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/decision-table.md");
        let rendered = render_markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, &rendered).expect("write docs/decision-table.md");
        }
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == rendered,
            "docs/decision-table.md is out of date with fake-cloud/src/decision.rs; regenerate it with \
             `UPDATE_DOCS=1 cargo test -q -p fake-cloud decision_table_doc`"
        );
    }
}
