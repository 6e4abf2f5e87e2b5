//! A running lab: the directory built from a [`LabSpec`], every DC's LDAP and LDAPS listener, the
//! control API and the lab CA. `serve` runs one until a signal; tests start one in-process on
//! port 0, read its endpoints and stop it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fake_ad::Dc;

use fake_ad::store::{Batch, Durability, MemStore, SqliteStore, Store};
use runtime::AnyNet;
use runtime::net::{Listener, Network};
use runtime::{Clock, ClockConfig, LabCa, LabTime, Seed};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::control::LabControl;
use crate::core::Core;
use crate::credentials::Credentials;
use crate::dcs::DcRunner;
use crate::populate::{self, BuiltDomain};
use crate::ready::{ReadyAgent, ReadyDc, ReadyDomain, ReadyFile};
use crate::spec::{LabSpec, SpecError};

/// What can stop a lab from starting.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The spec is invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The state directory cannot be used.
    #[error("state {dir}: {why}")]
    State {
        /// The directory.
        dir: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The state directory holds another lab.
    #[error("state {dir} was made from scenario {found:?}, not {wanted:?}")]
    OtherScenario {
        /// The directory.
        dir: PathBuf,
        /// The scenario it holds.
        found: String,
        /// The scenario asked for.
        wanted: String,
    },
    /// The lab CA failed.
    #[error(transparent)]
    Tls(#[from] runtime::TlsError),
    /// A listener could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// Building the directory failed.
    #[error("building the directory: {0}")]
    Directory(String),
}

/// How to start a lab.
#[derive(Clone, Debug)]
pub struct LabOptions {
    /// The seed (GUIDs, SIDs, …).
    pub seed: u64,
    /// Where state lasts; `None` keeps it in memory.
    pub state: Option<PathBuf>,
    /// How hard commits try.
    pub durability: Durability,
    /// Lab seconds per real second.
    pub time_scale: f64,
    /// First LDAP port (DC i gets base+2i for LDAP and base+2i+1 for LDAPS); `None` = OS-chosen.
    pub ldap_port_base: Option<u16>,
    /// The control API's port; `None` = OS-chosen.
    pub control_port: Option<u16>,
    /// The fixture passwords.
    pub credentials: Credentials,
    /// Overrides the spec's propagator settings (tests use `Propagation::immediate()`).
    pub propagation: Option<fake_ad::propagation::Propagation>,
    /// The cloud's plain HTTP port; `None` = OS-chosen.
    pub http_port: Option<u16>,
    /// The cloud's HTTPS port; `None` = OS-chosen.
    pub https_port: Option<u16>,
    /// Start each domain's in-process writeback agents (`serve --no-agents` turns them off).
    pub agents: bool,
    /// The in-process agents' timings (tests shorten the LDAP timeout to make a slow DC quick).
    pub agent_tuning: AgentTuning,
    /// The network every listener and connection uses: tokio sockets (serve), or the in-memory
    /// network of simulate mode.
    pub net: AnyNet,
}

/// The in-process agents' timings, in lab time; the defaults are the agent's own
/// ([`agent::AgentConfig::new`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentTuning {
    /// Each LDAP operation's timeout (the product's `LdapConnectionTimeoutInMilliseconds`, 30 s).
    pub ldap_timeout: Duration,
    /// How long one poll of the relay waits for a job (20 s).
    pub poll_wait: Duration,
    /// Each HTTP request's timeout, besides a poll's wait (30 s).
    pub http_timeout: Duration,
}

impl Default for AgentTuning {
    fn default() -> Self {
        AgentTuning {
            ldap_timeout: Duration::from_secs(30),
            poll_wait: Duration::from_secs(20),
            http_timeout: Duration::from_secs(30),
        }
    }
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            seed: 1,
            state: None,
            durability: Durability::Normal,
            time_scale: 1.0,
            ldap_port_base: None,
            control_port: None,
            credentials: Credentials::default(),
            propagation: None,
            http_port: None,
            https_port: None,
            agents: true,
            agent_tuning: AgentTuning::default(),
            net: AnyNet::default(),
        }
    }
}

