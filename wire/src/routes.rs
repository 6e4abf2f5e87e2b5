//! The relay's routes (DESIGN §4): methods, path templates and path builders.
//!
//! Templates use axum 0.8's `{name}` syntax so fake-cloud can mount them as they are; the builders
//! give the concrete path a client sends. Every path starts with [`PREFIX`], which carries
//! [`PROTOCOL_VERSION`].

/// The relay protocol's version: the `v1` in every path, and what [`crate::seal`]'s info string
/// names. A change that an older peer would misread gets a new version and a new prefix.
pub const PROTOCOL_VERSION: u32 = 1;

/// The common prefix of every relay route, `/relay/v1`.
pub const PREFIX: &str = "/relay/v1";

/// Who may call a route, and with which `Authorization` header (see [`crate::auth`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Caller {
    /// A person: `Authorization: Bearer <access token>` from the lab's token service, carrying
    /// the role the route names.
    Admin,
    /// A registered agent: `Authorization: Agent <agent id>.<secret>` ([`crate::auth`]).
    Agent,
}

/// One relay route: its method, path template and caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template, with `{domain}` / `{id}` placeholders in axum 0.8 syntax.
    pub path: &'static str,
    /// Who calls it and how it authenticates.
    pub caller: Caller,
}

/// `PUT /relay/v1/domains/{domain}/writeback` with [`crate::types::SetWritebackRequest`]: sets
/// the domain's cloud sync writeback flag (what the agent's `writeback enable|disable` calls).
/// A Hybrid Identity Administrator or Global Administrator token; answers
/// [`crate::types::WritebackState`].
pub const SET_WRITEBACK: Route = Route {
    method: "PUT",
    path: "/relay/v1/domains/{domain}/writeback",
    caller: Caller::Admin,
};

/// `POST /relay/v1/agents` with [`crate::types::RegisterRequest`]: registers an agent with a
/// Hybrid Identity Administrator token; answers 201 [`crate::types::RegisterResponse`] (the agent
/// id and secret).
pub const REGISTER_AGENT: Route = Route {
    method: "POST",
    path: "/relay/v1/agents",
    caller: Caller::Admin,
};

/// `POST /relay/v1/poll` with [`crate::types::PollRequest`]: the agent's long-poll for jobs;
/// answers [`crate::types::PollResponse`].
pub const POLL: Route = Route {
    method: "POST",
    path: "/relay/v1/poll",
    caller: Caller::Agent,
};

/// `POST /relay/v1/jobs/{id}/ack` with [`crate::types::AckRequest`]: the agent takes the job,
/// before any LDAP write; answers [`crate::types::AckResponse`].
pub const ACK: Route = Route {
    method: "POST",
    path: "/relay/v1/jobs/{id}/ack",
    caller: Caller::Agent,
};

/// `POST /relay/v1/jobs/{id}/result` with [`crate::types::JobResult`]: the job's outcome,
/// idempotent by job id; answers [`crate::types::ResultResponse`].
pub const RESULT: Route = Route {
    method: "POST",
    path: "/relay/v1/jobs/{id}/result",
    caller: Caller::Agent,
};

/// Every relay route, in the order the protocol uses them.
pub const ALL: [Route; 5] = [SET_WRITEBACK, REGISTER_AGENT, POLL, ACK, RESULT];

/// The concrete path of [`SET_WRITEBACK`] for `domain` (percent-encoded where it needs to be).
pub fn set_writeback(domain: &str) -> String {
    format!("{PREFIX}/domains/{}/writeback", encode_segment(domain))
}

/// The concrete path of [`REGISTER_AGENT`].
pub fn register_agent() -> String {
    format!("{PREFIX}/agents")
}

/// The concrete path of [`POLL`].
pub fn poll() -> String {
    format!("{PREFIX}/poll")
}

/// The concrete path of [`ACK`] for job `job_id`.
pub fn ack(job_id: &str) -> String {
    format!("{PREFIX}/jobs/{}/ack", encode_segment(job_id))
}

/// The concrete path of [`RESULT`] for job `job_id`.
pub fn result(job_id: &str) -> String {
    format!("{PREFIX}/jobs/{}/result", encode_segment(job_id))
}

/// Percent-encodes one path segment: RFC 3986 unreserved characters pass, every other byte of the
/// UTF-8 becomes `%XX`. DNS names and [`crate::types::JobId`]s pass unchanged.
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_fill_the_templates() {
        assert_eq!(
            set_writeback("contoso.lab"),
            SET_WRITEBACK.path.replace("{domain}", "contoso.lab")
        );
        assert_eq!(register_agent(), REGISTER_AGENT.path);
        assert_eq!(poll(), POLL.path);
        assert_eq!(ack("j-1"), "/relay/v1/jobs/j-1/ack");
        assert_eq!(result("j-1"), "/relay/v1/jobs/j-1/result");
        assert_eq!(
            set_writeback("a b/c"),
            "/relay/v1/domains/a%20b%2Fc/writeback"
        );
        for r in ALL {
            assert!(r.path.starts_with(PREFIX));
        }
        assert_eq!(PREFIX, format!("/relay/v{PROTOCOL_VERSION}"));
    }
}
