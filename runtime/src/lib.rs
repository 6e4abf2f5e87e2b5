//! The runtime seam of sspr-lab: every listener and outgoing connection, every read of the time
//! and every random draw goes through this crate, so the same code runs on real sockets or in
//! simulation (DESIGN §3) — and the store where a lab's state lasts.

pub mod anynet;
pub mod clock;
pub mod memnet;
pub mod net;
pub mod rng;
pub mod store;
pub mod tls;

pub use anynet::{AnyListener, AnyNet, AnyStream};
pub use clock::{Clock, ClockConfig, LabTime};
pub use memnet::MemNet;
pub use net::{Listener, Network, TokioNet};
pub use rng::{Seed, stream, uuid_from};
pub use tls::{LabCa, TlsError};
