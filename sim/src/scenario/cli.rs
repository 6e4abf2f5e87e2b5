//! `sspr-lab scenarios list|show NAME|check FILE`: the built-in catalogue on the command line,
//! and a checker for scenario files.

use clap::Subcommand;

use super::catalogue;
use super::error::ScenarioError;

/// `sspr-lab scenarios`.
#[derive(Debug, Subcommand)]
pub enum ScenariosCommand {
    /// List the built-in scenarios: name, backend, tags, description.
    List,
    /// Print a built-in scenario's TOML.
    Show {
        /// The scenario, e.g. tutorial.
        name: String,
    },
    /// Parse and check a scenario file (or a built-in name); print its problems, one per line.
    Check {
        /// The file, or a built-in scenario's name.
        scenario: String,
    },
}

/// Runs a `scenarios` subcommand, printing to stdout.
pub fn run(cmd: ScenariosCommand) -> Result<(), ScenarioError> {
    match cmd {
        ScenariosCommand::List => print!("{}", catalogue::list_text()?),
        ScenariosCommand::Show { name } => {
            let e = catalogue::entry(&name).ok_or_else(|| ScenarioError::Unknown {
                name: name.clone(),
                known: catalogue::names(),
            })?;
            print!("{}", e.text);
        }
        ScenariosCommand::Check { scenario } => {
            let s = super::resolve(&scenario)?;
            println!(
                "{scenario}: ok ({}, {} steps, {} expectations)",
                s.backend.as_str(),
                s.timeline.len(),
                s.expect.len()
            );
        }
    }
    Ok(())
}
