//! Typed attribute values: parsed from LDAP bytes by the attribute's syntax, compared the way AD
//! compares them, and encoded back for the wire and LDIF.

use ad_types::Sid;
use serde::{Deserialize, Serialize};

use crate::schema::Syntax;

/// An entry's id inside one domain (shared by all of the domain's DCs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EntryId(pub u64);

/// One attribute value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    /// Text or OID syntax.
    Text(Box<str>),
    /// Int or Large syntax.
    Int(i64),
    /// Boolean syntax.
    Bool(bool),
    /// Bytes, SID or GUID syntax, in wire form.
    Bytes(Box<[u8]>),
    /// DN syntax: the entry it names.
    Dn(EntryId),
    /// GeneralizedTime, as seconds since the Unix epoch.
    Time(u64),
}

/// A value that does not fit its attribute's syntax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("value does not match the attribute's syntax")]
pub struct SyntaxError;

impl Value {
    /// Parses wire bytes by `syntax`. DN values are resolved by the caller (`Syntax::Dn` is an error
    /// here); passwords never become values.
    pub fn parse(syntax: Syntax, bytes: &[u8]) -> Result<Value, SyntaxError> {
        let text = || std::str::from_utf8(bytes).map_err(|_| SyntaxError);
        Ok(match syntax {
            Syntax::Text | Syntax::Oid => {
                let t = text()?;
                if t.is_empty() {
                    return Err(SyntaxError);
                }
                Value::Text(t.into())
            }
            Syntax::Int => {
                let t = text()?;
                // AD accepts unsigned 32-bit spellings of negative values (e.g. groupType).
                let v: i64 = t.trim().parse().map_err(|_| SyntaxError)?;
                if v < i64::from(i32::MIN) || v > i64::from(u32::MAX) {
                    return Err(SyntaxError);
                }
                Value::Int(if v > i64::from(i32::MAX) {
                    v as i32 as i64
                } else {
                    v
                })
            }
            Syntax::Large => Value::Int(text()?.trim().parse().map_err(|_| SyntaxError)?),
            Syntax::Bool => match text()? {
                "TRUE" => Value::Bool(true),
                "FALSE" => Value::Bool(false),
                _ => return Err(SyntaxError),
            },
            Syntax::Bytes => Value::Bytes(bytes.into()),
            Syntax::Sid => {
                let sid = match std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|s| s.parse::<Sid>().ok())
                {
                    Some(s) => s,
                    None => Sid::from_bytes(bytes).map_err(|_| SyntaxError)?,
                };
                Value::Bytes(sid.to_bytes().into())
            }
            Syntax::Guid => {
                if bytes.len() == 16 {
                    Value::Bytes(bytes.into())
                } else {
                    let g = uuid::Uuid::parse_str(text()?).map_err(|_| SyntaxError)?;
                    Value::Bytes(ad_types::guid::to_ad_bytes(&g).to_vec().into())
                }
            }
            Syntax::Time => Value::Time(
                runtime::LabTime::parse_generalized(text()?)
                    .ok_or(SyntaxError)?
                    .unix_secs(),
            ),
            Syntax::Dn | Syntax::Password | Syntax::Sd => return Err(SyntaxError),
        })
    }

    /// The wire bytes of a non-DN value (DNs are printed by the directory, which knows names).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Value::Text(t) => t.as_bytes().to_vec(),
            Value::Int(i) => i.to_string().into_bytes(),
            Value::Bool(b) => {
                if *b {
                    b"TRUE".to_vec()
                } else {
                    b"FALSE".to_vec()
                }
            }
            Value::Bytes(b) => b.to_vec(),
            Value::Time(t) => runtime::LabTime::from_unix_secs(*t)
                .generalized()
                .into_bytes(),
            Value::Dn(_) => Vec::new(),
        }
    }

    /// Equality as AD's matching rules define it (text case-insensitive, the rest exact).
    pub fn matches(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Text(a), Value::Text(b)) => eq_ignore_case(a, b),
            _ => self == other,
        }
    }

    /// Ordering for `>=` and `<=` filters (text case-insensitive; None if not comparable).
    pub fn compare(&self, other: &Value) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Value::Text(a), Value::Text(b)) => Some(a.to_lowercase().cmp(&b.to_lowercase())),
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (Value::Time(a), Value::Time(b)) => Some(a.cmp(b)),
            (Value::Bytes(a), Value::Bytes(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// The text of a text value.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The integer of an integer value.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}

/// Case-insensitive comparison with an ASCII fast path.
pub fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_by_syntax() {
        assert_eq!(Value::parse(Syntax::Int, b"512").unwrap(), Value::Int(512));
        assert_eq!(
            Value::parse(Syntax::Int, b"2147483650").unwrap(),
            Value::Int(-2147483646)
        );
        assert!(Value::parse(Syntax::Int, b"abc").is_err());
        assert!(Value::parse(Syntax::Bool, b"yes").is_err());
        assert!(Value::parse(Syntax::Text, b"\xff").is_err());
        let sid = Value::parse(Syntax::Sid, b"S-1-5-32-544").unwrap();
        assert_eq!(Value::parse(Syntax::Sid, &sid.to_bytes()).unwrap(), sid);
        assert!(Value::Text("Alice".into()).matches(&Value::Text("ALICE".into())));
        let t = Value::parse(Syntax::Time, b"20261125124500.0Z").unwrap();
        assert_eq!(t.to_bytes(), b"20261125124500.0Z");
    }
}
