//! The scenario runner: a scenario played on a simulated lab (the paused backend: one paused
//! current-thread runtime, the in-memory network, virtual time). Every step goes through the real
//! routes and commands — LDAP for permissions, HTTPS for settings and password operations, the
//! control surface for DCs, SDProp and group policy — and every operation is followed to its end.
//! The run's record feeds the reports; the expectations decide the exit code.

mod build;
mod done;
mod passwords;
mod progress;
mod steps;
mod workload;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use runtime::{AnyNet, LabTime};
use secrecy::SecretString;

use crate::client::LabClient;
use crate::credentials::Credentials;
use crate::lab::{Lab, LabOptions};
use crate::report::RunRecord;
use crate::scenario::model::Scenario;
use crate::scenario::{Network, Source};

pub use done::Done;

/// Why a run could not be played (a failed expectation is not an error: see
/// [`RunRecord::passed`]).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario cannot be turned into a lab.
    #[error("scenario: {0}")]
    Scenario(String),
    /// It needs something the runner does not model yet.
    #[error("{scenario}: not supported by this runner yet: {what}")]
    Unsupported {
        /// The scenario.
        scenario: String,
        /// What it needs.
        what: String,
    },
    /// The lab did not start.
    #[error(transparent)]
    Lab(#[from] crate::lab::LabError),
    /// The simulated runtime could not be made.
    #[error("runtime: {0}")]
    Runtime(std::io::Error),
    /// A client of the lab failed where it should not.
    #[error(transparent)]
    Client(#[from] crate::client::ClientError),
}

/// What the caller sees as the run goes: each step and operation as it ends.
#[derive(Clone, Debug)]
pub enum Event {
    /// A timeline step is about to run: its time and narration.
    Begin {
        /// When (lab time).
        at: LabTime,
        /// The scenario's narration, if any.
        narration: Option<String>,
    },
    /// A timeline step ran.
    Step(crate::report::record::Step),
    /// An operation ended.
    Operation(Box<Done>),
}

/// A callback for each [`Event`].
pub type OnEvent = Box<dyn Fn(&Event)>;

/// How to run.
#[derive(Default)]
pub struct RunOptions {
    /// Another seed than the scenario's.
    pub seed: Option<u64>,
    /// Called with each step and operation as it ends (progress bars, the demo's narration).
    pub on_event: Option<OnEvent>,
}

/// What a run left: the record for the reports, and every operation.
pub struct Run {
    /// The record (writebacks, steps, expectations).
    pub record: RunRecord,
    /// Every operation, in the order they ended.
    pub done: Vec<Done>,
}

/// Plays `scenario` on a simulated lab and returns its record.
pub fn run(scenario: &Scenario, opts: RunOptions) -> Result<Run, RunError> {
    let rt = crate::simulate::runtime().map_err(RunError::Runtime)?;
    rt.block_on(run_async(scenario, opts))
}

/// One user's passwords as the run knows them (never reported).
#[derive(Clone)]
pub(crate) struct Known {
    /// The fixture's.
    pub initial: String,
    /// What the cloud accepts now.
    pub cloud: String,
    /// What AD accepts now.
    pub ad: String,
    /// The new password of the last operation that succeeded.
    pub last_set: Option<String>,
    /// Every password the user had, oldest first.
    pub history: Vec<String>,
    /// Given name and surname.
    pub surname: String,
}

/// What the steps and the workload share.
pub(crate) struct Ctx<'a> {
    pub scenario: &'a Scenario,
    pub lab: &'a Lab,
    pub net: AnyNet,
    pub client: LabClient,
    pub creds: Credentials,
    pub start: LabTime,
    pub known: Mutex<BTreeMap<String, Known>>,
    pub rng: Mutex<rand_chacha::ChaCha8Rng>,
    pub done: Mutex<Vec<Done>>,
    pub on_event: Option<OnEvent>,
}

