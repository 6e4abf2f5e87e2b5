//! fake-cloud's HTTP face: the token service's routes (OIDC discovery, JWKS, ROPC and client
//! credentials, userrealm), the Graph-shaped routes under `/v1.0` (users, resetPassword and its
//! long-running operation, changePassword, directoryAudits) and the relay, on one router that
//! serves plain HTTP and HTTPS alike.

// Handlers answer with a `Response` either way; boxing the error side would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::decision::{
    Caller, CloudResult, Operation, Refusal, RoleSet, SYNCED_PASSWORD_PROFILE_ERROR,
};
use crate::flows::Flows;
use crate::tenant::{CloudUser, OpStatus, UserSource};
use crate::token::{
    self, AadError, AccessTokenClaims, AppGrant, Claims, DelegatedGrant, ErrorContext,
    GRAPH_AUDIENCES, IdTokenClaims, IdTokenGrant, ScopeRequest, TokenResponse, TokenService,
    TokenUser, UserRealmVersion,
};

/// The password method id Graph's resetPassword lives under.
pub const PASSWORD_METHOD: &str = "28c10230-6103-485e-b985-444c60001490";

/// Everything the routes share.
pub struct Cloud {
    /// The operations (tenant, relay, policy).
    pub flows: Arc<Flows>,
    /// The token service.
    pub tokens: TokenService,
    /// The HTTPS base URL (`https://127.0.0.1:PORT`), for absolute Locations.
    pub https_base: String,
    /// SSPR portal sessions.
    pub portal: crate::portal::Portal,
    rng: Mutex<ChaCha8Rng>,
}

impl Cloud {
    /// A cloud over `flows`, signing with `tokens`, reachable at `https_base`.
    pub fn new(
        flows: Arc<Flows>,
        tokens: TokenService,
        https_base: &str,
        seed: runtime::Seed,
    ) -> Cloud {
        Cloud {
            flows,
            tokens,
            https_base: https_base.trim_end_matches('/').to_string(),
            portal: Default::default(),
            rng: Mutex::new(runtime::stream(seed, "fake-cloud/http")),
        }
    }

    fn now_secs(&self) -> u64 {
        self.flows.tenant.clock.now().unix_secs()
    }

    pub(crate) fn ids(&self) -> (Uuid, Uuid) {
        let mut r = self.rng.lock().expect("rng lock");
        (runtime::uuid_from(&mut r), runtime::uuid_from(&mut r))
    }

    fn aad(&self, e: AadError) -> Response {
        let (trace_id, correlation_id) = self.ids();
        let body = e.body(&ErrorContext {
            now_secs: self.now_secs(),
            trace_id,
            correlation_id,
        });
        (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            Json(body),
        )
            .into_response()
    }
}

/// A Graph error in the ODataError shape.
pub fn odata(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message, "innerError": {} } })),
    )
        .into_response()
}

/// The whole router: identity, Graph and the relay.
pub fn router(cloud: Arc<Cloud>) -> Router {
    let relay = crate::relay::router(cloud.flows.relay.clone(), admin_auth(cloud.clone()));
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(openid),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(jwks))
        .route("/{tenant}/oauth2/v2.0/token", post(token_endpoint))
        .route("/common/discovery/instance", get(instance))
        .route("/common/userrealm/{upn}", get(userrealm))
        .route("/v1.0/users/{id}", get(get_user).patch(patch_user))
        .route(
            &format!("/v1.0/users/{{id}}/authentication/methods/{PASSWORD_METHOD}/resetPassword"),
            post(reset_password),
        )
        .route(
            "/v1.0/users/{id}/authentication/operations/{op}",
            get(get_operation),
        )
        .route("/v1.0/me/changePassword", post(change_password))
        .route("/v1.0/auditLogs/directoryAudits", get(audits))
        .fallback(|| async {
            odata(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                "The requested resource does not exist.",
            )
        })
        .with_state(cloud.clone())
        .merge(relay)
        .merge(crate::portal::router(cloud))
}

/// Collapses `//` in the path, as Graph does, before routing.
pub fn normalize(mut req: Request) -> Request {
    let path = req.uri().path();
    if path.contains("//") {
        let mut p = path.to_string();
        while p.contains("//") {
            p = p.replace("//", "/");
        }
        let pq = match req.uri().query() {
            Some(q) => format!("{p}?{q}"),
            None => p,
        };
        if let Ok(uri) = pq.parse() {
            *req.uri_mut() = uri;
        }
    }
    req
}

