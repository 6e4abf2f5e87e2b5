//! `sspr-lab agent run`: the writeback agent as its own process, configured from a lab's ready
//! file (`--lab`) or from flags for any cloud and AD-compatible directory (`--cloud`, `--dc`,
//! `--ca`). It runs until SIGINT/SIGTERM, then finishes the jobs in hand.

use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use runtime::net::TokioNet;
use runtime::{Clock, ClockConfig};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use crate::ReadyFile;
use crate::credentials::Credentials;

/// The engine an agent plays (`--engine`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// The cloud sync provisioning agent (gMSA account).
    CloudSync,
    /// Entra Connect's writeback (MSOL account).
    ConnectSync,
}

/// The policy-hints control on resets (`--policy-hints`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HintsArg {
    /// Sent critical: a directory without it refuses the reset.
    Critical,
    /// Sent non-critical: a directory without it skips history and minimum age.
    On,
    /// Not sent.
    Off,
}

/// `sspr-lab agent run`.
#[derive(Debug, Args)]
pub struct AgentRunArgs {
    /// The lab's ready file: relay, token endpoint, tenant, CA, DCs and service account.
    #[arg(long, value_name = "PATH", required_unless_present = "cloud")]
    pub lab: Option<PathBuf>,
    /// The domain (DNS name) the agent serves, e.g. contoso.lab.
    #[arg(long)]
    pub domain: String,
    /// Without --lab: the cloud's HTTPS base URL, e.g. https://127.0.0.1:41235.
    #[arg(long, value_name = "URL", conflicts_with = "lab", requires_all = ["tenant", "ca", "dc", "service_account"])]
    pub cloud: Option<String>,
    /// Without --lab: the tenant's initial domain.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Without --lab: a DC's LDAPS address as HOST:PORT (the certificate is checked against HOST)
    /// or NAME=IP:PORT; repeat in preference order.
    #[arg(long, value_name = "HOST:PORT")]
    pub dc: Vec<String>,
    /// Without --lab: the CA certificate (PEM) that signs the cloud's and the DCs' certificates.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// The service account to bind as (DN, UPN or DOMAIN\name); with --lab, the domain's own.
    /// Its password comes from SSPR_LAB_SERVICE_PASSWORD (or the fixture default).
    #[arg(long, value_name = "NAME")]
    pub service_account: Option<String>,
    /// The engine; with --lab, the domain's own.
    #[arg(long, value_enum)]
    pub engine: Option<EngineArg>,
    /// The Hybrid Identity Administrator who registers the agent (default hybridadmin@<tenant>);
    /// the password comes from SSPR_LAB_ADMIN_PASSWORD (or the fixture default).
    #[arg(long, value_name = "UPN")]
    pub admin: Option<String>,
    /// Which agent of the domain this is: its key comes from the seed's stream for this index.
    #[arg(long, default_value_t = 0)]
    pub index: u32,
    /// The seed for its key and backoff (default: the lab's, else 1).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Keep the key and registration (mode 0600) and the event log in DIR, to resume as the
    /// same agent.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// The event log (JSON lines); default `<state>/events.jsonl` with --state.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Each LDAP operation's timeout, in lab seconds.
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    pub ldap_timeout: f64,
    /// How long one poll waits for work, in lab seconds.
    #[arg(long, default_value_t = 20.0, value_name = "SECS")]
    pub poll_wait: f64,
    /// The most jobs in hand at once.
    #[arg(long, default_value_t = 16)]
    pub max_jobs: u32,
    /// LDAP_SERVER_POLICY_HINTS on resets.
    #[arg(long, value_enum, default_value_t = HintsArg::Critical)]
    pub policy_hints: HintsArg,
}

/// Why `agent run` could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum AgentRunError {
    /// A bad or missing argument, named.
    #[error("{0}")]
    Usage(String),
    /// The agent stopped on its own.
    #[error(transparent)]
    Agent(#[from] agent::AgentError),
}

fn secs(name: &str, v: f64) -> Result<Duration, AgentRunError> {
    Duration::try_from_secs_f64(v)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            AgentRunError::Usage(format!("--{name} must be a positive number of seconds"))
        })
}

