//! Request and response bodies of every relay route, the job and its result, and the outcome
//! tables (agent event IDs, user-facing codes).
//!
//! JSON field names are snake_case and stable within [`crate::routes::PROTOCOL_VERSION`]. Request
//! bodies deny unknown fields, so a mistyped or newer field gets a 400 that names it instead of
//! being dropped; responses accept unknown fields, so the cloud may add optional ones. Optional
//! fields are left out when empty.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::seal::{AgentKey, SealError, Sealed, Secrets};

/// The most jobs one poll may ask for ([`PollRequest::max_jobs`]).
pub const MAX_POLL_JOBS: u32 = 64;
/// The longest one poll may wait for a job, in ms of lab time ([`PollRequest::wait_ms`]).
pub const MAX_POLL_WAIT_MS: u64 = 30_000;
/// The wait an agent uses when it has no reason to choose another, in ms.
pub const DEFAULT_POLL_WAIT_MS: u64 = 25_000;
/// How long (lab ms) after an offer the cloud waits for its ack before it offers the job again,
/// even when the connection that carried the offer stays open.
pub const ACK_TIMEOUT_MS: u64 = 10_000;
/// The most hops one [`JobResult::timings`] may list.
pub const MAX_HOPS: usize = 32;
/// The longest [`OnPremError::diagnostic`], in bytes.
pub const MAX_DIAGNOSTIC_BYTES: usize = 4096;

/// A request or value that breaks the contract: which field, and what is wrong with it. Never
/// quotes a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct Invalid {
    /// The JSON field (or header) at fault, e.g. `max_jobs`.
    pub field: &'static str,
    /// What is wrong with it, in a few words.
    pub problem: &'static str,
}

fn invalid(field: &'static str, problem: &'static str) -> Invalid {
    Invalid { field, problem }
}

/// Which synchronisation engine an agent belongs to; the same spelling as the ready file's
/// `engine` (DESIGN §8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    /// Entra Connect cloud sync's lightweight provisioning agent (`cloud-sync`).
    CloudSync,
    /// Entra Connect Sync's password writeback (`connect-sync`).
    ConnectSync,
}

impl Engine {
    /// The JSON spelling, `cloud-sync` or `connect-sync`.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::CloudSync => "cloud-sync",
            Engine::ConnectSync => "connect-sync",
        }
    }
}

/// A job's id, minted by the cloud: 1 to 64 characters of `A-Z a-z 0-9 - _`, so it fits a URL
/// path segment, the HKDF info and the agent's job-id LDAP control without escaping.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JobId(String);

impl JobId {
    /// Checks `id` against the job-id alphabet and length.
    pub fn new(id: impl Into<String>) -> Result<Self, Invalid> {
        let id = id.into();
        if id.is_empty() || id.len() > 64 {
            return Err(invalid("job_id", "must be 1 to 64 characters"));
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid("job_id", "may hold only A-Z a-z 0-9 - _"));
        }
        Ok(Self(id))
    }

    /// The id of a UUID, hyphenated lower case (how the cloud mints them from its stream).
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id.hyphenated().to_string())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for JobId {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Invalid> {
        Self::new(s)
    }
}

impl From<JobId> for String {
    fn from(id: JobId) -> String {
        id.0
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

// ---------------------------------------------------------------------------------------------
// PUT /relay/v1/domains/{domain}/writeback

/// Body of [`crate::routes::SET_WRITEBACK`]: turns the domain's cloud sync writeback flag on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetWritebackRequest {
    /// The new value of the flag.
    pub enabled: bool,
}

/// Answer of [`crate::routes::SET_WRITEBACK`]: the flag as it now stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WritebackState {
    /// The domain's DNS name, lower case.
    pub domain: String,
    /// Whether cloud sync writes passwords back for this domain.
    pub enabled: bool,
}

// ---------------------------------------------------------------------------------------------
// POST /relay/v1/agents

/// Body of [`crate::routes::REGISTER_AGENT`]: the agent that asks to be registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// The DNS name of the on-premises domain the agent writes to, e.g. `contoso.lab`.
    pub domain: String,
    /// The agent's engine; must be the engine that owns the domain's users.
    pub engine: Engine,
    /// The agent's version, free text of 1 to 64 printable ASCII characters (e.g. `0.1.0`).
    pub version: String,
    /// The agent's X25519 public key, 32 bytes in standard base64 with padding; jobs for this
    /// agent are sealed to it ([`crate::seal`]).
    pub public_key: String,
}

