//! What a fresh AD domain holds: the domain head with its password policy, the well-known
//! containers, the Default Domain Policy GPO object, the well-known groups and accounts, and a
//! computer object per DC.

use ad_types::password::NtHash;

use crate::dn::{Rdn, parse_path};
use crate::domain::{Dc, Txn};
use crate::entry::Entry;
use crate::error::DirError;
use crate::ops::{NewObject, create, uac};
use crate::schema::{self, known, schema};
use crate::value::{EntryId, Value};

/// The Default Domain Policy GPO's well-known GUID.
pub const DEFAULT_DOMAIN_POLICY: &str = "{31B2F340-016D-11D2-945F-00C04FB984F9}";

/// A domain's password and lockout policy (what the Default Domain Policy sets on the head).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Minimum password age, days.
    pub min_age_days: u32,
    /// Maximum password age, days (0 = never expires).
    pub max_age_days: u32,
    /// Minimum length.
    pub min_length: u32,
    /// "Passwords must meet complexity requirements".
    pub complexity: bool,
    /// Passwords remembered.
    pub history: u32,
    /// Bad passwords before lockout (0 = never).
    pub lockout_threshold: u32,
    /// Observation window, minutes.
    pub lockout_window_min: u32,
    /// Lockout duration, minutes (0 = until an administrator unlocks).
    pub lockout_duration_min: u32,
}

impl Default for Policy {
    /// A new domain's Default Domain Policy (facts §4.1); lockout fields as when first defined.
    fn default() -> Self {
        Policy {
            min_age_days: 1,
            max_age_days: 42,
            min_length: 7,
            complexity: true,
            history: 24,
            lockout_threshold: 0,
            lockout_window_min: 30,
            lockout_duration_min: 30,
        }
    }
}

const DAY: i64 = 864_000_000_000;
const MINUTE: i64 = 600_000_000;

impl Policy {
    /// The domain head attributes this policy sets (durations as negative 100-ns intervals).
    pub fn head_attributes(&self) -> Vec<(&'static str, Value)> {
        let neg = |v: i64| if v == 0 { 0 } else { -v };
        vec![
            ("minPwdAge", Value::Int(neg(self.min_age_days as i64 * DAY))),
            (
                "maxPwdAge",
                Value::Int(if self.max_age_days == 0 {
                    i64::MIN
                } else {
                    -(self.max_age_days as i64 * DAY)
                }),
            ),
            ("minPwdLength", Value::Int(self.min_length as i64)),
            (
                "pwdProperties",
                Value::Int(if self.complexity { 1 } else { 0 }),
            ),
            ("pwdHistoryLength", Value::Int(self.history as i64)),
            (
                "lockoutThreshold",
                Value::Int(self.lockout_threshold as i64),
            ),
            (
                "lockOutObservationWindow",
                Value::Int(neg(self.lockout_window_min as i64 * MINUTE)),
            ),
            (
                "lockoutDuration",
                Value::Int(neg(self.lockout_duration_min as i64 * MINUTE)),
            ),
        ]
    }
}

fn rdn(s: &str) -> Rdn {
    parse_path(s).expect("well-known RDN").remove(0)
}

/// Creates a well-known object under `parent`.
pub fn make(
    txn: &mut Txn,
    parent: EntryId,
    name: &str,
    class: &str,
    attrs: Vec<(&str, Value)>,
    rid: Option<u32>,
) -> Result<EntryId, DirError> {
    let mut grouped: Vec<(schema::AttrId, Vec<Value>)> = Vec::new();
    for (a, v) in attrs {
        let id = schema().id(a);
        match grouped.iter_mut().find(|(x, _)| *x == id) {
            Some((_, vs)) => vs.push(v),
            None => grouped.push((id, vec![v])),
        }
    }
    create(
        txn,
        NewObject {
            parent,
            rdn: rdn(name),
            class: schema::class(class).expect("known class"),
            attrs: grouped,
            password: None,
            rid,
            builtin: class == "group" && parent_is_builtin(txn, parent),
            sd: None,
        },
    )
}

