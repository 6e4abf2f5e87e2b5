//! The cloud side of the relay (DESIGN §4 "The relay", the protocol of the `wire` crate): the
//! registry of agents, the per-domain cloud sync writeback flags, and the writeback jobs from
//! submission to their result.
//!
//! # A job's life
//! ```text
//! submit ──► queued ──poll──► offered (attempt n) ──ack──► acked ──result──► done (JobResult)
//!              ▲                  │
//!              └── connection dropped before the ack, or no ack within ACK_TIMEOUT_MS
//! any state but done ──deadline──► done (Outcome::DeadlineExceeded, SSPR_0030)
//! ```
//! - **Submit** ([`Relay::submit`]) refuses up front when the domain has no healthy agent
//!   ([`SubmitError::NoHealthyAgent`], the cloud's SSPR_0030). The job waits in its domain's
//!   queue, oldest first; the submitter holds a oneshot receiver for the final [`JobResult`].
//! - **Offer** ([`Relay::poll`]): the first healthy agent of the domain to poll takes it. The
//!   secrets are sealed at that moment to *that* agent's key ([`wire::seal::seal`], drawing from
//!   the relay's seeded stream) and `attempt` goes up by one.
//! - **Re-offer.** Both triggers of the contract are modelled. (1) An offer made through
//!   [`Relay::poll_on`] is bound to the [`Connection`] the poll arrived on; when every clone of
//!   that `Connection` is dropped (the HTTP connection closed) its unacked jobs go back to the
//!   queue at once. The router does this when the server puts a `Connection` in each request's
//!   extensions (see [`Relay::connection`]). (2) Every offer also has an ack timer of
//!   [`wire::types::ACK_TIMEOUT_MS`] (configurable, [`RelayConfig::ack_timeout`]): an offer not
//!   acked by then goes back to the queue even when its connection stays open (and this is the
//!   only trigger for offers made without a `Connection`). A re-queued job keeps its place
//!   (oldest first) and the next offer carries `attempt + 1`, re-sealed to whichever agent takes
//!   it.
//! - **Ack** ([`Relay::ack`]): from then on the job is that agent's and is never offered again;
//!   the plaintext secrets are dropped. They live only in memory, only while the job may still be
//!   (re-)sealed, and are never logged or persisted.
//! - **Result** ([`Relay::result`]): the first result of the acking agent is final; repeats get
//!   `duplicate: true`; a result after the deadline is kept for the audit trail with `late: true`.
//! - **Deadline**: an acked job with no result, or a job never acked, fails at its deadline with
//!   [`Outcome::DeadlineExceeded`]. Timers (deadlines, ack timers, the retention of finished
//!   jobs) fire in [`Relay::tick`], which [`Relay::run`] calls on the lab clock; every agent-side
//!   call also applies the timers that are due first, so an answer never contradicts the clock.
//!   A finished job is kept for [`RelayConfig::done_retention`] (then `job` and late results see
//!   404).
//!
//! # Health
//! An agent is healthy while it has a poll open, or when its last poll began or ended within
//! [`RelayConfig::healthy_window`] (default 60 s of lab time).
//!
//! # Determinism and secrets
//! All time is the lab clock's; job ids and sealing draw from `runtime::stream(seed,
//! "fake-cloud/relay")`, agent ids and secrets from `"fake-cloud/relay/agents"` (so job traffic
//! never changes an agent's identity). Maps that are iterated are `BTreeMap`/`BTreeSet`; the job
//! table is a `HashMap` used for lookups only. Each job has a `tracing` span (`relay_job`, with
//! its id, domain and kind) and one event per hop; none carries a password. The cloud stores an
//! agent's [`wire::auth::secret_verifier`], never its secret.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Extension, Json, Router};
use rand_chacha::ChaCha8Rng;
use runtime::{Clock, LabTime, Seed};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use wire::auth::{AgentCredential, secret_verifier};
use wire::routes::{self, Route};
use wire::seal::{self, MAX_PASSWORD_BYTES, Secrets};
use wire::types::{
    ACK_TIMEOUT_MS, AckRequest, AckResponse, Engine, ErrorCode, Invalid, Job, JobId, JobKind,
    JobResult, Outcome, PollRequest, PollResponse, RegisterRequest, RegisterResponse, RelayError,
    ResultResponse, SetWritebackRequest, Target, WritebackState,
};

/// An agent's id, as minted at registration.
pub type AgentId = Uuid;

/// Checks the `Authorization` header of an admin route ([`routes::SET_WRITEBACK`],
/// [`routes::REGISTER_AGENT`]) for the role that route needs: `Err` with
/// [`ErrorCode::Unauthorized`] (no or bad token) or [`ErrorCode::Forbidden`] (wrong role).
pub type AdminAuth = Arc<dyn Fn(&HeaderMap, &Route) -> Result<(), RelayError> + Send + Sync>;

/// The relay's knobs.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// How long after its last poll an agent still counts as healthy (default 60 s).
    pub healthy_window: Duration,
    /// How long an offer waits for its ack before the job is offered again (default
    /// [`ACK_TIMEOUT_MS`]).
    pub ack_timeout: Duration,
    /// How long a finished job stays queryable (and answers repeated results) (default 1 h).
    pub done_retention: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            healthy_window: Duration::from_secs(60),
            ack_timeout: Duration::from_millis(ACK_TIMEOUT_MS),
            done_retention: Duration::from_secs(3600),
        }
    }
}

/// A registered agent, as the rest of fake-cloud sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgentInfo {
    /// Its id.
    pub id: AgentId,
    /// The domain it serves, lower case.
    pub domain: String,
    /// Its engine.
    pub engine: Engine,
    /// Its version, as it registered.
    pub version: String,
    /// Its X25519 public key, standard base64.
    pub public_key: String,
    /// When it registered.
    pub registered_at: LabTime,
    /// When a poll of it last began or ended; `None` before its first poll.
    pub last_poll: Option<LabTime>,
    /// Whether it has a poll open now.
    pub polling: bool,
    /// Whether it counts as healthy now (polling, or polled within the window).
    pub healthy: bool,
}

/// What to persist about an agent so a restarted relay knows it ([`Relay::restore_agent`]):
/// its identity and the verifier of its secret, never the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AgentRecord {
    /// Its id.
    pub id: AgentId,
    /// The domain it serves, lower case.
    pub domain: String,
    /// Its engine.
    pub engine: Engine,
    /// Its version.
    pub version: String,
    /// Its X25519 public key, standard base64.
    pub public_key: String,
    /// [`wire::auth::secret_verifier`] of its secret.
    pub verifier: [u8; 32],
    /// When it registered.
    pub registered_at: LabTime,
}

/// A writeback job to hand to an agent of the target's domain.
#[derive(Debug)]
pub struct JobSpec {
    /// What to do.
    pub kind: JobKind,
    /// Whom to do it to; `target.domain` picks the agents.
    pub target: Target,
    /// The new password (and for a change the old one); `None` only for [`JobKind::Unlock`].
    pub secrets: Option<Secrets>,
    /// Whether to write lockoutTime = 0 too.
    pub unlock: bool,
    /// Whether to set pwdLastSet = 0.
    pub must_change: bool,
    /// When the cloud stops waiting (lab time; kept to the millisecond).
    pub deadline: LabTime,
}

/// A submitted job: its id and where its final result arrives (exactly once: the agent's first
/// result, or [`Outcome::DeadlineExceeded`]).
#[derive(Debug)]
pub struct Submitted {
    /// The job's id.
    pub job_id: JobId,
    /// The final result.
    pub result: oneshot::Receiver<JobResult>,
}

/// Why [`Relay::submit`] refused a job.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// No agent of the domain is healthy: the cloud answers SSPR_0030 without queueing.
    #[error("no healthy agent for {0}")]
    NoHealthyAgent(String),
    /// The relay does not know the domain.
    #[error("unknown domain {0}")]
    UnknownDomain(String),
    /// The spec breaks the contract (secrets vs kind, flags, password length).
    #[error("invalid job: {0}")]
    Invalid(Invalid),
    /// The deadline is not in the future.
    #[error("the deadline has already passed")]
    DeadlinePassed,
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobPhase {
    /// Waiting for a poll (new, or offered before and not acked).
    Queued,
    /// Offered to an agent, not yet acked.
    Offered,
    /// Acked by an agent, no result yet.
    Acked,
    /// Finished: [`JobStatus::result`] holds the final result.
    Done,
}

/// A job as the rest of fake-cloud sees it (no secrets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JobStatus {
    /// Its id.
    pub job_id: JobId,
    /// Its domain.
    pub domain: String,
    /// What it does.
    pub kind: JobKind,
    /// Whom to.
    pub target: Target,
    /// Where it is.
    pub phase: JobPhase,
    /// The latest offer's attempt number (0 before the first offer).
    pub attempt: u32,
    /// The agent it is offered to (phase offered), or that acked it.
    pub agent: Option<AgentId>,
    /// When it was submitted.
    pub submitted_at: LabTime,
    /// When the latest offer was made.
    pub offered_at: Option<LabTime>,
    /// When it was acked.
    pub acked_at: Option<LabTime>,
    /// When it finished.
    pub done_at: Option<LabTime>,
    /// Its deadline.
    pub deadline: LabTime,
    /// The final result, once done.
    pub result: Option<JobResult>,
    /// A result the agent posted after the deadline, kept for the audit trail.
    pub late_result: Option<JobResult>,
}

/// One HTTP connection an agent polls on. Create one per accepted connection
/// ([`Relay::connection`]) and put a clone in every request's extensions (for instance
/// `router.clone().layer(Extension(conn))` for that connection's service); offers made on it stay
/// bound to it, and when the last clone drops, its unacked jobs are offered again.
#[derive(Clone, Debug)]
pub struct Connection {
    inner: Arc<ConnInner>,
}

#[derive(Debug)]
struct ConnInner {
    id: u64,
    relay: Weak<Inner>,
    offered: Mutex<Vec<JobId>>,
}

impl Drop for ConnInner {
    fn drop(&mut self) {
        let offered = std::mem::take(self.offered.get_mut().unwrap_or_else(|e| e.into_inner()));
        if let Some(inner) = self.relay.upgrade() {
            Relay { inner }.connection_closed(self.id, offered);
        }
    }
}

