//! `sspr-lab serve`: start a lab on loopback, write the ready file, run until SIGINT or SIGTERM,
//! then stop cleanly.

use std::path::PathBuf;

use tracing::info;

use crate::lab::{Lab, LabError, LabOptions};
use crate::spec::LabSpec;

/// Serves `spec` until a signal; the ready file (if asked for) is written once every listener
/// accepts and removed on a clean stop.
pub async fn serve(
    spec: LabSpec,
    opts: LabOptions,
    ready_file: Option<PathBuf>,
) -> Result<(), ServeError> {
    let lab = Lab::start(spec, opts).await?;
    let ready = lab.ready_file();
    if let Some(path) = &ready_file {
        ready
            .write_atomic(path)
            .map_err(|e| ServeError::ReadyFile {
                path: path.clone(),
                source: e,
            })?;
        info!(path = %path.display(), "ready file written");
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(&ready).unwrap_or_default()
        );
    }
    wait_for_signal().await;
    info!("stopping");
    lab.stop().await;
    if let Some(path) = &ready_file {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// What can stop `serve`.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The lab did not start.
    #[error(transparent)]
    Lab(#[from] LabError),
    /// The ready file could not be written.
    #[error("ready file {path}: {source}")]
    ReadyFile {
        /// Its path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Waits for SIGINT or SIGTERM.
pub(crate) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            biased;
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
