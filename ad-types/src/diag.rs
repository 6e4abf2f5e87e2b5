//! AD's diagnostic strings: the `errorMessage` text a domain controller puts in an LDAP result,
//! built here and parsed back (the agent reads the Win32 code and data from it).

use std::fmt;

/// The error class word AD puts after the Win32 code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrClass {
    /// Service error (`SvcErr`).
    Svc,
    /// Attribute error (`AtrErr`).
    Atr,
    /// Security error (`SecErr`).
    Sec,
    /// Name error (`NameErr`).
    Name,
    /// Update error (`UpdErr`).
    Upd,
}

impl ErrClass {
    fn word(self) -> &'static str {
        match self {
            ErrClass::Svc => "SvcErr",
            ErrClass::Atr => "AtrErr",
            ErrClass::Sec => "SecErr",
            ErrClass::Name => "NameErr",
            ErrClass::Upd => "UpdErr",
        }
    }
}

/// One AD diagnostic: Win32 code, class, DSID, problem and data, plus the attribute or best
/// match some classes carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The Win32 error code (e.g. 0x52D ERROR_PASSWORD_RESTRICTION).
    pub win32: u32,
    /// The class word.
    pub class: ErrClass,
    /// The DSID (source location inside the DC; any stable value).
    pub dsid: u32,
    /// The problem number and name, e.g. (5003, "WILL_NOT_PERFORM").
    pub problem: (u32, &'static str),
    /// The extended data value.
    pub data: u32,
    /// For `AtrErr`: the attribute id and name; for `NameErr`: the best match DN.
    pub detail: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (pn, pname) = self.problem;
        match (self.class, &self.detail) {
            (ErrClass::Atr, Some(att)) => write!(
                f,
                "{:08X}: AtrErr: DSID-{:08X}, #1:\n\t0: {:08X}: DSID-{:08X}, problem {pn} ({pname}), data {}, Att {att}\n",
                self.win32, self.dsid, self.win32, self.dsid, self.data
            ),
            (ErrClass::Name, Some(best)) => write!(
                f,
                "{:08X}: NameErr: DSID-{:08X}, problem {pn} ({pname}), data {}, best match of:\n\t'{best}'\n",
                self.win32, self.dsid, self.data
            ),
            _ => write!(
                f,
                "{:08X}: {}: DSID-{:08X}, problem {pn} ({pname}), data {}",
                self.win32,
                self.class.word(),
                self.dsid,
                self.data
            ),
        }
    }
}

/// ERROR_DS_UNWILLING_TO_PERFORM-style refusal with the given Win32 code (`SvcErr`, 5003).
pub fn will_not_perform(win32: u32, dsid: u32) -> Diagnostic {
    Diagnostic {
        win32,
        class: ErrClass::Svc,
        dsid,
        problem: (5003, "WILL_NOT_PERFORM"),
        data: 0,
        detail: None,
    }
}

/// A constraint on attribute `att` (e.g. `9005a (unicodePwd)`), problem 1005.
pub fn constraint_att(win32: u32, dsid: u32, att: &str) -> Diagnostic {
    Diagnostic {
        win32,
        class: ErrClass::Atr,
        dsid,
        problem: (1005, "CONSTRAINT_ATT_TYPE"),
        data: 0,
        detail: Some(att.to_string()),
    }
}

/// An attribute problem other than a constraint (1001 NO_ATTRIBUTE_OR_VAL, 1006 ATT_OR_VALUE_EXISTS).
pub fn att_problem(win32: u32, problem: (u32, &'static str), att: &str) -> Diagnostic {
    Diagnostic {
        win32,
        class: ErrClass::Atr,
        dsid: 0x0315_1818,
        problem,
        data: 0,
        detail: Some(att.to_string()),
    }
}

/// `0000208D` no such object, with the best (deepest existing) match.
pub fn no_such_object(best_match: &str) -> Diagnostic {
    Diagnostic {
        win32: 0x208D,
        class: ErrClass::Name,
        dsid: 0x0310_028C,
        problem: (2001, "NO_OBJECT"),
        data: 0,
        detail: Some(best_match.to_string()),
    }
}

/// A name (DN) that does not parse: `00002081`, problem 2003.
pub fn bad_name(best_match: &str) -> Diagnostic {
    Diagnostic {
        win32: 0x2081,
        class: ErrClass::Name,
        dsid: 0x0305_0F42,
        problem: (2003, "BAD_ATT_SYNTAX"),
        data: 0,
        detail: Some(best_match.to_string()),
    }
}

/// An update refused: `UpdErr` with the given Win32 code and problem.
pub fn update_error(win32: u32, problem: (u32, &'static str)) -> Diagnostic {
    Diagnostic {
        win32,
        class: ErrClass::Upd,
        dsid: 0x0305_038D,
        problem,
        data: 0,
        detail: None,
    }
}

/// A security refusal: `00002098` INSUFF_ACCESS_RIGHTS (problem 4003).
pub fn insufficient_rights() -> Diagnostic {
    Diagnostic {
        win32: 0x2098,
        class: ErrClass::Sec,
        dsid: 0x0315_0A45,
        problem: (4003, "INSUFF_ACCESS_RIGHTS"),
        data: 0,
        detail: None,
    }
}

/// A protocol-level message in AD's `LdapErr` form, e.g. attribute conversion errors.
pub fn ldap_err(win32: u32, dsid: u32, comment: &str, data: u32) -> String {
    format!("{win32:08X}: LdapErr: DSID-{dsid:08X}, comment: {comment}, data {data:x}, v4563")
}

/// Simple-bind sub-codes (the `data` value of `80090308`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindFailure {
    /// 525: no such user.
    NoSuchUser = 0x525,
    /// 52e: wrong password.
    BadPassword = 0x52e,
    /// 532: password expired.
    PasswordExpired = 0x532,
    /// 533: account disabled.
    Disabled = 0x533,
    /// 701: account expired.
    AccountExpired = 0x701,
    /// 773: must change password at next logon.
    MustChange = 0x773,
    /// 775: account locked out.
    LockedOut = 0x775,
}

/// The invalidCredentials (49) message of a failed simple bind.
pub fn bind_failure(why: BindFailure) -> String {
    ldap_err(
        0x8009_0308,
        0x0C09_041C,
        "AcceptSecurityContext error",
        why as u32,
    )
}

/// The Win32 code and data of a diagnostic string, as a client reads them.
pub fn parse(message: &str) -> Option<(u32, u32)> {
    let win32 = u32::from_str_radix(message.get(..8)?, 16).ok()?;
    let data = message
        .split(", data ")
        .nth(1)
        .and_then(|d| {
            let end = d.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(d.len());
            u32::from_str_radix(&d[..end], 16).ok()
        })
        .unwrap_or(0);
    Some((win32, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_ad() {
        assert_eq!(
            will_not_perform(0x2077, 0x0319_0F4C).to_string(),
            "00002077: SvcErr: DSID-03190F4C, problem 5003 (WILL_NOT_PERFORM), data 0"
        );
        assert_eq!(
            constraint_att(0x56, 0x0319_0F80, "9005a (unicodePwd)").to_string(),
            "00000056: AtrErr: DSID-03190F80, #1:\n\t0: 00000056: DSID-03190F80, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)\n"
        );
        assert_eq!(
            bind_failure(BindFailure::BadPassword),
            "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 52e, v4563"
        );
        assert_eq!(
            parse(&bind_failure(BindFailure::LockedOut)),
            Some((0x8009_0308, 0x775))
        );
        assert_eq!(parse(&insufficient_rights().to_string()), Some((0x2098, 0)));
    }
}