/// The cloud side of the relay. Cheap to clone; clones share the state.
#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").finish_non_exhaustive()
    }
}

struct Inner {
    clock: Clock,
    config: RelayConfig,
    state: Mutex<Shared>,
    /// Wakes [`Relay::run`] when a timer earlier than all others is added.
    timers_changed: Notify,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("relay::Inner").finish_non_exhaustive()
    }
}

struct Shared {
    /// Job ids and sealing.
    rng: ChaCha8Rng,
    /// Agent ids and secrets.
    agent_rng: ChaCha8Rng,
    domains: BTreeMap<String, Domain>,
    agents: BTreeMap<AgentId, Agent>,
    keys: BTreeMap<[u8; 32], AgentId>,
    /// Lookups only, never iterated.
    jobs: HashMap<JobId, JobEntry>,
    deadlines: BTreeSet<(LabTime, JobId)>,
    ack_timers: BTreeSet<(LabTime, JobId)>,
    expiries: BTreeSet<(LabTime, JobId)>,
    next_seq: u64,
    next_conn: u64,
}

impl Shared {
    fn earliest(&self) -> Option<LabTime> {
        [
            self.deadlines.first().map(|(t, _)| *t),
            self.ack_timers.first().map(|(t, _)| *t),
            self.expiries.first().map(|(t, _)| *t),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// The locked state; see [`Relay::state`].
struct Locked<'a> {
    guard: MutexGuard<'a, Shared>,
    before: Option<LabTime>,
    wake: &'a Notify,
}

impl std::ops::Deref for Locked<'_> {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.guard
    }
}

impl std::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut Shared {
        &mut self.guard
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let earlier = match (self.before, self.guard.earliest()) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(before), Some(after)) => after < before,
        };
        if earlier {
            self.wake.notify_one();
        }
    }
}

struct Domain {
    engine: Engine,
    writeback: bool,
    /// Queued jobs by submission order.
    queue: BTreeMap<u64, JobId>,
    /// Wakes the domain's open polls when a job is queued.
    notify: Arc<Notify>,
}

struct Agent {
    record: AgentRecord,
    public: [u8; 32],
    active_polls: u32,
    last_poll: Option<LabTime>,
}

enum Phase {
    Queued,
    Offered {
        agent: AgentId,
        conn: Option<u64>,
        ack_by: LabTime,
    },
    Acked {
        agent: AgentId,
    },
    Done {
        /// Set when the deadline decided the job.
        by_deadline: bool,
    },
}

struct JobEntry {
    id: JobId,
    seq: u64,
    domain: String,
    kind: JobKind,
    target: Target,
    unlock: bool,
    must_change: bool,
    deadline: LabTime,
    submitted_at: LabTime,
    /// The plaintext secrets, until the job is acked or done.
    secrets: Option<Secrets>,
    attempt: u32,
    /// Every offer made: (agent, attempt).
    offers: Vec<(AgentId, u32)>,
    phase: Phase,
    /// The acking agent and attempt.
    acked: Option<(AgentId, u32)>,
    offered_at: Option<LabTime>,
    acked_at: Option<LabTime>,
    done_at: Option<LabTime>,
    result: Option<JobResult>,
    late_result: Option<JobResult>,
    waiter: Option<oneshot::Sender<JobResult>>,
    span: tracing::Span,
}

fn err(code: ErrorCode, message: impl Into<String>) -> RelayError {
    RelayError {
        code,
        message: message.into(),
    }
}

fn bad(e: Invalid) -> RelayError {
    err(ErrorCode::BadRequest, e.to_string())
}

fn ms(t: LabTime) -> u64 {
    t.0 / 1_000_000
}

impl Relay {
    /// A relay on `clock`, drawing from `seed`'s relay streams. It knows no domain yet
    /// ([`Relay::add_domain`]).
    pub fn new(clock: Clock, seed: Seed, config: RelayConfig) -> Self {
        Relay {
            inner: Arc::new(Inner {
                clock,
                config,
                state: Mutex::new(Shared {
                    rng: runtime::stream(seed, "fake-cloud/relay"),
                    agent_rng: runtime::stream(seed, "fake-cloud/relay/agents"),
                    domains: BTreeMap::new(),
                    agents: BTreeMap::new(),
                    keys: BTreeMap::new(),
                    jobs: HashMap::new(),
                    deadlines: BTreeSet::new(),
                    ack_timers: BTreeSet::new(),
                    expiries: BTreeSet::new(),
                    next_seq: 0,
                    next_conn: 0,
                }),
                timers_changed: Notify::new(),
            }),
        }
    }

