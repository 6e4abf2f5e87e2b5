//! The network seam: listeners and connectors. Servers and clients are generic over the stream,
//! so the same code runs on tokio sockets or (with issue [F]) on turmoil's simulated network.
#![allow(clippy::disallowed_methods)] // the one place that may open OS sockets

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream a server or client can talk over.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {}

/// A bound listener that accepts connections.
pub trait Listener: Send + 'static {
    /// The stream of one accepted connection.
    type Stream: Stream;

    /// Waits for the next connection.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send;

    /// The address this listener is bound to.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// A network: binds listeners and dials connections.
pub trait Network: Clone + Send + Sync + 'static {
    /// The stream both sides of a connection use.
    type Stream: Stream;
    /// The listener type `bind` returns.
    type Listener: Listener<Stream = Self::Stream>;

    /// Binds a listener on `addr` (port 0 lets the OS choose).
    fn bind(&self, addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send;

    /// Opens a connection to `addr`.
    fn connect(&self, addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send;
}

/// The real network, on tokio sockets.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioNet;

/// A tokio TCP listener behind the seam.
#[derive(Debug)]
pub struct TokioListener(tokio::net::TcpListener);

impl Listener for TokioListener {
    type Stream = tokio::net::TcpStream;

    async fn accept(&mut self) -> io::Result<(Self::Stream, SocketAddr)> {
        let (s, a) = self.0.accept().await?;
        s.set_nodelay(true)?;
        Ok((s, a))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

impl TokioListener {
    /// The tokio listener inside, for servers (axum) that take one directly.
    pub fn into_inner(self) -> tokio::net::TcpListener {
        self.0
    }
}

impl Network for TokioNet {
    type Stream = tokio::net::TcpStream;
    type Listener = TokioListener;

    async fn bind(&self, addr: SocketAddr) -> io::Result<TokioListener> {
        tokio::net::TcpListener::bind(addr).await.map(TokioListener)
    }

    async fn connect(&self, addr: SocketAddr) -> io::Result<tokio::net::TcpStream> {
        let s = tokio::net::TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn bind_accept_connect() {
        let net = TokioNet;
        let mut l = net.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = l.local_addr().unwrap();
        let client = tokio::spawn(async move {
            let mut c = TokioNet.connect(addr).await.unwrap();
            c.write_all(b"hi").await.unwrap();
        });
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = [0u8; 2];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hi");
        client.await.unwrap();
    }
}
