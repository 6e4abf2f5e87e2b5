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

/// The tutorial's start: an undeployed lab (no writeback rights, options off, no agent), deployed
/// through the real commands and routes on virtual time; then contoso's agents crash (SSPR_0030)
/// and come back as themselves.
#[test]
fn an_undeployed_lab_is_deployed_and_its_agents_crash_and_return() {
    use sim::ops::{Actor, perform};
    let rt = runtime().unwrap();
    rt.block_on(async {
        let mut spec = default_lab();
        spec.deployed = false;
        let s = SimLab::start(spec, 1, true).await.unwrap();
        let lab = &s.lab;
        let net = AnyNet::Mem(s.net.clone());
        let c = LabClient::new(lab, net.clone()).unwrap();
        let admin_pw = SecretString::from(ADMIN_PW);
        let helpdesk = Actor::Admin {
            upn: "helpdesk@contoso.onmicrosoft.example",
            password: &admin_pw,
        };
        let op = fake_cloud::decision::Operation::GraphResetPassword;
        assert!(lab.agents.iter().all(|a| !a.is_running()));
        let new = SecretString::from("Undeployed-Passw0rd1");
        let ended = perform(&c, op, "alice@contoso.lab", &helpdesk, &new)
            .await
            .unwrap();
        assert!(!ended.succeeded(), "{ended:?}");

        // Deploy contoso: rights on the root, the agents, the integration options, the domain's
        // cloud sync flag.
        let dc1 = lab.endpoint("contoso.lab", "DC1").unwrap();
        let ca = lab.ca.cert_pem();
        let access = agent::permissions::DirAccess {
            ldaps: dc1.ldaps,
            host: &dc1.dc.host,
            ca_pem: ca,
            admin: "CONTOSO\\Administrator",
            password: &admin_pw,
            base_dn: "DC=contoso,DC=lab",
            service_account: "CN=provAgentgMSA,CN=Managed Service Accounts,DC=contoso,DC=lab",
        };
        let g = agent::permissions::grant_on(&net, &access, None, false, &lab.clock)
            .await
            .unwrap();
        assert_eq!(g.added, 5);
        // The inherited ACEs reach alice once the descriptor propagator has run: the realistic
        // timers start it up to an hour after the change.
        s.run_for(Duration::from_secs(3700)).await;
        // An agent registers first: the cloud sync option needs one (NoCloudSyncAgent).
        let contoso: Vec<_> = lab
            .agents
            .iter()
            .filter(|a| a.domain == "contoso.lab")
            .collect();
        for a in &contoso {
            a.start();
            assert!(a.ready(Duration::from_secs(30)).await);
        }
        let hybrid = c
            .token("hybridadmin@contoso.onmicrosoft.example", &admin_pw)
            .await
            .unwrap();
        let settings = serde_json::json!({
            "sspr": "all", "writeback_for_synced": true,
            "writeback_with_cloud_sync": true, "unlock_without_reset": true,
        });
        let (st, _, b) = c
            .call("PUT", "/lab/settings", Some(&hybrid), Some(&settings))
            .await
            .unwrap();
        assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
        let relay = format!("https://{}/relay/v1", lab.cloud.https);
        let token = format!(
            "https://{}/contoso.onmicrosoft.example/oauth2/v2.0/token",
            lab.cloud.https
        );
        let access = agent::config::CloudAccess {
            relay: &relay,
            token_endpoint: &token,
            ca_pem: ca,
            admin: "hybridadmin@contoso.onmicrosoft.example",
            password: &admin_pw,
        };
        agent::config::set_writeback_on(
            net.clone(),
            &access,
            "contoso.lab",
            true,
            lab.clock.clone(),
        )
        .await
        .unwrap();
        let new = SecretString::from("Deployed-Passw0rd1");
        let ended = perform(&c, op, "alice@contoso.lab", &helpdesk, &new)
            .await
            .unwrap();
        assert!(ended.succeeded(), "{ended:?}");

        // Both agents crash: after the relay's health window the cloud refuses with SSPR_0030.
        for a in &contoso {
            a.crash().await;
        }
        s.run_for(Duration::from_secs(120)).await;
        let other = SecretString::from("Crashed-Passw0rd1");
        let ended = perform(&c, op, "alice@contoso.lab", &helpdesk, &other)
            .await
            .unwrap();
        assert_eq!(ended.code.as_deref(), Some("SSPR_0030"), "{ended:?}");
        let ids: Vec<_> = contoso.iter().map(|a| a.status().agent_id).collect();
        for a in &contoso {
            a.start();
            assert!(a.ready(Duration::from_secs(30)).await);
        }
        let again: Vec<_> = contoso.iter().map(|a| a.status().agent_id).collect();
        assert_eq!(ids, again, "they resumed their registrations");
        let ended = perform(&c, op, "alice@contoso.lab", &helpdesk, &other)
            .await
            .unwrap();
        assert!(ended.succeeded(), "{ended:?}");
        s.stop().await;
    });
}

/// The README's example, as written there.
#[test]
fn alice_resets_on_virtual_time() {
    use sim::ops::{Actor, perform};
    runtime().unwrap().block_on(async {
        let s = SimLab::start(sim::default_lab(), 1, true).await.unwrap();
        let c = LabClient::new(&s.lab, AnyNet::Mem(s.net.clone())).unwrap();
        let me = SecretString::from("Lab-User-Passw0rd1");
        let new = SecretString::from("Virtual-Passw0rd1");
        let op = fake_cloud::decision::Operation::SelfServiceReset;
        let ended = perform(
            &c,
            op,
            "alice@contoso.lab",
            &Actor::User { current: &me },
            &new,
        )
        .await
        .unwrap();
        assert!(ended.succeeded());
        assert_eq!(
            c.bind("contoso.lab", "DC2", "alice@contoso.lab", &new)
                .await
                .unwrap()
                .0,
            0
        );
        s.run_for(std::time::Duration::from_secs(86_400)).await;
        s.stop().await;
    });
}
