//! The contract between fake-cloud's relay and the writeback agent (DESIGN §4 "The relay"):
//! routes, bodies, the job and its result, the outcome tables and the sealing format. This crate
//! does no I/O — no sockets, no clock, no OS randomness: callers pass randomness in
//! (`&mut impl rand_core::CryptoRng`, rand_core 0.10) and time as values (unix ms of lab time).
//! These docs are the protocol's specification; fake-cloud serves it and the agent speaks it.
//!
//! # Transport
//! HTTP/1.1, over TLS on the lab's HTTPS listener (and, for curl and quick scripts, on its plain
//! HTTP listener too). Bodies are JSON (`Content-Type: application/json`); every 4xx carries a
//! [`types::RelayError`] `{"code": "...", "message": "..."}` whose message names the field or
//! state at fault. Paths start with [`routes::PREFIX`] `/relay/v1`; the `1` is
//! [`routes::PROTOCOL_VERSION`]. Within a version, request bodies deny unknown fields (a 400 names
//! the field) and responses may gain optional fields, never rename one. All times are the lab
//! clock's (unix ms), which is why [`types::PollResponse::now_ms`] exists.
//!
//! # Authentication
//! - Admin routes ([`routes::SET_WRITEBACK`], [`routes::REGISTER_AGENT`]): `Authorization:
//!   Bearer <access token>` from the lab's token service, with the role the route names.
//! - Agent routes ([`routes::POLL`], [`routes::ACK`], [`routes::RESULT`]): `Authorization: Agent
//!   <agent id>.<secret>` ([`auth`]), from registration. The cloud stores only
//!   [`auth::secret_verifier`].
//!
//! # The protocol, end to end
//! 1. **Writeback flag.** `PUT /relay/v1/domains/{domain}/writeback {"enabled": true}` with a
//!    Hybrid Identity Administrator or Global Administrator token sets the domain's cloud sync
//!    writeback flag (what `agent writeback enable|disable` calls) → 200
//!    [`types::WritebackState`]; 403 for another role, 404 for an unknown domain.
//! 2. **Registration.** The agent makes an X25519 key pair once ([`seal::AgentKey::generate`])
//!    and persists it. `POST /relay/v1/agents` with a Hybrid Identity Administrator token and
//!    [`types::RegisterRequest`] `{domain, engine, version, public_key}` → 201
//!    [`types::RegisterResponse`] `{agent_id, secret, domain, engine}`; 400 for a bad field
//!    (including a low-order key), 404 for an unknown domain, 409 for a key already registered.
//!    The secret is shown once.
//! 3. **Long-poll.** The agent keeps one `POST /relay/v1/poll` [`types::PollRequest`] `{max_jobs,
//!    wait_ms}` open at a time (max_jobs 1–[`types::MAX_POLL_JOBS`], wait_ms 0–
//!    [`types::MAX_POLL_WAIT_MS`]). The cloud answers as soon as a job for the agent's domain is
//!    waiting, with up to max_jobs of them, or after wait_ms with none:
//!    [`types::PollResponse`] `{jobs, now_ms}`. An agent with a poll open, or one that ended
//!    moments ago, is what the cloud counts as a healthy agent for the domain (no healthy agent →
//!    the cloud refuses up front with SSPR_0030, facts §1.1). Each job goes to one agent at a
//!    time: the first healthy agent of the domain to poll (facts §1.5, no affinity).
//! 4. **Ack before any write.** For each job, the agent checks it ([`types::Job::validate`]), then
//!    `POST /relay/v1/jobs/{id}/ack` [`types::AckRequest`] `{attempt}` → 200
//!    [`types::AckResponse`] `{job_id, attempt, deadline_ms}`, and only then opens the secrets
//!    ([`types::Job::open`]) and writes. Repeating the ack is harmless (200 again). 404: the job
//!    was never offered to this agent; 409: it has since been offered again (a newer attempt) or
//!    acked by another agent; 410: its deadline has passed. On 409/410 the agent drops the job
//!    without writing. An agent starts no write after `deadline_ms`.
//! 5. **The write** (the agent's side, DESIGN §4 "agent"): find the user by
//!    [`types::Target::anchor`], then one Modify per the kind, with the job-id LDAP control.
//!    Failover between DCs only on connect, TLS or bind failure; once a Modify is sent, no answer
//!    ends the job as [`types::Outcome::Unknown`], never a second write.
//! 6. **Result, idempotent by job id.** `POST /relay/v1/jobs/{id}/result` [`types::JobResult`]
//!    `{job_id, outcome, onprem?, event_id?, dc?, timings}` → 200 [`types::ResultResponse`]
//!    `{job_id, outcome, duplicate, late}`. The first result for an acked job is final; posting
//!    again (e.g. after a dropped connection) changes nothing and answers the recorded outcome
//!    with `duplicate: true`, so an agent retries a result post until it gets an answer. 400: the
//!    path's id and the body's differ, or a bad field; 404: unknown job; 409: the job was not
//!    acked by this agent.
//! 7. **Re-offer.** An offered job stays bound to the connection whose poll answer carried it. If
//!    that connection closes before the job is acked — or no ack comes within
//!    [`types::ACK_TIMEOUT_MS`] — the job is offered again, `attempt` + 1, to the next poll of any
//!    healthy agent of the domain. Nothing was written for an unacked job, so a re-offer is safe.
//!    An agent therefore acks over the connection it polled on (HTTP/1.1 keep-alive).
//! 8. **Deadline.** Every job has a `deadline_ms`. An acked job with no result by then fails as
//!    [`types::Outcome::DeadlineExceeded`], which the user sees as SSPR_0030, and it is never
//!    offered again (the write may have happened: the outcome is "in doubt",
//!    [`types::Outcome::is_in_doubt`]). A result that arrives later is kept for the audit trail
//!    with `late: true`. A job still unacked at its deadline fails the same way; nothing was
//!    written.
//!
//! # Sealing
//! The new password (and for a change the old one) travel only inside [`seal::Sealed`], sealed
//! to the chosen agent's key with X25519-HKDF-SHA256 + AES-256-GCM and bound to the job id (HKDF
//! info and AAD), so a blob replayed into another job, or opened with another agent's key, fails.
//! See [`seal`] for the exact construction. Passwords are `secrecy::SecretString` everywhere
//! here: `Debug` of a job, its secrets or a registration shows `[REDACTED]`, never a password.
//!
//! # Outcomes
//! [`types::Outcome`] lists success and each failure class the product distinguishes, with the
//! agent event ID ([`types::Outcome::event_id`], facts §6.1) and what the user sees
//! ([`types::Outcome::user_facing`], [`types::Outcome::sspr_code`], facts §5.4); the table is on
//! the enum.
//!
//! # Example
//! ```
//! use wire::{seal, types::*};
//! # use rand_core::SeedableRng;
//! # let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
//! let agent = seal::AgentKey::generate(&mut rng);
//! let id = JobId::new("9b3a6a3e-0c8f-4d55-9a61-3b2a1d7c6e10").unwrap();
//! let secrets = seal::Secrets::reset("Lab-New-Passw0rd2".into());
//! let job = Job {
//!     id: id.clone(),
//!     kind: JobKind::Reset,
//!     target: Target {
//!         domain: "contoso.lab".into(),
//!         anchor: uuid::Uuid::from_u128(7),
//!         sam_account_name: Some("alice".into()),
//!         dn: None,
//!     },
//!     sealed: Some(seal::seal(&agent.public(), id.as_str(), &secrets, &mut rng).unwrap()),
//!     unlock: true,
//!     must_change: false,
//!     deadline_ms: 1_700_000_060_000,
//!     attempt: 1,
//! };
//! job.validate().unwrap();
//! let opened = job.open(&agent).unwrap().unwrap();
//! # use secrecy::ExposeSecret;
//! assert_eq!(opened.new_password.expose_secret(), "Lab-New-Passw0rd2");
//! let result = JobResult::new(id, job.kind, Outcome::Succeeded);
//! assert_eq!(result.event_id, Some(31002));
//! ```
#![deny(missing_docs)]

pub mod auth;
pub mod routes;
pub mod seal;
pub mod types;

pub use routes::PROTOCOL_VERSION;

#[cfg(test)]
mod tests;
