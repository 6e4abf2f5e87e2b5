//! Request controls: which ones fake-ad understands, and decoding the AD-specific values that
//! ldap3_proto leaves raw.

use ldap3_proto::control::LdapControl;

use crate::ctx::Controls;
use crate::error::DirError;

/// LDAP_SERVER_POLICY_HINTS_OID.
pub const POLICY_HINTS: &str = "1.2.840.113556.1.4.2239";
/// LDAP_SERVER_POLICY_HINTS_DEPRECATED_OID.
pub const POLICY_HINTS_DEPRECATED: &str = "1.2.840.113556.1.4.2066";
/// The agent's private job-id control (not advertised in supportedControl).
pub const JOB_ID: &str = "2.25.113326234892387354470223958930026193466";
/// LDAP_SERVER_SD_FLAGS_OID.
pub const SD_FLAGS: &str = "1.2.840.113556.1.4.801";
/// Simple paged results (RFC 2696).
pub const PAGED: &str = "1.2.840.113556.1.4.319";

/// The controls the root DSE advertises.
pub const SUPPORTED: &[&str] = &[
    PAGED,
    SD_FLAGS,
    "1.2.840.113556.1.4.417",
    POLICY_HINTS_DEPRECATED,
    POLICY_HINTS,
];

/// Paged-results request: page size and cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paging {
    /// Entries per page.
    pub size: usize,
    /// The cookie from the previous page (empty on the first).
    pub cookie: Vec<u8>,
}

/// Reads the controls of one request. A critical control fake-ad does not know is refused.
pub fn read(ctrls: &[LdapControl]) -> Result<(Controls, Option<Paging>), DirError> {
    let mut out = Controls::default();
    let mut paging = None;
    for c in ctrls {
        match c {
            LdapControl::SimplePagedResults { size, cookie } => {
                paging = Some(Paging {
                    size: (*size).max(0) as usize,
                    cookie: cookie.clone(),
                });
            }
            LdapControl::SdFlags { flags, .. } => out.sd_flags = Some(*flags),
            LdapControl::ShowDeleted { .. } | LdapControl::ManageDsaIT { .. } => {}
            LdapControl::Unknown {
                oid,
                criticality,
                value,
            } => match oid.as_str() {
                POLICY_HINTS | POLICY_HINTS_DEPRECATED => {
                    out.policy_hints = value.as_deref().and_then(policy_flags) == Some(1);
                }
                JOB_ID => out.job_id = value.as_deref().and_then(job_id),
                _ if *criticality => return Err(DirError::CriticalExtension(oid.clone())),
                _ => {}
            },
            other => {
                if critical(other) {
                    return Err(DirError::CriticalExtension(format!("{other:?}")));
                }
            }
        }
    }
    Ok((out, paging))
}

fn critical(c: &LdapControl) -> bool {
    match c {
        LdapControl::SyncRequest { criticality, .. }
        | LdapControl::PasswordPolicyRequest { criticality }
        | LdapControl::SearchOptions { criticality, .. }
        | LdapControl::ExtendedDn { criticality, .. } => *criticality,
        _ => false,
    }
}

/// Reads a BER length at `b[0..]`: (length, bytes used).
fn ber_len(b: &[u8]) -> Option<(usize, usize)> {
    let first = *b.first()?;
    if first < 0x80 {
        return Some((first as usize, 1));
    }
    let n = (first & 0x7f) as usize;
    if n == 0 || n > 4 || b.len() < 1 + n {
        return None;
    }
    let len = b[1..=n]
        .iter()
        .fold(0usize, |acc, x| (acc << 8) | *x as usize);
    Some((len, 1 + n))
}

/// The Flags of a policy-hints value: `SEQUENCE { Flags INTEGER }`.
pub fn policy_flags(v: &[u8]) -> Option<i64> {
    if v.first() != Some(&0x30) {
        return None;
    }
    let (_, used) = ber_len(&v[1..])?;
    let rest = &v[1 + used..];
    if rest.first() != Some(&0x02) {
        return None;
    }
    let (len, used) = ber_len(&rest[1..])?;
    let int = rest.get(1 + used..1 + used + len)?;
    if int.is_empty() || int.len() > 8 {
        return None;
    }
    let neg = int[0] & 0x80 != 0;
    Some(
        int.iter()
            .fold(if neg { -1i64 } else { 0 }, |acc, b| (acc << 8) | *b as i64),
    )
}

fn job_id(v: &[u8]) -> Option<String> {
    // The value is an OCTET STRING holding the id; accept it BER-wrapped or bare.
    let inner = if v.first() == Some(&0x04) {
        ber_len(&v[1..])
            .and_then(|(len, used)| v.get(1 + used..1 + used + len))
            .unwrap_or(v)
    } else {
        v
    };
    String::from_utf8(inner.to_vec())
        .ok()
        .filter(|s| !s.is_empty() && s.len() <= 128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_hint_values() {
        assert_eq!(policy_flags(&[0x30, 0x03, 0x02, 0x01, 0x01]), Some(1));
        assert_eq!(
            policy_flags(&[0x30, 0x84, 0, 0, 0, 3, 0x02, 0x01, 0x01]),
            Some(1)
        );
        assert_eq!(policy_flags(&[0x30, 0x03, 0x02, 0x01, 0x00]), Some(0));
        assert_eq!(policy_flags(&[0x04, 0x00]), None);
        assert_eq!(job_id(&[0x04, 0x02, b'j', b'1']).as_deref(), Some("j1"));
        assert_eq!(job_id(b"job-7").as_deref(), Some("job-7"));
    }

    #[test]
    fn unknown_critical_control_is_refused() {
        let c = LdapControl::Unknown {
            oid: "1.2.3".into(),
            criticality: true,
            value: None,
        };
        assert!(read(&[c]).is_err());
        let c = LdapControl::Unknown {
            oid: "1.2.3".into(),
            criticality: false,
            value: None,
        };
        assert!(read(&[c]).is_ok());
    }
}
