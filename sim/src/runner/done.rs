//! One password operation of a run: performed through its route, followed to its end, joined to
//! its relay job and audit row, and counted against the expectations.

use fake_cloud::relay::JobStatus;
use runtime::LabTime;
use secrecy::{ExposeSecret, SecretString};
use wire::types::Outcome as JobOutcome;

use crate::ops::{Actor, Ended, perform};
use crate::report::record::{Expectation, Writeback, WritebackOutcome, hops_from_status};
use crate::scenario::names::{Op, Outcome, PasswordKind};
use crate::scenario::{Hop, Source, Which};

use super::{Ctx, Known, passwords};

/// One operation as it ended.
#[derive(Clone, Debug)]
pub struct Done {
    /// The timeline or the workload.
    pub source: Source,
    /// What it was.
    pub op: Op,
    /// The target (UPN).
    pub user: String,
    /// The target's domain.
    pub domain: String,
    /// The engine that serves the domain, when it is an on-premises one.
    pub engine: Option<wire::types::Engine>,
    /// When it was started and when it ended (lab time).
    pub submitted: LabTime,
    /// When it ended.
    pub ended: LabTime,
    /// `succeeded`, `failed` or `refused`, as the person saw it.
    pub status: String,
    /// The code or error the person was shown.
    pub code: Option<String>,
    /// The audit row's reason (failures), e.g. `ADPermissionsError`.
    pub reason: Option<String>,
    /// The relay job, when one was made.
    pub job: Option<JobStatus>,
}

impl Done {
    /// Whether the person was told it succeeded.
    pub fn succeeded(&self) -> bool {
        self.status == "succeeded"
    }

    /// Whether a job reached a DC and succeeded.
    pub fn written_back(&self) -> bool {
        self.succeeded()
            && self
                .job
                .as_ref()
                .and_then(|j| j.result.as_ref())
                .is_some_and(|r| r.outcome == JobOutcome::Succeeded)
    }

    /// Whether it counts as `outcome`.
    pub fn is(&self, outcome: &Outcome) -> bool {
        match outcome {
            Outcome::Succeeded => self.succeeded(),
            Outcome::Failed => !self.succeeded(),
            Outcome::Refused => !self.succeeded() && self.job.is_none(),
            Outcome::FailedOnPremises => !self.succeeded() && self.job.is_some(),
            Outcome::WrittenBack => self.written_back(),
            Outcome::CloudOnly => self.succeeded() && self.job.is_none(),
            Outcome::Code(c) => {
                let shown = [c.as_str(), outcome.as_str()];
                self.code.as_deref().is_some_and(|x| shown.contains(&x))
                    || self.reason.as_deref().is_some_and(|r| {
                        matches!(
                            (outcome.as_str(), r),
                            ("FuzzyPolicy", "FuzzyPolicyViolationInvalidPassword")
                                | ("OnPremisesPolicyViolation", "ADPasswordPolicyError")
                                | (
                                    "OnPremisesSuccessCloudFailure",
                                    "OnPremisesSuccessCloudFailure"
                                )
                        )
                    })
            }
            // The audit row's reason, or the same word as the refusal's code (the portal's).
            Outcome::Reason(r) => {
                self.reason.as_deref() == Some(*r) || self.code.as_deref() == Some(*r)
            }
        }
    }

    /// The record the reports read.
    pub fn writeback(&self) -> Writeback {
        let outcome = match self.job.as_ref().and_then(|j| j.result.as_ref()) {
            Some(r) => WritebackOutcome::Job(r.outcome),
            None if self.succeeded() => WritebackOutcome::Cloud("CloudOnly".into()),
            None => WritebackOutcome::Cloud(
                self.reason
                    .clone()
                    .or_else(|| self.code.clone())
                    .unwrap_or_else(|| "Refused".into()),
            ),
        };
        let result = self.job.as_ref().and_then(|j| j.result.as_ref());
        Writeback {
            job_id: self.job.as_ref().map(|j| j.job_id.to_string()),
            operation: self.op.as_str().to_string(),
            kind: self.job.as_ref().map(|j| j.kind),
            domain: self.domain.clone(),
            engine: self.job.as_ref().and(self.engine),
            user: self.user.clone(),
            submitted: self.submitted,
            ended: Some(self.ended),
            outcome,
            user_code: (!self.succeeded()).then(|| self.code.clone()).flatten(),
            dc: result.and_then(|r| r.dc.clone()),
            onprem: result.and_then(|r| r.onprem.clone()),
            hops: self.job.as_ref().map(hops_from_status).unwrap_or_default(),
        }
    }

