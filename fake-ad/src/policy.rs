//! Password and lockout policy as pure logic (facts §2.2, §4): the effective policy read from the
//! domain head or a PSO, AD's value ranges, complexity, the checks on a password write, and
//! lockout counting. Nothing here reads or writes the directory.

use ad_types::password::NtHash;

use crate::bootstrap::Policy;
use crate::entry::Entry;
use crate::ops::uac;
use crate::schema::schema;
use crate::value::Value;

/// One day in 100-ns ticks.
const DAY: i64 = 864_000_000_000;
/// One minute in 100-ns ticks.
const MINUTE: i64 = 600_000_000;
/// The hard maximum password length, in UTF-16 units (MS-SAMR §3.1.1.7.2).
pub const MAX_PASSWORD_LEN: usize = 256;

/// The password and lockout policy in force for one account; durations are positive 100-ns ticks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectivePolicy {
    /// Minimum password age (0 = may change at once).
    pub min_age: u64,
    /// Maximum password age; `None` = never expires.
    pub max_age: Option<u64>,
    /// Minimum length, in UTF-16 units.
    pub min_length: u32,
    /// "Passwords must meet complexity requirements".
    pub complexity: bool,
    /// Passwords remembered (0 = no history check).
    pub history: u32,
    /// Bad passwords before lockout (0 = never locks).
    pub lockout_threshold: u32,
    /// Observation window: bad passwords further apart than this restart the count.
    pub lockout_window: u64,
    /// Lockout duration; `None` = until an administrator unlocks.
    pub lockout_duration: Option<u64>,
}

impl Default for EffectivePolicy {
    /// A new domain's Default Domain Policy (facts §4.1, via `bootstrap::Policy::default`).
    fn default() -> Self {
        EffectivePolicy::from(&Policy::default())
    }
}

impl From<&Policy> for EffectivePolicy {
    /// The effective policy a lab `Policy` describes (0 days / minutes mean "never").
    fn from(p: &Policy) -> Self {
        let some = |v: u64| (v != 0).then_some(v);
        EffectivePolicy {
            min_age: p.min_age_days as u64 * DAY as u64,
            max_age: some(p.max_age_days as u64 * DAY as u64),
            min_length: p.min_length,
            complexity: p.complexity,
            history: p.history,
            lockout_threshold: p.lockout_threshold,
            lockout_window: p.lockout_window_min as u64 * MINUTE as u64,
            lockout_duration: some(p.lockout_duration_min as u64 * MINUTE as u64),
        }
    }
}

/// A stored (negative) interval as positive ticks. Positive values are invalid in AD; their
/// magnitude is taken.
fn ticks(v: i64) -> u64 {
    v.unsigned_abs()
}

/// A stored interval where 0 and `i64::MIN` both mean "never".
fn ticks_or_never(v: i64) -> Option<u64> {
    (v != 0 && v != i64::MIN).then(|| v.unsigned_abs())
}

fn count(v: i64) -> u32 {
    v.clamp(0, u32::MAX as i64) as u32
}

impl EffectivePolicy {
    /// The domain policy stored on the domain head; missing attributes take a new domain's
    /// defaults.
    pub fn from_domain_head(head: &Entry) -> Self {
        let d = EffectivePolicy::default();
        let int = |name: &str| head.int(schema().id(name));
        EffectivePolicy {
            min_age: int("minPwdAge").map_or(d.min_age, ticks),
            max_age: int("maxPwdAge").map_or(d.max_age, ticks_or_never),
            min_length: int("minPwdLength").map_or(d.min_length, count),
            complexity: int("pwdProperties").map_or(d.complexity, |v| v & 1 != 0),
            history: int("pwdHistoryLength").map_or(d.history, count),
            lockout_threshold: int("lockoutThreshold").map_or(d.lockout_threshold, count),
            lockout_window: int("lockOutObservationWindow").map_or(d.lockout_window, ticks),
            lockout_duration: int("lockoutDuration").map_or(d.lockout_duration, ticks_or_never),
        }
    }