/// One DC's listeners.
#[derive(Clone, Debug)]
pub struct DcEndpoint {
    /// The domain's DNS name.
    pub domain: String,
    /// The DC.
    pub dc: Arc<Dc>,
    /// Plain LDAP.
    pub ldap: SocketAddr,
    /// LDAPS.
    pub ldaps: SocketAddr,
}

/// One in-process writeback agent: its configuration and, while it runs, its task. Clones share
/// the same agent. It can be stopped gracefully, crashed (its task aborted, as a killed
/// process) and started again; its key and registration persist in the lab's directory.
#[derive(Clone)]
pub struct AgentRun {
    /// The domain it serves.
    pub domain: String,
    /// Its engine.
    pub engine: crate::spec::Engine,
    /// Which agent of the domain it is.
    pub index: u32,
    net: AnyNet,
    clock: Clock,
    lab_stop: CancellationToken,
    slot: Arc<std::sync::Mutex<AgentSlot>>,
}

struct AgentSlot {
    config: agent::AgentConfig,
    status: tokio::sync::watch::Receiver<agent::AgentStatus>,
    run: Option<(CancellationToken, JoinHandle<()>)>,
}

impl std::fmt::Debug for AgentRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentRun")
            .field("domain", &self.domain)
            .field("index", &self.index)
            .field("status", &self.status())
            .finish()
    }
}

impl AgentRun {
    /// What it reports now (id, connected, polls, jobs).
    pub fn status(&self) -> agent::AgentStatus {
        self.slot
            .lock()
            .expect("agent lock")
            .status
            .borrow()
            .clone()
    }

    /// A receiver of its status (replaced when it starts again).
    pub fn watch(&self) -> tokio::sync::watch::Receiver<agent::AgentStatus> {
        self.slot.lock().expect("agent lock").status.clone()
    }

    /// Whether its task is running.
    pub fn is_running(&self) -> bool {
        let slot = self.slot.lock().expect("agent lock");
        slot.run.as_ref().is_some_and(|(_, h)| !h.is_finished())
    }

    /// Starts it (no-op while it runs): it registers, or resumes its saved registration.
    pub fn start(&self) {
        let mut slot = self.slot.lock().expect("agent lock");
        if slot.run.as_ref().is_some_and(|(_, h)| !h.is_finished()) {
            return;
        }
        let (tx, rx) = tokio::sync::watch::channel(agent::AgentStatus::default());
        let stop = self.lab_stop.child_token();
        let (net, config, clock, token) = (
            self.net.clone(),
            slot.config.clone(),
            self.clock.clone(),
            stop.clone(),
        );
        let (domain, index) = (self.domain.clone(), self.index);
        let handle = tokio::spawn(async move {
            if let Err(e) = agent::run(net, config, clock, token, tx).await {
                tracing::error!(%domain, index, error = %e, "agent stopped");
            }
        });
        slot.status = rx;
        slot.run = Some((stop, handle));
    }

    /// Changes its configuration for its next start (a running agent keeps the old one).
    pub fn configure(&self, f: impl FnOnce(&mut agent::AgentConfig)) {
        f(&mut self.slot.lock().expect("agent lock").config);
    }

    /// Stops it gracefully: it finishes the jobs in hand.
    pub async fn stop(&self) {
        let run = self.slot.lock().expect("agent lock").run.take();
        if let Some((token, handle)) = run {
            token.cancel();
            let _ = handle.await;
        }
    }

    /// Crashes it: its task is dropped where it stands, as `kill -9` ends a process.
    pub async fn crash(&self) {
        let run = self.slot.lock().expect("agent lock").run.take();
        if let Some((_, handle)) = run {
            handle.abort();
            let _ = handle.await;
        }
    }

