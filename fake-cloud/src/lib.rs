//! The fake Entra tenant: users, SSPR settings and flows, token service, Graph-shaped API, audit
//! log and the relay. Issue [D] fills it; what exists so far is listed below.

pub mod decision;
pub mod flows;
pub mod graph;
pub mod password_policy;
pub mod portal;
pub mod relay;
pub mod tenant;
pub mod token;
