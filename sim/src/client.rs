//! A client of a running lab over the lab's own network (sockets in serve mode, the in-memory
//! network in simulate mode): tokens, Graph's resetPassword and its operation, other HTTPS calls,
//! and simple binds over LDAPS. The workload and the timeline use it, so they take the same routes
//! as any outside client.

use std::sync::Arc;
use std::time::Duration;

use agent::relay::{Conn, Endpoint, Https, RelayClientError};
use runtime::{AnyNet, Clock};
use secrecy::SecretString;
use serde_json::Value;

use crate::lab::Lab;

/// The password method id of Graph's resetPassword (facts §5.5).
pub const PASSWORD_METHOD: &str = "28c10230-6103-485e-b985-444c60001490";

/// What a client call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The transport or HTTP exchange failed.
    #[error(transparent)]
    Http(#[from] RelayClientError),
    /// The answer was not what the route promises.
    #[error("{0}")]
    Unexpected(String),
    /// An LDAP exchange failed.
    #[error("LDAP: {0}")]
    Ldap(String),
}

/// A client of one lab.
#[derive(Clone)]
pub struct LabClient {
    net: AnyNet,
    https: Https<AnyNet>,
    cloud: Endpoint,
    tls: Arc<tokio_rustls::rustls::ClientConfig>,
    clock: Clock,
    tenant: String,
    dcs: Vec<(String, String, String, std::net::SocketAddr)>,
    /// Idle keep-alive connections to the cloud, reused by later calls.
    idle: std::sync::Arc<std::sync::Mutex<Vec<Conn>>>,
}

/// An HTTP answer: status, headers, body.
pub type Answer = (u16, hyper::HeaderMap, bytes::Bytes);

impl LabClient {
    /// A client of `lab` over `net` (the network the lab runs on).
    pub fn new(lab: &Lab, net: AnyNet) -> Result<LabClient, ClientError> {
        let tls = lab
            .ca
            .client_config()
            .map_err(|e| ClientError::Unexpected(e.to_string()))?;
        let clock = lab.clock.clone();
        let cloud = Endpoint::parse(&format!("https://{}/", lab.cloud.https))?;
        Ok(LabClient {
            https: Https::new(
                net.clone(),
                tls.clone(),
                clock.clone(),
                Duration::from_secs(60),
            ),
            net,
            cloud,
            tls,
            clock,
            tenant: lab.spec.tenant.name.clone(),
            dcs: lab
                .endpoints
                .iter()
                .map(|e| {
                    (
                        e.domain.clone(),
                        e.dc.name.clone(),
                        e.dc.host.clone(),
                        e.ldaps,
                    )
                })
                .collect(),
            idle: Default::default(),
        })
    }

    /// An open connection to the cloud: an idle one, else a new one.
    async fn conn(&self) -> Result<Conn, ClientError> {
        loop {
            let c = self.idle.lock().expect("idle lock").pop();
            match c {
                Some(c) if c.is_open() => return Ok(c),
                Some(_) => continue,
                None => return Ok(self.https.connect(&self.cloud).await?),
            }
        }
    }

    /// Gives a connection back for reuse (a few are kept).
    fn put(&self, c: Conn) {
        let mut idle = self.idle.lock().expect("idle lock");
        if c.is_open() && idle.len() < 64 {
            idle.push(c);
        }
    }

    /// One HTTPS call to the cloud; `body` is JSON when given.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&SecretString>,
        body: Option<&Value>,
    ) -> Result<Answer, ClientError> {
        let mut c = self.conn().await?;
        let bearer = token.map(|t| {
            use secrecy::ExposeSecret;
            SecretString::from(format!("Bearer {}", t.expose_secret()))
        });
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let answer = c
            .exchange(
                method,
                path,
                bearer.as_ref(),
                "application/json",
                bytes,
                None,
            )
            .await?;
        self.put(c);
        Ok(answer)
    }

    /// A delegated token for `user` by ROPC; `Err` carries the AADSTS answer.
    pub async fn token(
        &self,
        user: &str,
        password: &SecretString,
    ) -> Result<SecretString, ClientError> {
        let mut c = self.conn().await?;
        let path = format!("/{}/oauth2/v2.0/token", self.tenant);
        let token = agent::relay::ropc_token(&mut c, &path, user, password).await;
        self.put(c);
        Ok(token?)
    }

    /// Graph resetPassword of `user` by `token`'s admin; polls the operation (every 200
    /// ms of lab time) until it ends and returns its last JSON, or the refusal's status and body.
    pub async fn graph_reset(
        &self,
        token: &SecretString,
        user: &str,
        password: &SecretString,
    ) -> Result<Value, ClientError> {
        use secrecy::ExposeSecret;
        let path =
            format!("/v1.0/users/{user}/authentication/methods/{PASSWORD_METHOD}/resetPassword");
        let body = serde_json::json!({ "newPassword": password.expose_secret() });
        let (status, headers, answer) = self.call("POST", &path, Some(token), Some(&body)).await?;
        if status != 202 {
            let v: Value = serde_json::from_slice(&answer).unwrap_or_default();
            return Ok(
                serde_json::json!({ "status": "refused", "httpStatus": status, "error": v["error"] }),
            );
        }
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ClientError::Unexpected("a 202 without Location".into()))?;
        let path = location
            .find("/v1.0/")
            .map(|i| location[i..].to_string())
            .ok_or_else(|| ClientError::Unexpected(format!("Location {location}")))?;
        self.poll(&path, Some(token)).await
    }

    /// GETs `path` every 200 ms of lab time until its `status` is `succeeded` or `failed` (at most
    /// five virtual minutes).
    pub async fn poll(
        &self,
        path: &str,
        token: Option<&SecretString>,
    ) -> Result<Value, ClientError> {
        for _ in 0..1500 {
            let (status, _, body) = self.call("GET", path, token, None).await?;
            let v: Value = serde_json::from_slice(&body)
                .map_err(|e| ClientError::Unexpected(format!("GET {path}: {status}: {e}")))?;
            if matches!(v["status"].as_str(), Some("succeeded" | "failed")) {
                return Ok(v);
            }
            self.clock.sleep(Duration::from_millis(200)).await;
        }
        Err(ClientError::Unexpected(format!("{path} never ended")))
    }

    /// A simple bind as `name` on `domain`'s DC `dc` over LDAPS: the result code and diagnostic.
    pub async fn bind(
        &self,
        domain: &str,
        dc: &str,
        name: &str,
        password: &SecretString,
    ) -> Result<(u32, String), ClientError> {
        let (_, _, host, addr) = self
            .dcs
            .iter()
            .find(|(d, n, _, _)| d.eq_ignore_ascii_case(domain) && n.eq_ignore_ascii_case(dc))
            .ok_or_else(|| ClientError::Unexpected(format!("no DC {dc} in {domain}")))?;
        let mut c = agent::ldap::connect(
            &self.net,
            *addr,
            host,
            self.tls.clone(),
            &self.clock,
            Duration::from_secs(30),
        )
        .await
        .map_err(|e| ClientError::Ldap(e.to_string()))?;
        let a = c
            .bind(name, password)
            .await
            .map_err(|e| ClientError::Ldap(e.to_string()))?;
        c.unbind().await;
        Ok((a.code, a.diagnostic))
    }
}
