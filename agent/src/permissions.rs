//! The agent's permissions commands, over LDAP as an administrator, as
//! `Set-AADCloudSyncPermissions -PermissionType PasswordWriteBack` and
//! `Get-ADSyncObjectsWithInheritanceDisabled` do: grant the writeback rights of facts §3.1 to the
//! sync account on the domain root (or one object), optionally on AdminSDHolder, and check them.

use std::net::SocketAddr;
use std::time::Duration;

use ad_types::rights;
use ad_types::sd::{self, Ace, SecurityDescriptor};
use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::{
    LdapFilter, LdapModify, LdapModifyType, LdapPartialAttribute, LdapSearchScope,
};
use runtime::Clock;
use runtime::net::{Network, TokioNet};
use secrecy::SecretString;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::ldap::{LdapConn, TlsStream, client_config, connect};

/// How to reach the directory and as whom.
pub struct DirAccess<'a> {
    /// A DC's LDAPS address (the PDC emulator, so the change is there first).
    pub ldaps: SocketAddr,
    /// Its host name (a SAN of its certificate).
    pub host: &'a str,
    /// The lab CA (PEM).
    pub ca_pem: &'a str,
    /// The administrator, e.g. `CONTOSO\Administrator`.
    pub admin: &'a str,
    /// Their password.
    pub password: &'a SecretString,
    /// The domain head's DN.
    pub base_dn: &'a str,
    /// The sync service account's DN.
    pub service_account: &'a str,
}

/// What a permissions command could not do.
#[derive(Debug, thiserror::Error)]
pub enum PermissionsError {
    /// The directory refused or failed; the message says which step.
    #[error("{0}")]
    Directory(String),
}

fn err(step: &str, e: impl std::fmt::Display) -> PermissionsError {
    PermissionsError::Directory(format!("{step}: {e}"))
}

/// What `grant` did.
#[derive(Debug, Serialize)]
pub struct Granted {
    /// The object the rights were granted on.
    pub object: String,
    /// ACEs added there (0 when all were present).
    pub added: usize,
    /// ACEs added on AdminSDHolder, when asked.
    pub admin_sd_holder_added: Option<usize>,
    /// Each ACE added, as `right: SDDL` (the object's first, then AdminSDHolder's).
    pub changes: Vec<String>,
}

/// What `check` found.
#[derive(Debug, Serialize)]
pub struct Checked {
    /// The sync account's SID.
    pub service_account_sid: String,
    /// Its ACEs on the domain root, in SDDL.
    pub aces_on_root: Vec<String>,
    /// Writeback rights it lacks on the root (names).
    pub missing: Vec<String>,
    /// Users with inheritance disabled (they do not get the root's rights).
    pub inheritance_disabled: Vec<String>,
}

const SD_FLAGS_OID: &str = "1.2.840.113556.1.4.801";

fn dacl_only() -> LdapControl {
    LdapControl::Unknown {
        oid: SD_FLAGS_OID.into(),
        criticality: true,
        value: Some(vec![0x30, 0x03, 0x02, 0x01, 0x04]),
    }
}

async fn open<N: Network>(
    net: &N,
    a: &DirAccess<'_>,
    clock: &Clock,
) -> Result<LdapConn<TlsStream<N>>, PermissionsError> {
    let tls = client_config(a.ca_pem).map_err(|e| err("the lab CA", e))?;
    let mut c = connect(net, a.ldaps, a.host, tls, clock, Duration::from_secs(30))
        .await
        .map_err(|e| err("connect", e))?;
    let r = c
        .bind(a.admin, a.password)
        .await
        .map_err(|e| err("bind", e))?;
    if !r.ok() {
        return Err(err("bind", format!("{} {}", r.code, r.diagnostic)));
    }
    Ok(c)
}

async fn read_sd<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut LdapConn<S>,
    dn: &str,
) -> Result<SecurityDescriptor, PermissionsError> {
    let (entries, r) = c
        .search(
            dn,
            LdapSearchScope::Base,
            LdapFilter::Present("objectClass".into()),
            &["nTSecurityDescriptor"],
            vec![dacl_only()],
        )
        .await
        .map_err(|e| err("read the descriptor", e))?;
    let bytes = entries
        .first()
        .and_then(|(_, attrs)| {
            attrs
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("nTSecurityDescriptor"))
        })
        .and_then(|(_, v)| v.first().cloned())
        .ok_or_else(|| {
            err(
                &format!("read the descriptor of {dn}"),
                format!("{} {}", r.code, r.diagnostic),
            )
        })?;
    SecurityDescriptor::from_bytes(&bytes).map_err(|e| err("parse the descriptor", e))
}

