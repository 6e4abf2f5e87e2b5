//! The bench's Graph client: keep-alive HTTP/1.1 over TLS (the lab CA) through the runtime seam,
//! one connection per worker. It resets a password (`resetPassword`, answering the operation's
//! `Location`) and reads the operation. Passwords and tokens stay in `SecretString`s and never
//! reach an error or a log.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use runtime::Clock;
use runtime::net::{Network, TokioNet};
use secrecy::{ExposeSecret, SecretString};
use tokio_rustls::rustls::pki_types::ServerName;

/// Graph's password authentication method, under which resetPassword lives.
pub const PASSWORD_METHOD: &str = "28c10230-6103-485e-b985-444c60001490";

/// What went wrong on one exchange.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connect, TLS or HTTP failed.
    #[error("{0}")]
    Transport(String),
    /// No answer in time.
    #[error("timed out")]
    Timeout,
}

/// Where Graph is and how to reach it.
#[derive(Clone)]
pub struct Graph {
    addr: SocketAddr,
    name: ServerName<'static>,
    authority: String,
    tls: tokio_rustls::TlsConnector,
    clock: Clock,
    timeout: Duration,
}

/// One keep-alive connection to Graph.
pub struct GraphConn {
    send: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    authority: String,
    clock: Clock,
    timeout: Duration,
}

/// One answer: status, `Location` and body.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The `Location` header, if any.
    pub location: Option<String>,
    /// The body.
    pub body: Bytes,
}

/// The state of a long-running operation as Graph answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpState {
    /// `notStarted`, `running`, `succeeded` or `failed`.
    pub status: String,
    /// The user-facing code of a failure (e.g. SSPR_0029).
    pub detail: Option<String>,
    /// The lab's `@lab.acceptedAtNs` annotation.
    pub accepted_ns: Option<u64>,
    /// The lab's `@lab.finishedAtNs` annotation.
    pub finished_ns: Option<u64>,
}

impl OpState {
    /// Whether the operation has ended.
    pub fn terminal(&self) -> bool {
        matches!(self.status.as_str(), "succeeded" | "failed")
    }

    /// Parses an operation resource.
    pub fn parse(body: &[u8]) -> Option<OpState> {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        Some(OpState {
            status: v.get("status")?.as_str()?.to_string(),
            detail: v
                .get("statusDetail")
                .and_then(|d| d.as_str())
                .map(str::to_string),
            accepted_ns: v.get("@lab.acceptedAtNs").and_then(|t| t.as_u64()),
            finished_ns: v.get("@lab.finishedAtNs").and_then(|t| t.as_u64()),
        })
    }

    /// Server-side latency in lab nanoseconds, when the server gave both times.
    pub fn server_ns(&self) -> Option<u64> {
        Some(self.finished_ns?.saturating_sub(self.accepted_ns?))
    }
}

/// The Graph error code of an error answer (`error.code`), or `-`.
pub fn error_code(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
        .unwrap_or_else(|| "-".into())
}

/// The path of a `Location` (`https://host:port/v1.0/…` → `/v1.0/…`).
pub fn location_path(location: &str) -> Option<&str> {
    location.find("/v1.0/").map(|i| &location[i..])
}

/// The user and operation ids in an operation path
/// (`/v1.0/users/{user}/authentication/operations/{op}`).
pub fn location_ids(path: &str) -> Option<(uuid::Uuid, uuid::Uuid)> {
    let rest = path.strip_prefix("/v1.0/users/")?;
    let (user, rest) = rest.split_once('/')?;
    let op = rest.strip_prefix("authentication/operations/")?;
    Some((
        uuid::Uuid::parse_str(user).ok()?,
        uuid::Uuid::parse_str(op).ok()?,
    ))
}

