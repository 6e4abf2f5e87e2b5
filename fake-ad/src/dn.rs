//! Distinguished names: parsing (RFC 4514 escapes), AD's `<GUID=…>` and `<SID=…>` forms,
//! normalization for case-insensitive comparison, and printing.

use ad_types::Sid;
use uuid::Uuid;

/// One relative distinguished name: an attribute and its (unescaped) value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rdn {
    /// The attribute as written, e.g. `CN`.
    pub attr: String,
    /// The unescaped value.
    pub value: String,
}

impl Rdn {
    /// The case-insensitive key two equal RDNs share: `cn=alice archer`.
    pub fn key(&self) -> String {
        format!(
            "{}={}",
            self.attr.to_ascii_lowercase(),
            self.value.to_lowercase()
        )
    }

    /// The RDN as a DN component, escaped, with the attribute in upper case as AD prints it.
    pub fn to_dn_string(&self) -> String {
        format!("{}={}", self.attr.to_ascii_uppercase(), escape(&self.value))
    }
}

/// A parsed DN: a path of RDNs (leaf first), or one of AD's extended forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnRef {
    /// An ordinary DN, leaf first; empty for the root DSE.
    Path(Vec<Rdn>),
    /// `<GUID=…>`: the object with this objectGUID.
    Guid(Uuid),
    /// `<SID=…>`: the object with this objectSid.
    Sid(Sid),
}

/// A DN that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid DN syntax: {0}")]
pub struct DnError(pub String);

/// Parses `s` into a [`DnRef`].
pub fn parse(s: &str) -> Result<DnRef, DnError> {
    let t = s.trim();
    if let Some(inner) = t.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
        let (k, v) = inner.split_once('=').ok_or_else(|| DnError(s.into()))?;
        return match k.to_ascii_uppercase().as_str() {
            "GUID" => parse_guid(v)
                .map(DnRef::Guid)
                .ok_or_else(|| DnError(s.into())),
            "SID" => parse_sid(v)
                .map(DnRef::Sid)
                .ok_or_else(|| DnError(s.into())),
            _ => Err(DnError(s.into())),
        };
    }
    parse_path(t).map(DnRef::Path)
}

fn parse_guid(v: &str) -> Option<Uuid> {
    // 32 hex digits without dashes: the object's bytes in AD's (mixed-endian) order.
    if v.len() != 32
        && let Ok(u) = Uuid::parse_str(v)
    {
        return Some(u);
    }
    if v.len() == 32 {
        let bytes: Option<Vec<u8>> = (0..16)
            .map(|i| u8::from_str_radix(&v[2 * i..2 * i + 2], 16).ok())
            .collect();
        return ad_types::guid::from_ad_bytes(&bytes?);
    }
    None
}

fn parse_sid(v: &str) -> Option<Sid> {
    if let Ok(s) = v.parse() {
        return Some(s);
    }
    let bytes: Option<Vec<u8>> = (0..v.len() / 2)
        .map(|i| u8::from_str_radix(v.get(2 * i..2 * i + 2)?, 16).ok())
        .collect();
    Sid::from_bytes(&bytes?).ok()
}