    /// Waits until it has registered and completed a poll, up to `limit` of lab time.
    pub async fn ready(&self, limit: Duration) -> bool {
        let mut rx = self.watch();
        matches!(
            self.clock
                .timeout(limit, rx.wait_for(|s| s.polls >= 1))
                .await,
            Ok(Ok(_))
        )
    }
}

/// A running lab.
pub struct Lab {
    /// The spec it runs.
    pub spec: LabSpec,
    /// Its seed.
    pub seed: u64,
    /// Its domains.
    pub domains: Vec<BuiltDomain>,
    /// Every DC's listeners, in spec order.
    pub endpoints: Vec<DcEndpoint>,
    /// The control API's address.
    pub control: SocketAddr,
    /// The lab CA certificate's path.
    pub ca_cert: PathBuf,
    /// The lab CA (tests use its client configuration).
    pub ca: Arc<LabCa>,
    /// The lab clock.
    pub clock: Clock,
    store: Arc<dyn Store>,
    sqlite: Option<Arc<SqliteStore>>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    /// Every DC's listeners (stop and start them here or through the control API).
    pub runners: Vec<Arc<DcRunner>>,
    /// The fake Entra tenant's listeners and state.
    pub cloud: crate::cloud::CloudRun,
    /// The in-process writeback agents.
    pub agents: Vec<AgentRun>,
    core: Arc<dyn LabControl>,
    _tmp: Option<tempfile::TempDir>,
}

const META_SPEC: &str = "lab/spec";
const META_SEED: &str = "lab/seed";
const META_CLOCK: &str = "clock/high_water";
const META_OFFSET: &str = "clock/offset";

