//! Fine-grained password policies (facts §4.3): which PSO applies to a user, exposed as
//! msDS-ResultantPSO, and the effective policy (the PSO's, else the domain head's).

use crate::dit::Dit;
use crate::entry::Entry;
use crate::ops::uac;
use crate::policy::EffectivePolicy;
use crate::schema::{known, schema};
use crate::value::{EntryId, Value};

/// The PSO that applies to `user`: a directly linked PSO beats any group-linked one; among
/// candidates the lowest precedence wins, ties broken by the smaller objectGUID (bytewise).
pub fn resultant_pso(dit: &Dit, user: EntryId) -> Option<EntryId> {
    let k = known();
    let u = dit.get(user)?;
    if u.int(k.uac).unwrap_or(0) & uac::NORMAL == 0 {
        return None;
    }
    let container = crate::ops::resolve(
        dit,
        &format!("CN=Password Settings Container,CN=System,{}", dit.base_dn()),
    )
    .ok()?;
    let applies_to = schema().id("msDS-PSOAppliesTo");
    let precedence = schema().id("msDS-PasswordSettingsPrecedence");
    let groups = transitive_groups(dit, user);
    let mut direct = Vec::new();
    let mut via_group = Vec::new();
    for pso in dit.children(container) {
        let Some(p) = dit.get(pso) else { continue };
        if !p.is("msDS-PasswordSettings") {
            continue;
        }
        let targets = p.get(applies_to);
        let key = (p.int(precedence).unwrap_or(i64::MAX), guid_bytes(p), pso);
        if targets.contains(&Value::Dn(user)) {
            direct.push(key);
        } else if targets
            .iter()
            .any(|t| matches!(t, Value::Dn(g) if groups.contains(g)))
        {
            via_group.push(key);
        }
    }
    let pick = if direct.is_empty() { via_group } else { direct };
    pick.into_iter().min().map(|(_, _, id)| id)
}

fn guid_bytes(e: &Entry) -> Vec<u8> {
    match e.first(known().object_guid) {
        Some(Value::Bytes(b)) => b.to_vec(),
        _ => Vec::new(),
    }
}

fn transitive_groups(dit: &Dit, user: EntryId) -> std::collections::BTreeSet<EntryId> {
    let mut seen = std::collections::BTreeSet::new();
    let mut queue: Vec<EntryId> = dit.groups_of(user).collect();
    while let Some(g) = queue.pop() {
        if seen.insert(g) {
            queue.extend(dit.groups_of(g));
        }
    }
    seen
}

/// The policy in force for `user` (its resultant PSO's, else the domain head's).
pub fn effective(dit: &Dit, user: EntryId) -> EffectivePolicy {
    if let Some(p) = resultant_pso(dit, user).and_then(|p| dit.get(p)) {
        return EffectivePolicy::from_pso(p);
    }
    match dit.root().and_then(|r| dit.get(r)) {
        Some(head) => EffectivePolicy::from_domain_head(head),
        None => EffectivePolicy::from_domain_head(dit.get(user).expect("user exists")),
    }
}
