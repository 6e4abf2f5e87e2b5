//! The listener loop and the per-connection transport: TLS handshakes run in the connection's own
//! task with a timeout, a malformed message gets a Notice of Disconnection and closes only that
//! connection, and every other client keeps being served.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use ldap3_proto::LdapCodec;
use runtime::net::{Listener, Stream};
use tokio_rustls::TlsAcceptor;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::session::{Response, Session, notice_of_disconnection};
use super::stream::MaybeTls;
use crate::domain::Dc;

/// Which protocol a listener speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Plain LDAP; StartTLS upgrades it.
    Ldap,
    /// LDAP over TLS from the first byte.
    Ldaps,
}

/// Largest request accepted (bytes); larger ones close the connection.
pub const MAX_REQUEST: usize = 1 << 20;
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// AD's MaxConnIdleTime: an idle connection is closed after this (lab time).
const IDLE_TIMEOUT: Duration = Duration::from_secs(900);

/// Serves `dc` on `listener` until `stop` is cancelled.
pub async fn serve<L: Listener>(
    mut listener: L,
    dc: Arc<Dc>,
    tls: Arc<tokio_rustls::rustls::ServerConfig>,
    mode: Mode,
    stop: CancellationToken,
) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let accepted = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                warn!(dc = %dc.host, error = %e, "accept failed");
                continue;
            }
        };
        let (dc, acceptor, stop) = (dc.clone(), acceptor.clone(), stop.clone());
        tokio::spawn(async move {
            let peer = peer.to_string();
            let stream = match mode {
                Mode::Ldap => MaybeTls::Plain(stream),
                Mode::Ldaps => match dc
                    .clock
                    .timeout(handshake_limit(&dc), acceptor.accept(stream))
                    .await
                {
                    Ok(Ok(s)) => MaybeTls::Tls(Box::new(s)),
                    Ok(Err(e)) => return debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => return debug!(%peer, "TLS handshake timed out"),
                },
            };
            connection(stream, dc, acceptor, peer, stop).await;
        });
    }
}

/// The handshake limit in lab time (it is meant as real seconds, whatever the clock's scale).
fn handshake_limit(dc: &Dc) -> Duration {
    HANDSHAKE_TIMEOUT.mul_f64(dc.clock.scale())
}

fn codec() -> LdapCodec {
    LdapCodec::new(Some(MAX_REQUEST), None)
}

async fn connection<S: Stream>(
    stream: MaybeTls<S>,
    dc: Arc<Dc>,
    acceptor: TlsAcceptor,
    peer: String,
    stop: CancellationToken,
) {
    let mut session = Session::new(dc.clone(), stream.is_tls(), peer.clone());
    let mut framed = Framed::new(stream, codec());
    loop {
        let next = tokio::select! {
            biased;
            _ = stop.cancelled() => return,
            n = dc.clock.timeout(IDLE_TIMEOUT, framed.next()) => n,
        };
        let msg = match next {
            Err(_) => return debug!(%peer, "idle connection closed"),
            Ok(None) => return,
            Ok(Some(Ok(m))) => m,
            Ok(Some(Err(e))) => {
                debug!(%peer, error = %e, "malformed request; closing");
                let _ = framed
                    .send(notice_of_disconnection(
                        "malformed or oversized LDAP message",
                    ))
                    .await;
                return;
            }
        };
        match session.handle(msg).await {
            Response::Respond(msgs) => {
                let mut it = futures_util::stream::iter(msgs.into_iter().map(Ok));
                if framed.send_all(&mut it).await.is_err() {
                    return;
                }
            }
            Response::Nothing => {}
            Response::Unbind => return,
            Response::StartTls(ok) => {
                if framed.send(ok).await.is_err() {
                    return;
                }
                let parts = framed.into_parts();
                if !parts.read_buf.is_empty() {
                    return debug!(%peer, "data after StartTLS request; closing");
                }
                let MaybeTls::Plain(raw) = parts.io else {
                    return;
                };
                let tls = match dc
                    .clock
                    .timeout(handshake_limit(&dc), acceptor.accept(raw))
                    .await
                {
                    Ok(Ok(s)) => s,
                    _ => return debug!(%peer, "StartTLS handshake failed"),
                };
                session.set_tls();
                framed = Framed::new(MaybeTls::Tls(Box::new(tls)), codec());
            }
        }
    }
}