    /// The lab clock the relay reads.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The state, locked. When the lock is released with a timer earlier than every timer
    /// before, [`Relay::run`] is woken to sleep until it instead.
    fn state(&self) -> Locked<'_> {
        let guard = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        let before = guard.earliest();
        Locked {
            guard,
            before,
            wake: &self.inner.timers_changed,
        }
    }

    fn now(&self) -> LabTime {
        self.inner.clock.now()
    }

    // ---------------------------------------------------------------------------------------
    // Domains and the writeback flag

    /// Makes `domain` known, synced by `engine`, with its writeback flag off. Adding it again
    /// changes the engine and keeps the flag.
    pub fn add_domain(&self, domain: &str, engine: Engine) {
        let mut st = self.state();
        st.domains
            .entry(domain.to_ascii_lowercase())
            .and_modify(|d| d.engine = engine)
            .or_insert_with(|| Domain {
                engine,
                writeback: false,
                queue: BTreeMap::new(),
                notify: Arc::new(Notify::new()),
            });
    }

    /// The known domains and their engines.
    pub fn domains(&self) -> Vec<(String, Engine)> {
        let st = self.state();
        st.domains
            .iter()
            .map(|(n, d)| (n.clone(), d.engine))
            .collect()
    }

    /// Sets the domain's cloud sync writeback flag; 404 for an unknown domain.
    pub fn set_writeback(&self, domain: &str, enabled: bool) -> Result<WritebackState, RelayError> {
        let name = domain.to_ascii_lowercase();
        let mut st = self.state();
        let d = st
            .domains
            .get_mut(&name)
            .ok_or_else(|| err(ErrorCode::NotFound, format!("unknown domain `{name}`")))?;
        d.writeback = enabled;
        tracing::info!(domain = %name, enabled, "relay: writeback flag set");
        Ok(WritebackState {
            domain: name,
            enabled,
        })
    }

    /// The domain's cloud sync writeback flag (false for an unknown domain).
    pub fn writeback(&self, domain: &str) -> bool {
        self.state()
            .domains
            .get(&domain.to_ascii_lowercase())
            .is_some_and(|d| d.writeback)
    }

    // ---------------------------------------------------------------------------------------
    // Agents

    /// Registers an agent (the caller has checked the admin token): 400 for a bad field or an
    /// engine other than the domain's, 404 for an unknown domain, 409 for a key already
    /// registered. The secret is in the answer only; the relay keeps its verifier.
    pub fn register(&self, req: &RegisterRequest) -> Result<RegisterResponse, RelayError> {
        let public = req.validate().map_err(bad)?;
        let domain = req.domain.to_ascii_lowercase();
        let now = self.now();
        let mut st = self.state();
        let d = st
            .domains
            .get(&domain)
            .ok_or_else(|| err(ErrorCode::NotFound, format!("unknown domain `{domain}`")))?;
        if d.engine != req.engine {
            return Err(err(
                ErrorCode::BadRequest,
                format!(
                    "engine: `{domain}` is synced by {}, not {}",
                    d.engine.as_str(),
                    req.engine.as_str()
                ),
            ));
        }
        if st.keys.contains_key(&public) {
            return Err(err(
                ErrorCode::Conflict,
                "public_key: already registered by another agent",
            ));
        }
        let id = runtime::uuid_from(&mut st.agent_rng);
        let secret = AgentCredential::generate_secret(&mut st.agent_rng);
        let record = AgentRecord {
            id,
            domain: domain.clone(),
            engine: req.engine,
            version: req.version.clone(),
            public_key: req.public_key.clone(),
            verifier: secret_verifier(secret.expose_secret()),
            registered_at: now,
        };
        st.keys.insert(public, id);
        st.agents.insert(
            id,
            Agent {
                record,
                public,
                active_polls: 0,
                last_poll: None,
            },
        );
        tracing::info!(agent = %id, domain = %domain, engine = req.engine.as_str(), version = %req.version, "relay: agent registered");
        Ok(RegisterResponse {
            agent_id: id,
            secret,
            domain,
            engine: req.engine,
        })
    }

    /// Every agent, as persisted ([`Relay::restore_agent`]), in id order.
    pub fn agent_records(&self) -> Vec<AgentRecord> {
        self.state()
            .agents
            .values()
            .map(|a| a.record.clone())
            .collect()
    }

    /// Makes a persisted agent known again (after a restart); 400 for a bad key, 404 for an
    /// unknown domain, 409 for an id or key already known.
    pub fn restore_agent(&self, record: AgentRecord) -> Result<(), RelayError> {
        let public = seal::decode_public_key(&record.public_key).map_err(bad)?;
        let mut st = self.state();
        if !st.domains.contains_key(&record.domain) {
            return Err(err(
                ErrorCode::NotFound,
                format!("unknown domain `{}`", record.domain),
            ));
        }
        if st.agents.contains_key(&record.id) || st.keys.contains_key(&public) {
            return Err(err(ErrorCode::Conflict, "agent already known"));
        }
        // Skip the draws this agent's registration made, so the next registration after a
        // restart gets a fresh id and secret instead of repeating the first one's.
        let _ = runtime::uuid_from(&mut st.agent_rng);
        let _ = AgentCredential::generate_secret(&mut st.agent_rng);
        st.keys.insert(public, record.id);
        st.agents.insert(
            record.id,
            Agent {
                record,
                public,
                active_polls: 0,
                last_poll: None,
            },
        );
        Ok(())
    }

    /// The agent whose credential is in `authorization` (the `Authorization` header's value):
    /// 401 when it is missing, malformed, unknown or wrong. Never quotes the secret.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<AgentId, RelayError> {
        let value = authorization.ok_or_else(|| {
            err(
                ErrorCode::Unauthorized,
                "authorization: missing (expected `Agent <agent id>.<secret>`)",
            )
        })?;
        let cred = AgentCredential::parse_header(value)
            .map_err(|e| err(ErrorCode::Unauthorized, e.to_string()))?;
        let st = self.state();
        match st.agents.get(&cred.agent_id) {
            Some(a) if cred.verify(&a.record.verifier) => Ok(cred.agent_id),
            _ => Err(err(
                ErrorCode::Unauthorized,
                "authorization: unknown agent or wrong secret",
            )),
        }
    }

    fn info(&self, a: &Agent, now: LabTime) -> AgentInfo {
        AgentInfo {
            id: a.record.id,
            domain: a.record.domain.clone(),
            engine: a.record.engine,
            version: a.record.version.clone(),
            public_key: a.record.public_key.clone(),
            registered_at: a.record.registered_at,
            last_poll: a.last_poll,
            polling: a.active_polls > 0,
            healthy: self.is_healthy(a, now),
        }
    }

    fn is_healthy(&self, a: &Agent, now: LabTime) -> bool {
        a.active_polls > 0
            || a.last_poll
                .is_some_and(|t| now <= t.plus(self.inner.config.healthy_window))
    }

    /// Every agent, in id order.
    pub fn agents(&self) -> Vec<AgentInfo> {
        let now = self.now();
        let st = self.state();
        st.agents.values().map(|a| self.info(a, now)).collect()
    }

    /// The domain's healthy agents now, in id order.
    pub fn healthy_agents(&self, domain: &str) -> Vec<AgentInfo> {
        let domain = domain.to_ascii_lowercase();
        let now = self.now();
        let st = self.state();
        st.agents
            .values()
            .filter(|a| a.record.domain == domain && self.is_healthy(a, now))
            .map(|a| self.info(a, now))
            .collect()
    }

    // ---------------------------------------------------------------------------------------
    // Jobs

    /// Queues a job for the target's domain. Refused with [`SubmitError::NoHealthyAgent`] when
    /// the domain has no healthy agent. (The writeback flag is the caller's decision: it
    /// applies to cloud sync domains only.)
    pub fn submit(&self, spec: JobSpec) -> Result<Submitted, SubmitError> {
        let JobSpec {
            kind,
            mut target,
            secrets,
            unlock,
            must_change,
            deadline,
        } = spec;
        target.domain = target.domain.to_ascii_lowercase();
        let invalid = |field, problem| SubmitError::Invalid(Invalid { field, problem });
        match (&secrets, kind.carries_password()) {
            (None, true) => return Err(invalid("secrets", "this kind carries a password")),
            (Some(_), false) => return Err(invalid("secrets", "an unlock carries no password")),
            (Some(s), true) => {
                kind.check_secrets(s).map_err(SubmitError::Invalid)?;
                let too_long = |p: &SecretString| p.expose_secret().len() > MAX_PASSWORD_BYTES;
                if too_long(&s.new_password) || s.old_password.as_ref().is_some_and(too_long) {
                    return Err(invalid("secrets", "a password is longer than 1024 bytes"));
                }
            }
            (None, false) => {}
        }
        if kind == JobKind::Unlock && (!unlock || must_change) {
            return Err(invalid(
                "unlock",
                "an unlock sets unlock and not must_change",
            ));
        }
        let deadline = LabTime(ms(deadline) * 1_000_000);
        let now = self.now();
        if deadline <= now {
            return Err(SubmitError::DeadlinePassed);
        }
        let mut st = self.state();
        let Some(d) = st.domains.get(&target.domain) else {
            return Err(SubmitError::UnknownDomain(target.domain));
        };
        let notify = d.notify.clone();
        let healthy = st
            .agents
            .values()
            .any(|a| a.record.domain == target.domain && self.is_healthy(a, now));
        if !healthy {
            return Err(SubmitError::NoHealthyAgent(target.domain));
        }
        let id = JobId::from_uuid(runtime::uuid_from(&mut st.rng));
        let seq = st.next_seq;
        st.next_seq += 1;
        let span = tracing::info_span!("relay_job", job_id = %id, domain = %target.domain, kind = kind.as_str());
        span.in_scope(|| tracing::info!(deadline = %deadline.rfc3339(), "relay: job queued"));
        let (tx, rx) = oneshot::channel();
        let domain = target.domain.clone();
        st.jobs.insert(
            id.clone(),
            JobEntry {
                id: id.clone(),
                seq,
                domain: domain.clone(),
                kind,
                target,
                unlock,
                must_change,
                deadline,
                submitted_at: now,
                secrets,
                attempt: 0,
                offers: Vec::new(),
                phase: Phase::Queued,
                acked: None,
                offered_at: None,
                acked_at: None,
                done_at: None,
                result: None,
                late_result: None,
                waiter: Some(tx),
                span,
            },
        );
        if let Some(d) = st.domains.get_mut(&domain) {
            d.queue.insert(seq, id.clone());
        }
        st.deadlines.insert((deadline, id.clone()));
        drop(st);
        notify.notify_waiters();
        Ok(Submitted {
            job_id: id,
            result: rx,
        })
    }

    /// A job's status, while the relay keeps it.
    pub fn job(&self, id: &JobId) -> Option<JobStatus> {
        let st = self.state();
        let j = st.jobs.get(id)?;
        let (phase, agent) = match &j.phase {
            Phase::Queued => (JobPhase::Queued, None),
            Phase::Offered { agent, .. } => (JobPhase::Offered, Some(*agent)),
            Phase::Acked { agent } => (JobPhase::Acked, Some(*agent)),
            Phase::Done { .. } => (JobPhase::Done, j.acked.map(|(a, _)| a)),
        };
        Some(JobStatus {
            job_id: j.id.clone(),
            domain: j.domain.clone(),
            kind: j.kind,
            target: j.target.clone(),
            phase,
            attempt: j.attempt,
            agent,
            submitted_at: j.submitted_at,
            offered_at: j.offered_at,
            acked_at: j.acked_at,
            done_at: j.done_at,
            deadline: j.deadline,
            result: j.result.clone(),
            late_result: j.late_result.clone(),
        })
    }

    // ---------------------------------------------------------------------------------------
    // Agent side

    /// A new connection handle; see [`Connection`].
    pub fn connection(&self) -> Connection {
        let id = {
            let mut st = self.state();
            st.next_conn += 1;
            st.next_conn
        };
        Connection {
            inner: Arc::new(ConnInner {
                id,
                relay: Arc::downgrade(&self.inner),
                offered: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The agent's long-poll, with offers bound to no connection (only the ack timer re-offers
    /// them). See [`Relay::poll_on`].
    pub async fn poll(&self, agent: AgentId, req: PollRequest) -> Result<PollResponse, RelayError> {
        self.poll_on(agent, req, None).await
    }

    /// The agent's long-poll: answers as soon as jobs of its domain are queued (up to
    /// `max_jobs`, oldest first, each sealed to this agent's key), or with none once `wait_ms`
    /// of lab time has passed. Offers are bound to `conn` when given. 400 for bad bounds, 401
    /// for an unknown agent. While it waits, the agent counts as polling (healthy).
    pub async fn poll_on(
        &self,
        agent: AgentId,
        req: PollRequest,
        conn: Option<&Connection>,
    ) -> Result<PollResponse, RelayError> {
        req.validate().map_err(bad)?;
        let start = self.now();
        let notify = {
            let mut st = self.state();
            let domain = agent_domain(&st, agent)?;
            let notify = st
                .domains
                .get(&domain)
                .map(|d| d.notify.clone())
                .ok_or_else(|| err(ErrorCode::NotFound, format!("unknown domain `{domain}`")))?;
            if let Some(a) = st.agents.get_mut(&agent) {
                a.active_polls += 1;
                a.last_poll = Some(start);
            }
            notify
        };
        let _polling = PollGuard {
            relay: self.clone(),
            agent,
        };
        let until = start.plus(Duration::from_millis(req.wait_ms));
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = self.now();
            let jobs = self.take(agent, req.max_jobs as usize, now, conn);
            if !jobs.is_empty() || now >= until {
                return Ok(PollResponse {
                    jobs,
                    now_ms: ms(now),
                });
            }
            tokio::select! {
                biased;
                _ = &mut notified => {}
                _ = self.inner.clock.sleep_until(until) => {}
            }
        }
    }

    /// Takes up to `max` queued jobs of the agent's domain and offers them to it.
    fn take(
        &self,
        agent: AgentId,
        max: usize,
        now: LabTime,
        conn: Option<&Connection>,
    ) -> Vec<Job> {
        let mut st = self.state();
        self.expire(&mut st, now);
        let st = &mut *st;
        let Some(a) = st.agents.get(&agent) else {
            return Vec::new();
        };
        let public = a.public;
        let Some(d) = st.domains.get_mut(&a.record.domain) else {
            return Vec::new();
        };
        let ack_by = now.plus(self.inner.config.ack_timeout);
        let mut jobs = Vec::new();
        let mut offered_ids = Vec::new();
        while jobs.len() < max {
            let Some((_, id)) = d.queue.pop_first() else {
                break;
            };
            let Some(j) = st.jobs.get_mut(&id) else {
                continue;
            };
            let sealed = match &j.secrets {
                None => None,
                Some(s) => match seal::seal(&public, id.as_str(), s, &mut st.rng) {
                    Ok(sealed) => Some(sealed),
                    Err(e) => {
                        // Cannot happen for a validated spec and a registered key; fail the job
                        // rather than offer it unsealed.
                        j.span
                            .in_scope(|| tracing::error!(error = %e, "relay: sealing failed"));
                        let result = JobResult::new(id.clone(), j.kind, Outcome::Internal);
                        finish(j, result, now, false);
                        st.deadlines.remove(&(j.deadline, id.clone()));
                        st.expiries
                            .insert((now.plus(self.inner.config.done_retention), id.clone()));
                        continue;
                    }
                },
            };
            j.attempt += 1;
            j.offers.push((agent, j.attempt));
            j.offered_at = Some(now);
            j.phase = Phase::Offered {
                agent,
                conn: conn.map(|c| c.inner.id),
                ack_by,
            };
            st.ack_timers.insert((ack_by, id.clone()));
            j.span.in_scope(
                || tracing::info!(agent = %agent, attempt = j.attempt, "relay: job offered"),
            );
            jobs.push(Job {
                id: id.clone(),
                kind: j.kind,
                target: j.target.clone(),
                sealed,
                unlock: j.unlock,
                must_change: j.must_change,
                deadline_ms: ms(j.deadline),
                attempt: j.attempt,
            });
            offered_ids.push(id);
        }
        if let Some(c) = conn
            && !offered_ids.is_empty()
        {
            let mut offered = c.inner.offered.lock().unwrap_or_else(|e| e.into_inner());
            let cid = c.inner.id;
            offered.retain(|id| {
                st.jobs.get(id).is_some_and(
                    |j| matches!(j.phase, Phase::Offered { conn: Some(c), .. } if c == cid),
                )
            });
            offered.extend(offered_ids.iter().cloned());
        }
        jobs
    }

    /// The agent takes the job before any write. 403: a job of another domain; 404: unknown, or
    /// never offered to this agent; 409: offered again since (a newer attempt) or acked by
    /// another agent; 410: the deadline has passed. Repeating an ack answers 200 again.
    pub fn ack(
        &self,
        agent: AgentId,
        job_id: &JobId,
        req: AckRequest,
    ) -> Result<AckResponse, RelayError> {
        let now = self.now();
        let mut st = self.state();
        self.expire(&mut st, now);
        let st = &mut *st;
        let domain = agent_domain(st, agent)?;
        let j = st
            .jobs
            .get_mut(job_id)
            .ok_or_else(|| err(ErrorCode::NotFound, format!("unknown job `{job_id}`")))?;
        if j.domain != domain {
            return Err(err(
                ErrorCode::Forbidden,
                format!("job `{job_id}` belongs to another domain's agents"),
            ));
        }
        if !j.offers.iter().any(|(a, _)| *a == agent) {
            return Err(err(
                ErrorCode::NotFound,
                format!("job `{job_id}` was never offered to this agent"),
            ));
        }
        let answer = AckResponse {
            job_id: job_id.clone(),
            attempt: req.attempt,
            deadline_ms: ms(j.deadline),
        };
        if j.acked == Some((agent, req.attempt)) {
            if matches!(j.phase, Phase::Done { by_deadline: true }) {
                return Err(err(ErrorCode::Gone, "the job's deadline has passed"));
            }
            return Ok(answer); // a repeat
        }
        if matches!(j.phase, Phase::Done { by_deadline: true }) && j.acked.is_none() {
            return Err(err(ErrorCode::Gone, "the job's deadline has passed"));
        }
        if j.acked.is_some() {
            return Err(err(
                ErrorCode::Conflict,
                "the job was acked by another offer",
            ));
        }
        if req.attempt != j.attempt || j.offers.last() != Some(&(agent, req.attempt)) {
            return Err(err(
                ErrorCode::Conflict,
                format!(
                    "attempt: {} is not the job's latest offer to this agent (latest attempt {})",
                    req.attempt, j.attempt
                ),
            ));
        }
        match j.phase {
            Phase::Offered { ack_by, .. } => {
                st.ack_timers.remove(&(ack_by, job_id.clone()));
            }
            Phase::Queued => {
                // Re-queued (its connection dropped or the ack timer ran out) but not offered
                // again yet: nobody else holds an offer, so the late ack may take it back.
                if let Some(d) = st.domains.get_mut(&j.domain) {
                    d.queue.remove(&j.seq);
                }
            }
            Phase::Acked { .. } | Phase::Done { .. } => {
                return Err(err(ErrorCode::Conflict, "the job is no longer open"));
            }
        }
        j.phase = Phase::Acked { agent };
        j.acked = Some((agent, req.attempt));
        j.acked_at = Some(now);
        j.secrets = None; // never offered again: the plaintext is no longer needed
        j.span
            .in_scope(|| tracing::info!(agent = %agent, attempt = req.attempt, "relay: job acked"));
        Ok(answer)
    }

    /// The job's outcome from the agent that acked it; idempotent by job id. 400: the body's id
    /// differs from `job_id`, or a bad field; 403: a job of another domain; 404: unknown job;
    /// 409: the job was not acked by this agent.
    pub fn result(
        &self,
        agent: AgentId,
        job_id: &JobId,
        result: JobResult,
    ) -> Result<ResultResponse, RelayError> {
        if &result.job_id != job_id {
            return Err(err(
                ErrorCode::BadRequest,
                "job_id: differs from the path's job id",
            ));
        }
        result.validate().map_err(bad)?;
        if result.outcome == Outcome::DeadlineExceeded {
            return Err(err(
                ErrorCode::BadRequest,
                "outcome: deadline_exceeded is set by the cloud, not sent by an agent",
            ));
        }
        let now = self.now();
        let mut st = self.state();
        self.expire(&mut st, now);
        let st = &mut *st;
        let domain = agent_domain(st, agent)?;
        let j = st
            .jobs
            .get_mut(job_id)
            .ok_or_else(|| err(ErrorCode::NotFound, format!("unknown job `{job_id}`")))?;
        if j.domain != domain {
            return Err(err(
                ErrorCode::Forbidden,
                format!("job `{job_id}` belongs to another domain's agents"),
            ));
        }
        if j.acked.map(|(a, _)| a) != Some(agent) {
            return Err(err(
                ErrorCode::Conflict,
                format!("job `{job_id}` was not acked by this agent"),
            ));
        }
        match j.phase {
            Phase::Acked { .. } => {
                j.span.in_scope(|| {
                    tracing::info!(agent = %agent, outcome = result.outcome.as_str(), "relay: job result")
                });
                let outcome = result.outcome;
                finish(j, result, now, false);
                st.deadlines.remove(&(j.deadline, job_id.clone()));
                st.expiries
                    .insert((now.plus(self.inner.config.done_retention), job_id.clone()));
                Ok(ResultResponse {
                    job_id: job_id.clone(),
                    outcome,
                    duplicate: false,
                    late: false,
                })
            }
            Phase::Done { by_deadline } => {
                let recorded = j.result.as_ref().map_or(Outcome::Internal, |r| r.outcome);
                let duplicate = if by_deadline {
                    let first = j.late_result.is_none();
                    if first {
                        j.span.in_scope(|| {
                            tracing::warn!(agent = %agent, outcome = result.outcome.as_str(), "relay: late result kept for audit")
                        });
                        j.late_result = Some(result);
                    }
                    !first
                } else {
                    true
                };
                Ok(ResultResponse {
                    job_id: job_id.clone(),
                    outcome: recorded,
                    duplicate,
                    late: by_deadline,
                })
            }
            Phase::Queued | Phase::Offered { .. } => Err(err(
                ErrorCode::Conflict,
                format!("job `{job_id}` was not acked by this agent"),
            )),
        }
    }

    // ---------------------------------------------------------------------------------------
    // Timers

    /// Applies every timer due at `now`: fails jobs at their deadline, offers again the jobs
    /// whose ack did not come in time, forgets finished jobs past their retention. Returns how
    /// many jobs failed or were re-queued.
    pub fn tick(&self, now: LabTime) -> usize {
        let mut st = self.state();
        self.expire(&mut st, now)
    }

    /// The earliest pending timer, if any.
    pub fn next_timer(&self) -> Option<LabTime> {
        self.state().earliest()
    }

    /// Runs the timers on the lab clock until `stop` is cancelled.
    pub async fn run(&self, stop: CancellationToken) {
        loop {
            let changed = self.inner.timers_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            self.tick(self.now());
            let next = self.next_timer();
            let sleep = async {
                match next {
                    Some(t) => self.inner.clock.sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = stop.cancelled() => return,
                _ = &mut changed => {}
                _ = sleep => {}
            }
        }
    }

    fn expire(&self, st: &mut Shared, now: LabTime) -> usize {
        let mut changed = 0;
        let mut wake = BTreeSet::new();
        let retention = self.inner.config.done_retention;
        while let Some((t, id)) = st.deadlines.first().cloned() {
            if t > now {
                break;
            }
            st.deadlines.pop_first();
            let Some(j) = st.jobs.get_mut(&id) else {
                continue;
            };
            match j.phase {
                Phase::Done { .. } => continue,
                Phase::Queued => {
                    if let Some(d) = st.domains.get_mut(&j.domain) {
                        d.queue.remove(&j.seq);
                    }
                }
                Phase::Offered { ack_by, .. } => {
                    st.ack_timers.remove(&(ack_by, id.clone()));
                }
                Phase::Acked { .. } => {}
            }
            j.span.in_scope(|| {
                tracing::warn!(
                    attempt = j.attempt,
                    acked = j.acked.is_some(),
                    "relay: job failed at its deadline"
                )
            });
            let result = JobResult::new(id.clone(), j.kind, Outcome::DeadlineExceeded);
            finish(j, result, now, true);
            st.expiries.insert((now.plus(retention), id));
            changed += 1;
        }
        while let Some((t, id)) = st.ack_timers.first().cloned() {
            if t > now {
                break;
            }
            st.ack_timers.pop_first();
            if let Some(domain) = requeue(st, &id, "no ack in time") {
                wake.insert(domain);
                changed += 1;
            }
        }
        while let Some((t, id)) = st.expiries.first().cloned() {
            if t > now {
                break;
            }
            st.expiries.pop_first();
            st.jobs.remove(&id);
        }
        for d in wake {
            if let Some(d) = st.domains.get(&d) {
                d.notify.notify_waiters();
            }
        }
        changed
    }

    fn connection_closed(&self, conn: u64, offered: Vec<JobId>) {
        let mut st = self.state();
        let mut wake = BTreeSet::new();
        for id in offered {
            let bound = st.jobs.get(&id).is_some_and(
                |j| matches!(j.phase, Phase::Offered { conn: Some(c), .. } if c == conn),
            );
            if bound && let Some(d) = requeue(&mut st, &id, "connection closed before the ack") {
                wake.insert(d);
            }
        }
        for d in wake {
            if let Some(d) = st.domains.get(&d) {
                d.notify.notify_waiters();
            }
        }
    }
}

/// Puts an offered job back in its domain's queue; returns the domain when it did.
fn requeue(st: &mut Shared, id: &JobId, why: &'static str) -> Option<String> {
    let j = st.jobs.get_mut(id)?;
    let Phase::Offered { agent, ack_by, .. } = j.phase else {
        return None;
    };
    st.ack_timers.remove(&(ack_by, id.clone()));
    j.phase = Phase::Queued;
    j.span.in_scope(|| {
        tracing::info!(agent = %agent, attempt = j.attempt, why, "relay: job re-queued for a new offer")
    });
    let d = st.domains.get_mut(&j.domain)?;
    d.queue.insert(j.seq, id.clone());
    Some(j.domain.clone())
}

/// Records the final result, drops the secrets and wakes the submitter.
fn finish(j: &mut JobEntry, result: JobResult, now: LabTime, by_deadline: bool) {
    j.phase = Phase::Done { by_deadline };
    j.done_at = Some(now);
    j.secrets = None;
    if let Some(tx) = j.waiter.take() {
        let _ = tx.send(result.clone()); // the submitter may have gone
    }
    j.result = Some(result);
}

fn agent_domain(st: &Shared, agent: AgentId) -> Result<String, RelayError> {
    st.agents
        .get(&agent)
        .map(|a| a.record.domain.clone())
        .ok_or_else(|| err(ErrorCode::Unauthorized, "unknown agent"))
}

/// Marks the end of a poll (also when its future is dropped: the client went away).
struct PollGuard {
    relay: Relay,
    agent: AgentId,
}

impl Drop for PollGuard {
    fn drop(&mut self) {
        let now = self.relay.now();
        let mut st = self.relay.state();
        if let Some(a) = st.agents.get_mut(&self.agent) {
            a.active_polls = a.active_polls.saturating_sub(1);
            a.last_poll = Some(now);
        }
    }
}

// -------------------------------------------------------------------------------------------
// HTTP

#[derive(Clone)]
struct Http {
    relay: Relay,
    admin_auth: AdminAuth,
}

struct Failure(RelayError);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(self.0)).into_response()
    }
}

