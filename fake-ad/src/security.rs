//! Security descriptors in the directory: the class defaults a new object starts from, hash-consed
//! storage (one `Arc` per distinct descriptor, as AD's SD table), inheritance down the tree, the
//! bound principal's token, the access check on this DC's copy, and SDProp.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use ad_types::access::{self, Decision, Request, Token};
use ad_types::rights;
use ad_types::sd::{self, SecurityDescriptor};
use ad_types::{Sid, sddl};
use uuid::Uuid;

use crate::dit::Dit;
use crate::domain::DomainInfo;
use crate::entry::Entry;
use crate::schema::known;
use crate::value::{EntryId, Value};

/// A shared, immutable security descriptor.
pub type SdRef = Arc<SecurityDescriptor>;

/// The one `Arc` for `sd`: equal descriptors share memory.
pub fn intern(sd: SecurityDescriptor) -> SdRef {
    static TABLE: OnceLock<Mutex<HashMap<SecurityDescriptor, Weak<SecurityDescriptor>>>> =
        OnceLock::new();
    let mut t = TABLE
        .get_or_init(Default::default)
        .lock()
        .expect("sd table lock");
    if let Some(a) = t.get(&sd).and_then(Weak::upgrade) {
        return a;
    }
    if t.len() > 4096 && t.len().is_power_of_two() {
        t.retain(|_, w| w.strong_count() > 0);
    }
    let a = Arc::new(sd.clone());
    t.insert(sd, Arc::downgrade(&a));
    a
}

/// The defaultSecurityDescriptor of a class (a subset of Windows' schema defaults: the grants
/// that decide writeback, administration and reading).
pub fn class_default(class: &str) -> &'static str {
    match class {
        "user"
        | "inetOrgPerson"
        | "computer"
        | "msDS-ManagedServiceAccount"
        | "msDS-GroupManagedServiceAccount" => concat!(
            "D:(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;DA)(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;SY)",
            "(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;AO)(A;;RPLCLORC;;;PS)",
            "(OA;;CR;ab721a53-1e2f-11d0-9819-00aa0040529b;;PS)(OA;;CR;ab721a53-1e2f-11d0-9819-00aa0040529b;;WD)",
            "(A;;RC;;;AU)(A;;RPLCLORC;;;AU)(A;;RPLCLORC;;;BA)"
        ),
        "domainDNS" | "domain" => concat!(
            "D:(A;;RPWPCRCCDCLCLORCWOWDSW;;;DA)(A;CI;RPWPCRCCDCLCLORCWOWDSDDTSW;;;EA)",
            "(A;CI;RPWPCRCCDCLCLORCWOWDSDDTSW;;;BA)(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;SY)",
            "(A;;RPLCLORC;;;AU)(OA;;CR;ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501;;AU)",
            "(OA;;CR;280f369c-67c7-438e-ae98-1d46f3c6f541;;AU)"
        ),
        "group" => concat!(
            "D:(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;DA)(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;SY)",
            "(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;AO)(A;;RPLCLORC;;;PS)(A;;RPLCLORC;;;AU)"
        ),
        _ => {
            "D:(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;DA)(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;SY)(A;;RPLCLORC;;;AU)"
        }
    }
}

/// AdminSDHolder's descriptor as Windows ships it (the decisive ACEs): administrators keep
/// control, everyone may read, and Change Password stays granted to Everyone and SELF.
pub const ADMIN_SD_HOLDER: &str = concat!(
    "O:DAG:DAD:P(A;;LCRPLORC;;;AU)(A;;CCDCLCSWRPWPLOCRSDRCWDWO;;;BA)",
    "(A;;CCDCLCSWRPWPLOCRRCWDWO;;;DA)(A;;CCDCLCSWRPWPLOCRRCWDWO;;;EA)",
    "(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;SY)",
    "(OA;;CR;ab721a53-1e2f-11d0-9819-00aa0040529b;;WD)(OA;;CR;ab721a53-1e2f-11d0-9819-00aa0040529b;;PS)"
);

/// The schemaIDGUID of a class fake-ad knows (for inherited-object-type matching).
pub fn class_guid(class: &str) -> Uuid {
    match class {
        "user" => rights::CLASS_USER,
        "inetOrgPerson" => rights::CLASS_INET_ORG_PERSON,
        "computer" => rights::CLASS_COMPUTER,
        "group" => rights::CLASS_GROUP,
        "organizationalUnit" => rights::CLASS_OU,
        "container" => rights::CLASS_CONTAINER,
        "domainDNS" => rights::CLASS_DOMAIN_DNS,
        "msDS-GroupManagedServiceAccount" => rights::CLASS_GMSA,
        "msDS-ManagedServiceAccount" => rights::CLASS_MSA,
        _ => Uuid::nil(),
    }
}