impl RegisterRequest {
    /// Checks every field; on success returns the decoded public key.
    pub fn validate(&self) -> Result<[u8; 32], Invalid> {
        let d = &self.domain;
        if d.is_empty()
            || d.len() > 253
            || !d
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            return Err(invalid("domain", "must be a DNS name"));
        }
        if self.version.is_empty()
            || self.version.len() > 64
            || !self.version.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(invalid(
                "version",
                "must be 1 to 64 printable ASCII characters",
            ));
        }
        crate::seal::decode_public_key(&self.public_key)
    }
}

/// Answer (201) of [`crate::routes::REGISTER_AGENT`]: the new agent's identity. The secret is
/// shown once; the cloud keeps only its [`crate::auth::secret_verifier`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RegisterResponse {
    /// The agent's id, used in its credential and listed in the ready file's `agents`.
    pub agent_id: Uuid,
    /// The agent's secret (base64url, no padding); `Debug` shows `[REDACTED]`.
    #[serde(with = "secret_string")]
    pub secret: secrecy::SecretString,
    /// The domain the agent serves, lower case.
    pub domain: String,
    /// The engine it was registered for.
    pub engine: Engine,
}

impl RegisterResponse {
    /// The credential the agent sends on every agent route.
    pub fn credential(&self) -> crate::auth::AgentCredential {
        crate::auth::AgentCredential {
            agent_id: self.agent_id,
            secret: self.secret.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// POST /relay/v1/poll

/// Body of [`crate::routes::POLL`]: how many jobs the agent can take and how long it will wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollRequest {
    /// The most jobs to hand out in this answer, 1 to [`MAX_POLL_JOBS`].
    pub max_jobs: u32,
    /// How long (lab ms) to hold the request open when no job is waiting, 0 (answer at once) to
    /// [`MAX_POLL_WAIT_MS`].
    pub wait_ms: u64,
}

impl PollRequest {
    /// Checks both bounds.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.max_jobs == 0 || self.max_jobs > MAX_POLL_JOBS {
            return Err(invalid("max_jobs", "must be 1 to 64"));
        }
        if self.wait_ms > MAX_POLL_WAIT_MS {
            return Err(invalid("wait_ms", "must be at most 30000"));
        }
        Ok(())
    }
}

/// Answer of [`crate::routes::POLL`]: the jobs offered to this agent, possibly none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollResponse {
    /// The offered jobs, oldest first, at most `max_jobs`; empty when `wait_ms` ran out.
    pub jobs: Vec<Job>,
    /// The cloud's lab time (unix ms) when it answered, so an agent on another clock can compute a
    /// job's time left as `deadline_ms - now_ms`.
    pub now_ms: u64,
}

// ---------------------------------------------------------------------------------------------
// POST /relay/v1/jobs/{id}/ack

/// Body of [`crate::routes::ACK`]: which offer of the job the agent takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    /// The [`Job::attempt`] as offered; an ack for an older offer than the job's latest is 409.
    pub attempt: u32,
}

/// Answer of [`crate::routes::ACK`]: the job is now this agent's, until its deadline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckResponse {
    /// The acked job.
    pub job_id: JobId,
    /// The acked attempt.
    pub attempt: u32,
    /// The job's deadline (unix ms, lab time): with no result by then it fails as
    /// [`Outcome::DeadlineExceeded`].
    pub deadline_ms: u64,
}

// ---------------------------------------------------------------------------------------------
// POST /relay/v1/jobs/{id}/result

/// Answer of [`crate::routes::RESULT`]: what the cloud recorded for the job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultResponse {
    /// The job.
    pub job_id: JobId,
    /// The job's final outcome as the cloud holds it: the first result posted, or
    /// [`Outcome::DeadlineExceeded`] when the deadline came first.
    pub outcome: Outcome,
    /// True when a result had already been recorded for this job id; this post changed nothing.
    pub duplicate: bool,
    /// True when the job had already failed at its deadline; this result is kept for the audit
    /// trail only.
    pub late: bool,
}

