//! The one place where a write can be refused for who asks or what it sets: the access check on
//! this DC's copy of the target's descriptor, and the password policy. Every refusal made here is
//! recorded on the DC with its structured reason (and the agent's job id, when sent).

use ad_types::access::Request;
use ad_types::{diag, rights};

use crate::ctx::{OpCtx, Principal};
use crate::domain::Txn;
use crate::entry::Entry;
use crate::error::DirError;
use crate::password::PasswordWrite;
use crate::policy::{self, Candidate};
use crate::refusal::{Reason, Refusal};
use crate::schema::{AttrDef, AttrId, known, schema};
use crate::security;

fn refuse(ctx: &OpCtx, txn: &Txn, object: &str, err: DirError, reason: Reason) -> DirError {
    txn.dc().refusals.record(Refusal {
        at: txn.now.rfc3339(),
        dc: txn.dc().host.clone(),
        who: ctx
            .bound
            .as_ref()
            .map(|p| p.account.clone())
            .unwrap_or_default(),
        object: object.to_string(),
        job_id: ctx.controls.job_id.clone(),
        code: err.code() as u8,
        diagnostic: err.message(),
        reason,
    });
    err
}

fn insufficient() -> DirError {
    DirError::Access(diag::insufficient_rights().to_string())
}

/// Checks `req` on `target`; a refusal is 50 `00002098` (or `as_err` when given).
fn require(
    ctx: &OpCtx,
    txn: &Txn,
    target: &Entry,
    req: Request,
    as_err: Option<DirError>,
) -> Result<(), DirError> {
    let p: &Principal = ctx.require_bind()?;
    match security::check(&txn.dit, &p.sids, p.id, target, &req) {
        Ok(()) => Ok(()),
        Err(denial) => {
            let object = denial.object.clone();
            Err(refuse(
                ctx,
                txn,
                &object,
                as_err.unwrap_or_else(insufficient),
                Reason::Access(denial),
            ))
        }
    }
}

/// The write-property request for attribute `def`.
fn write_prop(def: &AttrDef) -> Request {
    let (attr, set) = match def.name {
        "pwdLastSet" => (
            rights::ATTR_PWD_LAST_SET,
            Some(rights::PROPSET_USER_ACCOUNT_RESTRICTIONS),
        ),
        "lockoutTime" => (rights::ATTR_LOCKOUT_TIME, None),
        _ => (def.schema_guid(), None),
    };
    Request::WriteProperty {
        attr,
        property_set: set,
    }
}

/// May the caller create an object of `class` under `parent`?
pub fn admit_add(ctx: &OpCtx, txn: &Txn, parent: &Entry, class: &str) -> Result<(), DirError> {
    let _ = class;
    require(ctx, txn, parent, Request::Mask(rights::CREATE_CHILD), None)
}

/// May the caller write the attributes `written` of `target`? Each needs write-property on it
/// (pwdLastSet is checked with its value, by [`admit_pwd_last_set`]).
pub fn admit_write(
    ctx: &OpCtx,
    txn: &Txn,
    target: &Entry,
    written: &[AttrId],
) -> Result<(), DirError> {
    ctx.require_bind()?;
    for a in written {
        if *a == known().pwd_last_set {
            continue;
        }
        require(ctx, txn, target, write_prop(schema().def(*a)), None)?;
    }
    Ok(())
}

/// May the caller replace the parts of `target`'s descriptor that `flags` names? The DACL needs
/// WRITE_DAC, the owner or group WRITE_OWNER.
pub fn admit_sd_write(ctx: &OpCtx, txn: &Txn, target: &Entry, flags: i32) -> Result<(), DirError> {
    if flags & 0x4 != 0 {
        require(ctx, txn, target, Request::Mask(rights::WRITE_DAC), None)?;
    }
    if flags & 0x3 != 0 {
        require(ctx, txn, target, Request::Mask(rights::WRITE_OWNER), None)?;
    }
    Ok(())
}

