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
    assert_eq!(g.changes.len(), 4);
    assert!(
        g.changes[0]
            .starts_with("Reset Password: (OA;CI;CR;00299570-246d-11d0-a768-00aa006e0529;;"),
        "{:?}",
        g.changes
    );
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

/// `sspr-lab agent run` as a child process; killed (SIGKILL) when dropped.
struct AgentProcess {
    child: std::process::Child,
    out: std::io::BufReader<std::process::ChildStdout>,
}

impl AgentProcess {
    /// Starts `agent run` for `domain` against the lab's ready file and waits for its announce line.
    fn start(
        ready: &std::path::Path,
        domain: &str,
        state: &std::path::Path,
    ) -> (AgentProcess, Value) {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sspr-lab"))
            .args(["agent", "run", "--lab"])
            .arg(ready)
            .args(["--domain", domain, "--ldap-timeout", "120", "--state"])
            .arg(state)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sspr-lab starts");
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "the agent exited before it was ready");
        (AgentProcess { child, out }, json_of(&line))
    }

    /// SIGTERM, then the exit status.
    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let st = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(st.success());
        let _ = &mut self.out;
        self.child.wait().unwrap()
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The event IDs of a JSONL event log, with each line.
fn event_log(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(json_of)
        .collect()
}

fn ids(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["id"].as_u64().unwrap()).collect()
}

