//! An in-memory network for simulate mode: listeners and connections inside one process, with no
//! OS sockets, so a paused tokio runtime can skip idle time without racing an I/O driver. Ports
//! are handed out in order from 20000, so the same program binds the same addresses every run.
//!
//! Faults: [`MemNet::set_down`] refuses new connections to an address's host (all its ports), as a
//! crashed or partitioned host does; a listener dropped (a stopped DC) refuses too.
//!
//! Latency: each clone may carry a host name ([`MemNet::as_host`]); listeners take the name of the
//! clone that bound them. With [`MemNet::set_latency`], a connection from host A to host B delays
//! every byte by the function's one-way delay for (A, B), in each direction, in order, on tokio's
//! clock (virtual in simulate mode).
#![allow(clippy::disallowed_methods)] // delays run on tokio's clock, the lab clock's base here

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;

use crate::net::{Listener, Network};

/// The buffer each direction of a connection holds before a writer waits.
const PIPE_BYTES: usize = 256 * 1024;

/// The first port handed out for port 0 (and for the client side of connections).
const FIRST_PORT: u16 = 20000;

type Accepted = (DuplexStream, SocketAddr);

/// The one-way delay from one named host to another.
pub type LatencyFn = Arc<dyn Fn(&str, &str) -> Duration + Send + Sync>;

#[derive(Default)]
struct Inner {
    listeners: BTreeMap<SocketAddr, (mpsc::UnboundedSender<Accepted>, Arc<str>)>,
    down: BTreeSet<IpAddr>,
    next_port: u16,
    latency: Option<LatencyFn>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("listeners", &self.listeners.len())
            .field("down", &self.down)
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn port(&mut self) -> u16 {
        if self.next_port < FIRST_PORT {
            self.next_port = FIRST_PORT;
        }
        let p = self.next_port;
        self.next_port = self.next_port.checked_add(1).unwrap_or(FIRST_PORT);
        p
    }
}

/// The in-memory network. Cheap to clone; clones share the same listeners.
#[derive(Clone, Debug, Default)]
pub struct MemNet {
    inner: Arc<Mutex<Inner>>,
    host: Option<Arc<str>>,
}

impl MemNet {
    /// An empty network.
    pub fn new() -> MemNet {
        MemNet::default()
    }

    /// This network as seen from host `name`: its connections and listeners carry the name.
    pub fn as_host(&self, name: &str) -> MemNet {
        MemNet {
            inner: self.inner.clone(),
            host: Some(name.into()),
        }
    }

    /// Sets the one-way delay of every connection made from now on (None: instant).
    pub fn set_latency(&self, f: Option<LatencyFn>) {
        self.inner.lock().expect("memnet lock").latency = f;
    }

    fn name(&self) -> Arc<str> {
        self.host.clone().unwrap_or_else(|| "driver".into())
    }

    /// Takes host `ip` down (new connections to it are refused) or brings it back.
    pub fn set_down(&self, ip: IpAddr, down: bool) {
        let mut i = self.inner.lock().expect("memnet lock");
        if down {
            i.down.insert(ip);
        } else {
            i.down.remove(&ip);
        }
    }

    /// The addresses listening now.
    pub fn listening(&self) -> Vec<SocketAddr> {
        let i = self.inner.lock().expect("memnet lock");
        i.listeners.keys().copied().collect()
    }
}

/// A listener on the in-memory network; dropping it frees the address.
#[derive(Debug)]
pub struct MemListener {
    addr: SocketAddr,
    rx: mpsc::UnboundedReceiver<Accepted>,
    net: MemNet,
}

impl Drop for MemListener {
    fn drop(&mut self) {
        let mut i = self.net.inner.lock().expect("memnet lock");
        i.listeners.remove(&self.addr);
    }
}

impl Listener for MemListener {
    type Stream = DuplexStream;

    async fn accept(&mut self) -> io::Result<(DuplexStream, SocketAddr)> {
        self.rx
            .recv()
            .await
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "the network is gone"))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

impl Network for MemNet {
    type Stream = DuplexStream;
    type Listener = MemListener;

