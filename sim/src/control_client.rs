//! A client of a running lab's control API, for the CLI subcommands that act on a lab (`gpo`,
//! `gpupdate`, `dc`, `sdprop`): it reads the ready file, connects through the runtime seam and
//! speaks HTTP/1.1 with hyper.

use std::net::SocketAddr;
use std::path::Path;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use runtime::net::{Network, TokioNet};

use crate::ReadyFile;

/// What can go wrong talking to a lab.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The ready file could not be read.
    #[error("ready file {path}: {source}")]
    Ready {
        /// Its path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The control URL in the ready file is not `http://HOST:PORT/control`.
    #[error("ready file {0}: control URL {1:?} is not http://HOST:PORT/control")]
    BadUrl(String, String),
    /// The connection or the HTTP exchange failed.
    #[error("control API at {0}: {1}")]
    Http(SocketAddr, String),
    /// The lab answered with an error status.
    #[error("{status}: {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The error body.
        body: String,
    },
}

/// A connection to one lab's control API.
pub struct ControlClient {
    addr: SocketAddr,
}

impl ControlClient {
    /// The lab described by the ready file at `path`.
    pub fn from_ready_file(path: &Path) -> Result<ControlClient, ClientError> {
        let shown = path.display().to_string();
        let ready = ReadyFile::read(path).map_err(|source| ClientError::Ready {
            path: shown.clone(),
            source,
        })?;
        let addr = ready
            .control
            .strip_prefix("http://")
            .and_then(|r| r.strip_suffix("/control"))
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| ClientError::BadUrl(shown, ready.control.clone()))?;
        Ok(ControlClient { addr })
    }

    /// Sends `method path` with an optional JSON body; returns the JSON answer.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, ClientError> {
        let err = |e: String| ClientError::Http(self.addr, e);
        let stream = TokioNet
            .connect(self.addr)
            .await
            .map_err(|e| err(e.to_string()))?;
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| err(e.to_string()))?;
        tokio::spawn(conn);
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        let req = hyper::Request::builder()
            .method(method)
            .uri(format!("/control{path}"))
            .header("host", self.addr.to_string())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(bytes)))
            .map_err(|e| err(e.to_string()))?;
        let resp = send
            .send_request(req)
            .await
            .map_err(|e| err(e.to_string()))?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| err(e.to_string()))?
            .to_bytes();
        let text = String::from_utf8_lossy(&body).to_string();
        if status >= 400 {
            let msg = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or(text);
            return Err(ClientError::Refused { status, body: msg });
        }
        serde_json::from_str(&text).map_err(|e| err(format!("answer is not JSON: {e}")))
    }
}
