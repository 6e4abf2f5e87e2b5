//! Simulate mode, its first backend (`paused`): the whole lab — every DC, the cloud, every agent
//! and the workload's clients — on one current-thread tokio runtime whose clock is paused, over
//! the in-memory network ([`runtime::MemNet`]). Nothing waits on the OS: when every task is idle,
//! tokio jumps to the next timer, so an idle simulated hour costs only the work done in it. The
//! code is the same as serve's; only the network and the runtime differ.
//!
//! Determinism: one thread, seeded streams, virtual time and no OS I/O give the same order of
//! events for the same seed. TLS stays on (its handshake randomness never reaches an event).

use std::time::Duration;

use runtime::{AnyNet, LabTime, MemNet};

use crate::lab::{Lab, LabError, LabOptions};
use crate::spec::LabSpec;

/// A current-thread tokio runtime with its clock paused at start (DESIGN §3, simulate mode).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
}

/// The lab start used when a spec names none: 2026-01-05T08:00:00Z, a Monday.
pub const DEFAULT_START: &str = "20260105080000Z";

/// A lab running in simulate mode.
pub struct SimLab {
    /// The lab (its clock is virtual).
    pub lab: Lab,
    /// The in-memory network every part uses.
    pub net: MemNet,
}

impl SimLab {
    /// Starts `spec` on the in-memory network, on the current (paused) runtime, with inline
    /// descriptor propagation unless the spec's timers say otherwise. Must run inside
    /// [`runtime`]'s `block_on`.
    pub async fn start(mut spec: LabSpec, seed: u64, agents: bool) -> Result<SimLab, LabError> {
        if spec.start.is_none() {
            spec.start = Some(DEFAULT_START.to_string());
        }
        let net = MemNet::new();
        let lab = Lab::start(
            spec,
            LabOptions {
                seed,
                agents,
                net: AnyNet::Mem(net.clone()),
                ..LabOptions::default()
            },
        )
        .await?;
        Ok(SimLab { lab, net })
    }

    /// The lab's time now.
    pub fn now(&self) -> LabTime {
        self.lab.clock.now()
    }

    /// Lets `d` of virtual time pass with every part running (timers, polls, replication).
    pub async fn run_for(&self, d: Duration) {
        self.lab.clock.sleep(d).await;
    }

    /// Stops the lab.
    pub async fn stop(self) {
        self.lab.stop().await;
    }
}