async fn write_sd<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut LdapConn<S>,
    dn: &str,
    sd: &SecurityDescriptor,
) -> Result<(), PermissionsError> {
    let change = LdapModify {
        operation: LdapModifyType::Replace,
        modification: LdapPartialAttribute {
            atype: "nTSecurityDescriptor".into(),
            vals: vec![sd.to_bytes()],
        },
    };
    let r = c
        .modify(dn, vec![change], vec![dacl_only()])
        .await
        .map_err(|e| err("write the descriptor", e))?;
    if r.ok() {
        Ok(())
    } else {
        Err(err(
            &format!("write the descriptor of {dn}"),
            format!("{} {}", r.code, r.diagnostic),
        ))
    }
}

async fn sid_of<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut LdapConn<S>,
    dn: &str,
) -> Result<ad_types::Sid, PermissionsError> {
    let (entries, r) = c
        .search(
            dn,
            LdapSearchScope::Base,
            LdapFilter::Present("objectClass".into()),
            &["objectSid"],
            Vec::new(),
        )
        .await
        .map_err(|e| err("read objectSid", e))?;
    let bytes = entries
        .first()
        .and_then(|(_, attrs)| {
            attrs
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("objectSid"))
        })
        .and_then(|(_, v)| v.first().cloned())
        .ok_or_else(|| {
            err(
                &format!("read objectSid of {dn}"),
                format!("{} {}", r.code, r.diagnostic),
            )
        })?;
    ad_types::Sid::from_bytes(&bytes).map_err(|e| err("parse objectSid", e))
}

/// Where writeback ACEs go, which decides their inheritance flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The domain root: inherited to descendant users only, plus Unexpire Password on the root.
    DomainRoot,
    /// One object (an OU or a user): the object itself and everything below it.
    Object,
    /// AdminSDHolder: the object itself (SDProp copies it to protected users).
    AdminSdHolder,
}

/// The writeback ACEs of facts §3.1 for `sid` at `scope`.
pub fn writeback_aces(sid: &ad_types::Sid, scope: Scope) -> Vec<(String, Ace)> {
    let head = scope == Scope::DomainRoot;
    let (flags, inherited) = match scope {
        Scope::DomainRoot => (
            sd::CONTAINER_INHERIT | sd::INHERIT_ONLY,
            Some(rights::CLASS_USER),
        ),
        Scope::Object => (sd::CONTAINER_INHERIT, None),
        Scope::AdminSdHolder => (0, None),
    };
    let mut v = vec![
        (
            "Reset Password",
            Ace::allow_object(
                sid.clone(),
                rights::CONTROL_ACCESS,
                Some(rights::RESET_PASSWORD),
                inherited,
            )
            .with_flags(flags),
        ),
        (
            "Change Password",
            Ace::allow_object(
                sid.clone(),
                rights::CONTROL_ACCESS,
                Some(rights::CHANGE_PASSWORD),
                inherited,
            )
            .with_flags(flags),
        ),
        (
            "write pwdLastSet",
            Ace::allow_object(
                sid.clone(),
                rights::WRITE_PROP,
                Some(rights::ATTR_PWD_LAST_SET),
                inherited,
            )
            .with_flags(flags),
        ),
        (
            "write lockoutTime",
            Ace::allow_object(
                sid.clone(),
                rights::WRITE_PROP,
                Some(rights::ATTR_LOCKOUT_TIME),
                inherited,
            )
            .with_flags(flags),
        ),
    ];
    if head {
        v.push((
            "Unexpire Password",
            Ace::allow_object(
                sid.clone(),
                rights::CONTROL_ACCESS,
                Some(rights::UNEXPIRE_PASSWORD),
                None,
            ),
        ));
    }
    v.into_iter().map(|(n, a)| (n.to_string(), a)).collect()
}

/// One ACE in SDDL, without the `D:` prefix, e.g. `(OA;CIIO;CR;00299570-…;bf967aba-…;S-1-5-…)`.
fn ace_sddl(ace: &Ace, domain_sid: &ad_types::Sid) -> String {
    let s = SecurityDescriptor {
        dacl: Some(sd::Acl::new(vec![ace.clone()])),
        ..Default::default()
    };
    ad_types::sddl::format(&s, domain_sid)
        .trim_start_matches("D:")
        .to_string()
}

/// Adds the ACEs `sd` lacks; returns those added, as `right: SDDL`.
fn add_missing(
    sd: &mut SecurityDescriptor,
    aces: &[(String, Ace)],
    domain_sid: &ad_types::Sid,
) -> Vec<String> {
    let acl = sd.dacl.get_or_insert_with(Default::default);
    let mut added = Vec::new();
    for (right, ace) in aces {
        if !acl.aces.iter().any(|a| a == ace) {
            acl.aces.push(ace.clone());
            added.push(format!("{right}: {}", ace_sddl(ace, domain_sid)));
        }
    }
    added
}

