//! The real writeback agent end to end (issue [E], core): the default lab with its in-process
//! agents; Graph and the SSPR portal over plain HTTP; each write checked by a bind over LDAPS and,
//! for refusals, by the DC's refusal log joined on the job id.

mod common;

use std::net::SocketAddr;

use common::*;
use serde_json::{Value, json};

fn cloud(lab: &Running) -> SocketAddr {
    lab.lab().cloud.http
}

fn ropc(lab: &Running, user: &str, pw: &str) -> String {
    let body = format!(
        "grant_type=password&client_id=04b07795-8ddb-461a-bbee-02f9e1bf7b46&username={}&password={pw}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
        user.replace('@', "%40")
    );
    let (st, _, b) = http(
        cloud(lab),
        "POST",
        "/contoso.onmicrosoft.example/oauth2/v2.0/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &body,
    );
    assert_eq!(st, 200, "{b}");
    json_of(&b)["access_token"].as_str().unwrap().to_string()
}

fn call(
    lab: &Running,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, String, String) {
    let b = body.map(|v| v.to_string()).unwrap_or_default();
    let auth = format!("Bearer {token}");
    http(
        cloud(lab),
        method,
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &b,
    )
}

/// Graph resetPassword by `token` for `user`; waits for the operation's terminal state.
fn graph_reset(lab: &Running, token: &str, user: &str, pw: &str) -> Value {
    let (st, head, b) = call(
        lab,
        "POST",
        &format!(
            "/v1.0/users/{user}/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword"
        ),
        token,
        Some(json!({ "newPassword": pw })),
    );
    assert_eq!(st, 202, "{b}");
    let location = head
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .expect("a Location header")
        .to_string();
    let path = &location[location.find("/v1.0/").unwrap()..];
    for _ in 0..500 {
        let (st, _, b) = call(lab, "GET", path, token, None);
        assert_eq!(st, 200, "{b}");
        let v = json_of(&b);
        if v["status"] == "succeeded" || v["status"] == "failed" {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the operation never finished");
}

/// A simple bind over LDAPS to `domain`'s DC1: (code, diagnostic).
fn bind(lab: &Running, domain: &str, name: &str, pw: &str) -> (u32, String) {
    let e = lab.lab().endpoint(domain, "DC1").unwrap();
    let settings = ldap3::LdapConnSettings::new()
        .set_config(lab.lab().ca.client_config().unwrap())
        .set_conn_timeout(std::time::Duration::from_secs(10));
    let mut c = ldap3::LdapConn::with_settings(settings, &format!("ldaps://{}", e.ldaps)).unwrap();
    let r = c.simple_bind(name, pw).unwrap();
    (r.rc, r.text)
}

fn has_data(text: &str, data: &str) -> bool {
    text.contains(&format!("data {data}"))
}

fn helpdesk(lab: &Running) -> String {
    ropc(lab, "helpdesk@contoso.onmicrosoft.example", ADMIN_PW)
}

#[test]
fn the_ready_file_lists_healthy_agents() {
    let lab = Running::default();
    let ready = lab.lab().ready_file();
    let mut seen: Vec<(String, String, bool)> = ready
        .agents
        .iter()
        .map(|a| (a.domain.clone(), a.engine.clone(), a.connected))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("contoso.lab".into(), "cloud-sync".into(), true),
            ("contoso.lab".into(), "cloud-sync".into(), true),
            ("fabrikam.lab".into(), "cloud-sync".into(), true),
            ("northwind.lab".into(), "connect-sync".into(), true),
        ]
    );
    let relay = &lab.lab().cloud.cloud.flows.relay;
    assert_eq!(relay.healthy_agents("contoso.lab").len(), 2);
    assert_eq!(relay.healthy_agents("northwind.lab").len(), 1);
    let json = serde_json::to_string(&ready).unwrap();
    assert!(json.contains("\"agents\""), "{json}");
}

