//! The write operations (add, modify, delete) and bind, over one DC's tree. Each checks its input
//! against the schema, builds the entry's new version on a private copy, passes it through the
//! gate, and commits it atomically.

use ad_types::diag::{self, BindFailure};
use ad_types::password::NtHash;

use crate::ctx::{OpCtx, Principal};
use crate::dit::{Conflict, Dit};
use crate::dn::{self, DnRef, Rdn};
use crate::domain::{Dc, DomainInfo, Txn};
use crate::entry::Entry;
use crate::error::DirError;
use crate::password::{self, PwdMod};
use crate::schema::{self, AttrDef, Kind, Syntax, known, schema};
use crate::value::{EntryId, Value};

/// userAccountControl bits fake-ad reads.
pub mod uac {
    /// ACCOUNTDISABLE
    pub const DISABLED: i64 = 0x2;
    /// PASSWD_NOTREQD
    pub const PASSWD_NOTREQD: i64 = 0x20;
    /// NORMAL_ACCOUNT
    pub const NORMAL: i64 = 0x200;
    /// WORKSTATION_TRUST_ACCOUNT
    pub const WORKSTATION: i64 = 0x1000;
    /// SERVER_TRUST_ACCOUNT (domain controllers)
    pub const SERVER: i64 = 0x2000;
    /// DONT_EXPIRE_PASSWORD
    pub const DONT_EXPIRE: i64 = 0x10000;
}

/// An LDAP modification as the server received it.
pub struct Change {
    /// add, delete, replace or increment.
    pub op: ChangeOp,
    /// The attribute name as sent.
    pub attr: String,
    /// The values as sent.
    pub values: Vec<Vec<u8>>,
}

/// The kind of one modification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeOp {
    /// Add values.
    Add,
    /// Delete values (or the whole attribute if none are given).
    Delete,
    /// Replace all values.
    Replace,
    /// Add to an integer (RFC 4525).
    Increment,
}

fn attr_def(name: &str) -> Result<&'static AttrDef, DirError> {
    schema()
        .attr(name)
        .ok_or_else(|| DirError::UndefinedAttribute(name.to_string()))
}

fn system_only(def: &AttrDef) -> DirError {
    DirError::Constraint(
        diag::constraint_att(
            0x20B1,
            0x0315_0BC9,
            &format!("{} ({})", def.diag_id, def.name),
        )
        .to_string(),
    )
}

/// Resolves a DN string on `dit`.
pub fn resolve(dit: &Dit, dn_str: &str) -> Result<EntryId, DirError> {
    let r = dn::parse(dn_str).map_err(|_| DirError::InvalidDn(dn_str.to_string()))?;
    dit.resolve(&r)
        .map_err(|matched| DirError::NoSuchObject { matched })
}

/// Parses wire values for `def`, resolving DN values on `dit`.
pub fn parse_values(dit: &Dit, def: &AttrDef, raw: &[Vec<u8>]) -> Result<Vec<Value>, DirError> {
    raw.iter()
        .map(|v| {
            if def.syntax == Syntax::Dn {
                let s =
                    std::str::from_utf8(v).map_err(|_| DirError::InvalidSyntax(def.name.into()))?;
                resolve(dit, s).map(Value::Dn)
            } else {
                Value::parse(def.syntax, v).map_err(|_| DirError::InvalidSyntax(def.name.into()))
            }
        })
        .collect()
}

fn conflict(c: Conflict, dn: &str) -> DirError {
    match c {
        Conflict::Name | Conflict::Identity => DirError::AlreadyExists(dn.to_string()),
        Conflict::Sam => DirError::AlreadyExists(dn.to_string()),
        Conflict::Upn => DirError::Constraint(
            diag::constraint_att(0x2071, 0x0315_1A3E, "90290 (userPrincipalName)").to_string(),
        ),
    }
}