    /// The microseconds of hop `h`, when this operation has it.
    pub fn hop(&self, h: Hop) -> Option<u64> {
        let us = |a: LabTime, b: LabTime| b.0.saturating_sub(a.0) / 1_000;
        let j = self.job.as_ref();
        match h {
            Hop::Total => Some(us(self.submitted, self.ended)),
            Hop::AcceptToQueue => j.map(|j| us(self.submitted, j.submitted_at)),
            Hop::QueueToOffer => j.and_then(|j| Some(us(j.submitted_at, j.offered_at?))),
            Hop::OfferToAck => j.and_then(|j| Some(us(j.offered_at?, j.acked_at?))),
            Hop::AckToResult => j.and_then(|j| Some(us(j.acked_at?, j.done_at?))),
            Hop::ResultToTerminal => j.and_then(|j| Some(us(j.done_at?, self.ended))),
            Hop::Replication => None,
            agent => j
                .and_then(|j| j.result.as_ref())
                .and_then(|r| r.timings.iter().find(|t| t.name == agent.as_str()))
                .map(|t| t.micros),
        }
    }
}

/// Performs `op` on `user` (by `by` for admin tools) with a password of `kind`, records and
/// returns how it ended.
pub(crate) async fn operate(
    ctx: &Ctx<'_>,
    source: Source,
    op: Op,
    user: &str,
    by: Option<&str>,
    kind: PasswordKind,
) -> Done {
    let key = user.to_ascii_lowercase();
    let known: Option<Known> = ctx.known.lock().expect("known lock").get(&key).cloned();
    let (new, current) = {
        let mut rng = ctx.rng.lock().expect("rng lock");
        let k = known.as_ref();
        let previous = k.and_then(|k| k.history.iter().rev().nth(1).cloned());
        let new = passwords::make(
            kind,
            &mut rng,
            k.map(|k| k.surname.as_str()).unwrap_or("Person"),
            previous.as_deref(),
        );
        let current = if kind == PasswordKind::WrongCurrent {
            passwords::valid(&mut rng)
        } else {
            k.map(|k| k.cloud.clone())
                .unwrap_or_else(|| ctx.creds.user.clone())
        };
        (new, SecretString::from(current))
    };
    let admin_upn = ctx.admin(by, "helpdesk");
    let admin_pw = ctx.admin_password();
    let actor = if op.by_admin() {
        Actor::Admin {
            upn: &admin_upn,
            password: &admin_pw,
        }
    } else {
        Actor::User { current: &current }
    };
    let submitted = ctx.lab.clock.now();
    let ended = match perform(&ctx.client, op.operation(), user, &actor, &new).await {
        Ok(e) => e,
        Err(e) => Ended {
            status: "failed".into(),
            code: Some(format!("client error: {e}")),
            operation: None,
        },
    };
    let tenant = &ctx.lab.cloud.cloud.flows.tenant;
    let job = ended.operation.as_deref().and_then(|opn| {
        let uid = tenant.user(user)?.id;
        let opn = opn.parse().ok()?;
        let id = tenant.operation(uid, opn)?.job?;
        ctx.lab
            .cloud
            .cloud
            .flows
            .relay
            .job(&wire::types::JobId::new(&id).ok()?)
    });
    let since = submitted.rfc3339();
    let reason = tenant
        .last_audit_for(user, &since)
        .map(|r| r.result_reason)
        .filter(|r| !r.is_empty());
    let domain = user.split('@').nth(1).unwrap_or_default().to_string();
    let engine = ctx
        .lab
        .spec
        .forests
        .iter()
        .flat_map(|f| f.domains.iter())
        .find(|d| d.dns.eq_ignore_ascii_case(&domain))
        .map(|d| match d.engine {
            crate::spec::Engine::CloudSync => wire::types::Engine::CloudSync,
            crate::spec::Engine::ConnectSync => wire::types::Engine::ConnectSync,
        });
    let done = Done {
        source,
        op,
        user: user.to_string(),
        domain,
        engine,
        submitted,
        // The server's end: the job's result, else when the person saw it end.
        ended: job
            .as_ref()
            .and_then(|j| j.done_at)
            .unwrap_or_else(|| ctx.lab.clock.now()),
        status: ended.status.clone(),
        code: ended.code.clone(),
        reason,
        job,
    };
    if done.succeeded() && op.sets_password() {
        let mut all = ctx.known.lock().expect("known lock");
        if let Some(k) = all.get_mut(&key) {
            let pw = new.expose_secret().to_string();
            // OnPremisesSuccessCloudFailure: AD took it, the cloud kept the old one.
            if done.code.as_deref() != Some("OnPremisesSuccessCloudFailure") {
                k.cloud = pw.clone();
            }
            if done.written_back() {
                k.ad = pw.clone();
            }
            k.last_set = Some(pw.clone());
            k.history.push(pw);
        }
    }
    ctx.done.lock().expect("done lock").push(done.clone());
    ctx.emit(super::Event::Operation(Box::new(done.clone())));
    done
}

