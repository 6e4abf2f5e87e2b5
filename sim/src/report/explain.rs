//! One explanation per writeback that did not succeed: from the DC's recorded refusal joined by
//! job id (the missing right on which object as seen by which DC, the grant not yet replicated or
//! propagated, the policy rule with the last set time), else from the outcome itself.

use runtime::LabTime;
use serde::{Deserialize, Serialize};
use wire::types::Outcome;

use super::record::{
    AccessContext, Grant, PolicyContext, PolicyRule, Refusal, RefusalReason, RunRecord, Writeback,
    WritebackOutcome, hop,
};
use super::times::{duration_us, serde_time, short};

/// Why one writeback did not succeed, in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// The writeback's index in [`RunRecord::writebacks`].
    pub index: usize,
    /// Its job id, if a job was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// The user.
    pub user: String,
    /// The outcome key.
    pub outcome: String,
    /// When it ended (or was submitted, while pending).
    #[serde(with = "serde_time")]
    pub at: LabTime,
    /// What happened and why, one sentence, e.g. `DC2 refused: CONTOSO\svc lacks Reset Password
    /// on CN=Carol…; the ACE granted at 10:00:00 on DC1 had not replicated to DC2`.
    pub text: String,
    /// What would fix it, when the lab knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// An explanation of every writeback that did not succeed, in record order.
pub fn explain(record: &RunRecord) -> Vec<Explanation> {
    record
        .writebacks
        .iter()
        .enumerate()
        .filter(|(_, w)| !w.outcome.is_success())
        .map(|(i, w)| explain_one(record, i, w))
        .collect()
}

/// The explanation of writeback `index` of `record`.
pub fn explain_one(record: &RunRecord, index: usize, w: &Writeback) -> Explanation {
    let refusal = w.job_id.as_deref().and_then(|id| record.refusal_for(id));
    let (text, fix) = match refusal {
        Some(r) => from_refusal(r, w),
        None => from_outcome(w),
    };
    Explanation {
        index,
        job_id: w.job_id.clone(),
        user: w.user.clone(),
        outcome: w.outcome.key(),
        at: w.ended.unwrap_or(w.submitted),
        text,
        fix,
    }
}

/// `DC2` for `dc2.contoso.lab`: the host's first label in capitals.
pub fn dc_label(dc: &str) -> String {
    dc.split('.').next().unwrap_or(dc).to_ascii_uppercase()
}

type Words = (String, Option<String>);

fn from_refusal(r: &Refusal, w: &Writeback) -> Words {
    let dc = dc_label(&r.dc);
    match &r.reason {
        RefusalReason::Access {
            right,
            on,
            by,
            descriptor,
            context,
        } => {
            let (cause, fix) = access_cause(r, on, by, descriptor, context);
            (
                format!("{dc} refused: {} lacks {right} on {on}; {cause}", r.who),
                fix,
            )
        }
        RefusalReason::Policy { rule, context } => {
            let (cause, fix) = policy_cause(r, rule, context);
            (format!("{dc} refused the new password: {cause}"), fix)
        }
        RefusalReason::WrongOldPassword => (
            format!(
                "{dc} refused the change: the current password given for {} was wrong",
                w.user
            ),
            Some("the user must give the current password, or use a reset".into()),
        ),
    }
}

fn reached(t: Option<LabTime>, by: LabTime) -> bool {
    t.is_some_and(|t| t <= by)
}

fn is_admin_sd_holder(dn: &str) -> bool {
    dn.to_ascii_lowercase().starts_with("cn=adminsdholder,")
}

