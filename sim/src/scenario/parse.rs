//! TOML text → a checked [`Scenario`], with every error located: the TOML syntax first, then
//! serde's reading of the model (unknown fields, wrong types, bad durations, unknown
//! operations…), then [`super::validate`]. toml's spans become line:column and field paths.

use std::path::Path;

use toml::de::DeTable;

use super::error::{FieldPath, Location, Problem, ScenarioError, SpanIndex};
use super::model::Scenario;
use super::validate;

/// Parses and checks `text`; `file` names it in errors.
pub fn parse_str(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let doc = DeTable::parse(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        // What could be read around the error tells which field it is in.
        let (partial, _) = DeTable::parse_recoverable(text);
        ScenarioError::Syntax(Problem {
            at: Location::of(file, text, span.start),
            field: SpanIndex::new(&partial).path_at(&span),
            message: one_line(e.message()),
        })
    })?;
    let index = SpanIndex::new(&doc);
    let scenario: Scenario = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let field = if span.is_empty() {
            FieldPath::root()
        } else {
            index.path_at(&span)
        };
        ScenarioError::Field(Problem {
            at: Location::of(file, text, span.start),
            field,
            message: one_line(e.message()),
        })
    })?;
    let issues = validate::check(&scenario);
    if issues.is_empty() {
        return Ok(scenario);
    }
    Err(ScenarioError::Invalid(
        issues
            .into_iter()
            .map(|i| {
                let at = index.span_of(&i.path).map(|s| s.start).unwrap_or(0);
                Problem {
                    at: Location::of(file, text, at),
                    field: i.path,
                    message: i.message,
                }
            })
            .collect(),
    ))
}

/// Reads, parses and checks a scenario file.
pub fn load_file(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        file: file.clone(),
        source,
    })?;
    parse_str(&text, &file)
}

/// A message on one line (toml's may span several).
fn one_line(m: &str) -> String {
    m.split_whitespace().collect::<Vec<_>>().join(" ")
}
