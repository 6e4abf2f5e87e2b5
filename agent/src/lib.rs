//! The real password writeback agent (DESIGN §4 "agent", issue [E]): it registers with the relay,
//! long-polls for jobs, acks each before any write, writes the password over LDAPS as the sync
//! service account (find the user by objectGUID, then one Modify), and posts the outcome with
//! per-hop timings.
//!
//! Every socket goes through [`runtime::net::Network`], every wait through the lab [`Clock`], and
//! every random draw (the agent key, backoff jitter) through the seed's streams. Passwords stay in
//! [`SecretString`]s, are never logged, and are dropped once the Modify is built.
//!
//! Everything it does is logged as the product's event IDs ([`events`]): tracing, and a JSONL
//! file when [`AgentConfig::event_log`] is set.

pub mod config;
pub mod events;
pub mod ldap;
pub mod permissions;
pub mod relay;
pub mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngExt;
use runtime::net::Network;
use runtime::{Clock, LabTime, Seed};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, Semaphore, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use uuid::Uuid;
use wire::auth::AgentCredential;
use wire::seal::AgentKey;
use wire::types::{Engine, Hop, Job, JobResult, Outcome, RegisterRequest, hop};

use crate::events::{Entry, EventLog};
use crate::relay::{Conn, Endpoint, Https, Relay, RelayClientError};
use crate::worker::{DcAddr, PolicyHints, Writer, WriterConfig, micros};

/// Everything one agent needs.
#[derive(Clone)]
pub struct AgentConfig {
    /// The on-premises domain it serves, e.g. `contoso.lab`.
    pub domain: String,
    /// Its engine.
    pub engine: Engine,
    /// Its version, as registered.
    pub version: String,
    /// The relay's base URL, `https://IP:PORT/relay/v1`.
    pub relay_base: String,
    /// The token endpoint, `https://IP:PORT/<tenant>/oauth2/v2.0/token`.
    pub token_endpoint: String,
    /// The tenant's initial domain (the default admin is `hybridadmin@<tenant>`).
    pub tenant: String,
    /// The Hybrid Identity Administrator who registers the agent (a UPN).
    pub admin_user: String,
    /// Their password.
    pub admin_password: SecretString,
    /// LDAPS addresses of the domain's DCs, in preference order.
    pub dcs: Vec<DcAddr>,
    /// The service account as bound (`CONTOSO\provAgentgMSA$`).
    pub service_account: String,
    /// Its password.
    pub service_password: SecretString,
    /// The lab CA (PEM) that signs the relay's and the DCs' certificates.
    pub ca_pem: String,
    /// The lab seed: the agent key comes from the stream `agent/<domain>/<index>`.
    pub seed: u64,
    /// Which agent of the domain this is (0, 1, …).
    pub index: u32,
    /// Where the key and registration persist (mode 0600), so a restart keeps its identity.
    pub state_file: Option<PathBuf>,
    /// How long one poll waits for a job (lab time).
    pub poll_wait: Duration,
    /// Each LDAP operation's timeout (lab time).
    pub ldap_timeout: Duration,
    /// Each HTTP request's timeout, besides a poll's wait (lab time).
    pub http_timeout: Duration,
    /// The most jobs in hand at once.
    pub max_jobs: u32,
    /// The policy-hints control on resets.
    pub hints: PolicyHints,
    /// Where the event log's JSON lines go (serve mode: the state directory); none: tracing only.
    pub event_log: Option<PathBuf>,
}

impl std::fmt::Debug for AgentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentConfig")
            .field("domain", &self.domain)
            .field("engine", &self.engine)
            .field("index", &self.index)
            .field("dcs", &self.dcs)
            .finish_non_exhaustive()
    }
}

