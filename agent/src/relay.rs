//! The relay client: HTTP/1.1 over TLS (hyper + tokio-rustls over the runtime seam), the lab CA
//! from the ready file. One [`Conn`] is one keep-alive connection; the agent polls and acks on the
//! same one, since the relay binds an offer to the connection that carried it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use runtime::Clock;
use runtime::net::Network;
use rustls::pki_types::ServerName;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wire::auth::AgentCredential;
use wire::types::{
    AckRequest, AckResponse, ErrorCode, JobId, JobResult, PollRequest, PollResponse,
    RegisterRequest, RegisterResponse, RelayError, ResultResponse,
};

/// Why a relay or token call failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayClientError {
    /// The URL is not `https://IP:PORT/path` (or `localhost:PORT`).
    #[error("bad URL {0:?}: expected https://IP:PORT/path")]
    Url(String),
    /// The TCP connection, the TLS handshake or the HTTP exchange failed.
    #[error("{0}")]
    Transport(String),
    /// No answer within the timeout.
    #[error("timed out")]
    Timeout,
    /// The server answered with an error status.
    #[error("HTTP {status} {code:?}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The relay's error class, when the body is a relay error.
        code: Option<ErrorCode>,
        /// The error message (never a secret).
        message: String,
    },
    /// The answer is not the JSON expected.
    #[error("answer is not the expected JSON: {0}")]
    Decode(String),
}

impl RelayClientError {
    /// The HTTP status, for an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            RelayClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// An `https://` endpoint: where to connect, what to verify, and the path.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The socket address.
    pub addr: SocketAddr,
    /// The `Host` header and TLS server name.
    pub host: String,
    /// The path (no trailing slash).
    pub path: String,
}

impl Endpoint {
    /// Parses `https://IP:PORT/path` (or `https://localhost:PORT/path`).
    pub fn parse(url: &str) -> Result<Endpoint, RelayClientError> {
        let bad = || RelayClientError::Url(url.to_string());
        let rest = url.strip_prefix("https://").ok_or_else(bad)?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let addr: SocketAddr = match authority.strip_prefix("localhost:") {
            Some(port) => SocketAddr::from(([127, 0, 0, 1], port.parse().map_err(|_| bad())?)),
            None => authority.parse().map_err(|_| bad())?,
        };
        let host = authority
            .rsplit_once(':')
            .map(|(h, _)| h.trim_matches(['[', ']']).to_string())
            .ok_or_else(bad)?;
        Ok(Endpoint {
            addr,
            host,
            path: path.trim_end_matches('/').to_string(),
        })
    }
}

/// Opens HTTPS connections to one endpoint.
#[derive(Clone)]
pub struct Https<N: Network> {
    net: N,
    tls: tokio_rustls::TlsConnector,
    clock: Clock,
    timeout: Duration,
}

/// One keep-alive HTTP/1.1 connection.
pub struct Conn {
    send: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    authority: String,
    clock: Clock,
    timeout: Duration,
}

impl<N: Network> Https<N> {
    /// A connector trusting `tls`'s roots; `timeout` (lab time) bounds connect, handshake and each
    /// ordinary request.
    pub fn new(net: N, tls: Arc<rustls::ClientConfig>, clock: Clock, timeout: Duration) -> Self {
        Https {
            net,
            tls: tokio_rustls::TlsConnector::from(tls),
            clock,
            timeout,
        }
    }

    /// Connects to `ep` and completes the TLS and HTTP/1.1 handshakes.
    pub async fn connect(&self, ep: &Endpoint) -> Result<Conn, RelayClientError> {
        let t = |e: String| RelayClientError::Transport(format!("{}: {e}", ep.addr));
        let name = ServerName::try_from(ep.host.clone()).map_err(|e| t(e.to_string()))?;
        let tcp = self
            .clock
            .timeout(self.timeout, self.net.connect(ep.addr))
            .await
            .map_err(|_| RelayClientError::Timeout)?
            .map_err(|e| t(format!("connect: {e}")))?;
        let tls = self
            .clock
            .timeout(self.timeout, self.tls.connect(name, tcp))
            .await
            .map_err(|_| RelayClientError::Timeout)?
            .map_err(|e| t(format!("TLS: {e}")))?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| t(format!("HTTP: {e}")))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            send,
            authority: format!("{}:{}", ep.host, ep.addr.port()),
            clock: self.clock.clone(),
            timeout: self.timeout,
        })
    }
}

