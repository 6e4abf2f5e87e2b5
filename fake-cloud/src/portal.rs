//! The lab routes under `/lab`: the SSPR portal's steps (identify, a one-time code to the lab
//! mailbox, verify, then reset, unlock and reset, or unlock only), the lab mailbox to read the
//! codes, and the tenant's SSPR and on-premises integration settings.

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
        .route("/lab/settings", get(get_settings).put(put_settings))
        .route("/lab/admin/{tool}/reset", post(admin_reset))
        .route("/lab/admin/operations/{user}/{op}", get(admin_operation))
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
        let code = r
            .user_code()
            .map(|u| u.as_str().to_string())
            .unwrap_or_else(|| r.reason().to_string());
        return bad(&code, r.reason());
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
        (CloudResult::Refused(r), _) => {
            let code = r
                .user_code()
                .map(|u| u.as_str().to_string())
                .unwrap_or_else(|| r.reason().to_string());
            bad(&code, r.reason())
        }
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
        (CloudResult::Refused(r), _) => {
            let code = r
                .user_code()
                .map(|u| u.as_str().to_string())
                .unwrap_or_else(|| r.reason().to_string());
            bad(&code, r.reason())
        }
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

async fn admin_operation(
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
