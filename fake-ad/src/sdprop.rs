//! SDProp (facts §3.3): members of the protected groups, directly or through nested groups, and
//! the protected accounts get adminCount=1 and AdminSDHolder's descriptor with inheritance
//! disabled. Leaving a group undoes nothing (the stale adminCount of KB 817433).

use std::collections::BTreeSet;

use ad_types::Sid;

use crate::domain::Txn;
use crate::error::DirError;
use crate::schema::{known, schema};
use crate::security;
use crate::value::{EntryId, Value};

/// RIDs of the protected groups and accounts in the account domain.
const DOMAIN_RIDS: &[u32] = &[500, 502, 512, 516, 518, 519, 521];
/// RIDs of the protected groups in BUILTIN (S-1-5-32-…).
const BUILTIN_RIDS: &[u32] = &[544, 548, 549, 550, 551, 552];

/// The protected objects: the protected groups and accounts and every transitive member.
pub fn protected(txn: &Txn) -> BTreeSet<EntryId> {
    let dit = &txn.dit;
    let info = &txn.dc().domain.info;
    let mut roots = Vec::new();
    for rid in DOMAIN_RIDS {
        roots.extend(dit.by_sid(&info.sid.with_rid(*rid).to_bytes()));
    }
    for rid in BUILTIN_RIDS {
        roots.extend(
            dit.by_sid(
                &Sid {
                    authority: 5,
                    sub: vec![32, *rid],
                }
                .to_bytes(),
            ),
        );
    }
    let mut out = BTreeSet::new();
    while let Some(id) = roots.pop() {
        if !out.insert(id) {
            continue;
        }
        if let Some(e) = dit.get(id) {
            for v in e.get(known().member) {
                if let Value::Dn(m) = v {
                    roots.push(*m);
                }
            }
        }
    }
    out
}

/// Runs SDProp once on this DC's copy; returns how many objects it changed.
pub fn run(txn: &mut Txn) -> Result<usize, DirError> {
    let base = txn.dit.base_dn().to_string();
    let holder = crate::ops::resolve(&txn.dit, &format!("CN=AdminSDHolder,CN=System,{base}"))?;
    let Some(template) = txn.dit.get(holder).and_then(|h| h.sd.clone()) else {
        return Ok(0);
    };
    let mut stamped = (*template).clone();
    stamped.control |= ad_types::sd::SE_DACL_PROTECTED;
    let stamped = security::intern(stamped);
    let admin_count = schema().id("adminCount");
    let mut changed = 0;
    for id in protected(txn) {
        let Some(e) = txn.dit.get(id).cloned() else {
            continue;
        };
        if e.int(admin_count) == Some(1) && e.sd.as_ref() == Some(&stamped) {
            continue;
        }
        let mut e = (*e).clone();
        e.set_one(admin_count, Value::Int(1));
        e.sd = Some(stamped.clone());
        txn.put(e).map_err(|c| DirError::Other(c.to_string()))?;
        changed += 1;
    }
    Ok(changed)
}
