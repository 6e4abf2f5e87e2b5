//! The lab routes under `/lab`: the SSPR portal's steps (identify, a one-time code to the lab
//! mailbox, verify, then reset, unlock and reset, or unlock only), the lab mailbox to read the
//! codes, the sign-in page's password check and the password change (voluntary, or forced when
//! the password is expired or an admin's reset asked for it), the tenant's SSPR and on-premises
//! integration settings, and the admin tools other than Graph.
//!
//! The routes (JSON bodies; a refusal is 400 `{"error": CODE, "message": …}`, CODE the
//! user-facing code such as `SSPR_0030` where there is one):
//! - `POST /lab/sspr/start {user}` → `{flow, methods}`; `POST /lab/sspr/{flow}/code`,
//!   `POST /lab/sspr/{flow}/verify {code}`, then `POST /lab/sspr/{flow}/reset {newPassword,
//!   unlock?}` or `POST /lab/sspr/{flow}/unlock` → 202 `{operation, status}`;
//!   `GET /lab/sspr/{flow}` → `{status, statusDetail}` until `succeeded` or `failed`.
//! - `GET /lab/mailbox/{upn}` → `{value: [{sent, subject, code}]}`.
//! - `POST /lab/signin {username, password}` → `{status: "signedIn"}`, or `{status:
//!   "passwordExpired", change: "/lab/change"}` when the user must change the password first
//!   (the token endpoint answers AADSTS50055 meanwhile).
//! - `POST /lab/change {username, currentPassword, newPassword}` → 202 `{operation, change:
//!   "forced"|"voluntary", status}`; `GET /lab/change/{user}/{operation}` → `{status,
//!   statusDetail}`. A wrong current password is 400 `IncorrectPassword` and changes nothing.
//! - `GET|PUT /lab/settings` (PUT: Hybrid Identity or Global Administrator).
//! - `POST /lab/admin/{admin-center|my-staff|powershell|m365-admin-center}/reset {user,
//!   newPassword, forceChangePasswordNextSignIn?}` with an admin's bearer token → 202
//!   `{operation, writesBack, cloudOnly, status}`; `GET /lab/admin/operations/{user}/{operation}`.

// Handlers answer with a `Response` either way; boxing the error side would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::decision::{self, Caller, CloudResult, Operation, Role, Settings, SsprScope};
use crate::graph::{Cloud, odata};
use crate::tenant::CloudUser;

/// One SSPR portal session.
#[derive(Clone, Debug)]
struct PortalFlow {
    user: Uuid,
    code: Option<String>,
    verified: bool,
    tries: u32,
    operation: Option<Uuid>,
}

/// The portal sessions in progress.
#[derive(Default)]
pub struct Portal {
    flows: Mutex<BTreeMap<Uuid, PortalFlow>>,
}

/// The lab routes.
pub fn router(cloud: Arc<Cloud>) -> Router {
    Router::new()
        .route("/lab/sspr/start", post(start))
        .route("/lab/sspr/{flow}", get(status))
        .route("/lab/sspr/{flow}/code", post(send_code))
        .route("/lab/sspr/{flow}/verify", post(verify))
        .route("/lab/sspr/{flow}/reset", post(reset))
        .route("/lab/sspr/{flow}/unlock", post(unlock))
        .route("/lab/mailbox/{upn}", get(mailbox))
        .route("/lab/signin", post(signin))
        .route("/lab/change", post(change))
        .route("/lab/change/{user}/{op}", get(operation_status))
        .route("/lab/settings", get(get_settings).put(put_settings))
        .route("/lab/admin/{tool}/reset", post(admin_reset))
        .route("/lab/admin/operations/{user}/{op}", get(operation_status))
        .with_state(cloud)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    user: String,
}

fn bad(code: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": code, "message": message })),
    )
        .into_response()
}

/// A refusal of the decision table as the portal shows it: the user-facing code when there is
/// one, else the audit reason.
fn refused(r: decision::Refusal) -> Response {
    let code = r
        .user_code()
        .map(|u| u.as_str().to_string())
        .unwrap_or_else(|| r.reason().to_string());
    bad(&code, r.reason())
}

