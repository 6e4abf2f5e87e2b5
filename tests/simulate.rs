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