// ---------------------------------------------------------------------------------------------
// Errors

/// The body of every relay error answer (4xx).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayError {
    /// The class of error; fixes the HTTP status ([`ErrorCode::status`]).
    pub code: ErrorCode,
    /// What went wrong, naming the field or the state at fault; never a secret.
    pub message: String,
}

/// The class of a relay error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: malformed JSON, an unknown or missing field, a value out of range, or a path id that
    /// differs from the body's.
    BadRequest,
    /// 401: no credential, or a wrong, expired or unknown one.
    Unauthorized,
    /// 403: a valid caller without the role the route needs.
    Forbidden,
    /// 404: unknown domain or job, or a job never offered to this agent.
    NotFound,
    /// 409: the state forbids it: the key is already registered, the job was offered again or
    /// acked by another agent, or a result came before the ack.
    Conflict,
    /// 410: the job's deadline has passed; it has already failed.
    Gone,
}

impl ErrorCode {
    /// The HTTP status that carries this code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::Gone => 410,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The job

/// What the agent is asked to do. Each kind has the product's start/success/failure event IDs
/// (facts §6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// A self-service reset (forgotten password, SSPR portal): replace unicodePwd; the new
    /// password is sealed. Events 31001/31002/31003.
    Reset,
    /// An administrator's reset of another user (admin center, My Staff, Graph `resetPassword`):
    /// replace unicodePwd; the new password is sealed. Events 31009/31010/31011.
    AdminReset,
    /// A change by the user who knows the old password (voluntary or forced at sign-in): delete
    /// the old unicodePwd and add the new; both are sealed. Events 31006/31007/31008.
    Change,
    /// Unlock only ("allow users to unlock accounts without resetting their password"): write
    /// lockoutTime = 0; nothing is sealed. facts §6.1 lists no unlock events; the lab logs the
    /// reset family (31001/31002/31003).
    Unlock,
}

impl JobKind {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Reset => "reset",
            JobKind::AdminReset => "admin_reset",
            JobKind::Change => "change",
            JobKind::Unlock => "unlock",
        }
    }

    /// The event logged when the agent starts the job: PasswordResetStart 31001,
    /// ChangePasswordStart 31006, ResetUserPasswordByAdminStart 31009 (facts §6.1).
    pub fn start_event_id(self) -> u32 {
        match self {
            JobKind::Reset | JobKind::Unlock => 31001,
            JobKind::Change => 31006,
            JobKind::AdminReset => 31009,
        }
    }

    /// The event logged on success: PasswordResetSuccess 31002, ChangePasswordSuccess 31007,
    /// ResetUserPasswordByAdminSuccess 31010 (facts §6.1).
    pub fn success_event_id(self) -> u32 {
        match self {
            JobKind::Reset | JobKind::Unlock => 31002,
            JobKind::Change => 31007,
            JobKind::AdminReset => 31010,
        }
    }

    /// The event logged on failure, beside the detail event of [`Outcome::detail_event_id`]:
    /// PasswordResetFail 31003, ChangePasswordFail 31008, ResetUserPasswordByAdminFail 31011
    /// (facts §6.1).
    pub fn failure_event_id(self) -> u32 {
        match self {
            JobKind::Reset | JobKind::Unlock => 31003,
            JobKind::Change => 31008,
            JobKind::AdminReset => 31011,
        }
    }

    /// Whether a job of this kind carries [`Job::sealed`] (every kind but unlock).
    pub fn carries_password(self) -> bool {
        self != JobKind::Unlock
    }

    /// Checks opened secrets against the kind: a change needs the old password, the others must
    /// not carry one.
    pub fn check_secrets(self, secrets: &Secrets) -> Result<(), Invalid> {
        match (self, secrets.old_password.is_some()) {
            (JobKind::Change, false) => Err(invalid("old_password", "a change needs it")),
            (JobKind::Reset | JobKind::AdminReset | JobKind::Unlock, true) => {
                Err(invalid("old_password", "only a change carries it"))
            }
            _ => Ok(()),
        }
    }
}