/// Checks the scenario's expectations against the run.
pub(crate) async fn expectations(ctx: &Ctx<'_>, done: &[Done]) -> Vec<Expectation> {
    let e = &ctx.scenario.expect;
    let mut out = Vec::new();
    for c in &e.outcomes {
        let n = done
            .iter()
            .filter(|d| c.op.is_none_or(|op| op == d.op))
            .filter(|d| {
                c.domain
                    .as_deref()
                    .is_none_or(|x| x.eq_ignore_ascii_case(&d.domain))
            })
            .filter(|d| {
                c.user
                    .as_deref()
                    .is_none_or(|x| x.eq_ignore_ascii_case(&d.user))
            })
            .filter(|d| c.source.is_none_or(|s| s == d.source))
            .filter(|d| d.is(&c.outcome))
            .count() as u64;
        let mut name = format!("outcome {}", c.outcome.as_str());
        if let Some(op) = c.op {
            name.push_str(&format!(" of {}", op.as_str()));
        }
        if let Some(u) = &c.user {
            name.push_str(&format!(" for {u}"));
        } else if let Some(d) = &c.domain {
            name.push_str(&format!(" in {d}"));
        }
        if let Some(s) = c.source {
            name.push_str(&format!(" ({})", super::source_name(s)));
        }
        out.push(Expectation {
            name,
            expected: c.bounds(),
            observed: n.to_string(),
            passed: c.holds(n),
        });
    }
    for l in &e.latency {
        let mut v: Vec<u64> = done
            .iter()
            .filter(|d| {
                l.domain
                    .as_deref()
                    .is_none_or(|x| x.eq_ignore_ascii_case(&d.domain))
            })
            .filter(|d| {
                l.engine.is_none_or(|eng| {
                    ctx.lab
                        .spec
                        .forests
                        .iter()
                        .flat_map(|f| f.domains.iter())
                        .any(|x| x.dns.eq_ignore_ascii_case(&d.domain) && x.engine == eng)
                })
            })
            .filter_map(|d| d.hop(l.hop))
            .collect();
        v.sort_unstable();
        let name = format!("p{} {}", l.p, l.hop.as_str());
        let bound = l.under.get().as_micros() as u64;
        let (observed, passed) = if v.is_empty() {
            ("not measured".to_string(), false)
        } else {
            let rank = ((l.p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
            let x = v[rank.min(v.len()) - 1];
            (format!("{:.1} ms", x as f64 / 1000.0), x < bound)
        };
        out.push(Expectation {
            name,
            expected: format!("< {:.1} ms", bound as f64 / 1000.0),
            observed,
            passed,
        });
    }
    for u in &e.users {
        out.extend(user_end(ctx, u).await);
    }
    out
}

/// A user's final state, checked by binds on every DC and a cloud sign-in.
async fn user_end(ctx: &Ctx<'_>, u: &crate::scenario::UserEnd) -> Vec<Expectation> {
    let mut out = Vec::new();
    let key = u.user.to_ascii_lowercase();
    let Some(k) = ctx.known.lock().expect("known lock").get(&key).cloned() else {
        return vec![Expectation {
            name: format!("{} exists", u.user),
            expected: "a user of the lab".into(),
            observed: "unknown".into(),
            passed: false,
        }];
    };
    let domain = u.user.split('@').nth(1).unwrap_or_default().to_string();
    // Let replication settle before binding on every DC.
    ctx.lab.settle().await;
    let dcs: Vec<String> = ctx
        .lab
        .endpoints
        .iter()
        .filter(|e| e.domain.eq_ignore_ascii_case(&domain))
        .map(|e| e.dc.name.clone())
        .collect();
    let pick = |w: Which| -> Option<String> {
        match w {
            Which::Initial => Some(k.initial.clone()),
            Which::LastSet => k.last_set.clone(),
            Which::None => None,
        }
    };
    // What each DC answers to the initial and the last-set password.
    let mut answers = Vec::new();
    for dc in &dcs {
        let mut per = Vec::new();
        for w in [Which::Initial, Which::LastSet] {
            let code = match pick(w) {
                Some(pw) => ctx
                    .client
                    .bind(&domain, dc, &u.user, &SecretString::from(pw))
                    .await
                    .map(|(rc, text)| diag_of(rc, &text))
                    .unwrap_or_else(|e| e.to_string()),
                None => "none".into(),
            };
            per.push(code);
        }
        answers.push((dc.clone(), per));
    }
    // 0, 773 (must change), 532 (expired), 775 (locked) all mean the password is right.
    let accepts = |code: &str| matches!(code, "ok" | "773" | "532" | "775");
    if let Some(w) = u.binds_with {
        let observed: Vec<String> = answers
            .iter()
            .map(|(dc, per)| {
                let which = if accepts(&per[0]) && pick(Which::Initial).is_some() {
                    "initial"
                } else if accepts(&per[1]) {
                    "last_set"
                } else {
                    "none"
                };
                format!("{dc}: {which}")
            })
            .collect();
        let want = match w {
            Which::Initial => "initial",
            Which::LastSet => "last_set",
            Which::None => "none",
        };
        let passed = observed.iter().all(|o| o.ends_with(want))
            || (w == Which::LastSet
                && k.last_set.as_deref() == Some(k.initial.as_str())
                && observed.iter().all(|o| o.ends_with("initial")));
        out.push(Expectation {
            name: format!("{} binds with", u.user),
            expected: want.into(),
            observed: observed.join(", "),
            passed,
        });
    }
    let state_of = |code: &str| answers.iter().any(|(_, per)| per.iter().any(|c| c == code));
    if let Some(locked) = u.locked {
        let is = state_of("775");
        out.push(Expectation {
            name: format!("{} locked", u.user),
            expected: locked.to_string(),
            observed: is.to_string(),
            passed: is == locked,
        });
    }
    if let Some(must) = u.must_change {
        let is = state_of("773");
        out.push(Expectation {
            name: format!("{} must change", u.user),
            expected: must.to_string(),
            observed: is.to_string(),
            passed: is == must,
        });
    }
    if let Some(w) = u.signs_in_with {
        let try_pw = |pw: Option<String>| async {
            match pw {
                None => false,
                Some(pw) => match ctx.client.token(&u.user, &SecretString::from(pw)).await {
                    Ok(_) => true,
                    // 50055: the password is right, it must be changed.
                    Err(e) => e.to_string().contains("50055"),
                },
            }
        };
        let initial = try_pw(pick(Which::Initial)).await;
        let last = try_pw(pick(Which::LastSet)).await;
        let observed = if initial {
            "initial"
        } else if last {
            "last_set"
        } else {
            "none"
        };
        let want = match w {
            Which::Initial => "initial",
            Which::LastSet => "last_set",
            Which::None => "none",
        };
        out.push(Expectation {
            name: format!("{} signs in with", u.user),
            expected: want.into(),
            observed: observed.into(),
            passed: observed == want,
        });
    }
    out
}

/// A bind's answer in short: `ok`, or the `data` code of a 49 (`52e`, `773`, `775`…).
fn diag_of(rc: u32, text: &str) -> String {
    if rc == 0 {
        return "ok".into();
    }
    text.split("data ")
        .nth(1)
        .and_then(|t| t.split(',').next())
        .map(|d| d.trim().to_string())
        .unwrap_or_else(|| format!("rc {rc}"))
}