impl AgentConfig {
    /// A configuration with the usual timings: 20 s polls, 30 s LDAP timeout, 16 jobs at once.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        domain: &str,
        engine: Engine,
        relay_base: &str,
        token_endpoint: &str,
        tenant: &str,
        admin_password: SecretString,
        dcs: Vec<DcAddr>,
        service_account: &str,
        service_password: SecretString,
        ca_pem: &str,
        seed: u64,
        index: u32,
    ) -> Self {
        AgentConfig {
            domain: domain.to_string(),
            engine,
            version: env!("CARGO_PKG_VERSION").to_string(),
            relay_base: relay_base.to_string(),
            token_endpoint: token_endpoint.to_string(),
            tenant: tenant.to_string(),
            admin_user: format!("hybridadmin@{tenant}"),
            admin_password,
            dcs,
            service_account: service_account.to_string(),
            service_password,
            ca_pem: ca_pem.to_string(),
            seed,
            index,
            state_file: None,
            poll_wait: Duration::from_secs(20),
            ldap_timeout: Duration::from_secs(30),
            http_timeout: Duration::from_secs(30),
            max_jobs: 16,
            hints: PolicyHints::default(),
            event_log: None,
        }
    }
}

/// What an agent reports about itself while it runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentStatus {
    /// Its id, once registered.
    pub agent_id: Option<Uuid>,
    /// Whether its last poll succeeded.
    pub connected: bool,
    /// Polls completed.
    pub polls: u64,
    /// Jobs finished (result posted or abandoned).
    pub jobs: u64,
}

/// Why an agent stopped on its own.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The configuration cannot work (bad URL, CA, state file).
    #[error("agent configuration: {0}")]
    Config(String),
    /// The relay refused the registration for good.
    #[error("registration refused: {0}")]
    Registration(RelayClientError),
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    key: String,
    agent_id: Option<Uuid>,
    secret: Option<String>,
}

/// The agent's key and saved registration; the flag says the key was made just now.
fn load_state(
    config: &AgentConfig,
) -> Result<(AgentKey, Option<AgentCredential>, bool), AgentError> {
    let fresh = || {
        let mut rng = runtime::stream(
            Seed(config.seed),
            &format!("agent/{}/{}", config.domain, config.index),
        );
        AgentKey::generate(&mut rng)
    };
    let Some(path) = &config.state_file else {
        return Ok((fresh(), None, true));
    };
    if !path.exists() {
        return Ok((fresh(), None, true));
    }
    let bad = |e: String| AgentError::Config(format!("{}: {e}", path.display()));
    let text =
        zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?);
    let saved: Saved = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let bytes = zeroize::Zeroizing::new(
        STANDARD
            .decode(&saved.key)
            .map_err(|e| bad(e.to_string()))?,
    );
    let key: [u8; 32] = bytes[..]
        .try_into()
        .map_err(|_| bad("the key is not 32 bytes".into()))?;
    let cred = match (saved.agent_id, saved.secret) {
        (Some(agent_id), Some(secret)) => Some(AgentCredential {
            agent_id,
            secret: SecretString::from(secret),
        }),
        _ => None,
    };
    Ok((AgentKey::from_bytes(key), cred, false))
}

fn save_state(
    config: &AgentConfig,
    key: &AgentKey,
    cred: &AgentCredential,
) -> Result<(), AgentError> {
    let Some(path) = &config.state_file else {
        return Ok(());
    };
    let saved = Saved {
        key: STANDARD.encode(*key.to_bytes()),
        agent_id: Some(cred.agent_id),
        secret: Some(cred.secret.expose_secret().to_string()),
    };
    let json = zeroize::Zeroizing::new(
        serde_json::to_vec(&saved).map_err(|e| AgentError::Config(e.to_string()))?,
    );
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let mut f = o.open(&tmp)?;
        f.write_all(&json)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| AgentError::Config(format!("{}: {e}", path.display())))
}

/// Exponential backoff with jitter from the agent's own stream: 0.5 s doubling to 30 s (lab
/// time), each wait drawn in [half, full].
struct Backoff {
    rng: rand_chacha::ChaCha8Rng,
    next: Duration,
}

impl Backoff {
    fn new(config: &AgentConfig) -> Self {
        Backoff {
            rng: runtime::stream(
                Seed(config.seed),
                &format!("agent/{}/{}/backoff", config.domain, config.index),
            ),
            next: Duration::from_millis(500),
        }
    }

    fn reset(&mut self) {
        self.next = Duration::from_millis(500);
    }

    fn draw(&mut self) -> Duration {
        let full = self.next;
        self.next = (self.next * 2).min(Duration::from_secs(30));
        full.mul_f64(self.rng.random_range(0.5..=1.0))
    }
}

