//! The password operations as the tenant runs them: each starts with the decision table, runs
//! the cloud password checks it names, and either stores the cloud password, or sends a job to an
//! agent of the user's domain through the relay and concludes when the result comes back. Every
//! path writes its audit row; a refusal writes only that.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;
use wire::seal::Secrets;
use wire::types::{JobKind, Outcome, Target as WireTarget};

use crate::decision::{
    self, Caller, Channel, CloudResult, Completion, Decision, Engine, Inputs, OnPremisesFailure,
    Operation, PasswordChecks, Route, Source, Synced,
};
use crate::password_policy::{CloudPolicy, UserContext};
use crate::relay::{JobSpec, Relay};
use crate::tenant::{CloudUser, OpStatus, Tenant, UserSource};

/// How long an operation waits for its agent (facts §1.4's cloud-side wait, the lab's knob).
pub const WRITEBACK_DEADLINE: Duration = Duration::from_secs(60);

/// What the operations need.
pub struct Flows {
    /// The tenant.
    pub tenant: Arc<Tenant>,
    /// The relay to agents.
    pub relay: Relay,
    /// The cloud password policy.
    pub policy: CloudPolicy,
}

/// A started operation: its decision and, when it went on-premises, the long-running operation.
#[derive(Debug)]
pub struct Started {
    /// The table's decision at the start.
    pub decision: Decision,
    /// The operation id (Graph's Location), when one was created.
    pub operation: Option<Uuid>,
}

impl Flows {
    /// The table's inputs for `target` as the tenant and relay see them now.
    pub fn inputs(&self, target: &CloudUser, caller: Caller) -> Inputs {
        let source = match &target.source {
            UserSource::CloudOnly => Source::CloudOnly,
            UserSource::Synced(l) => Source::Synced(Synced {
                engine: match l.engine {
                    wire::types::Engine::CloudSync => Engine::CloudSync {
                        domain_writeback: self.relay.writeback(&l.domain),
                    },
                    wire::types::Engine::ConnectSync => Engine::ConnectSync,
                },
                in_scope: l.in_scope,
                agent_healthy: !self.relay.healthy_agents(&l.domain).is_empty(),
            }),
        };
        Inputs {
            settings: self.tenant.settings(),
            target: decision::Target {
                roles: target.roles,
                source,
            },
            caller,
            throttled: false,
        }
    }

    /// Runs a password reset or change `op` of `target` by `initiator` (an UPN or app id for the
    /// audit row). `new_password` is checked by the cloud policy the table names.
    pub fn start(
        self: &Arc<Self>,
        op: Operation,
        target: &CloudUser,
        caller: Caller,
        initiator: &str,
        new_password: &str,
        must_change: bool,
    ) -> Started {
        self.start_with(
            op,
            target,
            caller,
            initiator,
            Some(new_password),
            None,
            must_change,
        )
    }

