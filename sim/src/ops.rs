//! Scripted password operations: each operation of the decision table performed through the route
//! a person would use (the SSPR portal with its mailbox code, the sign-in change page, an admin
//! tool, Graph), over [`LabClient`], and followed to its end as that person sees it.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::client::{ClientError, LabClient};
use fake_cloud::decision::Operation;

/// How an operation ended for the person who started it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ended {
    /// `succeeded`, `failed` (after it started, e.g. refused on-premises) or `refused` (before:
    /// the cloud said no).
    pub status: String,
    /// The user-facing code or error code, if any (e.g. `SSPR_0029`).
    pub code: Option<String>,
    /// The cloud's operation id, when one was made (join it to the relay job through
    /// `Tenant::operation`).
    pub operation: Option<String>,
}

impl Ended {
    fn of(v: &Value) -> Ended {
        Ended {
            status: v["status"].as_str().unwrap_or("failed").to_string(),
            code: v["statusDetail"].as_str().map(str::to_string),
            operation: v["id"].as_str().map(str::to_string),
        }
    }

    fn refused(status: u16, body: &[u8]) -> Ended {
        let v: Value = serde_json::from_slice(body).unwrap_or_default();
        Ended {
            status: "refused".into(),
            code: Some(code_of(&v["error"]).unwrap_or_else(|| format!("HTTP {status}"))),
            operation: None,
        }
    }

    /// A 204 is a success; anything else a refusal.
    fn no_content(status: u16, body: &[u8]) -> Ended {
        if status == 204 {
            Ended {
                status: "succeeded".into(),
                code: None,
                operation: None,
            }
        } else {
            Ended::refused(status, body)
        }
    }

    /// Whether it succeeded.
    pub fn succeeded(&self) -> bool {
        self.status == "succeeded"
    }
}

/// The code a refusal shows: the user-facing `SSPR_00xx` its message names (Graph's errors put
/// it there), else the error code (Graph's `error.code`, or the portal's `error`).
fn code_of(error: &Value) -> Option<String> {
    let in_message = error["message"].as_str().and_then(|m| {
        m.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .find(|w| w.starts_with("SSPR_"))
            .map(str::to_string)
    });
    in_message.or_else(|| {
        error["code"]
            .as_str()
            .or_else(|| error.as_str())
            .map(str::to_string)
    })
}

/// Who acts: the target themself (with their current password, for changes) or an admin.
pub enum Actor<'a> {
    /// The target user; `current` is their current cloud password (changes need it).
    User {
        /// The current password.
        current: &'a SecretString,
    },
    /// An administrator, by UPN and password.
    Admin {
        /// Their UPN.
        upn: &'a str,
        /// Their password.
        password: &'a SecretString,
    },
}

/// The admin tool route of an operation, if it is one.
fn admin_tool(op: Operation) -> Option<&'static str> {
    match op {
        Operation::AdminCenterReset => Some("admin-center"),
        Operation::MyStaffReset => Some("my-staff"),
        Operation::PowerShellAdminReset => Some("powershell"),
        Operation::M365AdminCenterReset => Some("m365-admin-center"),
        _ => None,
    }
}

/// Performs `op` on `target` (a UPN) by `actor`, setting `new` where the operation sets a
/// password, and follows it to its end.
pub async fn perform(
    c: &LabClient,
    op: Operation,
    target: &str,
    actor: &Actor<'_>,
    new: &SecretString,
) -> Result<Ended, ClientError> {
    match op {
        Operation::SelfServiceReset
        | Operation::SelfServiceUnlockAndReset
        | Operation::SelfServiceUnlockOnly => sspr(c, op, target, new).await,
        Operation::VoluntaryChange | Operation::ForcedChange => {
            let Actor::User { current } = actor else {
                return Err(ClientError::Unexpected("a change is the user's own".into()));
            };
            let body = json!({
                "username": target,
                "currentPassword": current.expose_secret(),
                "newPassword": new.expose_secret(),
            });
            let (status, _, b) = c.call("POST", "/lab/change", None, Some(&body)).await?;
            follow(c, status, &b, None).await
        }
        Operation::EndUserPowerShellOrGraph => {
            let Actor::User { current } = actor else {
                return Err(ClientError::Unexpected("/me is the user's own".into()));
            };
            let token = match c.token(target, current).await {
                Ok(t) => t,
                Err(e) => return Ok(token_refused(e)),
            };
            let body = json!({
                "currentPassword": current.expose_secret(),
                "newPassword": new.expose_secret(),
            });
            let (status, _, b) = c
                .call("POST", "/v1.0/me/changePassword", Some(&token), Some(&body))
                .await?;
            Ok(Ended::no_content(status, &b))
        }
        Operation::GraphResetPassword
        | Operation::GraphPatchPasswordProfile
        | Operation::AdminCenterReset
        | Operation::MyStaffReset
        | Operation::PowerShellAdminReset
        | Operation::M365AdminCenterReset => {
            let Actor::Admin { upn, password } = actor else {
                return Err(ClientError::Unexpected(
                    "an admin operation needs an admin".into(),
                ));
            };
            let token = match c.token(upn, password).await {
                Ok(t) => t,
                Err(e) => return Ok(token_refused(e)),
            };
            if op == Operation::GraphResetPassword {
                let v = c.graph_reset(&token, target, new).await?;
                return Ok(if v["status"] == "refused" {
                    Ended {
                        status: "refused".into(),
                        code: code_of(&v["error"]),
                        operation: None,
                    }
                } else {
                    Ended::of(&v)
                });
            }
            if op == Operation::GraphPatchPasswordProfile {
                let body = json!({ "passwordProfile": {
                    "password": new.expose_secret(),
                    "forceChangePasswordNextSignIn": false,
                }});
                let (status, _, b) = c
                    .call(
                        "PATCH",
                        &format!("/v1.0/users/{target}"),
                        Some(&token),
                        Some(&body),
                    )
                    .await?;
                return Ok(Ended::no_content(status, &b));
            }
            let tool = admin_tool(op).expect("an admin tool");
            let body = json!({ "user": target, "newPassword": new.expose_secret() });
            let (status, _, b) = c
                .call(
                    "POST",
                    &format!("/lab/admin/{tool}/reset"),
                    Some(&token),
                    Some(&body),
                )
                .await?;
            follow(c, status, &b, Some(&token)).await
        }
    }
}