/// Sleeps `d` of lab time; false when `stop` fired first.
async fn pause(clock: &Clock, stop: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        biased;
        _ = stop.cancelled() => false,
        _ = clock.sleep(d) => true,
    }
}

fn now_ms(clock: &Clock) -> i64 {
    (clock.now().0 / 1_000_000) as i64
}

/// Why the poll loop returned.
enum Ended {
    Stopped,
    /// The relay no longer knows the credential (e.g. it lost the registration in a crash).
    Unauthorized,
}

impl<N: Network> Ctx<N> {
    fn cred(&self) -> AgentCredential {
        self.cred.read().expect("credential lock").clone()
    }
}

struct Ctx<N: Network> {
    config: AgentConfig,
    clock: Clock,
    https: Https<N>,
    relay_ep: Endpoint,
    relay: Relay,
    key: AgentKey,
    cred: std::sync::RwLock<AgentCredential>,
    writer: Writer<N>,
    results: Mutex<Option<Conn>>,
    status: watch::Sender<AgentStatus>,
    log: EventLog,
}

/// The lab time between two heartbeat events (the product's health report is every 5 minutes).
const HEARTBEAT: Duration = Duration::from_secs(300);

/// Runs one agent until `stop`: registers (or reuses its saved registration), then polls and
/// writes. On stop it finishes the jobs in hand before returning. `status` tells the caller
/// when it is registered and connected.
pub async fn run<N: Network>(
    net: N,
    config: AgentConfig,
    clock: Clock,
    stop: CancellationToken,
    status: watch::Sender<AgentStatus>,
) -> Result<(), AgentError> {
    let tls = ldap::client_config(&config.ca_pem).map_err(AgentError::Config)?;
    let relay_ep =
        Endpoint::parse(&config.relay_base).map_err(|e| AgentError::Config(e.to_string()))?;
    let token_ep =
        Endpoint::parse(&config.token_endpoint).map_err(|e| AgentError::Config(e.to_string()))?;
    let https = Https::new(net.clone(), tls.clone(), clock.clone(), config.http_timeout);
    let relay = Relay::new(&relay_ep.path);
    let log = EventLog::open(
        config.engine,
        &config.domain,
        clock.clone(),
        config.event_log.as_deref(),
    )
    .map_err(|e| AgentError::Config(format!("event log: {e}")))?;
    let (key, saved, fresh) = match load_state(&config) {
        Ok(s) => s,
        Err(e) => {
            log.emit(Entry::new(events::id::CONFIGURATION_ERROR, e.to_string()));
            return Err(e);
        }
    };
    if fresh {
        log.emit(Entry::new(
            events::id::KEY_PAIR_CREATED,
            "the agent's key pair was created",
        ));
    }
    let mut backoff = Backoff::new(&config);
    let cred = match saved {
        Some(c) => c,
        None => {
            let reg = Registrar {
                https: &https,
                token_ep: &token_ep,
                relay_ep: &relay_ep,
                relay: &relay,
                config: &config,
                key: &key,
                log: &log,
            };
            match reg.run(&clock, &stop, &mut backoff).await? {
                Some(c) => c,
                None => return Ok(()),
            }
        }
    };
    log.set_agent(cred.agent_id);
    info!(domain = %config.domain, agent = %cred.agent_id, engine = config.engine.as_str(), "agent registered");
    status.send_modify(|s| s.agent_id = Some(cred.agent_id));
    let writer = Writer::new(
        net,
        tls,
        clock.clone(),
        WriterConfig {
            dcs: config.dcs.clone(),
            account: config.service_account.clone(),
            password: config.service_password.clone(),
            timeout: config.ldap_timeout,
            hints: config.hints,
        },
    );
    let ctx = Arc::new(Ctx {
        config,
        clock,
        https,
        relay_ep,
        relay,
        key,
        cred: std::sync::RwLock::new(cred),
        writer,
        results: Mutex::new(None),
        status,
        log,
    });
    let outcome = loop {
        match poll_loop(&ctx, &stop, &mut backoff).await {
            Ended::Stopped => break Ok(()),
            Ended::Unauthorized => {
                warn!(domain = %ctx.config.domain, agent = %ctx.cred().agent_id, "the relay does not know this agent; registering again");
                ctx.status.send_modify(|s| s.connected = false);
                let reg = Registrar {
                    https: &ctx.https,
                    token_ep: &token_ep,
                    relay_ep: &ctx.relay_ep,
                    relay: &ctx.relay,
                    config: &ctx.config,
                    key: &ctx.key,
                    log: &ctx.log,
                };
                match reg.run(&ctx.clock, &stop, &mut backoff).await {
                    Ok(Some(c)) => {
                        info!(domain = %ctx.config.domain, agent = %c.agent_id, "agent registered again");
                        ctx.log.set_agent(c.agent_id);
                        ctx.status.send_modify(|s| s.agent_id = Some(c.agent_id));
                        *ctx.cred.write().expect("credential lock") = c;
                    }
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(e),
                }
            }
        }
    };
    ctx.writer.close().await;
    ctx.status.send_modify(|s| s.connected = false);
    ctx.log.emit(Entry::new(
        events::id::SERVICE_STOPPED,
        "the writeback service stopped",
    ));
    outcome
}

