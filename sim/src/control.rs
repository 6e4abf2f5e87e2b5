//! The control API (DESIGN §8): how anything outside the parts acts on a running lab. Each route
//! is one method of [`LabControl`]; the HTTP API here is only its adapter, and the simulation's
//! timeline driver calls the same trait in-process. Later issues add a route and its method
//! together.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// The lab clock as the control API reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClockStatus {
    /// Lab time now, RFC 3339.
    pub now: String,
    /// Lab time now, Windows FILETIME.
    pub filetime: i64,
    /// Lab seconds per real second.
    pub scale: f64,
    /// Seconds the clock has been moved forward.
    pub offset_secs: u64,
}

/// A request to move the lab clock forward.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdvanceClock {
    /// Seconds to move forward.
    pub advance_secs: u64,
}

/// A request to run SDProp now.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunSdprop {
    /// The domain (DNS name); absent = every domain.
    #[serde(default)]
    pub domain: Option<String>,
}

/// What one SDProp run did in one domain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SdpropRun {
    /// The domain.
    pub domain: String,
    /// The DC it ran on (the PDC emulator).
    pub dc: String,
    /// Objects it stamped.
    pub changed: usize,
}

/// A control request that could not be done.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}")]
pub struct ControlError {
    /// What went wrong.
    pub error: String,
    /// The HTTP status it maps to.
    #[serde(skip)]
    pub status: u16,
}

/// What to do to a DC.
#[derive(Clone, Debug)]
pub enum DcAction {
    /// Stop it: listeners refuse, replication to it waits.
    Stop,
    /// Start it again on the same addresses.
    Start,
    /// Set its added response delays.
    Delay(fake_ad::domain::Delays),
    /// Just report it.
    Show,
}

/// A DC's state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DcStatus {
    /// Its domain.
    pub domain: String,
    /// Its name.
    pub name: String,
    /// Serving or stopped.
    pub running: bool,
    /// Its added response delays.
    pub delays: fake_ad::domain::Delays,
}

/// Cut or heal the replication link between two DCs (both directions).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// The domain.
    pub domain: String,
    /// One DC.
    pub from: String,
    /// The other DC.
    pub to: String,
    /// true = cut, false = heal.
    pub cut: bool,
}

/// The cut links of a domain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkStatus {
    /// The domain.
    pub domain: String,
    /// Cut (from, to) pairs.
    pub cut: Vec<(String, String)>,
}

/// One delivery in flight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InFlight {
    /// Originating DC.
    pub from: String,
    /// Receiving DC.
    pub to: String,
    /// When it is due (lab time, RFC 3339).
    pub due: String,
    /// How many entries it carries.
    pub updates: usize,
}

/// A domain's replication state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicationStatus {
    /// The domain.
    pub domain: String,
    /// Deliveries in flight, earliest first.
    pub in_flight: Vec<InFlight>,
    /// Cut links.
    pub cut: Vec<(String, String)>,
}

/// A domain's descriptor propagator: its settings and the jobs waiting or running.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PropagationStatus {
    /// The domain.
    pub domain: String,
    /// Its settings.
    pub settings: fake_ad::propagation::Propagation,
    /// Jobs, in the order they run.
    pub jobs: Vec<PropagationJob>,
}

/// One propagation job's progress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PropagationJob {
    /// The DC it runs on.
    pub dc: String,
    /// Where the descriptor changed.
    pub root: String,
    /// When its next batch runs (lab time, RFC 3339).
    pub next_at: String,
    /// Objects visited.
    pub done: usize,
    /// Descriptors changed.
    pub changed: usize,
    /// Objects known to be still waiting (children are found as it goes).
    pub pending: usize,
}

/// New propagator settings for one domain (or all).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SetPropagation {
    /// The domain; absent = every domain.
    #[serde(default)]
    pub domain: Option<String>,
    /// The settings.
    pub settings: fake_ad::propagation::Propagation,
}

/// The Default Domain Policy of a domain, as its PDC has it, and what each DC applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpoStatus {
    /// The domain.
    pub domain: String,
    /// The GPO's versionNumber on the PDC emulator.
    pub version: u32,
    /// Its settings (MS-GPSB keys).
    pub settings: std::collections::BTreeMap<String, i64>,
    /// The version each DC last applied to its domain head.
    pub applied: std::collections::BTreeMap<String, u32>,
}

