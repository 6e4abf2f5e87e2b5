//! `sspr-lab bench`: load generators over real sockets that measure a lab both as a client sees
//! it and as the server times it, with the serving process's CPU per operation, and report JSON.
//! `e2e` drives writebacks from Graph to the DC and back; `bench ldap` comes with issue [G].

pub mod client;
pub mod cpu;
pub mod e2e;
pub mod progress;
pub mod report;

/// `sspr-lab bench`.
#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Writebacks end to end: Graph resetPassword → relay → agent → LDAPS → the operation's
    /// terminal state; throughput, server- and client-side latency, CPU per writeback.
    E2e(e2e::E2eArgs),
}

/// Why a bench could not run (its measurements' own failures are outcomes in the report).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A bad argument, named.
    #[error("{0}")]
    Usage(String),
    /// The `--lab` ready file cannot be used.
    #[error(
        "ready file {path}: {why} (start a lab with `sspr-lab serve --ready-file {path}`, or leave \
         out --lab to let the bench start one in-process)"
    )]
    Ready {
        /// Its path.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// The in-process lab did not start.
    #[error("starting the in-process lab: {0}")]
    Lab(#[from] crate::lab::LabError),
    /// The lab CA certificate is unusable.
    #[error("the lab CA: {0}")]
    Ca(String),
    /// The administrator got no token.
    #[error("no token for {admin} (ROPC at {endpoint}): {why}")]
    Token {
        /// The administrator.
        admin: String,
        /// The token endpoint.
        endpoint: String,
        /// The answer or failure.
        why: String,
    },
    /// Graph could not be reached.
    #[error("cannot reach Graph at {url}: {why}")]
    Connect {
        /// Graph's base URL.
        url: String,
        /// The failure.
        why: String,
    },
    /// The load generator failed.
    #[error("the load generator: {0}")]
    Generator(String),
    /// The report could not be written.
    #[error("writing {path}: {why}")]
    Output {
        /// The file.
        path: String,
        /// The failure.
        why: String,
    },
}

/// Runs a bench subcommand.
pub async fn run(cmd: BenchCommand) -> Result<(), BenchError> {
    match cmd {
        BenchCommand::E2e(args) => e2e::run_cli(args).await,
    }
}
