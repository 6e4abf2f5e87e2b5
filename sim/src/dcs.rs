//! A DC's listeners as a lab runs them: bound once on their addresses, stopped (listeners and
//! connections closed, replication to it held) and started again on the same addresses.

use std::net::SocketAddr;
use std::sync::Arc;

use fake_ad::Dc;
use fake_ad::ldap::{Mode, serve as serve_ldap};
use runtime::AnyNet;
use runtime::net::{Listener, Network};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// One DC's LDAP and LDAPS listeners.
pub struct DcRunner {
    /// The DC.
    pub dc: Arc<Dc>,
    /// Its domain's DNS name.
    pub domain: String,
    /// Plain LDAP address.
    pub ldap: SocketAddr,
    /// LDAPS address.
    pub ldaps: SocketAddr,
    tls: Arc<tokio_rustls::rustls::ServerConfig>,
    net: AnyNet,
    lab_stop: CancellationToken,
    running: Mutex<Option<(CancellationToken, Vec<JoinHandle<()>>)>>,
}

impl DcRunner {
    /// Binds `ldap` and `ldaps` on `net` (port 0 picks one) and starts serving.
    pub async fn bind(
        net: &AnyNet,
        domain: &str,
        dc: Arc<Dc>,
        tls: Arc<tokio_rustls::rustls::ServerConfig>,
        ldap: SocketAddr,
        ldaps: SocketAddr,
        lab_stop: CancellationToken,
    ) -> Result<DcRunner, (SocketAddr, std::io::Error)> {
        let token = lab_stop.child_token();
        let (ldap, t1) = listen(net, &dc, &tls, ldap, Mode::Ldap, &token).await?;
        let (ldaps, t2) = listen(net, &dc, &tls, ldaps, Mode::Ldaps, &token).await?;
        Ok(DcRunner {
            dc,
            domain: domain.to_string(),
            ldap,
            ldaps,
            tls,
            net: net.clone(),
            lab_stop,
            running: Mutex::new(Some((token, vec![t1, t2]))),
        })
    }

    /// Whether the DC is serving.
    pub async fn is_running(&self) -> bool {
        self.running.lock().await.is_some()
    }

    /// Stops the DC: its listeners close, its connections end, and replication to it waits.
    pub async fn stop(&self) {
        self.dc
            .stopped
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some((token, tasks)) = self.running.lock().await.take() {
            token.cancel();
            for t in tasks {
                let _ = t.await;
            }
        }
    }

    /// Starts a stopped DC on its old addresses; it then catches up from its partners.
    pub async fn start(&self) -> Result<(), (SocketAddr, std::io::Error)> {
        let mut running = self.running.lock().await;
        if running.is_some() {
            return Ok(());
        }
        let token = self.lab_stop.child_token();
        let (_, t1) = listen(
            &self.net,
            &self.dc,
            &self.tls,
            self.ldap,
            Mode::Ldap,
            &token,
        )
        .await?;
        let (_, t2) = listen(
            &self.net,
            &self.dc,
            &self.tls,
            self.ldaps,
            Mode::Ldaps,
            &token,
        )
        .await?;
        *running = Some((token, vec![t1, t2]));
        self.dc
            .stopped
            .store(false, std::sync::atomic::Ordering::Relaxed);
        self.dc.domain.repl_kick.notify_waiters();
        Ok(())
    }

    /// Waits for the listener tasks after the lab's stop token was cancelled.
    pub async fn join(&self) {
        if let Some((_, tasks)) = self.running.lock().await.take() {
            for t in tasks {
                let _ = t.await;
            }
        }
    }
}

async fn listen(
    net: &AnyNet,
    dc: &Arc<Dc>,
    tls: &Arc<tokio_rustls::rustls::ServerConfig>,
    addr: SocketAddr,
    mode: Mode,
    token: &CancellationToken,
) -> Result<(SocketAddr, JoinHandle<()>), (SocketAddr, std::io::Error)> {
    let l = net.bind(addr).await.map_err(|e| (addr, e))?;
    let local = l.local_addr().map_err(|e| (addr, e))?;
    Ok((
        local,
        tokio::spawn(serve_ldap(l, dc.clone(), tls.clone(), mode, token.clone())),
    ))
}