/// Edit the Default Domain Policy (on the PDC emulator; it replicates).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SetGpo {
    /// The domain.
    pub domain: String,
    /// MS-GPSB keys and values, e.g. {"MinimumPasswordAge": 1}.
    pub set: std::collections::BTreeMap<String, serde_json::Value>,
}

/// Apply group policy now.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Gpupdate {
    /// The domain.
    pub domain: String,
    /// One DC; absent = every DC of the domain.
    #[serde(default)]
    pub dc: Option<String>,
    /// Apply even if the version is not newer (overwriting direct edits), as `gpupdate /force`.
    #[serde(default)]
    pub force: bool,
}

/// A boxed future, so async control methods keep the trait object-safe.
pub type Reply<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One method per control route.
pub trait LabControl: Send + Sync + 'static {
    /// `GET /control/clock`: the lab clock.
    fn clock(&self) -> ClockStatus;
    /// `POST /control/clock {"advance_secs": N}`: move the lab clock forward (never back).
    fn advance_clock(&self, by: AdvanceClock) -> ClockStatus;
    /// `POST /control/sdprop {"domain": D?}`: run SDProp now on the PDC emulator(s).
    fn sdprop(&self, req: RunSdprop) -> Reply<'_, Result<Vec<SdpropRun>, ControlError>>;
    /// `GET /control/dc/{domain}/{name}` and `POST …/{stop,start,delay}`: a DC's faults.
    fn dc(
        &self,
        domain: String,
        name: String,
        action: DcAction,
    ) -> Reply<'_, Result<DcStatus, ControlError>>;
    /// `POST /control/link {domain, from, to, cut}`: cut or heal replication between two DCs.
    fn link(&self, req: LinkRequest) -> Reply<'_, Result<LinkStatus, ControlError>>;
    /// `GET /control/refusals/{domain}/{dc}`: why the DC refused recent writes (structured).
    fn refusals(
        &self,
        domain: String,
        dc: String,
    ) -> Result<Vec<fake_ad::refusal::Refusal>, ControlError>;
    /// `GET /control/replication/{domain}`: what is in flight and which links are cut.
    fn replication(&self, domain: String) -> Result<ReplicationStatus, ControlError>;
    /// `GET /control/propagation`: each domain's propagator settings and jobs.
    fn propagation(&self) -> Vec<PropagationStatus>;
    /// `POST /control/propagation {domain?, settings}`: change the propagator's settings.
    fn set_propagation(&self, req: SetPropagation) -> Result<Vec<PropagationStatus>, ControlError>;
    /// `GET /control/gpo/{domain}`: the Default Domain Policy and what each DC applied.
    fn gpo(&self, domain: String) -> Result<GpoStatus, ControlError>;
    /// `POST /control/gpo {domain, set}`: edit the Default Domain Policy.
    fn set_gpo(&self, req: SetGpo) -> Reply<'_, Result<GpoStatus, ControlError>>;
    /// `POST /control/gpupdate {domain, dc?, force}`: apply group policy now.
    fn gpupdate(&self, req: Gpupdate) -> Reply<'_, Result<GpoStatus, ControlError>>;
}

/// The routes, for `GET /control`.
const ROUTES: &[&str] = &[
    "GET /control/clock",
    "POST /control/clock {\"advance_secs\": N}",
    "POST /control/sdprop {\"domain\": \"contoso.lab\"} (domain optional)",
    "GET /control/dc/{domain}/{name}",
    "POST /control/dc/{domain}/{name}/stop",
    "POST /control/dc/{domain}/{name}/start",
    "POST /control/dc/{domain}/{name}/delay {\"all_ms\", \"bind_ms\", \"search_ms\", \"modify_ms\"}",
    "POST /control/link {\"domain\", \"from\", \"to\", \"cut\": bool}",
    "GET /control/replication/{domain}",
    "GET /control/refusals/{domain}/{dc}",
    "GET /control/gpo/{domain}",
    "POST /control/gpo {\"domain\", \"set\": {\"MinimumPasswordAge\": 1}}",
    "POST /control/gpupdate {\"domain\", \"dc\"?, \"force\": bool}",
    "GET /control/propagation",
    "POST /control/propagation {\"domain\"?, \"settings\": {\"delay\": {\"fixed\": {\"secs\": N}}, \"batch\", \"batch_interval_ms\"}}",
];