    async fn bind(&self, addr: SocketAddr) -> io::Result<MemListener> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut i = self.inner.lock().expect("memnet lock");
        let addr = if addr.port() == 0 {
            loop {
                let a = SocketAddr::new(addr.ip(), i.port());
                if !i.listeners.contains_key(&a) {
                    break a;
                }
            }
        } else {
            addr
        };
        if i.listeners.contains_key(&addr) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("{addr} is in use"),
            ));
        }
        i.listeners.insert(addr, (tx, self.name()));
        drop(i);
        Ok(MemListener {
            addr,
            rx,
            net: self.clone(),
        })
    }

    async fn connect(&self, addr: SocketAddr) -> io::Result<DuplexStream> {
        let mut i = self.inner.lock().expect("memnet lock");
        let refused =
            || io::Error::new(io::ErrorKind::ConnectionRefused, format!("{addr} refused"));
        if i.down.contains(&addr.ip()) {
            return Err(refused());
        }
        let Some((tx, to)) = i.listeners.get(&addr).cloned() else {
            return Err(refused());
        };
        let delay = i
            .latency
            .as_ref()
            .map(|f| f(&self.name(), &to))
            .unwrap_or_default();
        let peer = SocketAddr::new(addr.ip(), i.port());
        drop(i);
        let (client, server) = if delay.is_zero() {
            tokio::io::duplex(PIPE_BYTES)
        } else {
            delayed_pair(delay)
        };
        tx.send((server, peer)).map_err(|_| refused())?;
        Ok(client)
    }
}

/// A connection whose bytes take `delay` to cross, each way: two pipes joined by forwarders.
fn delayed_pair(delay: Duration) -> (DuplexStream, DuplexStream) {
    let (client, near) = tokio::io::duplex(PIPE_BYTES);
    let (far, server) = tokio::io::duplex(PIPE_BYTES);
    let (near_r, near_w) = tokio::io::split(near);
    let (far_r, far_w) = tokio::io::split(far);
    tokio::spawn(forward(near_r, far_w, delay));
    tokio::spawn(forward(far_r, near_w, delay));
    (client, server)
}

/// Copies `r` to `w`, each chunk written `delay` after it was read, in order.
async fn forward<R, W>(mut r: R, mut w: W, delay: Duration)
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if w.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = w.shutdown().await;
    });
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let at = tokio::time::Instant::now() + delay;
                if tx.send((at, buf[..n].to_vec())).is_err() {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn bind_accept_connect_refuse() {
        let net = MemNet::new();
        let mut l = net.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = l.local_addr().unwrap();
        assert_eq!(addr.port(), FIRST_PORT);
        assert_eq!(
            net.bind(addr).await.unwrap_err().kind(),
            io::ErrorKind::AddrInUse
        );
        let n2 = net.clone();
        let client = tokio::spawn(async move {
            let mut c = n2.connect(addr).await.unwrap();
            c.write_all(b"hi").await.unwrap();
            let mut back = [0u8; 2];
            c.read_exact(&mut back).await.unwrap();
            back
        });
        let (mut s, peer) = l.accept().await.unwrap();
        assert_eq!(peer.ip(), addr.ip());
        let mut buf = [0u8; 2];
        s.read_exact(&mut buf).await.unwrap();
        s.write_all(b"ok").await.unwrap();
        assert_eq!(&client.await.unwrap(), b"ok");

        net.set_down(addr.ip(), true);
        assert_eq!(
            net.connect(addr).await.unwrap_err().kind(),
            io::ErrorKind::ConnectionRefused
        );
        net.set_down(addr.ip(), false);
        drop(l);
        assert_eq!(
            net.connect(addr).await.unwrap_err().kind(),
            io::ErrorKind::ConnectionRefused
        );
        assert!(net.listening().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_link_delays_each_way() {
        let net = MemNet::new();
        net.set_latency(Some(Arc::new(|from: &str, to: &str| {
            if (from, to) == ("agent", "dc") {
                Duration::from_millis(25)
            } else {
                Duration::ZERO
            }
        })));
        let mut l = net
            .as_host("dc")
            .bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = l.local_addr().unwrap();
        let agent = net.as_host("agent");
        let t0 = tokio::time::Instant::now();
        let client = tokio::spawn(async move {
            let mut c = agent.connect(addr).await.unwrap();
            c.write_all(b"ping").await.unwrap();
            let mut back = [0u8; 4];
            c.read_exact(&mut back).await.unwrap();
            back
        });
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(t0.elapsed(), Duration::from_millis(25));
        s.write_all(b"pong").await.unwrap();
        assert_eq!(&client.await.unwrap(), b"pong");
        assert_eq!(t0.elapsed(), Duration::from_millis(50));
    }
}