/// A `--dc` value: `HOST:PORT` (resolved; HOST names the certificate) or `NAME=IP:PORT`.
fn parse_dc(s: &str) -> Result<agent::worker::DcAddr, AgentRunError> {
    let bad = |why: &str| AgentRunError::Usage(format!("--dc {s:?}: {why}"));
    let (host, target) = match s.split_once('=') {
        Some((name, addr)) => (name.to_string(), addr),
        None => {
            let (host, _) = s
                .rsplit_once(':')
                .ok_or_else(|| bad("expected HOST:PORT or NAME=IP:PORT"))?;
            (host.trim_matches(['[', ']']).to_string(), s)
        }
    };
    if host.is_empty() {
        return Err(bad("no host name"));
    }
    let addr = target
        .to_socket_addrs()
        .map_err(|e| bad(&e.to_string()))?
        .next()
        .ok_or_else(|| bad("the name does not resolve"))?;
    Ok(agent::worker::DcAddr { addr, host })
}

/// What the agent needs that comes from the ready file or the flags.
struct Target {
    relay: String,
    token_endpoint: String,
    tenant: String,
    ca_pem: String,
    dcs: Vec<agent::worker::DcAddr>,
    account: String,
    engine: wire::types::Engine,
    seed: u64,
    scale: f64,
}

fn engine_of(e: EngineArg) -> wire::types::Engine {
    match e {
        EngineArg::CloudSync => wire::types::Engine::CloudSync,
        EngineArg::ConnectSync => wire::types::Engine::ConnectSync,
    }
}

fn from_lab(a: &AgentRunArgs, path: &std::path::Path) -> Result<Target, AgentRunError> {
    let usage = AgentRunError::Usage;
    let ready =
        ReadyFile::read(path).map_err(|e| usage(format!("ready file {}: {e}", path.display())))?;
    let missing = |f: &str| {
        usage(format!(
            "ready file {} has no {f} (is the cloud running?)",
            path.display()
        ))
    };
    let d = ready.domain(&a.domain).ok_or_else(|| {
        let known: Vec<&str> = ready.domains.iter().map(|d| d.name.as_str()).collect();
        usage(format!(
            "no domain {} in the lab (it has {})",
            a.domain,
            known.join(", ")
        ))
    })?;
    let engine = match (a.engine, d.engine.as_str()) {
        (Some(e), _) => engine_of(e),
        (None, "connect-sync") => wire::types::Engine::ConnectSync,
        (None, _) => wire::types::Engine::CloudSync,
    };
    // The DCs, PDC emulator first (the ready file lists it first), unless --dc overrides.
    let dcs = if a.dc.is_empty() {
        d.dcs
            .iter()
            .map(|dc| {
                let addr = dc.ldaps.parse().map_err(|e| {
                    usage(format!(
                        "ready file: DC {} ldaps {:?}: {e}",
                        dc.name, dc.ldaps
                    ))
                })?;
                Ok(agent::worker::DcAddr {
                    addr,
                    host: dc.host.clone(),
                })
            })
            .collect::<Result<Vec<_>, AgentRunError>>()?
    } else {
        a.dc.iter().map(|s| parse_dc(s)).collect::<Result<_, _>>()?
    };
    let ca_pem = std::fs::read_to_string(&ready.ca_cert)
        .map_err(|e| usage(format!("{}: {e}", ready.ca_cert)))?;
    Ok(Target {
        relay: ready.relay.clone().ok_or_else(|| missing("relay"))?,
        token_endpoint: ready
            .token_endpoint
            .clone()
            .ok_or_else(|| missing("token_endpoint"))?,
        tenant: ready.tenant.clone().ok_or_else(|| missing("tenant"))?,
        ca_pem,
        dcs,
        account: a
            .service_account
            .clone()
            .unwrap_or_else(|| d.service_account.clone()),
        engine,
        seed: a.seed.unwrap_or(ready.seed),
        scale: ready.time_scale.unwrap_or(1.0),
    })
}

fn from_flags(a: &AgentRunArgs, cloud: &str) -> Result<Target, AgentRunError> {
    let usage = AgentRunError::Usage;
    let cloud = cloud.trim_end_matches('/');
    if !cloud.starts_with("https://") {
        return Err(usage(format!(
            "--cloud {cloud:?}: an https:// URL is required"
        )));
    }
    let tenant = a
        .tenant
        .clone()
        .ok_or_else(|| usage("--tenant is required with --cloud".into()))?;
    let ca =
        a.ca.as_ref()
            .ok_or_else(|| usage("--ca is required with --cloud".into()))?;
    let ca_pem =
        std::fs::read_to_string(ca).map_err(|e| usage(format!("{}: {e}", ca.display())))?;
    Ok(Target {
        relay: format!("{cloud}/relay/v1"),
        token_endpoint: format!("{cloud}/{tenant}/oauth2/v2.0/token"),
        dcs: a.dc.iter().map(|s| parse_dc(s)).collect::<Result<_, _>>()?,
        account: a
            .service_account
            .clone()
            .ok_or_else(|| usage("--service-account is required with --cloud".into()))?,
        tenant,
        ca_pem,
        engine: engine_of(a.engine.unwrap_or(EngineArg::CloudSync)),
        seed: a.seed.unwrap_or(1),
        scale: 1.0,
    })
}