impl Conn {
    /// Whether the connection can still carry a request.
    pub fn is_open(&self) -> bool {
        !self.send.is_closed()
    }

    /// Sends one request and reads the whole answer, within `timeout` (lab time).
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        authorization: Option<&SecretString>,
        content_type: &str,
        body: Vec<u8>,
        timeout: Option<Duration>,
    ) -> Result<(u16, Bytes), RelayClientError> {
        self.exchange(method, path, authorization, content_type, body, timeout)
            .await
            .map(|(status, _, body)| (status, body))
    }

    /// [`Conn::request`] with the answer's headers too (a Graph 202's `Location`).
    pub async fn exchange(
        &mut self,
        method: &str,
        path: &str,
        authorization: Option<&SecretString>,
        content_type: &str,
        body: Vec<u8>,
        timeout: Option<Duration>,
    ) -> Result<(u16, hyper::HeaderMap, Bytes), RelayClientError> {
        let t = |e: String| RelayClientError::Transport(e);
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.authority)
            .header("content-type", content_type)
            .header("accept", "application/json");
        if let Some(a) = authorization {
            let mut v = hyper::header::HeaderValue::from_str(a.expose_secret())
                .map_err(|_| t("the credential is not a header value".into()))?;
            v.set_sensitive(true);
            req = req.header("authorization", v);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
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
            let (parts, body) = resp.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| t(format!("body: {e}")))?
                .to_bytes();
            Ok((status, parts.headers, body))
        };
        self.clock
            .timeout(timeout.unwrap_or(self.timeout), exchange)
            .await
            .map_err(|_| RelayClientError::Timeout)?
    }

    /// POSTs JSON and decodes a JSON answer; an error status becomes [`RelayClientError::Status`].
    pub async fn post_json<T: Serialize, R: DeserializeOwned>(
        &mut self,
        path: &str,
        authorization: Option<&SecretString>,
        body: &T,
        timeout: Option<Duration>,
    ) -> Result<R, RelayClientError> {
        let bytes =
            serde_json::to_vec(body).map_err(|e| RelayClientError::Decode(e.to_string()))?;
        let (status, body) = self
            .request(
                "POST",
                path,
                authorization,
                "application/json",
                bytes,
                timeout,
            )
            .await?;
        decode(status, &body)
    }
}

fn decode<R: DeserializeOwned>(status: u16, body: &[u8]) -> Result<R, RelayClientError> {
    if status >= 400 {
        let (code, message) = match serde_json::from_slice::<RelayError>(body) {
            Ok(e) => (Some(e.code), e.message),
            Err(_) => (
                None,
                String::from_utf8_lossy(body).chars().take(500).collect(),
            ),
        };
        return Err(RelayClientError::Status {
            status,
            code,
            message,
        });
    }
    serde_json::from_slice(body).map_err(|e| RelayClientError::Decode(e.to_string()))
}

