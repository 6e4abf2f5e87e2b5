//! Group policy for the password settings (facts §4.5): the Default Domain Policy object carries a
//! versionNumber and its [System Access] settings under MS-GPSB key names (here in the lab
//! attribute `msLab-GptTmpl`, standing in for SYSVOL's GptTmpl.inf). Each DC applies a newer
//! version to the domain head at its background refresh, or at once on `gpupdate /force`,
//! overwriting direct edits of the head, as AD does.

use std::collections::BTreeMap;

use crate::bootstrap::{DEFAULT_DOMAIN_POLICY, Policy};
use crate::domain::Dc;
use crate::error::DirError;
use crate::schema::schema;
use crate::value::{EntryId, Value};

/// The MS-GPSB keys the lab models, with their ranges (facts §4.1).
pub const KEYS: &[(&str, i64, i64)] = &[
    ("MinimumPasswordAge", 0, 998),
    ("MaximumPasswordAge", 0, 999),
    ("MinimumPasswordLength", 0, 14),
    ("PasswordComplexity", 0, 1),
    ("PasswordHistorySize", 0, 24),
    ("LockoutBadCount", 0, 999),
    ("ResetLockoutCount", 1, 99_999),
    ("LockoutDuration", 0, 99_999),
];

/// A GPO setting that cannot be applied.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GpoError {
    /// Not a key the lab models.
    #[error(
        "unknown group policy key {0:?} (known: MinimumPasswordAge, MaximumPasswordAge, MinimumPasswordLength, PasswordComplexity, PasswordHistorySize, LockoutBadCount, ResetLockoutCount, LockoutDuration)"
    )]
    UnknownKey(String),
    /// A value outside the key's range.
    #[error("{key}={value} is outside {min}..={max}")]
    OutOfRange {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// Lowest allowed.
        min: i64,
        /// Highest allowed.
        max: i64,
    },
    /// The directory refused the write.
    #[error(transparent)]
    Directory(#[from] DirError),
}

/// Checks one `KEY=VALUE` setting; returns the canonical key and value.
pub fn validate(key: &str, value: &str) -> Result<(&'static str, i64), GpoError> {
    let (k, min, max) = KEYS
        .iter()
        .find(|(k, _, _)| k.eq_ignore_ascii_case(key))
        .ok_or_else(|| GpoError::UnknownKey(key.to_string()))?;
    let out = || GpoError::OutOfRange {
        key: k.to_string(),
        value: value.to_string(),
        min: *min,
        max: *max,
    };
    let v: i64 = value.trim().parse().map_err(|_| out())?;
    if v < *min || v > *max {
        return Err(out());
    }
    Ok((k, v))
}