    /// The policy of a PSO (`msDS-PasswordSettings`); missing attributes take a new domain's
    /// defaults.
    pub fn from_pso(pso: &Entry) -> Self {
        let d = EffectivePolicy::default();
        let int = |name: &str| pso.int(schema().id(name));
        let complexity = match pso.first(schema().id("msDS-PasswordComplexityEnabled")) {
            Some(Value::Bool(b)) => *b,
            _ => d.complexity,
        };
        EffectivePolicy {
            min_age: int("msDS-MinimumPasswordAge").map_or(d.min_age, ticks),
            max_age: int("msDS-MaximumPasswordAge").map_or(d.max_age, ticks_or_never),
            min_length: int("msDS-MinimumPasswordLength").map_or(d.min_length, count),
            complexity,
            history: int("msDS-PasswordHistoryLength").map_or(d.history, count),
            lockout_threshold: int("msDS-LockoutThreshold").map_or(d.lockout_threshold, count),
            lockout_window: int("msDS-LockoutObservationWindow").map_or(d.lockout_window, ticks),
            lockout_duration: int("msDS-LockoutDuration")
                .map_or(d.lockout_duration, ticks_or_never),
        }
    }
}

fn in_range(attr: &str, v: i64, lo: i64, hi: i64, unit: &str) -> Result<(), String> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(format!(
            "{attr} must be between {lo} and {hi}{unit}, not {v}"
        ))
    }
}

/// A stored interval of at most `max` ticks: 0 or negative (AD's sign convention).
fn interval(attr: &str, v: i64, max: i64) -> Result<(), String> {
    in_range(attr, v, -max, 0, " (100-ns ticks, negative)")
}

/// Checks one written value of a domain-head or PSO policy attribute against AD's range (facts
/// §4.1, §4.3); the message is for the caller to wrap as constraintViolation. Other attributes
/// (and boolean ones such as msDS-PasswordComplexityEnabled) pass.
pub fn validate_policy_value(attr: &str, v: i64) -> Result<(), String> {
    match attr.to_ascii_lowercase().as_str() {
        // Facts give only the GPO ranges; those are used for the head attributes, which the
        // GPO writes. Assumed: the PSO attributes have the same duration ranges.
        "pwdhistorylength" => in_range(attr, v, 0, 24, ""),
        // Assumption from Microsoft's PSO documentation (not in facts): 0–1024.
        "msds-passwordhistorylength" => in_range(attr, v, 0, 1024, ""),
        // Facts: 0–14 in GPO. A head written over LDAP might take more on a real DC; we follow
        // the GPO range. PSO: 0–255 (Microsoft's PSO documentation; not in facts).
        "minpwdlength" => in_range(attr, v, 0, 14, ""),
        "msds-minimumpasswordlength" => in_range(attr, v, 0, 255, ""),
        // 0–998 days.
        "minpwdage" | "msds-minimumpasswordage" => interval(attr, v, 998 * DAY),
        // 0–999 days; 0 or i64::MIN = never expires.
        "maxpwdage" | "msds-maximumpasswordage" if v == i64::MIN => Ok(()),
        "maxpwdage" | "msds-maximumpasswordage" => interval(attr, v, 999 * DAY),
        "lockoutthreshold" => in_range(attr, v, 0, 999, ""),
        // Assumption from Microsoft's PSO documentation (not in facts): 0–65535.
        "msds-lockoutthreshold" => in_range(attr, v, 0, 65_535, ""),
        // 0–99,999 minutes; 0 or i64::MIN = until an administrator unlocks.
        "lockoutduration" | "msds-lockoutduration" if v == i64::MIN => Ok(()),
        "lockoutduration" | "msds-lockoutduration" => interval(attr, v, 99_999 * MINUTE),
        // Facts give no range for the window; assumed the same as the duration.
        "lockoutobservationwindow" | "msds-lockoutobservationwindow" => {
            interval(attr, v, 99_999 * MINUTE)
        }
        // Facts §4.3: precedence ≥ 1.
        "msds-passwordsettingsprecedence" => in_range(attr, v, 1, i64::from(i32::MAX), ""),
        // pwdProperties has no schema range (a bit field); anything else is not ours.
        _ => Ok(()),
    }
}

