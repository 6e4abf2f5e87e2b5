//! The default lab of DESIGN §7: three disconnected forests (contoso and fabrikam on cloud sync,
//! northwind on Connect Sync) with the same six teaching users in each.

use fake_ad::bootstrap::Policy;

use crate::spec::*;

/// The teaching users (DESIGN §7): what each shows is in the README.
/// The teaching users of DESIGN §7, the same in every domain.
pub fn teaching_users() -> Vec<UserSpec> {
    let user = |sam: &str,
                given: &str,
                surname: &str,
                groups: &[&str],
                states: &[UserState],
                roles: &[&str]| UserSpec {
        sam: sam.into(),
        given: given.into(),
        surname: surname.into(),
        ou: Some("Staff".into()),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        states: states.to_vec(),
        cloud_roles: roles.iter().map(|r| r.to_string()).collect(),
    };
    vec![
        user("alice", "Alice", "Archer", &[], &[], &[]),
        user("bob", "Bob", "Baker", &[], &[UserState::Locked], &[]),
        user("carol", "Carol", "Cruz", &[], &[UserState::Protected], &[]),
        user("dave", "Dave", "Dunn", &["Domain Admins"], &[], &[]),
        user("erin", "Erin", "Ellis", &[], &[UserState::Expired], &[]),
        user(
            "frank",
            "Frank",
            "Fox",
            &[],
            &[],
            &["Helpdesk Administrator"],
        ),
    ]
}

/// The lab's policy: the defaults with minimum age 0 and lockout 5 / 30 min / until unlocked.
fn lab_policy() -> Policy {
    Policy {
        min_age_days: 0,
        lockout_threshold: 5,
        lockout_window_min: 30,
        lockout_duration_min: 0,
        ..Policy::default()
    }
}

fn domain(dns: &str, netbios: &str, engine: Engine, dcs: &[&str], agents: u32) -> DomainSpec {
    DomainSpec {
        dns: dns.into(),
        netbios: netbios.into(),
        engine,
        dcs: dcs
            .iter()
            .map(|n| DcSpec {
                name: n.to_string(),
                site: "Default-First-Site-Name".into(),
                old_password_window_min: 0,
            })
            .collect(),
        policy: lab_policy(),
        ous: vec!["Staff".into()],
        users: teaching_users(),
        agents,
        writeback_aces: None,
    }
}

/// The default lab.
pub fn default_lab() -> LabSpec {
    LabSpec {
        name: "default".into(),
        tenant: TenantSpec {
            name: "contoso.onmicrosoft.example".into(),
            banned: Vec::new(),
            out_of_scope: Vec::new(),
        },
        start: None,
        timers: Default::default(),
        deployed: true,
        forests: vec![
            ForestSpec {
                domains: vec![domain(
                    "contoso.lab",
                    "CONTOSO",
                    Engine::CloudSync,
                    &["DC1", "DC2"],
                    2,
                )],
            },
            ForestSpec {
                domains: vec![domain(
                    "fabrikam.lab",
                    "FABRIKAM",
                    Engine::CloudSync,
                    &["DC1"],
                    1,
                )],
            },
            ForestSpec {
                domains: vec![domain(
                    "northwind.lab",
                    "NORTHWIND",
                    Engine::ConnectSync,
                    &["DC1"],
                    1,
                )],
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_lab_is_valid_and_round_trips() {
        let lab = default_lab();
        lab.validate().unwrap();
        let json = serde_json::to_string(&lab).unwrap();
        assert_eq!(serde_json::from_str::<LabSpec>(&json).unwrap(), lab);
    }

    #[test]
    fn no_display_name_token_is_in_a_fixture_password() {
        let pws = [
            crate::credentials::DEFAULT_ADMIN,
            crate::credentials::DEFAULT_USER,
            crate::credentials::DEFAULT_SERVICE,
        ];
        for u in teaching_users() {
            for tok in u
                .display_name()
                .split([' ', ',', '.', '-', '_', '#', '\t'])
                .filter(|t| t.len() >= 3)
            {
                for pw in pws {
                    assert!(
                        !pw.to_lowercase().contains(&tok.to_lowercase()),
                        "{tok} in {pw}"
                    );
                }
            }
        }
    }
}
