//! From a scenario to the `LabSpec` the lab is built from: the resolved lab section, its generated
//! users with their starting states drawn from the seed, the custom banned list and the users
//! outside the sync scope; and the scenario features this runner does not model yet, refused with
//! a clear error rather than ignored.

use rand::RngExt;

use crate::scenario::model::{Backend, Scenario};
use crate::spec::{LabSpec, UserSpec, UserState};

use super::RunError;

/// The lab spec of `s`.
pub fn spec(s: &Scenario) -> Result<LabSpec, RunError> {
    unsupported(s)?;
    let mut spec = s.lab_spec().map_err(RunError::Scenario)?;
    let mut rng = runtime::stream(runtime::Seed(s.seed), "runner/users");
    for g in &s.lab.generated {
        let Some(d) = spec
            .forests
            .iter_mut()
            .flat_map(|f| f.domains.iter_mut())
            .find(|d| d.dns.eq_ignore_ascii_case(&g.domain))
        else {
            return Err(RunError::Scenario(format!(
                "lab.generated: no domain {}",
                g.domain
            )));
        };
        for ou in &g.ous {
            if !d.ous.iter().any(|o| o.eq_ignore_ascii_case(ou)) {
                d.ous.push(ou.clone());
            }
        }
        let shares = g.shares();
        for n in 1..=g.count {
            let sam = g.sam(n);
            let ou = (!g.ous.is_empty()).then(|| g.ou_of(n).to_string());
            // One draw per user picks at most one state, the shares being disjoint.
            let x: f64 = rng.random_range(0.0..1.0);
            let mut acc = 0.0;
            let mut picked = None;
            for (name, share) in shares {
                acc += share;
                if x < acc {
                    picked = Some(name);
                    break;
                }
            }
            let mut user = UserSpec {
                sam: sam.clone(),
                given: "Gen".into(),
                surname: format!("Person{n}"),
                ou,
                groups: g.groups.clone(),
                states: Vec::new(),
                cloud_roles: Vec::new(),
            };
            match picked {
                Some("admins") => user.groups.push("Domain Admins".into()),
                Some("locked") => user.states.push(UserState::Locked),
                Some("expired") => user.states.push(UserState::Expired),
                Some("protected") => user.states.push(UserState::Protected),
                Some("disabled") => user.states.push(UserState::Disabled),
                Some("out_of_scope") => spec.tenant.out_of_scope.push(format!("{sam}@{}", d.dns)),
                _ => {}
            }
            d.users.push(user);
        }
    }
    // Listed users outside a sync scope.
    let scoped: Vec<String> = spec
        .forests
        .iter()
        .flat_map(|f| f.domains.iter())
        .flat_map(|d| {
            d.users
                .iter()
                .filter(|u| !s.lab.in_scope(&d.dns, u.ou.as_deref(), &u.sam))
                .map(move |u| format!("{}@{}", u.sam, d.dns))
        })
        .collect();
    for upn in scoped {
        if !spec.tenant.out_of_scope.contains(&upn) {
            spec.tenant.out_of_scope.push(upn);
        }
    }
    for d in spec.forests.iter_mut().flat_map(|f| f.domains.iter_mut()) {
        if let Some(o) = s
            .lab
            .domains
            .iter()
            .find(|o| o.dns.eq_ignore_ascii_case(&d.dns))
        {
            d.writeback_aces = o.writeback_aces.or(d.writeback_aces);
        }
    }
    spec.tenant.banned = s.lab.cloud.banned.clone();
    spec.validate()
        .map_err(|e| RunError::Scenario(e.to_string()))?;
    Ok(spec)
}

/// The scenario features the paused backend does not model yet.
fn unsupported(s: &Scenario) -> Result<(), RunError> {
    let mut missing = Vec::new();
    if s.backend == Backend::Turmoil {
        missing.push("the turmoil backend (partitions, latency distributions)".to_string());
    }
    if !s.lab.psos.is_empty() {
        missing.push("lab.psos".into());
    }
    if !s.lab.acl.is_empty() {
        missing.push("lab.acl".into());
    }
    for step in &s.timeline {
        use crate::scenario::Action;
        if matches!(
            step.action,
            Action::Partition(_)
                | Action::LatencySpike(_)
                | Action::GrantAce(_)
                | Action::RemoveAce(_)
                | Action::DisableInheritance(_)
        ) {
            missing.push(format!("the timeline action {}", step.action.key()));
        }
    }
    missing.dedup();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(RunError::Unsupported {
            scenario: s.name.clone(),
            what: missing.join(", "),
        })
    }
}