fn flow_of(c: &Cloud, id: &str) -> Result<(Uuid, PortalFlow), Response> {
    let id = Uuid::parse_str(id).map_err(|_| bad("NotFound", "no such SSPR session"))?;
    let f = c
        .portal
        .flows
        .lock()
        .expect("portal lock")
        .get(&id)
        .cloned();
    f.map(|f| (id, f))
        .ok_or_else(|| bad("NotFound", "no such SSPR session"))
}

async fn start(State(c): State<Arc<Cloud>>, Json(b): Json<StartBody>) -> Response {
    let Some(user) = c.flows.tenant.user(&b.user) else {
        return bad(
            "UserNotFound",
            "We couldn't find an account with that user name.",
        );
    };
    // The product decides writeback and agent health before any gate or one-time code.
    let inputs = c.flows.inputs(&user, Caller::Target);
    let d = decision::decide(Operation::SelfServiceReset, &inputs);
    if let CloudResult::Refused(r) = d.cloud_result {
        c.flows.tenant.audit(&d.audit, &user.upn, &user.upn);
        return refused(r);
    }
    let id = c.ids().0;
    c.portal.flows.lock().expect("portal lock").insert(
        id,
        PortalFlow {
            user: user.id,
            code: None,
            verified: false,
            tries: 0,
            operation: None,
        },
    );
    Json(json!({ "flow": id, "methods": ["email"] })).into_response()
}

async fn send_code(State(c): State<Arc<Cloud>>, Path(id): Path<String>) -> Response {
    let (id, f) = match flow_of(&c, &id) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(user) = c.flows.tenant.user(&f.user.to_string()) else {
        return bad("UserNotFound", "gone");
    };
    let code = c.flows.tenant.send_code(&user.upn);
    if let Some(f) = c.portal.flows.lock().expect("portal lock").get_mut(&id) {
        f.code = Some(code);
        f.tries = 0;
    }
    Json(json!({ "sent": "email", "mailbox": format!("/lab/mailbox/{}", user.upn) }))
        .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    code: String,
}

