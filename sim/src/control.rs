//! The control API (DESIGN §8): how anything outside the parts acts on a running lab. Each route
//! is one method of [`LabControl`]; the HTTP API here is only its adapter, and the simulation's
//! timeline driver calls the same trait in-process. Later issues add a route and its method
//! together.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::State;
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
}

/// The routes, for `GET /control`.
const ROUTES: &[&str] = &[
    "GET /control/clock",
    "POST /control/clock {\"advance_secs\": N}",
    "POST /control/sdprop {\"domain\": \"contoso.lab\"} (domain optional)",
];

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
        .with_state(ctl)
}