#[test]
fn graph_admin_resets_write_back_through_the_real_agent() {
    let lab = Running::default();
    let token = helpdesk(&lab);
    // alice: written on-premises; an admin reset means must change at next logon (773), and the
    // old password no longer binds (52e).
    let op = graph_reset(&lab, &token, "alice@contoso.lab", "Agent-Reset-Passw0rd1");
    assert_eq!(op["status"], "succeeded", "{op}");
    let (rc, text) = bind(
        &lab,
        "contoso.lab",
        "alice@contoso.lab",
        "Agent-Reset-Passw0rd1",
    );
    assert_eq!(rc, 49, "{text}");
    assert!(has_data(&text, "773"), "must change: {text}");
    let (rc, text) = bind(&lab, "contoso.lab", "alice@contoso.lab", USER_PW);
    assert!(rc == 49 && has_data(&text, "52e"), "{rc} {text}");

    // carol: inheritance disabled → 50 on-premises → SSPR_0029; the DC's refusal carries the job id.
    let op = graph_reset(&lab, &token, "carol@contoso.lab", "Agent-Reset-Passw0rd2");
    assert_eq!(op["status"], "failed", "{op}");
    assert_eq!(op["statusDetail"], "SSPR_0029", "{op}");
    let control = lab.lab().control;
    let (st, _, b) = http(control, "GET", "/control/refusals/contoso.lab/DC1", &[], "");
    assert_eq!(st, 200, "{b}");
    let refusals = json_of(&b);
    let carol = refusals
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|r| r["object"].as_str().unwrap_or("").starts_with("CN=Carol"))
        .unwrap_or_else(|| panic!("a refusal for carol: {refusals}"));
    assert_eq!(carol["code"], 50);
    let job_id = carol["job_id"]
        .as_str()
        .expect("the job id control reached the DC");
    let job = lab
        .lab()
        .cloud
        .cloud
        .flows
        .relay
        .job(&wire::types::JobId::new(job_id).unwrap())
        .expect("the refused job is the relay's");
    let result = job.result.expect("a result");
    assert_eq!(result.outcome, wire::types::Outcome::AccessDenied);
    let onprem = result.onprem.expect("the DC's answer");
    assert_eq!((onprem.ldap_code, onprem.win32), (50, Some(0x2098)));
    assert_eq!(result.event_id, Some(33004));
    assert_eq!(result.dc.as_deref(), Some("dc1.contoso.lab"));
    let hops: Vec<&str> = result.timings.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        hops,
        [
            "ack",
            "open",
            "ldap_connect",
            "ldap_search",
            "ldap_modify",
            "agent_total"
        ]
    );
    // carol's password did not change.
    assert_eq!(bind(&lab, "contoso.lab", "carol@contoso.lab", USER_PW).0, 0);

    // dave: adminCount=1 after SDProp → refused → SSPR_0029.
    let op = graph_reset(&lab, &token, "dave@contoso.lab", "Agent-Reset-Passw0rd3");
    assert_eq!(op["status"], "failed", "{op}");
    assert_eq!(op["statusDetail"], "SSPR_0029", "{op}");
    assert_eq!(bind(&lab, "contoso.lab", "dave@contoso.lab", USER_PW).0, 0);

    // northwind (Connect Sync, the MSOL account) writes back too.
    let op = graph_reset(&lab, &token, "alice@northwind.lab", "Agent-Reset-Passw0rd4");
    assert_eq!(op["status"], "succeeded", "{op}");
    let (rc, text) = bind(
        &lab,
        "northwind.lab",
        "alice@northwind.lab",
        "Agent-Reset-Passw0rd4",
    );
    assert!(rc == 49 && has_data(&text, "773"), "{rc} {text}");
    // fabrikam's single agent as well.
    let op = graph_reset(&lab, &token, "erin@fabrikam.lab", "Agent-Reset-Passw0rd5");
    assert_eq!(op["status"], "succeeded", "{op}");
    let (rc, text) = bind(
        &lab,
        "fabrikam.lab",
        "erin@fabrikam.lab",
        "Agent-Reset-Passw0rd5",
    );
    assert!(rc == 49 && has_data(&text, "773"), "{rc} {text}");
}