impl Ctx<'_> {
    /// Reports an event to the caller.
    pub fn emit(&self, e: Event) {
        if let Some(f) = &self.on_event {
            f(&e);
        }
    }

    /// The admin's UPN for a short name (`helpdesk`) or a UPN.
    pub fn admin(&self, name: Option<&str>, default: &str) -> String {
        crate::scenario::admin_upn(name.unwrap_or(default), &self.lab.spec.tenant.name)
    }

    /// The fixture admin password.
    pub fn admin_password(&self) -> SecretString {
        SecretString::from(self.creds.admin.clone())
    }
}

/// The lab spec a scenario builds (its `deployed` flag set from the file).
pub fn lab_spec(scenario: &Scenario) -> Result<crate::LabSpec, RunError> {
    let mut spec = build::spec(scenario)?;
    // The lab starts agents only when deployed; `prepare` starts the ones the file asks for.
    spec.deployed = !scenario.lab.is_undeployed();
    Ok(spec)
}

async fn run_async(scenario: &Scenario, opts: RunOptions) -> Result<Run, RunError> {
    let seed = opts.seed.unwrap_or(scenario.seed);
    let spec = lab_spec(scenario)?;
    let net = runtime::MemNet::new();
    net.set_latency(latency_fn(&scenario.lab.network));
    let lab = Lab::start(
        spec,
        LabOptions {
            seed,
            agents: true,
            credentials: Credentials::from_env(),
            net: AnyNet::Mem(net.clone()),
            ..LabOptions::default()
        },
    )
    .await?;
    prepare(&lab, scenario).await;
    let run = play(
        &lab,
        AnyNet::Mem(net.as_host("driver")),
        scenario,
        seed,
        opts.on_event,
    )
    .await;
    lab.stop().await;
    run
}

/// Brings a lab just started from `scenario`'s spec to the file's time zero: per-domain agent
/// settings, the agents that run from the start, the tenant's settings and writeback flags.
pub async fn prepare(lab: &Lab, scenario: &Scenario) {
    // Per-domain agent settings, in force from their first start.
    for a in &lab.agents {
        let Some(g) = scenario.lab.agent_group(&a.domain) else {
            continue;
        };
        if g.ldap_timeout.is_none() && g.policy_hints.is_none() {
            continue;
        }
        a.configure(|c| {
            if let Some(t) = g.ldap_timeout {
                c.ldap_timeout = t.get();
            }
            if let Some(h) = g.policy_hints {
                c.hints = match h {
                    crate::scenario::model::Hints::Critical => agent::worker::PolicyHints::Critical,
                    crate::scenario::model::Hints::On => agent::worker::PolicyHints::On,
                    crate::scenario::model::Hints::Off => agent::worker::PolicyHints::Off,
                };
            }
        });
        if a.is_running() {
            a.stop().await;
            a.start();
            a.ready(Duration::from_secs(30)).await;
        }
    }
    // Per-domain departures from deployed/undeployed.
    for a in &lab.agents {
        let wanted = scenario.lab.agents_started(&a.domain);
        if wanted && !a.is_running() {
            a.start();
            a.ready(Duration::from_secs(30)).await;
        } else if !wanted && a.is_running() {
            a.stop().await;
        }
    }
    let undeployed = scenario.lab.is_undeployed();
    let tenant = &lab.cloud.cloud.flows.tenant;
    tenant.set_settings(scenario.lab.cloud.settings(undeployed));
    for d in lab.spec.forests.iter().flat_map(|f| f.domains.iter()) {
        if d.engine == crate::spec::Engine::CloudSync {
            let on = scenario.lab.cloud.domain_writeback(&d.dns, undeployed);
            let _ = lab.cloud.cloud.flows.relay.set_writeback(&d.dns, on);
        }
    }
}