fn admin_auth(cloud: Arc<Cloud>) -> crate::relay::AdminAuth {
    Arc::new(move |headers: &HeaderMap, route: &wire::routes::Route| {
        let unauthorized = || wire::types::RelayError {
            code: wire::types::ErrorCode::Unauthorized,
            message: "a valid bearer token is required".into(),
        };
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(unauthorized)?;
        let claims = cloud
            .tokens
            .verify_audiences(bearer, cloud.now_secs(), &GRAPH_AUDIENCES)
            .map_err(|_| unauthorized())?;
        let roles = claims.admin_roles();
        let hybrid = roles.contains(&crate::decision::Role::HybridIdentity);
        let global = roles.contains(&crate::decision::Role::Global);
        // Registering an agent takes a Hybrid Identity Administrator; the writeback flag also a Global one.
        let ok = if route.path == wire::routes::REGISTER_AGENT.path {
            hybrid
        } else {
            hybrid || global
        };
        if ok {
            Ok(())
        } else {
            Err(wire::types::RelayError {
                code: wire::types::ErrorCode::Forbidden,
                message: "a Hybrid Identity Administrator (or Global Administrator) is required"
                    .into(),
            })
        }
    })
}

async fn openid(State(c): State<Arc<Cloud>>, Path(tenant): Path<String>) -> Response {
    if !tenant_matches(&c, &tenant) {
        return c.aad(AadError::DiscoveryTenantNotFound { tenant });
    }
    Json(c.tokens.openid_configuration(&tenant)).into_response()
}

async fn jwks(State(c): State<Arc<Cloud>>) -> Json<Value> {
    Json(c.tokens.jwks())
}