fn token_refused(e: ClientError) -> Ended {
    let code = match &e {
        ClientError::Http(agent::relay::RelayClientError::Status { message, .. }) => message
            .split(':')
            .nth(1)
            .and_then(|m| m.trim().split(':').next())
            .map(str::to_string)
            .unwrap_or_else(|| message.clone()),
        other => other.to_string(),
    };
    Ended {
        status: "refused".into(),
        code: Some(code),
        operation: None,
    }
}

/// A 202 with a `status` path is polled to its end; anything else is a refusal.
async fn follow(
    c: &LabClient,
    status: u16,
    body: &[u8],
    token: Option<&SecretString>,
) -> Result<Ended, ClientError> {
    if status != 202 {
        return Ok(Ended::refused(status, body));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ClientError::Unexpected(format!("a 202 that is not JSON: {e}")))?;
    let path = v["status"]
        .as_str()
        .ok_or_else(|| ClientError::Unexpected(format!("a 202 without a status path: {v}")))?;
    let mut ended = Ended::of(&c.poll(path, token).await?);
    ended.operation = v["operation"].as_str().map(str::to_string);
    Ok(ended)
}

/// The SSPR portal: identify, a code to the lab mailbox, verify, then reset or unlock.
async fn sspr(
    c: &LabClient,
    op: Operation,
    user: &str,
    new: &SecretString,
) -> Result<Ended, ClientError> {
    let (status, _, b) = c
        .call(
            "POST",
            "/lab/sspr/start",
            None,
            Some(&json!({ "user": user })),
        )
        .await?;
    if status != 200 {
        return Ok(Ended::refused(status, &b));
    }
    let v: Value = serde_json::from_slice(&b).unwrap_or_default();
    let flow = v["flow"]
        .as_str()
        .ok_or_else(|| ClientError::Unexpected(format!("no flow in {v}")))?
        .to_string();
    let (status, _, b) = c
        .call("POST", &format!("/lab/sspr/{flow}/code"), None, None)
        .await?;
    if status != 200 {
        return Ok(Ended::refused(status, &b));
    }
    let (_, _, b) = c
        .call("GET", &format!("/lab/mailbox/{user}"), None, None)
        .await?;
    let mail: Value = serde_json::from_slice(&b).unwrap_or_default();
    let code = mail["value"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["code"].as_str())
        .ok_or_else(|| ClientError::Unexpected("no code in the mailbox".into()))?
        .to_string();
    let (status, _, b) = c
        .call(
            "POST",
            &format!("/lab/sspr/{flow}/verify"),
            None,
            Some(&json!({ "code": code })),
        )
        .await?;
    if status != 200 {
        return Ok(Ended::refused(status, &b));
    }
    let (status, _, b) = if op == Operation::SelfServiceUnlockOnly {
        c.call("POST", &format!("/lab/sspr/{flow}/unlock"), None, None)
            .await?
    } else {
        let body = json!({
            "newPassword": new.expose_secret(),
            "unlock": op == Operation::SelfServiceUnlockAndReset,
        });
        c.call(
            "POST",
            &format!("/lab/sspr/{flow}/reset"),
            None,
            Some(&body),
        )
        .await?
    };
    follow(c, status, &b, None).await
}