struct Registrar<'a, N: Network> {
    https: &'a Https<N>,
    token_ep: &'a Endpoint,
    relay_ep: &'a Endpoint,
    relay: &'a Relay,
    config: &'a AgentConfig,
    key: &'a AgentKey,
    log: &'a EventLog,
}

impl<N: Network> Registrar<'_, N> {
    /// Registers (retrying transient failures with backoff) and saves the registration;
    /// `None` when stopped first.
    async fn run(
        &self,
        clock: &Clock,
        stop: &CancellationToken,
        backoff: &mut Backoff,
    ) -> Result<Option<AgentCredential>, AgentError> {
        self.log.emit(Entry::new(
            events::id::ONBOARDING_START,
            "registering with the relay",
        ));
        loop {
            let attempt = tokio::select! {
                biased;
                _ = stop.cancelled() => return Ok(None),
                r = register(self.https, self.token_ep, self.relay_ep, self.relay, self.config, self.key, self.log) => r,
            };
            match attempt {
                Ok(c) => {
                    if let Err(e) = save_state(self.config, self.key, &c) {
                        self.log
                            .emit(Entry::new(events::id::CONFIGURATION_ERROR, e.to_string()));
                        return Err(e);
                    }
                    backoff.reset();
                    self.log.set_agent(c.agent_id);
                    self.log.emit(Entry::new(
                        events::id::ONBOARDING_SUCCESS,
                        "registered with the relay",
                    ));
                    return Ok(Some(c));
                }
                Err(e) if matches!(e.status(), Some(400 | 403 | 404 | 409)) => {
                    self.log.emit(Entry::new(
                        events::id::ONBOARDING_SERVICE_ERROR,
                        format!("the relay refused the registration: {e}"),
                    ));
                    return Err(AgentError::Registration(e));
                }
                Err(e) => {
                    self.log.emit(Entry::new(
                        events::id::ONBOARDING_SERVICE_ERROR,
                        format!("registration failed; retrying: {e}"),
                    ));
                    if !pause(clock, stop, backoff.draw()).await {
                        return Ok(None);
                    }
                }
            }
        }
    }
}

async fn register<N: Network>(
    https: &Https<N>,
    token_ep: &Endpoint,
    relay_ep: &Endpoint,
    relay: &Relay,
    config: &AgentConfig,
    key: &AgentKey,
    log: &EventLog,
) -> Result<AgentCredential, RelayClientError> {
    let mut conn = https.connect(token_ep).await?;
    let token = match relay::ropc_token(
        &mut conn,
        &token_ep.path,
        &config.admin_user,
        &config.admin_password,
    )
    .await
    {
        Ok(t) => {
            log.emit(Entry::new(
                events::id::AUTH_TOKEN_SUCCESS,
                format!("token issued to {}", config.admin_user),
            ));
            t
        }
        Err(e) => {
            log.emit(Entry::new(
                events::id::AUTH_TOKEN_ERROR,
                format!("no token for {}: {e}", config.admin_user),
            ));
            return Err(e);
        }
    };
    let mut conn = if token_ep.addr == relay_ep.addr && conn.is_open() {
        conn
    } else {
        https.connect(relay_ep).await?
    };
    let req = RegisterRequest {
        domain: config.domain.clone(),
        engine: config.engine,
        version: config.version.clone(),
        public_key: key.public_base64(),
    };
    Ok(relay.register(&mut conn, &token, &req).await?.credential())
}

