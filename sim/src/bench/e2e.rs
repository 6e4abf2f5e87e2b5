//! `sspr-lab bench e2e`: writebacks end to end over real sockets. Closed-loop workers each reset
//! a synced user's password with Graph `resetPassword` (an admin's ROPC token, a fresh password
//! the policies accept, never printed) and poll the operation's `Location` until it is
//! `succeeded` or `failed`: Graph → relay → agent → LDAPS → DC → relay → operation.
//!
//! Latency is measured twice: on the server, from the operation's `@lab.acceptedAtNs` to its
//! `@lab.finishedAtNs` (the lab clock, so polling does not distort it), and on the client, from
//! the POST to the read of the terminal state. CPU per writeback is the serving process's
//! `utime + stime` over the window. Without `--lab` the bench starts the default lab in this
//! process (memory store, real sockets, the in-process agents) with generated users, runs the
//! load generator on a thread of its own and subtracts that thread's CPU; the relay's job records
//! then also give the per-hop latencies.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use runtime::{Clock, ClockConfig, LabTime};
use secrecy::SecretString;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::BenchError;
use super::client::{self, Graph, GraphConn, OpState};
use super::cpu;
use super::progress::{self, Counters, Phases};
use super::report::{Cpu, LabInfo, Latencies, Latency, Parameters, Report, Summary, Writebacks};
use crate::spec::{LabSpec, UserSpec};
use crate::{Credentials, Lab, LabOptions, ReadyFile, default_lab};

/// `sspr-lab bench e2e`.
#[derive(Clone, Debug, clap::Args)]
pub struct E2eArgs {
    /// A running lab's ready file; without it the bench starts the default lab in-process.
    #[arg(long, value_name = "READY_FILE")]
    pub lab: Option<PathBuf>,
    /// Concurrent workers, each with one writeback in flight.
    #[arg(long, default_value_t = 8)]
    pub workers: u32,
    /// Seconds measured.
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Seconds of load before the measurement starts.
    #[arg(long, default_value_t = 3.0)]
    pub warmup: f64,
    /// Write the JSON report here (stdout then gets a summary); default: JSON on stdout.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Users to generate in the in-process lab (default: 60, or one per worker if more), spread
    /// over its three domains. Not with --lab, which resets the teaching users alice, bob and
    /// erin of each domain.
    #[arg(long, value_name = "N")]
    pub users: Option<u32>,
    /// Milliseconds between polls of an operation (0: poll again at once).
    #[arg(long, default_value_t = 1)]
    pub poll_ms: u64,
    /// The administrator who resets (default admin@<tenant>, a Global Administrator); the
    /// password comes from SSPR_LAB_ADMIN_PASSWORD or the fixture default.
    #[arg(long, value_name = "UPN")]
    pub admin: Option<String>,
}

impl Default for E2eArgs {
    fn default() -> Self {
        E2eArgs {
            lab: None,
            workers: 8,
            duration: 20.0,
            warmup: 3.0,
            json: None,
            users: None,
            poll_ms: 1,
            admin: None,
        }
    }
}

/// Default number of generated users.
const DEFAULT_USERS: u32 = 60;
/// Most workers (each holds a connection and a token).
const MAX_WORKERS: u32 = 1024;
/// Most generated users.
const MAX_USERS: u32 = 100_000;
/// The teaching users that write back successfully in every domain (carol and dave are refused
/// on-premises, frank is an admin whose reset stays in the cloud).
const TEACHING: &[&str] = &["alice", "bob", "erin"];
/// How long one exchange or one writeback may take before the worker gives up on it.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);
const WRITEBACK_TIMEOUT: Duration = Duration::from_secs(90);

/// Everything the load generator needs to know about the lab.
struct Setup {
    https: String,
    token_endpoint: String,
    ca_pem: String,
    admin: String,
    password: SecretString,
    users: Vec<String>,
    pid: u32,
    in_process: bool,
}

/// The load's shape.
#[derive(Clone, Copy, Debug)]
struct Load {
    workers: u32,
    warmup: Duration,
    duration: Duration,
    poll: Duration,
}

/// How one writeback ended.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Succeeded,
    Failed(Option<String>),
    Refused(u16, String),
    Error(String),
}