impl Lab {
    /// Builds and starts the lab `spec` per `opts`; returns once every listener accepts.
    pub async fn start(spec: LabSpec, opts: LabOptions) -> Result<Lab, LabError> {
        spec.validate()?;
        let (store, sqlite, dir, tmp): (Arc<dyn Store>, _, PathBuf, _) = match &opts.state {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| LabError::State {
                    dir: dir.clone(),
                    why: e.to_string(),
                })?;
                let s = Arc::new(SqliteStore::open(dir, opts.durability).map_err(|e| {
                    LabError::State {
                        dir: dir.clone(),
                        why: e.to_string(),
                    }
                })?);
                (s.clone(), Some(s), dir.clone(), None)
            }
            None => {
                let t = tempfile::tempdir().map_err(|e| LabError::State {
                    dir: std::env::temp_dir(),
                    why: e.to_string(),
                })?;
                (Arc::new(MemStore), None, t.path().to_path_buf(), Some(t))
            }
        };
        let state_err = |why: String| LabError::State {
            dir: dir.clone(),
            why,
        };
        // A state directory that already holds a lab resumes it.
        let stored = store
            .meta(META_SPEC)
            .map_err(|e| state_err(e.to_string()))?;
        let (spec, seed, fresh) = match stored {
            Some(json) => {
                let old: LabSpec = serde_json::from_str(&json)
                    .map_err(|e| state_err(format!("stored lab spec: {e}")))?;
                if old.name != spec.name {
                    return Err(LabError::OtherScenario {
                        dir,
                        found: old.name,
                        wanted: spec.name,
                    });
                }
                let seed = store
                    .meta(META_SEED)
                    .map_err(|e| state_err(e.to_string()))?
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| state_err("no seed stored".into()))?;
                (old, seed, false)
            }
            None => (spec, opts.seed, true),
        };
        let high_water = store
            .meta(META_CLOCK)
            .map_err(|e| state_err(e.to_string()))?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let offset = store
            .meta(META_OFFSET)
            .map_err(|e| state_err(e.to_string()))?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let start = match &spec.start {
            Some(s) => Some(LabTime::parse_generalized(s).ok_or_else(|| {
                LabError::Spec(SpecError::Invalid(format!(
                    "start {s:?} is not YYYYMMDDHHMMSSZ"
                )))
            })?),
            None => None,
        };
        let clock = Clock::new(ClockConfig {
            start,
            scale: opts.time_scale,
            offset: Duration::from_secs(offset),
            high_water: LabTime(high_water),
        });
        let ca = Arc::new(LabCa::load_or_create(&dir)?);
        let ca_cert = dir.join("ca.pem");
        let domains = populate::build(
            &spec,
            Seed(seed),
            store.clone(),
            &clock,
            &opts.credentials,
            fresh,
        )
        .await
        .map_err(LabError::Directory)?;
        for d in &domains {
            *d.domain.propagation.lock().expect("propagation lock") =
                opts.propagation.unwrap_or(spec.timers.propagation);
            d.domain.repl.lock().expect("repl lock").topology = spec.timers.topology.clone();
            d.domain
                .start_sdprop_timer(clock.now(), spec.timers.sdprop_every_secs);
            d.domain
                .start_gp_refresh(clock.now(), spec.timers.gp_refresh_secs);
        }
        if fresh {
            let spec_json = serde_json::to_string(&spec).map_err(|e| state_err(e.to_string()))?;
            let meta = vec![
                (META_SPEC.to_string(), spec_json),
                (META_SEED.to_string(), seed.to_string()),
            ];
            commit_meta(&store, meta).await.map_err(state_err)?;
        }

        let stop = CancellationToken::new();
        let mut tasks = Vec::new();
        let mut endpoints = Vec::new();
        let mut port = opts.ldap_port_base;
        let mut next_addr = || {
            let p = port.unwrap_or(0);
            if let Some(b) = port.as_mut() {
                *b += 1;
            }
            SocketAddr::from(([127, 0, 0, 1], p))
        };
        let mut runners = Vec::new();
        for d in &domains {
            for dc in d.domain.dcs() {
                let tls = ca.server_config(std::slice::from_ref(&dc.host))?;
                let (ldap, ldaps) = (next_addr(), next_addr());
                let r = DcRunner::bind(
                    &opts.net.as_host(&format!("{}/{}", d.spec.dns, dc.name)),
                    &d.spec.dns,
                    dc.clone(),
                    tls,
                    ldap,
                    ldaps,
                    stop.clone(),
                )
                .await
                .map_err(|(addr, source)| LabError::Bind { addr, source })?;
                endpoints.push(DcEndpoint {
                    domain: d.spec.dns.clone(),
                    dc,
                    ldap: r.ldap,
                    ldaps: r.ldaps,
                });
                runners.push(Arc::new(r));
            }
        }
        let cloud = crate::cloud::start(
            &spec,
            &domains,
            Seed(seed),
            &clock,
            &opts.credentials,
            opts.state.as_deref(),
            store.clone(),
            &ca,
            &opts.net.as_host("cloud"),
            SocketAddr::from(([127, 0, 0, 1], opts.http_port.unwrap_or(0))),
            SocketAddr::from(([127, 0, 0, 1], opts.https_port.unwrap_or(0))),
            &stop,
            &mut tasks,
        )
        .await
        .map_err(LabError::Directory)?;
        let agents = if opts.agents {
            agent_handles(
                &domains,
                &endpoints,
                &cloud,
                &spec,
                seed,
                &clock,
                &opts.credentials,
                &ca,
                &dir,
                opts.agent_tuning,
                &opts.net,
                &stop,
            )
        } else {
            Vec::new()
        };
        // A deployed lab's agents are healthy at time zero (DESIGN §8); an undeployed lab's wait
        // to be installed (the tutorial starts them).
        if spec.deployed {
            for a in &agents {
                a.start();
            }
            for a in &agents {
                let limit = Duration::from_secs(AGENT_READY_SECS).mul_f64(clock.scale());
                if !a.ready(limit).await {
                    return Err(LabError::Directory(format!(
                        "an agent of {} did not register and poll within {AGENT_READY_SECS} s",
                        a.domain
                    )));
                }
            }
        }
        let core: Arc<dyn LabControl> = Arc::new(Core {
            clock: clock.clone(),
            domains: domains.clone(),
            runners: runners.clone(),
        });
        let caddr = SocketAddr::from(([127, 0, 0, 1], opts.control_port.unwrap_or(0)));
        let mut cl = opts
            .net
            .as_host("control")
            .bind(caddr)
            .await
            .map_err(|source| LabError::Bind {
                addr: caddr,
                source,
            })?;
        let control = cl.local_addr().map_err(|source| LabError::Bind {
            addr: caddr,
            source,
        })?;
        let router = crate::control::router(core.clone());
        let cstop = stop.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    biased;
                    _ = cstop.cancelled() => break,
                    a = cl.accept() => a,
                };
                let Ok((stream, _)) = accepted else { continue };
                let (router, stop) = (router.clone(), cstop.clone());
                tokio::spawn(crate::cloud::serve_conn(stream, router, stop));
            }
        }));
        // Replication: one task per domain delivers what is due, sleeping on the lab clock.
        for d in &domains {
            let (domain, clock, stop) = (d.domain.clone(), clock.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let kicked = domain.repl_kick.notified();
                    tokio::pin!(kicked);
                    kicked.as_mut().enable();
                    domain.pump(clock.now()).await;
                    domain.run_timers(clock.now()).await;
                    let wake = async {
                        // Anything already due was applied or is held (stopped DC, cut link).
                        let next = [domain.next_due(), domain.next_timer()]
                            .into_iter()
                            .flatten()
                            .filter(|t| *t > clock.now())
                            .min();
                        match next {
                            Some(t) => clock.sleep_until(t).await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        biased;
                        _ = stop.cancelled() => break,
                        _ = &mut kicked => {}
                        _ = wake => {}
                        // Deliveries held by a stopped DC or a cut link are retried now and then.
                        _ = clock.sleep(Duration::from_secs(30)) => {}
                    }
                }
            }));
        }
        // Persist the clock's high-water mark now and then, so a restart never moves time back.
        {
            let (store, clock, stop) = (store.clone(), clock.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    tokio::select! {
                        biased;
                        _ = stop.cancelled() => break,
                        _ = clock.sleep(Duration::from_secs(5).mul_f64(clock.scale())) => {
                            let _ = commit_meta(&store, clock_meta(&clock)).await;
                        }
                    }
                }
            }));
        }
        info!(lab = %spec.name, seed, dcs = endpoints.len(), %control, "lab up");
        Ok(Lab {
            spec,
            seed,
            domains,
            endpoints,
            control,
            ca_cert,
            ca,
            clock,
            store,
            sqlite,
            stop,
            tasks,
            runners,
            cloud,
            agents,
            core,
            _tmp: tmp,
        })
    }

    /// The lab's control surface in-process (what the control API serves; the timeline uses it).
    pub fn control(&self) -> Arc<dyn LabControl> {
        self.core.clone()
    }

    /// Moves the lab clock forward by `d` and applies every replication delivery that became due,
    /// before returning (tests and the timeline use this instead of sleeping).
    pub async fn advance(&self, d: Duration) {
        self.clock.advance(d);
        self.settle().await;
    }

    /// Applies every replication delivery, propagation batch and SDProp run due now, in every
    /// domain, until nothing more is due.
    pub async fn settle(&self) {
        for _ in 0..10_000 {
            let now = self.clock.now();
            let mut work = 0;
            for b in &self.domains {
                work += b.domain.pump(now).await;
                work += b.domain.run_timers(now).await;
            }
            if work == 0 {
                break;
            }
        }
    }

    /// The endpoint of DC `dc` of `domain`.
    pub fn endpoint(&self, domain: &str, dc: &str) -> Option<&DcEndpoint> {
        self.endpoints
            .iter()
            .find(|e| e.domain.eq_ignore_ascii_case(domain) && e.dc.name.eq_ignore_ascii_case(dc))
    }

    /// The ready file describing this lab.
    pub fn ready_file(&self) -> ReadyFile {
        ReadyFile {
            version: env!("CARGO_PKG_VERSION").to_string(),
            pid: std::process::id(),
            seed: self.seed,
            time_scale: Some(self.clock.scale()),
            ca_cert: self.ca_cert.display().to_string(),
            control: format!("http://{}/control", self.control),
            http: Some(format!("http://{}", self.cloud.http)),
            https: Some(format!("https://{}", self.cloud.https)),
            graph: Some(format!("https://{}/v1.0", self.cloud.https)),
            tenant: Some(self.spec.tenant.name.clone()),
            tenant_id: Some(self.cloud.cloud.flows.tenant.id.to_string()),
            client_id: Some(self.cloud.cloud.flows.tenant.client_id.to_string()),
            token_endpoint: Some(format!(
                "https://{}/{}/oauth2/v2.0/token",
                self.cloud.https, self.spec.tenant.name
            )),
            openid_configuration: Some(format!(
                "https://{}/{}/v2.0/.well-known/openid-configuration",
                self.cloud.https, self.spec.tenant.name
            )),
            relay: Some(format!("https://{}/relay/v1", self.cloud.https)),
            domains: self
                .domains
                .iter()
                .map(|d| ReadyDomain {
                    name: d.spec.dns.clone(),
                    netbios: d.spec.netbios.clone(),
                    base_dn: d.domain.info.base_dn.clone(),
                    engine: d.spec.engine.as_str().to_string(),
                    service_account: d.service_account_dn(),
                    dcs: self
                        .endpoints
                        .iter()
                        .filter(|e| e.domain == d.spec.dns)
                        .map(|e| ReadyDc {
                            name: e.dc.name.clone(),
                            host: e.dc.host.clone(),
                            pdc: e.dc.pdc,
                            ldap: e.ldap.to_string(),
                            ldaps: e.ldaps.to_string(),
                        })
                        .collect(),
                })
                .collect(),
            agents: self
                .agents
                .iter()
                .filter_map(|a| {
                    let s = a.status();
                    Some(ReadyAgent {
                        id: s.agent_id?.to_string(),
                        domain: a.domain.clone(),
                        engine: a.engine.as_str().to_string(),
                        connected: s.connected,
                    })
                })
                .collect(),
        }
    }

    /// Stops every listener and connection, saves the clock and closes the store.
    pub async fn stop(self) {
        self.stop.cancel();
        for a in &self.agents {
            a.stop().await;
        }
        for r in &self.runners {
            r.join().await;
        }
        for t in self.tasks {
            let _ = t.await;
        }
        let _ = commit_meta(&self.store, clock_meta(&self.clock)).await;
        if let Some(s) = &self.sqlite {
            s.close();
        }
    }

    /// The state directory's CA path, when the lab keeps state.
    pub fn ca_path(&self) -> &Path {
        &self.ca_cert
    }
}

