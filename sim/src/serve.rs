//! `sspr-lab serve`: start a lab on loopback, write the ready file, run until SIGINT or SIGTERM,
//! then stop cleanly.

use std::path::PathBuf;

use tracing::info;

use crate::lab::{Lab, LabError, LabOptions};
use crate::spec::LabSpec;

/// What `serve` does with a scenario: bring the lab to its time zero, and maybe play it.
pub struct Played {
    /// The scenario.
    pub scenario: crate::scenario::Scenario,
    /// Play its timeline and workload in real time × the time scale (`--run-timeline`).
    pub run_timeline: bool,
}

/// Serves `spec` until a signal; the ready file (if asked for) is written once every listener
/// accepts and removed on a clean stop. With a scenario, the lab is brought to the scenario's
/// time zero and, with `run_timeline`, its timeline plays while the lab serves; its report goes
/// to stdout when it ends.
pub async fn serve(
    spec: LabSpec,
    opts: LabOptions,
    ready_file: Option<PathBuf>,
    scenario: Option<Played>,
) -> Result<(), ServeError> {
    let net = opts.net.clone();
    let seed = opts.seed;
    let lab = Lab::start(spec, opts).await?;
    if let Some(p) = &scenario {
        crate::runner::prepare(&lab, &p.scenario).await;
    }
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
    match scenario.filter(|p| p.run_timeline) {
        Some(p) => {
            let play = crate::runner::play(&lab, net.as_host("driver"), &p.scenario, seed, None);
            tokio::select! {
                biased;
                _ = wait_for_signal() => {}
                run = play => {
                    match run {
                        Ok(run) => {
                            print!("{}", crate::report::table(&run.record));
                            info!(passed = run.record.passed(), "the scenario's timeline ended; serving on");
                        }
                        Err(e) => tracing::error!(error = %e, "the scenario's timeline failed; serving on"),
                    }
                    wait_for_signal().await;
                }
            }
        }
        None => wait_for_signal().await,
    }
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