/// A new object to create: where, what class, its attributes and an optional first password.
pub struct NewObject {
    /// The parent entry.
    pub parent: EntryId,
    /// The RDN.
    pub rdn: Rdn,
    /// The structural class.
    pub class: &'static schema::ClassDef,
    /// Attributes given by the caller (objectClass and system attributes are filled in).
    pub attrs: Vec<(crate::schema::AttrId, Vec<Value>)>,
    /// The initial password's hash.
    pub password: Option<NtHash>,
    /// A fixed RID (well-known accounts), else the next free one.
    pub rid: Option<u32>,
    /// The SID is in the BUILTIN domain (S-1-5-32-RID), not the account domain.
    pub builtin: bool,
    /// An explicit descriptor (else the class default); the parent's inheritable ACEs are added.
    pub sd: Option<ad_types::sd::SecurityDescriptor>,
}

/// Creates an object with what AD fills in itself: objectGUID, objectSid, objectClass chain,
/// objectCategory, name, instanceType, and the account defaults of users and groups.
pub fn create(txn: &mut Txn, obj: NewObject) -> Result<EntryId, DirError> {
    let k = known();
    let id = txn.new_id();
    let guid = txn.new_guid();
    let mut e = Entry {
        id,
        parent: Some(obj.parent),
        rdn: obj.rdn.clone(),
        attrs: Vec::new(),
        nt_hash: obj.password,
        pwd_history: Vec::new(),
        sd: None,
        meta: Vec::new(),
    };
    for (a, vs) in obj.attrs {
        e.set(a, vs);
    }
    let chain = schema::class_chain(obj.class.name).expect("known class has a chain");
    e.set(
        k.object_class,
        chain.iter().map(|c| Value::Text((*c).into())).collect(),
    );
    let info = txn.dc().domain.info.clone();
    e.set_one(
        k.object_category,
        Value::Text(
            format!(
                "CN={},CN=Schema,CN=Configuration,{}",
                obj.class.category,
                info_forest_dn(&info)
            )
            .into(),
        ),
    );
    e.set_one(k.name, Value::Text(obj.rdn.value.as_str().into()));
    let rdn_attr = schema().id(obj.class.rdn);
    if e.first(rdn_attr).is_none() {
        e.set_one(rdn_attr, Value::Text(obj.rdn.value.as_str().into()));
    }
    e.set_one(
        k.object_guid,
        Value::Bytes(ad_types::guid::to_ad_bytes(&guid).to_vec().into()),
    );
    e.set_one(k.instance_type, Value::Int(4));
    if obj.class.principal {
        let rid = match obj.rid {
            Some(r) => r,
            None => txn.new_rid(),
        };
        let sid = if obj.builtin {
            ad_types::Sid {
                authority: 5,
                sub: vec![32, rid],
            }
        } else {
            info.sid.with_rid(rid)
        };
        e.set_one(k.object_sid, Value::Bytes(sid.to_bytes().into()));
        if e.text(k.sam).is_none() {
            // AD makes up a name like $KJK000-H4GJL6AQOV1I when none is given.
            let g = guid.simple().to_string().to_ascii_uppercase();
            e.set_one(
                k.sam,
                Value::Text(format!("${}-{}", &g[..6], &g[6..18]).into()),
            );
        }
    }
    let is_user = chain.contains(&"user");
    if is_user {
        let computer = chain.contains(&"computer");
        if e.int(k.uac).is_none() {
            let base = if computer {
                uac::WORKSTATION
            } else {
                uac::NORMAL
            };
            let disabled = if e.nt_hash.is_none() {
                uac::DISABLED | uac::PASSWD_NOTREQD
            } else {
                0
            };
            e.set_one(k.uac, Value::Int(base | disabled));
        }
        let sam_type = if computer { 0x3000_0001 } else { 0x3000_0000 };
        e.set_one(k.sam_type, Value::Int(sam_type));
        if e.first(k.pwd_last_set).is_none() {
            let v = if e.nt_hash.is_some() {
                txn.now.filetime()
            } else {
                0
            };
            e.set_one(k.pwd_last_set, Value::Int(v));
        }
        if e.first(k.primary_group_id).is_none() {
            e.set_one(
                k.primary_group_id,
                Value::Int(if computer { 515 } else { 513 }),
            );
        }
        if e.first(k.account_expires).is_none() {
            e.set_one(k.account_expires, Value::Int(0x7FFF_FFFF_FFFF_FFFF));
        }
        e.set_one(k.bad_pwd_count, Value::Int(0));
    }
    if chain.contains(&"group") {
        let gt = *e.int(k.group_type).get_or_insert(-2_147_483_646); // global security
        e.set_one(k.group_type, Value::Int(gt));
        let st = if gt & 0x4 != 0 {
            0x2000_0000
        } else if gt & 0x8000_0000u32 as i64 != 0 || gt < 0 {
            0x1000_0000
        } else {
            0x1000_0001
        };
        e.set_one(k.sam_type, Value::Int(st));
    }
    e.sd = Some(crate::security::initial(
        &txn.dit,
        &info,
        Some(obj.parent),
        obj.class.name,
        obj.sd,
    ));
    let dn = txn.dit.dn(obj.parent);
    txn.put(e).map_err(|c| conflict(c, &dn))?;
    Ok(id)
}