/// Checks the rules that tie two values together (facts §4.1): minimum age below maximum age
/// unless passwords never expire, and a lockout duration no shorter than the observation window.
pub fn validate_policy(p: &EffectivePolicy) -> Result<(), String> {
    if let Some(max) = p.max_age
        && p.min_age >= max
    {
        return Err("the minimum password age must be less than the maximum".into());
    }
    if let Some(d) = p.lockout_duration
        && d < p.lockout_window
    {
        return Err("the lockout duration must not be shorter than the observation window".into());
    }
    Ok(())
}

/// The five character classes of the complexity rule.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    Upper,
    Lower,
    Digit,
    Special,
    OtherAlpha,
}

/// The class of one character, or `None` if it counts for none (whitespace, controls,
/// non-ASCII digits and other numbers). Approximates GetStringTypeW's CT_CTYPE1: punctuation and
/// symbols are specials. Microsoft's policy page says currency symbols (€, £) do not count as
/// specials; facts.md does not, so that is not modelled.
fn class(c: char) -> Option<Class> {
    if c.is_ascii_digit() {
        Some(Class::Digit)
    } else if c.is_alphabetic() {
        Some(if c.is_uppercase() {
            Class::Upper
        } else if c.is_lowercase() {
            Class::Lower
        } else {
            Class::OtherAlpha
        })
    } else if c.is_numeric() || c.is_whitespace() || c.is_control() {
        None
    } else {
        Some(Class::Special)
    }
}

/// AD's complexity rule (facts §4.2): no sAMAccountName (if ≥ 3 chars) or displayName token
/// (≥ 3 chars) inside the password, case-insensitively, and characters of 3 of the 5 classes.
pub fn complexity_ok(password: &str, sam: &str, display_name: Option<&str>) -> bool {
    let pw = password.to_lowercase();
    if sam.chars().count() >= 3 && pw.contains(&sam.to_lowercase()) {
        return false;
    }
    if let Some(name) = display_name {
        let tokens = name.split([',', '.', '-', '_', ' ', '#', '\t']);
        if tokens
            .filter(|t| t.chars().count() >= 3)
            .any(|t| pw.contains(&t.to_lowercase()))
        {
            return false;
        }
    }
    let mut seen = [false; 5];
    for c in password.chars().filter_map(class) {
        seen[c as usize] = true;
    }
    seen.iter().filter(|s| **s).count() >= 3
}

/// What a password write is checked against: the new password and the account's state.
#[derive(Clone, Copy)]
pub struct Candidate<'a> {
    /// The new password.
    pub new_password: &'a str,
    /// The account's sAMAccountName.
    pub sam: &'a str,
    /// The account's displayName.
    pub display_name: Option<&'a str>,
    /// The account's userAccountControl.
    pub uac: i64,
    /// Password history, most recent first; element 0 is the current password's hash.
    pub history: &'a [NtHash],
    /// pwdLastSet (FILETIME; 0 = must change).
    pub pwd_last_set: i64,
    /// The time of the write (FILETIME).
    pub now: i64,
}

impl std::fmt::Debug for Candidate<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Candidate")
            .field("sam", &self.sam)
            .finish_non_exhaustive()
    }
}