    /// [`Flows::start`] with every option: no new password (unlock only), the old password of a
    /// change. SSPR portal operations count towards throttling.
    #[allow(clippy::too_many_arguments)]
    pub fn start_with(
        self: &Arc<Self>,
        op: Operation,
        target: &CloudUser,
        caller: Caller,
        initiator: &str,
        new_password: Option<&str>,
        old_password: Option<&str>,
        must_change: bool,
    ) -> Started {
        let portal = matches!(
            op,
            Operation::SelfServiceReset
                | Operation::SelfServiceUnlockAndReset
                | Operation::SelfServiceUnlockOnly
        );
        let mut inputs = self.inputs(target, caller);
        inputs.throttled = portal && self.tenant.throttled(target.id);
        if portal {
            self.tenant.count_attempt(target.id);
        }
        let new_password = new_password.unwrap_or_default();
        let decision = decision::decide(op, &inputs);
        let user = UserContext {
            given_name: &target.given,
            surname: &target.surname,
        };
        let route = match decision.cloud_result {
            CloudResult::Allowed(route) => route,
            _ => {
                self.tenant.audit(&decision.audit, initiator, &target.upn);
                return Started {
                    decision,
                    operation: None,
                };
            }
        };
        // The cloud checks before anything is stored or sent.
        let pre = match decision.checks {
            PasswordChecks::Full => self.policy.check(new_password, &user),
            PasswordChecks::BannedThenWriteback { .. } => {
                self.policy.check_banned(new_password, &user).map(|_| ())
            }
            PasswordChecks::None => Ok(()),
        };
        if let Err(failure) = pre {
            let d = decision::conclude(op, &inputs, Completion::CloudPolicyRejected(failure))
                .unwrap_or(decision);
            self.tenant.audit(&d.audit, initiator, &target.upn);
            return Started {
                decision: d,
                operation: None,
            };
        }
        let opn = self.tenant.new_operation(target.id);
        match route {
            Route::CloudUser | Route::CloudOnly => {
                self.store_password(op, target, new_password, must_change);
                self.tenant
                    .update_operation(opn.id, OpStatus::Succeeded, None, None);
                self.tenant.audit(&decision.audit, initiator, &target.upn);
            }
            Route::WriteBack => {
                let UserSource::Synced(link) = &target.source else {
                    unreachable!("the table writes back synced users only")
                };
                let (kind, secrets, unlock) = match op {
                    Operation::SelfServiceUnlockOnly => (JobKind::Unlock, None, true),
                    Operation::SelfServiceReset | Operation::SelfServiceUnlockAndReset => (
                        JobKind::Reset,
                        Some(Secrets::reset(new_password.to_string().into())),
                        true,
                    ),
                    Operation::VoluntaryChange | Operation::ForcedChange => (
                        JobKind::Change,
                        Some(Secrets::change(
                            old_password.unwrap_or_default().to_string().into(),
                            new_password.to_string().into(),
                        )),
                        false,
                    ),
                    _ => (
                        JobKind::AdminReset,
                        Some(Secrets::reset(new_password.to_string().into())),
                        false,
                    ),
                };
                let spec = JobSpec {
                    kind,
                    target: WireTarget {
                        domain: link.domain.clone(),
                        anchor: link.anchor,
                        sam_account_name: Some(link.sam.clone()),
                        dn: Some(link.dn.clone()),
                    },
                    secrets,
                    unlock,
                    must_change,
                    deadline: self.tenant.clock.now().plus(WRITEBACK_DEADLINE),
                };
                match self.relay.submit(spec) {
                    Ok(sub) => {
                        self.tenant.update_operation(
                            opn.id,
                            OpStatus::Running,
                            None,
                            Some(sub.job_id.to_string()),
                        );
                        let me = self.clone();
                        let (target, initiator, password) = (
                            target.clone(),
                            initiator.to_string(),
                            new_password.to_string(),
                        );
                        tokio::spawn(async move {
                            let result = sub.result.await.ok();
                            me.finish(
                                op,
                                &inputs,
                                opn.id,
                                must_change,
                                &target,
                                &initiator,
                                &password,
                                result,
                            );
                        });
                    }
                    Err(_) => {
                        let d = decision::conclude(
                            op,
                            &inputs,
                            Completion::OnPremisesFailed(OnPremisesFailure::NoAnswer),
                        )
                        .unwrap_or(decision);
                        self.tenant.update_operation(
                            opn.id,
                            OpStatus::Failed,
                            d.user_code.map(|c| c.as_str().to_string()),
                            None,
                        );
                        self.tenant.audit(&d.audit, initiator, &target.upn);
                        return Started {
                            decision: d,
                            operation: Some(opn.id),
                        };
                    }
                }
            }
        }
        Started {
            decision,
            operation: Some(opn.id),
        }
    }