/// A lab without in-process agents, its ready file written to a temporary directory.
fn lab_without_agents(time_scale: f64) -> (Running, tempfile::TempDir) {
    let lab = Running::start(sim::LabOptions {
        agents: false,
        time_scale,
        ..sim::LabOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    lab.lab()
        .ready_file()
        .write_atomic(&dir.path().join("ready.json"))
        .unwrap();
    (lab, dir)
}

#[test]
fn agent_run_as_its_own_process_writes_back_and_logs_the_products_events() {
    let (lab, dir) = lab_without_agents(1.0);
    let state = dir.path().join("agent");
    let (agent, hello) = AgentProcess::start(&dir.path().join("ready.json"), "contoso.lab", &state);
    assert_eq!(hello["domain"], "contoso.lab");
    assert_eq!(hello["engine"], "cloud-sync");
    let relay = &lab.lab().cloud.cloud.flows.relay;
    assert_eq!(relay.healthy_agents("contoso.lab").len(), 1);

    let token = helpdesk(&lab);
    let op = graph_reset(&lab, &token, "alice@contoso.lab", "Process-Reset-Passw0rd1");
    assert_eq!(op["status"], "succeeded", "{op}");
    let (rc, text) = bind(
        &lab,
        "contoso.lab",
        "alice@contoso.lab",
        "Process-Reset-Passw0rd1",
    );
    assert!(rc == 49 && has_data(&text, "773"), "{rc} {text}");
    let op = graph_reset(&lab, &token, "carol@contoso.lab", "Process-Reset-Passw0rd2");
    assert_eq!(op["statusDetail"], "SSPR_0029", "{op}");

    let status = agent.terminate();
    assert!(status.success(), "a graceful stop exits 0: {status}");
    let log = state.join("agent-contoso.lab-0.events.jsonl");
    let events = event_log(&log);
    let seen = ids(&events);
    // Key made, onboarding with the admin's token, listening, one success, one refusal, stopped.
    for want in [
        31018, 31004, 31017, 31005, 31015, 31019, 31009, 31010, 31011, 33004, 31016,
    ] {
        assert!(seen.contains(&want), "event {want} missing from {seen:?}");
    }
    let denied = events.iter().find(|e| e["id"] == 33004).unwrap();
    assert_eq!(denied["user"], "carol");
    assert_eq!(denied["ldap_code"], 50);
    assert_eq!(denied["source"], "AADConnectProvisioningAgent");
    let text = std::fs::read_to_string(&log).unwrap();
    for pw in [
        "Process-Reset-Passw0rd",
        USER_PW,
        ADMIN_PW,
        "Lab-Service-Passw0rd1",
    ] {
        assert!(!text.contains(pw), "a password in the event log");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in [&log, &state.join("agent-contoso.lab-0.json")] {
            let mode = std::fs::metadata(f).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", f.display());
        }
    }
}

/// alice's uSNChanged on contoso's DC1.
fn usn_changed(lab: &Running) -> String {
    let mut c = lab.admin();
    let (entries, _) = c
        .search(
            ALICE,
            ldap3::Scope::Base,
            "(objectClass=*)",
            vec!["uSNChanged"],
        )
        .unwrap()
        .success()
        .unwrap();
    let e = ldap3::SearchEntry::construct(entries.into_iter().next().unwrap());
    e.attrs["uSNChanged"][0].clone()
}

#[test]
fn an_agent_killed_mid_job_never_writes_twice_and_resumes_as_itself() {
    // Ten lab seconds per real second: the cloud's 60 s deadline is 6 s of waiting.
    let (lab, dir) = lab_without_agents(10.0);
    let state = dir.path().join("agent");
    let ready = dir.path().join("ready.json");
    let (agent, hello) = AgentProcess::start(&ready, "contoso.lab", &state);
    let token = helpdesk(&lab);
    let op = graph_reset(&lab, &token, "alice@contoso.lab", "Killed-Passw0rd-One1");
    assert_eq!(op["status"], "succeeded", "{op}");

    let usn_before = usn_changed(&lab);
    // DC1 now holds every write 30 lab seconds (3 s real) before applying it.
    let control = lab.lab().control;
    let (st, _, b) = http(
        control,
        "POST",
        "/control/dc/contoso.lab/DC1/delay",
        &[("Content-Type", "application/json")],
        r#"{"modify_ms": 30000}"#,
    );
    assert_eq!(st, 200, "{b}");
    let (st, head, b) = call(
        &lab,
        "POST",
        "/v1.0/users/alice@contoso.lab/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword",
        &token,
        Some(json!({ "newPassword": "Killed-Passw0rd-Two2" })),
    );
    assert_eq!(st, 202, "{b}");
    let location = head
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap()
        .to_string();
    let path = location[location.find("/v1.0/").unwrap()..].to_string();
    let parts: Vec<&str> = path.split('/').collect();
    let (user, opn) = (
        parts[3].parse::<uuid::Uuid>().unwrap(),
        parts[6]
            .split('?')
            .next()
            .unwrap()
            .parse::<uuid::Uuid>()
            .unwrap(),
    );
    let flows = &lab.lab().cloud.cloud.flows;
    let job = (0..500)
        .find_map(|_| {
            let j = flows.tenant.operation(user, opn).and_then(|o| o.job);
            let acked = j.as_ref().and_then(|id| {
                let s = flows.relay.job(&wire::types::JobId::new(id).unwrap())?;
                (s.phase == fake_cloud::relay::JobPhase::Acked).then(|| id.clone())
            });
            if acked.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            acked
        })
        .expect("the agent acks the job");
    // The Modify leaves the agent right after the ack; DC1 holds it. Kill the agent meanwhile.
    std::thread::sleep(std::time::Duration::from_millis(500));
    drop(agent);

    // DC1 applies the one Modify it received once its delay ends: alice's uSNChanged moves once.
    // (Polling with binds would lock her out: five bad passwords.)
    let applied = (0..100).any(|_| {
        let ok = usn_changed(&lab) != usn_before;
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        ok
    });
    assert!(applied, "DC1 applied the in-flight Modify");
    let (rc, text) = bind(
        &lab,
        "contoso.lab",
        "alice@contoso.lab",
        "Killed-Passw0rd-Two2",
    );
    assert!(rc == 49 && has_data(&text, "773"), "{rc} {text}");

    // The same agent comes back (its saved registration), and the relay never offers it the job
    // again: the cloud ends it in doubt at its deadline (SSPR_0030), with one attempt only.
    let (agent, again) = AgentProcess::start(&ready, "contoso.lab", &state);
    assert_eq!(
        again["agent"], hello["agent"],
        "it resumed as the same agent"
    );
    let op = (0..300)
        .find_map(|_| {
            let o = flows.tenant.operation(user, opn).unwrap();
            if matches!(
                o.status,
                fake_cloud::tenant::OpStatus::Failed | fake_cloud::tenant::OpStatus::Succeeded
            ) {
                return Some(o);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            None
        })
        .expect("the operation ends at its deadline");
    assert_eq!(op.status_detail.as_deref(), Some("SSPR_0030"), "{op:?}");
    let status = flows
        .relay
        .job(&wire::types::JobId::new(&job).unwrap())
        .unwrap();
    assert_eq!(status.attempt, 1, "offered once");
    assert!(status.result.unwrap().outcome.is_in_doubt());
    let starts = event_log(&state.join("agent-contoso.lab-0.events.jsonl"))
        .iter()
        .filter(|e| e["job"] == job.as_str() && e["id"] == 31009)
        .count();
    assert_eq!(starts, 1, "the job was started once, before the kill");

    // The restarted agent writes the next reset normally.
    let (st, _, b) = http(
        control,
        "POST",
        "/control/dc/contoso.lab/DC1/delay",
        &[("Content-Type", "application/json")],
        r#"{"modify_ms": 0}"#,
    );
    assert_eq!(st, 200, "{b}");
    let op = graph_reset(&lab, &token, "alice@contoso.lab", "Killed-Passw0rd-Three3");
    assert_eq!(op["status"], "succeeded", "{op}");
    let (rc, text) = bind(
        &lab,
        "contoso.lab",
        "alice@contoso.lab",
        "Killed-Passw0rd-Three3",
    );
    assert!(rc == 49 && has_data(&text, "773"), "{rc} {text}");
    drop(agent);
}
