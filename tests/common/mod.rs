//! Shared helpers for the end-to-end tests: start a lab in-process, connect with the independent
//! `ldap3` client over LDAPS, StartTLS or plain LDAP.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use ldap3::{LdapConn, LdapConnSettings};
use sim::{Lab, LabOptions, default_lab};

pub const ADMIN_PW: &str = "Lab-Admin-Passw0rd1";
pub const USER_PW: &str = "Lab-User-Passw0rd1";
pub const ALICE: &str = "CN=Alice Archer,OU=Staff,DC=contoso,DC=lab";

/// A lab running on its own tokio runtime, so blocking ldap3 calls can run on the test thread.
pub struct Running {
    pub rt: tokio::runtime::Runtime,
    pub lab: Option<Lab>,
}

impl Running {
    pub fn start(mut opts: LabOptions) -> Running {
        if opts.propagation.is_none() {
            opts.propagation = Some(fake_ad::propagation::Propagation::immediate());
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let lab = rt
            .block_on(Lab::start(default_lab(), opts))
            .expect("lab starts");
        Running { rt, lab: Some(lab) }
    }

    /// The default lab with inline descriptor propagation (tests not about time).
    pub fn default() -> Running {
        Running::start(LabOptions::default())
    }

    pub fn lab(&self) -> &Lab {
        self.lab.as_ref().unwrap()
    }

    fn endpoint(&self, domain: &str, dc: &str) -> &sim::lab::DcEndpoint {
        self.lab().endpoint(domain, dc).expect("endpoint")
    }

    fn settings(&self) -> LdapConnSettings {
        LdapConnSettings::new()
            .set_config(self.lab().ca.client_config().unwrap())
            .set_conn_timeout(Duration::from_secs(10))
    }

    /// LDAPS to contoso DC1.
    pub fn ldaps(&self) -> LdapConn {
        let e = self.endpoint("contoso.lab", "DC1");
        LdapConn::with_settings(self.settings(), &format!("ldaps://{}", e.ldaps))
            .expect("ldaps connects")
    }

    /// Plain LDAP upgraded with StartTLS to contoso DC1.
    pub fn starttls(&self) -> LdapConn {
        let e = self.endpoint("contoso.lab", "DC1");
        LdapConn::with_settings(
            self.settings().set_starttls(true),
            &format!("ldap://{}", e.ldap),
        )
        .expect("starttls connects")
    }

    /// Plain LDAP, no TLS, to contoso DC1.
    pub fn plain(&self) -> LdapConn {
        let e = self.endpoint("contoso.lab", "DC1");
        LdapConn::new(&format!("ldap://{}", e.ldap)).expect("ldap connects")
    }

    /// An LDAPS connection bound as the contoso Administrator.
    pub fn admin(&self) -> LdapConn {
        let mut c = self.ldaps();
        c.simple_bind("CONTOSO\\Administrator", ADMIN_PW)
            .unwrap()
            .success()
            .unwrap();
        c
    }

    pub fn stop(mut self) {
        if let Some(lab) = self.lab.take() {
            self.rt.block_on(lab.stop());
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(lab) = self.lab.take() {
            self.rt.block_on(lab.stop());
        }
    }
}

/// The unicodePwd value for `pw`.
pub fn pwd(pw: &str) -> Vec<u8> {
    ad_types::password::encode_unicode_pwd(pw)
}

/// Resets `dn`'s password over `conn`.
pub fn reset(conn: &mut LdapConn, dn: &str, pw: &str) -> ldap3::LdapResult {
    let v = pwd(pw);
    conn.modify(
        dn,
        vec![ldap3::Mod::Replace(
            &b"unicodePwd"[..],
            std::collections::HashSet::from([&v[..]]),
        )],
    )
    .unwrap()
}

pub fn arc<T>(t: T) -> Arc<T> {
    Arc::new(t)
}

/// A tiny HTTP/1.1 client for the tests: method, path, headers, body → (status, head, body).
pub fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (
        head[9..12].parse().unwrap(),
        head.to_string(),
        body.to_string(),
    )
}

/// Parses a JSON body, naming it when it is not JSON.
pub fn json_of(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// A DN's security descriptor, read over LDAP.
pub fn read_sd(c: &mut ldap3::LdapConn, dn: &str) -> ad_types::sd::SecurityDescriptor {
    let (e, _) = c
        .search(
            dn,
            ldap3::Scope::Base,
            "(objectClass=*)",
            vec!["nTSecurityDescriptor"],
        )
        .unwrap()
        .success()
        .unwrap();
    let entry = ldap3::SearchEntry::construct(e[0].clone());
    ad_types::sd::SecurityDescriptor::from_bytes(&entry.bin_attrs["nTSecurityDescriptor"][0])
        .unwrap()
}

/// Writes `sd`'s DACL to a DN with the SD flags control (DACL only).
pub fn write_dacl(c: &mut ldap3::LdapConn, dn: &str, sd: &ad_types::sd::SecurityDescriptor) {
    let flags = ldap3::controls::RawControl {
        ctype: "1.2.840.113556.1.4.801".into(),
        crit: true,
        val: Some(vec![0x30, 0x03, 0x02, 0x01, 0x04]),
    };
    let bytes = sd.to_bytes();
    c.with_controls(vec![flags])
        .modify(
            dn,
            vec![ldap3::Mod::Replace(
                &b"nTSecurityDescriptor"[..],
                std::collections::HashSet::from([&bytes[..]]),
            )],
        )
        .unwrap()
        .success()
        .unwrap();
}

/// Reads a DN's descriptor, lets `f` change its DACL's ACEs, and writes it back.
pub fn edit_dacl(c: &mut ldap3::LdapConn, dn: &str, f: impl FnOnce(&mut Vec<ad_types::sd::Ace>)) {
    let mut sd = read_sd(c, dn);
    f(&mut sd.dacl.as_mut().unwrap().aces);
    write_dacl(c, dn, &sd);
}

/// The default lab's tenant.
pub const TENANT: &str = "contoso.onmicrosoft.example";

/// ROPC at the tenant's token endpoint as `user`: (status, JSON answer).
pub fn ropc_answer(lab: &Running, user: &str, pw: &str) -> (u16, serde_json::Value) {
    let body = format!(
        "grant_type=password&client_id=04b07795-8ddb-461a-bbee-02f9e1bf7b46&username={}&password={pw}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
        user.replace('@', "%40")
    );
    let (st, _, b) = http(
        lab.lab().cloud.http,
        "POST",
        &format!("/{TENANT}/oauth2/v2.0/token"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &body,
    );
    (st, json_of(&b))
}

/// A delegated access token for `user` (ROPC).
pub fn ropc_token(lab: &Running, user: &str, pw: &str) -> String {
    let (st, v) = ropc_answer(lab, user, pw);
    assert_eq!(st, 200, "ROPC as {user}: {v}");
    v["access_token"].as_str().unwrap().to_string()
}

/// A JSON call to the cloud over plain HTTP, with a bearer token if given: (status, head, body
/// as JSON, `Null` when empty).
pub fn cloud_call(
    lab: &Running,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, String, serde_json::Value) {
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    let b = body.map(|v| v.to_string()).unwrap_or_default();
    let (st, head, text) = http(lab.lab().cloud.http, method, path, &headers, &b);
    let v = if text.trim().is_empty() {
        serde_json::Value::Null
    } else {
        json_of(&text)
    };
    (st, head, v)
}

/// Polls an operation's status route (Graph's Location path, or a `/lab` status route) until
/// it is `succeeded` or `failed`; returns its last answer.
pub fn until_done(lab: &Running, path: &str, bearer: Option<&str>) -> serde_json::Value {
    for _ in 0..1000 {
        let (st, _, v) = cloud_call(lab, "GET", path, bearer, None);
        assert_eq!(st, 200, "GET {path}: {v}");
        if v["status"] == "succeeded" || v["status"] == "failed" {
            return v;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{path} never finished");
}

/// The names of `domain`'s DCs, in spec order.
pub fn dc_names(lab: &Running, domain: &str) -> Vec<String> {
    lab.lab()
        .endpoints
        .iter()
        .filter(|e| e.domain.eq_ignore_ascii_case(domain))
        .map(|e| e.dc.name.clone())
        .collect()
}

/// A simple bind over LDAPS to DC `dc` of `domain`: (result code, diagnostic).
pub fn bind_on(lab: &Running, domain: &str, dc: &str, name: &str, pw: &str) -> (u32, String) {
    let e = lab.lab().endpoint(domain, dc).expect("endpoint");
    let mut c = LdapConn::with_settings(lab.settings(), &format!("ldaps://{}", e.ldaps))
        .expect("ldaps connects");
    let r = c.simple_bind(name, pw).unwrap();
    let _ = c.unbind();
    (r.rc, r.text)
}

/// Moves the lab clock to each pending replication delivery of `domain` in turn until none is
/// left, so every DC holds every write (no sleeping: `Lab::advance` applies what is due).
pub fn replicate(lab: &Running, domain: &str) {
    let d = &lab
        .lab()
        .domains
        .iter()
        .find(|b| b.spec.dns.eq_ignore_ascii_case(domain))
        .expect("a domain of the lab")
        .domain;
    for _ in 0..100 {
        let Some(due) = d.next_due() else { return };
        let now = lab.lab().clock.now();
        let wait = Duration::from_nanos(due.0.saturating_sub(now.0));
        lab.rt.block_on(lab.lab().advance(wait));
    }
    panic!("{domain}: replication does not settle");
}

/// Helpers for the whole writeback path as a user, an admin and an operator see it: the cloud's
/// plain HTTP listener (tokens, Graph, the SSPR portal, the admin tools, the audit log), the
/// control API, and LDAPS binds on any DC.
pub mod e2e {
    use serde_json::{Value, json};

    use super::{Running, bind_on, cloud_call, http, json_of, ropc_answer};

    /// Graph's id of the password authentication method.
    pub const PASSWORD_METHOD: &str = "28c10230-6103-485e-b985-444c60001490";

    /// How a password operation ended as its starter sees it, and the relay job behind it.
    #[derive(Debug)]
    pub struct Ended {
        /// The operation's final status: `status` and `statusDetail` (the user-facing code).
        pub status: Value,
        /// The relay job it sent on-premises, if it wrote back.
        pub job: Option<wire::types::JobId>,
    }

    impl Ended {
        /// `status`.
        pub fn status(&self) -> &str {
            self.status["status"].as_str().unwrap_or("")
        }

        /// `statusDetail`, the user-facing code of a failure.
        pub fn detail(&self) -> Option<&str> {
            self.status["statusDetail"].as_str()
        }

        /// The relay's record of the job: (the agent that took it, its last attempt, its result).
        pub fn relay_job(
            &self,
            lab: &Running,
        ) -> (Option<uuid::Uuid>, u32, Option<wire::types::JobResult>) {
            let id = self.job.as_ref().expect("the operation wrote back");
            let j = lab
                .lab()
                .cloud
                .cloud
                .flows
                .relay
                .job(id)
                .expect("the relay knows the job");
            (j.agent, j.attempt, j.result)
        }

        /// The job's result (the agent's, or the cloud's at the deadline).
        pub fn result(&self, lab: &Running) -> wire::types::JobResult {
            self.relay_job(lab).2.expect("the job has a result")
        }
    }

    /// Whether `pw` is `user`'s cloud password: an ROPC sign-in succeeds, or is refused only
    /// because the password must be changed first (AADSTS50055, after an admin's reset).
    pub fn cloud_password_is(lab: &Running, user: &str, pw: &str) -> bool {
        let (st, v) = ropc_answer(lab, user, pw);
        st == 200 || v["error_codes"][0] == 50055
    }

    /// A cloud call with a bearer token: (status, body as JSON, `Null` when empty).
    pub fn call(
        lab: &Running,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (st, _, v) = cloud_call(lab, method, path, Some(token), body);
        (st, v)
    }

    /// A cloud call without a token (the SSPR portal): (status, body as JSON).
    pub fn post(lab: &Running, path: &str, body: Value) -> (u16, Value) {
        let (st, _, b) = http(
            lab.lab().cloud.http,
            "POST",
            path,
            &[("Content-Type", "application/json")],
            &body.to_string(),
        );
        (st, json_of(&b))
    }

    /// The control API: (status, body as JSON).
    pub fn control(lab: &Running, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let b = body.map(|v| v.to_string()).unwrap_or_default();
        let (st, _, out) = http(
            lab.lab().control,
            method,
            path,
            &[("Content-Type", "application/json")],
            &b,
        );
        (st, json_of(&out))
    }

    /// Moves the lab clock forward through the control API.
    pub fn advance_clock(lab: &Running, secs: u64) {
        let (st, b) = control(
            lab,
            "POST",
            "/control/clock",
            Some(json!({ "advance_secs": secs })),
        );
        assert_eq!(st, 200, "{b}");
    }

    /// The DC's refusals (`GET /control/refusals/{domain}/{dc}`), oldest first.
    pub fn refusals(lab: &Running, domain: &str, dc: &str) -> Vec<Value> {
        let (st, b) = control(
            lab,
            "GET",
            &format!("/control/refusals/{domain}/{dc}"),
            None,
        );
        assert_eq!(st, 200, "{b}");
        b.as_array().cloned().unwrap_or_default()
    }

    /// The DC's refusal of `job`, if it refused it.
    pub fn refusal_of(
        lab: &Running,
        domain: &str,
        dc: &str,
        job: &wire::types::JobId,
    ) -> Option<Value> {
        refusals(lab, domain, dc)
            .into_iter()
            .rev()
            .find(|r| r["job_id"].as_str() == Some(job.as_str()))
    }

    /// The AD data code of a failed bind (`775`, `52e`, …); `None` for a success.
    pub fn bind_data(r: &(u32, String)) -> Option<String> {
        if r.0 == 0 {
            return None;
        }
        let at = r.1.find("data ")? + 5;
        Some(
            r.1[at..]
                .chars()
                .take_while(|c| c.is_ascii_hexdigit())
                .collect(),
        )
    }

    /// Whether `pw` is `name`'s password on that DC: the bind succeeds, or fails only for the
    /// account's state after the password matched (773 must change, 532 expired, 775 is checked
    /// before the password and so is no answer).
    pub fn password_is(lab: &Running, domain: &str, dc: &str, name: &str, pw: &str) -> bool {
        let r = bind_on(lab, domain, dc, name, pw);
        match bind_data(&r).as_deref() {
            None => true,
            Some("773") | Some("532") => true,
            Some("52e") => false,
            other => panic!("bind of {name} on {domain} {dc}: {other:?} {r:?}"),
        }
    }

    /// Polls until `f` gives `Some`, for at most about a minute of real time.
    pub fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        for _ in 0..3000 {
            if let Some(t) = f() {
                return t;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("never: {what}");
    }

    /// The relay job of the tenant's operation `op` of `upn`.
    pub fn job_of(lab: &Running, upn: &str, op: uuid::Uuid) -> Option<wire::types::JobId> {
        let tenant = &lab.lab().cloud.cloud.flows.tenant;
        let user = tenant.user(upn)?;
        let job = tenant.operation(user.id, op)?.job?;
        wire::types::JobId::new(&job).ok()
    }

    /// Starts Graph resetPassword of `upn` as `token`'s caller: the operation's Location path,
    /// or the refusal (status, body).
    pub fn graph_reset_start(
        lab: &Running,
        token: &str,
        upn: &str,
        pw: &str,
    ) -> Result<String, (u16, Value)> {
        let (st, head, b) = cloud_call(
            lab,
            "POST",
            &format!("/v1.0/users/{upn}/authentication/methods/{PASSWORD_METHOD}/resetPassword"),
            Some(token),
            Some(json!({ "newPassword": pw })),
        );
        if st != 202 {
            return Err((st, b));
        }
        let location = head
            .lines()
            .find_map(|l| {
                l.strip_prefix("location: ")
                    .or_else(|| l.strip_prefix("Location: "))
            })
            .expect("a Location header");
        Ok(location[location.find("/v1.0/").unwrap()..]
            .trim()
            .to_string())
    }

    /// Waits for the Graph operation at `path` to end.
    pub fn graph_wait(lab: &Running, token: &str, upn: &str, path: &str) -> Ended {
        let status = eventually("the Graph operation ends", || {
            let (st, v) = call(lab, "GET", path, token, None);
            assert_eq!(st, 200, "{v}");
            (v["status"] == "succeeded" || v["status"] == "failed").then_some(v)
        });
        let op = path
            .rsplit('/')
            .next()
            .and_then(|s| s.split('?').next())
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
            .expect("an operation id");
        Ended {
            status,
            job: job_of(lab, upn, op),
        }
    }

    /// Graph resetPassword of `upn` as `token`'s caller, to its end.
    pub fn graph_reset(lab: &Running, token: &str, upn: &str, pw: &str) -> Ended {
        let path = graph_reset_start(lab, token, upn, pw)
            .unwrap_or_else(|(st, b)| panic!("resetPassword of {upn} refused: {st} {b}"));
        graph_wait(lab, token, upn, &path)
    }

    /// What the user asks the SSPR portal for once verified.
    pub enum Sspr<'a> {
        /// Reset (which also unlocks) to this password.
        Reset(&'a str),
        /// Unlock without reset.
        Unlock,
    }

    /// The SSPR portal as `upn`: identify, a code from the lab mailbox, verify, then `action`,
    /// to its end; or the portal's refusal (status, body).
    pub fn sspr(lab: &Running, upn: &str, action: Sspr) -> Result<Ended, (u16, Value)> {
        let (st, b) = post(lab, "/lab/sspr/start", json!({ "user": upn }));
        if st != 200 {
            return Err((st, b));
        }
        let flow = b["flow"].as_str().unwrap().to_string();
        let (st, b) = post(lab, &format!("/lab/sspr/{flow}/code"), json!({}));
        assert_eq!(st, 200, "{b}");
        let (_, _, mail) = http(
            lab.lab().cloud.http,
            "GET",
            &format!("/lab/mailbox/{upn}"),
            &[],
            "",
        );
        let mails = json_of(&mail);
        let code = mails["value"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["code"].as_str())
            .expect("a code in the lab mailbox")
            .to_string();
        let (st, b) = post(
            lab,
            &format!("/lab/sspr/{flow}/verify"),
            json!({ "code": code }),
        );
        assert_eq!(st, 200, "{b}");
        let (st, b) = match action {
            Sspr::Reset(pw) => post(
                lab,
                &format!("/lab/sspr/{flow}/reset"),
                json!({ "newPassword": pw }),
            ),
            Sspr::Unlock => post(lab, &format!("/lab/sspr/{flow}/unlock"), json!({})),
        };
        if st != 202 {
            return Err((st, b));
        }
        let op = uuid::Uuid::parse_str(b["operation"].as_str().unwrap()).unwrap();
        let status = eventually("the SSPR operation ends", || {
            let (_, _, s) = http(
                lab.lab().cloud.http,
                "GET",
                &format!("/lab/sspr/{flow}"),
                &[],
                "",
            );
            let v = json_of(&s);
            (v["status"] == "succeeded" || v["status"] == "failed").then_some(v)
        });
        Ok(Ended {
            status,
            job: job_of(lab, upn, op),
        })
    }

    /// An admin tool other than Graph (`admin-center`, `my-staff`, `powershell`,
    /// `m365-admin-center`) resetting `upn`: the tool's answer (status, body).
    pub fn admin_tool_reset(
        lab: &Running,
        token: &str,
        tool: &str,
        upn: &str,
        pw: &str,
    ) -> (u16, Value) {
        call(
            lab,
            "POST",
            &format!("/lab/admin/{tool}/reset"),
            token,
            Some(json!({ "user": upn, "newPassword": pw })),
        )
    }

    /// The audit log's rows about `upn`, newest first (read as `token`'s caller).
    pub fn audit_rows(lab: &Running, token: &str, upn: &str) -> Vec<Value> {
        let (st, v) = call(lab, "GET", "/v1.0/auditLogs/directoryAudits", token, None);
        assert_eq!(st, 200, "{v}");
        v["value"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| {
                r["targetResources"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t["userPrincipalName"] == upn))
            })
            .collect()
    }

    /// The newest audit row about `upn`: (activity, result, reason, OnPremisesAgent detail).
    pub fn last_audit(lab: &Running, token: &str, upn: &str) -> (String, String, String, String) {
        let rows = audit_rows(lab, token, upn);
        let r = rows
            .first()
            .unwrap_or_else(|| panic!("no audit row about {upn}"));
        let s = |v: &Value| v.as_str().unwrap_or("").to_string();
        let agent = r["additionalDetails"]
            .as_array()
            .and_then(|d| d.iter().find(|d| d["key"] == "OnPremisesAgent"))
            .map(|d| s(&d["value"]))
            .unwrap_or_default();
        (
            s(&r["activityDisplayName"]),
            s(&r["result"]),
            s(&r["resultReason"]),
            agent,
        )
    }

    /// Waits until the relay counts a healthy agent for `domain` (after a jump of the clock, an
    /// agent between two polls counts again once its next poll begins).
    pub fn wait_healthy(lab: &Running, domain: &str) {
        let relay = &lab.lab().cloud.cloud.flows.relay;
        eventually("a healthy agent", || {
            (!relay.healthy_agents(domain).is_empty()).then_some(())
        });
    }
}
