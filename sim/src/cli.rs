//! The `sspr-lab` subcommands this crate provides, as clap derive types; `src/main.rs` only
//! parses and calls [`run`].

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::lab::LabOptions;
use crate::{Credentials, default_lab};

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a lab on loopback sockets until SIGINT/SIGTERM (the default lab if no scenario).
    Serve(ServeArgs),
    /// Export or import a domain as LDIF.
    #[command(subcommand)]
    Ldif(LdifCommand),
}

/// How hard commits try (`--durability`).
#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum DurabilityArg {
    /// WAL, synchronous=NORMAL: survives a killed process.
    #[default]
    Normal,
    /// WAL, synchronous=FULL: an fsync per commit group.
    Full,
}

/// `sspr-lab serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The scenario to serve (only `default` until scenarios exist).
    pub scenario: Option<String>,
    /// Keep state in DIR (SQLite) and resume from it on the next start.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Commit durability with --state.
    #[arg(long, value_enum, default_value_t)]
    pub durability: DurabilityArg,
    /// The seed: the same seed gives the same GUIDs and SIDs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Lab seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Write the ready file (JSON) here once every listener accepts.
    #[arg(long, value_name = "PATH")]
    pub ready_file: Option<PathBuf>,
    /// First LDAP port: DC i listens on P+2i (LDAP) and P+2i+1 (LDAPS).
    #[arg(long, value_name = "P")]
    pub ldap_port_base: Option<u16>,
    /// The control API's port.
    #[arg(long, value_name = "P")]
    pub control_port: Option<u16>,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            scenario: None,
            state: None,
            durability: DurabilityArg::Normal,
            seed: 1,
            time_scale: 1.0,
            ready_file: None,
            ldap_port_base: None,
            control_port: None,
        }
    }
}

/// `sspr-lab ldif`.
#[derive(Debug, Subcommand)]
pub enum LdifCommand {
    /// Write a domain (one DC's copy) as LDIF; unicodePwd is never exported.
    Export {
        /// A state directory; without it, the default lab as built fresh.
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
        /// The domain, e.g. contoso.lab.
        #[arg(long)]
        domain: String,
        /// The DC whose copy to export (default: the PDC emulator).
        #[arg(long)]
        dc: Option<String>,
        /// Only this subtree (a DN); default the whole domain.
        #[arg(long)]
        base: Option<String>,
        /// Output file (default stdout).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Add the records of an LDIF file to a domain in a state directory (every DC's copy).
    Import {
        /// The state directory.
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
        /// The domain.
        #[arg(long)]
        domain: String,
        /// Skip records whose entry already exists instead of failing.
        #[arg(long)]
        skip_existing: bool,
        /// The LDIF file.
        file: PathBuf,
    },
}

/// What a subcommand failed with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Serving failed.
    #[error(transparent)]
    Serve(#[from] crate::serve::ServeError),
    /// The lab failed to start.
    #[error(transparent)]
    Lab(#[from] crate::lab::LabError),
    /// An unknown scenario.
    #[error("unknown scenario {0:?} (known: default)")]
    UnknownScenario(String),
    /// LDIF work failed.
    #[error("{0}")]
    Ldif(String),
}

fn scenario(name: Option<&str>) -> Result<crate::LabSpec, CliError> {
    match name {
        None | Some("default") => Ok(default_lab()),
        Some(other) => Err(CliError::UnknownScenario(other.to_string())),
    }
}

impl ServeArgs {
    fn options(&self) -> LabOptions {
        LabOptions {
            seed: self.seed,
            state: self.state.clone(),
            durability: match self.durability {
                DurabilityArg::Normal => fake_ad::Durability::Normal,
                DurabilityArg::Full => fake_ad::Durability::Full,
            },
            time_scale: self.time_scale,
            ldap_port_base: self.ldap_port_base,
            control_port: self.control_port,
            credentials: Credentials::from_env(),
            propagation: None,
        }
    }
}

/// Runs a subcommand.
pub async fn run(cmd: Command) -> Result<(), CliError> {
    match cmd {
        Command::Serve(a) => {
            let spec = scenario(a.scenario.as_deref())?;
            crate::serve::serve(spec, a.options(), a.ready_file.clone()).await?;
            Ok(())
        }
        Command::Ldif(c) => crate::ldif_cmd::run(c).await,
    }
}