/// Percent-encodes a path segment (a UPN's `@` stays, as Graph accepts it).
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Graph {
    /// Graph at `https_base` (`https://IP:PORT`), trusting `tls`'s roots; `timeout` bounds
    /// connect, handshake and each request (the clock's time).
    pub fn new(
        https_base: &str,
        tls: Arc<tokio_rustls::rustls::ClientConfig>,
        clock: Clock,
        timeout: Duration,
    ) -> Result<Graph, String> {
        let ep = agent::relay::Endpoint::parse(https_base).map_err(|e| e.to_string())?;
        let name = ServerName::try_from(ep.host.clone()).map_err(|e| e.to_string())?;
        Ok(Graph {
            addr: ep.addr,
            authority: format!("{}:{}", ep.host, ep.addr.port()),
            name,
            tls: tokio_rustls::TlsConnector::from(tls),
            clock,
            timeout,
        })
    }

    /// Opens a connection (TCP, TLS, HTTP/1.1).
    pub async fn connect(&self) -> Result<GraphConn, ClientError> {
        let t =
            |what: &str, e: String| ClientError::Transport(format!("{}: {what}: {e}", self.addr));
        let tcp = self
            .clock
            .timeout(self.timeout, TokioNet.connect(self.addr))
            .await
            .map_err(|_| ClientError::Timeout)?
            .map_err(|e| t("connect", e.to_string()))?;
        let tls = self
            .clock
            .timeout(self.timeout, self.tls.connect(self.name.clone(), tcp))
            .await
            .map_err(|_| ClientError::Timeout)?
            .map_err(|e| t("TLS", e.to_string()))?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| t("HTTP", e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(GraphConn {
            send,
            authority: self.authority.clone(),
            clock: self.clock.clone(),
            timeout: self.timeout,
        })
    }
}

impl GraphConn {
    /// Whether the connection can still carry a request.
    pub fn is_open(&self) -> bool {
        !self.send.is_closed()
    }

    /// Sends one request with a bearer token and reads the whole answer.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        bearer: &SecretString,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, ClientError> {
        let t = |e: String| ClientError::Transport(e);
        let mut auth = hyper::header::HeaderValue::from_str(bearer.expose_secret())
            .map_err(|_| t("the token is not a header value".into()))?;
        auth.set_sensitive(true);
        let req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.authority)
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .header("authorization", auth)
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| t(e.to_string()))?;
        let exchange = async {
            self.send
                .ready()
                .await
                .map_err(|e| t(format!("connection: {e}")))?;
            let resp = self
                .send
                .send_request(req)
                .await
                .map_err(|e| t(format!("request: {e}")))?;
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get(hyper::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| t(format!("body: {e}")))?
                .to_bytes();
            Ok(Answer {
                status,
                location,
                body,
            })
        };
        self.clock
            .timeout(self.timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout)?
    }

    /// `POST /v1.0/users/{user}/authentication/methods/{password}/resetPassword`.
    pub async fn reset_password(
        &mut self,
        bearer: &SecretString,
        user: &str,
        new_password: &SecretString,
    ) -> Result<Answer, ClientError> {
        let body =
            serde_json::to_vec(&serde_json::json!({ "newPassword": new_password.expose_secret() }))
                .map_err(|e| ClientError::Transport(e.to_string()))?;
        let path = format!(
            "/v1.0/users/{}/authentication/methods/{PASSWORD_METHOD}/resetPassword",
            segment(user)
        );
        self.request("POST", &path, bearer, Some(body)).await
    }
}

/// An access token for `admin` by ROPC at `token_endpoint` (`https://…/oauth2/v2.0/token`).
pub async fn admin_token(
    token_endpoint: &str,
    tls: Arc<tokio_rustls::rustls::ClientConfig>,
    clock: Clock,
    admin: &str,
    password: &SecretString,
) -> Result<SecretString, String> {
    let ep = agent::relay::Endpoint::parse(token_endpoint).map_err(|e| e.to_string())?;
    let https = agent::relay::Https::new(TokioNet, tls, clock, Duration::from_secs(30));
    let mut conn = https.connect(&ep).await.map_err(|e| e.to_string())?;
    let token = agent::relay::ropc_token(&mut conn, &ep.path, admin, password)
        .await
        .map_err(|e| e.to_string())?;
    Ok(SecretString::from(format!(
        "Bearer {}",
        token.expose_secret()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_resources_and_locations() {
        let body = br#"{"status":"succeeded","statusDetail":null,"@lab.acceptedAtNs":1000,"@lab.finishedAtNs":4500}"#;
        let op = OpState::parse(body).unwrap();
        assert!(op.terminal());
        assert_eq!(op.server_ns(), Some(3500));
        let running = OpState::parse(br#"{"status":"running"}"#).unwrap();
        assert!(!running.terminal());
        assert_eq!(running.server_ns(), None);
        assert_eq!(
            error_code(br#"{"error":{"code":"Request_BadRequest"}}"#),
            "Request_BadRequest"
        );
        assert_eq!(error_code(b"nope"), "-");
        let loc = "https://127.0.0.1:9/v1.0/users/6f1c1a3e-8b7d-4c1e-9a3f-0d2b5e7c9a11/authentication/operations/0b9e6a52-3c4d-4e5f-8a6b-7c8d9e0f1a2b";
        let path = location_path(loc).unwrap();
        assert!(path.starts_with("/v1.0/users/"));
        let (u, o) = location_ids(path).unwrap();
        assert_eq!(u.to_string(), "6f1c1a3e-8b7d-4c1e-9a3f-0d2b5e7c9a11");
        assert_eq!(o.to_string(), "0b9e6a52-3c4d-4e5f-8a6b-7c8d9e0f1a2b");
        assert_eq!(segment("a b@c.lab"), "a%20b@c.lab");
    }
}