/// The on-premises user a job acts on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    /// The DNS name of the user's domain, lower case.
    pub domain: String,
    /// The user's objectGUID (the cloud's on-premises anchor), in the usual GUID text form. The
    /// binary attribute is the little-endian Windows layout: search with `anchor.to_bytes_le()`.
    pub anchor: Uuid,
    /// The sAMAccountName the cloud last saw, for logs and reports; the anchor decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sam_account_name: Option<String>,
    /// The distinguished name the cloud last saw, for logs and reports; the anchor decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dn: Option<String>,
}

/// One writeback job, as offered to an agent by [`crate::routes::POLL`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The job's id: path of its ack and result, AAD and HKDF info of its sealed secrets, value of
    /// the agent's job-id LDAP control.
    pub id: JobId,
    /// What to do.
    pub kind: JobKind,
    /// Whom to do it to.
    pub target: Target,
    /// The new password (and for a change the old one), sealed to this agent's key under this
    /// job id; absent for [`JobKind::Unlock`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<Sealed>,
    /// Whether to write lockoutTime = 0 too: true for an unlock, and for a reset unless the
    /// user chose reset without unlock (facts §2.3: a reset unlocks by default).
    pub unlock: bool,
    /// Whether to set pwdLastSet = 0 ("must change at next logon", an admin reset's default)
    /// rather than -1 (now).
    pub must_change: bool,
    /// When the cloud stops waiting (unix ms, lab time). An agent starts no write after it; an
    /// acked job without a result by then fails as [`Outcome::DeadlineExceeded`] (SSPR_0030).
    pub deadline_ms: u64,
    /// Which offer this is: 1 on the first, plus one each time the job is offered again.
    pub attempt: u32,
}

