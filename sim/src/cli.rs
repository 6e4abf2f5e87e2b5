//! The `sspr-lab` subcommands this crate provides, as clap derive types; `src/main.rs` only
//! parses and calls [`run`].

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::control_client::ControlClient;
use crate::lab::LabOptions;
use crate::{Credentials, default_lab};

/// `run tutorial`, what `sspr-lab` with no subcommand does.
pub fn default_run() -> crate::run_cmd::RunArgs {
    crate::run_cmd::RunArgs {
        scenario: "tutorial".into(),
        seed: None,
        out: None,
        history: None,
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Play a scenario on the simulated lab and print its report (default: the tutorial).
    Run(crate::run_cmd::RunArgs),
    /// Play a scenario and narrate it step by step.
    Demo(crate::run_cmd::DemoArgs),
    /// Serve a lab on loopback sockets until SIGINT/SIGTERM (the default lab if no scenario).
    Serve(ServeArgs),
    /// Export or import a domain as LDIF.
    #[command(subcommand)]
    Ldif(LdifCommand),
    /// Read or edit a running lab's Default Domain Policy (password and lockout settings).
    #[command(subcommand)]
    Gpo(GpoCommand),
    /// Apply group policy now on a running lab's DCs (`gpupdate /force` with --force).
    Gpupdate(GpupdateArgs),
    /// Stop, start or slow down a running lab's DC.
    #[command(subcommand)]
    Dc(DcCommand),
    /// Run SDProp now on a running lab's PDC emulator(s).
    Sdprop(LabArgs),
    /// The writeback agent's configuration commands.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// The built-in scenarios: list them, print one's TOML, or check a scenario file.
    #[command(subcommand)]
    Scenarios(crate::scenario::cli::ScenariosCommand),
    /// Load benchmarks over real sockets (JSON reports).
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
    /// Compare two runs: each a run id in the --history file (or `last`) or a report.json.
    Compare {
        /// The first run: a run id, `last`, or a report.json path.
        a: String,
        /// The second run, likewise.
        b: String,
        /// The run history (SQLite) that run ids refer to.
        #[arg(long)]
        history: Option<PathBuf>,
    },
}

/// `sspr-lab agent`.
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Run a writeback agent as its own process against a lab (`serve --no-agents`) or, with
    /// --cloud/--dc/--ca, any cloud and AD-compatible directory, until SIGINT/SIGTERM.
    Run(crate::agent_cmd::AgentRunArgs),
    /// Turn the domain's cloud sync password writeback on or off (as
    /// Set-AADCloudSyncPasswordWritebackConfiguration), with a Hybrid Identity Administrator's token.
    Writeback {
        /// `enable` or `disable`.
        #[arg(value_parser = ["enable", "disable"])]
        action: String,
        /// The lab and domain.
        #[command(flatten)]
        lab: LabArgs,
        /// The administrator (default: hybridadmin@<tenant>); the password comes from
        /// SSPR_LAB_ADMIN_PASSWORD or the fixture default, never from a flag.
        #[arg(long)]
        admin: Option<String>,
    },
    /// Grant the sync account the writeback rights on the domain root (as
    /// Set-AADCloudSyncPermissions -PermissionType PasswordWriteBack), or check them.
    Permissions {
        /// The lab and domain.
        #[command(flatten)]
        lab: LabArgs,
        /// Only this object (an OU or a user) instead of the domain root.
        #[arg(long, value_name = "DN")]
        object: Option<String>,
        /// Also stamp AdminSDHolder (SDProp then gives protected users the rights; not recommended).
        #[arg(long)]
        include_admin_sd_holder: bool,
        /// List the account's ACEs on the root, the rights it lacks, and users with inheritance
        /// disabled, instead of granting.
        #[arg(long)]
        check: bool,
    },
}

/// Which running lab and domain a command acts on.
#[derive(Debug, Args)]
pub struct LabArgs {
    /// The lab's ready file (written by `serve --ready-file`).
    #[arg(long, value_name = "PATH")]
    pub lab: PathBuf,
    /// The domain (DNS name), e.g. contoso.lab.
    #[arg(long)]
    pub domain: String,
}