/// The DN where the forest's configuration partition would be (for objectCategory values).
fn info_forest_dn(info: &DomainInfo) -> String {
    dn::domain_dn(&info.forest)
}

/// LDAP add.
pub async fn add(
    dc: &Dc,
    ctx: &OpCtx,
    dn_str: &str,
    attrs: Vec<(String, Vec<Vec<u8>>)>,
) -> Result<(), DirError> {
    ctx.require_bind()?;
    let rdns = match dn::parse(dn_str) {
        Ok(DnRef::Path(r)) if !r.is_empty() => r,
        Ok(_) => {
            return Err(DirError::Unwilling(
                diag::will_not_perform(0x2089, 0x0315_0000).to_string(),
            ));
        }
        Err(_) => return Err(DirError::InvalidDn(dn_str.to_string())),
    };
    // Check the attributes before touching the tree.
    let k = known();
    let mut class: Option<&'static schema::ClassDef> = None;
    let mut typed: Vec<(&'static AttrDef, Vec<Vec<u8>>)> = Vec::new();
    let mut password = None;
    let mut explicit_sd = None;
    for (name, vals) in attrs {
        let def = attr_def(&name)?;
        if vals.is_empty() {
            return Err(DirError::Constraint(format!("{name}: no values")));
        }
        if def.id == k.object_class {
            for v in &vals {
                let c = std::str::from_utf8(v)
                    .ok()
                    .and_then(schema::class)
                    .ok_or_else(|| {
                        DirError::ObjectClass(
                            diag::update_error(0x2014, (6002, "OBJ_CLASS_VIOLATION")).to_string(),
                        )
                    })?;
                let deeper = class.is_none_or(|cur| {
                    schema::class_chain(c.name).map(|x| x.len())
                        > schema::class_chain(cur.name).map(|x| x.len())
                });
                if deeper {
                    class = Some(c);
                }
            }
            continue;
        }
        if def.syntax == Syntax::Password {
            password = Some(vals);
            continue;
        }
        if def.syntax == Syntax::Sd {
            explicit_sd = Some(parse_sd(&vals)?);
            continue;
        }
        if def.kind != Kind::User {
            return Err(system_only(def));
        }
        if def.single && vals.len() > 1 {
            return Err(DirError::Constraint(
                diag::constraint_att(
                    0x2082,
                    0x0315_19B1,
                    &format!("{} ({})", def.diag_id, def.name),
                )
                .to_string(),
            ));
        }
        typed.push((def, vals));
    }
    let class = class.ok_or_else(|| {
        DirError::ObjectClass(diag::update_error(0x2014, (6002, "OBJ_CLASS_VIOLATION")).to_string())
    })?;
    let leaf = rdns[0].clone();
    if !leaf.attr.eq_ignore_ascii_case(class.rdn) {
        return Err(DirError::Naming(
            diag::update_error(0x208F, (6005, "NAMING_VIOLATION")).to_string(),
        ));
    }
    let hash = match password {
        Some(vals) => {
            let w = password::classify(ctx, &[(PwdMod::Add, vals)])?;
            Some(NtHash::of(w.new_password()))
        }
        None => None,
    };
    dc.write(|txn| {
        let parent = txn
            .dit
            .resolve_path(&rdns[1..])
            .map_err(|matched| DirError::NoSuchObject { matched })?;
        if txn.dit.child(parent, &leaf).is_some() {
            return Err(DirError::AlreadyExists(dn_str.to_string()));
        }
        let parent_entry = txn.dit.get(parent).cloned().expect("resolved");
        crate::gate::admit_add(ctx, txn, &parent_entry, class.name)?;
        let mut values = Vec::new();
        for (def, raw) in &typed {
            values.push((def.id, parse_values(&txn.dit, def, raw)?));
        }
        let sd = explicit_sd.take();
        let id = create(
            txn,
            NewObject {
                parent,
                rdn: leaf.clone(),
                class,
                attrs: values,
                password: hash,
                rid: None,
                builtin: false,
                sd,
            },
        )?;
        if let Some(h) = hash {
            let mut e = (**txn.dit.get(id).expect("just created")).clone();
            e.pwd_history = vec![h];
            txn.put(e).map_err(|c| conflict(c, dn_str))?;
        }
        Ok(())
    })
    .await
}

/// Parses an nTSecurityDescriptor value (binary, self-relative).
fn parse_sd(vals: &[Vec<u8>]) -> Result<ad_types::sd::SecurityDescriptor, DirError> {
    match vals {
        [v] => ad_types::sd::SecurityDescriptor::from_bytes(v).map_err(|_| {
            DirError::Constraint(
                diag::constraint_att(0x57, 0x0315_0A2B, "20119 (nTSecurityDescriptor)").to_string(),
            )
        }),
        _ => Err(DirError::Constraint(
            diag::constraint_att(0x2082, 0x0315_19B1, "20119 (nTSecurityDescriptor)").to_string(),
        )),
    }
}

fn policy_range(def: &AttrDef, why: &str) -> DirError {
    tracing::debug!(attr = def.name, why, "policy value out of range");
    DirError::Constraint(
        diag::constraint_att(
            0x57,
            0x0315_1A3D,
            &format!("{} ({})", def.diag_id, def.name),
        )
        .to_string(),
    )
}

/// LDAP modify. unicodePwd goes through the password path; nTSecurityDescriptor replaces the
/// parts the SD flags control names and re-inherits; every other attribute needs write-property.
pub async fn modify(
    dc: &Dc,
    ctx: &OpCtx,
    dn_str: &str,
    changes: Vec<Change>,
) -> Result<(), DirError> {
    ctx.require_bind()?;
    let k = known();
    // Validate names and split out unicodePwd and the descriptor before touching the tree.
    let mut pwd_mods = Vec::new();
    let mut typed = Vec::new();
    let mut new_sd = None;
    for c in changes {
        let def = attr_def(&c.attr)?;
        if def.syntax == Syntax::Password {
            let op = match c.op {
                ChangeOp::Add => PwdMod::Add,
                ChangeOp::Delete => PwdMod::Delete,
                ChangeOp::Replace => PwdMod::Replace,
                ChangeOp::Increment => {
                    return Err(DirError::Unwilling(
                        diag::will_not_perform(0x1F, 0x031A_124C).to_string(),
                    ));
                }
            };
            pwd_mods.push((op, c.values));
            continue;
        }
        if def.syntax == Syntax::Sd {
            if c.op != ChangeOp::Replace {
                return Err(system_only(def));
            }
            new_sd = Some(parse_sd(&c.values)?);
            continue;
        }
        if def.kind != Kind::User || def.id == k.object_class {
            return Err(system_only(def));
        }
        if matches!(def.name, "cn" | "ou" | "dc") {
            // Renames go through ModifyDN; AD refuses RDN attribute writes in a modify.
            return Err(DirError::Naming(
                diag::update_error(0x209F, (6004, "CANT_MOD_RDN")).to_string(),
            ));
        }
        typed.push((def, c.op, c.values));
    }
    let pwd = if pwd_mods.is_empty() {
        None
    } else {
        Some(password::classify(ctx, &pwd_mods)?)
    };
    let sd_flags = ctx.controls.sd_flags.unwrap_or(0xF);
    let result = dc
        .write(|txn| {
            let id = resolve(&txn.dit, dn_str)?;
            let before = txn.dit.get(id).cloned().expect("resolved");
            let mut e = (*before).clone();
            let mut written: Vec<crate::schema::AttrId> =
                typed.iter().map(|(d, _, _)| d.id).collect();
            written.dedup();
            crate::gate::admit_write(ctx, txn, &before, &written)?;
            if let Some(w) = &pwd {
                password::apply(ctx, txn, &mut e, w)?;
            }
            for (def, op, raw) in &typed {
                let vals = parse_values(&txn.dit, def, raw)?;
                apply_change(ctx, txn, &mut e, def, *op, vals, pwd.is_some())?;
            }
            // Policy attributes on the domain head or a PSO must be in AD's ranges.
            if !typed.is_empty() && (e.parent.is_none() || e.is("msDS-PasswordSettings")) {
                for (def, _, _) in &typed {
                    if let Some(v) = e.int(def.id) {
                        crate::policy::validate_policy_value(def.name, v)
                            .map_err(|m| policy_range(def, &m))?;
                    }
                }
                let eff = if e.parent.is_none() {
                    crate::policy::EffectivePolicy::from_domain_head(&e)
                } else {
                    crate::policy::EffectivePolicy::from_pso(&e)
                };
                crate::policy::validate_policy(&eff).map_err(|m| policy_range(typed[0].0, &m))?;
            }
            let mut sd_changed = false;
            if let Some(given) = &new_sd {
                crate::gate::admit_sd_write(ctx, txn, &before, sd_flags)?;
                let merged = crate::security::merge(e.sd.as_deref(), given, sd_flags);
                let parent = e.parent;
                let class = e.structural_class().unwrap_or("top").to_string();
                let info = txn.dc().domain.info.clone();
                e.sd = Some(crate::security::initial(
                    &txn.dit,
                    &info,
                    parent,
                    &class,
                    Some(merged),
                ));
                sd_changed = e.sd != before.sd;
            }
            let dn = txn.dit.dn(id);
            txn.put(e).map_err(|c| conflict(c, &dn))?;
            if sd_changed {
                txn.propagate_from(id);
            }
            Ok(())
        })
        .await;
    if let Err(DirError::WrongPassword(_)) = &result {
        // A wrong old password counts as a bad password even though the change is refused.
        let _ = record_bad_password(dc, dn_str).await;
    }
    result
}

fn apply_change(
    ctx: &OpCtx,
    txn: &Txn,
    e: &mut Entry,
    def: &AttrDef,
    op: ChangeOp,
    vals: Vec<Value>,
    password_written: bool,
) -> Result<(), DirError> {
    let k = known();
    let att = format!("{} ({})", def.diag_id, def.name);
    let mut cur: Vec<Value> = e.get(def.id).to_vec();
    match op {
        ChangeOp::Replace => cur = vals,
        ChangeOp::Add => {
            if vals.is_empty() {
                return Err(DirError::Constraint(format!("{}: no values", def.name)));
            }
            for v in vals {
                if cur.iter().any(|c| c.matches(&v)) {
                    return Err(DirError::ValueExists(
                        diag::att_problem(0x2083, (1006, "ATT_OR_VALUE_EXISTS"), &att).to_string(),
                    ));
                }
                cur.push(v);
            }
        }
        ChangeOp::Delete => {
            if vals.is_empty() {
                if cur.is_empty() {
                    return Err(DirError::NoSuchAttribute(
                        diag::att_problem(0x2085, (1001, "NO_ATTRIBUTE_OR_VAL"), &att).to_string(),
                    ));
                }
                cur.clear();
            }
            for v in vals {
                let before = cur.len();
                cur.retain(|c| !c.matches(&v));
                if cur.len() == before {
                    return Err(DirError::NoSuchAttribute(
                        diag::att_problem(0x2085, (1001, "NO_ATTRIBUTE_OR_VAL"), &att).to_string(),
                    ));
                }
            }
        }
        ChangeOp::Increment => {
            let [Value::Int(by)] = vals.as_slice() else {
                return Err(DirError::InvalidSyntax(def.name.into()));
            };
            let [Value::Int(now)] = cur.as_slice() else {
                return Err(DirError::Constraint(format!(
                    "{}: cannot increment",
                    def.name
                )));
            };
            cur = vec![Value::Int(now + by)];
        }
    }
    if def.single && cur.len() > 1 {
        return Err(DirError::Constraint(
            diag::constraint_att(0x2082, 0x0315_19B1, &att).to_string(),
        ));
    }
    if def.id == k.pwd_last_set {
        // Clients may write only 0 (must change) or -1 (now) (facts §2.3).
        match cur.as_slice() {
            [Value::Int(0)] => crate::gate::admit_pwd_last_set(ctx, txn, e, false)?,
            [Value::Int(-1)] => {
                crate::gate::admit_pwd_last_set(ctx, txn, e, true)?;
                // -1 on a non-zero pwdLastSet with no password written is a no-op.
                let now = e.int(k.pwd_last_set).unwrap_or(0);
                cur = vec![Value::Int(if now != 0 && !password_written {
                    now
                } else {
                    txn.now.filetime()
                })];
            }
            [] => {
                return Err(DirError::Unwilling(
                    diag::will_not_perform(0x57, 0x031A_0F0B).to_string(),
                ));
            }
            _ => {
                return Err(DirError::Other(diag::ldap_err(
                    0x57,
                    0x0C09_0C4B,
                    "Error in attribute conversion operation",
                    0,
                )));
            }
        }
    }
    if def.id == k.lockout_time {
        match cur.as_slice() {
            [Value::Int(0)] => e.set_one(k.bad_pwd_count, Value::Int(0)),
            _ => {
                return Err(DirError::Unwilling(
                    diag::will_not_perform(0x57, 0x031A_0F0C).to_string(),
                ));
            }
        }
    }
    e.set(def.id, cur);
    Ok(())
}

/// LDAP delete (leaf entries only).
pub async fn delete(dc: &Dc, ctx: &OpCtx, dn_str: &str) -> Result<(), DirError> {
    ctx.require_bind()?;
    dc.write(|txn| {
        let id = resolve(&txn.dit, dn_str)?;
        if txn.dit.has_children(id) {
            return Err(DirError::NonLeaf(dn_str.to_string()));
        }
        let e = txn.dit.get(id).cloned().expect("resolved");
        if e.parent.is_none()
            || e.first(schema().id("isCriticalSystemObject")) == Some(&Value::Bool(true))
        {
            return Err(DirError::Unwilling(
                diag::will_not_perform(0x2015, 0x0315_0A7E).to_string(),
            ));
        }
        crate::gate::admit_delete(ctx, txn, &e)?;
        txn.remove(id);
        Ok(())
    })
    .await
}

/// Why a simple bind failed: the invalidCredentials message with AD's data code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", diag::bind_failure(*.0))]
pub struct BindError(pub BindFailure);

/// Finds the account a bind name denotes: a DN, a UPN (or `name@dns-domain`), or `DOMAIN\name`.
pub fn find_account(dit: &Dit, info: &DomainInfo, name: &str) -> Option<EntryId> {
    if let Some((dom, user)) = name.split_once('\\') {
        let ours = dom.eq_ignore_ascii_case(&info.netbios) || dom.eq_ignore_ascii_case(&info.dns);
        return if ours { dit.by_sam(user) } else { None };
    }
    if name.contains('=') || name.starts_with('<') {
        return resolve(dit, name).ok();
    }
    if let Some(id) = dit.by_upn(name) {
        return Some(id);
    }
    match name.rsplit_once('@') {
        Some((user, dom)) if dom.eq_ignore_ascii_case(&info.dns) => dit.by_sam(user),
        _ => None,
    }
}

fn lockout_state(e: &Entry) -> crate::policy::LockoutState {
    let k = known();
    crate::policy::LockoutState {
        bad_pwd_count: e.int(k.bad_pwd_count).unwrap_or(0).max(0) as u32,
        bad_password_time: e.int(schema().id("badPasswordTime")).unwrap_or(0),
        lockout_time: e.int(k.lockout_time).unwrap_or(0),
    }
}

fn store_lockout(e: &mut Entry, s: &crate::policy::LockoutState) {
    let k = known();
    e.set_one(k.bad_pwd_count, Value::Int(s.bad_pwd_count as i64));
    e.set_one(
        schema().id("badPasswordTime"),
        Value::Int(s.bad_password_time),
    );
    e.set_one(k.lockout_time, Value::Int(s.lockout_time));
}

/// Counts a bad password for the account `dn` on this DC (and locks it at the threshold).
pub async fn record_bad_password(dc: &Dc, dn: &str) -> Result<(), DirError> {
    dc.write(|txn| {
        let id = resolve(&txn.dit, dn)?;
        let pol = crate::fgpp::effective(&txn.dit, id);
        let mut e = (**txn.dit.get(id).expect("resolved")).clone();
        let next = crate::policy::record_bad_password(&pol, &lockout_state(&e), txn.now.filetime());
        store_lockout(&mut e, &next);
        txn.put(e).map_err(|c| DirError::Other(c.to_string()))
    })
    .await
}

/// A simple bind: finds the account, refuses a locked one (775), checks the password (a wrong
/// one counts toward lockout, 52e), then disabled (533), account expired (701), must change
/// (773) and password expired (532), in AD's order. Success clears the bad-password count.
pub async fn bind(dc: &Dc, name: &str, password: &str) -> Result<Principal, BindError> {
    let dit = dc.snapshot();
    let info = &dc.domain.info;
    let k = known();
    let id = find_account(&dit, info, name).ok_or(BindError(BindFailure::NoSuchUser))?;
    let e = dit
        .get(id)
        .ok_or(BindError(BindFailure::NoSuchUser))?
        .clone();
    let now = dc.clock.now().filetime();
    let pol = crate::fgpp::effective(&dit, id);
    let state = lockout_state(&e);
    if crate::policy::is_locked(&pol, &state, now) {
        return Err(BindError(BindFailure::LockedOut));
    }
    let given = NtHash::of(password);
    if e.nt_hash != Some(given) {
        // Within the old-password window the previous password still binds, and older ones
        // fail without counting (Samba's reading of KB 906305; off by default).
        let window = dc
            .old_password_window
            .load(std::sync::atomic::Ordering::Relaxed) as i64
            * 10_000_000;
        let last_set = e.int(k.pwd_last_set).unwrap_or(0);
        let recent =
            window > 0 && last_set != 0 && now - last_set < window && e.pwd_history.len() >= 2;
        if recent && e.pwd_history.get(1) == Some(&given) {
            return Ok(principal(&dit, info, id, &e));
        }
        // A non-PDC DC retries a wrong password on the PDC emulator of its site (which has
        // every password change at once) before it fails the bind.
        if !dc.pdc
            && let Some(pdc) = dc.domain.dcs().into_iter().find(|d| d.pdc)
            && pdc.site.eq_ignore_ascii_case(&dc.site)
            && !pdc.stopped.load(std::sync::atomic::Ordering::Relaxed)
            && pdc
                .snapshot()
                .get(id)
                .is_some_and(|p| p.nt_hash == Some(given))
        {
            return Ok(principal(&dit, info, id, &e));
        }
        if !(recent && e.pwd_history.iter().skip(2).any(|h| *h == given)) {
            let _ = record_bad_password(dc, &dit.dn(id)).await;
        }
        return Err(BindError(BindFailure::BadPassword));
    }
    let flags = e.int(k.uac).unwrap_or(0);
    if flags & uac::DISABLED != 0 {
        return Err(BindError(BindFailure::Disabled));
    }
    let expires = e.int(k.account_expires).unwrap_or(0);
    if expires != 0 && expires != 0x7FFF_FFFF_FFFF_FFFF && expires < now {
        return Err(BindError(BindFailure::AccountExpired));
    }
    // Only normal user accounts have expiring passwords (machine and gMSA accounts do not).
    if flags & uac::DONT_EXPIRE == 0 && flags & uac::NORMAL != 0 {
        let last_set = e.int(k.pwd_last_set).unwrap_or(0);
        if last_set == 0 {
            return Err(BindError(BindFailure::MustChange));
        }
        if let Some(max) = pol.max_age
            && last_set.saturating_add(max as i64) < now
        {
            return Err(BindError(BindFailure::PasswordExpired));
        }
    }
    if state.bad_pwd_count != 0 || state.lockout_time != 0 {
        let dn = dit.dn(id);
        let _ = dc
            .write(|txn| {
                let id = resolve(&txn.dit, &dn)?;
                let mut e = (**txn.dit.get(id).expect("resolved")).clone();
                let next = crate::policy::record_success(&lockout_state(&e));
                store_lockout(&mut e, &next);
                txn.put(e).map_err(|c| DirError::Other(c.to_string()))
            })
            .await;
    }
    Ok(principal(&dit, info, id, &e))
}

fn principal(dit: &Dit, info: &DomainInfo, id: EntryId, e: &Entry) -> Principal {
    Principal {
        id,
        dn: dit.dn(id),
        account: format!(
            "{}\\{}",
            info.netbios,
            e.text(known().sam).unwrap_or_default()
        ),
        sids: crate::security::token_sids(dit, info, id),
    }
}

/// A modify of the root DSE: `runProtectAdminGroupsTask: 1` runs SDProp now (as on AD); other
/// operational attributes are refused.
pub async fn modify_root_dse(dc: &Dc, ctx: &OpCtx, changes: Vec<Change>) -> Result<(), DirError> {
    let p = ctx.require_bind()?;
    for c in &changes {
        if !c.attr.eq_ignore_ascii_case("runProtectAdminGroupsTask") {
            return Err(DirError::Unwilling(
                diag::will_not_perform(0x20B2, 0x0C09_0D8A).to_string(),
            ));
        }
    }
    // AD requires an administrator here; the lab asks for Domain Admins or Administrators.
    let info = &dc.domain.info;
    let admin = p.sids.iter().any(|s| {
        *s == info.sid.with_rid(512)
            || *s
                == ad_types::Sid {
                    authority: 5,
                    sub: vec![32, 544],
                }
    });
    if !admin {
        return Err(DirError::Access(diag::insufficient_rights().to_string()));
    }
    dc.write(|txn| crate::sdprop::run(txn).map(|_| ())).await
}

/// Runs SDProp on `dc` now (the lab's and the control API's trigger); returns how many objects it
/// changed.
pub async fn run_sdprop(dc: &Dc) -> Result<usize, DirError> {
    dc.write(crate::sdprop::run).await
}