fn parent_is_builtin(txn: &Txn, parent: EntryId) -> bool {
    txn.dit.get(parent).is_some_and(|e| e.is("builtinDomain"))
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// Adds `member` to `group`'s member attribute.
pub fn add_member(txn: &mut Txn, group: EntryId, member: EntryId) -> Result<(), DirError> {
    let mut g = (**txn.dit.get(group).expect("group exists")).clone();
    let mut vals = g.get(known().member).to_vec();
    if !vals.contains(&Value::Dn(member)) {
        vals.push(Value::Dn(member));
    }
    g.set(known().member, vals);
    txn.put(g)
        .map_err(|_| DirError::Other("member update".into()))
}

/// Adds `members` to `group`'s member attribute in one write (populating big groups).
pub fn add_members(txn: &mut Txn, group: EntryId, members: &[EntryId]) -> Result<(), DirError> {
    let mut g = (**txn.dit.get(group).expect("group exists")).clone();
    let mut vals = g.get(known().member).to_vec();
    let mut seen: std::collections::BTreeSet<EntryId> = vals
        .iter()
        .filter_map(|v| match v {
            Value::Dn(id) => Some(*id),
            _ => None,
        })
        .collect();
    for m in members {
        if seen.insert(*m) {
            vals.push(Value::Dn(*m));
        }
    }
    g.set(known().member, vals);
    txn.put(g)
        .map_err(|_| DirError::Other("member update".into()))
}

/// The well-known ids a fresh domain hands back to whoever populates it further.
#[derive(Clone, Copy, Debug)]
pub struct WellKnown {
    /// The domain head.
    pub head: EntryId,
    /// CN=Users.
    pub users: EntryId,
    /// CN=Managed Service Accounts.
    pub msa: EntryId,
    /// CN=Domain Admins.
    pub domain_admins: EntryId,
    /// CN=Administrator.
    pub administrator: EntryId,
}

/// Creates a fresh domain's contents in `txn` (on the PDC's empty tree).
pub fn fresh_domain(
    txn: &mut Txn,
    policy: &Policy,
    admin_password: &str,
    dc_names: &[String],
) -> Result<WellKnown, DirError> {
    let k = known();
    let info = txn.dc().domain.info.clone();
    let forest_root = info.forest.eq_ignore_ascii_case(&info.dns);
    // The domain head.
    let head_id = txn.new_id();
    let guid = txn.new_guid();
    let mut head = Entry {
        id: head_id,
        parent: None,
        rdn: info.base[0].clone(),
        attrs: Vec::new(),
        nt_hash: None,
        pwd_history: Vec::new(),
        sd: None,
        meta: Vec::new(),
    };
    head.set(
        k.object_class,
        ["top", "domain", "domainDNS"]
            .iter()
            .map(|c| text(c))
            .collect(),
    );
    head.set_one(k.dc, text(&info.base[0].value));
    head.set_one(k.name, text(&info.base[0].value));
    head.set_one(
        k.object_guid,
        Value::Bytes(ad_types::guid::to_ad_bytes(&guid).to_vec().into()),
    );
    head.set_one(k.object_sid, Value::Bytes(info.sid.to_bytes().into()));
    head.set_one(k.instance_type, Value::Int(5));
    head.set_one(
        k.object_category,
        text(&format!(
            "CN=Domain-DNS,CN=Schema,CN=Configuration,{}",
            crate::dn::domain_dn(&info.forest)
        )),
    );
    for (a, v) in policy.head_attributes() {
        head.set_one(schema().id(a), v);
    }
    for (a, v) in [
        ("forceLogoff", Value::Int(i64::MIN)),
        ("nTMixedDomain", Value::Int(0)),
        ("msDS-Behavior-Version", Value::Int(7)),
        ("isCriticalSystemObject", Value::Bool(true)),
        (
            "gPLink",
            text(&format!(
                "[LDAP://CN={DEFAULT_DOMAIN_POLICY},CN=Policies,CN=System,{};0]",
                info.base_dn
            )),
        ),
    ] {
        head.set_one(schema().id(a), v);
    }
    head.sd = Some(crate::security::initial(
        &txn.dit,
        &info,
        None,
        "domainDNS",
        None,
    ));
    txn.put(head)
        .map_err(|_| DirError::AlreadyExists(info.base_dn.clone()))?;
    let critical = || ("isCriticalSystemObject", Value::Bool(true));

    let users = make(
        txn,
        head_id,
        "CN=Users",
        "container",
        vec![
            critical(),
            (
                "description",
                text("Default container for upgraded user accounts"),
            ),
        ],
        None,
    )?;
    let builtin = make(
        txn,
        head_id,
        "CN=Builtin",
        "builtinDomain",
        vec![critical()],
        None,
    )?;
    {
        let mut b = (**txn.dit.get(builtin).expect("just made")).clone();
        b.set_one(
            k.object_sid,
            Value::Bytes(
                ad_types::Sid {
                    authority: 5,
                    sub: vec![32],
                }
                .to_bytes()
                .into(),
            ),
        );
        txn.put(b).map_err(|_| DirError::Other("builtin".into()))?;
    }
    make(
        txn,
        head_id,
        "CN=Computers",
        "container",
        vec![critical()],
        None,
    )?;
    let dcs_ou = make(
        txn,
        head_id,
        "OU=Domain Controllers",
        "organizationalUnit",
        vec![critical()],
        None,
    )?;
    let system = make(
        txn,
        head_id,
        "CN=System",
        "container",
        vec![critical()],
        None,
    )?;
    let policies = make(
        txn,
        system,
        "CN=Policies",
        "container",
        vec![critical()],
        None,
    )?;
    let gpo = make(
        txn,
        policies,
        &format!("CN={DEFAULT_DOMAIN_POLICY}"),
        "groupPolicyContainer",
        vec![
            critical(),
            ("displayName", text("Default Domain Policy")),
            (
                "gPCFileSysPath",
                text(&format!(
                    "\\\\{0}\\sysvol\\{0}\\Policies\\{DEFAULT_DOMAIN_POLICY}",
                    info.dns
                )),
            ),
            ("versionNumber", Value::Int(3)),
            ("flags", Value::Int(0)),
        ],
        None,
    )?;
    {
        let mut g = (**txn.dit.get(gpo).expect("just made")).clone();
        g.set(
            schema().id("msLab-GptTmpl"),
            crate::gpo::initial_values(policy),
        );
        txn.put(g).map_err(|_| DirError::Other("GPO".into()))?;
    }
    let holder = make(
        txn,
        system,
        "CN=AdminSDHolder",
        "container",
        vec![critical()],
        None,
    )?;
    {
        let sd = crate::security::parse_sddl(crate::security::ADMIN_SD_HOLDER, &info)
            .expect("built-in SDDL parses");
        let mut h = (**txn.dit.get(holder).expect("just made")).clone();
        h.sd = Some(crate::security::initial(
            &txn.dit,
            &info,
            Some(system),
            "container",
            Some(sd),
        ));
        txn.put(h)
            .map_err(|_| DirError::Other("AdminSDHolder".into()))?;
    }
    make(
        txn,
        system,
        "CN=Password Settings Container",
        "msDS-PasswordSettingsContainer",
        vec![critical()],
        None,
    )?;
    let msa = make(
        txn,
        head_id,
        "CN=Managed Service Accounts",
        "container",
        vec![
            critical(),
            (
                "description",
                text("Default container for managed service accounts"),
            ),
        ],
        None,
    )?;

    // Groups: (name, rid, groupType, protected, only in the forest root)
    const GLOBAL: i64 = -2_147_483_646;
    const LOCAL: i64 = -2_147_483_644;
    const UNIVERSAL: i64 = -2_147_483_640;
    const BUILTIN_LOCAL: i64 = -2_147_483_643;
    let mut ids = std::collections::BTreeMap::new();
    for (name, rid, gt, protected, root_only) in [
        ("Domain Admins", 512, GLOBAL, true, false),
        ("Domain Users", 513, GLOBAL, false, false),
        ("Domain Guests", 514, GLOBAL, false, false),
        ("Domain Computers", 515, GLOBAL, false, false),
        ("Domain Controllers", 516, GLOBAL, true, false),
        ("Cert Publishers", 517, LOCAL, false, false),
        ("Schema Admins", 518, UNIVERSAL, true, true),
        ("Enterprise Admins", 519, UNIVERSAL, true, true),
        ("Group Policy Creator Owners", 520, GLOBAL, false, false),
        ("Read-only Domain Controllers", 521, GLOBAL, true, false),
        ("Protected Users", 525, GLOBAL, false, false),
        ("Key Admins", 526, GLOBAL, false, false),
        ("Enterprise Key Admins", 527, UNIVERSAL, false, true),
    ] {
        if root_only && !forest_root {
            continue;
        }
        let mut attrs = vec![
            critical(),
            ("sAMAccountName", text(name)),
            ("groupType", Value::Int(gt)),
        ];
        if protected {
            attrs.push(("adminCount", Value::Int(1)));
        }
        ids.insert(
            name,
            make(txn, users, &format!("CN={name}"), "group", attrs, Some(rid))?,
        );
    }
    for (name, rid, protected) in [
        ("Administrators", 544, true),
        ("Users", 545, false),
        ("Guests", 546, false),
        ("Account Operators", 548, true),
        ("Server Operators", 549, true),
        ("Print Operators", 550, true),
        ("Backup Operators", 551, true),
        ("Replicator", 552, true),
    ] {
        let mut attrs = vec![
            critical(),
            ("sAMAccountName", text(name)),
            ("groupType", Value::Int(BUILTIN_LOCAL)),
        ];
        if protected {
            attrs.push(("adminCount", Value::Int(1)));
        }
        ids.insert(
            name,
            make(
                txn,
                builtin,
                &format!("CN={name}"),
                "group",
                attrs,
                Some(rid),
            )?,
        );
    }

    // Accounts.
    let admin = make(
        txn,
        users,
        "CN=Administrator",
        "user",
        vec![
            critical(),
            ("sAMAccountName", text("Administrator")),
            (
                "userPrincipalName",
                text(&format!("Administrator@{}", info.dns)),
            ),
            (
                "description",
                text("Built-in account for administering the computer/domain"),
            ),
            (
                "userAccountControl",
                Value::Int(uac::NORMAL | uac::DONT_EXPIRE),
            ),
            ("adminCount", Value::Int(1)),
        ],
        Some(500),
    )?;
    set_password(txn, admin, admin_password)?;
    make(
        txn,
        users,
        "CN=Guest",
        "user",
        vec![
            critical(),
            ("sAMAccountName", text("Guest")),
            (
                "userAccountControl",
                Value::Int(uac::NORMAL | uac::DISABLED | uac::PASSWD_NOTREQD | uac::DONT_EXPIRE),
            ),
            ("primaryGroupID", Value::Int(514)),
        ],
        Some(501),
    )?;
    make(
        txn,
        users,
        "CN=krbtgt",
        "user",
        vec![
            critical(),
            ("sAMAccountName", text("krbtgt")),
            (
                "userAccountControl",
                Value::Int(uac::NORMAL | uac::DISABLED),
            ),
            ("adminCount", Value::Int(1)),
        ],
        Some(502),
    )?;
    for dc in dc_names {
        make(
            txn,
            dcs_ou,
            &format!("CN={dc}"),
            "computer",
            vec![
                critical(),
                ("sAMAccountName", text(&format!("{dc}$"))),
                (
                    "dNSHostName",
                    text(&format!("{}.{}", dc.to_ascii_lowercase(), info.dns)),
                ),
                ("userAccountControl", Value::Int(uac::SERVER | 0x80000)),
                ("primaryGroupID", Value::Int(516)),
                ("operatingSystem", text("Windows Server 2022 Datacenter")),
            ],
            None,
        )?;
    }

    let mut member = |g: &str, m: EntryId| -> Result<(), DirError> {
        match ids.get(g) {
            Some(gid) => add_member(txn, *gid, m),
            None => Ok(()),
        }
    };
    for g in [
        "Domain Admins",
        "Enterprise Admins",
        "Schema Admins",
        "Group Policy Creator Owners",
        "Administrators",
    ] {
        member(g, admin)?;
    }
    let da = ids["Domain Admins"];
    let du = ids["Domain Users"];
    let dg = ids["Domain Guests"];
    member("Administrators", da)?;
    if let Some(ea) = ids.get("Enterprise Admins").copied() {
        member("Administrators", ea)?;
    }
    member("Users", du)?;
    member("Guests", dg)?;
    Ok(WellKnown {
        head: head_id,
        users,
        msa,
        domain_admins: da,
        administrator: admin,
    })
}

/// Sets `id`'s password directly (bootstrap and fixtures only; LDAP writes go through modify).
pub fn set_password(txn: &mut Txn, id: EntryId, password: &str) -> Result<(), DirError> {
    let mut e = (**txn.dit.get(id).expect("entry exists")).clone();
    let keep = crate::fgpp::effective(&txn.dit, id).history;
    crate::password::set_hash(&mut e, NtHash::of(password), keep);
    e.set_one(known().pwd_last_set, Value::Int(txn.now.filetime()));
    txn.put(e).map_err(|_| DirError::Other("password".into()))
}

/// Makes every other DC of `pdc`'s domain start from the PDC's tree (before replication exists,
/// this is how a new domain's DCs get their copy), and persists each copy.
pub async fn copy_to_replicas(pdc: &Dc) -> Result<(), DirError> {
    let dit = pdc.snapshot();
    for dc in pdc.domain.dcs() {
        if dc.name == pdc.name {
            continue;
        }
        dc.adopt((*dit).clone()).await?;
    }
    // Every DC now holds the whole tree: nothing of the build is left to replicate.
    pdc.domain.repl.lock().expect("repl lock").queue.clear();
    Ok(())
}
