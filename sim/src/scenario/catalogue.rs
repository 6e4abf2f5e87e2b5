//! The built-in scenarios: `sim/scenarios/*.toml`, embedded in the binary. Each carries its
//! expectations, so the catalogue is also a test suite (`heavy` ones are left to `.ci/run`).

use super::error::ScenarioError;
use super::model::Scenario;
use super::parse::parse_str;

/// One built-in scenario file.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// Its name (the file's stem).
    pub name: &'static str,
    /// Its path in the repository, for messages.
    pub file: &'static str,
    /// Its TOML, comments included.
    pub text: &'static str,
}

impl Entry {
    /// Parses and checks it.
    pub fn load(&self) -> Result<Scenario, ScenarioError> {
        parse_str(self.text, self.file)
    }
}

macro_rules! entries {
    ($($name:literal),* $(,)?) => {
        &[$(Entry {
            name: $name,
            file: concat!("sim/scenarios/", $name, ".toml"),
            text: include_str!(concat!("../../scenarios/", $name, ".toml")),
        }),*]
    };
}

/// Every built-in scenario, in the order `scenarios list` shows them.
pub const CATALOGUE: &[Entry] = entries![
    "tutorial",
    "rights-spreading",
    "inheritance-disabled",
    "admin-sd-holder",
    "min-age-gpupdate",
    "agent-down-ha",
    "slow-dc",
    "user-out-of-scope",
    "password-policy",
    "cloud-password-checks",
    "throttling",
    "unlock-only",
    "unsupported-operations",
    "relay-blocked",
    "load",
    "day-100k",
];

/// The built-in scenario named `name`.
pub fn entry(name: &str) -> Option<&'static Entry> {
    CATALOGUE.iter().find(|e| e.name == name)
}

/// Every name, comma-separated, for messages.
pub fn names() -> String {
    CATALOGUE
        .iter()
        .map(|e| e.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Loads the built-in scenario `name`.
pub fn load(name: &str) -> Result<Scenario, ScenarioError> {
    entry(name)
        .ok_or_else(|| ScenarioError::Unknown {
            name: name.to_string(),
            known: names(),
        })?
        .load()
}

/// Loads every built-in scenario.
pub fn load_all() -> Result<Vec<Scenario>, ScenarioError> {
    CATALOGUE.iter().map(Entry::load).collect()
}

/// `scenarios list`: one line per scenario (name, backend, tags, description).
pub fn list_text() -> Result<String, ScenarioError> {
    let all = load_all()?;
    let tags: Vec<String> = all.iter().map(|s| s.tags.join(",")).collect();
    let wn = all.iter().map(|s| s.name.len()).max().unwrap_or(4).max(4);
    let wt = tags.iter().map(|t| t.len()).max().unwrap_or(4).max(4);
    let mut out = format!(
        "{:wn$}  {:7}  {:wt$}  DESCRIPTION\n",
        "NAME", "BACKEND", "TAGS"
    );
    for (s, t) in all.iter().zip(&tags) {
        out.push_str(&format!(
            "{:wn$}  {:7}  {:wt$}  {}\n",
            s.name,
            s.backend.as_str(),
            t,
            s.description
        ));
    }
    Ok(out)
}
