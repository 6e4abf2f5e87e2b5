//! An in-memory network for simulate mode: listeners and connections inside one process, with no
//! OS sockets, so a paused tokio runtime can skip idle time without racing an I/O driver. Ports
//! are handed out in order from 20000, so the same program binds the same addresses every run.
//!
//! Faults: [`MemNet::set_down`] refuses new connections to an address's host (all its ports), as a
//! crashed or partitioned host does; a listener dropped (a stopped DC) refuses too.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::DuplexStream;
use tokio::sync::mpsc;

use crate::net::{Listener, Network};

/// The buffer each direction of a connection holds before a writer waits.
const PIPE_BYTES: usize = 256 * 1024;

/// The first port handed out for port 0 (and for the client side of connections).
const FIRST_PORT: u16 = 20000;

type Accepted = (DuplexStream, SocketAddr);

#[derive(Debug, Default)]
struct Inner {
    listeners: BTreeMap<SocketAddr, mpsc::UnboundedSender<Accepted>>,
    down: BTreeSet<IpAddr>,
    next_port: u16,
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
}

impl MemNet {
    /// An empty network.
    pub fn new() -> MemNet {
        MemNet::default()
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
        i.listeners.insert(addr, tx);
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
        let Some(tx) = i.listeners.get(&addr).cloned() else {
            return Err(refused());
        };
        let peer = SocketAddr::new(addr.ip(), i.port());
        drop(i);
        let (client, server) = tokio::io::duplex(PIPE_BYTES);
        tx.send((server, peer)).map_err(|_| refused())?;
        Ok(client)
    }
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
}