fn answer<T: Serialize>(
    r: Result<T, ControlError>,
) -> Result<Json<T>, (StatusCode, Json<ControlError>)> {
    r.map(Json).map_err(|e| {
        (
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            Json(e),
        )
    })
}

/// The HTTP adapter over a [`LabControl`].
pub fn router(ctl: Arc<dyn LabControl>) -> Router {
    Router::new()
        .route("/control", get(|| async { Json(ROUTES) }))
        .route(
            "/control/clock",
            get(|State(c): State<Arc<dyn LabControl>>| async move { Json(c.clock()) }).post(
                |State(c): State<Arc<dyn LabControl>>, Json(by): Json<AdvanceClock>| async move {
                    Json(c.advance_clock(by))
                },
            ),
        )
        .route(
            "/control/sdprop",
            post(
                |State(c): State<Arc<dyn LabControl>>, Json(req): Json<RunSdprop>| async move {
                    match c.sdprop(req).await {
                        Ok(runs) => Ok(Json(runs)),
                        Err(e) => Err((
                            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
                            Json(e),
                        )),
                    }
                },
            ),
        )
        .route(
            "/control/dc/{domain}/{name}",
            get(|State(c): State<Arc<dyn LabControl>>, Path((d, n)): Path<(String, String)>| async move {
                answer(c.dc(d, n, DcAction::Show).await)
            }),
        )
        .route(
            "/control/dc/{domain}/{name}/stop",
            post(|State(c): State<Arc<dyn LabControl>>, Path((d, n)): Path<(String, String)>| async move {
                answer(c.dc(d, n, DcAction::Stop).await)
            }),
        )
        .route(
            "/control/dc/{domain}/{name}/start",
            post(|State(c): State<Arc<dyn LabControl>>, Path((d, n)): Path<(String, String)>| async move {
                answer(c.dc(d, n, DcAction::Start).await)
            }),
        )
        .route(
            "/control/dc/{domain}/{name}/delay",
            post(
                |State(c): State<Arc<dyn LabControl>>,
                 Path((d, n)): Path<(String, String)>,
                 Json(delays): Json<fake_ad::domain::Delays>| async move {
                    answer(c.dc(d, n, DcAction::Delay(delays)).await)
                },
            ),
        )
        .route(
            "/control/link",
            post(|State(c): State<Arc<dyn LabControl>>, Json(req): Json<LinkRequest>| async move { answer(c.link(req).await) }),
        )
        .route(
            "/control/refusals/{domain}/{dc}",
            get(|State(c): State<Arc<dyn LabControl>>, Path((d, n)): Path<(String, String)>| async move {
                answer(c.refusals(d, n))
            }),
        )
        .route(
            "/control/replication/{domain}",
            get(|State(c): State<Arc<dyn LabControl>>, Path(d): Path<String>| async move { answer(c.replication(d)) }),
        )
        .route(
            "/control/propagation",
            get(|State(c): State<Arc<dyn LabControl>>| async move { Json(c.propagation()) }).post(
                |State(c): State<Arc<dyn LabControl>>, Json(req): Json<SetPropagation>| async move { answer(c.set_propagation(req)) },
            ),
        )
        .route(
            "/control/gpo/{domain}",
            get(|State(c): State<Arc<dyn LabControl>>, Path(d): Path<String>| async move { answer(c.gpo(d)) }),
        )
        .route(
            "/control/gpo",
            post(|State(c): State<Arc<dyn LabControl>>, Json(req): Json<SetGpo>| async move { answer(c.set_gpo(req).await) }),
        )
        .route(
            "/control/gpupdate",
            post(|State(c): State<Arc<dyn LabControl>>, Json(req): Json<Gpupdate>| async move { answer(c.gpupdate(req).await) }),
        )
        .with_state(ctl)
}
