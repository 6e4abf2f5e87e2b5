//! Scenarios (issue [F]): a TOML file describing a lab, a timeline of steps, a workload and
//! expectations, which `run`, `demo` and `serve --run-timeline` execute. This module is the
//! model and its parser only; `docs/scenarios.md` documents the format field by field.
//!
//! ```no_run
//! // A built-in scenario, or a file:
//! let s = sim::scenario::load("tutorial").unwrap();
//! let f = sim::scenario::load_file(std::path::Path::new("my.toml")).unwrap();
//! // Either by name or path, as `sspr-lab run` takes it:
//! let t = sim::scenario::resolve("tutorial").unwrap();
//! let lab = t.lab_spec(); // the LabSpec to build, with the scenario's start
//! # let _ = (s, f, lab);
//! ```
//!
//! Every error names the file, the line and column, and the field, e.g.
//! `sim/scenarios/x.toml:12:15: timeline[2].dc_stop.dc: contoso.lab has no DC "DC3" (it has
//! DC1, DC2)`.

pub mod catalogue;
pub mod cli;
pub mod duration;
mod error;
pub mod expect;
pub mod model;
pub mod names;
pub mod network;
mod parse;
mod resolve;
pub mod timeline;
mod validate;
pub mod workload;

#[cfg(test)]
mod tests;

pub use catalogue::{CATALOGUE, Entry, load};
pub use duration::{BurstAt, Dur, TimeOfDay, Timestamp, Weekday};
pub use error::{FieldPath, Location, Problem, ScenarioError, Seg};
pub use expect::{Expectations, LatencyBound, OutcomeCount, Source, UserEnd, Which};
pub use model::{
    AclChange, AgentGroup, Backend, CloudSection, DomainOverride, GeneratedUsers, Hints, LabBase,
    LabSection, Pso, Scenario, SyncScope,
};
pub use names::{Hop, Host, Op, Outcome, PasswordKind, SettingName, SsprScopeName};
pub use network::{Distribution, Latency, LinkLatency, Network};
pub use parse::{load_file, parse_str};
pub use resolve::{CLOUD_ADMINS, admin_upn};
pub use timeline::{Action, Step};
pub use workload::{Arrivals, Burst, Diurnal, MixEntry, Poisson, UserSelection, Workload};

impl Scenario {
    /// The `LabSpec` to build: the base (or inline spec), less the dropped domains, with the
    /// overrides, named after the scenario and starting at its start. A loaded scenario always
    /// resolves; the error is for one built by hand.
    pub fn lab_spec(&self) -> Result<crate::LabSpec, String> {
        resolve::lab_spec(self).map_err(|i| format!("{}: {}", i.path, i.message))
    }

    /// The scenario as TOML (comments are not kept).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a scenario always serialises")
    }
}

/// A built-in scenario by name, else a file by path.
pub fn resolve(name_or_path: &str) -> Result<Scenario, ScenarioError> {
    if let Some(e) = catalogue::entry(name_or_path) {
        return e.load();
    }
    let path = std::path::Path::new(name_or_path);
    if path.exists() {
        return load_file(path);
    }
    Err(ScenarioError::Unknown {
        name: name_or_path.to_string(),
        known: catalogue::names(),
    })
}