#[test]
fn the_sspr_portal_unlocks_bob_through_the_real_agent() {
    let lab = Running::default();
    let c = cloud(&lab);
    let post = |path: &str, body: Value| {
        let (st, _, b) = http(
            c,
            "POST",
            path,
            &[("Content-Type", "application/json")],
            &body.to_string(),
        );
        (st, b)
    };
    // bob is locked out: a bind with his right password says 775.
    let (rc, text) = bind(&lab, "contoso.lab", "bob@contoso.lab", USER_PW);
    assert!(rc == 49 && has_data(&text, "775"), "{rc} {text}");
    let (st, b) = post("/lab/sspr/start", json!({ "user": "bob@contoso.lab" }));
    assert_eq!(st, 200, "{b}");
    let flow = json_of(&b)["flow"].as_str().unwrap().to_string();
    post(&format!("/lab/sspr/{flow}/code"), json!({}));
    let mails = json_of(&http(c, "GET", "/lab/mailbox/bob@contoso.lab", &[], "").2);
    let code = mails["value"][0]["code"].as_str().unwrap().to_string();
    assert_eq!(
        post(&format!("/lab/sspr/{flow}/verify"), json!({ "code": code })).0,
        200
    );
    let (st, b) = post(
        &format!("/lab/sspr/{flow}/reset"),
        json!({ "newPassword": "Portal-Agent-Passw0rd1" }),
    );
    assert_eq!(st, 202, "{b}");
    let mut status = Value::Null;
    for _ in 0..500 {
        status = json_of(&http(c, "GET", &format!("/lab/sspr/{flow}"), &[], "").2);
        if status["status"] != "running" && status["status"] != "notStarted" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(status["status"], "succeeded", "{status}");
    // Unlocked, and the new password binds (a self-service reset does not force a change).
    assert_eq!(
        bind(
            &lab,
            "contoso.lab",
            "bob@contoso.lab",
            "Portal-Agent-Passw0rd1"
        ),
        (0, String::new())
    );
}

#[test]
fn writeback_disable_and_enable_through_the_agent_command() {
    let lab = Running::default();
    let r = lab.lab().ready_file();
    let password = secrecy::SecretString::from(ADMIN_PW.to_string());
    let ca = lab.lab().ca.cert_pem().to_string();
    let access = |admin: &'static str| {
        (
            r.relay.clone().unwrap(),
            r.token_endpoint.clone().unwrap(),
            admin,
        )
    };
    let set = |admin: &'static str, enabled: bool| {
        let (relay, token, admin) = access(admin);
        let a = agent::config::CloudAccess {
            relay: &relay,
            token_endpoint: &token,
            ca_pem: &ca,
            admin,
            password: &password,
        };
        lab.rt.block_on(agent::config::set_writeback(
            &a,
            "contoso.lab",
            enabled,
            lab.lab().clock.clone(),
        ))
    };
    // A Helpdesk Administrator may not; a Hybrid Identity Administrator may.
    assert_eq!(
        set("helpdesk@contoso.onmicrosoft.example", false)
            .unwrap_err()
            .status(),
        Some(403)
    );
    assert_eq!(
        set("hybridadmin@contoso.onmicrosoft.example", false).unwrap()["enabled"],
        false
    );
    let token = helpdesk(&lab);
    let (st, _, b) = call(
        &lab,
        "POST",
        "/v1.0/users/alice@contoso.lab/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword",
        &token,
        Some(json!({ "newPassword": "Flag-Off-Passw0rd1" })),
    );
    assert_eq!(st, 400);
    assert!(b.contains("SSPR_0010"), "{b}");
    assert_eq!(
        set("hybridadmin@contoso.onmicrosoft.example", true).unwrap()["enabled"],
        true
    );
    assert_eq!(
        graph_reset(&lab, &token, "alice@contoso.lab", "Flag-On-Passw0rd1")["status"],
        "succeeded"
    );
}

#[test]
fn permissions_check_and_grant_on_one_object() {
    let lab = Running::default();
    let r = lab.lab().ready_file();
    let d = r.domain("contoso.lab").unwrap().clone();
    let ca = lab.lab().ca.cert_pem().to_string();
    let password = secrecy::SecretString::from(ADMIN_PW.to_string());
    let access = agent::permissions::DirAccess {
        ldaps: d.dcs[0].ldaps.parse().unwrap(),
        host: &d.dcs[0].host,
        ca_pem: &ca,
        admin: "CONTOSO\\Administrator",
        password: &password,
        base_dn: &d.base_dn,
        service_account: &d.service_account,
    };
    let clock = lab.lab().clock.clone();
    let check = lab
        .rt
        .block_on(agent::permissions::check(&access, &clock))
        .unwrap();
    assert!(
        check.missing.is_empty(),
        "the default lab grants every writeback right: {:?}",
        check.missing
    );
    assert_eq!(check.aces_on_root.len(), 5);
    assert!(
        check
            .inheritance_disabled
            .iter()
            .any(|dn| dn.starts_with("CN=Carol Cruz"))
    );
    let token = helpdesk(&lab);
    assert_eq!(
        graph_reset(&lab, &token, "carol@contoso.lab", "Before-Grant-Passw0rd1")["status"],
        "failed"
    );
    // The fix the product documents for one protected user: grant on the object itself.
    let g = lab
        .rt
        .block_on(agent::permissions::grant(
            &access,
            Some("CN=Carol Cruz,OU=Staff,DC=contoso,DC=lab"),
            false,
            &clock,
        ))
        .unwrap();
    assert_eq!(g.added, 4);
    assert_eq!(
        graph_reset(&lab, &token, "carol@contoso.lab", "After-Grant-Passw0rd2")["status"],
        "succeeded"
    );
    // Granting again adds nothing.
    let again = lab
        .rt
        .block_on(agent::permissions::grant(&access, None, false, &clock))
        .unwrap();
    assert_eq!(again.added, 0);
}