/// Parses an ordinary DN into RDNs, leaf first.
pub fn parse_path(s: &str) -> Result<Vec<Rdn>, DnError> {
    let bad = || DnError(s.to_string());
    let mut rdns = Vec::new();
    if s.trim().is_empty() {
        return Ok(rdns);
    }
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    loop {
        // attribute type
        while i < chars.len() && chars[i] == ' ' {
            i += 1;
        }
        let start = i;
        while i < chars.len() && chars[i] != '=' {
            if !(chars[i].is_ascii_alphanumeric() || chars[i] == '-' || chars[i] == '.') {
                return Err(bad());
            }
            i += 1;
        }
        if i >= chars.len() || i == start {
            return Err(bad());
        }
        let attr: String = chars[start..i].iter().collect();
        i += 1; // '='
        // value
        let mut value = String::new();
        let mut trailing_spaces = 0;
        let mut quoted_pending: Vec<u8> = Vec::new();
        while i < chars.len() {
            let c = chars[i];
            match c {
                ',' | ';' => break,
                '+' => return Err(bad()), // multi-valued RDNs are not used in AD
                '\\' => {
                    let n = *chars.get(i + 1).ok_or_else(bad)?;
                    if n.is_ascii_hexdigit() {
                        let m = *chars.get(i + 2).ok_or_else(bad)?;
                        let hex: String = [n, m].iter().collect();
                        let b = u8::from_str_radix(&hex, 16).map_err(|_| bad())?;
                        quoted_pending.push(b);
                        i += 3;
                        continue;
                    }
                    flush_bytes(&mut quoted_pending, &mut value).map_err(|_| bad())?;
                    value.push(n);
                    trailing_spaces = 0;
                    i += 2;
                    continue;
                }
                '"' | '<' | '>' | '=' => return Err(bad()),
                _ => {
                    flush_bytes(&mut quoted_pending, &mut value).map_err(|_| bad())?;
                    if c == ' ' {
                        if value.is_empty() {
                            i += 1;
                            continue;
                        }
                        trailing_spaces += 1;
                    } else {
                        trailing_spaces = 0;
                    }
                    value.push(c);
                }
            }
            i += 1;
        }
        flush_bytes(&mut quoted_pending, &mut value).map_err(|_| bad())?;
        value.truncate(value.len() - trailing_spaces);
        if value.is_empty() {
            return Err(bad());
        }
        rdns.push(Rdn { attr, value });
        if i >= chars.len() {
            break;
        }
        i += 1; // separator
        if i >= chars.len() {
            return Err(bad());
        }
    }
    Ok(rdns)
}

fn flush_bytes(pending: &mut Vec<u8>, value: &mut String) -> Result<(), ()> {
    if !pending.is_empty() {
        value.push_str(std::str::from_utf8(pending).map_err(|_| ())?);
        pending.clear();
    }
    Ok(())
}

/// Escapes a value for a DN string (RFC 4514 §2.4).
pub fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let n = v.chars().count();
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && (c == ' ' || c == '#'))
            || (i + 1 == n && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Joins RDNs (leaf first) into a DN string.
pub fn join(rdns: &[Rdn]) -> String {
    rdns.iter()
        .map(Rdn::to_dn_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The DN of a DNS domain name: `contoso.lab` → `DC=contoso,DC=lab`.
pub fn domain_dn(dns: &str) -> String {
    dns.split('.')
        .map(|p| format!("DC={p}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_escapes_and_normalizes() {
        let DnRef::Path(r) = parse("CN=Archer\\, Alice ,OU=Staff,DC=contoso,DC=lab").unwrap()
        else {
            panic!()
        };
        assert_eq!(r.len(), 4);
        assert_eq!(r[0].value, "Archer, Alice");
        assert_eq!(r[0].key(), "cn=archer, alice");
        assert_eq!(join(&r), "CN=Archer\\, Alice,OU=Staff,DC=contoso,DC=lab");
        let DnRef::Path(h) = parse("cn=caf\\c3\\a9,dc=x").unwrap() else {
            panic!()
        };
        assert_eq!(h[0].value, "café");
        assert_eq!(parse("").unwrap(), DnRef::Path(vec![]));
    }

    #[test]
    fn rejects_bad_dns() {
        for bad in [
            "CN",
            "=x",
            "CN=a,",
            "CN=a+SN=b",
            "CN=,DC=x",
            "C N=a",
            "CN=a\\",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn extended_forms() {
        let g = "00299570-246d-11d0-a768-00aa006e0529";
        assert_eq!(
            parse(&format!("<GUID={g}>")).unwrap(),
            DnRef::Guid(g.parse().unwrap())
        );
        assert!(matches!(
            parse("<SID=S-1-5-21-1-2-3-500>").unwrap(),
            DnRef::Sid(_)
        ));
        assert_eq!(domain_dn("contoso.lab"), "DC=contoso,DC=lab");
    }
}