async fn poll_loop<N: Network>(
    ctx: &Arc<Ctx<N>>,
    stop: &CancellationToken,
    backoff: &mut Backoff,
) -> Ended {
    let mut ended = Ended::Stopped;
    let cred = ctx.cred();
    let permits = Arc::new(Semaphore::new(ctx.config.max_jobs.clamp(1, 64) as usize));
    let mut tasks = tokio::task::JoinSet::new();
    let mut conn: Option<Conn> = None;
    let mut first = true;
    // Relay failures since the last good poll, and when the last heartbeat was logged.
    let mut failures = 0u32;
    let mut last_heartbeat: Option<LabTime> = None;
    loop {
        while tasks.try_join_next().is_some() {}
        // A free slot before asking for work.
        let permit = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let free = 1 + permits.available_permits() as u32;
        drop(permit);
        let c = match conn.as_mut().filter(|c| c.is_open()) {
            Some(c) => c,
            None => {
                let connected = tokio::select! {
                    biased;
                    _ = stop.cancelled() => break,
                    c = ctx.https.connect(&ctx.relay_ep) => c,
                };
                match connected {
                    Ok(c) => conn.insert(c),
                    Err(e) => {
                        conn = None;
                        failures += 1;
                        ctx.log.emit(Entry::new(
                            events::id::SERVICE_BUS_ERROR,
                            format!("the relay is unreachable: {e}"),
                        ));
                        ctx.status.send_modify(|s| s.connected = false);
                        if !pause(&ctx.clock, stop, backoff.draw()).await {
                            break;
                        }
                        continue;
                    }
                }
            }
        };
        // The first poll answers at once, so the lab knows the agent is healthy.
        let wait = if first {
            Duration::ZERO
        } else {
            ctx.config.poll_wait
        };
        let polled = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            r = ctx.relay.poll(c, &cred, free.min(wire::types::MAX_POLL_JOBS), wait) => r,
        };
        let arrived = ctx.clock.now();
        let resp = match polled {
            Ok(r) => r,
            Err(e) if e.status() == Some(401) => {
                ended = Ended::Unauthorized;
                break;
            }
            Err(e) => {
                conn = None;
                failures += 1;
                ctx.log.emit(Entry::new(
                    events::id::SERVICE_BUS_ERROR,
                    format!("polling the relay failed: {e}"),
                ));
                ctx.status.send_modify(|s| s.connected = false);
                if !pause(&ctx.clock, stop, backoff.draw()).await {
                    break;
                }
                continue;
            }
        };
        if first {
            ctx.log.emit(Entry::new(
                events::id::SERVICE_STARTED,
                format!(
                    "the writeback service is listening on {}",
                    ctx.config.relay_base
                ),
            ));
        } else if failures > 0 {
            ctx.log.emit(Entry::new(
                events::id::SERVICE_BUS_WARNING,
                format!("the relay answers again after {failures} failed attempts"),
            ));
        }
        if last_heartbeat.is_none_or(|t| arrived >= t.plus(HEARTBEAT)) {
            ctx.log.emit(Entry::new(events::id::HEARTBEAT, "heartbeat"));
            last_heartbeat = Some(arrived);
        }
        first = false;
        failures = 0;
        backoff.reset();
        ctx.status.send_modify(|s| {
            s.connected = true;
            s.polls += 1;
        });
        // The cloud's clock may differ from ours: deadlines are read against its now_ms.
        let skew = resp.now_ms as i64 - now_ms(&ctx.clock);
        for job in resp.jobs {
            ctx.log.job_started(&job);
            // Ack before anything else, over the connection that carried the offer.
            let acked = match conn.as_mut() {
                Some(c) => ctx.relay.ack(c, &cred, &job.id, job.attempt).await,
                None => break,
            };
            match acked {
                Ok(_) => {}
                Err(e) => {
                    warn!(job = %job.id, error = %e, "ack refused; dropping the job unwritten");
                    if e.status().is_none() {
                        conn = None;
                    }
                    ctx.status.send_modify(|s| s.jobs += 1);
                    continue;
                }
            }
            let ack_micros = micros(arrived, ctx.clock.now());
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            let ctx = ctx.clone();
            tasks.spawn(async move {
                let _permit = permit;
                handle(&ctx, job, arrived, ack_micros, skew).await;
                ctx.status.send_modify(|s| s.jobs += 1);
            });
        }
    }
    // A graceful stop finishes the jobs in hand.
    while tasks.join_next().await.is_some() {}
    ended
}

