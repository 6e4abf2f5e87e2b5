//! sim: the lab. The default lab and `LabSpec`, the orchestrator that builds a lab's directory
//! and starts its servers (`Lab`, also the builder tests use), the control API and `serve`.
//! Virtual time, scenarios, workloads and reports come with issue [F].

pub mod agent_cmd;
pub mod bench;
pub mod cli;
pub mod client;
pub mod cloud;
pub mod control;
pub mod control_client;
pub mod core;
pub mod credentials;
pub mod dcs;
pub mod default_lab;
pub mod lab;
pub mod ldif_cmd;
pub mod ops;
pub mod populate;
pub mod ready;
pub mod report;
pub mod run_cmd;
pub mod runner;
pub mod scenario;
pub mod serve;
pub mod simulate;
pub mod spec;

pub use credentials::Credentials;
pub use default_lab::default_lab;
pub use lab::{Lab, LabError, LabOptions};
pub use ready::ReadyFile;
pub use spec::LabSpec;