/// Parses an SDDL default for `info`'s domain; the built-in strings always parse.
pub fn parse_sddl(s: &str, info: &DomainInfo) -> Result<SecurityDescriptor, sddl::SddlError> {
    sddl::parse(s, &info.sid)
}

/// The descriptor a new object of `class` gets under `parent`: `explicit` (or the class default),
/// plus the parent's inheritable ACEs unless it is protected.
pub fn initial(
    dit: &Dit,
    info: &DomainInfo,
    parent: Option<EntryId>,
    class: &str,
    explicit: Option<SecurityDescriptor>,
) -> SdRef {
    let mut own = explicit
        .unwrap_or_else(|| parse_sddl(class_default(class), info).expect("built-in SDDL parses"));
    if own.owner.is_none() {
        own.owner = Some(info.sid.with_rid(512));
        own.group = Some(info.sid.with_rid(512));
    }
    let parent_sd = parent.and_then(|p| dit.get(p)).and_then(|p| p.sd.clone());
    intern(match parent_sd {
        Some(psd) => access::inherit(&psd, &own, class_guid(class)),
        None => own,
    })
}

/// Recomputes the inherited part of every descriptor below `root` (after `root`'s changed).
pub fn reinherit_below(dit: &mut Dit, root: EntryId, mut put: impl FnMut(&mut Dit, Entry)) {
    let mut stack: Vec<EntryId> = dit.children(root).collect();
    while let Some(id) = stack.pop() {
        let Some(e) = dit.get(id).cloned() else {
            continue;
        };
        let parent_sd = e.parent.and_then(|p| dit.get(p)).and_then(|p| p.sd.clone());
        if let (Some(psd), Some(own)) = (parent_sd, e.sd.clone()) {
            let class = e.structural_class().unwrap_or("top").to_string();
            let next = intern(access::inherit(&psd, &own, class_guid(&class)));
            if next != own {
                let mut e2 = (*e).clone();
                e2.sd = Some(next);
                put(dit, e2);
            }
        }
        stack.extend(dit.children(id));
    }
}

/// The SIDs of `principal`'s token: itself, its groups transitively (with its primary group),
/// Everyone and Authenticated Users. SELF is added per check.
pub fn token_sids(dit: &Dit, info: &DomainInfo, principal: EntryId) -> Vec<Sid> {
    let k = known();
    let mut sids = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut queue = vec![principal];
    if let Some(pg) = dit.get(principal).and_then(|e| e.int(k.primary_group_id))
        && let Some(g) = dit.by_sid(&info.sid.with_rid(pg as u32).to_bytes())
    {
        queue.push(g);
    }
    while let Some(id) = queue.pop() {
        if !seen.insert(id) {
            continue;
        }
        if let Some(Value::Bytes(b)) = dit.get(id).and_then(|e| e.first(k.object_sid).cloned())
            && let Ok(s) = Sid::from_bytes(&b)
        {
            sids.insert(s);
        }
        queue.extend(dit.groups_of(id));
    }
    sids.insert(rights::well_known::everyone());
    sids.insert(rights::well_known::authenticated_users());
    sids.into_iter().collect()
}

/// Why an access check refused: the right, the object, the descriptor and the deciding ACE.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Denial {
    /// The right asked for, e.g. `Reset Password` or `write pwdLastSet`.
    pub right: String,
    /// The object's DN.
    pub object: String,
    /// A short digest of the descriptor that decided (its version).
    pub descriptor: String,
    /// "denied by ACE n" or "no ACE grants it".
    pub by: String,
}

/// A right's name for reasons and reports.
pub fn describe(req: &Request) -> String {
    match req {
        Request::Control(g) if *g == rights::RESET_PASSWORD => "Reset Password".into(),
        Request::Control(g) if *g == rights::CHANGE_PASSWORD => "Change Password".into(),
        Request::Control(g) if *g == rights::UNEXPIRE_PASSWORD => "Unexpire Password".into(),
        Request::Control(g) => format!("control access {g}"),
        Request::WriteProperty { attr, .. } if *attr == rights::ATTR_PWD_LAST_SET => {
            "write pwdLastSet".into()
        }
        Request::WriteProperty { attr, .. } if *attr == rights::ATTR_LOCKOUT_TIME => {
            "write lockoutTime".into()
        }
        Request::WriteProperty { attr, .. } => format!("write property {attr}"),
        Request::ReadProperty { attr, .. } => format!("read property {attr}"),
        Request::Mask(m) => format!("access mask 0x{m:x}"),
    }
}

