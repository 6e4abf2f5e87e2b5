//! Simulate mode's paused backend: the default lab on virtual time over the in-memory network,
//! the real agents included; the same seed gives the same audit log.

use std::time::Duration;

use runtime::AnyNet;
use secrecy::SecretString;
use sim::client::LabClient;
use sim::default_lab;
use sim::simulate::{SimLab, runtime};

const ADMIN_PW: &str = "Lab-Admin-Passw0rd1";

/// One run: an admin reset of alice written back, checked by a bind, then an idle virtual hour.
/// Returns the audit log as JSON and the virtual time at the end.
fn run(seed: u64) -> (String, String) {
    let rt = runtime().unwrap();
    rt.block_on(async {
        let s = SimLab::start(default_lab(), seed, true).await.unwrap();
        let client = LabClient::new(&s.lab, AnyNet::Mem(s.net.clone())).unwrap();
        let admin = SecretString::from(ADMIN_PW);
        let token = client
            .token("helpdesk@contoso.onmicrosoft.example", &admin)
            .await
            .unwrap();
        let pw = SecretString::from("Sim-Reset-Passw0rd1");
        let op = client
            .graph_reset(&token, "alice@contoso.lab", &pw)
            .await
            .unwrap();
        assert_eq!(op["status"], "succeeded", "{op}");
        for dc in ["DC1", "DC2"] {
            let (rc, text) = client
                .bind("contoso.lab", dc, "alice@contoso.lab", &pw)
                .await
                .unwrap();
            assert!(rc == 49 && text.contains("data 773"), "{dc}: {rc} {text}");
        }
        s.run_for(Duration::from_secs(3600)).await;
        let audit = serde_json::to_string(&s.lab.cloud.cloud.flows.tenant.audit_log()).unwrap();
        let now = s.now().rfc3339();
        s.stop().await;
        (audit, now)
    })
}

#[test]
fn a_writeback_on_virtual_time_is_the_same_for_the_same_seed() {
    let (a, t) = run(1);
    assert!(
        t.starts_with("2026-01-05T09:00"),
        "an hour after the start: {t}"
    );
    assert!(a.contains("Reset password (by admin)"), "{a}");
    let (b, u) = run(1);
    assert_eq!((&a, &t), (&b, &u), "the same seed, the same log");
    let (c, _) = run(2);
    assert_ne!(a, c, "another seed, other ids");
}

/// One row: operation, target, actor, status, code, whether the new password binds on-premises.
type Row<'a> = (
    fake_cloud::decision::Operation,
    &'a str,
    &'a sim::ops::Actor<'a>,
    &'a str,
    Option<&'a str>,
    bool,
);

/// Every operation of the decision table through its own route, on virtual time: how each ends
/// for the person, and what reached the DC.
#[test]
fn every_operation_through_its_route_on_virtual_time() {
    use fake_cloud::decision::Operation as Op;
    use sim::ops::{Actor, perform};
    let rt = runtime().unwrap();
    rt.block_on(async {
        let s = SimLab::start(default_lab(), 1, true).await.unwrap();
        let c = LabClient::new(&s.lab, AnyNet::Mem(s.net.clone())).unwrap();
        let admin_pw = SecretString::from(ADMIN_PW);
        let user_pw = SecretString::from("Lab-User-Passw0rd1");
        let helpdesk = Actor::Admin {
            upn: "helpdesk@contoso.onmicrosoft.example",
            password: &admin_pw,
        };
        let me = Actor::User { current: &user_pw };
        // (operation, target, actor, status, code, the new password binds on-premises)
        let rows: Vec<Row> = vec![
            (
                Op::SelfServiceReset,
                "alice@contoso.lab",
                &me,
                "succeeded",
                None,
                true,
            ),
            (
                Op::SelfServiceUnlockOnly,
                "bob@contoso.lab",
                &me,
                "succeeded",
                None,
                false,
            ),
            (
                Op::SelfServiceUnlockAndReset,
                "bob@fabrikam.lab",
                &me,
                "succeeded",
                None,
                true,
            ),
            (
                Op::VoluntaryChange,
                "alice@fabrikam.lab",
                &me,
                "succeeded",
                None,
                true,
            ),
            (
                Op::ForcedChange,
                "erin@contoso.lab",
                &me,
                "succeeded",
                None,
                true,
            ),
            (
                Op::EndUserPowerShellOrGraph,
                "frank@contoso.lab",
                &me,
                "succeeded",
                None,
                false,
            ),
            (
                Op::AdminCenterReset,
                "alice@northwind.lab",
                &helpdesk,
                "succeeded",
                None,
                true,
            ),
            (
                Op::MyStaffReset,
                "erin@fabrikam.lab",
                &helpdesk,
                "succeeded",
                None,
                true,
            ),
            (
                Op::GraphResetPassword,
                "carol@contoso.lab",
                &helpdesk,
                "failed",
                Some("SSPR_0029"),
                false,
            ),
            (
                Op::GraphPatchPasswordProfile,
                "alice@contoso.lab",
                &helpdesk,
                "refused",
                Some("Request_BadRequest"),
                false,
            ),
            (
                Op::PowerShellAdminReset,
                "frank@fabrikam.lab",
                &helpdesk,
                "succeeded",
                None,
                false,
            ),
            (
                Op::M365AdminCenterReset,
                "frank@northwind.lab",
                &helpdesk,
                "succeeded",
                None,
                false,
            ),
        ];
        for (i, (op, target, actor, status, code, binds)) in rows.into_iter().enumerate() {
            let new = SecretString::from(format!("Sim-Op-{i}-Passw0rd!"));
            let ended = perform(&c, op, target, actor, &new).await.unwrap();
            assert_eq!(
                (ended.status.as_str(), ended.code.as_deref()),
                (status, code),
                "{op:?} on {target}"
            );
            let domain = target.split('@').nth(1).unwrap();
            let (rc, text) = c.bind(domain, "DC1", target, &new).await.unwrap();
            // 0, or 773 after an admin's reset (must change): either way the DC has it.
            let has_it = rc == 0 || text.contains("data 773");
            assert_eq!(has_it, binds, "{op:?} on {target}: {rc} {text}");
        }
        s.stop().await;
    });
}