fn clock_meta(clock: &Clock) -> Vec<(String, String)> {
    vec![
        (META_CLOCK.to_string(), clock.now().0.to_string()),
        (
            META_OFFSET.to_string(),
            clock.offset().as_secs().to_string(),
        ),
    ]
}

async fn commit_meta(store: &Arc<dyn Store>, meta: Vec<(String, String)>) -> Result<(), String> {
    let rx = store.commit(Batch {
        meta,
        ..Batch::default()
    });
    match rx.await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("the store's writer has stopped".into()),
    }
}

/// How long (real time) the lab waits for each agent's registration and first poll.
const AGENT_READY_SECS: u64 = 30;

/// Each domain's in-process agents, configured against the cloud just started; none runs yet.
#[allow(clippy::too_many_arguments)]
fn agent_handles(
    domains: &[BuiltDomain],
    endpoints: &[DcEndpoint],
    cloud: &crate::cloud::CloudRun,
    spec: &LabSpec,
    seed: u64,
    clock: &Clock,
    creds: &Credentials,
    ca: &LabCa,
    dir: &Path,
    tuning: AgentTuning,
    net: &AnyNet,
    stop: &CancellationToken,
) -> Vec<AgentRun> {
    use crate::spec::Engine;
    let mut runs = Vec::new();
    for d in domains {
        let engine = match d.spec.engine {
            Engine::CloudSync => wire::types::Engine::CloudSync,
            Engine::ConnectSync => wire::types::Engine::ConnectSync,
        };
        let account = match d.spec.engine {
            Engine::CloudSync => format!("{}\\provAgentgMSA$", d.spec.netbios),
            Engine::ConnectSync => format!("{}\\{}", d.spec.netbios, populate::CONNECT_ACCOUNT),
        };
        // The domain's DCs, PDC emulator first (spec order puts DC1, the PDC, first).
        let mut dcs: Vec<&DcEndpoint> = endpoints
            .iter()
            .filter(|e| e.domain == d.spec.dns)
            .collect();
        dcs.sort_by_key(|e| !e.dc.pdc);
        let dcs: Vec<agent::worker::DcAddr> = dcs
            .iter()
            .map(|e| agent::worker::DcAddr {
                addr: e.ldaps,
                host: e.dc.host.clone(),
            })
            .collect();
        for index in 0..d.spec.agents {
            let mut config = agent::AgentConfig::new(
                &d.spec.dns,
                engine,
                &format!("https://{}/relay/v1", cloud.https),
                &format!(
                    "https://{}/{}/oauth2/v2.0/token",
                    cloud.https, spec.tenant.name
                ),
                &spec.tenant.name,
                secrecy::SecretString::from(creds.admin.clone()),
                dcs.clone(),
                &account,
                secrecy::SecretString::from(creds.service.clone()),
                ca.cert_pem(),
                seed,
                index,
            );
            config.ldap_timeout = tuning.ldap_timeout;
            config.poll_wait = tuning.poll_wait;
            config.http_timeout = tuning.http_timeout;
            config.state_file = Some(
                dir.join("agents")
                    .join(format!("{}-{index}.json", d.spec.dns)),
            );
            // The agent's event log (the product's event IDs, one JSON object per line).
            config.event_log = Some(
                dir.join("events")
                    .join(format!("agent-{}-{index}.jsonl", d.spec.dns)),
            );
            let (_, rx) = tokio::sync::watch::channel(agent::AgentStatus::default());
            runs.push(AgentRun {
                domain: d.spec.dns.clone(),
                engine: d.spec.engine,
                index,
                net: net.as_host(&format!("{}/agent{}", d.spec.dns, index + 1)),
                clock: clock.clone(),
                lab_stop: stop.clone(),
                slot: Arc::new(std::sync::Mutex::new(AgentSlot {
                    config,
                    status: rx,
                    run: None,
                })),
            });
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_tuning_defaults_are_the_agents_own() {
        let c = agent::AgentConfig::new(
            "contoso.lab",
            wire::types::Engine::CloudSync,
            "https://127.0.0.1:1/relay/v1",
            "https://127.0.0.1:1/t/oauth2/v2.0/token",
            "t",
            secrecy::SecretString::from(String::new()),
            Vec::new(),
            "CONTOSO\\provAgentgMSA$",
            secrecy::SecretString::from(String::new()),
            "",
            1,
            0,
        );
        let t = AgentTuning::default();
        assert_eq!(
            (t.ldap_timeout, t.poll_wait, t.http_timeout),
            (c.ldap_timeout, c.poll_wait, c.http_timeout)
        );
    }
}
