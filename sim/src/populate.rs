//! Building a lab's directory from its spec: each domain bootstrapped as a fresh AD domain on its
//! PDC, then the spec's OUs, service account and users added, then copied to the other DCs. With
//! a state directory that already holds the lab, each DC loads its copy instead.

use std::sync::Arc;

use fake_ad::Store;
use fake_ad::bootstrap::{self, WellKnown, add_members, make, set_password};
use fake_ad::domain::{Domain, Txn};
use fake_ad::error::DirError;
use fake_ad::ops::uac;
use fake_ad::schema::known;
use fake_ad::value::Value;
use runtime::{Clock, Seed};

use crate::credentials::Credentials;
use crate::spec::{DomainSpec, Engine, LabSpec, UserState};

/// One built domain with the spec it came from.
#[derive(Clone, Debug)]
pub struct BuiltDomain {
    /// The spec.
    pub spec: DomainSpec,
    /// The live domain and its DCs.
    pub domain: Arc<Domain>,
}

impl BuiltDomain {
    /// The DN of the sync service account.
    pub fn service_account_dn(&self) -> String {
        let base = &self.domain.info.base_dn;
        match self.spec.engine {
            Engine::CloudSync => format!("CN=provAgentgMSA,CN=Managed Service Accounts,{base}"),
            Engine::ConnectSync => format!("CN={CONNECT_ACCOUNT},CN=Users,{base}"),
        }
    }
}

/// The Connect Sync service account's name in the lab.
pub const CONNECT_ACCOUNT: &str = "MSOL_1a2b3c4d5e6f";

/// Creates every domain and DC of `spec`; `fresh` builds them, else each DC loads from `store`.
pub async fn build(
    spec: &LabSpec,
    seed: Seed,
    store: Arc<dyn Store>,
    clock: &Clock,
    creds: &Credentials,
    fresh: bool,
) -> Result<Vec<BuiltDomain>, String> {
    let mut out = Vec::new();
    for forest in &spec.forests {
        let root = forest.domains[0].dns.clone();
        for d in &forest.domains {
            let domain = Domain::new(&d.dns, &d.netbios, &root, seed);
            for (i, dc) in d.dcs.iter().enumerate() {
                let new_dc =
                    domain.add_dc(&dc.name, &dc.site, i == 0, store.clone(), clock.clone());
                new_dc.old_password_window.store(
                    u64::from(dc.old_password_window_min) * 60,
                    std::sync::atomic::Ordering::Relaxed,
                );
            }
            if fresh {
                let pdc = domain.dcs()[0].clone();
                let names: Vec<String> = d.dcs.iter().map(|x| x.name.clone()).collect();
                pdc.write(|txn| {
                    let wk = bootstrap::fresh_domain(txn, &d.policy, &creds.admin, &names)?;
                    populate(
                        txn,
                        &wk,
                        d,
                        creds,
                        d.writeback_aces.unwrap_or(spec.deployed),
                    )
                })
                .await
                .map_err(|e| format!("building {}: {e}", d.dns))?;
                for dc in domain.dcs() {
                    domain.set_gpo_applied(
                        &dc.name,
                        fake_ad::gpo::read(&pdc).map(|(v, _)| v).unwrap_or(0),
                    );
                }
                bootstrap::copy_to_replicas(&pdc)
                    .await
                    .map_err(|e| format!("copying {}: {e}", d.dns))?;
            } else {
                for dc in domain.dcs() {
                    if !dc.load()? {
                        return Err(format!(
                            "the state holds no copy of {} for {}",
                            d.dns, dc.name
                        ));
                    }
                }
                let key = format!("alloc/{}", d.dns);
                let meta = store
                    .meta(&key)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("the state has no {key}"))?;
                domain.restore_alloc(&meta)?;
                if let Some(repl) = store
                    .meta(&format!("repl/{}", d.dns))
                    .map_err(|e| e.to_string())?
                {
                    domain.restore_repl(
                        &repl,
                        store
                            .load(&format!("repl/{}", d.dns))
                            .map_err(|e| e.to_string())?,
                    )?;
                }
                for dc in domain.dcs() {
                    let key = format!("gpo/{}/{}", d.dns, dc.name);
                    let applied = match store.meta(&key).map_err(|e| e.to_string())? {
                        Some(v) => v.parse().map_err(|_| format!("bad {key}: {v:?}"))?,
                        None => fake_ad::gpo::read(&dc).map(|(v, _)| v).unwrap_or(0),
                    };
                    domain.set_gpo_applied(&dc.name, applied);
                }
            }
            out.push(BuiltDomain {
                spec: d.clone(),
                domain,
            });
        }
    }
    Ok(out)
}

const DAY: i64 = 864_000_000_000;

/// groupType of a global security group (ADS_GROUP_TYPE_GLOBAL_GROUP | SECURITY_ENABLED).
const GLOBAL_SECURITY_GROUP: i64 = -2_147_483_646;