impl From<RelayError> for Failure {
    fn from(e: RelayError) -> Self {
        Failure(e)
    }
}

type HttpResult<T> = Result<T, Failure>;

fn body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, RelayError> {
    let bytes = body.map_err(|e| err(ErrorCode::BadRequest, format!("body: {e}")))?;
    serde_json::from_slice(&bytes).map_err(|e| err(ErrorCode::BadRequest, format!("body: {e}")))
}

fn path_job(path: Result<Path<String>, PathRejection>) -> Result<JobId, RelayError> {
    let Path(id) = path.map_err(|e| err(ErrorCode::BadRequest, format!("path: {e}")))?;
    JobId::new(id).map_err(bad)
}

fn agent_of(http: &Http, headers: &HeaderMap) -> Result<AgentId, RelayError> {
    let value = match headers.get(wire::auth::HEADER) {
        None => None,
        Some(v) => Some(v.to_str().map_err(|_| {
            err(
                ErrorCode::Unauthorized,
                "authorization: not a valid header value",
            )
        })?),
    };
    http.relay.authenticate(value)
}

/// The five relay routes of [`wire::routes`] over `relay`: admin routes checked by
/// `admin_auth` (given the route, since registering needs a Hybrid Identity Administrator and
/// the writeback flag also a Global Administrator), agent routes by the agent credential. JSON
/// bodies that deny unknown fields (400), [`RelayError`] bodies on every error. When a
/// [`Connection`] is in the request's extensions, poll offers are bound to it.
pub fn router(relay: Relay, admin_auth: AdminAuth) -> Router {
    Router::new()
        .route(routes::SET_WRITEBACK.path, put(set_writeback_h))
        .route(routes::REGISTER_AGENT.path, post(register_h))
        .route(routes::POLL.path, post(poll_h))
        .route(routes::ACK.path, post(ack_h))
        .route(routes::RESULT.path, post(result_h))
        .with_state(Http { relay, admin_auth })
}