async fn handle<N: Network>(ctx: &Ctx<N>, job: Job, arrived: LabTime, ack_micros: u64, skew: i64) {
    let hop_of = |name: &str, micros: u64| Hop {
        name: name.into(),
        micros,
    };
    let mut hops = vec![hop_of(hop::ACK, ack_micros)];
    let (outcome, onprem, dc) = if let Err(e) = job.validate() {
        ctx.log.emit(
            Entry::new(
                events::id::INPUT_VALIDATION_ERROR,
                format!("malformed job: {e}"),
            )
            .job(&job),
        );
        (Outcome::Internal, None, None)
    } else if !job.target.domain.eq_ignore_ascii_case(&ctx.config.domain) {
        warn!(job = %job.id, domain = %job.target.domain, "a job for another domain");
        (Outcome::ConfigurationError, None, None)
    } else {
        let t = ctx.clock.now();
        let opened = job.open(&ctx.key);
        hops.push(hop_of(hop::OPEN, micros(t, ctx.clock.now())));
        match opened {
            Err(e) => {
                warn!(job = %job.id, error = %e, "sealed secrets do not open");
                (Outcome::Undecryptable, None, None)
            }
            Ok(secrets) => {
                let local_deadline_ms = (job.deadline_ms as i64 - skew).max(0) as u64;
                let deadline = LabTime(local_deadline_ms.saturating_mul(1_000_000));
                let w = ctx.writer.write(&job, secrets, deadline, &mut hops).await;
                (w.outcome, w.onprem, w.dc)
            }
        }
    };
    hops.push(hop_of(hop::AGENT_TOTAL, micros(arrived, ctx.clock.now())));
    let mut result = JobResult::new(job.id.clone(), job.kind, outcome);
    result.onprem = onprem;
    result.dc = dc;
    result.timings = hops;
    ctx.log.job_ended(
        &job,
        result.outcome,
        result.onprem.as_ref(),
        result.dc.as_deref(),
    );
    post_result(ctx, &result).await;
}

/// Posts a result until the cloud answers (it is idempotent by job id); a few tries.
async fn post_result<N: Network>(ctx: &Ctx<N>, result: &JobResult) {
    let mut wait = Duration::from_millis(200);
    for _ in 0..6 {
        let mut slot = ctx.results.lock().await;
        if slot.as_ref().is_none_or(|c| !c.is_open()) {
            *slot = ctx.https.connect(&ctx.relay_ep).await.ok();
        }
        if let Some(c) = slot.as_mut() {
            match ctx.relay.result(c, &ctx.cred(), result).await {
                Ok(r) => {
                    if r.late || r.duplicate {
                        info!(job = %result.job_id, late = r.late, duplicate = r.duplicate, recorded = r.outcome.as_str(), "result recorded earlier or late");
                    }
                    return;
                }
                Err(e) if e.status().is_some() => {
                    warn!(job = %result.job_id, error = %e, "result refused");
                    return;
                }
                Err(e) => {
                    warn!(job = %result.job_id, error = %e, "posting the result failed; retrying");
                    *slot = None;
                }
            }
        }
        drop(slot);
        ctx.clock.sleep(wait).await;
        wait *= 2;
    }
    ctx.log.emit(Entry::new(
        events::id::SERVICE_ERROR,
        format!(
            "the result of job {} could not be posted; the cloud fails the job at its deadline",
            result.job_id
        ),
    ));
}