/// Percent-encodes a form value (RFC 3986 unreserved characters pass through).
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The public client id the agent uses for ROPC (the Azure CLI's).
pub const ROPC_CLIENT_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

/// Gets an access token for `username` by ROPC at the token endpoint over `conn`.
pub async fn ropc_token(
    conn: &mut Conn,
    token_path: &str,
    username: &str,
    password: &SecretString,
) -> Result<SecretString, RelayClientError> {
    let body = zeroize::Zeroizing::new(format!(
        "grant_type=password&client_id={ROPC_CLIENT_ID}&username={}&password={}&scope={}",
        form_encode(username),
        form_encode(password.expose_secret()),
        form_encode("https://graph.microsoft.com/.default"),
    ));
    let (status, answer) = conn
        .request(
            "POST",
            token_path,
            None,
            "application/x-www-form-urlencoded",
            body.as_bytes().to_vec(),
            None,
        )
        .await?;
    if status != 200 {
        let v: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
        return Err(RelayClientError::Status {
            status,
            code: None,
            message: format!(
                "{}: {}",
                v["error"].as_str().unwrap_or("error"),
                v["error_description"].as_str().unwrap_or("")
            ),
        });
    }
    #[derive(serde::Deserialize)]
    struct Token {
        access_token: String,
    }
    let t: Token =
        serde_json::from_slice(&answer).map_err(|e| RelayClientError::Decode(e.to_string()))?;
    Ok(SecretString::from(t.access_token))
}

/// The relay's agent routes under one base path (e.g. `/relay/v1`).
#[derive(Clone, Debug)]
pub struct Relay {
    base: String,
}

impl Relay {
    /// The relay under `base` (the path of the ready file's `relay` URL).
    pub fn new(base: &str) -> Relay {
        Relay {
            base: base.trim_end_matches('/').to_string(),
        }
    }

    fn path(&self, route: String) -> String {
        // wire's route helpers start with `/relay/v1`; keep whatever base the URL gave.
        let tail = route.strip_prefix(wire::routes::PREFIX).unwrap_or(&route);
        format!("{}{tail}", self.base)
    }

    /// `POST /agents` with a Hybrid Identity Administrator token.
    pub async fn register(
        &self,
        conn: &mut Conn,
        admin_token: &SecretString,
        req: &RegisterRequest,
    ) -> Result<RegisterResponse, RelayClientError> {
        let bearer = SecretString::from(format!("Bearer {}", admin_token.expose_secret()));
        conn.post_json(
            &self.path(wire::routes::register_agent()),
            Some(&bearer),
            req,
            None,
        )
        .await
    }

    /// `POST /poll`: long-polls for up to `max_jobs` jobs, holding at most `wait` (lab time).
    pub async fn poll(
        &self,
        conn: &mut Conn,
        cred: &AgentCredential,
        max_jobs: u32,
        wait: Duration,
    ) -> Result<PollResponse, RelayClientError> {
        let req = PollRequest {
            max_jobs,
            wait_ms: wait.as_millis() as u64,
        };
        let limit = wait + conn.timeout;
        conn.post_json(
            &self.path(wire::routes::poll()),
            Some(&cred.header_value()),
            &req,
            Some(limit),
        )
        .await
    }

    /// `POST /jobs/{id}/ack`.
    pub async fn ack(
        &self,
        conn: &mut Conn,
        cred: &AgentCredential,
        id: &JobId,
        attempt: u32,
    ) -> Result<AckResponse, RelayClientError> {
        conn.post_json(
            &self.path(wire::routes::ack(id.as_str())),
            Some(&cred.header_value()),
            &AckRequest { attempt },
            None,
        )
        .await
    }

    /// `POST /jobs/{id}/result` (idempotent by job id).
    pub async fn result(
        &self,
        conn: &mut Conn,
        cred: &AgentCredential,
        result: &JobResult,
    ) -> Result<ResultResponse, RelayClientError> {
        conn.post_json(
            &self.path(wire::routes::result(result.job_id.as_str())),
            Some(&cred.header_value()),
            result,
            None,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_form_values() {
        let e = Endpoint::parse("https://127.0.0.1:4443/relay/v1/").unwrap();
        assert_eq!(e.addr, "127.0.0.1:4443".parse().unwrap());
        assert_eq!(e.host, "127.0.0.1");
        assert_eq!(e.path, "/relay/v1");
        let e = Endpoint::parse("https://localhost:99/x").unwrap();
        assert_eq!((e.host.as_str(), e.addr.port()), ("localhost", 99));
        assert!(Endpoint::parse("http://127.0.0.1:1/").is_err());
        assert!(Endpoint::parse("https://example.com/").is_err());
        assert_eq!(form_encode("a b@c&d=é"), "a%20b%40c%26d%3D%C3%A9");
        assert_eq!(
            Relay::new("/relay/v1").path(wire::routes::ack("j1")),
            "/relay/v1/jobs/j1/ack"
        );
    }
}