impl Outcome {
    fn key(&self) -> String {
        match self {
            Outcome::Succeeded => "succeeded".into(),
            Outcome::Failed(d) => format!("failed {}", d.as_deref().unwrap_or("-")),
            Outcome::Refused(s, c) => format!("refused {s} {c}"),
            Outcome::Error(e) => format!("error {e}"),
        }
    }

    fn terminal(&self) -> bool {
        matches!(self, Outcome::Succeeded | Outcome::Failed(_))
    }
}

/// One writeback that ended inside the window.
#[derive(Clone, Debug)]
struct Record {
    outcome: Outcome,
    /// Client clock: POST sent → terminal state read.
    client_ns: u64,
    /// Server clock (lab ns): accepted → terminal.
    server_ns: Option<u64>,
    polls: u32,
    /// The user and operation ids from the Location.
    ids: Option<(Uuid, Uuid)>,
}

/// What the load generator hands back.
struct Generated {
    records: Vec<Record>,
    window: Duration,
    server_cpu: Result<Duration, String>,
    client_cpu: Duration,
}

/// Runs `bench e2e` and prints or writes its report.
pub async fn run_cli(args: E2eArgs) -> Result<(), BenchError> {
    let report = run(&args).await?;
    let json = serde_json::to_string_pretty(&report).unwrap_or_default();
    match &args.json {
        Some(path) => {
            std::fs::write(path, json + "\n").map_err(|e| BenchError::Output {
                path: path.display().to_string(),
                why: e.to_string(),
            })?;
            print!("{}", report.text());
        }
        None => println!("{json}"),
    }
    Ok(())
}

/// Runs `bench e2e` and returns its report.
pub async fn run(args: &E2eArgs) -> Result<Report, BenchError> {
    let load = validate(args)?;
    let creds = Credentials::from_env();
    let (setup, info, lab, time_scale) = match &args.lab {
        Some(path) => {
            let (setup, info, scale) = from_ready_file(path, args, &creds)?;
            (setup, info, None, scale)
        }
        None => {
            let n = args
                .users
                .unwrap_or(DEFAULT_USERS.max(args.workers))
                .clamp(1, MAX_USERS);
            let mut spec = default_lab();
            let users = add_bench_users(&mut spec, n as usize);
            let opts = LabOptions {
                credentials: creds.clone(),
                ..LabOptions::default()
            };
            let lab = Lab::start(spec, opts).await?;
            let (setup, info) = in_process(&lab, users, args, &creds)?;
            (setup, info, Some(lab), 1.0)
        }
    };
    tracing::info!(
        lab = %info.mode,
        agents = info.agents,
        users = setup.users.len(),
        workers = load.workers,
        "bench e2e: load starting"
    );
    let users = setup.users.len();
    let admin = setup.admin.clone();
    let generated = generate_on_own_thread(Arc::new(setup), load).await;
    // The in-process lab's relay keeps each job's times and the agent's hop timings.
    let hops = match (&generated, &lab) {
        (Ok(g), Some(lab)) => hop_latencies(lab, &g.records, time_scale),
        _ => BTreeMap::new(),
    };
    if let Some(lab) = lab {
        lab.stop().await;
    }
    let g = generated?;
    let parameters = Parameters {
        workers: load.workers,
        duration_secs: load.duration.as_secs_f64(),
        warmup_secs: load.warmup.as_secs_f64(),
        poll_ms: load.poll.as_millis() as u64,
        users,
        admin,
        lab: args
            .lab
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "in-process".into()),
    };
    Ok(assemble(parameters, info, &g, time_scale, hops))
}