/// Grants the writeback rights on the domain root (or `object`), and on AdminSDHolder when asked
/// (SDProp then stamps protected users with them, which the product does not recommend).
pub async fn grant(
    a: &DirAccess<'_>,
    object: Option<&str>,
    admin_sd_holder: bool,
    clock: &Clock,
) -> Result<Granted, PermissionsError> {
    grant_on(&TokioNet, a, object, admin_sd_holder, clock).await
}

/// [`grant`] over network `net` (simulate mode's in-memory network, or sockets).
pub async fn grant_on<N: Network>(
    net: &N,
    a: &DirAccess<'_>,
    object: Option<&str>,
    admin_sd_holder: bool,
    clock: &Clock,
) -> Result<Granted, PermissionsError> {
    let mut c = open(net, a, clock).await?;
    let sid = sid_of(&mut c, a.service_account).await?;
    let domain_sid = sid_of(&mut c, a.base_dn).await?;
    let target = object.unwrap_or(a.base_dn).to_string();
    let head = target.eq_ignore_ascii_case(a.base_dn);
    let mut sd = read_sd(&mut c, &target).await?;
    let scope = if head {
        Scope::DomainRoot
    } else {
        Scope::Object
    };
    let mut changes = add_missing(&mut sd, &writeback_aces(&sid, scope), &domain_sid);
    let added = changes.len();
    if added > 0 {
        write_sd(&mut c, &target, &sd).await?;
    }
    let mut holder_added = None;
    if admin_sd_holder {
        let holder = format!("CN=AdminSDHolder,CN=System,{}", a.base_dn);
        let mut hsd = read_sd(&mut c, &holder).await?;
        let more = add_missing(
            &mut hsd,
            &writeback_aces(&sid, Scope::AdminSdHolder),
            &domain_sid,
        );
        if !more.is_empty() {
            write_sd(&mut c, &holder, &hsd).await?;
        }
        holder_added = Some(more.len());
        changes.extend(more.into_iter().map(|c| format!("AdminSDHolder {c}")));
    }
    c.unbind().await;
    Ok(Granted {
        object: target,
        added,
        admin_sd_holder_added: holder_added,
        changes,
    })
}

/// Lists the sync account's ACEs on the root, the writeback rights it lacks there, and the users
/// with inheritance disabled.
pub async fn check(a: &DirAccess<'_>, clock: &Clock) -> Result<Checked, PermissionsError> {
    check_on(&TokioNet, a, clock).await
}

/// [`check`] over network `net`.
pub async fn check_on<N: Network>(
    net: &N,
    a: &DirAccess<'_>,
    clock: &Clock,
) -> Result<Checked, PermissionsError> {
    let mut c = open(net, a, clock).await?;
    let sid = sid_of(&mut c, a.service_account).await?;
    let domain_sid = sid_of(&mut c, a.base_dn).await?;
    let root = read_sd(&mut c, a.base_dn).await?;
    let mine: Vec<&Ace> = root
        .dacl
        .iter()
        .flat_map(|d| d.aces.iter())
        .filter(|x| x.sid == sid)
        .collect();
    let one = |ace: &Ace| ace_sddl(ace, &domain_sid);
    let missing = writeback_aces(&sid, Scope::DomainRoot)
        .into_iter()
        .filter(|(_, want)| {
            !mine.iter().any(|have| {
                have.kind == want.kind
                    && have.mask == want.mask
                    && have.object_type == want.object_type
                    && have.inherited_object_type == want.inherited_object_type
            })
        })
        .map(|(n, _)| n)
        .collect();
    let filter = LdapFilter::And(vec![
        LdapFilter::Equality("objectCategory".into(), "person".into()),
        LdapFilter::Equality("objectClass".into(), "user".into()),
    ]);
    let (users, _) = c
        .search(
            a.base_dn,
            LdapSearchScope::Subtree,
            filter,
            &["nTSecurityDescriptor"],
            vec![dacl_only()],
        )
        .await
        .map_err(|e| err("search users", e))?;
    let inheritance_disabled = users
        .into_iter()
        .filter(|(_, attrs)| {
            attrs
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("nTSecurityDescriptor"))
                .and_then(|(_, v)| v.first())
                .and_then(|b| SecurityDescriptor::from_bytes(b).ok())
                .is_some_and(|s| s.is_protected())
        })
        .map(|(dn, _)| dn)
        .collect();
    c.unbind().await;
    Ok(Checked {
        service_account_sid: sid.to_string(),
        aces_on_root: mine.iter().map(|x| one(x)).collect(),
        missing,
        inheritance_disabled,
    })
}