fn populate(
    txn: &mut Txn,
    wk: &WellKnown,
    d: &DomainSpec,
    creds: &Credentials,
    deployed: bool,
) -> Result<(), DirError> {
    let k = known();
    let text = |s: &str| Value::Text(s.into());
    let mut ous = std::collections::BTreeMap::new();
    for ou in &d.ous {
        ous.insert(
            ou.to_lowercase(),
            make(
                txn,
                wk.head,
                &format!("OU={ou}"),
                "organizationalUnit",
                vec![],
                None,
            )?,
        );
    }
    let svc = match d.engine {
        Engine::CloudSync => make(
            txn,
            wk.msa,
            "CN=provAgentgMSA",
            "msDS-GroupManagedServiceAccount",
            vec![
                ("sAMAccountName", text("provAgentgMSA$")),
                ("dNSHostName", text(&format!("provAgentgMSA.{}", d.dns))),
                ("userAccountControl", Value::Int(uac::WORKSTATION)),
                (
                    "description",
                    text("Group managed service account of the Entra provisioning agent"),
                ),
            ],
            None,
        )?,
        Engine::ConnectSync => make(
            txn,
            wk.users,
            &format!("CN={CONNECT_ACCOUNT}"),
            "user",
            vec![
                ("sAMAccountName", text(CONNECT_ACCOUNT)),
                (
                    "userAccountControl",
                    Value::Int(uac::NORMAL | uac::DONT_EXPIRE),
                ),
                (
                    "description",
                    text("Account created by Microsoft Entra Connect to synchronize to the tenant"),
                ),
            ],
            None,
        )?,
    };
    set_password(txn, svc, &creds.service)?;
    let max_age = d.policy.max_age_days as i64 * DAY;
    let mut protect = Vec::new();
    // Groups users name that the domain lacks are made in CN=Users (global security groups).
    let mut wanted: Vec<&String> = d.users.iter().flat_map(|u| u.groups.iter()).collect();
    wanted.sort();
    wanted.dedup();
    for g in wanted {
        if txn.dit.by_sam(g).is_none() {
            make(
                txn,
                wk.users,
                &format!("CN={g}"),
                "group",
                vec![
                    ("sAMAccountName", text(g)),
                    ("groupType", Value::Int(GLOBAL_SECURITY_GROUP)),
                ],
                None,
            )?;
        }
    }
    let mut members: std::collections::BTreeMap<
        fake_ad::value::EntryId,
        Vec<fake_ad::value::EntryId>,
    > = Default::default();
    for u in &d.users {
        let parent = match &u.ou {
            Some(ou) => *ous
                .get(&ou.to_lowercase())
                .ok_or_else(|| DirError::Other(format!("no OU {ou}")))?,
            None => wk.users,
        };
        let display = u.display_name();
        let id = make(
            txn,
            parent,
            &format!("CN={display}"),
            "user",
            vec![
                ("sAMAccountName", text(&u.sam)),
                ("userPrincipalName", text(&format!("{}@{}", u.sam, d.dns))),
                ("givenName", text(&u.given)),
                ("sn", text(&u.surname)),
                ("displayName", text(&display)),
                ("userAccountControl", Value::Int(uac::NORMAL)),
            ],
            None,
        )?;
        set_password(txn, id, &creds.user)?;
        let mut e = (**txn.dit.get(id).expect("just made")).clone();
        for s in &u.states {
            match s {
                UserState::Locked => {
                    e.set_one(k.lockout_time, Value::Int(txn.now.filetime()));
                    e.set_one(k.bad_pwd_count, Value::Int(5));
                }
                UserState::Expired if max_age > 0 => {
                    e.set_one(
                        k.pwd_last_set,
                        Value::Int(txn.now.filetime() - max_age - DAY),
                    );
                }
                UserState::Expired | UserState::MustChange => {
                    e.set_one(k.pwd_last_set, Value::Int(0))
                }
                UserState::Disabled => {
                    let f = e.int(k.uac).unwrap_or(uac::NORMAL);
                    e.set_one(k.uac, Value::Int(f | uac::DISABLED));
                }
                UserState::Protected => protect.push(id),
            }
        }
        txn.put(e)
            .map_err(|_| DirError::Other("user state".into()))?;
        for g in &u.groups {
            let gid = txn
                .dit
                .by_sam(g)
                .ok_or_else(|| DirError::Other(format!("{}: no group {g} for {}", d.dns, u.sam)))?;
            members.entry(gid).or_default().push(id);
        }
    }
    for (gid, ids) in members {
        add_members(txn, gid, &ids)?;
    }
    // The sync account's writeback rights on the domain root (facts §3.1), inherited to users.
    let svc_sid = match txn
        .dit
        .get(svc)
        .and_then(|e| e.first(k.object_sid).cloned())
    {
        Some(Value::Bytes(b)) => {
            ad_types::Sid::from_bytes(&b).map_err(|e| DirError::Other(e.to_string()))?
        }
        _ => return Err(DirError::Other("service account has no SID".into())),
    };
    // Deployed: the sync account already holds the writeback rights on the root (facts §3.1);
    // undeployed, `agent permissions` grants them.
    if deployed {
        fake_ad::security::grant(txn, wk.head, &fake_ad::security::writeback_aces(&svc_sid))?;
    }
    for id in protect {
        fake_ad::security::protect(txn, id)?;
    }
    // The lab runs SDProp at start, so protected-group members (dave) are stamped at once.
    fake_ad::sdprop::run(txn)?;
    Ok(())
}
