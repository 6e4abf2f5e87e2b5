//! The agent's own small LDAP client on `ldap3_proto`'s codec: generic over the stream, LDAPS
//! through the runtime seam, every operation bounded by a timeout on the lab clock.
//!
//! It never `Debug`-logs a request: ldap3_proto's `Debug` of a modify prints its values, and a
//! password modify carries the password.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use ldap3_proto::proto::{
    LdapBindCred, LdapBindRequest, LdapDerefAliases, LdapFilter, LdapModify, LdapMsg, LdapOp,
    LdapResult, LdapSearchRequest, LdapSearchScope,
};
use ldap3_proto::{LdapCodec, control::LdapControl};
use runtime::Clock;
use runtime::net::Network;
use rustls::pki_types::ServerName;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::Framed;
use uuid::Uuid;

/// LDAP_SERVER_POLICY_HINTS_OID.
pub const POLICY_HINTS_OID: &str = "1.2.840.113556.1.4.2239";
/// The policy-hints value with Flags = 1: `SEQUENCE { INTEGER 1 }`.
pub const POLICY_HINTS_ON: [u8; 5] = [0x30, 0x03, 0x02, 0x01, 0x01];
/// The agent's private job-id control (DESIGN §4), value the job id in UTF-8.
pub const JOB_ID_OID: &str = "2.25.113326234892387354470223958930026193466";

/// The policy-hints control asking the DC to enforce history and minimum age on a reset.
pub fn policy_hints(critical: bool) -> LdapControl {
    LdapControl::Unknown {
        oid: POLICY_HINTS_OID.into(),
        criticality: critical,
        value: Some(POLICY_HINTS_ON.to_vec()),
    }
}

/// The non-critical job-id control, which a real DC ignores and fake-ad joins to its refusals.
pub fn job_id(id: &str) -> LdapControl {
    LdapControl::Unknown {
        oid: JOB_ID_OID.into(),
        criticality: false,
        value: Some(id.as_bytes().to_vec()),
    }
}

/// Why an LDAP exchange failed without an LDAP answer.
#[derive(Debug, thiserror::Error)]
pub enum LdapError {
    /// The TCP connection could not be opened.
    #[error("connect: {0}")]
    Connect(std::io::Error),
    /// The TLS handshake failed (certificate, protocol).
    #[error("TLS: {0}")]
    Tls(std::io::Error),
    /// The server name is not a valid DNS name or IP address.
    #[error("bad server name {0:?}")]
    ServerName(String),
    /// No answer within the timeout.
    #[error("timed out")]
    Timeout,
    /// The connection failed or closed mid-exchange.
    #[error("connection lost: {0}")]
    Io(std::io::Error),
    /// The server answered something that is not the expected response.
    #[error("protocol: {0}")]
    Protocol(&'static str),
}

/// An LDAP result: code, diagnostic message, matched DN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The result code (0 success, 49 invalidCredentials, 50, 53, …).
    pub code: u32,
    /// The diagnostic message, verbatim (AD's `0000052D: SvcErr: …`).
    pub diagnostic: String,
    /// The matched DN.
    pub matched: String,
}

impl Answer {
    fn of(r: &LdapResult) -> Answer {
        Answer {
            code: r.code.clone() as i64 as u32,
            diagnostic: r.message.clone(),
            matched: r.matcheddn.clone(),
        }
    }

    /// Whether the operation succeeded.
    pub fn ok(&self) -> bool {
        self.code == 0
    }
}

/// What a search by objectGUID found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// Exactly one entry: its DN.
    One(String),
    /// No entry has the GUID (noSuchObject, or an empty result).
    None(Answer),
    /// More than one entry answered.
    Many(usize),
    /// The search failed with another result.
    Error(Answer),
}

/// One LDAP connection.
pub struct LdapConn<S> {
    framed: Framed<S, LdapCodec>,
    next_id: i32,
    clock: Clock,
    timeout: Duration,
}

/// The TLS stream an LDAPS connection over network `N` uses.
pub type TlsStream<N> = tokio_rustls::client::TlsStream<<N as Network>::Stream>;

/// Connects to `addr` over LDAPS, verifying the certificate for `server_name` against `tls`'s
/// roots. Connect and handshake each get `timeout` of lab time.
pub async fn connect<N: Network>(
    net: &N,
    addr: SocketAddr,
    server_name: &str,
    tls: Arc<rustls::ClientConfig>,
    clock: &Clock,
    timeout: Duration,
) -> Result<LdapConn<TlsStream<N>>, LdapError> {
    let name = ServerName::try_from(server_name.to_string())
        .map_err(|_| LdapError::ServerName(server_name.to_string()))?;
    let tcp = clock
        .timeout(timeout, net.connect(addr))
        .await
        .map_err(|_| LdapError::Timeout)?
        .map_err(LdapError::Connect)?;
    let stream = clock
        .timeout(
            timeout,
            tokio_rustls::TlsConnector::from(tls).connect(name, tcp),
        )
        .await
        .map_err(|_| LdapError::Timeout)?
        .map_err(LdapError::Tls)?;
    Ok(LdapConn::new(stream, clock.clone(), timeout))
}

impl<S: AsyncRead + AsyncWrite + Unpin> LdapConn<S> {
    /// An LDAP session over an established stream.
    pub fn new(stream: S, clock: Clock, timeout: Duration) -> Self {
        LdapConn {
            framed: Framed::new(stream, LdapCodec::default()),
            next_id: 1,
            clock,
            timeout,
        }
    }

    fn id(&mut self) -> i32 {
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        id
    }

    async fn send(&mut self, msg: LdapMsg) -> Result<(), LdapError> {
        match self
            .clock
            .timeout(self.timeout, self.framed.send(msg))
            .await
        {
            Err(_) => Err(LdapError::Timeout),
            Ok(r) => r.map_err(LdapError::Io),
        }
    }