/// Plays `scenario`'s timeline and workload on `lab` (simulated or serving on sockets), its
/// clients going through `net`, from now for the scenario's duration; then checks the
/// expectations. The lab keeps running.
pub async fn play(
    lab: &Lab,
    net: AnyNet,
    scenario: &Scenario,
    seed: u64,
    on_event: Option<OnEvent>,
) -> Result<Run, RunError> {
    let creds = Credentials::from_env();
    let client = LabClient::new(lab, net.clone())?;
    let start = lab.clock.now();
    let mut known = BTreeMap::new();
    for d in lab.spec.forests.iter().flat_map(|f| f.domains.iter()) {
        for u in &d.users {
            known.insert(
                format!("{}@{}", u.sam, d.dns).to_ascii_lowercase(),
                Known {
                    initial: creds.user.clone(),
                    cloud: creds.user.clone(),
                    ad: creds.user.clone(),
                    last_set: None,
                    history: vec![creds.user.clone()],
                    surname: u.surname.clone(),
                },
            );
        }
    }
    let ctx = Ctx {
        scenario,
        lab,
        net,
        client,
        creds,
        start,
        known: Mutex::new(known),
        rng: Mutex::new(runtime::stream(runtime::Seed(seed), "runner/passwords")),
        done: Mutex::new(Vec::new()),
        on_event,
    };
    let mut record = RunRecord::new(&scenario.name, seed, scenario.backend.as_str(), start);
    let end = start.plus(scenario.duration.get());
    {
        let timeline = steps::play(&ctx, end);
        let load = workload::play(&ctx, end);
        let sampled = progress::sample(&ctx, end);
        let (steps, (), progress) = tokio::join!(timeline, load, sampled);
        record.steps = steps;
        record.progress = progress;
    }
    // Let the last operations end, then the clock reach the end.
    let now = lab.clock.now();
    if now < end {
        lab.clock.sleep(Duration::from_nanos(end.0 - now.0)).await;
    }
    record.end = lab.clock.now();
    let done = std::mem::take(&mut *ctx.done.lock().expect("done lock"));
    record.writebacks = done.iter().map(Done::writeback).collect();
    for dc in lab.domains.iter().flat_map(|d| d.domain.dcs()) {
        for r in dc.refusals.all() {
            if let Some(r) = crate::report::record::Refusal::from_lab(&r) {
                record.refusals.push(r);
            }
        }
    }
    record
        .refusals
        .sort_by(|a, b| (a.at, &a.job_id).cmp(&(b.at, &b.job_id)));
    record.expectations = done::expectations(&ctx, &done).await;
    Ok(Run { record, done })
}

/// The scenario's fixed link latencies as the in-memory network's delay function (a later link
/// wins where several match, as the file says).
fn latency_fn(n: &Network) -> Option<runtime::memnet::LatencyFn> {
    use crate::scenario::{Host, Latency};
    fn fixed(l: &Latency) -> Duration {
        match l {
            Latency::Fixed(d) => d.get(),
            Latency::Dist(_) => Duration::ZERO,
        }
    }
    fn matches(h: &Host, name: &str) -> bool {
        match h {
            Host::Any => true,
            Host::Cloud => name == "cloud",
            Host::Driver => name == "driver",
            Host::Domain(d) => name
                .split_once('/')
                .is_some_and(|(dom, _)| dom.eq_ignore_ascii_case(d)),
            single => name.eq_ignore_ascii_case(&single.to_string()),
        }
    }
    if n.default.is_none() && n.links.is_empty() {
        return None;
    }
    let default = n.default.as_ref().map(fixed).unwrap_or_default();
    let links: Vec<(Host, Host, Duration)> = n
        .links
        .iter()
        .map(|l| (l.a.clone(), l.b.clone(), fixed(&l.latency)))
        .collect();
    Some(Arc::new(move |from: &str, to: &str| {
        links
            .iter()
            .rev()
            .find(|(a, b, _)| {
                (matches(a, from) && matches(b, to)) || (matches(a, to) && matches(b, from))
            })
            .map(|(_, _, d)| *d)
            .unwrap_or(default)
    }))
}

/// Where an operation came from.
pub(crate) fn source_name(s: Source) -> &'static str {
    match s {
        Source::Timeline => "timeline",
        Source::Workload => "workload",
    }
}
