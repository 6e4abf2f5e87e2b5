//! unicodePwd writes: which modify shapes are a reset or a change, decoding the value, checking
//! the old password, and what a successful write sets (the NT hash and pwdLastSet).

use ad_types::diag;
use ad_types::password::{NtHash, decode_unicode_pwd};

use crate::ctx::OpCtx;
use crate::domain::Txn;
use crate::entry::Entry;
use crate::error::DirError;
use crate::schema::known;
use crate::value::Value;

/// A password write decoded from a modify request. Its `Debug` never shows a password.
pub enum PasswordWrite {
    /// `replace: unicodePwd` (an administrator's reset; needs Reset Password).
    Reset {
        /// The new password.
        new: String,
    },
    /// `delete` old + `add` new (the user's change; needs the old password).
    Change {
        /// The old password.
        old: String,
        /// The new password.
        new: String,
    },
}

impl std::fmt::Debug for PasswordWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PasswordWrite::Reset { .. } => "PasswordWrite::Reset",
            PasswordWrite::Change { .. } => "PasswordWrite::Change",
        })
    }
}

impl PasswordWrite {
    /// The new password.
    pub fn new_password(&self) -> &str {
        match self {
            PasswordWrite::Reset { new } | PasswordWrite::Change { new, .. } => new,
        }
    }
}

/// One unicodePwd modification as it came off the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PwdMod {
    /// `add`
    Add,
    /// `delete`
    Delete,
    /// `replace`
    Replace,
}

/// The refusal for unicodePwd over an unencrypted connection.
pub fn needs_tls() -> DirError {
    DirError::Unwilling(diag::will_not_perform(0x2077, 0x0319_0F4C).to_string())
}

fn bad_value() -> DirError {
    DirError::Unwilling(diag::will_not_perform(0x1F, 0x031A_124C).to_string())
}

/// Classifies the unicodePwd modifications of one request: one replace with one value is a
/// reset, a delete of one value then an add of one value is a change; other shapes are refused.
pub fn classify(ctx: &OpCtx, mods: &[(PwdMod, Vec<Vec<u8>>)]) -> Result<PasswordWrite, DirError> {
    if !ctx.tls {
        return Err(needs_tls());
    }
    let decode = |v: &[u8]| decode_unicode_pwd(v).map_err(|_| bad_value());
    match mods {
        [(PwdMod::Replace, vals)] if vals.len() == 1 => Ok(PasswordWrite::Reset {
            new: decode(&vals[0])?,
        }),
        [(PwdMod::Delete, old), (PwdMod::Add, new)] if old.len() == 1 && new.len() == 1 => {
            Ok(PasswordWrite::Change {
                old: decode(&old[0])?,
                new: decode(&new[0])?,
            })
        }
        // A delete/add pair with unequal counts, or an add alone, is treated as a reset.
        [(PwdMod::Delete, _), (PwdMod::Add, new)] | [(PwdMod::Add, new)] if new.len() == 1 => {
            Ok(PasswordWrite::Reset {
                new: decode(&new[0])?,
            })
        }
        _ => Err(bad_value()),
    }
}

/// Applies a decoded password write to `target` (already cloned for this write), in AD's order:
/// the right (Reset or Change Password), the old password of a change, the policy; then the new
/// hash, the history, and pwdLastSet (now if the writer holds Unexpire Password, else 0).
pub fn apply(
    ctx: &OpCtx,
    txn: &Txn,
    target: &mut Entry,
    write: &PasswordWrite,
) -> Result<(), DirError> {
    crate::gate::password_access(ctx, txn, target, write)?;
    if let PasswordWrite::Change { old, .. } = write
        && target.nt_hash != Some(NtHash::of(old))
    {
        return Err(crate::gate::wrong_old_password(ctx, txn, target));
    }
    crate::gate::password_policy(ctx, txn, target, write)?;
    let new = NtHash::of(write.new_password());
    let keep = crate::fgpp::effective(&txn.dit, target.id).history;
    set_hash(target, new, keep);
    let when = if crate::gate::holds_unexpire(ctx, txn) {
        txn.now.filetime()
    } else {
        0
    };
    target.set_one(known().pwd_last_set, Value::Int(when));
    Ok(())
}

/// Makes `new` the current password hash and pushes it on the history (kept to `keep`).
pub fn set_hash(target: &mut Entry, new: NtHash, keep: u32) {
    let mut history = std::mem::take(&mut target.pwd_history);
    if history.is_empty()
        && let Some(cur) = target.nt_hash
    {
        history.push(cur);
    }
    target.pwd_history = crate::policy::push_history(&history, new, keep);
    target.nt_hash = Some(new);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ad_types::password::encode_unicode_pwd;

    fn tls() -> OpCtx {
        OpCtx {
            tls: true,
            ..OpCtx::default()
        }
    }

    #[test]
    fn shapes() {
        let v = |s: &str| vec![encode_unicode_pwd(s)];
        assert!(matches!(
            classify(&tls(), &[(PwdMod::Replace, v("N-1"))]).unwrap(),
            PasswordWrite::Reset { .. }
        ));
        assert!(matches!(
            classify(&tls(), &[(PwdMod::Delete, v("O")), (PwdMod::Add, v("N"))]).unwrap(),
            PasswordWrite::Change { .. }
        ));
        let e = classify(&OpCtx::default(), &[(PwdMod::Replace, v("N"))]).unwrap_err();
        assert!(e.message().starts_with("00002077"));
        let e = classify(&tls(), &[(PwdMod::Replace, vec![b"\"x\"".to_vec()])]).unwrap_err();
        assert!(e.message().starts_with("0000001F"));
        assert_eq!(
            format!(
                "{:?}",
                PasswordWrite::Reset {
                    new: "secret".into()
                }
            ),
            "PasswordWrite::Reset"
        );
    }
}