async fn verify(
    State(c): State<Arc<Cloud>>,
    Path(id): Path<String>,
    Json(b): Json<VerifyBody>,
) -> Response {
    let (id, f) = match flow_of(&c, &id) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut flows = c.portal.flows.lock().expect("portal lock");
    let Some(entry) = flows.get_mut(&id) else {
        return bad("NotFound", "no such SSPR session");
    };
    if f.tries >= 3 {
        return bad(
            "TooManyAttempts",
            "Too many wrong codes; request a new one.",
        );
    }
    entry.tries += 1;
    if f.code.as_deref() != Some(b.code.as_str()) {
        return bad("InvalidCode", "The code you entered is not correct.");
    }
    entry.verified = true;
    Json(json!({ "verified": true })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ResetBody {
    new_password: String,
    #[serde(default)]
    unlock: bool,
}

fn run(
    c: &Arc<Cloud>,
    id: Uuid,
    f: &PortalFlow,
    op: Operation,
    password: Option<&str>,
) -> Response {
    if !f.verified {
        return bad("NotVerified", "Verify the one-time code first.");
    }
    let Some(user) = c.flows.tenant.user(&f.user.to_string()) else {
        return bad("UserNotFound", "gone");
    };
    let started = c
        .flows
        .start_with(op, &user, Caller::Target, &user.upn, password, None, false);
    match (started.decision.cloud_result, started.operation) {
        (CloudResult::Refused(r), _) => refused(r),
        (_, Some(op)) => {
            if let Some(e) = c.portal.flows.lock().expect("portal lock").get_mut(&id) {
                e.operation = Some(op);
            }
            (
                StatusCode::ACCEPTED,
                Json(json!({ "operation": op, "status": format!("/lab/sspr/{id}") })),
            )
                .into_response()
        }
        _ => bad("NotStarted", "the operation did not start"),
    }
}

async fn reset(
    State(c): State<Arc<Cloud>>,
    Path(id): Path<String>,
    Json(b): Json<ResetBody>,
) -> Response {
    let (id, f) = match flow_of(&c, &id) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if b.new_password.encode_utf16().count() > 256 {
        return bad(
            "PasswordTooLong",
            "newPassword: the password is longer than 256 characters.",
        );
    }
    let op = if b.unlock {
        Operation::SelfServiceUnlockAndReset
    } else {
        Operation::SelfServiceReset
    };
    run(&c, id, &f, op, Some(&b.new_password))
}

async fn unlock(State(c): State<Arc<Cloud>>, Path(id): Path<String>) -> Response {
    let (id, f) = match flow_of(&c, &id) {
        Ok(x) => x,
        Err(r) => return r,
    };
    run(&c, id, &f, Operation::SelfServiceUnlockOnly, None)
}

async fn status(State(c): State<Arc<Cloud>>, Path(id): Path<String>) -> Response {
    let (_, f) = match flow_of(&c, &id) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match f
        .operation
        .and_then(|op| c.flows.tenant.operation(f.user, op))
    {
        Some(o) => {
            Json(json!({ "status": o.status, "statusDetail": o.status_detail })).into_response()
        }
        None => Json(json!({ "status": "notStarted", "verified": f.verified })).into_response(),
    }
}

async fn mailbox(State(c): State<Arc<Cloud>>, Path(upn): Path<String>) -> Response {
    Json(json!({ "value": c.flows.tenant.mailbox(&upn) })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SigninBody {
    username: String,
    password: String,
}

/// The user `username` if `password` is their cloud password and the account is enabled.
fn authenticate(c: &Cloud, username: &str, password: &str) -> Result<CloudUser, Response> {
    let Some(user) = c.flows.tenant.user(username) else {
        return Err(bad(
            "UserNotFound",
            "We couldn't find an account with that user name.",
        ));
    };
    if !user.password.matches(password) {
        return Err(bad(
            "IncorrectPassword",
            "Your account or password is incorrect.",
        ));
    }
    if !user.enabled {
        return Err(bad("UserDisabled", "Your account has been disabled."));
    }
    Ok(user)
}

/// The sign-in page: whether the password signs in, or is expired and must be changed first.
async fn signin(State(c): State<Arc<Cloud>>, Json(b): Json<SigninBody>) -> Response {
    let user = match authenticate(&c, &b.username, &b.password) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if user.must_change {
        return Json(json!({
            "status": "passwordExpired",
            "user": user.upn,
            "message": "Your password has expired. You need to change your password to sign in.",
            "change": "/lab/change",
        }))
        .into_response();
    }
    Json(json!({ "status": "signedIn", "user": user.upn })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ChangeBody {
    username: String,
    current_password: String,
    new_password: String,
}

/// The user's own password change: forced when the user must change it, else voluntary; the
/// current password is checked in the cloud first and travels with a writeback's change.
async fn change(State(c): State<Arc<Cloud>>, Json(b): Json<ChangeBody>) -> Response {
    let user = match authenticate(&c, &b.username, &b.current_password) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if b.new_password.encode_utf16().count() > 256 {
        return bad(
            "PasswordTooLong",
            "newPassword: the password is longer than 256 characters.",
        );
    }
    let (op, kind) = if user.must_change {
        (Operation::ForcedChange, "forced")
    } else {
        (Operation::VoluntaryChange, "voluntary")
    };
    let started = c.flows.start_with(
        op,
        &user,
        Caller::Target,
        &user.upn,
        Some(&b.new_password),
        Some(&b.current_password),
        false,
    );
    match (started.decision.cloud_result, started.operation) {
        (CloudResult::Refused(r), _) => refused(r),
        (_, Some(opn)) => (
            StatusCode::ACCEPTED,
            Json(json!({
                "operation": opn,
                "change": kind,
                "status": format!("/lab/change/{}/{opn}", user.id),
            })),
        )
            .into_response(),
        _ => bad("NotStarted", "the operation did not start"),
    }
}

/// The settings as the lab routes show and take them.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabSettings {
    /// `none`, `all`, or `group` (then `sspr_group_members` lists the UPNs in scope).
    pub sspr: String,
    /// Members of the SSPR group (when `sspr` is `group`).
    #[serde(default)]
    pub sspr_group_members: Vec<String>,
    /// "Enable password write back for synced users".
    pub writeback_for_synced: bool,
    /// "Write back passwords with Microsoft Entra Connect cloud sync".
    pub writeback_with_cloud_sync: bool,
    /// "Allow users to unlock accounts without resetting their password".
    pub unlock_without_reset: bool,
}

fn show(s: &Settings) -> LabSettings {
    LabSettings {
        sspr: match s.sspr {
            SsprScope::None => "none",
            SsprScope::Group { .. } => "group",
            SsprScope::All => "all",
        }
        .into(),
        sspr_group_members: Vec::new(),
        writeback_for_synced: s.writeback_for_synced,
        writeback_with_cloud_sync: s.writeback_with_cloud_sync,
        unlock_without_reset: s.unlock_without_reset,
    }
}

async fn get_settings(State(c): State<Arc<Cloud>>) -> Json<LabSettings> {
    Json(show(&c.flows.tenant.settings()))
}

async fn put_settings(
    State(c): State<Arc<Cloud>>,
    headers: HeaderMap,
    Json(b): Json<LabSettings>,
) -> Response {
    // Only a Hybrid Identity Administrator or Global Administrator changes them.
    let claims = match crate::graph::caller(&c, &headers) {
        Ok(claims) => claims,
        Err(r) => return r,
    };
    let roles = claims.admin_roles();
    if !roles.contains(&Role::HybridIdentity) && !roles.contains(&Role::Global) {
        return odata(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "A Hybrid Identity Administrator or Global Administrator is required.",
        );
    }
    let sspr = match b.sspr.as_str() {
        "none" => SsprScope::None,
        "all" => SsprScope::All,
        // The lab models one SSPR group; membership is decided per user where it is checked.
        "group" => SsprScope::Group { member: true },
        other => {
            return bad(
                "BadRequest",
                &format!("sspr: {other:?} is not none, group or all"),
            );
        }
    };
    // Turning on writeback with cloud sync needs a registered cloud sync agent.
    let cur = c.flows.tenant.settings();
    if b.writeback_with_cloud_sync && !cur.writeback_with_cloud_sync {
        let any = c
            .flows
            .relay
            .agents()
            .iter()
            .any(|a| a.engine == wire::types::Engine::CloudSync);
        if !any {
            return (StatusCode::CONFLICT, Json(json!({ "error": "NoCloudSyncAgent", "message": "Register a cloud sync agent before enabling writeback with cloud sync." }))).into_response();
        }
    }
    let next = Settings {
        sspr,
        writeback_for_synced: b.writeback_for_synced,
        writeback_with_cloud_sync: b.writeback_with_cloud_sync,
        unlock_without_reset: b.unlock_without_reset,
        ..cur
    };
    c.flows.tenant.set_settings(next);
    let row = decision::AuditRow {
        activity: decision::Activity::PolicyChanges,
        category: decision::Activity::PolicyChanges.category(),
        result: decision::AuditResult::Success,
        reason: None,
        on_premises_agent: None,
    };
    c.flows.tenant.audit(
        &row,
        claims.upn().unwrap_or("admin"),
        "Password reset policy",
    );
    Json(show(&next)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AdminResetBody {
    user: String,
    new_password: String,
    #[serde(default = "yes")]
    force_change_password_next_sign_in: bool,
}

fn yes() -> bool {
    true
}

/// The admin tools other than Graph, each its own row of the decision table: the Entra admin
/// center, My Staff, PowerShell cmdlets and the Microsoft 365 admin center.
async fn admin_reset(
    State(c): State<Arc<Cloud>>,
    headers: HeaderMap,
    Path(tool): Path<String>,
    Json(b): Json<AdminResetBody>,
) -> Response {
    let op = match tool.as_str() {
        "admin-center" => Operation::AdminCenterReset,
        "my-staff" => Operation::MyStaffReset,
        "powershell" => Operation::PowerShellAdminReset,
        "m365-admin-center" => Operation::M365AdminCenterReset,
        other => {
            return bad(
                "UnknownTool",
                &format!("{other:?}: use admin-center, my-staff, powershell or m365-admin-center"),
            );
        }
    };
    let claims = match crate::graph::caller(&c, &headers) {
        Ok(claims) => claims,
        Err(r) => return r,
    };
    let Some(target) = c.flows.tenant.user(&b.user) else {
        return odata(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!("Resource '{}' does not exist.", b.user),
        );
    };
    if b.new_password.encode_utf16().count() > 256 {
        return bad(
            "PasswordTooLong",
            "newPassword: the password is longer than 256 characters.",
        );
    }
    let caller = if claims.object_id() == Some(target.id) {
        Caller::Target
    } else {
        Caller::Other(claims.admin_roles().into_iter().collect())
    };
    let by = claims.upn().unwrap_or("admin").to_string();
    let started = c.flows.start(
        op,
        &target,
        caller,
        &by,
        &b.new_password,
        b.force_change_password_next_sign_in,
    );
    match (started.decision.cloud_result, started.operation) {
        (CloudResult::Refused(r), _) => refused(r),
        (_, Some(opn)) => (
            StatusCode::ACCEPTED,
            Json(json!({
                "operation": opn,
                "writesBack": crate::flows::writes_back(&started.decision),
                "cloudOnly": started.decision.cloud_only_change(),
                "status": format!("/lab/admin/operations/{}/{opn}", target.id),
            })),
        )
            .into_response(),
        _ => bad("NotStarted", "the operation did not start"),
    }
}

/// An operation's status, for the password change and the admin tools.
async fn operation_status(
    State(c): State<Arc<Cloud>>,
    Path((user, op)): Path<(String, String)>,
) -> Response {
    let (Ok(user), Ok(op)) = (Uuid::parse_str(&user), Uuid::parse_str(&op)) else {
        return bad("NotFound", "no such operation");
    };
    match c.flows.tenant.operation(user, op) {
        Some(o) => {
            Json(json!({ "status": o.status, "statusDetail": o.status_detail })).into_response()
        }
        None => bad("NotFound", "no such operation"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::RoleSet;
    use crate::flows::Flows;
    use crate::password_policy::CloudPolicy;
    use crate::relay::{Relay, RelayConfig};
    use crate::tenant::{NewUser, SyncedLink, Tenant, UserSource};
    use crate::token::{Authority, SigningKey, TokenService};
    use axum::body::Body;
    use axum::http::Request;
    use runtime::{Clock, LabTime, Seed};
    use secrecy::ExposeSecret;
    use serde_json::Value;
    use std::sync::OnceLock;
    use tower::ServiceExt as _;
    use wire::seal::AgentKey;
    use wire::types::{
        AckRequest, Engine, Job, JobKind, JobResult, Outcome, PollRequest, RegisterRequest,
    };

    const TENANT: &str = "contoso.onmicrosoft.example";
    const USER_PW: &str = "Lab-User-Passw0rd1";
    const ADMIN_PW: &str = "Lab-Admin-Passw0rd1";

    fn key() -> SigningKey {
        static PEM: OnceLock<String> = OnceLock::new();
        let pem = PEM.get_or_init(|| {
            SigningKey::from_seed([7; 32])
                .unwrap()
                .to_pkcs8_pem()
                .unwrap()
                .to_string()
        });
        SigningKey::from_pkcs8_pem(pem).unwrap()
    }

    /// A tenant with alice (synced, cloud sync), erin (synced, must change), cleo (cloud-only)
    /// and helpdesk@; contoso.lab has one scripted agent, which has polled once.
    struct Setup {
        cloud: Arc<Cloud>,
        app: Router,
        agent: (crate::relay::AgentId, AgentKey),
    }

    fn synced(sam: &str) -> UserSource {
        UserSource::Synced(SyncedLink {
            domain: "contoso.lab".into(),
            dn: format!("CN={sam},OU=Staff,DC=contoso,DC=lab"),
            anchor: Uuid::from_u128(sam.len() as u128),
            sam: sam.into(),
            engine: Engine::CloudSync,
            in_scope: true,
        })
    }

    async fn setup() -> Setup {
        let clock = Clock::starting_at(LabTime::from_unix_secs(1_800_000_000));
        let tenant = Arc::new(Tenant::new(
            TENANT,
            Seed(1),
            clock.clone(),
            Settings::DEPLOYED,
            "Lab-Client-Secret1",
        ));
        let add = |upn: &str, given: &str, roles, source, pw: &str| {
            tenant
                .add_user(NewUser {
                    upn: upn.into(),
                    given: given.into(),
                    surname: "Test".into(),
                    password: pw.into(),
                    roles,
                    source,
                })
                .unwrap()
        };
        add(
            "alice@contoso.lab",
            "Alice",
            RoleSet::NONE,
            synced("alice"),
            USER_PW,
        );
        let erin = add(
            "erin@contoso.lab",
            "Erin",
            RoleSet::NONE,
            synced("erin"),
            USER_PW,
        );
        tenant.set_must_change(erin, true);
        let cleo = format!("cleo@{TENANT}");
        add(&cleo, "Cleo", RoleSet::NONE, UserSource::CloudOnly, USER_PW);
        let helpdesk = format!("helpdesk@{TENANT}");
        let role = RoleSet::only(Role::Helpdesk);
        add(&helpdesk, "Helpdesk", role, UserSource::CloudOnly, ADMIN_PW);
        let relay = Relay::new(clock.clone(), Seed(1), RelayConfig::default());
        relay.add_domain("contoso.lab", Engine::CloudSync);
        relay.set_writeback("contoso.lab", true).unwrap();
        let agent_key = AgentKey::generate(&mut runtime::stream(Seed(1), "test/agent-key"));
        let reg = relay
            .register(&RegisterRequest {
                domain: "contoso.lab".into(),
                engine: Engine::CloudSync,
                version: "0.1.0".into(),
                public_key: agent_key.public_base64(),
            })
            .unwrap();
        let agent = (reg.agent_id, agent_key);
        let flows = Arc::new(Flows {
            tenant: tenant.clone(),
            relay,
            policy: CloudPolicy::new(TENANT),
        });
        let base = "https://127.0.0.1:1";
        let tokens = TokenService::new(key(), Authority::new(base, tenant.id));
        let cloud = Arc::new(Cloud::new(flows, tokens, base, Seed(1)));
        let s = Setup {
            app: crate::graph::router(cloud.clone()),
            cloud,
            agent,
        };
        assert!(s.poll().await.is_empty(), "healthy, nothing queued");
        s
    }

    impl Setup {
        async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
            let resp = self.app.clone().oneshot(req).await.unwrap();
            let status = resp.status();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .unwrap();
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        }

        async fn post(&self, path: &str, body: Value, bearer: Option<&str>) -> (StatusCode, Value) {
            let mut req = Request::post(path).header("content-type", "application/json");
            if let Some(t) = bearer {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            self.send(req.body(Body::from(body.to_string())).unwrap())
                .await
        }

        async fn get(&self, path: &str) -> (StatusCode, Value) {
            self.send(Request::get(path).body(Body::empty()).unwrap())
                .await
        }

        /// ROPC at the token endpoint.
        async fn ropc(&self, user: &str, pw: &str) -> (StatusCode, Value) {
            let body = format!(
                "grant_type=password&client_id=04b07795-8ddb-461a-bbee-02f9e1bf7b46&username={}&password={pw}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
                user.replace('@', "%40")
            );
            let req = Request::post(format!("/{TENANT}/oauth2/v2.0/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap();
            self.send(req).await
        }

        async fn poll(&self) -> Vec<Job> {
            let req = PollRequest {
                max_jobs: 8,
                wait_ms: 0,
            };
            let relay = &self.cloud.flows.relay;
            relay.poll(self.agent.0, req).await.unwrap().jobs
        }

        /// Acks `job` and answers `outcome`.
        fn answer(&self, job: &Job, outcome: Outcome) {
            let relay = &self.cloud.flows.relay;
            let attempt = AckRequest {
                attempt: job.attempt,
            };
            relay.ack(self.agent.0, &job.id, attempt).unwrap();
            let result = JobResult::new(job.id.clone(), job.kind, outcome);
            relay.result(self.agent.0, &job.id, result).unwrap();
        }

        /// Polls a status route until the operation is terminal.
        async fn settled(&self, path: &str) -> Value {
            for _ in 0..1000 {
                let (st, v) = self.get(path).await;
                assert_eq!(st, StatusCode::OK, "{v}");
                if v["status"] == "succeeded" || v["status"] == "failed" {
                    return v;
                }
                tokio::task::yield_now().await;
            }
            panic!("{path} never finished");
        }

        fn must_change(&self, upn: &str) -> bool {
            self.cloud.flows.tenant.user(upn).unwrap().must_change
        }

        fn audit_count(&self) -> usize {
            self.cloud.flows.tenant.audit_log().len()
        }
    }

    fn change(user: &str, current: &str, new: &str) -> Value {
        json!({ "username": user, "currentPassword": current, "newPassword": new })
    }

    #[tokio::test]
    async fn the_token_endpoint_and_the_sign_in_page_say_when_a_change_is_due() {
        let s = setup().await;
        // erin's password is right but expired: AADSTS50055, and the sign-in page names the change.
        let (st, v) = s.ropc("erin@contoso.lab", USER_PW).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_eq!(v["error_codes"], json!([50055]), "{v}");
        let signin = |u: &str, p: &str| json!({ "username": u, "password": p });
        let (st, v) = s
            .post("/lab/signin", signin("erin@contoso.lab", USER_PW), None)
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(
            (v["status"].as_str(), v["change"].as_str()),
            (Some("passwordExpired"), Some("/lab/change"))
        );
        // A wrong password is a wrong password, expired or not: nothing tells it is expired.
        let (st, v) = s.ropc("erin@contoso.lab", "Wrong-Passw0rd1").await;
        assert_eq!(
            (st, &v["error_codes"]),
            (StatusCode::BAD_REQUEST, &json!([50126]))
        );
        let (st, v) = s
            .post(
                "/lab/signin",
                signin("erin@contoso.lab", "Wrong-Passw0rd1"),
                None,
            )
            .await;
        assert_eq!(
            (st, v["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("IncorrectPassword"))
        );
        // alice signs in.
        assert_eq!(s.ropc("alice@contoso.lab", USER_PW).await.0, StatusCode::OK);
        let (_, v) = s
            .post("/lab/signin", signin("alice@contoso.lab", USER_PW), None)
            .await;
        assert_eq!(v["status"], "signedIn", "{v}");
        let (st, v) = s
            .post("/lab/signin", signin("nobody@contoso.lab", USER_PW), None)
            .await;
        assert_eq!(
            (st, v["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("UserNotFound"))
        );
    }

    #[tokio::test]
    async fn a_forced_change_writes_back_both_passwords_and_clears_the_flag() {
        let s = setup().await;
        let (st, v) = s
            .post(
                "/lab/change",
                change("erin@contoso.lab", USER_PW, "Forced-Change-Passw0rd2"),
                None,
            )
            .await;
        assert_eq!(st, StatusCode::ACCEPTED, "{v}");
        assert_eq!(v["change"], "forced");
        let jobs = s.poll().await;
        assert_eq!(jobs.len(), 1);
        assert_eq!(
            (jobs[0].kind, jobs[0].must_change),
            (JobKind::Change, false)
        );
        let secrets = jobs[0].open(&s.agent.1).unwrap().unwrap();
        let old = secrets
            .old_password
            .as_ref()
            .expect("the old password travels");
        assert_eq!(old.expose_secret(), USER_PW);
        assert_eq!(
            secrets.new_password.expose_secret(),
            "Forced-Change-Passw0rd2"
        );
        assert!(
            s.must_change("erin@contoso.lab"),
            "set until the writeback succeeds"
        );
        s.answer(&jobs[0], Outcome::Succeeded);
        let done = s.settled(v["status"].as_str().unwrap()).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        assert!(!s.must_change("erin@contoso.lab"));
        assert_eq!(
            s.ropc("erin@contoso.lab", "Forced-Change-Passw0rd2")
                .await
                .0,
            StatusCode::OK
        );
        let row = s.cloud.flows.tenant.audit_log().pop().unwrap();
        assert_eq!(
            (row.activity_display_name.as_str(), row.result.as_str()),
            ("Change password (self-service)", "success")
        );
        assert_eq!(
            row.target_resources[0]["userPrincipalName"],
            "erin@contoso.lab"
        );
    }

    #[tokio::test]
    async fn a_change_refused_on_premises_keeps_the_flag_and_the_password() {
        let s = setup().await;
        let (_, v) = s
            .post(
                "/lab/change",
                change("erin@contoso.lab", USER_PW, "Refused-Passw0rd2"),
                None,
            )
            .await;
        let jobs = s.poll().await;
        s.answer(&jobs[0], Outcome::PolicyViolation);
        let done = s.settled(v["status"].as_str().unwrap()).await;
        assert_eq!(done["status"], "failed", "{done}");
        assert!(s.must_change("erin@contoso.lab"));
        assert_eq!(
            s.ropc("erin@contoso.lab", USER_PW).await.1["error_codes"],
            json!([50055])
        );
    }

    #[tokio::test]
    async fn a_voluntary_change_and_a_wrong_current_password() {
        let s = setup().await;
        // A wrong current password: refused in the cloud, no job, no audit row, no new password.
        let rows = s.audit_count();
        let (st, v) = s
            .post(
                "/lab/change",
                change(
                    "alice@contoso.lab",
                    "Wrong-Passw0rd1",
                    "Voluntary-Passw0rd2",
                ),
                None,
            )
            .await;
        assert_eq!(
            (st, v["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("IncorrectPassword")),
            "{v}"
        );
        assert!(s.poll().await.is_empty());
        assert_eq!(s.audit_count(), rows);
        assert_eq!(s.ropc("alice@contoso.lab", USER_PW).await.0, StatusCode::OK);
        // The right one: a voluntary change, written back.
        let (st, v) = s
            .post(
                "/lab/change",
                change("alice@contoso.lab", USER_PW, "Voluntary-Passw0rd2"),
                None,
            )
            .await;
        assert_eq!(
            (st, v["change"].as_str()),
            (StatusCode::ACCEPTED, Some("voluntary")),
            "{v}"
        );
        let jobs = s.poll().await;
        assert_eq!(jobs[0].kind, JobKind::Change);
        s.answer(&jobs[0], Outcome::Succeeded);
        assert_eq!(
            s.settled(v["status"].as_str().unwrap()).await["status"],
            "succeeded"
        );
        assert_eq!(
            s.ropc("alice@contoso.lab", "Voluntary-Passw0rd2").await.0,
            StatusCode::OK
        );
        // A cloud-only user's change is done at once; a banned password is refused up front.
        let cleo = format!("cleo@{TENANT}");
        let (st, v) = s
            .post(
                "/lab/change",
                change(&cleo, USER_PW, "Cloud-Change-Passw0rd3"),
                None,
            )
            .await;
        assert_eq!(st, StatusCode::ACCEPTED, "{v}");
        assert_eq!(
            s.get(v["status"].as_str().unwrap()).await.1["status"],
            "succeeded"
        );
        let (st, v) = s
            .post(
                "/lab/change",
                change(&cleo, "Cloud-Change-Passw0rd3", "password"),
                None,
            )
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    }

    #[tokio::test]
    async fn an_admin_reset_asks_for_a_change_once_it_is_written_back() {
        let s = setup().await;
        let (_, t) = s.ropc(&format!("helpdesk@{TENANT}"), ADMIN_PW).await;
        let token = t["access_token"].as_str().unwrap().to_string();
        let body = json!({ "user": "alice@contoso.lab", "newPassword": "Admin-Reset-Passw0rd2" });
        let (st, v) = s
            .post("/lab/admin/admin-center/reset", body, Some(&token))
            .await;
        assert_eq!(st, StatusCode::ACCEPTED, "{v}");
        let jobs = s.poll().await;
        assert_eq!(
            (jobs[0].kind, jobs[0].must_change),
            (JobKind::AdminReset, true)
        );
        assert!(
            !s.must_change("alice@contoso.lab"),
            "not before the writeback succeeded"
        );
        s.answer(&jobs[0], Outcome::Succeeded);
        assert_eq!(
            s.settled(v["status"].as_str().unwrap()).await["status"],
            "succeeded"
        );
        assert!(s.must_change("alice@contoso.lab"));
        let (_, v) = s.ropc("alice@contoso.lab", "Admin-Reset-Passw0rd2").await;
        assert_eq!(v["error_codes"], json!([50055]), "{v}");
        // A cloud-only user: at once, as the admin asks.
        let cleo = format!("cleo@{TENANT}");
        let body = json!({
            "user": cleo,
            "newPassword": "Admin-Reset-Passw0rd3",
            "forceChangePasswordNextSignIn": false,
        });
        assert_eq!(
            s.post("/lab/admin/my-staff/reset", body, Some(&token))
                .await
                .0,
            StatusCode::ACCEPTED
        );
        assert!(!s.must_change(&cleo));
        let body = json!({ "user": cleo, "newPassword": "Admin-Reset-Passw0rd4" });
        assert_eq!(
            s.post("/lab/admin/my-staff/reset", body, Some(&token))
                .await
                .0,
            StatusCode::ACCEPTED
        );
        assert!(s.must_change(&cleo));
    }
}
