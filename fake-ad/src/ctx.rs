//! Who is asking and how: the bound principal, whether the connection is encrypted, and the
//! request controls that change what an operation does.

use crate::value::EntryId;

/// The principal a connection is bound as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The account's entry.
    pub id: EntryId,
    /// Its DN.
    pub dn: String,
    /// `DOMAIN\sAMAccountName`, as whoami prints it.
    pub account: String,
    /// The token's SIDs (itself, its groups transitively, Everyone, Authenticated Users),
    /// computed at bind as a DC does at logon.
    pub sids: Vec<ad_types::Sid>,
}

/// Request controls fake-ad acts on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Controls {
    /// LDAP_SERVER_POLICY_HINTS (either OID) with flags = 1: apply the full password policy to a
    /// reset.
    pub policy_hints: bool,
    /// The writeback job id the agent's private control carries, to join a refusal to its job.
    pub job_id: Option<String>,
    /// The SD flags control's flags (which descriptor parts to read or write).
    pub sd_flags: Option<i32>,
}

/// The context of one operation.
#[derive(Clone, Debug, Default)]
pub struct OpCtx {
    /// The bound principal; `None` while anonymous.
    pub bound: Option<Principal>,
    /// Whether the connection is encrypted (LDAPS or after StartTLS).
    pub tls: bool,
    /// The request's controls.
    pub controls: Controls,
}

impl OpCtx {
    /// The bound principal, or AD's "a successful bind must be completed" error.
    pub fn require_bind(&self) -> Result<&Principal, crate::DirError> {
        self.bound.as_ref().ok_or_else(crate::DirError::anonymous)
    }
}