async fn set_writeback_h(
    State(http): State<Http>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> HttpResult<Json<WritebackState>> {
    (http.admin_auth)(&headers, &routes::SET_WRITEBACK)?;
    let Path(domain) = path.map_err(|e| err(ErrorCode::BadRequest, format!("path: {e}")))?;
    let req: SetWritebackRequest = body(raw)?;
    Ok(Json(http.relay.set_writeback(&domain, req.enabled)?))
}

async fn register_h(
    State(http): State<Http>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> HttpResult<(StatusCode, Json<RegisterResponse>)> {
    (http.admin_auth)(&headers, &routes::REGISTER_AGENT)?;
    let req: RegisterRequest = body(raw)?;
    Ok((StatusCode::CREATED, Json(http.relay.register(&req)?)))
}

async fn poll_h(
    State(http): State<Http>,
    conn: Option<Extension<Connection>>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> HttpResult<Json<PollResponse>> {
    let agent = agent_of(&http, &headers)?;
    let req: PollRequest = body(raw)?;
    let conn = conn.map(|Extension(c)| c);
    Ok(Json(http.relay.poll_on(agent, req, conn.as_ref()).await?))
}

async fn ack_h(
    State(http): State<Http>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> HttpResult<Json<AckResponse>> {
    let agent = agent_of(&http, &headers)?;
    let id = path_job(path)?;
    let req: AckRequest = body(raw)?;
    Ok(Json(http.relay.ack(agent, &id, req)?))
}

async fn result_h(
    State(http): State<Http>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> HttpResult<Json<ResultResponse>> {
    let agent = agent_of(&http, &headers)?;
    let id = path_job(path)?;
    let result: JobResult = body(raw)?;
    Ok(Json(http.relay.result(agent, &id, result)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use serde_json::{Value, json};
    use tower::ServiceExt as _;
    use wire::seal::{AgentKey, SealError};

    const T0: u64 = 1_800_000_000;
    const T0_MS: u64 = T0 * 1000;
    const PASSWORD: &str = "Lab-New-Passw0rd2";

    fn setup() -> (Clock, Relay) {
        let clock = Clock::starting_at(LabTime::from_unix_secs(T0));
        let relay = Relay::new(clock.clone(), Seed(1), RelayConfig::default());
        relay.add_domain("contoso.lab", Engine::CloudSync);
        relay.add_domain("fabrikam.lab", Engine::CloudSync);
        relay.add_domain("northwind.lab", Engine::ConnectSync);
        (clock, relay)
    }

    /// The agent side, scripted on wire's types.
    struct Scripted {
        key: AgentKey,
        id: AgentId,
        header: String,
    }

    fn register(relay: &Relay, domain: &str, n: u64) -> Scripted {
        let key = AgentKey::generate(&mut runtime::stream(Seed(n), "test/agent-key"));
        let resp = relay
            .register(&RegisterRequest {
                domain: domain.into(),
                engine: Engine::CloudSync,
                version: "0.1.0".into(),
                public_key: key.public_base64(),
            })
            .unwrap();
        assert_eq!(resp.domain, domain);
        let header = resp.credential().header_value().expose_secret().to_string();
        assert_eq!(relay.authenticate(Some(&header)).unwrap(), resp.agent_id);
        Scripted {
            key,
            id: resp.agent_id,
            header,
        }
    }

    fn target(domain: &str) -> Target {
        Target {
            domain: domain.into(),
            anchor: Uuid::from_u128(7),
            sam_account_name: Some("alice".into()),
            dn: None,
        }
    }

    fn reset(domain: &str, deadline_secs: u64) -> JobSpec {
        JobSpec {
            kind: JobKind::Reset,
            target: target(domain),
            secrets: Some(Secrets::reset(PASSWORD.into())),
            unlock: true,
            must_change: false,
            deadline: LabTime::from_unix_secs(T0 + deadline_secs),
        }
    }

    const NOW: PollRequest = PollRequest {
        max_jobs: 8,
        wait_ms: 0,
    };

    async fn poll_now(relay: &Relay, a: &Scripted) -> Vec<Job> {
        relay.poll(a.id, NOW).await.unwrap().jobs
    }

    fn ack(relay: &Relay, a: &Scripted, job: &Job) -> Result<AckResponse, RelayError> {
        relay.ack(
            a.id,
            &job.id,
            AckRequest {
                attempt: job.attempt,
            },
        )
    }

    fn succeed(relay: &Relay, a: &Scripted, job: &Job) -> Result<ResultResponse, RelayError> {
        relay.result(
            a.id,
            &job.id,
            JobResult::new(job.id.clone(), job.kind, Outcome::Succeeded),
        )
    }

    fn code<T: std::fmt::Debug>(r: Result<T, RelayError>) -> ErrorCode {
        r.unwrap_err().code
    }

    fn opened(job: &Job, key: &AgentKey) -> String {
        let secrets = job.open(key).unwrap().unwrap();
        secrets.new_password.expose_secret().to_string()
    }

    #[tokio::test(start_paused = true)]
    async fn end_to_end_over_the_api() {
        let (_clock, relay) = setup();
        let a = register(&relay, "contoso.lab", 1);
        // A long-poll is open: the agent is healthy and answered as soon as a job is queued.
        let (r2, id) = (relay.clone(), a.id);
        let poll = tokio::spawn(async move {
            r2.poll(
                id,
                PollRequest {
                    max_jobs: 1,
                    wait_ms: 25_000,
                },
            )
            .await
        });
        while relay.healthy_agents("contoso.lab").is_empty() {
            tokio::task::yield_now().await;
        }
        assert!(relay.healthy_agents("contoso.lab")[0].polling);
        let sub = relay.submit(reset("contoso.lab", 60)).unwrap();
        let resp = poll.await.unwrap().unwrap();
        assert_eq!(resp.now_ms, T0_MS, "answered on the submit, not by a timer");
        assert_eq!(resp.jobs.len(), 1);
        let job = &resp.jobs[0];
        assert_eq!(job.id, sub.job_id);
        assert_eq!(job.attempt, 1);
        assert_eq!(job.deadline_ms, T0_MS + 60_000);
        job.validate().unwrap();
        assert_eq!(relay.job(&job.id).unwrap().phase, JobPhase::Offered);
        let acked = ack(&relay, &a, job).unwrap();
        assert_eq!(acked.deadline_ms, job.deadline_ms);
        assert_eq!(opened(job, &a.key), PASSWORD);
        assert_eq!(relay.job(&job.id).unwrap().phase, JobPhase::Acked);
        let answer = succeed(&relay, &a, job).unwrap();
        assert_eq!(
            (answer.outcome, answer.duplicate, answer.late),
            (Outcome::Succeeded, false, false)
        );
        let result = sub.result.await.unwrap();
        assert_eq!(result.outcome, Outcome::Succeeded);
        assert_eq!(result.event_id, Some(31002));
        let status = relay.job(&job.id).unwrap();
        assert_eq!(status.phase, JobPhase::Done);
        assert_eq!(status.agent, Some(a.id));
        assert!(!format!("{status:?}").contains(PASSWORD));
        // The agent is still healthy after its poll ended, until the window passes.
        assert!(!relay.healthy_agents("contoso.lab")[0].polling);
    }

    #[tokio::test(start_paused = true)]
    async fn results_are_idempotent_first_wins() {
        let (_clock, relay) = setup();
        let a = register(&relay, "contoso.lab", 1);
        poll_now(&relay, &a).await;
        let sub = relay.submit(reset("contoso.lab", 60)).unwrap();
        let job = poll_now(&relay, &a).await.remove(0);
        ack(&relay, &a, &job).unwrap();
        ack(&relay, &a, &job).unwrap(); // a repeated ack is harmless
        let mut refused = JobResult::new(job.id.clone(), job.kind, Outcome::PolicyViolation);
        refused.dc = Some("dc1.contoso.lab".into());
        let first = relay.result(a.id, &job.id, refused.clone()).unwrap();
        assert_eq!(
            (first.outcome, first.duplicate, first.late),
            (Outcome::PolicyViolation, false, false)
        );
        let again = relay.result(a.id, &job.id, refused).unwrap();
        assert!(again.duplicate && !again.late);
        let other = succeed(&relay, &a, &job).unwrap();
        assert_eq!(
            other.outcome,
            Outcome::PolicyViolation,
            "the first result stays"
        );
        assert!(other.duplicate);
        assert_eq!(sub.result.await.unwrap().outcome, Outcome::PolicyViolation);
        ack(&relay, &a, &job).unwrap(); // still harmless once done
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_connection_re_offers_resealed_to_the_next_agent() {
        let (_clock, relay) = setup();
        let a = register(&relay, "contoso.lab", 1);
        let b = register(&relay, "contoso.lab", 2);
        poll_now(&relay, &a).await;
        poll_now(&relay, &b).await;
        let sub = relay.submit(reset("contoso.lab", 60)).unwrap();
        let conn = relay.connection();
        let extra = conn.clone(); // e.g. the clone in a request's extensions
        let first = relay.poll_on(a.id, NOW, Some(&conn)).await.unwrap().jobs;
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].attempt, 1);
        assert_eq!(opened(&first[0], &a.key), PASSWORD);
        drop(extra);
        assert_eq!(relay.job(&sub.job_id).unwrap().phase, JobPhase::Offered);
        drop(conn); // the connection closes before the ack
        let status = relay.job(&sub.job_id).unwrap();
        assert_eq!((status.phase, status.attempt), (JobPhase::Queued, 1));

        let second = poll_now(&relay, &b).await.remove(0);
        assert_eq!(second.id, sub.job_id);
        assert_eq!(second.attempt, 2);
        assert_ne!(second.sealed, first[0].sealed);
        assert_eq!(opened(&second, &b.key), PASSWORD);
        assert_eq!(second.open(&a.key).unwrap_err(), SealError::Decrypt);
        assert_eq!(code(ack(&relay, &a, &first[0])), ErrorCode::Conflict);
        ack(&relay, &b, &second).unwrap();
        assert_eq!(code(succeed(&relay, &a, &first[0])), ErrorCode::Conflict);
        succeed(&relay, &b, &second).unwrap();
        assert_eq!(sub.result.await.unwrap().outcome, Outcome::Succeeded);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unacked_offer_is_re_offered_after_the_ack_timeout() {
        let (clock, relay) = setup();
        let a = register(&relay, "contoso.lab", 1);
        let b = register(&relay, "contoso.lab", 2);
        poll_now(&relay, &a).await;
        poll_now(&relay, &b).await;
        let sub = relay.submit(reset("contoso.lab", 60)).unwrap();
        let first = poll_now(&relay, &a).await.remove(0); // no connection: only the timer
        clock.advance(Duration::from_millis(ACK_TIMEOUT_MS - 1));
        assert_eq!(relay.tick(clock.now()), 0);
        assert!(poll_now(&relay, &b).await.is_empty());
        clock.advance(Duration::from_millis(1));
        assert_eq!(relay.tick(clock.now()), 1);
        assert_eq!(relay.job(&sub.job_id).unwrap().phase, JobPhase::Queued);
        let second = poll_now(&relay, &b).await.remove(0);
        assert_eq!(second.attempt, 2);
        assert_eq!(second.open(&a.key).unwrap_err(), SealError::Decrypt);
        assert_eq!(code(ack(&relay, &a, &first)), ErrorCode::Conflict);
        ack(&relay, &b, &second).unwrap();
        // Acked: never offered again, even long after the ack timeout.
        clock.advance(Duration::from_millis(2 * ACK_TIMEOUT_MS));
        assert_eq!(relay.tick(clock.now()), 0);
        assert!(poll_now(&relay, &a).await.is_empty());
        assert_eq!(relay.job(&sub.job_id).unwrap().phase, JobPhase::Acked);
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_ack_before_the_re_offer_takes_the_job_back() {
        let (clock, relay) = setup();
        let a = register(&relay, "contoso.lab", 1);
        poll_now(&relay, &a).await;
        let sub = relay.submit(reset("contoso.lab", 60)).unwrap();
        let job = poll_now(&relay, &a).await.remove(0);
        clock.advance(Duration::from_millis(ACK_TIMEOUT_MS));
        assert_eq!(relay.tick(clock.now()), 1);
        ack(&relay, &a, &job).unwrap();
        assert_eq!(relay.job(&sub.job_id).unwrap().phase, JobPhase::Acked);
        assert!(poll_now(&relay, &a).await.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_run_loop_re_offers_on_the_lab_clock_while_a_poll_waits() {
        let (_clock, relay) = setup();
        let a = register(&relay, "contoso.lab", 1);
        let b = register(&relay, "contoso.lab", 2);
        poll_now(&relay, &a).await;
        poll_now(&relay, &b).await;
        let stop = CancellationToken::new();
        let runner = tokio::spawn({
            let (relay, stop) = (relay.clone(), stop.clone());
            async move { relay.run(stop).await }
        });
        let sub = relay.submit(reset("contoso.lab", 60)).unwrap();
        poll_now(&relay, &a).await.remove(0);
        // b's poll would wait 25 s; the ack timer (10 s) fires first and wakes it.
        let resp = relay
            .poll(
                b.id,
                PollRequest {
                    max_jobs: 1,
                    wait_ms: 25_000,
                },
            )
            .await
            .unwrap();
        assert_eq!(resp.jobs.len(), 1);
        assert_eq!(resp.jobs[0].attempt, 2);
        assert!(
            (T0_MS + ACK_TIMEOUT_MS..T0_MS + ACK_TIMEOUT_MS + 5).contains(&resp.now_ms),
            "re-offered at the ack timeout: {}",
            resp.now_ms - T0_MS
        );
        // Nothing acks: the deadline fails it, on the lab clock.
        let result = sub.result.await.unwrap();
        assert_eq!(result.outcome, Outcome::DeadlineExceeded);
        assert!(relay.clock().now() >= LabTime::from_unix_secs(T0 + 60));
        stop.cancel();
        runner.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_long_poll_ends_by_the_lab_clock() {
        let (clock, relay) = setup();
        let a = register(&relay, "contoso.lab", 1);
        let (r2, id) = (relay.clone(), a.id);
        let poll = tokio::spawn(async move {
            r2.poll(
                id,
                PollRequest {
                    max_jobs: 1,
                    wait_ms: 20_000,
                },
            )
            .await
        });
        while relay.healthy_agents("contoso.lab").is_empty() {
            tokio::task::yield_now().await;
        }
        clock.advance(Duration::from_secs(20)); // a jump of the lab clock ends the wait
        let resp = poll.await.unwrap().unwrap();
        assert!(resp.jobs.is_empty());
        assert_eq!(resp.now_ms, T0_MS + 20_000);
    }

    #[tokio::test(start_paused = true)]
    async fn failover_when_an_agent_stops_polling() {
        let (clock, relay) = setup();
        let a = register(&relay, "contoso.lab", 1);
        let b = register(&relay, "contoso.lab", 2);
        assert!(
            relay.healthy_agents("contoso.lab").is_empty(),
            "never polled"
        );
        poll_now(&relay, &a).await;
        poll_now(&relay, &b).await;
        assert_eq!(relay.healthy_agents("contoso.lab").len(), 2);
        clock.advance(Duration::from_secs(30));
        poll_now(&relay, &b).await; // a has stopped polling
        clock.advance(Duration::from_secs(31));
        let healthy = relay.healthy_agents("contoso.lab");
        assert_eq!(healthy.iter().map(|h| h.id).collect::<Vec<_>>(), vec![b.id]);
        let all = relay.agents();
        assert!(all.iter().any(|i| i.id == a.id && !i.healthy));
        let sub = relay.submit(reset("contoso.lab", 120)).unwrap();
        let job = poll_now(&relay, &b).await.remove(0);
        assert_eq!(job.id, sub.job_id);
        assert_eq!(opened(&job, &b.key), PASSWORD);
        ack(&relay, &b, &job).unwrap();
        succeed(&relay, &b, &job).unwrap();
        assert!(sub.result.await.unwrap().outcome.is_success());
        // Both gone quiet: refused up front.
        clock.advance(Duration::from_secs(61));
        assert_eq!(
            relay.submit(reset("contoso.lab", 200)).unwrap_err(),
            SubmitError::NoHealthyAgent("contoso.lab".into())
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_acked_job_without_result_fails_at_its_deadline() {
        let (clock, relay) = setup();
        let a = register(&relay, "contoso.lab", 1);
        poll_now(&relay, &a).await;
        let mut sub = relay.submit(reset("contoso.lab", 60)).unwrap();
        let job = poll_now(&relay, &a).await.remove(0);
        ack(&relay, &a, &job).unwrap();
        clock.advance(Duration::from_millis(59_999));
        assert_eq!(relay.tick(clock.now()), 0);
        assert!(sub.result.try_recv().is_err());
        clock.advance(Duration::from_millis(1));
        assert_eq!(relay.tick(clock.now()), 1);
        let result = sub.result.await.unwrap();
        assert_eq!(result.outcome, Outcome::DeadlineExceeded);
        assert_eq!(result.outcome.sspr_code(), Some("SSPR_0030"));
        assert_eq!(result.event_id, Some(JobKind::Reset.failure_event_id()));
        let late = succeed(&relay, &a, &job).unwrap();
        assert_eq!(
            (late.outcome, late.duplicate, late.late),
            (Outcome::DeadlineExceeded, false, true)
        );
        let again = succeed(&relay, &a, &job).unwrap();
        assert!(again.duplicate && again.late);
        let status = relay.job(&job.id).unwrap();
        assert_eq!(status.phase, JobPhase::Done);
        assert_eq!(status.result.unwrap().outcome, Outcome::DeadlineExceeded);
        assert_eq!(status.late_result.unwrap().outcome, Outcome::Succeeded);
        assert_eq!(code(ack(&relay, &a, &job)), ErrorCode::Gone);
        // Forgotten after the retention.
        clock.advance(RelayConfig::default().done_retention);
        relay.tick(clock.now());
        assert!(relay.job(&job.id).is_none());
        assert_eq!(code(succeed(&relay, &a, &job)), ErrorCode::NotFound);
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_never_acked_fails_at_its_deadline() {
        let (clock, relay) = setup();
        let a = register(&relay, "contoso.lab", 1);
        poll_now(&relay, &a).await;
        // Never offered.
        let queued = relay.submit(reset("contoso.lab", 5)).unwrap();
        clock.advance(Duration::from_secs(5));
        assert_eq!(relay.tick(clock.now()), 1);
        assert_eq!(
            queued.result.await.unwrap().outcome,
            Outcome::DeadlineExceeded
        );
        assert!(poll_now(&relay, &a).await.is_empty());
        // Offered, not acked: the ack after the deadline is 410 (no tick needed).
        let offered = relay.submit(reset("contoso.lab", 15)).unwrap();
        let job = poll_now(&relay, &a).await.remove(0);
        clock.advance(Duration::from_secs(10));
        assert_eq!(code(ack(&relay, &a, &job)), ErrorCode::Gone);
        assert_eq!(
            offered.result.await.unwrap().outcome,
            Outcome::DeadlineExceeded
        );
        assert_eq!(code(succeed(&relay, &a, &job)), ErrorCode::Conflict);
    }

    #[tokio::test(start_paused = true)]
    async fn forbidden_unknown_and_conflicting_calls() {
        let (_clock, relay) = setup();
        let a = register(&relay, "contoso.lab", 1);
        let b = register(&relay, "contoso.lab", 2);
        let f = register(&relay, "fabrikam.lab", 3);
        poll_now(&relay, &a).await;
        let sub = relay.submit(reset("contoso.lab", 60)).unwrap();
        let job = poll_now(&relay, &a).await.remove(0);
        // Another domain's agent.
        assert_eq!(code(ack(&relay, &f, &job)), ErrorCode::Forbidden);
        assert_eq!(code(succeed(&relay, &f, &job)), ErrorCode::Forbidden);
        assert!(poll_now(&relay, &f).await.is_empty());
        // Unknown job; a job never offered to this agent.
        let unknown = JobId::new("no-such-job").unwrap();
        let r = relay.ack(a.id, &unknown, AckRequest { attempt: 1 });
        assert_eq!(code(r), ErrorCode::NotFound);
        assert_eq!(code(ack(&relay, &b, &job)), ErrorCode::NotFound);
        // A stale or unknown attempt.
        let r = relay.ack(a.id, &job.id, AckRequest { attempt: 2 });
        assert_eq!(code(r), ErrorCode::Conflict);
        // A result before the ack.
        assert_eq!(code(succeed(&relay, &a, &job)), ErrorCode::Conflict);
        ack(&relay, &a, &job).unwrap();
        // Not the acking agent.
        assert_eq!(code(succeed(&relay, &b, &job)), ErrorCode::Conflict);
        // Bad bodies.
        let other = JobResult::new(unknown, job.kind, Outcome::Succeeded);
        assert_eq!(
            code(relay.result(a.id, &job.id, other)),
            ErrorCode::BadRequest
        );
        let cloud_only = JobResult::new(job.id.clone(), job.kind, Outcome::DeadlineExceeded);
        assert_eq!(
            code(relay.result(a.id, &job.id, cloud_only)),
            ErrorCode::BadRequest
        );
        let bad = PollRequest {
            max_jobs: 0,
            wait_ms: 0,
        };
        assert_eq!(code(relay.poll(a.id, bad).await), ErrorCode::BadRequest);
        assert_eq!(
            code(relay.poll(Uuid::from_u128(1), NOW).await),
            ErrorCode::Unauthorized
        );
        succeed(&relay, &a, &job).unwrap();
        assert!(sub.result.await.unwrap().outcome.is_success());
    }

    #[tokio::test(start_paused = true)]
    async fn submit_refusals() {
        let (_clock, relay) = setup();
        let a = register(&relay, "contoso.lab", 1);
        assert_eq!(
            relay.submit(reset("contoso.lab", 60)).unwrap_err(),
            SubmitError::NoHealthyAgent("contoso.lab".into()),
            "registered but never polled"
        );
        assert_eq!(
            relay.submit(reset("fabrikam.lab", 60)).unwrap_err(),
            SubmitError::NoHealthyAgent("fabrikam.lab".into())
        );
        assert_eq!(
            relay.submit(reset("nowhere.lab", 60)).unwrap_err(),
            SubmitError::UnknownDomain("nowhere.lab".into())
        );
        poll_now(&relay, &a).await;
        assert_eq!(
            relay.submit(reset("contoso.lab", 0)).unwrap_err(),
            SubmitError::DeadlinePassed
        );
        let mut no_secrets = reset("contoso.lab", 60);
        no_secrets.secrets = None;
        assert!(matches!(
            relay.submit(no_secrets),
            Err(SubmitError::Invalid(_))
        ));
        let mut change_without_old = reset("contoso.lab", 60);
        change_without_old.kind = JobKind::Change;
        assert!(matches!(
            relay.submit(change_without_old),
            Err(SubmitError::Invalid(_))
        ));
        let mut unlock_with_password = reset("contoso.lab", 60);
        unlock_with_password.kind = JobKind::Unlock;
        assert!(matches!(
            relay.submit(unlock_with_password),
            Err(SubmitError::Invalid(_))
        ));
        let mut too_long = reset("contoso.lab", 60);
        too_long.secrets = Some(Secrets::reset("x".repeat(MAX_PASSWORD_BYTES + 1).into()));
        assert!(matches!(
            relay.submit(too_long),
            Err(SubmitError::Invalid(_))
        ));
        // An unlock carries nothing sealed.
        let unlock = JobSpec {
            kind: JobKind::Unlock,
            target: target("Contoso.LAB"),
            secrets: None,
            unlock: true,
            must_change: false,
            deadline: LabTime::from_unix_secs(T0 + 60),
        };
        relay.submit(unlock).unwrap();
        let job = poll_now(&relay, &a).await.remove(0);
        job.validate().unwrap();
        assert!(job.sealed.is_none());
        assert!(job.open(&a.key).unwrap().is_none());
        assert_eq!(job.target.domain, "contoso.lab");
    }

    #[tokio::test(start_paused = true)]
    async fn polls_take_at_most_max_jobs_oldest_first() {
        let (_clock, relay) = setup();
        let a = register(&relay, "contoso.lab", 1);
        poll_now(&relay, &a).await;
        let ids: Vec<JobId> = (0..3)
            .map(|_| relay.submit(reset("contoso.lab", 60)).unwrap().job_id)
            .collect();
        let two = PollRequest {
            max_jobs: 2,
            wait_ms: 0,
        };
        let first = relay.poll(a.id, two).await.unwrap().jobs;
        let second = relay.poll(a.id, two).await.unwrap().jobs;
        let got: Vec<JobId> = first.iter().chain(&second).map(|j| j.id.clone()).collect();
        assert_eq!(got, ids);
        assert_eq!(first.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn registration_and_authentication_refusals() {
        let (_clock, relay) = setup();
        let a = register(&relay, "contoso.lab", 1);
        let req = |domain: &str, engine, key: String| RegisterRequest {
            domain: domain.into(),
            engine,
            version: "0.1.0".into(),
            public_key: key,
        };
        let key = AgentKey::generate(&mut runtime::stream(Seed(9), "k")).public_base64();
        let zero = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_string();
        let cases = [
            (
                req("contoso.lab", Engine::CloudSync, "abc".into()),
                ErrorCode::BadRequest,
            ),
            (
                req("contoso.lab", Engine::CloudSync, zero),
                ErrorCode::BadRequest,
            ),
            (
                req("nowhere.lab", Engine::CloudSync, key.clone()),
                ErrorCode::NotFound,
            ),
            (
                req("northwind.lab", Engine::CloudSync, key.clone()),
                ErrorCode::BadRequest,
            ),
            (
                req("contoso.lab", Engine::CloudSync, a.key.public_base64()),
                ErrorCode::Conflict,
            ),
        ];
        for (r, want) in cases {
            assert_eq!(code(relay.register(&r)), want, "{r:?}");
        }
        relay
            .register(&req("northwind.lab", Engine::ConnectSync, key))
            .unwrap();
        let (id, _) = a.header["Agent ".len()..].split_once('.').unwrap();
        for h in [
            None,
            Some("Bearer abc".to_string()),
            Some(format!("Agent {id}.wrongsecret")),
            Some(format!(
                "Agent {}.{}",
                Uuid::from_u128(5),
                a.header.split_once('.').unwrap().1
            )),
        ] {
            assert_eq!(
                code(relay.authenticate(h.as_deref())),
                ErrorCode::Unauthorized
            );
        }
        // What a restart restores.
        let records = relay.agent_records();
        assert_eq!(records.len(), 2);
        let (clock2, relay2) = setup();
        drop(clock2);
        for r in records {
            relay2.restore_agent(r).unwrap();
        }
        assert_eq!(relay2.authenticate(Some(&a.header)).unwrap(), a.id);
    }

    #[tokio::test(start_paused = true)]
    async fn writeback_flags() {
        let (_clock, relay) = setup();
        assert!(!relay.writeback("contoso.lab"));
        let state = relay.set_writeback("Contoso.lab", true).unwrap();
        assert_eq!(state.domain, "contoso.lab");
        assert!(relay.writeback("contoso.lab"));
        assert!(!relay.writeback("fabrikam.lab"));
        assert_eq!(
            code(relay.set_writeback("nowhere.lab", true)),
            ErrorCode::NotFound
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_same_seed_seals_the_same_bytes() {
        async fn run() -> (JobId, Job) {
            let (_clock, relay) = setup();
            let a = register(&relay, "contoso.lab", 1);
            poll_now(&relay, &a).await;
            let id = relay.submit(reset("contoso.lab", 60)).unwrap().job_id;
            (id, poll_now(&relay, &a).await.remove(0))
        }
        let (id1, job1) = run().await;
        let (id2, job2) = run().await;
        assert_eq!(id1, id2);
        assert_eq!(job1, job2);
    }

    // -----------------------------------------------------------------------------------------
    // The router

    fn app(relay: &Relay) -> Router {
        let admin: AdminAuth = Arc::new(|headers: &HeaderMap, route: &Route| {
            let token = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or_else(|| err(ErrorCode::Unauthorized, "authorization: no bearer token"))?;
            match (token, *route == routes::SET_WRITEBACK) {
                ("hybrid", _) | ("global", true) => Ok(()),
                ("global" | "helpdesk", _) => {
                    Err(err(ErrorCode::Forbidden, "the token lacks the role"))
                }
                _ => Err(err(ErrorCode::Unauthorized, "authorization: bad token")),
            }
        });
        router(relay.clone(), admin)
    }

    async fn call(
        app: &Router,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = app
            .clone()
            .oneshot(req.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        if !status.is_success() {
            assert_eq!(
                resp.headers()["content-type"],
                "application/json",
                "{method} {path}"
            );
        }
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    fn assert_error(got: (StatusCode, Value), status: u16, code: &str, mentions: &str) {
        assert_eq!(got.0.as_u16(), status, "{}", got.1);
        assert_eq!(got.1["code"], code, "{}", got.1);
        let message = got.1["message"].as_str().unwrap();
        assert!(message.contains(mentions), "{message}");
    }

    #[tokio::test(start_paused = true)]
    async fn router_admin_routes() {
        let (_clock, relay) = setup();
        let app = app(&relay);
        let key = AgentKey::generate(&mut runtime::stream(Seed(1), "k")).public_base64();
        let reg = json!({"domain": "contoso.lab", "engine": "cloud-sync", "version": "0.1.0", "public_key": key});
        let path = routes::register_agent();
        assert_error(
            call(&app, "POST", &path, None, reg.clone()).await,
            401,
            "unauthorized",
            "authorization",
        );
        for token in ["Bearer helpdesk", "Bearer global"] {
            let got = call(&app, "POST", &path, Some(token), reg.clone()).await;
            assert_error(got, 403, "forbidden", "role");
        }
        let mut extra = reg.clone();
        extra["extra"] = json!(1);
        let got = call(&app, "POST", &path, Some("Bearer hybrid"), extra).await;
        assert_error(got, 400, "bad_request", "unknown field `extra`");
        let got = call(&app, "POST", &path, Some("Bearer hybrid"), reg.clone()).await;
        assert_eq!(got.0, StatusCode::CREATED, "{}", got.1);
        assert_eq!(got.1["domain"], "contoso.lab");
        assert_eq!(got.1["secret"].as_str().unwrap().len(), 43);
        let got = call(&app, "POST", &path, Some("Bearer hybrid"), reg).await;
        assert_error(got, 409, "conflict", "public_key");

        let wb = routes::set_writeback("contoso.lab");
        let on = json!({"enabled": true});
        assert_error(
            call(&app, "PUT", &wb, None, on.clone()).await,
            401,
            "unauthorized",
            "",
        );
        assert_error(
            call(&app, "PUT", &wb, Some("Bearer helpdesk"), on.clone()).await,
            403,
            "forbidden",
            "",
        );
        let got = call(&app, "PUT", &wb, Some("Bearer global"), on.clone()).await;
        assert_eq!(
            got,
            (
                StatusCode::OK,
                json!({"domain": "contoso.lab", "enabled": true})
            )
        );
        assert!(relay.writeback("contoso.lab"));
        let got = call(
            &app,
            "PUT",
            &wb,
            Some("Bearer hybrid"),
            json!({"enabled": true, "x": 1}),
        )
        .await;
        assert_error(got, 400, "bad_request", "unknown field `x`");
        let got = call(&app, "PUT", &wb, Some("Bearer hybrid"), json!({})).await;
        assert_error(got, 400, "bad_request", "enabled");
        let nowhere = routes::set_writeback("nowhere.lab");
        let got = call(&app, "PUT", &nowhere, Some("Bearer hybrid"), on).await;
        assert_error(got, 404, "not_found", "nowhere.lab");
    }

    #[tokio::test(start_paused = true)]
    async fn router_agent_routes() {
        let (_clock, relay) = setup();
        let app = app(&relay);
        let a = register(&relay, "contoso.lab", 1);
        let poll = routes::poll();
        let now = json!({"max_jobs": 4, "wait_ms": 0});
        assert_error(
            call(&app, "POST", &poll, None, now.clone()).await,
            401,
            "unauthorized",
            "authorization",
        );
        let wrong = format!("{}x", &a.header[..a.header.len() - 1]);
        assert_error(
            call(&app, "POST", &poll, Some(&wrong), now.clone()).await,
            401,
            "unauthorized",
            "",
        );
        assert_error(
            call(&app, "POST", &poll, Some("Bearer hybrid"), now.clone()).await,
            401,
            "unauthorized",
            "",
        );
        let got = call(
            &app,
            "POST",
            &poll,
            Some(&a.header),
            json!({"max_jobs": 1, "wait_ms": 0, "affinity": "dc1"}),
        )
        .await;
        assert_error(got, 400, "bad_request", "unknown field `affinity`");
        let got = call(
            &app,
            "POST",
            &poll,
            Some(&a.header),
            json!({"max_jobs": 0, "wait_ms": 0}),
        )
        .await;
        assert_error(got, 400, "bad_request", "max_jobs");
        let got = call(&app, "POST", &poll, Some(&a.header), now.clone()).await;
        assert_eq!(got, (StatusCode::OK, json!({"jobs": [], "now_ms": T0_MS})));

        // A poll over a connection binds the offer to it; the connection closing re-offers.
        let sub = relay.submit(reset("contoso.lab", 60)).unwrap();
        let conn = relay.connection();
        let on_conn = app.clone().layer(Extension(conn.clone()));
        drop(conn);
        let got = call(&on_conn, "POST", &poll, Some(&a.header), now.clone()).await;
        assert_eq!(got.0, StatusCode::OK);
        let job: Job = serde_json::from_value(got.1["jobs"][0].clone()).unwrap();
        assert_eq!((job.id.clone(), job.attempt), (sub.job_id.clone(), 1));
        assert_eq!(relay.job(&job.id).unwrap().phase, JobPhase::Offered);
        drop(on_conn);
        assert_eq!(relay.job(&job.id).unwrap().phase, JobPhase::Queued);
        let got = call(&app, "POST", &poll, Some(&a.header), now).await;
        let job: Job = serde_json::from_value(got.1["jobs"][0].clone()).unwrap();
        assert_eq!(job.attempt, 2);
        assert_eq!(opened(&job, &a.key), PASSWORD);

        let ack = routes::ack(job.id.as_str());
        let got = call(&app, "POST", &ack, Some(&a.header), json!({"attempt": 1})).await;
        assert_error(got, 409, "conflict", "attempt");
        let got = call(
            &app,
            "POST",
            "/relay/v1/jobs/bad%20id/ack",
            Some(&a.header),
            json!({"attempt": 2}),
        )
        .await;
        assert_error(got, 400, "bad_request", "job_id");
        let got = call(
            &app,
            "POST",
            &routes::ack("unknown"),
            Some(&a.header),
            json!({"attempt": 2}),
        )
        .await;
        assert_error(got, 404, "not_found", "unknown");
        let got = call(
            &app,
            "POST",
            &ack,
            Some(&a.header),
            json!({"attempt": 2, "x": 0}),
        )
        .await;
        assert_error(got, 400, "bad_request", "unknown field `x`");
        let got = call(&app, "POST", &ack, Some(&a.header), json!({"attempt": 2})).await;
        assert_eq!(got.0, StatusCode::OK, "{}", got.1);
        assert_eq!(got.1["deadline_ms"], T0_MS + 60_000);

        let result = routes::result(job.id.as_str());
        let body =
            serde_json::to_value(JobResult::new(job.id.clone(), job.kind, Outcome::Succeeded))
                .unwrap();
        let mut mismatched = body.clone();
        mismatched["job_id"] = json!("another-job");
        let got = call(&app, "POST", &result, Some(&a.header), mismatched).await;
        assert_error(got, 400, "bad_request", "job_id");
        let mut unknown_field = body.clone();
        unknown_field["password"] = json!("nope");
        let got = call(&app, "POST", &result, Some(&a.header), unknown_field).await;
        assert_error(got, 400, "bad_request", "unknown field `password`");
        let got = call(&app, "POST", &result, Some(&a.header), body.clone()).await;
        assert_eq!(
            got.1,
            json!({"job_id": job.id.as_str(), "outcome": "succeeded", "duplicate": false, "late": false})
        );
        let got = call(&app, "POST", &result, Some(&a.header), body).await;
        assert_eq!(got.1["duplicate"], true);
        assert!(sub.result.await.unwrap().outcome.is_success());
    }
}
