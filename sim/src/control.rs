//! The control API (DESIGN §8): how anything outside the parts acts on a running lab. Each route
//! is one method of [`LabControl`]; the HTTP API here is only its adapter, and the simulation's
//! timeline driver calls the same trait in-process. Later issues add a route and its method
//! together.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
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

/// One method per control route.
pub trait LabControl: Send + Sync + 'static {
    /// `GET /control/clock`: the lab clock.
    fn clock(&self) -> ClockStatus;
    /// `POST /control/clock {"advance_secs": N}`: move the lab clock forward (never back).
    fn advance_clock(&self, by: AdvanceClock) -> ClockStatus;
}

/// The routes, for `GET /control`.
const ROUTES: &[&str] = &[
    "GET /control/clock",
    "POST /control/clock {\"advance_secs\": N}",
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
        .with_state(ctl)
}