/// Why a password write broke the policy. AD never says which: every one of these is Win32
/// 0x52D (ERROR_PASSWORD_RESTRICTION) on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyFailure {
    /// Longer than 256 UTF-16 units.
    #[error("password longer than 256 characters")]
    TooLong,
    /// Shorter than the minimum length.
    #[error("password shorter than the minimum length")]
    TooShort,
    /// Fails the complexity rule.
    #[error("password does not meet the complexity requirements")]
    Complexity,
    /// Matches a remembered password.
    #[error("password is in the password history")]
    History,
    /// The current password is younger than the minimum age.
    #[error("minimum password age not reached")]
    MinimumAge,
}

/// Checks a password write. `full` is a change, or a reset with policy hints flag 1: it adds the
/// minimum-age and history checks to the length and complexity checks every write gets. Order:
/// too long, too short, complexity, then (full) minimum age, history. AD never tells which rule
/// failed (all are 0x52D).
///
/// Minimum length and complexity apply only to normal accounts without PASSWD_NOTREQD, other than
/// krbtgt (MS-SAMR §3.1.1.7.2; krbtgt is recognised by name, which cannot change).
/// With history 0 a reset to the current password passes: only the history refuses it.
pub fn check(policy: &EffectivePolicy, c: &Candidate, full: bool) -> Result<(), PolicyFailure> {
    let len = c.new_password.encode_utf16().count();
    if len > MAX_PASSWORD_LEN {
        return Err(PolicyFailure::TooLong);
    }
    let restricted = c.uac & uac::NORMAL != 0
        && c.uac & uac::PASSWD_NOTREQD == 0
        && !c.sam.eq_ignore_ascii_case("krbtgt");
    if restricted {
        if len < policy.min_length as usize {
            return Err(PolicyFailure::TooShort);
        }
        if policy.complexity && !complexity_ok(c.new_password, c.sam, c.display_name) {
            return Err(PolicyFailure::Complexity);
        }
    }
    if !full {
        return Ok(());
    }
    if policy.min_age > 0
        && c.pwd_last_set != 0
        && i128::from(c.now) - i128::from(c.pwd_last_set) < i128::from(policy.min_age)
    {
        return Err(PolicyFailure::MinimumAge);
    }
    let new = NtHash::of(c.new_password);
    if c.history
        .iter()
        .take(policy.history as usize)
        .any(|h| *h == new)
    {
        return Err(PolicyFailure::History);
    }
    Ok(())
}

/// The history after setting `new`: most recent first, at most `max(keep, 1)` entries (the
/// current password is always kept).
pub fn push_history(history: &[NtHash], new: NtHash, keep: u32) -> Vec<NtHash> {
    let keep = keep.max(1) as usize;
    std::iter::once(new)
        .chain(history.iter().copied())
        .take(keep)
        .collect()
}

/// An account's lockout attributes: badPwdCount, badPasswordTime and lockoutTime (FILETIMEs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LockoutState {
    /// badPwdCount.
    pub bad_pwd_count: u32,
    /// badPasswordTime (0 = never).
    pub bad_password_time: i64,
    /// lockoutTime (0 = not locked).
    pub lockout_time: i64,
}

/// Whether the account is locked at `now`: lockoutTime is set and the duration (if any) has not
/// elapsed (facts §2.3).
pub fn is_locked(policy: &EffectivePolicy, s: &LockoutState, now: i64) -> bool {
    s.lockout_time != 0
        && policy
            .lockout_duration
            .is_none_or(|d| i128::from(s.lockout_time) + i128::from(d) > i128::from(now))
}

/// The state after a bad password at `now`. The count restarts at 1 when the previous bad
/// password is at least one observation window old; reaching a non-zero threshold locks. A
/// locked account is refused before its password is checked, so its state is unchanged
/// (assumed).
pub fn record_bad_password(policy: &EffectivePolicy, s: &LockoutState, now: i64) -> LockoutState {
    if is_locked(policy, s, now) {
        return *s;
    }
    let stale = s.bad_password_time == 0
        || i128::from(now) - i128::from(s.bad_password_time) >= i128::from(policy.lockout_window);
    let bad_pwd_count = if stale {
        1
    } else {
        s.bad_pwd_count.saturating_add(1)
    };
    let locks = policy.lockout_threshold != 0 && bad_pwd_count >= policy.lockout_threshold;
    LockoutState {
        bad_pwd_count,
        bad_password_time: now,
        lockout_time: if locks { now } else { s.lockout_time },
    }
}