    /// The cloud side of a successful operation: the new password (not for an unlock) and the
    /// "must change at next sign-in" flag, which an admin tool sets as asked and the user's own
    /// reset or change clears (facts §5.5).
    fn store_password(&self, op: Operation, target: &CloudUser, password: &str, must_change: bool) {
        if op == Operation::SelfServiceUnlockOnly {
            return;
        }
        let must_change = op.row().channel == Channel::AdminTool && must_change;
        self.tenant.set_password(target.id, password, must_change);
    }

    /// Concludes operation `opn` (`op` with `inputs`, and whether an admin asked for a change at
    /// next sign-in) once its agent answered, or none did.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        op: Operation,
        inputs: &Inputs,
        opn: Uuid,
        must_change: bool,
        target: &CloudUser,
        initiator: &str,
        password: &str,
        result: Option<wire::types::JobResult>,
    ) {
        // With EnforceCloudPasswordPolicyForPasswordSyncedUsers, the cloud copy must also meet
        // the fixed rules once AD took it: if not, AD has the password and the cloud does not
        // (OnPremisesSuccessCloudFailure, facts §5.4 and scenario 37).
        let composition_after = matches!(
            decision::decide(op, inputs).checks,
            decision::PasswordChecks::BannedThenWriteback {
                composition_after: true
            }
        );
        let completion = match result.as_ref().map(|r| r.outcome) {
            Some(Outcome::Succeeded)
                if composition_after
                    && op != Operation::SelfServiceUnlockOnly
                    && CloudPolicy::check_composition(password).is_err() =>
            {
                Completion::CloudWriteFailed
            }
            Some(Outcome::Succeeded) => Completion::Succeeded,
            Some(o) => Completion::OnPremisesFailed(on_premises_failure(o)),
            None => Completion::OnPremisesFailed(OnPremisesFailure::NoAnswer),
        };
        let Some(d) = decision::conclude(op, inputs, completion) else {
            return;
        };
        if completion == Completion::Succeeded {
            self.store_password(op, target, password, must_change);
            self.tenant
                .update_operation(opn, OpStatus::Succeeded, None, None);
        } else if completion == Completion::CloudWriteFailed {
            // The person is told it worked and to wait; the cloud keeps the old password.
            self.tenant.update_operation(
                opn,
                OpStatus::Succeeded,
                d.user_code.map(|c| c.as_str().to_string()),
                None,
            );
        } else {
            self.tenant.update_operation(
                opn,
                OpStatus::Failed,
                d.user_code.map(|c| c.as_str().to_string()),
                None,
            );
        }
        self.tenant.audit(&d.audit, initiator, &target.upn);
    }
}

/// The table's on-premises failure for a relay outcome.
pub fn on_premises_failure(o: Outcome) -> OnPremisesFailure {
    match o {
        Outcome::UserNotFound => OnPremisesFailure::UserNotFound,
        Outcome::DuplicateAnchor => OnPremisesFailure::MultipleMatches,
        Outcome::AccessDenied => OnPremisesFailure::Permissions,
        Outcome::AccountDisabled => OnPremisesFailure::AccountDisabled,
        Outcome::LockedOut => OnPremisesFailure::AccountLockedOut,
        Outcome::BadOldPassword => OnPremisesFailure::IncorrectPassword,
        Outcome::PolicyViolation => OnPremisesFailure::PasswordPolicy,
        Outcome::ConfigurationError => OnPremisesFailure::Configuration,
        // A Modify sent and never answered is in doubt: the user is told to retry later
        // (SSPR_0030, facts scenario 21), as when no agent answered.
        Outcome::DcUnreachable | Outcome::DeadlineExceeded | Outcome::Unknown => {
            OnPremisesFailure::NoAnswer
        }
        Outcome::Succeeded
        | Outcome::DirectoryError
        | Outcome::Undecryptable
        | Outcome::Internal => OnPremisesFailure::Unknown,
    }
}

/// Whether the route of `d` is writeback (the Graph answer still 202s; the operation tells).
pub fn writes_back(d: &Decision) -> bool {
    matches!(d.cloud_result, CloudResult::Allowed(Route::WriteBack))
}