/// Checks `req` on `target` for a token of `sids` (SELF added when the target is the principal).
pub fn check(
    dit: &Dit,
    sids: &[Sid],
    principal: EntryId,
    target: &Entry,
    req: &Request,
) -> Result<(), Denial> {
    let Some(sd) = &target.sd else { return Ok(()) };
    let mut token = Token {
        sids: sids.to_vec(),
    };
    if principal == target.id {
        token.sids.push(rights::well_known::principal_self());
    }
    let by = match access::check(sd, &token, req) {
        Decision::Granted { .. } => return Ok(()),
        Decision::Denied { ace } => format!("denied by ACE {ace}"),
        Decision::NotGranted => "no ACE grants it".into(),
    };
    Err(Denial {
        right: describe(req),
        object: dit.dn(target.id),
        descriptor: digest(sd),
        by,
    })
}

/// A short, stable digest of a descriptor's binary form (its "version" in reasons).
pub fn digest(sd: &SecurityDescriptor) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in sd.to_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:08x}", h as u32)
}

/// Whether the descriptor has inheritance disabled.
pub fn is_protected(sd: &SecurityDescriptor) -> bool {
    sd.control & sd::SE_DACL_PROTECTED != 0
}

/// The descriptor after writing `given`'s parts named by the SD flags (1 owner, 2 group, 4 DACL;
/// the SACL is not modelled) over `current`.
pub fn merge(
    current: Option<&SecurityDescriptor>,
    given: &SecurityDescriptor,
    flags: i32,
) -> SecurityDescriptor {
    let mut out = current.cloned().unwrap_or_else(|| given.clone());
    if flags & 0x1 != 0 && given.owner.is_some() {
        out.owner = given.owner.clone();
    }
    if flags & 0x2 != 0 && given.group.is_some() {
        out.group = given.group.clone();
    }
    if flags & 0x4 != 0 {
        out.dacl = given.dacl.clone();
        let keep = sd::SE_DACL_PROTECTED;
        out.control = (out.control & !keep) | (given.control & keep);
    }
    out
}

/// Adds explicit ACEs (SDDL ACE strings, e.g. `(OA;CIIO;CR;…;…;S-1-…)`) to `id`'s descriptor
/// and re-inherits everything below it.
pub fn grant(txn: &mut crate::domain::Txn, id: EntryId, aces: &str) -> Result<(), crate::DirError> {
    let info = txn.dc().domain.info.clone();
    let extra = parse_sddl(&format!("D:{aces}"), &info)
        .map_err(|e| crate::DirError::Other(format!("bad ACEs {aces:?}: {e}")))?;
    let e = txn
        .dit
        .get(id)
        .cloned()
        .ok_or_else(|| crate::DirError::Other("no such entry".into()))?;
    let mut own = e.sd.as_deref().cloned().unwrap_or_else(|| extra.clone());
    let mut acl = own.dacl.take().unwrap_or_default();
    acl.aces.retain(|a| a.flags & sd::INHERITED == 0);
    acl.aces
        .extend(extra.dacl.map(|d| d.aces).unwrap_or_default());
    own.dacl = Some(acl);
    own.control |= sd::SE_DACL_PRESENT;
    let class = e.structural_class().unwrap_or("top").to_string();
    let mut e2 = (*e).clone();
    e2.sd = Some(initial(&txn.dit, &info, e.parent, &class, Some(own)));
    txn.put(e2)
        .map_err(|c| crate::DirError::Other(c.to_string()))?;
    txn.reinherit_below(id);
    Ok(())
}

/// Disables inheritance on `id` (keeping its explicit ACEs only), as "carol" in the default lab.
pub fn protect(txn: &mut crate::domain::Txn, id: EntryId) -> Result<(), crate::DirError> {
    let info = txn.dc().domain.info.clone();
    let e = txn
        .dit
        .get(id)
        .cloned()
        .ok_or_else(|| crate::DirError::Other("no such entry".into()))?;
    let mut own = e.sd.as_deref().cloned().unwrap_or_default();
    own.control |= sd::SE_DACL_PROTECTED;
    let class = e.structural_class().unwrap_or("top").to_string();
    let mut e2 = (*e).clone();
    e2.sd = Some(initial(&txn.dit, &info, e.parent, &class, Some(own)));
    txn.put(e2)
        .map_err(|c| crate::DirError::Other(c.to_string()))?;
    txn.reinherit_below(id);
    Ok(())
}

/// The writeback rights of facts §3.1 for `sid`, as SDDL ACEs for a domain head: Reset and
/// Change Password and write pwdLastSet and lockoutTime on descendant users, Unexpire Password
/// on the head itself.
pub fn writeback_aces(sid: &Sid) -> String {
    let user = rights::CLASS_USER;
    format!(
        "(OA;CIIO;CR;{};{user};{sid})(OA;CIIO;CR;{};{user};{sid})(OA;CIIO;WP;{};{user};{sid})(OA;CIIO;WP;{};{user};{sid})(OA;;CR;{};;{sid})",
        rights::RESET_PASSWORD,
        rights::CHANGE_PASSWORD,
        rights::ATTR_PWD_LAST_SET,
        rights::ATTR_LOCKOUT_TIME,
        rights::UNEXPIRE_PASSWORD,
    )
}