fn access_cause(r: &Refusal, on: &str, by: &str, descriptor: &str, ctx: &AccessContext) -> Words {
    let t = |x: LabTime| short(x, r.at);
    let grant: Option<&Grant> = ctx.grant.as_ref().filter(|g| g.at <= r.at);
    let on_object = |g: &Grant| g.object.eq_ignore_ascii_case(on);
    let covers = |g: &Grant| on_object(g) || is_admin_sd_holder(&g.object);
    if ctx.admin_count && !grant.is_some_and(covers) {
        return (
            format!(
                "{on} is protected by AdminSDHolder (adminCount=1): SDProp gave it \
                 AdminSDHolder's descriptor, so rights granted on the domain do not reach it"
            ),
            Some(
                "grant on AdminSDHolder (`sspr-lab agent permissions --include-admin-sd-holder`) \
                 and run SDProp (`sspr-lab sdprop`), or keep admins out of writeback"
                    .into(),
            ),
        );
    }
    let sdh = |g: &Grant| ctx.admin_count && is_admin_sd_holder(&g.object);
    if ctx.inheritance_disabled && !grant.is_some_and(|g| on_object(g) || sdh(g)) {
        return (
            format!(
                "inheritance is disabled on {on}, so the rights granted on the domain root do \
                 not reach it"
            ),
            Some(format!(
                "grant on the object: `sspr-lab agent permissions --object '{on}'`"
            )),
        );
    }
    if let Some(g) = grant {
        if !g.dc.eq_ignore_ascii_case(&r.dc) && !reached(g.reached_dc_at, r.at) {
            let when = match g.reached_dc_at {
                Some(x) => format!(" (it arrived at {})", t(x)),
                None => " (it had not arrived by the end of the run)".into(),
            };
            return (
                format!(
                    "the ACE granted at {} on {} had not replicated to {}{when}",
                    t(g.at),
                    dc_label(&g.dc),
                    dc_label(&r.dc)
                ),
                Some("wait for replication to bring it, then retry".into()),
            );
        }
        if !on_object(g) && !reached(g.reached_object_at, r.at) {
            if is_admin_sd_holder(&g.object) {
                let when = match g.reached_object_at {
                    Some(x) => format!(" (SDProp stamped it at {})", t(x)),
                    None => " (SDProp had not run by the end of the run)".into(),
                };
                return (
                    format!(
                        "the ACE granted at {} on AdminSDHolder had not been copied to {on} by \
                         SDProp yet{when}",
                        t(g.at)
                    ),
                    Some("run SDProp now (`sspr-lab sdprop`) or wait for its hourly pass".into()),
                );
            }
            let when = match g.reached_object_at {
                Some(x) => format!(" (the propagator reached it at {})", t(x)),
                None => " (the propagator had not reached it by the end of the run)".into(),
            };
            return (
                format!(
                    "the ACE granted at {} on {} had not been propagated to {on} yet{when}",
                    t(g.at),
                    g.object
                ),
                Some("wait for the security descriptor propagator, then retry".into()),
            );
        }
    }
    if let Some(g) = ctx.grant.as_ref().filter(|g| g.at > r.at) {
        return (
            format!(
                "no ACE granted it yet: the grant came later, at {}",
                t(g.at)
            ),
            Some("retry now that the right is granted".into()),
        );
    }
    if by.starts_with("denied by") {
        return (
            format!("an explicit deny decided ({by}, descriptor {descriptor})"),
            Some("remove the deny ACE".into()),
        );
    }
    (
        format!("no ACE grants it (descriptor {descriptor})"),
        Some("grant the writeback rights: `sspr-lab agent permissions`".into()),
    )
}

fn policy_cause(r: &Refusal, rule: &PolicyRule, ctx: &PolicyContext) -> Words {
    let t = |x: LabTime| short(x, r.at);
    let source = ctx.source.as_ref().map(|s| {
        let mut out = format!(" ({}", s.origin);
        if let (Some(k), Some(v)) = (&s.setting, &s.value) {
            out.push_str(&format!(" {k}={v}"));
        }
        if let Some(dc) = &s.dc {
            out.push_str(&format!(" applied on {}", dc_label(dc)));
        }
        if let Some(at) = s.applied_at {
            out.push_str(&format!(" at {}", t(at)));
        }
        out.push(')');
        out
    });
    let source = source.unwrap_or_default();
    match rule {
        PolicyRule::MinimumAge => {
            let mut s = "minimum password age".to_string();
            match (ctx.last_set, ctx.min_age_secs) {
                (Some(set), Some(age)) => {
                    let from = LabTime(set.0.saturating_add(age.saturating_mul(1_000_000_000)));
                    s.push_str(&format!(": last set {}, allowed from {}", t(set), t(from)));
                }
                (Some(set), None) => s.push_str(&format!(": last set {}", t(set))),
                (None, Some(age)) => s.push_str(&format!(
                    ": the minimum age is {}",
                    duration_us(age.saturating_mul(1_000_000))
                )),
                (None, None) => {}
            }
            s.push_str(&source);
            (
                s,
                Some(
                    "wait for the minimum age, or lower it (`sspr-lab gpo set \
                     MinimumPasswordAge=0`, then `sspr-lab gpupdate --force`)"
                        .into(),
                ),
            )
        }
        PolicyRule::History => {
            let n = ctx
                .history_size
                .map(|n| format!(" (the last {n} are remembered)"))
                .unwrap_or_default();
            (
                format!("password history: the password was used before{n}{source}"),
                Some("choose a password not used before".into()),
            )
        }
        PolicyRule::TooShort => {
            let n = ctx
                .min_length
                .map(|n| format!(" of {n}"))
                .unwrap_or_default();
            (
                format!("shorter than the minimum length{n}{source}"),
                Some("choose a longer password".into()),
            )
        }
        PolicyRule::Complexity => (
            format!("the password does not meet the complexity requirements{source}"),
            Some("use three of: upper case, lower case, digits, symbols".into()),
        ),
        PolicyRule::TooLong => (
            format!("the password is longer than 256 characters{source}"),
            None,
        ),
        PolicyRule::Other(rule) => (format!("policy rule {rule}{source}"), None),
    }
}