/// The state after a successful logon: badPwdCount 0 and a left-over (expired) lockoutTime
/// cleared. Call it only for a logon `is_locked` let through, so any lockoutTime has expired.
pub fn record_success(s: &LockoutState) -> LockoutState {
    LockoutState {
        bad_pwd_count: 0,
        bad_password_time: s.bad_password_time,
        lockout_time: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dn::Rdn;
    use crate::value::EntryId;

    fn entry(attrs: Vec<(&str, Value)>) -> Entry {
        let mut e = Entry {
            id: EntryId(1),
            parent: None,
            rdn: Rdn {
                attr: "DC".into(),
                value: "x".into(),
            },
            attrs: vec![],
            nt_hash: None,
            pwd_history: vec![],
            sd: None,
            meta: Vec::new(),
        };
        for (a, v) in attrs {
            e.set_one(schema().id(a), v);
        }
        e
    }

    #[test]
    fn complexity_table() {
        let erin = Some("Erin M. Hagens");
        let alice = Some("Alice Archer");
        let cases: &[(&str, &str, Option<&str>, bool)] = &[
            ("Xyz-12345", "ehagens", erin, true),
            ("Erin-12345", "ehagens", erin, false),
            ("xHAGENSx-1", "ehagens", erin, false),
            ("Ma-12345xy", "ehagens", erin, true), // "M" is too short to check
            ("Hag-12345x", "ehagens", erin, true), // substrings of tokens are fine
            ("Ehagens-1", "ehagens", None, false),
            ("Ab-1xyzzy", "ab", None, true), // sam of 2 chars not checked
            ("Abc-1xyzzy", "abc", None, false),
            ("Lab-Admin-Passw0rd1", "alice", alice, true),
            ("Lab-User-Passw0rd1", "alice", alice, true),
            ("Alice-Passw0rd1", "bob", alice, false),
            ("archer#X1y", "bob", Some("Alice_Archer"), false),
            ("password", "bob", None, false),  // 1 class
            ("Password", "bob", None, false),  // 2 classes
            ("Password1", "bob", None, true),  // upper, lower, digit
            ("password1!", "bob", None, true), // lower, digit, special
            ("ΑΒΓδεζ1", "bob", None, true),    // Greek upper + lower + digit
            ("ПРИВЕТмир", "bob", None, false), // Cyrillic upper + lower only
            ("ПРИВЕТмир!", "bob", None, true), // + special
            ("密码abc1", "bob", None, true),   // CJK, lower, digit
            ("密码 abc", "bob", None, false),  // a space is no class
            ("Straße٣", "bob", None, false),   // Arabic-Indic digit is no class
            ("ÉCOLE-été", "bob", None, true),  // diacritics and a hyphen
            ("", "bob", None, false),
        ];
        for (pw, sam, dn, ok) in cases {
            assert_eq!(complexity_ok(pw, sam, *dn), *ok, "{pw:?} {sam:?} {dn:?}");
        }
    }

    fn candidate<'a>(pw: &'a str, history: &'a [NtHash]) -> Candidate<'a> {
        Candidate {
            new_password: pw,
            sam: "alice",
            display_name: Some("Alice Archer"),
            uac: uac::NORMAL,
            history,
            pwd_last_set: 0,
            now: 133_000_000_000_000_000,
        }
    }

    #[test]
    fn length_and_complexity() {
        let p = EffectivePolicy::default();
        assert_eq!(
            check(&p, &candidate("Lab-User-Passw0rd1", &[]), false),
            Ok(())
        );
        assert_eq!(
            check(&p, &candidate("Ab-1", &[]), false),
            Err(PolicyFailure::TooShort)
        );
        assert_eq!(
            check(&p, &candidate("abcdefgh", &[]), false),
            Err(PolicyFailure::Complexity)
        );
        let long = format!("Aa1-{}", "x".repeat(253));
        assert_eq!(
            check(&p, &candidate(&long, &[]), false),
            Err(PolicyFailure::TooLong)
        );
        assert_eq!(check(&p, &candidate(&long[1..], &[]), false), Ok(()));
        // 256 UTF-16 units, not chars: 128 astral chars fill the limit, one more is too long.
        let astral = "𝐀".repeat(129);
        assert_eq!(
            check(&p, &candidate(&astral, &[]), false),
            Err(PolicyFailure::TooLong)
        );
        // No complexity off the policy.
        let off = EffectivePolicy {
            complexity: false,
            ..p.clone()
        };
        assert_eq!(check(&off, &candidate("abcdefgh", &[]), false), Ok(()));
    }

    #[test]
    fn passwd_notreqd_and_non_normal_skip_length_and_complexity() {
        let p = EffectivePolicy::default();
        let mut c = candidate("abc", &[]);
        c.uac = uac::NORMAL | uac::PASSWD_NOTREQD;
        assert_eq!(check(&p, &c, true), Ok(()));
        c.uac = uac::WORKSTATION;
        assert_eq!(check(&p, &c, true), Ok(()));
        c.uac = uac::NORMAL;
        c.sam = "krbtgt";
        assert_eq!(check(&p, &c, true), Ok(()));
        // The 256 cap applies to everyone.
        let long = "a".repeat(257);
        c.new_password = &long;
        assert_eq!(check(&p, &c, true), Err(PolicyFailure::TooLong));
    }

    #[test]
    fn history_and_full() {
        let p = EffectivePolicy {
            history: 2,
            min_age: 0,
            ..EffectivePolicy::default()
        };
        let h = [
            NtHash::of("Current-Pw1"),
            NtHash::of("Older-Pw1"),
            NtHash::of("Oldest-Pw1"),
        ];
        for (pw, full, want) in [
            ("Current-Pw1", true, Err(PolicyFailure::History)),
            ("Older-Pw1", true, Err(PolicyFailure::History)),
            ("Oldest-Pw1", true, Ok(())),   // beyond the remembered 2
            ("Current-Pw1", false, Ok(())), // plain reset: no history check
            ("Brand-New-Pw1", true, Ok(())),
        ] {
            assert_eq!(check(&p, &candidate(pw, &h), full), want, "{pw} {full}");
        }
        let none = EffectivePolicy { history: 0, ..p };
        assert_eq!(check(&none, &candidate("Current-Pw1", &h), true), Ok(()));
    }

    #[test]
    fn minimum_age() {
        let p = EffectivePolicy::default(); // 1 day
        let mut c = candidate("Brand-New-Pw1", &[]);
        c.pwd_last_set = c.now - DAY + 1;
        assert_eq!(check(&p, &c, true), Err(PolicyFailure::MinimumAge));
        assert_eq!(check(&p, &c, false), Ok(()));
        c.pwd_last_set = c.now - DAY;
        assert_eq!(check(&p, &c, true), Ok(()));
        c.pwd_last_set = 0; // must change: no age check
        assert_eq!(check(&p, &c, true), Ok(()));
        // Complexity comes before age.
        c.pwd_last_set = c.now;
        c.new_password = "abcdefgh";
        assert_eq!(check(&p, &c, true), Err(PolicyFailure::Complexity));
    }

    #[test]
    fn history_push() {
        let (a, b, c) = (NtHash::of("a"), NtHash::of("b"), NtHash::of("c"));
        assert_eq!(push_history(&[b, c], a, 24), vec![a, b, c]);
        assert_eq!(push_history(&[b, c], a, 2), vec![a, b]);
        assert_eq!(push_history(&[b, c], a, 0), vec![a]);
        assert_eq!(push_history(&[], a, 3), vec![a]);
    }

    fn lockout(threshold: u32, duration_min: Option<i64>) -> EffectivePolicy {
        EffectivePolicy {
            lockout_threshold: threshold,
            lockout_window: (30 * MINUTE) as u64,
            lockout_duration: duration_min.map(|m| (m * MINUTE) as u64),
            ..EffectivePolicy::default()
        }
    }

    #[test]
    fn lockout_counting() {
        let p = lockout(3, Some(30));
        let t0 = 133_000_000_000_000_000;
        let s = record_bad_password(&p, &LockoutState::default(), t0);
        assert_eq!((s.bad_pwd_count, s.lockout_time), (1, 0));
        let s = record_bad_password(&p, &s, t0 + MINUTE);
        assert_eq!(s.bad_pwd_count, 2);
        // Outside the window the count restarts.
        let r = record_bad_password(&p, &s, t0 + MINUTE + 30 * MINUTE);
        assert_eq!((r.bad_pwd_count, r.lockout_time), (1, 0));
        // Within it the third locks.
        let t = t0 + 2 * MINUTE;
        let s = record_bad_password(&p, &s, t);
        assert_eq!((s.bad_pwd_count, s.lockout_time), (3, t));
        assert!(is_locked(&p, &s, t + 30 * MINUTE - 1));
        assert!(!is_locked(&p, &s, t + 30 * MINUTE));
        // While locked nothing changes.
        assert_eq!(record_bad_password(&p, &s, t + MINUTE), s);
        // After expiry lockoutTime stays until a success clears it.
        assert_eq!(s.lockout_time, t);
        let ok = record_success(&s);
        assert_eq!((ok.bad_pwd_count, ok.lockout_time), (0, 0));
    }

    #[test]
    fn threshold_zero_never_locks_and_no_duration_stays_locked() {
        let p = lockout(0, Some(30));
        let mut s = LockoutState::default();
        for i in 0..100 {
            s = record_bad_password(&p, &s, 1_000 + i);
        }
        assert_eq!((s.bad_pwd_count, s.lockout_time), (100, 0));
        assert!(!is_locked(&p, &s, 2_000));

        let p = lockout(1, None);
        let s = record_bad_password(&p, &LockoutState::default(), 1_000);
        assert!(is_locked(&p, &s, 1_000));
        assert!(is_locked(&p, &s, i64::MAX));
    }

    #[test]
    fn from_domain_head_and_pso() {
        let policy = Policy {
            max_age_days: 0,
            lockout_threshold: 5,
            lockout_duration_min: 0,
            ..Policy::default()
        };
        let head = entry(policy.head_attributes());
        let p = EffectivePolicy::from_domain_head(&head);
        assert_eq!(p, EffectivePolicy::from(&policy));
        assert_eq!(p.min_age, DAY as u64);
        assert_eq!(p.max_age, None);
        assert_eq!((p.min_length, p.complexity, p.history), (7, true, 24));
        assert_eq!(p.lockout_threshold, 5);
        assert_eq!(p.lockout_window, (30 * MINUTE) as u64);
        assert_eq!(p.lockout_duration, None);

        let d = EffectivePolicy::from_domain_head(&entry(Policy::default().head_attributes()));
        assert_eq!(d, EffectivePolicy::default());
        assert_eq!(d.max_age, Some(42 * DAY as u64));
        // Missing attributes fall back; a 0 duration means "never" too.
        let e = entry(vec![
            ("pwdProperties", Value::Int(0)),
            ("maxPwdAge", Value::Int(0)),
        ]);
        let p = EffectivePolicy::from_domain_head(&e);
        assert!(!p.complexity && p.max_age.is_none());
        assert_eq!(p.history, 24);

        let pso = entry(vec![
            ("msDS-MinimumPasswordAge", Value::Int(0)),
            ("msDS-MaximumPasswordAge", Value::Int(-10 * DAY)),
            ("msDS-MinimumPasswordLength", Value::Int(12)),
            ("msDS-PasswordComplexityEnabled", Value::Bool(false)),
            ("msDS-PasswordHistoryLength", Value::Int(100)),
            ("msDS-LockoutThreshold", Value::Int(3)),
            ("msDS-LockoutObservationWindow", Value::Int(-MINUTE)),
            ("msDS-LockoutDuration", Value::Int(i64::MIN)),
        ]);
        assert_eq!(
            EffectivePolicy::from_pso(&pso),
            EffectivePolicy {
                min_age: 0,
                max_age: Some(10 * DAY as u64),
                min_length: 12,
                complexity: false,
                history: 100,
                lockout_threshold: 3,
                lockout_window: MINUTE as u64,
                lockout_duration: None,
            }
        );
        assert_eq!(
            EffectivePolicy::from_pso(&entry(vec![])),
            EffectivePolicy::default()
        );
    }

    #[test]
    fn value_ranges() {
        let ok = [
            ("pwdHistoryLength", 24),
            ("msDS-PasswordHistoryLength", 1024),
            ("minPwdLength", 14),
            ("msDS-MinimumPasswordLength", 255),
            ("minPwdAge", -998 * DAY),
            ("minPwdAge", 0),
            ("maxPwdAge", i64::MIN),
            ("maxPwdAge", 0),
            ("msDS-MaximumPasswordAge", -999 * DAY),
            ("lockoutThreshold", 999),
            ("msDS-LockoutThreshold", 65_535),
            ("lockoutDuration", -99_999 * MINUTE),
            ("msDS-LockoutDuration", i64::MIN),
            ("lockOutObservationWindow", -30 * MINUTE),
            ("msDS-PasswordSettingsPrecedence", 1),
            ("pwdProperties", 17),
            ("description", -5),
        ];
        for (a, v) in ok {
            assert_eq!(validate_policy_value(a, v), Ok(()), "{a} {v}");
        }
        let bad = [
            ("pwdHistoryLength", 25),
            ("PWDHISTORYLENGTH", -1),
            ("msDS-PasswordHistoryLength", 1025),
            ("minPwdLength", 15),
            ("msDS-MinimumPasswordLength", 256),
            ("minPwdAge", DAY),
            ("minPwdAge", -999 * DAY),
            ("maxPwdAge", -1000 * DAY),
            ("lockoutThreshold", 1000),
            ("msDS-LockoutThreshold", 65_536),
            ("lockoutDuration", -100_000 * MINUTE),
            ("lockoutDuration", MINUTE),
            ("lockOutObservationWindow", i64::MIN),
            ("msDS-PasswordSettingsPrecedence", 0),
        ];
        for (a, v) in bad {
            assert!(validate_policy_value(a, v).is_err(), "{a} {v}");
        }
    }

    #[test]
    fn combined_rules() {
        let p = EffectivePolicy::default();
        assert_eq!(validate_policy(&p), Ok(()));
        let bad_age = EffectivePolicy {
            min_age: 42 * DAY as u64,
            ..p.clone()
        };
        assert!(validate_policy(&bad_age).is_err());
        let never = EffectivePolicy {
            max_age: None,
            ..bad_age
        };
        assert_eq!(validate_policy(&never), Ok(()));
        let short = EffectivePolicy {
            lockout_duration: Some(MINUTE as u64),
            ..p.clone()
        };
        assert!(validate_policy(&short).is_err());
        let forever = EffectivePolicy {
            lockout_duration: None,
            ..short
        };
        assert_eq!(validate_policy(&forever), Ok(()));
    }
}