/// `sspr-lab gpo`.
#[derive(Debug, Subcommand)]
pub enum GpoCommand {
    /// Show the policy's version, settings and what each DC applied.
    Show(LabArgs),
    /// Set MS-GPSB keys, e.g. `MinimumPasswordAge=1` (applied at each DC's refresh, or gpupdate).
    Set {
        /// The lab and domain.
        #[command(flatten)]
        lab: LabArgs,
        /// KEY=VALUE settings.
        #[arg(required = true, value_name = "KEY=VALUE")]
        settings: Vec<String>,
    },
}

/// `sspr-lab gpupdate`.
#[derive(Debug, Args)]
pub struct GpupdateArgs {
    /// The lab and domain.
    #[command(flatten)]
    pub lab: LabArgs,
    /// Apply even if not newer, overwriting direct edits of the domain head.
    #[arg(long)]
    pub force: bool,
    /// Only this DC (default: every DC of the domain).
    #[arg(long)]
    pub dc: Option<String>,
}

/// `sspr-lab dc`.
#[derive(Debug, Subcommand)]
pub enum DcCommand {
    /// Stop a DC: its listeners refuse and replication to it waits.
    Stop {
        /// The lab and domain.
        #[command(flatten)]
        lab: LabArgs,
        /// The DC, e.g. DC2.
        name: String,
    },
    /// Start a stopped DC; it catches up from its partners.
    Start {
        /// The lab and domain.
        #[command(flatten)]
        lab: LabArgs,
        /// The DC.
        name: String,
    },
    /// Add a response delay to a DC (lab milliseconds; 0 clears).
    Delay {
        /// The lab and domain.
        #[command(flatten)]
        lab: LabArgs,
        /// The DC.
        name: String,
        /// Before every operation.
        #[arg(long, default_value_t = 0)]
        all_ms: u64,
        /// Before binds.
        #[arg(long, default_value_t = 0)]
        bind_ms: u64,
        /// Before searches.
        #[arg(long, default_value_t = 0)]
        search_ms: u64,
        /// Before writes.
        #[arg(long, default_value_t = 0)]
        modify_ms: u64,
    },
    /// Show a DC's state.
    Show {
        /// The lab and domain.
        #[command(flatten)]
        lab: LabArgs,
        /// The DC.
        name: String,
    },
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
    /// The lab to serve: `default`, or a scenario (built-in name or file) brought to its time zero.
    pub scenario: Option<String>,
    /// Play the scenario's timeline and workload in real time × --time-scale while serving.
    #[arg(long)]
    pub run_timeline: bool,
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
    /// fake-cloud's plain HTTP port.
    #[arg(long, value_name = "P")]
    pub http_port: Option<u16>,
    /// fake-cloud's HTTPS port (443 lets MSAL's ROPC userrealm lookup work unchanged).
    #[arg(long, value_name = "P")]
    pub https_port: Option<u16>,
    /// Start no in-process writeback agents (run `sspr-lab agent run` against the lab instead).
    #[arg(long)]
    pub no_agents: bool,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            scenario: None,
            run_timeline: false,
            state: None,
            durability: DurabilityArg::Normal,
            seed: 1,
            time_scale: 1.0,
            ready_file: None,
            ldap_port_base: None,
            control_port: None,
            http_port: None,
            https_port: None,
            no_agents: false,
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
    /// LDIF work failed.
    #[error("{0}")]
    Ldif(String),
    /// The lab's control API refused or could not be reached.
    #[error(transparent)]
    Control(#[from] crate::control_client::ClientError),
    /// A bad argument, named.
    #[error("{0}")]
    Usage(String),
    /// `agent run` failed.
    #[error(transparent)]
    AgentRun(#[from] crate::agent_cmd::AgentRunError),
    /// `run` or `demo` failed.
    #[error(transparent)]
    RunCmd(#[from] crate::run_cmd::RunCmdError),
    /// A scenario could not be loaded.
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// A bench could not run.
    #[error(transparent)]
    Bench(#[from] crate::bench::BenchError),
    /// A report or the run history could not be read or written.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
}

/// The lab `serve` starts: the default lab, or a scenario's (built-in or a file) with the
/// scenario itself.
fn scenario(
    name: Option<&str>,
) -> Result<(crate::LabSpec, Option<crate::scenario::Scenario>), CliError> {
    match name {
        None | Some("default") => Ok((default_lab(), None)),
        Some(other) => {
            let s = crate::scenario::resolve(other)?;
            let spec = crate::runner::lab_spec(&s).map_err(|e| CliError::Usage(e.to_string()))?;
            Ok((spec, Some(s)))
        }
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
            http_port: self.http_port,
            https_port: self.https_port,
            agents: !self.no_agents,
            agent_tuning: crate::lab::AgentTuning::default(),
            net: runtime::AnyNet::default(),
        }
    }
}

/// Runs a subcommand.
pub async fn run(cmd: Command) -> Result<(), CliError> {
    match cmd {
        Command::Serve(a) => {
            let (spec, s) = scenario(a.scenario.as_deref())?;
            if a.run_timeline && s.is_none() {
                return Err(CliError::Usage(
                    "--run-timeline needs a scenario (sspr-lab scenarios list)".into(),
                ));
            }
            let played = s.map(|scenario| crate::serve::Played {
                scenario,
                run_timeline: a.run_timeline,
            });
            crate::serve::serve(spec, a.options(), a.ready_file.clone(), played).await?;
            Ok(())
        }
        Command::Ldif(c) => crate::ldif_cmd::run(c).await,
        Command::Gpo(c) => print(gpo(c).await?),
        Command::Gpupdate(a) => {
            let client = ControlClient::from_ready_file(&a.lab.lab)?;
            let body = serde_json::json!({ "domain": a.lab.domain, "dc": a.dc, "force": a.force });
            print(client.call("POST", "/gpupdate", Some(body)).await?)
        }
        Command::Dc(c) => print(dc(c).await?),
        Command::Scenarios(c) => Ok(crate::scenario::cli::run(c)?),
        Command::Run(a) => Ok(tokio::task::block_in_place(|| crate::run_cmd::run(a))?),
        Command::Demo(a) => Ok(tokio::task::block_in_place(|| crate::run_cmd::demo(a))?),
        Command::Agent(AgentCommand::Run(a)) => Ok(crate::agent_cmd::run(a).await?),
        Command::Agent(AgentCommand::Writeback { action, lab, admin }) => {
            let ready = crate::ReadyFile::read(&lab.lab)
                .map_err(|e| CliError::Usage(format!("ready file {}: {e}", lab.lab.display())))?;
            let missing = |f: &str| {
                CliError::Usage(format!(
                    "ready file {} has no {f} (is the cloud running?)",
                    lab.lab.display()
                ))
            };
            let relay = ready.relay.clone().ok_or_else(|| missing("relay"))?;
            let token = ready
                .token_endpoint
                .clone()
                .ok_or_else(|| missing("token_endpoint"))?;
            let tenant = ready.tenant.clone().ok_or_else(|| missing("tenant"))?;
            let ca = std::fs::read_to_string(&ready.ca_cert)
                .map_err(|e| CliError::Usage(format!("{}: {e}", ready.ca_cert)))?;
            let admin = admin.unwrap_or_else(|| format!("hybridadmin@{tenant}"));
            let password = secrecy::SecretString::from(Credentials::from_env().admin);
            let access = agent::config::CloudAccess {
                relay: &relay,
                token_endpoint: &token,
                ca_pem: &ca,
                admin: &admin,
                password: &password,
            };
            let clock = runtime::Clock::new(runtime::ClockConfig::default());
            let v = agent::config::set_writeback(&access, &lab.domain, action == "enable", clock)
                .await
                .map_err(|e| CliError::Usage(e.to_string()))?;
            print(v)
        }
        Command::Agent(AgentCommand::Permissions {
            lab,
            object,
            include_admin_sd_holder,
            check,
        }) => {
            let ready = crate::ReadyFile::read(&lab.lab)
                .map_err(|e| CliError::Usage(format!("ready file {}: {e}", lab.lab.display())))?;
            let d = ready
                .domain(&lab.domain)
                .ok_or_else(|| CliError::Usage(format!("no domain {} in the lab", lab.domain)))?;
            let dc = d
                .dcs
                .first()
                .ok_or_else(|| CliError::Usage(format!("{} has no DC", lab.domain)))?;
            let ldaps = dc
                .ldaps
                .parse()
                .map_err(|_| CliError::Usage(format!("bad LDAPS address {}", dc.ldaps)))?;
            let ca = std::fs::read_to_string(&ready.ca_cert)
                .map_err(|e| CliError::Usage(format!("{}: {e}", ready.ca_cert)))?;
            let admin = format!("{}\\Administrator", d.netbios);
            let password = secrecy::SecretString::from(Credentials::from_env().admin);
            let access = agent::permissions::DirAccess {
                ldaps,
                host: &dc.host,
                ca_pem: &ca,
                admin: &admin,
                password: &password,
                base_dn: &d.base_dn,
                service_account: &d.service_account,
            };
            let clock = runtime::Clock::new(runtime::ClockConfig::default());
            let out = if check {
                serde_json::to_value(
                    agent::permissions::check(&access, &clock)
                        .await
                        .map_err(|e| CliError::Usage(e.to_string()))?,
                )
            } else {
                let g = agent::permissions::grant(
                    &access,
                    object.as_deref(),
                    include_admin_sd_holder,
                    &clock,
                )
                .await;
                serde_json::to_value(g.map_err(|e| CliError::Usage(e.to_string()))?)
            };
            print(out.unwrap_or_default())
        }
        Command::Bench(c) => Ok(crate::bench::run(c).await?),
        Command::Compare { a, b, history } => {
            print!(
                "{}",
                crate::report::compare::compare_cmd(&a, &b, history.as_deref())?
            );
            Ok(())
        }
        Command::Sdprop(a) => {
            let client = ControlClient::from_ready_file(&a.lab)?;
            print(
                client
                    .call(
                        "POST",
                        "/sdprop",
                        Some(serde_json::json!({ "domain": a.domain })),
                    )
                    .await?,
            )
        }
    }
}

fn print(v: serde_json::Value) -> Result<(), CliError> {
    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    Ok(())
}

async fn gpo(c: GpoCommand) -> Result<serde_json::Value, CliError> {
    match c {
        GpoCommand::Show(a) => {
            let client = ControlClient::from_ready_file(&a.lab)?;
            Ok(client
                .call("GET", &format!("/gpo/{}", a.domain), None)
                .await?)
        }
        GpoCommand::Set { lab, settings } => {
            let mut set = serde_json::Map::new();
            for kv in &settings {
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| CliError::Usage(format!("{kv:?} is not KEY=VALUE")))?;
                set.insert(
                    k.trim().to_string(),
                    serde_json::Value::String(v.trim().to_string()),
                );
            }
            let client = ControlClient::from_ready_file(&lab.lab)?;
            Ok(client
                .call(
                    "POST",
                    "/gpo",
                    Some(serde_json::json!({ "domain": lab.domain, "set": set })),
                )
                .await?)
        }
    }
}

async fn dc(c: DcCommand) -> Result<serde_json::Value, CliError> {
    let (lab, name, action, body) = match c {
        DcCommand::Stop { lab, name } => (lab, name, "stop", None),
        DcCommand::Start { lab, name } => (lab, name, "start", None),
        DcCommand::Show { lab, name } => (lab, name, "", None),
        DcCommand::Delay {
            lab,
            name,
            all_ms,
            bind_ms,
            search_ms,
            modify_ms,
        } => (
            lab,
            name,
            "delay",
            Some(
                serde_json::json!({ "all_ms": all_ms, "bind_ms": bind_ms, "search_ms": search_ms, "modify_ms": modify_ms }),
            ),
        ),
    };
    let client = ControlClient::from_ready_file(&lab.lab)?;
    let path = format!("/dc/{}/{}", lab.domain, name);
    Ok(match action {
        "" => client.call("GET", &path, None).await?,
        a => {
            client
                .call(
                    "POST",
                    &format!("{path}/{a}"),
                    body.or(Some(serde_json::json!({}))),
                )
                .await?
        }
    })
}
