//! [`AnyNet`]: the real network or the in-memory one, chosen at run time, so the lab's code has
//! one concrete network type whether it serves on sockets or runs in simulate mode.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::net::TcpStream;

use crate::memnet::{MemListener, MemNet};
use crate::net::{Listener, Network, TokioListener, TokioNet};

/// The real network or the in-memory one.
#[derive(Clone, Debug)]
pub enum AnyNet {
    /// tokio sockets (serve mode).
    Tokio(TokioNet),
    /// The in-memory network (simulate mode).
    Mem(MemNet),
}

impl Default for AnyNet {
    fn default() -> Self {
        AnyNet::Tokio(TokioNet)
    }
}

impl AnyNet {
    /// This network as seen from host `name` (the in-memory network's latencies and names; the
    /// real one is unchanged).
    pub fn as_host(&self, name: &str) -> AnyNet {
        match self {
            AnyNet::Tokio(n) => AnyNet::Tokio(*n),
            AnyNet::Mem(m) => AnyNet::Mem(m.as_host(name)),
        }
    }

    /// Whether this is the in-memory network.
    pub fn is_simulated(&self) -> bool {
        matches!(self, AnyNet::Mem(_))
    }
}

/// A stream of either network.
#[derive(Debug)]
pub enum AnyStream {
    /// A TCP socket.
    Tcp(TcpStream),
    /// An in-memory pipe.
    Mem(DuplexStream),
}

/// A listener of either network.
#[derive(Debug)]
pub enum AnyListener {
    /// A TCP listener.
    Tokio(TokioListener),
    /// An in-memory listener.
    Mem(MemListener),
}

impl Listener for AnyListener {
    type Stream = AnyStream;

    async fn accept(&mut self) -> io::Result<(AnyStream, SocketAddr)> {
        match self {
            AnyListener::Tokio(l) => l.accept().await.map(|(s, a)| (AnyStream::Tcp(s), a)),
            AnyListener::Mem(l) => l.accept().await.map(|(s, a)| (AnyStream::Mem(s), a)),
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            AnyListener::Tokio(l) => l.local_addr(),
            AnyListener::Mem(l) => l.local_addr(),
        }
    }
}

impl Network for AnyNet {
    type Stream = AnyStream;
    type Listener = AnyListener;

    async fn bind(&self, addr: SocketAddr) -> io::Result<AnyListener> {
        match self {
            AnyNet::Tokio(n) => n.bind(addr).await.map(AnyListener::Tokio),
            AnyNet::Mem(n) => n.bind(addr).await.map(AnyListener::Mem),
        }
    }

    async fn connect(&self, addr: SocketAddr) -> io::Result<AnyStream> {
        match self {
            AnyNet::Tokio(n) => n.connect(addr).await.map(AnyStream::Tcp),
            AnyNet::Mem(n) => n.connect(addr).await.map(AnyStream::Mem),
        }
    }
}

impl AsyncRead for AnyStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            AnyStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            AnyStream::Mem(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for AnyStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            AnyStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            AnyStream::Mem(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            AnyStream::Tcp(s) => Pin::new(s).poll_flush(cx),
            AnyStream::Mem(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            AnyStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            AnyStream::Mem(s) => Pin::new(s).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            AnyStream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            AnyStream::Mem(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            AnyStream::Tcp(s) => s.is_write_vectored(),
            AnyStream::Mem(s) => s.is_write_vectored(),
        }
    }
}