fn validate(args: &E2eArgs) -> Result<Load, BenchError> {
    let usage = |m: String| Err(BenchError::Usage(m));
    if args.workers == 0 || args.workers > MAX_WORKERS {
        return usage(format!("--workers must be 1 to {MAX_WORKERS}"));
    }
    if !(args.duration.is_finite() && args.duration > 0.0 && args.duration <= 86_400.0) {
        return usage("--duration must be more than 0 and at most 86400 seconds".into());
    }
    if !(args.warmup.is_finite() && args.warmup >= 0.0 && args.warmup <= 86_400.0) {
        return usage("--warmup must be 0 to 86400 seconds".into());
    }
    if args.poll_ms > 10_000 {
        return usage("--poll-ms must be at most 10000".into());
    }
    if args.lab.is_some() && args.users.is_some() {
        return usage(
            "--users generates users in the lab the bench starts; with --lab it resets the \
             teaching users alice, bob and erin of each domain"
                .into(),
        );
    }
    Ok(Load {
        workers: args.workers,
        warmup: Duration::from_secs_f64(args.warmup),
        duration: Duration::from_secs_f64(args.duration),
        poll: Duration::from_millis(args.poll_ms),
    })
}

/// Adds `n` users `bench0000`… to the spec's domains, round-robin, in each domain's first OU;
/// returns their UPNs in the same order. Their names share no 3-character token with the bench's
/// passwords, so neither AD nor the cloud refuses them.
fn add_bench_users(spec: &mut LabSpec, n: usize) -> Vec<String> {
    let mut domains: Vec<&mut crate::spec::DomainSpec> = spec
        .forests
        .iter_mut()
        .flat_map(|f| f.domains.iter_mut())
        .collect();
    let mut upns = Vec::with_capacity(n);
    let count = domains.len();
    for i in 0..n {
        let d = &mut domains[i % count];
        let sam = format!("bench{i:04}");
        upns.push(format!("{sam}@{}", d.dns));
        let ou = d.ous.first().cloned();
        d.users.push(UserSpec {
            sam,
            given: "Bench".into(),
            surname: format!("Load{i:04}"),
            ou,
            groups: Vec::new(),
            states: Vec::new(),
            cloud_roles: Vec::new(),
        });
    }
    upns
}

fn in_process(
    lab: &Lab,
    users: Vec<String>,
    args: &E2eArgs,
    creds: &Credentials,
) -> Result<(Setup, LabInfo), BenchError> {
    let ready = lab.ready_file();
    let https = ready.https.clone().unwrap_or_default();
    let setup = Setup {
        https: https.clone(),
        token_endpoint: ready.token_endpoint.clone().unwrap_or_default(),
        ca_pem: lab.ca.cert_pem().to_string(),
        admin: args
            .admin
            .clone()
            .unwrap_or_else(|| format!("admin@{}", lab.spec.tenant.name)),
        password: SecretString::from(creds.admin.clone()),
        users,
        pid: std::process::id(),
        in_process: true,
    };
    let info = LabInfo {
        mode: "in-process".into(),
        pid: setup.pid,
        time_scale: lab.clock.scale(),
        agents: lab.agents.len(),
        domains: lab.domains.iter().map(|d| d.spec.dns.clone()).collect(),
        graph: format!("{https}/v1.0"),
    };
    Ok((setup, info))
}

fn from_ready_file(
    path: &std::path::Path,
    args: &E2eArgs,
    creds: &Credentials,
) -> Result<(Setup, LabInfo, f64), BenchError> {
    let shown = path.display().to_string();
    let bad = |why: String| BenchError::Ready {
        path: shown.clone(),
        why,
    };
    let ready = ReadyFile::read(path).map_err(|e| bad(e.to_string()))?;
    // Lab nanoseconds / time scale = real ones (an older ready file has no scale: 1).
    let time_scale = ready
        .time_scale
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(1.0);
    let missing = |f: &str| bad(format!("no {f} (is the cloud running?)"));
    let https = ready.https.clone().ok_or_else(|| missing("https"))?;
    let token_endpoint = ready
        .token_endpoint
        .clone()
        .ok_or_else(|| missing("token_endpoint"))?;
    let tenant = ready.tenant.clone().ok_or_else(|| missing("tenant"))?;
    let ca_pem = std::fs::read_to_string(&ready.ca_cert)
        .map_err(|e| bad(format!("CA certificate {}: {e}", ready.ca_cert)))?;
    if !std::path::Path::new(&format!("/proc/{}", ready.pid)).exists() {
        return Err(bad(format!(
            "its process {} is not running (a stale ready file?)",
            ready.pid
        )));
    }
    let users = ready
        .domains
        .iter()
        .flat_map(|d| TEACHING.iter().map(move |u| format!("{u}@{}", d.name)))
        .collect::<Vec<_>>();
    if users.is_empty() {
        return Err(bad("no domains".into()));
    }
    let setup = Setup {
        https: https.clone(),
        token_endpoint,
        ca_pem,
        admin: args
            .admin
            .clone()
            .unwrap_or_else(|| format!("admin@{tenant}")),
        password: SecretString::from(creds.admin.clone()),
        users,
        pid: ready.pid,
        in_process: false,
    };
    let info = LabInfo {
        mode: "ready-file".into(),
        pid: ready.pid,
        time_scale,
        agents: ready.agents.len(),
        domains: ready.domains.iter().map(|d| d.name.clone()).collect(),
        graph: format!("{https}/v1.0"),
    };
    Ok((setup, info, time_scale))
}

