//! The `sspr-lab` command line: clap parses, each subcommand calls into a crate.

use clap::Parser;

/// sspr-lab: a lab for SSPR password writeback (fake AD, fake Entra, the real agent).
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<sim::cli::Command>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // With no subcommand, the product's main job: the tutorial on the simulated lab (DESIGN §1).
    let command = cli
        .command
        .unwrap_or(sim::cli::Command::Run(sim::cli::default_run()));
    // A simulated run reports through its own output; the servers log what they do.
    let quiet = matches!(
        command,
        sim::cli::Command::Run(_) | sim::cli::Command::Demo(_)
    );
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(if quiet { "warn" } else { "info" }))
        // ldap3_proto logs undecodable messages with their bytes, which could hold a password:
        // its logs stay off whatever RUST_LOG says.
        .add_directive("ldap3_proto=off".parse().expect("a valid directive"));
    // In a simulated run the agents' events are part of the run (the report explains every
    // failure); on the terminal they would drown it.
    let filter = if quiet && std::env::var_os("RUST_LOG").is_none() {
        filter.add_directive("agent::events=off".parse().expect("a valid directive"))
    } else {
        filter
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match sim::cli::run(command).await.map_err(anyhow::Error::from) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The error chain, one cause per line, without a backtrace.
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