/// May the caller write pwdLastSet on `target` (its write-property right)? Writing -1 also
/// needs Unexpire Password on the domain head.
pub fn admit_pwd_last_set(
    ctx: &OpCtx,
    txn: &Txn,
    target: &Entry,
    minus_one: bool,
) -> Result<(), DirError> {
    require(
        ctx,
        txn,
        target,
        write_prop(schema().def(known().pwd_last_set)),
        None,
    )?;
    if minus_one {
        let head = txn
            .dit
            .root()
            .and_then(|r| txn.dit.get(r))
            .cloned()
            .expect("domain head");
        require(
            ctx,
            txn,
            &head,
            Request::Control(rights::UNEXPIRE_PASSWORD),
            None,
        )?;
    }
    Ok(())
}

/// May the caller delete `target`?
pub fn admit_delete(ctx: &OpCtx, txn: &Txn, target: &Entry) -> Result<(), DirError> {
    require(ctx, txn, target, Request::Mask(rights::DELETE), None)
}

fn change_refused() -> DirError {
    DirError::Constraint(diag::constraint_att(0x52D, 0x0319_1083, "9005a (unicodePwd)").to_string())
}

fn reset_refused() -> DirError {
    DirError::Unwilling(diag::will_not_perform(0x52D, 0x031A_12D2).to_string())
}

/// May the caller set a password on `target` at all? A reset needs Reset Password (else 50);
/// a change needs Change Password (else 19, as AD answers).
pub fn password_access(
    ctx: &OpCtx,
    txn: &Txn,
    target: &Entry,
    write: &PasswordWrite,
) -> Result<(), DirError> {
    match write {
        PasswordWrite::Reset { .. } => require(
            ctx,
            txn,
            target,
            Request::Control(rights::RESET_PASSWORD),
            None,
        ),
        PasswordWrite::Change { .. } => {
            let err = DirError::Constraint(
                diag::constraint_att(0x5, 0x0319_1083, "9005a (unicodePwd)").to_string(),
            );
            require(
                ctx,
                txn,
                target,
                Request::Control(rights::CHANGE_PASSWORD),
                Some(err),
            )
        }
    }
}

/// Records a change's wrong old password as a refusal.
pub fn wrong_old_password(ctx: &OpCtx, txn: &Txn, target: &Entry) -> DirError {
    let err = DirError::WrongPassword(
        diag::constraint_att(0x56, 0x0319_0F80, "9005a (unicodePwd)").to_string(),
    );
    refuse(
        ctx,
        txn,
        &txn.dit.dn(target.id),
        err,
        Reason::WrongOldPassword,
    )
}

/// Does the new password meet the policy in force for `target`? A reset checks length and
/// complexity (and age and history with the policy-hints control); a change checks all. A
/// refused reset is 53 `0000052D: SvcErr`, a refused change 19 `0000052D: AtrErr`.
pub fn password_policy(
    ctx: &OpCtx,
    txn: &Txn,
    target: &Entry,
    write: &PasswordWrite,
) -> Result<(), DirError> {
    let k = known();
    let change = matches!(write, PasswordWrite::Change { .. });
    let full = change || ctx.controls.policy_hints;
    let pol = crate::fgpp::effective(&txn.dit, target.id);
    let candidate = Candidate {
        new_password: write.new_password(),
        sam: target.text(k.sam).unwrap_or_default(),
        display_name: target.text(schema().id("displayName")),
        uac: target.int(k.uac).unwrap_or(0),
        history: &target.pwd_history,
        pwd_last_set: target.int(k.pwd_last_set).unwrap_or(0),
        now: txn.now.filetime(),
    };
    match policy::check(&pol, &candidate, full) {
        Ok(()) => Ok(()),
        Err(rule) => {
            let err = if change {
                change_refused()
            } else {
                reset_refused()
            };
            Err(refuse(
                ctx,
                txn,
                &txn.dit.dn(target.id),
                err,
                Reason::Policy {
                    rule: format!("{rule:?}"),
                },
            ))
        }
    }
}

/// Whether the caller holds Unexpire Password on the domain head (then a password set makes
/// pwdLastSet now; else 0, facts §2.1).
pub fn holds_unexpire(ctx: &OpCtx, txn: &Txn) -> bool {
    let Some(p) = ctx.bound.as_ref() else {
        return false;
    };
    let Some(head) = txn.dit.root().and_then(|r| txn.dit.get(r)) else {
        return false;
    };
    security::check(
        &txn.dit,
        &p.sids,
        p.id,
        head,
        &Request::Control(rights::UNEXPIRE_PASSWORD),
    )
    .is_ok()
}