/// Builds the agent's configuration from `a` (and the ready file it names).
pub fn config(a: &AgentRunArgs) -> Result<(agent::AgentConfig, f64), AgentRunError> {
    let t = match (&a.lab, &a.cloud) {
        (Some(path), _) => from_lab(a, path)?,
        (None, Some(cloud)) => from_flags(a, cloud)?,
        (None, None) => {
            return Err(AgentRunError::Usage(
                "give --lab PATH or --cloud URL".into(),
            ));
        }
    };
    if t.dcs.is_empty() {
        return Err(AgentRunError::Usage(format!("no DC for {}", a.domain)));
    }
    let creds = Credentials::from_env();
    let mut c = agent::AgentConfig::new(
        &a.domain,
        t.engine,
        &t.relay,
        &t.token_endpoint,
        &t.tenant,
        SecretString::from(creds.admin),
        t.dcs,
        &t.account,
        SecretString::from(creds.service),
        &t.ca_pem,
        t.seed,
        a.index,
    );
    if let Some(admin) = &a.admin {
        c.admin_user = admin.clone();
    }
    c.ldap_timeout = secs("ldap-timeout", a.ldap_timeout)?;
    c.poll_wait = secs("poll-wait", a.poll_wait)?;
    c.max_jobs = a.max_jobs.clamp(1, 64);
    c.hints = match a.policy_hints {
        HintsArg::Critical => agent::worker::PolicyHints::Critical,
        HintsArg::On => agent::worker::PolicyHints::On,
        HintsArg::Off => agent::worker::PolicyHints::Off,
    };
    let stem = format!("agent-{}-{}", a.domain.to_ascii_lowercase(), a.index);
    c.state_file = a.state.as_ref().map(|d| d.join(format!("{stem}.json")));
    c.event_log = a.events.clone().or_else(|| {
        a.state
            .as_ref()
            .map(|d| d.join(format!("{stem}.events.jsonl")))
    });
    Ok((c, t.scale))
}

/// Runs the agent until SIGINT/SIGTERM; it finishes the jobs in hand before returning.
pub async fn run(a: AgentRunArgs) -> Result<(), AgentRunError> {
    let (config, scale) = config(&a)?;
    let clock = Clock::new(ClockConfig {
        scale,
        ..ClockConfig::default()
    });
    let stop = CancellationToken::new();
    let (tx, mut rx) = tokio::sync::watch::channel(agent::AgentStatus::default());
    let (domain, engine) = (config.domain.clone(), config.engine);
    let mut task = tokio::spawn(agent::run(TokioNet, config, clock, stop.clone(), tx));
    // Say once when it is registered and polling, so a script can wait for it.
    let announce = async {
        if let Ok(s) = rx.wait_for(|s| s.polls >= 1).await {
            let id = s.agent_id.map(|i| i.to_string()).unwrap_or_default();
            println!(
                "{}",
                serde_json::json!({ "agent": id, "domain": domain, "engine": engine.as_str(), "connected": true })
            );
        }
        std::future::pending::<()>().await
    };
    let finished = tokio::select! {
        r = &mut task => Some(r),
        _ = crate::serve::wait_for_signal() => None,
        _ = announce => None,
    };
    let result = match finished {
        Some(r) => r,
        None => {
            tracing::info!("stopping: finishing the jobs in hand");
            stop.cancel();
            task.await
        }
    };
    match result {
        Ok(r) => Ok(r?),
        Err(e) => Err(AgentRunError::Usage(format!("the agent task failed: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dc_flags_parse_or_say_why() {
        let d = parse_dc("dc1.contoso.lab=127.0.0.1:636").unwrap();
        assert_eq!(d.host, "dc1.contoso.lab");
        assert_eq!(d.addr, "127.0.0.1:636".parse().unwrap());
        let d = parse_dc("localhost:1636").unwrap();
        assert_eq!(d.host, "localhost");
        assert_eq!(d.addr.port(), 1636);
        for bad in ["nothing", "=127.0.0.1:1", "x=not-an-address"] {
            let e = parse_dc(bad).unwrap_err().to_string();
            assert!(e.contains("--dc"), "{e}");
        }
    }
}