/// The settings a domain's policy gives (its Default Domain Policy's initial content).
pub fn settings_of(p: &Policy) -> BTreeMap<String, i64> {
    [
        ("MinimumPasswordAge", p.min_age_days as i64),
        ("MaximumPasswordAge", p.max_age_days as i64),
        ("MinimumPasswordLength", p.min_length as i64),
        ("PasswordComplexity", p.complexity as i64),
        ("PasswordHistorySize", p.history as i64),
        ("LockoutBadCount", p.lockout_threshold as i64),
        ("ResetLockoutCount", p.lockout_window_min as i64),
        ("LockoutDuration", p.lockout_duration_min as i64),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn policy_from(settings: &BTreeMap<String, i64>) -> Policy {
    let get = |k: &str, d: u32| settings.get(k).map(|v| *v as u32).unwrap_or(d);
    let def = Policy::default();
    Policy {
        min_age_days: get("MinimumPasswordAge", def.min_age_days),
        max_age_days: get("MaximumPasswordAge", def.max_age_days),
        min_length: get("MinimumPasswordLength", def.min_length),
        complexity: settings
            .get("PasswordComplexity")
            .map(|v| *v != 0)
            .unwrap_or(def.complexity),
        history: get("PasswordHistorySize", def.history),
        lockout_threshold: get("LockoutBadCount", def.lockout_threshold),
        lockout_window_min: get("ResetLockoutCount", def.lockout_window_min),
        lockout_duration_min: get("LockoutDuration", def.lockout_duration_min),
    }
}

/// The GPO object's DN in a domain.
pub fn gpo_dn(base_dn: &str) -> String {
    format!("CN={DEFAULT_DOMAIN_POLICY},CN=Policies,CN=System,{base_dn}")
}

/// The GPO as one DC's copy has it: its version and settings.
pub fn read(dc: &Dc) -> Result<(u32, BTreeMap<String, i64>), DirError> {
    let dit = dc.snapshot();
    let id = crate::ops::resolve(&dit, &gpo_dn(dit.base_dn()))?;
    let e = dit.get(id).expect("resolved");
    let version = e.int(schema().id("versionNumber")).unwrap_or(0) as u32;
    let mut settings = BTreeMap::new();
    for v in e.get(schema().id("msLab-GptTmpl")) {
        if let Some((k, val)) = v.as_text().and_then(|t| t.split_once('='))
            && let Ok(n) = val.trim().parse()
        {
            settings.insert(k.trim().to_string(), n);
        }
    }
    Ok((version, settings))
}

fn lines(settings: &BTreeMap<String, i64>) -> Vec<Value> {
    settings
        .iter()
        .map(|(k, v)| Value::Text(format!("{k}={v}").into()))
        .collect()
}

/// Writes `settings` into the GPO on `dc` (an originating write that replicates) and bumps its
/// version; returns the new version.
pub async fn set(dc: &Dc, changes: &[(String, String)]) -> Result<u32, GpoError> {
    let mut checked = Vec::new();
    for (k, v) in changes {
        checked.push(validate(k, v)?);
    }
    let version = dc
        .write(|txn| {
            let id: EntryId = crate::ops::resolve(&txn.dit, &gpo_dn(txn.dit.base_dn()))?;
            let mut e = (**txn.dit.get(id).expect("resolved")).clone();
            let (_, mut settings) = (0, BTreeMap::new());
            for v in e.get(schema().id("msLab-GptTmpl")) {
                if let Some((k, val)) = v.as_text().and_then(|t| t.split_once('='))
                    && let Ok(n) = val.trim().parse::<i64>()
                {
                    settings.insert(k.to_string(), n);
                }
            }
            for (k, v) in &checked {
                settings.insert(k.to_string(), *v);
            }
            let version = e.int(schema().id("versionNumber")).unwrap_or(0) as u32 + 1;
            e.set(schema().id("msLab-GptTmpl"), lines(&settings));
            e.set_one(schema().id("versionNumber"), Value::Int(version as i64));
            txn.put(e).map_err(|c| DirError::Other(c.to_string()))?;
            Ok(version)
        })
        .await?;
    Ok(version)
}

/// Applies this DC's copy of the GPO to its domain head when it is newer than what the DC last
/// applied, or always with `force`. Returns the version applied, if it applied.
pub async fn apply(dc: &Dc, force: bool) -> Result<Option<u32>, DirError> {
    let (version, settings) = read(dc)?;
    let last = dc.domain.gpo_applied(&dc.name);
    if !force && last >= version {
        return Ok(None);
    }
    let policy = policy_from(&settings);
    let key = format!("gpo/{}/{}", dc.domain.info.dns, dc.name);
    dc.write_with(
        true,
        |txn| {
            let head = txn
                .dit
                .root()
                .ok_or_else(|| DirError::Other("no domain head".into()))?;
            let mut e = (**txn.dit.get(head).expect("root")).clone();
            for (a, v) in policy.head_attributes() {
                e.set_one(schema().id(a), v);
            }
            txn.put(e).map_err(|c| DirError::Other(c.to_string()))
        },
        |batch| batch.meta.push((key, version.to_string())),
    )
    .await?;
    dc.domain.set_gpo_applied(&dc.name, version);
    Ok(Some(version))
}

/// The lab's initial GPO content for a new domain (written at bootstrap).
pub fn initial_values(p: &Policy) -> Vec<Value> {
    lines(&settings_of(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_ranges() {
        assert_eq!(
            validate("minimumpasswordage", "1").unwrap(),
            ("MinimumPasswordAge", 1)
        );
        assert!(matches!(
            validate("MinimumPasswordAge", "999"),
            Err(GpoError::OutOfRange { .. })
        ));
        assert!(matches!(
            validate("Bogus", "1"),
            Err(GpoError::UnknownKey(_))
        ));
        assert!(validate("PasswordHistorySize", "x").is_err());
        let p = Policy::default();
        assert_eq!(policy_from(&settings_of(&p)), p);
    }
}