async fn instance(
    State(c): State<Arc<Cloud>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Json<Value> {
    Json(token::instance_discovery(
        c.tokens.authority(),
        q.get("authorization_endpoint").map(String::as_str),
    ))
}

async fn userrealm(
    State(c): State<Arc<Cloud>>,
    Path(upn): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Json<Value> {
    let version = if q.get("api-version").map(String::as_str) == Some("2.0") {
        UserRealmVersion::V2
    } else {
        UserRealmVersion::V1
    };
    let domain = upn.rsplit_once('@').map(|(_, d)| d.to_string());
    let known = c.flows.tenant.user(&upn).is_some();
    Json(token::user_realm(
        &upn,
        if known { domain.as_deref() } else { None },
        version,
    ))
}

fn tenant_matches(c: &Cloud, tenant: &str) -> bool {
    let t = &c.flows.tenant;
    tenant.eq_ignore_ascii_case(&t.name)
        || tenant == t.id.to_string()
        || matches!(tenant, "common" | "organizations")
}

async fn token_endpoint(
    State(c): State<Arc<Cloud>>,
    Path(tenant): Path<String>,
    Form(f): Form<BTreeMap<String, String>>,
) -> Response {
    if !tenant_matches(&c, &tenant) {
        return c.aad(AadError::TenantNotFound { tenant });
    }
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let scope = match ScopeRequest::parse(get("scope")) {
        Ok(s) => s,
        Err(e) => return c.aad(e),
    };
    let now = c.now_secs();
    let tenant = &c.flows.tenant;
    let audience = if scope.resource.is_empty() {
        token::GRAPH_RESOURCE.to_string()
    } else {
        scope.resource.clone()
    };
    match get("grant_type") {
        "password" => {
            let Some(user) = tenant.user(get("username")) else {
                return c.aad(AadError::UserNotFound {
                    tenant_id: tenant.id,
                });
            };
            if !user.password.matches(get("password")) {
                return c.aad(AadError::InvalidCredentials);
            }
            if !user.enabled {
                return c.aad(AadError::UserDisabled);
            }
            // The right password, but an admin's reset or an expired on-premises password asks
            // for a change first (the SSPR portal's /lab/change).
            if user.must_change {
                return c.aad(AadError::PasswordExpired);
            }
            let tuser = TokenUser {
                oid: user.id,
                upn: user.upn.clone(),
                name: user.display_name.clone(),
            };
            let client_id = get("client_id").to_string();
            let grant = DelegatedGrant {
                client_id: client_id.clone(),
                client_authenticated: false,
                audience,
                user: tuser.clone(),
                scopes: token::LAB_DELEGATED_SCOPES
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                roles: user.roles.iter().collect(),
                issued_at: now,
                lifetime_secs: token::DEFAULT_LIFETIME_SECS,
            };
            let access = match c
                .tokens
                .sign(&AccessTokenClaims::delegated(c.tokens.authority(), &grant))
            {
                Ok(t) => t,
                Err(_) => {
                    return odata(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "generalException",
                        "signing failed",
                    );
                }
            };
            let mut resp =
                TokenResponse::bearer(access, scope.response_scope(), token::DEFAULT_LIFETIME_SECS);
            if scope.openid {
                let id = IdTokenGrant {
                    client_id: client_id.clone(),
                    user: tuser,
                    nonce: None,
                    issued_at: now,
                    lifetime_secs: token::DEFAULT_LIFETIME_SECS,
                };
                resp.id_token = c
                    .tokens
                    .sign(&IdTokenClaims::new(c.tokens.authority(), &id))
                    .ok();
                resp.client_info = Some(token::client_info(user.id, tenant.id));
            }
            Json(resp).into_response()
        }
        "client_credentials" => {
            if get("client_id") != tenant.client_id.to_string() {
                return c.aad(AadError::ClientNotFound {
                    client_id: get("client_id").to_string(),
                    tenant: tenant.name.clone(),
                });
            }
            if get("client_secret").is_empty() {
                return c.aad(AadError::MissingClientSecret);
            }
            if !tenant.client_secret_matches(get("client_secret")) {
                return c.aad(AadError::InvalidClientSecret {
                    client_id: tenant.client_id.to_string(),
                });
            }
            if !scope.is_default() {
                return c.aad(AadError::DefaultScopeRequired {
                    scope: get("scope").to_string(),
                });
            }
            let grant = AppGrant {
                client_id: tenant.client_id.to_string(),
                service_principal_id: tenant.client_id,
                audience,
                roles: token::LAB_APP_ROLES.iter().map(|s| s.to_string()).collect(),
                issued_at: now,
                lifetime_secs: token::DEFAULT_LIFETIME_SECS,
            };
            match c
                .tokens
                .sign(&AccessTokenClaims::app_only(c.tokens.authority(), &grant))
            {
                Ok(t) => Json(TokenResponse::bearer(
                    t,
                    scope.response_scope(),
                    token::DEFAULT_LIFETIME_SECS,
                ))
                .into_response(),
                Err(_) => odata(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "generalException",
                    "signing failed",
                ),
            }
        }
        other => c.aad(AadError::UnsupportedGrantType {
            grant_type: other.to_string(),
        }),
    }
}

/// The bearer token's claims, or Graph's 401.
pub(crate) fn caller(c: &Cloud, headers: &HeaderMap) -> Result<Claims, Response> {
    let unauthorized = |m: &str| odata(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", m);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("Access token is empty."))?;
    c.tokens
        .verify_audiences(bearer, c.now_secs(), &GRAPH_AUDIENCES)
        .map_err(|e| unauthorized(&e.to_string()))
}

fn caller_roles(claims: &Claims) -> RoleSet {
    claims.admin_roles().into_iter().collect()
}

fn user_json(u: &CloudUser) -> Value {
    let mut v = json!({
        "id": u.id,
        "userPrincipalName": u.upn,
        "displayName": u.display_name,
        "givenName": u.given,
        "surname": u.surname,
        "accountEnabled": u.enabled,
        "onPremisesSyncEnabled": matches!(u.source, UserSource::Synced(_)),
    });
    if let UserSource::Synced(l) = &u.source {
        use base64::Engine as _;
        v["onPremisesDomainName"] = json!(l.domain);
        v["onPremisesDistinguishedName"] = json!(l.dn);
        v["onPremisesSamAccountName"] = json!(l.sam);
        v["onPremisesImmutableId"] =
            json!(base64::engine::general_purpose::STANDARD.encode(l.anchor.to_bytes_le()));
    }
    v
}

fn user_or_404(c: &Cloud, id: &str) -> Result<CloudUser, Response> {
    c.flows.tenant.user(id).ok_or_else(|| {
        odata(StatusCode::NOT_FOUND, "Request_ResourceNotFound", &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."))
    })
}

async fn get_user(
    State(c): State<Arc<Cloud>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let claims = match caller(&c, &headers) {
        Ok(cl) => cl,
        Err(r) => return r,
    };
    if claims.is_app_only() && !claims.roles().contains(&"User.Read.All") {
        return odata(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    match user_or_404(&c, &id) {
        Ok(u) => Json(user_json(&u)).into_response(),
        Err(r) => r,
    }
}

async fn patch_user(
    State(c): State<Arc<Cloud>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let claims = match caller(&c, &headers) {
        Ok(cl) => cl,
        Err(r) => return r,
    };
    let Some(Json(body)) = body else {
        return odata(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "The request body must be a JSON object.",
        );
    };
    let target = match user_or_404(&c, &id) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(profile) = body.get("passwordProfile") else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let Some(pw) = profile.get("password").and_then(Value::as_str) else {
        return odata(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "passwordProfile.password is required.",
        );
    };
    let by = claims.upn().unwrap_or("app").to_string();
    let who = if claims.object_id() == Some(target.id) {
        Caller::Target
    } else {
        Caller::Other(caller_roles(&claims))
    };
    let must = profile
        .get("forceChangePasswordNextSignIn")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let started = c.flows.start(
        Operation::GraphPatchPasswordProfile,
        &target,
        who,
        &by,
        pw,
        must,
    );
    match started.decision.cloud_result {
        CloudResult::Allowed(_) => StatusCode::NO_CONTENT.into_response(),
        CloudResult::Refused(Refusal::OnPremisesMastered) => odata(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            SYNCED_PASSWORD_PROFILE_ERROR,
        ),
        CloudResult::Refused(r) => refusal_response(r),
        CloudResult::FailedOnPremises(_) => odata(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "The on-premises directory refused the password.",
        ),
    }
}

fn refusal_response(r: Refusal) -> Response {
    match r {
        Refusal::InsufficientRole | Refusal::NotTheUser => odata(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ),
        Refusal::OwnAccount => odata(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "This operation cannot target the caller's own account.",
        ),
        Refusal::CloudPolicy(f) => odata(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            &format!(
                "The password does not comply with the password policy ({}).",
                f.reason()
            ),
        ),
        other => {
            let code = other
                .user_code()
                .map(|c| c.as_str().to_string())
                .unwrap_or_else(|| other.reason().to_string());
            odata(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                &format!(
                    "The password could not be reset: {code} ({}).",
                    other.reason()
                ),
            )
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ResetBody {
    new_password: Option<String>,
}

async fn reset_password(
    State(c): State<Arc<Cloud>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let claims = match caller(&c, &headers) {
        Ok(cl) => cl,
        Err(r) => return r,
    };
    if claims.is_app_only() {
        return odata(
            StatusCode::FORBIDDEN,
            "accessDenied",
            "resetPassword takes a delegated token; application permissions are not supported.",
        );
    }
    let body: ResetBody = match body.map(|Json(v)| serde_json::from_value(v)) {
        None => ResetBody { new_password: None },
        Some(Ok(b)) => b,
        Some(Err(e)) => {
            return odata(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                &format!("Invalid request body: {e}"),
            );
        }
    };
    let target = match user_or_404(&c, &id) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let synced = matches!(target.source, UserSource::Synced(_));
    let generated;
    let password = match &body.new_password {
        Some(p) if p.encode_utf16().count() > 256 => {
            return odata(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "newPassword: the password is longer than 256 characters.",
            );
        }
        Some(p) => p.as_str(),
        None if synced => {
            return odata(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "newPassword is required for users synchronized from on-premises.",
            );
        }
        None => {
            let (a, b) = c.ids();
            generated = format!(
                "Gen-{}-{}!",
                &a.simple().to_string()[..8],
                &b.simple().to_string()[..6]
            );
            generated.as_str()
        }
    };
    let by = claims.upn().unwrap_or("unknown").to_string();
    let who = if claims.object_id() == Some(target.id) {
        Caller::Target
    } else {
        Caller::Other(caller_roles(&claims))
    };
    // An admin's reset makes the user change the password at next sign-in (facts §2.3).
    let started = c.flows.start(
        Operation::GraphResetPassword,
        &target,
        who,
        &by,
        password,
        true,
    );
    match (started.decision.cloud_result, started.operation) {
        (CloudResult::Allowed(_) | CloudResult::FailedOnPremises(_), Some(op)) => {
            let location = format!(
                "{}/v1.0/users/{}/authentication/operations/{op}",
                c.https_base, target.id
            );
            let mut resp = if body.new_password.is_none() {
                (
                    StatusCode::ACCEPTED,
                    Json(json!({ "newPassword": password })),
                )
                    .into_response()
            } else {
                StatusCode::ACCEPTED.into_response()
            };
            let h = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&location) {
                h.insert(header::LOCATION, v);
            }
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            resp
        }
        (CloudResult::Refused(r), _) => refusal_response(r),
        _ => odata(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "the operation did not start",
        ),
    }
}

async fn get_operation(
    State(c): State<Arc<Cloud>>,
    headers: HeaderMap,
    Path((id, op)): Path<(String, String)>,
) -> Response {
    if let Err(r) = caller(&c, &headers) {
        return r;
    }
    let target = match user_or_404(&c, &id) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(o) = Uuid::parse_str(&op)
        .ok()
        .and_then(|op| c.flows.tenant.operation(target.id, op))
    else {
        return odata(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!("Operation '{op}' does not exist."),
        );
    };
    let done = matches!(o.status, OpStatus::Succeeded | OpStatus::Failed);
    let mut resp = Json(json!({
        "@odata.type": "#microsoft.graph.longRunningOperation",
        "id": o.id,
        "status": o.status,
        "createdDateTime": o.created_date_time,
        "lastActionDateTime": o.last_action_date_time,
        "statusDetail": o.status_detail,
        "resourceLocation": format!("{}/v1.0/users/{}", c.https_base, target.id),
        // The lab's own annotations (clients ignore `@…` names): lab-clock nanoseconds since the
        // Unix epoch when the operation was accepted and when it ended (`sspr-lab bench e2e`).
        "@lab.acceptedAtNs": o.accepted_at.0,
        "@lab.finishedAtNs": o.finished_at.map(|t| t.0),
    }))
    .into_response();
    if !done {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ChangeBody {
    current_password: String,
    new_password: String,
}

async fn change_password(
    State(c): State<Arc<Cloud>>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    let claims = match caller(&c, &headers) {
        Ok(cl) => cl,
        Err(r) => return r,
    };
    let Some(me) = claims
        .object_id()
        .and_then(|id| c.flows.tenant.user(&id.to_string()))
    else {
        return odata(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "/me needs a delegated token.",
        );
    };
    let body: ChangeBody = match body.map(|Json(v)| serde_json::from_value(v)) {
        Some(Ok(b)) => b,
        Some(Err(e)) => {
            return odata(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                &format!("Invalid request body: {e}"),
            );
        }
        None => {
            return odata(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "currentPassword and newPassword are required.",
            );
        }
    };
    if !me.password.matches(&body.current_password) {
        return odata(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "The current password is incorrect.",
        );
    }
    if body.new_password.encode_utf16().count() > 256 {
        return odata(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "newPassword: the password is longer than 256 characters.",
        );
    }
    let by = me.upn.clone();
    let started = c.flows.start(
        Operation::EndUserPowerShellOrGraph,
        &me,
        Caller::Target,
        &by,
        &body.new_password,
        false,
    );
    match started.decision.cloud_result {
        CloudResult::Allowed(_) => StatusCode::NO_CONTENT.into_response(),
        CloudResult::Refused(r) => refusal_response(r),
        CloudResult::FailedOnPremises(_) => odata(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "The on-premises directory refused the password.",
        ),
    }
}

async fn audits(
    State(c): State<Arc<Cloud>>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let claims = match caller(&c, &headers) {
        Ok(cl) => cl,
        Err(r) => return r,
    };
    let allowed = if claims.is_app_only() {
        claims.roles().contains(&"AuditLog.Read.All")
    } else {
        !caller_roles(&claims).is_empty()
    };
    if !allowed {
        return odata(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    let mut rows = c.flows.tenant.audit_log();
    rows.reverse(); // newest first, as Graph lists them
    if let Some(f) = q.get("$filter") {
        // The one filter shape the lab supports: activityDisplayName eq '…'.
        match f
            .strip_prefix("activityDisplayName eq '")
            .and_then(|r| r.strip_suffix('\''))
        {
            Some(name) => rows.retain(|r| r.activity_display_name == name),
            None => {
                return odata(
                    StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    "Only $filter=activityDisplayName eq '…' is supported.",
                );
            }
        }
    }
    if let Some(top) = q.get("$top") {
        match top.parse::<usize>() {
            Ok(n) => rows.truncate(n),
            Err(_) => {
                return odata(
                    StatusCode::BAD_REQUEST,
                    "Request_BadRequest",
                    "$top must be a number.",
                );
            }
        }
    }
    Json(json!({ "value": rows })).into_response()
}