/// Runs the load generator on an OS thread of its own (a current-thread runtime), so its CPU
/// can be told apart from the server's when both share this process.
async fn generate_on_own_thread(setup: Arc<Setup>, load: Load) -> Result<Generated, BenchError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("bench-load".into())
        .spawn(move || {
            let result = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(generate(setup, load)),
                Err(e) => Err(BenchError::Generator(e.to_string())),
            };
            let _ = tx.send(result);
        })
        .map_err(|e| BenchError::Generator(e.to_string()))?;
    rx.await
        .map_err(|_| BenchError::Generator("its thread stopped without an answer".into()))?
}

async fn generate(setup: Arc<Setup>, load: Load) -> Result<Generated, BenchError> {
    let clock = Clock::new(ClockConfig::default());
    let tls = agent::ldap::client_config(&setup.ca_pem).map_err(BenchError::Ca)?;
    let graph =
        Graph::new(&setup.https, tls.clone(), clock.clone(), EXCHANGE_TIMEOUT).map_err(|why| {
            BenchError::Connect {
                url: setup.https.clone(),
                why,
            }
        })?;
    // Every worker signs in as the admin and opens its connection before the load starts.
    let mut slots = Vec::new();
    for _ in 0..load.workers {
        let token = client::admin_token(
            &setup.token_endpoint,
            tls.clone(),
            clock.clone(),
            &setup.admin,
            &setup.password,
        )
        .await
        .map_err(|why| BenchError::Token {
            admin: setup.admin.clone(),
            endpoint: setup.token_endpoint.clone(),
            why,
        })?;
        let conn = graph.connect().await.map_err(|e| BenchError::Connect {
            url: setup.https.clone(),
            why: e.to_string(),
        })?;
        slots.push((token, conn));
    }
    let start = clock.now();
    let phases = Phases {
        start,
        window_start: start.plus(load.warmup),
        window_end: start.plus(load.warmup + load.duration),
    };
    let counters = Arc::new(Counters::default());
    // Passwords: a per-run nonce (the wall clock's milliseconds) and a counter, so no run repeats
    // one (AD keeps 24 in the history); digits between fixed letters, so no name token is inside.
    let nonce = (start.0 / 1_000_000) % 1_000_000_000;
    let seq = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let shown = tokio::spawn(progress::run(
        clock.clone(),
        phases,
        counters.clone(),
        stop.clone(),
    ));
    let mut set = JoinSet::new();
    for (w, (token, conn)) in slots.into_iter().enumerate() {
        let worker = Worker {
            users: users_of(&setup.users, w, load.workers as usize),
            token,
            conn,
            graph: graph.clone(),
            clock: clock.clone(),
            phases,
            poll: load.poll,
            nonce,
            seq: seq.clone(),
            counters: counters.clone(),
        };
        set.spawn(worker.run());
    }
    let own_cpu = || cpu::this_thread().map_err(|e| e.to_string());
    let server_cpu = || cpu::process(setup.pid).map_err(|e| e.to_string());
    clock.sleep_until(phases.window_start).await;
    let (s0, c0) = (server_cpu(), own_cpu());
    clock.sleep_until(phases.window_end).await;
    let (s1, c1) = (server_cpu(), own_cpu());
    let mut records = Vec::new();
    while let Some(r) = set.join_next().await {
        records.extend(r.map_err(|e| BenchError::Generator(format!("a worker: {e}")))?);
    }
    stop.cancel();
    let _ = shown.await;
    let client_cpu = match (&c0, &c1) {
        (Ok(a), Ok(b)) => b.saturating_sub(*a),
        _ => Duration::ZERO,
    };
    let server_cpu = match (s0, s1) {
        (Ok(a), Ok(b)) => {
            let total = b.saturating_sub(a);
            // In-process, the load generator's thread is part of this process: take it out.
            Ok(if setup.in_process {
                total.saturating_sub(client_cpu)
            } else {
                total
            })
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    Ok(Generated {
        records,
        window: load.duration,
        server_cpu,
        client_cpu,
    })
}

/// The users worker `w` of `workers` resets: its own share when there are enough users (no two
/// workers reset the same user at once), otherwise one shared user.
fn users_of(users: &[String], w: usize, workers: usize) -> Vec<String> {
    if users.len() >= workers {
        users.iter().skip(w).step_by(workers).cloned().collect()
    } else {
        vec![users[w % users.len()].clone()]
    }
}

struct Worker {
    users: Vec<String>,
    token: SecretString,
    conn: GraphConn,
    graph: Graph,
    clock: Clock,
    phases: Phases,
    poll: Duration,
    nonce: u64,
    seq: Arc<AtomicU64>,
    counters: Arc<Counters>,
}

impl Worker {
    /// Writebacks back to back until the window ends; returns those that ended inside it.
    async fn run(mut self) -> Vec<Record> {
        let mut records = Vec::new();
        let mut k = 0usize;
        while self.clock.now() < self.phases.window_end {
            let user = self.users[k % self.users.len()].clone();
            k += 1;
            let n = self.seq.fetch_add(1, Ordering::Relaxed) % 10_000_000;
            let password = SecretString::from(format!("Wq{:09}{n:07}#Zx", self.nonce));
            let start = self.clock.now();
            let (outcome, op, polls, ids) = self.one(&user, &password).await;
            let end = self.clock.now();
            drop(password);
            self.counters.done.fetch_add(1, Ordering::Relaxed);
            if outcome != Outcome::Succeeded {
                self.counters.not_ok.fetch_add(1, Ordering::Relaxed);
            }
            let failed_exchange = matches!(outcome, Outcome::Error(_));
            if end >= self.phases.window_start && end <= self.phases.window_end {
                records.push(Record {
                    server_ns: op.as_ref().and_then(OpState::server_ns),
                    client_ns: end.0.saturating_sub(start.0),
                    outcome,
                    polls,
                    ids,
                });
            }
            if failed_exchange {
                // Reconnect, without spinning when the lab is gone.
                self.clock.sleep(Duration::from_millis(50)).await;
                if !self.conn.is_open()
                    && let Ok(c) = self.graph.connect().await
                {
                    self.conn = c;
                }
            }
        }
        records
    }

    /// One writeback: the reset, then polls until the operation ends.
    async fn one(
        &mut self,
        user: &str,
        password: &SecretString,
    ) -> (Outcome, Option<OpState>, u32, Option<(Uuid, Uuid)>) {
        let started = self.clock.now();
        let a = match self.conn.reset_password(&self.token, user, password).await {
            Ok(a) => a,
            Err(e) => return (Outcome::Error(kind(&e)), None, 0, None),
        };
        if a.status != 202 {
            let code = client::error_code(&a.body);
            return (Outcome::Refused(a.status, code), None, 0, None);
        }
        let Some(path) = a
            .location
            .as_deref()
            .and_then(client::location_path)
            .map(str::to_string)
        else {
            return (Outcome::Error("no Location".into()), None, 0, None);
        };
        let ids = client::location_ids(&path);
        let mut polls = 0;
        loop {
            if self.poll.is_zero() {
                tokio::task::yield_now().await;
            } else {
                self.clock.sleep(self.poll).await;
            }
            let a = match self.conn.request("GET", &path, &self.token, None).await {
                Ok(a) => a,
                Err(e) => return (Outcome::Error(kind(&e)), None, polls, ids),
            };
            polls += 1;
            if a.status != 200 {
                return (
                    Outcome::Error(format!("poll HTTP {}", a.status)),
                    None,
                    polls,
                    ids,
                );
            }
            let Some(op) = OpState::parse(&a.body) else {
                return (
                    Outcome::Error("unreadable operation".into()),
                    None,
                    polls,
                    ids,
                );
            };
            if op.terminal() {
                let outcome = if op.status == "succeeded" {
                    Outcome::Succeeded
                } else {
                    Outcome::Failed(op.detail.clone())
                };
                return (outcome, Some(op), polls, ids);
            }
            if self.clock.now().0.saturating_sub(started.0) > WRITEBACK_TIMEOUT.as_nanos() as u64 {
                return (Outcome::Error("never ended".into()), None, polls, ids);
            }
        }
    }
}

/// An exchange error as an outcome key (no addresses, so runs aggregate).
fn kind(e: &client::ClientError) -> String {
    match e {
        client::ClientError::Timeout => "timeout".into(),
        client::ClientError::Transport(_) => "transport".into(),
    }
}

/// What each hop name means, for the report.
fn hop_notes() -> BTreeMap<String, String> {
    [
        (
            "cloud.accept_to_queue",
            "operation accepted → relay job queued (cloud)",
        ),
        (
            "relay.queue_to_offer",
            "job queued → offered to an agent's poll (last offer)",
        ),
        ("relay.offer_to_ack", "offered → the agent's ack arrived"),
        (
            "relay.ack_to_result",
            "acked → the agent's result arrived (LDAP write + result post)",
        ),
        (
            "cloud.result_to_terminal",
            "result arrived → operation succeeded/failed",
        ),
        ("agent.ack", "agent: poll answer arrived → ack answered"),
        ("agent.open", "agent: opening the sealed password"),
        (
            "agent.ldap_connect",
            "agent: a bound LDAPS connection (pool hit or connect+TLS+bind)",
        ),
        ("agent.ldap_search", "agent: finding the user by objectGUID"),
        ("agent.ldap_modify", "agent: the password Modify"),
        (
            "agent.agent_total",
            "agent: poll answer arrived → result about to be posted",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Per-hop latencies from the in-process relay's job records (lab clock) and the timings the
/// agents reported with each result.
fn hop_latencies(lab: &Lab, records: &[Record], time_scale: f64) -> BTreeMap<String, Latency> {
    let flows = &lab.cloud.cloud.flows;
    let mut hops: BTreeMap<String, Latency> = BTreeMap::new();
    let mut add = |name: &str, ns: u64| {
        hops.entry(name.to_string())
            .or_default()
            .record_ns((ns as f64 / time_scale) as u64);
    };
    for r in records.iter().filter(|r| r.outcome.terminal()) {
        let Some((user, op)) = r.ids else { continue };
        let Some(o) = flows.tenant.operation(user, op) else {
            continue;
        };
        let Some(job) = o
            .job
            .as_deref()
            .and_then(|j| wire::types::JobId::new(j).ok())
            .and_then(|j| flows.relay.job(&j))
        else {
            continue;
        };
        add(
            "cloud.accept_to_queue",
            job.submitted_at.0.saturating_sub(o.accepted_at.0),
        );
        if let Some(ns) = between_opt(Some(job.submitted_at), job.offered_at) {
            add("relay.queue_to_offer", ns);
        }
        if let Some(ns) = between_opt(job.offered_at, job.acked_at) {
            add("relay.offer_to_ack", ns);
        }
        if let Some(ns) = between_opt(job.acked_at, job.done_at) {
            add("relay.ack_to_result", ns);
        }
        if let Some(ns) = between_opt(job.done_at, o.finished_at) {
            add("cloud.result_to_terminal", ns);
        }
        for h in job.result.iter().flat_map(|r| r.timings.iter()) {
            add(&format!("agent.{}", h.name), h.micros.saturating_mul(1000));
        }
    }
    hops
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn between_opt(a: Option<LabTime>, b: Option<LabTime>) -> Option<u64> {
    Some(b?.0.saturating_sub(a?.0))
}

fn assemble(
    parameters: Parameters,
    lab: LabInfo,
    g: &Generated,
    time_scale: f64,
    hops: BTreeMap<String, Latency>,
) -> Report {
    let window = g.window.as_secs_f64();
    let mut outcomes = BTreeMap::new();
    let (mut server, mut client) = (Latency::new(), Latency::new());
    let (mut polls, mut terminal) = (0u64, 0u64);
    for r in &g.records {
        *outcomes.entry(r.outcome.key()).or_insert(0u64) += 1;
        if r.outcome.terminal() {
            terminal += 1;
            polls += r.polls as u64;
            client.record_ns(r.client_ns);
            if let Some(ns) = r.server_ns {
                server.record_ns((ns as f64 / time_scale) as u64);
            }
        }
    }
    let completed = g.records.len() as u64;
    let per = |secs: f64| {
        if completed == 0 {
            0.0
        } else {
            (secs * 1e6 / completed as f64 * 10.0).round() / 10.0
        }
    };
    let client_secs = g.client_cpu.as_secs_f64();
    let cpu = match &g.server_cpu {
        Ok(d) => {
            let secs = d.as_secs_f64();
            Cpu {
                source: format!(
                    "/proc/{}/stat utime+stime (USER_HZ {}, 10 ms ticks){}; load generator: \
                     /proc/thread-self/stat of its own thread",
                    lab.pid,
                    cpu::USER_HZ,
                    if lab.mode == "in-process" {
                        ", minus the load generator's thread"
                    } else {
                        ""
                    }
                ),
                server_secs: round3(secs),
                server_us_per_writeback: per(secs),
                server_cores: if window > 0.0 {
                    round3(secs / window)
                } else {
                    0.0
                },
                client_secs: round3(client_secs),
                client_us_per_writeback: per(client_secs),
            }
        }
        Err(e) => Cpu {
            source: format!("unavailable: {e}"),
            client_secs: round3(client_secs),
            client_us_per_writeback: per(client_secs),
            ..Cpu::default()
        },
    };
    let clocks = format!(
        "server: the operation's @lab.acceptedAtNs → @lab.finishedAtNs on the lab clock \
         (tokio's monotonic Instant × time scale {time_scale}, divided back to real time); \
         client: the bench's monotonic clock, POST sent → terminal status read (polls every \
         {} ms)",
        parameters.poll_ms
    );
    let hops_us: BTreeMap<String, Summary> =
        hops.iter().map(|(k, v)| (k.clone(), v.summary())).collect();
    Report {
        bench: "e2e".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        parameters,
        lab,
        window_secs: window,
        writebacks: Writebacks {
            completed,
            per_sec: if window > 0.0 {
                (completed as f64 / window * 10.0).round() / 10.0
            } else {
                0.0
            },
            outcomes,
            polls_per_writeback: if terminal == 0 {
                0.0
            } else {
                (polls as f64 / terminal as f64 * 100.0).round() / 100.0
            },
        },
        latency: Latencies {
            clocks,
            server: server.summary(),
            client: client.summary(),
        },
        cpu,
        hop_notes: if hops_us.is_empty() {
            BTreeMap::new()
        } else {
            hop_notes()
        },
        hops_us,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(outcome: Outcome, client_ms: u64, server_ms: Option<u64>) -> Record {
        Record {
            outcome,
            client_ns: client_ms * 1_000_000,
            server_ns: server_ms.map(|m| m * 1_000_000),
            polls: 2,
            ids: None,
        }
    }

    #[test]
    fn the_report_counts_outcomes_rates_and_cpu() {
        let mut records: Vec<Record> = (1..=8)
            .map(|i| record(Outcome::Succeeded, i + 1, Some(i)))
            .collect();
        records.push(record(
            Outcome::Failed(Some("SSPR_0029".into())),
            3,
            Some(2),
        ));
        records.push(record(
            Outcome::Refused(400, "Request_BadRequest".into()),
            1,
            None,
        ));
        let g = Generated {
            records,
            window: Duration::from_secs(2),
            server_cpu: Ok(Duration::from_millis(500)),
            client_cpu: Duration::from_millis(100),
        };
        let params = Parameters {
            workers: 2,
            duration_secs: 2.0,
            warmup_secs: 0.0,
            poll_ms: 1,
            users: 4,
            admin: "admin@t".into(),
            lab: "in-process".into(),
        };
        let info = LabInfo {
            mode: "in-process".into(),
            pid: 1,
            time_scale: 2.0,
            agents: 4,
            domains: vec![],
            graph: String::new(),
        };
        let r = assemble(params, info, &g, 2.0, BTreeMap::new());
        assert_eq!(r.writebacks.completed, 10);
        assert_eq!(r.writebacks.per_sec, 5.0);
        assert_eq!(r.writebacks.outcomes["succeeded"], 8);
        assert_eq!(r.writebacks.outcomes["failed SSPR_0029"], 1);
        assert_eq!(r.writebacks.outcomes["refused 400 Request_BadRequest"], 1);
        assert_eq!(r.writebacks.polls_per_writeback, 2.0);
        // Terminal ones only; server lab time at scale 2 is halved.
        assert_eq!(r.latency.client.count, 9);
        assert_eq!(r.latency.server.count, 9);
        assert!(
            (r.latency.server.max_us - 4_000.0).abs() < 5.0,
            "{:?}",
            r.latency.server
        );
        assert_eq!(r.cpu.server_us_per_writeback, 50_000.0);
        assert_eq!(r.cpu.client_us_per_writeback, 10_000.0);
        assert!((r.cpu.server_cores - 0.25).abs() < 1e-9);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["parameters"]["users"], 4);
        assert_eq!(v["writebacks"]["completed"], 10);
    }

    #[test]
    fn users_are_shared_out_and_bench_users_spread_over_domains() {
        let users: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        assert_eq!(users_of(&users, 1, 4), ["1", "5", "9"]);
        assert_eq!(users_of(&users[..2], 3, 4), ["1"]);
        let mut spec = default_lab();
        let upns = add_bench_users(&mut spec, 5);
        assert_eq!(upns[0], "bench0000@contoso.lab");
        assert_eq!(upns[1], "bench0001@fabrikam.lab");
        assert_eq!(upns[3], "bench0003@contoso.lab");
        spec.validate().unwrap();
    }

    /// The whole path on real sockets: the default lab in-process, 2 workers for about a second.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_short_in_process_run_writes_every_reset_back() {
        let args = E2eArgs {
            workers: 2,
            duration: 1.0,
            warmup: 0.0,
            users: Some(6),
            ..E2eArgs::default()
        };
        let r = run(&args).await.unwrap();
        assert!(r.writebacks.completed > 0, "{}", r.text());
        let outcomes: Vec<&String> = r.writebacks.outcomes.keys().collect();
        assert_eq!(outcomes, ["succeeded"], "{}", r.text());
        // Every writeback carries the server's own times, and the relay's hops are there.
        assert_eq!(r.latency.server.count, r.writebacks.completed);
        assert_eq!(r.latency.client.count, r.writebacks.completed);
        for hop in [
            "relay.queue_to_offer",
            "agent.ldap_modify",
            "cloud.result_to_terminal",
        ] {
            assert_eq!(r.hops_us[hop].count, r.writebacks.completed, "{hop}");
        }
        assert_eq!(r.lab.agents, 4);
        assert_eq!(r.parameters.users, 6);
    }

    #[tokio::test]
    async fn a_missing_ready_file_is_named() {
        let args = E2eArgs {
            lab: Some("/nonexistent/lab.json".into()),
            ..E2eArgs::default()
        };
        let e = run(&args).await.unwrap_err().to_string();
        assert!(e.contains("ready file /nonexistent/lab.json"), "{e}");
        assert!(e.contains("sspr-lab serve --ready-file"), "{e}");
    }

    #[test]
    fn arguments_are_checked() {
        let bad = |a: E2eArgs| validate(&a).unwrap_err().to_string();
        assert!(
            bad(E2eArgs {
                workers: 0,
                ..E2eArgs::default()
            })
            .contains("--workers")
        );
        assert!(
            bad(E2eArgs {
                duration: 0.0,
                ..E2eArgs::default()
            })
            .contains("--duration")
        );
        assert!(
            bad(E2eArgs {
                lab: Some("/tmp/x".into()),
                users: Some(3),
                ..E2eArgs::default()
            })
            .contains("--users")
        );
        assert!(validate(&E2eArgs::default()).is_ok());
    }
}