impl Job {
    /// Checks that the fields agree with the kind: a sealed blob for every kind but unlock, none
    /// for unlock, which also sets `unlock` and not `must_change`; `attempt` from 1.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.attempt == 0 {
            return Err(invalid("attempt", "counts from 1"));
        }
        match (self.kind.carries_password(), self.sealed.is_some()) {
            (true, false) => return Err(invalid("sealed", "this kind carries a password")),
            (false, true) => return Err(invalid("sealed", "an unlock carries no password")),
            _ => {}
        }
        if self.kind == JobKind::Unlock && (!self.unlock || self.must_change) {
            return Err(invalid(
                "unlock",
                "an unlock sets unlock and not must_change",
            ));
        }
        Ok(())
    }

    /// Opens the job's sealed secrets with the agent's key and checks them against the kind;
    /// `Ok(None)` for an unlock.
    pub fn open(&self, key: &AgentKey) -> Result<Option<Secrets>, SealError> {
        match &self.sealed {
            None => Ok(None),
            Some(sealed) => {
                let secrets = crate::seal::open(key, self.id.as_str(), sealed)?;
                self.kind
                    .check_secrets(&secrets)
                    .map_err(|_| SealError::Payload)?;
                Ok(Some(secrets))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The result

/// How a job ended: success, or the failure class the product distinguishes (facts §6.1
/// 33002–33009 and §7), plus the relay's own failures.
///
/// | outcome | detail event (facts §6.1) | user-facing (facts §5.4) |
/// |---|---|---|
/// | `succeeded` | — (the kind's success event) | success |
/// | `user_not_found` | 33002 ADUserNotFoundError | SSPR_0029 ¹ |
/// | `duplicate_anchor` | 33003 ADMutliMatchError | SSPR_0029 ¹ |
/// | `access_denied` | 33004 ADPermissionsError | SSPR_0029 (catalogue 10, 14) |
/// | `account_disabled` | 33005 ADUserAccountDisabled | SSPR_0029 ¹ |
/// | `locked_out` | 33006 ADUserAccountLockedOut | SSPR_0029 ¹ |
/// | `bad_old_password` | 33007 ADUserIncorrectPassword | incorrect current password ¹ |
/// | `policy_violation` | 33008 ADPasswordPolicyError | "On-premises policy violation" |
/// | `directory_error` | 33001 ADUnKnownError | SSPR_0029 ¹ |
/// | `configuration_error` | 33009 ADConfigurationError | SSPR_0029 ¹ |
/// | `dc_unreachable` | — ² | SSPR_0030 (facts §1.4; catalogue 21) |
/// | `unknown` | 33001 ADUnKnownError | SSPR_0030 ¹ |
/// | `undecryptable` | 32004 DecryptionError | SSPR_0029 ¹ |
/// | `internal` | 32000 UnknownError | SSPR_0029 ¹ |
/// | `deadline_exceeded` | — ² | SSPR_0030 (DESIGN §4) |
///
/// ¹ facts §5.4 gives no code for this failure; the lab's choice: SSPR_0029 (the fix is
/// on-premises) unless the user can retry. ² facts §6.1 has no event for it; only the kind's
/// failure event is logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The directory accepted every write of the job.
    Succeeded,
    /// No user has the anchor (deleted on-premises, out of scope): facts §7.9.
    UserNotFound,
    /// More than one user has the anchor: facts §7.10.
    DuplicateAnchor,
    /// The DC refused for want of rights (rc 50 `00002098`: missing ACE, inheritance disabled,
    /// adminCount=1): facts §3.3, §7.3–7.5.
    AccessDenied,
    /// The account is disabled on-premises: facts §7.11.
    AccountDisabled,
    /// The account is locked on-premises and the job could not unlock it (a change): facts §4.4.
    LockedOut,
    /// The old password of a change is wrong (rc 19 `00000056`): facts §2.4, §7.11.
    BadOldPassword,
    /// The new password fails on-premises policy (rc 53 or 19 with `0000052D`: age, history,
    /// length, complexity, filter): facts §2.4, §7.1–7.2.
    PolicyViolation,
    /// The DC answered with an error none of the classes above covers: facts §6.1 33001.
    DirectoryError,
    /// The agent's own setup is wrong (its service account's bind refused on every DC, no DC
    /// configured): facts §6.1 33009.
    ConfigurationError,
    /// No DC could be reached (connect, TLS, bind or search failed or timed out on every DC)
    /// before any write was sent; nothing changed.
    DcUnreachable,
    /// A Modify was sent and no answer came (timeout or dropped connection): the password may or
    /// may not have changed. Never retried, never reported as success.
    Unknown,
    /// The sealed secrets did not open with the agent's key (key mismatch, tampering): facts
    /// §6.1 32004.
    Undecryptable,
    /// The agent failed for a reason of its own (a bug, resources): facts §6.1 32000.
    Internal,
    /// The job had no result by its deadline (DESIGN §4). Set by the cloud, not sent by an agent.
    DeadlineExceeded,
}

/// What the cloud tells the person, by outcome (facts §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserFacing {
    /// The operation succeeded.
    Success,
    /// SSPR_0029, OnPremisesAdminActionRequired = 29: an on-premises configuration error.
    OnPremisesAdminActionRequired,
    /// SSPR_0030, OnPremisesConnectivityError = 30: no usable connection to on-premises.
    OnPremisesConnectivityError,
    /// "On-premises policy violation": the password does not meet AD's policy (a usage error
    /// with no SSPR code).
    OnPremisesPolicyViolation,
    /// The current password given for a change is wrong (the lab's wording; facts §5.4 has none).
    IncorrectCurrentPassword,
}

impl UserFacing {
    /// The SSPR code shown to the user, e.g. `SSPR_0029`, where there is one.
    pub fn code(self) -> Option<&'static str> {
        match self {
            UserFacing::OnPremisesAdminActionRequired => Some("SSPR_0029"),
            UserFacing::OnPremisesConnectivityError => Some("SSPR_0030"),
            _ => None,
        }
    }

    /// The product's name for it (the enum names of facts §5.4 where there is one).
    pub fn name(self) -> &'static str {
        match self {
            UserFacing::Success => "Success",
            UserFacing::OnPremisesAdminActionRequired => "OnPremisesAdminActionRequired",
            UserFacing::OnPremisesConnectivityError => "OnPremisesConnectivityError",
            UserFacing::OnPremisesPolicyViolation => "OnPremisesPolicyViolation",
            UserFacing::IncorrectCurrentPassword => "IncorrectCurrentPassword",
        }
    }
}