    async fn recv(&mut self) -> Result<LdapMsg, LdapError> {
        match self.clock.timeout(self.timeout, self.framed.next()).await {
            Err(_) => Err(LdapError::Timeout),
            Ok(None) => Err(LdapError::Io(std::io::ErrorKind::UnexpectedEof.into())),
            Ok(Some(r)) => r.map_err(LdapError::Io),
        }
    }

    /// Waits for the response to message `id`; an unsolicited notice of disconnection (id 0)
    /// ends the connection.
    async fn response(&mut self, id: i32) -> Result<LdapOp, LdapError> {
        loop {
            let m = self.recv().await?;
            if m.msgid == id {
                return Ok(m.op);
            }
            if m.msgid == 0 {
                return Err(LdapError::Protocol("notice of disconnection"));
            }
        }
    }

    /// Simple bind as `name` (a DN, UPN or `DOMAIN\name`).
    pub async fn bind(&mut self, name: &str, password: &SecretString) -> Result<Answer, LdapError> {
        let id = self.id();
        let op = LdapOp::BindRequest(LdapBindRequest {
            version: 3,
            dn: name.to_string(),
            cred: LdapBindCred::Simple(password.expose_secret().to_string()),
        });
        self.send(LdapMsg::new(id, op)).await?;
        match self.response(id).await? {
            LdapOp::BindResponse(r) => Ok(Answer::of(&r.res)),
            _ => Err(LdapError::Protocol("expected a bind response")),
        }
    }

    /// Finds the entry whose objectGUID is `anchor` through AD's `<GUID=…>` DN form (scope base),
    /// asking for `attrs` (e.g. `["1.1"]` for none).
    pub async fn find_by_guid(&mut self, anchor: Uuid, attrs: &[&str]) -> Result<Found, LdapError> {
        let id = self.id();
        let op = LdapOp::SearchRequest(LdapSearchRequest {
            base: format!("<GUID={}>", anchor.hyphenated()),
            scope: LdapSearchScope::Base,
            aliases: LdapDerefAliases::Never,
            sizelimit: 2,
            timelimit: 0,
            typesonly: false,
            filter: LdapFilter::Present("objectClass".into()),
            attrs: attrs.iter().map(|a| a.to_string()).collect(),
        });
        self.send(LdapMsg::new(id, op)).await?;
        let mut dns = Vec::new();
        loop {
            match self.response(id).await? {
                LdapOp::SearchResultEntry(e) => dns.push(e.dn),
                LdapOp::SearchResultReference(_) => {}
                LdapOp::SearchResultDone(r) => {
                    let a = Answer::of(&r);
                    return Ok(match (a.code, dns.len()) {
                        (32, _) => Found::None(a),
                        (0, 0) => Found::None(a),
                        (0, 1) => Found::One(dns.remove(0)),
                        (0, n) => Found::Many(n),
                        _ => Found::Error(a),
                    });
                }
                _ => return Err(LdapError::Protocol("expected search results")),
            }
        }
    }

    /// A search: every entry's DN and binary attribute values, then the result.
    pub async fn search(
        &mut self,
        base: &str,
        scope: LdapSearchScope,
        filter: LdapFilter,
        attrs: &[&str],
        controls: Vec<LdapControl>,
    ) -> Result<(Vec<(String, Vec<(String, Vec<Vec<u8>>)>)>, Answer), LdapError> {
        let id = self.id();
        let op = LdapOp::SearchRequest(LdapSearchRequest {
            base: base.to_string(),
            scope,
            aliases: LdapDerefAliases::Never,
            sizelimit: 0,
            timelimit: 0,
            typesonly: false,
            filter,
            attrs: attrs.iter().map(|a| a.to_string()).collect(),
        });
        self.send(LdapMsg::new_with_ctrls(id, op, controls)).await?;
        let mut out = Vec::new();
        loop {
            match self.response(id).await? {
                LdapOp::SearchResultEntry(e) => {
                    out.push((
                        e.dn,
                        e.attributes
                            .into_iter()
                            .map(|a| (a.atype, a.vals))
                            .collect(),
                    ));
                }
                LdapOp::SearchResultReference(_) => {}
                LdapOp::SearchResultDone(r) => return Ok((out, Answer::of(&r))),
                _ => return Err(LdapError::Protocol("expected search results")),
            }
        }
    }

    /// One Modify of `dn` with `changes` and request `controls`.
    pub async fn modify(
        &mut self,
        dn: &str,
        changes: Vec<LdapModify>,
        controls: Vec<LdapControl>,
    ) -> Result<Answer, LdapError> {
        let id = self.id();
        let op = LdapOp::ModifyRequest(ldap3_proto::proto::LdapModifyRequest {
            dn: dn.to_string(),
            changes,
        });
        self.send(LdapMsg::new_with_ctrls(id, op, controls)).await?;
        match self.response(id).await? {
            LdapOp::ModifyResponse(r) => Ok(Answer::of(&r)),
            _ => Err(LdapError::Protocol("expected a modify response")),
        }
    }

    /// Sends an unbind and closes the connection (best effort).
    pub async fn unbind(mut self) {
        let id = self.id();
        let _ = self.send(LdapMsg::new(id, LdapOp::UnbindRequest)).await;
        let _ = self
            .clock
            .timeout(self.timeout, SinkExt::<LdapMsg>::close(&mut self.framed))
            .await;
    }
}

/// A rustls client configuration (ring provider) trusting only the CA certificates in `pem`.
pub fn client_config(pem: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| format!("CA PEM: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("CA certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err("CA PEM: no certificate".into());
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}
