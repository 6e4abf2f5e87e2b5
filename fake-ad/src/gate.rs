//! The one place where a write can be refused for who asks or what it sets: access checks on
//! this DC's security descriptors and the password policy. Issue [B] fills these in; until then
//! any bound principal may write (README "Simplifications").

use crate::ctx::OpCtx;
use crate::domain::Txn;
use crate::entry::Entry;
use crate::error::DirError;
use crate::password::PasswordWrite;

/// May the caller make this (non-password) change to `target`? Called once per operation with
/// the entry as it would be after the change.
pub fn admit_write(
    ctx: &OpCtx,
    _txn: &Txn,
    _before: Option<&Entry>,
    _after: &Entry,
) -> Result<(), DirError> {
    ctx.require_bind()?;
    Ok(())
}

/// May the caller set this password on `target`, and does it meet the policy? Called after the
/// value decoded and (for a change) the old password matched.
pub fn admit_password(
    ctx: &OpCtx,
    _txn: &Txn,
    _target: &Entry,
    _write: &PasswordWrite,
) -> Result<(), DirError> {
    ctx.require_bind()?;
    Ok(())
}

/// May the caller delete `target`?
pub fn admit_delete(ctx: &OpCtx, _txn: &Txn, _target: &Entry) -> Result<(), DirError> {
    ctx.require_bind()?;
    Ok(())
}