impl Outcome {
    /// Every outcome, in declaration order (for tables and tests).
    pub const ALL: [Outcome; 15] = [
        Outcome::Succeeded,
        Outcome::UserNotFound,
        Outcome::DuplicateAnchor,
        Outcome::AccessDenied,
        Outcome::AccountDisabled,
        Outcome::LockedOut,
        Outcome::BadOldPassword,
        Outcome::PolicyViolation,
        Outcome::DirectoryError,
        Outcome::ConfigurationError,
        Outcome::DcUnreachable,
        Outcome::Unknown,
        Outcome::Undecryptable,
        Outcome::Internal,
        Outcome::DeadlineExceeded,
    ];

    /// The JSON spelling, e.g. `access_denied`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::UserNotFound => "user_not_found",
            Outcome::DuplicateAnchor => "duplicate_anchor",
            Outcome::AccessDenied => "access_denied",
            Outcome::AccountDisabled => "account_disabled",
            Outcome::LockedOut => "locked_out",
            Outcome::BadOldPassword => "bad_old_password",
            Outcome::PolicyViolation => "policy_violation",
            Outcome::DirectoryError => "directory_error",
            Outcome::ConfigurationError => "configuration_error",
            Outcome::DcUnreachable => "dc_unreachable",
            Outcome::Unknown => "unknown",
            Outcome::Undecryptable => "undecryptable",
            Outcome::Internal => "internal",
            Outcome::DeadlineExceeded => "deadline_exceeded",
        }
    }

    /// Whether the job succeeded.
    pub fn is_success(self) -> bool {
        self == Outcome::Succeeded
    }

    /// Whether the directory may have changed although the job is not a success (a Modify with
    /// no answer, or a job acked and never answered): reports must say "in doubt", not "failed".
    pub fn is_in_doubt(self) -> bool {
        matches!(self, Outcome::Unknown | Outcome::DeadlineExceeded)
    }

    /// The agent's detail event for a failure (facts §6.1: 33001–33009, 32000, 32004); `None` for
    /// success and for failures facts §6.1 has no event for.
    pub fn detail_event_id(self) -> Option<u32> {
        match self {
            Outcome::Succeeded | Outcome::DcUnreachable | Outcome::DeadlineExceeded => None,
            Outcome::UserNotFound => Some(33002),
            Outcome::DuplicateAnchor => Some(33003),
            Outcome::AccessDenied => Some(33004),
            Outcome::AccountDisabled => Some(33005),
            Outcome::LockedOut => Some(33006),
            Outcome::BadOldPassword => Some(33007),
            Outcome::PolicyViolation => Some(33008),
            Outcome::DirectoryError | Outcome::Unknown => Some(33001),
            Outcome::ConfigurationError => Some(33009),
            Outcome::Undecryptable => Some(32004),
            Outcome::Internal => Some(32000),
        }
    }

    /// The one event ID a [`JobResult`] reports for a job of `kind`: the kind's success event,
    /// else the detail event, else the kind's failure event.
    pub fn event_id(self, kind: JobKind) -> u32 {
        if self.is_success() {
            kind.success_event_id()
        } else {
            self.detail_event_id()
                .unwrap_or_else(|| kind.failure_event_id())
        }
    }

    /// What the cloud tells the person (see the table on [`Outcome`]).
    pub fn user_facing(self) -> UserFacing {
        match self {
            Outcome::Succeeded => UserFacing::Success,
            Outcome::PolicyViolation => UserFacing::OnPremisesPolicyViolation,
            Outcome::BadOldPassword => UserFacing::IncorrectCurrentPassword,
            Outcome::DcUnreachable | Outcome::Unknown | Outcome::DeadlineExceeded => {
                UserFacing::OnPremisesConnectivityError
            }
            Outcome::UserNotFound
            | Outcome::DuplicateAnchor
            | Outcome::AccessDenied
            | Outcome::AccountDisabled
            | Outcome::LockedOut
            | Outcome::DirectoryError
            | Outcome::ConfigurationError
            | Outcome::Undecryptable
            | Outcome::Internal => UserFacing::OnPremisesAdminActionRequired,
        }
    }

    /// The SSPR code the user sees (`SSPR_0029`, `SSPR_0030`), where there is one.
    pub fn sspr_code(self) -> Option<&'static str> {
        self.user_facing().code()
    }
}