fn cloud_reason(reason: &str, domain: &str) -> String {
    match reason {
        "WritebackNotEnabled" => "password writeback is not enabled for the user's domain".into(),
        "OnPremisesConnectivityError" => format!("no healthy agent serves {domain}"),
        "TenantSSPRFlagDisabled" => "SSPR is off for the user".into(),
        "UserNotMemberOfScopedAccessGroup" => "SSPR is on for a group the user is not in".into(),
        "InsufficientPrivileges" => "the caller's roles may not reset this user".into(),
        "OnPremisesMasteredObject" => {
            "the password is mastered on-premises and this operation cannot write it back".into()
        }
        "CloudOnly" => {
            "an unsupported operation: only the cloud password changed, on-premises keeps the \
             old one"
                .into()
        }
        "Throttled" => "the user was throttled (blocked from self-service password reset)".into(),
        "UnlockWithoutResetNotEnabled" => {
            "unlock without reset is not allowed in the on-premises integration settings".into()
        }
        other => other.to_string(),
    }
}

fn from_outcome(w: &Writeback) -> Words {
    let dc =
        w.dc.as_deref()
            .map(dc_label)
            .unwrap_or_else(|| "the DC".into());
    let diag = w
        .onprem
        .as_ref()
        .map(|e| format!(" ({} {})", e.ldap_code, e.diagnostic))
        .unwrap_or_default();
    let o = match &w.outcome {
        WritebackOutcome::Pending => {
            return ("still pending when the run ended".into(), None);
        }
        WritebackOutcome::Cloud(reason) => {
            let code = w
                .user_code
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            return (
                format!(
                    "the cloud ended it before any writeback: {}{code}",
                    cloud_reason(reason, &w.domain)
                ),
                None,
            );
        }
        WritebackOutcome::Job(o) => *o,
    };
    let d = &w.domain;
    match o {
        Outcome::Succeeded => ("succeeded".into(), None),
        Outcome::UserNotFound => (
            format!(
                "no user of {d} has the job's anchor (deleted on-premises or out of the sync \
                 scope){diag}"
            ),
            None,
        ),
        Outcome::DuplicateAnchor => (
            format!("more than one user of {d} has the job's anchor{diag}"),
            None,
        ),
        Outcome::AccessDenied => (
            format!("{dc} refused for want of rights{diag}; no refusal was recorded for the job"),
            Some("check the rights: `sspr-lab agent permissions --check`".into()),
        ),
        Outcome::AccountDisabled => ("the account is disabled on-premises".into(), None),
        Outcome::LockedOut => (
            "the account is locked on-premises and a change cannot unlock it".into(),
            Some("unlock it (a reset unlocks by default)".into()),
        ),
        Outcome::BadOldPassword => (format!("the current password given was wrong{diag}"), None),
        Outcome::PolicyViolation => (
            format!("{dc} refused the new password under the on-premises policy{diag}"),
            None,
        ),
        Outcome::DirectoryError => (
            format!("{dc} answered an error the agent does not classify{diag}"),
            None,
        ),
        Outcome::ConfigurationError => (
            "the agent's own set-up is wrong: its service account could not bind on any DC".into(),
            Some("check the service account and its password".into()),
        ),
        Outcome::DcUnreachable => (
            format!(
                "no DC of {d} could be reached (connect, TLS, bind or search failed on every \
                 DC); nothing was written"
            ),
            Some("start the DCs or fix the network; the user can retry".into()),
        ),
        Outcome::Unknown => (
            format!(
                "in doubt: the Modify sent to {dc} got no answer; the password may or may not \
                 have changed"
            ),
            Some("check the user on the DC; the agent never writes twice".into()),
        ),
        Outcome::Undecryptable => (
            "the agent could not open the sealed password (key mismatch or tampering)".into(),
            Some("re-register the agent".into()),
        ),
        Outcome::Internal => ("the agent failed for a reason of its own".into(), None),
        Outcome::DeadlineExceeded => {
            let text = if w.hop(hop::ACK).is_some() {
                "in doubt: the agent acked the job but no result came by its deadline"
            } else if w.hop(hop::RELAY_QUEUE).is_some() {
                "no agent acked the job before its deadline (offered, never acked)"
            } else {
                "no agent took the job before its deadline"
            };
            (
                text.into(),
                Some("check the domain's agents (down, or all busy?)".into()),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::record::{PolicySource, ProgressKind};
    use crate::report::sample;

    fn text_of(r: &RunRecord, user: &str) -> Explanation {
        explain(r)
            .into_iter()
            .find(|e| e.user == user)
            .unwrap_or_else(|| panic!("no explanation for {user}"))
    }

    #[test]
    fn every_non_success_is_explained_in_order() {
        let r = sample::record();
        let e = explain(&r);
        let failed = r
            .writebacks
            .iter()
            .filter(|w| !w.outcome.is_success())
            .count();
        assert_eq!(e.len(), failed);
        assert!(e.windows(2).all(|p| p[0].index < p[1].index));
        assert_eq!(ProgressKind::Replication.as_str(), "replication");
    }

    #[test]
    fn grant_not_yet_replicated() {
        let e = text_of(&sample::record(), "carol");
        assert_eq!(
            e.text,
            "DC2 refused: CONTOSO\\provAgentgMSA$ lacks Reset Password on \
             CN=Carol Cruz,OU=Staff,DC=contoso,DC=lab; the ACE granted at 10:00:00 on DC1 had \
             not replicated to DC2 (it arrived at 10:00:15)"
        );
        assert!(e.fix.unwrap().contains("replication"));
    }

    #[test]
    fn grant_not_yet_propagated_and_sdprop_pending() {
        let mut r = sample::record();
        let carol = r
            .refusals
            .iter_mut()
            .find(|x| x.job_id == "job-carol")
            .unwrap();
        let RefusalReason::Access { context, .. } = &mut carol.reason else {
            panic!()
        };
        context.inheritance_disabled = false;
        let g = context.grant.as_mut().unwrap();
        g.dc = "dc2.contoso.lab".into();
        g.object = "DC=contoso,DC=lab".into();
        g.reached_object_at = None;
        let e = text_of(&r, "carol");
        assert!(
            e.text.ends_with(
                "the ACE granted at 10:00:00 on DC=contoso,DC=lab had not been propagated to \
                 CN=Carol Cruz,OU=Staff,DC=contoso,DC=lab yet (the propagator had not reached it \
                 by the end of the run)"
            ),
            "{}",
            e.text
        );
        g_to_sdh(&mut r);
        let e = text_of(&r, "carol");
        assert!(
            e.text
                .contains("on AdminSDHolder had not been copied to CN=Carol Cruz"),
            "{}",
            e.text
        );
    }

    fn g_to_sdh(r: &mut RunRecord) {
        let carol = r
            .refusals
            .iter_mut()
            .find(|x| x.job_id == "job-carol")
            .unwrap();
        if let RefusalReason::Access { context, .. } = &mut carol.reason {
            context.admin_count = true;
            context.inheritance_disabled = true;
            context.grant.as_mut().unwrap().object =
                "CN=AdminSDHolder,CN=System,DC=contoso,DC=lab".into();
        }
    }

    #[test]
    fn admin_sd_holder_inheritance_missing_ace_and_deny() {
        let r = sample::record();
        let dave = text_of(&r, "dave");
        assert!(dave.text.starts_with(
            "DC1 refused: CONTOSO\\provAgentgMSA$ lacks Reset Password on CN=Dave Dunn"
        ));
        assert!(
            dave.text
                .contains("protected by AdminSDHolder (adminCount=1)"),
            "{}",
            dave.text
        );
        assert!(dave.fix.unwrap().contains("--include-admin-sd-holder"));
        let erin = text_of(&r, "erin");
        assert!(erin.text.ends_with(
            "inheritance is disabled on CN=Erin Eck,OU=Staff,DC=contoso,DC=lab, so the rights \
             granted on the domain root do not reach it"
        ));
        assert_eq!(
            erin.fix.as_deref(),
            Some(
                "grant on the object: `sspr-lab agent permissions --object 'CN=Erin Eck,OU=Staff,DC=contoso,DC=lab'`"
            )
        );
        // Without context: a missing ACE, or an explicit deny.
        let mut r2 = r.clone();
        let erin_ref = r2
            .refusals
            .iter_mut()
            .find(|x| x.job_id == "job-erin")
            .unwrap();
        if let RefusalReason::Access { context, by, .. } = &mut erin_ref.reason {
            context.inheritance_disabled = false;
            assert_eq!(by, "no ACE grants it");
        }
        let e = text_of(&r2, "erin");
        assert!(
            e.text.ends_with("no ACE grants it (descriptor sd-7f3a)"),
            "{}",
            e.text
        );
        if let RefusalReason::Access { by, .. } = &mut r2
            .refusals
            .iter_mut()
            .find(|x| x.job_id == "job-erin")
            .unwrap()
            .reason
        {
            *by = "denied by ACE 0".into();
        }
        assert!(
            text_of(&r2, "erin")
                .text
                .contains("an explicit deny decided (denied by ACE 0")
        );
    }

    #[test]
    fn policy_rules() {
        let r = sample::record();
        let frank = text_of(&r, "frank");
        assert_eq!(
            frank.text,
            "DC1 refused the new password: minimum password age: last set 09:12:00, allowed \
             from 2026-11-26 09:12:00 (GPO MinimumPasswordAge=1 applied on DC1 at 09:15:00)"
        );
        let mut r2 = r.clone();
        let f = r2
            .refusals
            .iter_mut()
            .find(|x| x.job_id == "job-frank")
            .unwrap();
        f.reason = RefusalReason::Policy {
            rule: PolicyRule::History,
            context: PolicyContext {
                history_size: Some(24),
                source: Some(PolicySource {
                    origin: "PSO Staff".into(),
                    setting: None,
                    value: None,
                    dc: None,
                    applied_at: None,
                }),
                ..PolicyContext::default()
            },
        };
        assert_eq!(
            text_of(&r2, "frank").text,
            "DC1 refused the new password: password history: the password was used before \
             (the last 24 are remembered) (PSO Staff)"
        );
        for (rule, want) in [
            (PolicyRule::TooShort, "shorter than the minimum length"),
            (PolicyRule::Complexity, "complexity requirements"),
            (PolicyRule::TooLong, "longer than 256"),
            (PolicyRule::Other("Filter".into()), "policy rule Filter"),
        ] {
            let f = r2
                .refusals
                .iter_mut()
                .find(|x| x.job_id == "job-frank")
                .unwrap();
            f.reason = RefusalReason::Policy {
                rule,
                context: PolicyContext::default(),
            };
            assert!(text_of(&r2, "frank").text.contains(want));
        }
    }

    #[test]
    fn wrong_old_password_and_outcomes_without_refusal() {
        let r = sample::record();
        assert_eq!(
            text_of(&r, "grace").text,
            "DC1 refused the change: the current password given for grace was wrong"
        );
        assert_eq!(
            text_of(&r, "heidi").text,
            "the cloud ended it before any writeback: password writeback is not enabled for the \
             user's domain (SSPR_0010)"
        );
        assert_eq!(
            text_of(&r, "ivan").text,
            "in doubt: the agent acked the job but no result came by its deadline"
        );
        assert!(
            text_of(&r, "judy")
                .text
                .starts_with("no DC of contoso.lab could be reached")
        );
        // Every outcome has words.
        for o in Outcome::ALL {
            let mut w = sample::writeback(1, o);
            w.job_id = None;
            assert!(!from_outcome(&w).0.is_empty());
        }
    }
}
