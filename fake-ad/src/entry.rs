//! One directory entry: its id, parent and RDN (the DN is the parent's DN plus the RDN), its
//! attributes by interned id, and the NT hash that stands for unicodePwd.

use ad_types::password::NtHash;
use serde::{Deserialize, Serialize};

use crate::dn::Rdn;
use crate::schema::{AttrId, known};
use crate::value::{EntryId, Value};

/// A directory entry. Attributes are kept sorted by id; each has at least one value.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    /// Its id (stable across DCs of the domain).
    pub id: EntryId,
    /// The parent entry; `None` for the domain head.
    pub parent: Option<EntryId>,
    /// The naming attribute and value.
    #[serde(with = "rdn_serde")]
    pub rdn: Rdn,
    /// Attribute values, sorted by id.
    pub attrs: Vec<(AttrId, Vec<Value>)>,
    /// unicodePwd, kept only as its NT hash (hex when stored).
    #[serde(with = "hash_serde")]
    pub nt_hash: Option<NtHash>,
    /// Earlier passwords' NT hashes, most recent first (AD's ntPwdHistory).
    #[serde(default, with = "history_serde")]
    pub pwd_history: Vec<NtHash>,
    /// nTSecurityDescriptor, hash-consed.
    #[serde(default, with = "sd_serde")]
    pub sd: Option<crate::security::SdRef>,
    /// Replication metadata of attributes changed after creation, sorted by id.
    #[serde(default)]
    pub meta: Vec<(AttrId, crate::replication::AttrMeta)>,
}

impl Entry {
    /// The values of `attr`, empty if it has none.
    pub fn get(&self, attr: AttrId) -> &[Value] {
        match self.attrs.binary_search_by_key(&attr, |(a, _)| *a) {
            Ok(i) => &self.attrs[i].1,
            Err(_) => &[],
        }
    }

    /// The first value of `attr`.
    pub fn first(&self, attr: AttrId) -> Option<&Value> {
        self.get(attr).first()
    }

    /// The integer value of `attr`, if it has one.
    pub fn int(&self, attr: AttrId) -> Option<i64> {
        self.first(attr).and_then(Value::as_int)
    }

    /// The text value of `attr`, if it has one.
    pub fn text(&self, attr: AttrId) -> Option<&str> {
        self.first(attr).and_then(Value::as_text)
    }

    /// Replaces all values of `attr` (an empty list removes the attribute).
    pub fn set(&mut self, attr: AttrId, values: Vec<Value>) {
        match self.attrs.binary_search_by_key(&attr, |(a, _)| *a) {
            Ok(i) if values.is_empty() => {
                self.attrs.remove(i);
            }
            Ok(i) => self.attrs[i].1 = values,
            Err(_) if values.is_empty() => {}
            Err(i) => self.attrs.insert(i, (attr, values)),
        }
    }

    /// Sets a single value.
    pub fn set_one(&mut self, attr: AttrId, value: Value) {
        self.set(attr, vec![value]);
    }

    /// Whether objectClass lists `class` (case-insensitive).
    pub fn is(&self, class: &str) -> bool {
        self.get(known().object_class)
            .iter()
            .any(|v| v.as_text().is_some_and(|t| t.eq_ignore_ascii_case(class)))
    }

    /// The most specific objectClass (the last in the chain).
    pub fn structural_class(&self) -> Option<&str> {
        self.get(known().object_class)
            .last()
            .and_then(Value::as_text)
    }
}

mod history_serde {
    use ad_types::password::NtHash;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(h: &[NtHash], s: S) -> Result<S::Ok, S::Error> {
        h.iter()
            .map(|h| h.to_hex())
            .collect::<Vec<_>>()
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<NtHash>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|h| NtHash::from_hex(h).ok_or_else(|| serde::de::Error::custom("bad NT hash")))
            .collect()
    }
}

mod sd_serde {
    use ad_types::sd::SecurityDescriptor;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::security::SdRef;

    pub fn serialize<S: Serializer>(sd: &Option<SdRef>, s: S) -> Result<S::Ok, S::Error> {
        sd.as_ref()
            .map(|sd| base64::engine::general_purpose::STANDARD.encode(sd.to_bytes()))
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SdRef>, D::Error> {
        let Some(b64) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(serde::de::Error::custom)?;
        let sd = SecurityDescriptor::from_bytes(&bytes).map_err(serde::de::Error::custom)?;
        Ok(Some(crate::security::intern(sd)))
    }
}

mod rdn_serde {
    use super::Rdn;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(r: &Rdn, s: S) -> Result<S::Ok, S::Error> {
        (&r.attr, &r.value).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Rdn, D::Error> {
        let (attr, value) = <(String, String)>::deserialize(d)?;
        Ok(Rdn { attr, value })
    }
}

mod hash_serde {
    use ad_types::password::NtHash;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(h: &Option<NtHash>, s: S) -> Result<S::Ok, S::Error> {
        h.map(|h| h.to_hex()).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NtHash>, D::Error> {
        let h = Option::<String>::deserialize(d)?;
        match h {
            None => Ok(None),
            Some(h) => NtHash::from_hex(&h)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("bad NT hash")),
        }
    }
}