/// The directory's own answer to a refused write, as the DC sent it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnPremError {
    /// The LDAP result code (e.g. 50 insufficientAccessRights, 53 unwillingToPerform, 19
    /// constraintViolation).
    pub ldap_code: u32,
    /// The diagnostic message verbatim, e.g. `0000052D: SvcErr: DSID-031A12D2, problem 5003
    /// (WILL_NOT_PERFORM), data 0`; at most [`MAX_DIAGNOSTIC_BYTES`].
    pub diagnostic: String,
    /// The Win32 error leading the diagnostic (e.g. 0x52D), when it parses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub win32: Option<u32>,
    /// The `data` sub-code of the diagnostic (e.g. 0x775 on a bind), when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<u32>,
}

/// Well-known [`Hop`] names an agent reports; others may be added.
pub mod hop {
    /// From the poll answer's arrival to the ack's answer.
    pub const ACK: &str = "ack";
    /// Opening the sealed secrets.
    pub const OPEN: &str = "open";
    /// Getting a bound LDAP connection (pool hit, or connect + TLS + bind).
    pub const CONNECT: &str = "ldap_connect";
    /// Finding the user by objectGUID.
    pub const SEARCH: &str = "ldap_search";
    /// The Modify (or Modifies) that write the password, lockoutTime and pwdLastSet.
    pub const MODIFY: &str = "ldap_modify";
    /// The whole job inside the agent, from the poll answer to the result post.
    pub const AGENT_TOTAL: &str = "agent_total";
}

/// One timed step of a job inside the agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hop {
    /// The step, 1 to 64 characters; see [`hop`] for the usual names.
    pub name: String,
    /// How long it took, in microseconds of lab time.
    pub micros: u64,
}

/// Body of [`crate::routes::RESULT`]: how a job ended, posted once the agent is done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobResult {
    /// The job; must equal the `{id}` of the path.
    pub job_id: JobId,
    /// How it ended.
    pub outcome: Outcome,
    /// The DC's answer when the directory refused; absent on success and on failures with no DC
    /// answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onprem: Option<OnPremError>,
    /// The event ID the agent logged for the job ([`Outcome::event_id`]), e.g. 31002 or 33008.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<u32>,
    /// The DC host the write went to, e.g. `dc1.contoso.lab`, when one was reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc: Option<String>,
    /// The agent's timed steps, in order; at most [`MAX_HOPS`].
    #[serde(default)]
    pub timings: Vec<Hop>,
}

impl JobResult {
    /// A result for a job of `kind` with its event ID filled in and nothing else.
    pub fn new(job_id: JobId, kind: JobKind, outcome: Outcome) -> Self {
        Self {
            job_id,
            outcome,
            onprem: None,
            event_id: Some(outcome.event_id(kind)),
            dc: None,
            timings: Vec::new(),
        }
    }

    /// Checks the sizes and that a success carries no on-premises error.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.outcome.is_success() && self.onprem.is_some() {
            return Err(invalid("onprem", "a success carries no error"));
        }
        if let Some(e) = &self.onprem
            && e.diagnostic.len() > MAX_DIAGNOSTIC_BYTES
        {
            return Err(invalid("diagnostic", "longer than 4096 bytes"));
        }
        if self.timings.len() > MAX_HOPS {
            return Err(invalid("timings", "more than 32 hops"));
        }
        if self
            .timings
            .iter()
            .any(|h| h.name.is_empty() || h.name.len() > 64)
        {
            return Err(invalid("name", "a hop name is 1 to 64 characters"));
        }
        if self.dc.as_ref().is_some_and(|d| d.len() > 253) {
            return Err(invalid("dc", "longer than a DNS name"));
        }
        Ok(())
    }
}

/// serde for a `SecretString` field: plain JSON string on the wire, `[REDACTED]` in `Debug`.
pub(crate) mod secret_string {
    use secrecy::{ExposeSecret, SecretString};
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(s: &SecretString, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.expose_secret())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<SecretString, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SecretString;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SecretString, E> {
                Ok(SecretString::from(v))
            }
        }
        de.deserialize_str(V)
    }
}
