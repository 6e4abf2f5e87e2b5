//! The schema fake-ad knows: attributes (interned to small ids, with their syntax and flags) and
//! object classes (their chain, naming attribute and whether they are security principals).

use std::collections::HashMap;
use std::sync::OnceLock;

/// An interned attribute: an index into the schema table.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct AttrId(pub u16);

/// How an attribute's values are typed, compared and encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// Unicode text, compared case-insensitively (Directory String).
    Text,
    /// An object identifier or class name, compared case-insensitively.
    Oid,
    /// A distinguished name that must resolve to an entry (stored as its id).
    Dn,
    /// A 32-bit integer.
    Int,
    /// A 64-bit integer (Large Integer / Integer8: FILETIMEs and intervals).
    Large,
    /// TRUE or FALSE.
    Bool,
    /// Raw bytes, compared exactly.
    Bytes,
    /// A SID, binary on the wire; filters may use the `S-1-…` string.
    Sid,
    /// A GUID in AD byte order.
    Guid,
    /// GeneralizedTime.
    Time,
    /// unicodePwd: write-only, kept as an NT hash, never returned.
    Password,
    /// nTSecurityDescriptor: kept as the entry's hash-consed descriptor.
    Sd,
}

/// Who may write an attribute and when it is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Written by clients; returned by `*`.
    User,
    /// Maintained by the directory; returned by `*`; clients may not write it.
    System,
    /// Computed on read; returned only when asked for by name or by `+`.
    Constructed,
}

/// One attribute's definition.
#[derive(Clone, Debug)]
pub struct AttrDef {
    /// Its id.
    pub id: AttrId,
    /// The canonical (lDAPDisplayName) spelling.
    pub name: &'static str,
    /// Its syntax.
    pub syntax: Syntax,
    /// At most one value.
    pub single: bool,
    /// Who writes it and when it is returned.
    pub kind: Kind,
    /// The attributeID's last arcs in hex as AD's diagnostics print them (e.g. `9005a`).
    pub diag_id: &'static str,
}

use Kind::*;
use Syntax::*;

/// (name, syntax, single-valued, kind)
const ATTRS: &[(&str, Syntax, bool, Kind)] = &[
    ("objectClass", Oid, false, User),
    ("cn", Text, true, User),
    ("name", Text, true, System),
    ("distinguishedName", Dn, true, System),
    ("objectGUID", Guid, true, System),
    ("objectSid", Sid, true, System),
    ("objectCategory", Text, true, User),
    ("instanceType", Int, true, System),
    ("whenCreated", Time, true, System),
    ("whenChanged", Time, true, System),
    ("uSNCreated", Large, true, System),
    ("uSNChanged", Large, true, System),
    ("description", Text, false, User),
    ("displayName", Text, true, User),
    ("givenName", Text, true, User),
    ("sn", Text, true, User),
    ("initials", Text, true, User),
    ("mail", Text, true, User),
    ("telephoneNumber", Text, true, User),
    ("title", Text, true, User),
    ("department", Text, true, User),
    ("company", Text, true, User),
    ("employeeID", Text, true, User),
    ("info", Text, true, User),
    ("manager", Dn, true, User),
    ("proxyAddresses", Text, false, User),
    ("sAMAccountName", Text, true, User),
    ("userPrincipalName", Text, true, User),
    ("userAccountControl", Int, true, User),
    ("sAMAccountType", Int, true, System),
    ("pwdLastSet", Large, true, User),
    ("lockoutTime", Large, true, User),
    ("badPwdCount", Int, true, System),
    ("badPasswordTime", Large, true, System),
    ("lastLogon", Large, true, System),
    ("lastLogonTimestamp", Large, true, System),
    ("logonCount", Int, true, System),
    ("accountExpires", Large, true, User),
    ("adminCount", Int, true, User),
    ("primaryGroupID", Int, true, User),
    ("member", Dn, false, User),
    ("memberOf", Dn, false, Constructed),
    ("groupType", Int, true, User),
    ("nTSecurityDescriptor", Sd, true, User),
    ("unicodePwd", Password, true, User),
    ("ou", Text, true, User),
    ("dc", Text, true, User),
    ("isCriticalSystemObject", Bool, true, System),
    ("showInAdvancedViewOnly", Bool, true, User),
    ("systemFlags", Int, true, System),
    ("servicePrincipalName", Text, false, User),
    ("dNSHostName", Text, true, User),
    ("operatingSystem", Text, true, User),
    ("gPLink", Text, true, User),
    ("gPOptions", Int, true, User),
    ("gPCFileSysPath", Text, true, User),
    ("versionNumber", Int, true, User),
    ("msLab-GptTmpl", Text, false, User),
    ("flags", Int, true, User),
    ("minPwdAge", Large, true, User),
    ("maxPwdAge", Large, true, User),
    ("minPwdLength", Int, true, User),
    ("pwdProperties", Int, true, User),
    ("pwdHistoryLength", Int, true, User),
    ("lockoutThreshold", Int, true, User),
    ("lockoutDuration", Large, true, User),
    ("lockOutObservationWindow", Large, true, User),
    ("forceLogoff", Large, true, User),
    ("nTMixedDomain", Int, true, User),
    ("msDS-Behavior-Version", Int, true, User),
    ("msDS-PSOAppliesTo", Dn, false, User),
    ("msDS-PasswordSettingsPrecedence", Int, true, User),
    ("msDS-PasswordReversibleEncryptionEnabled", Bool, true, User),
    ("msDS-PasswordHistoryLength", Int, true, User),
    ("msDS-PasswordComplexityEnabled", Bool, true, User),
    ("msDS-MinimumPasswordLength", Int, true, User),
    ("msDS-MinimumPasswordAge", Large, true, User),
    ("msDS-MaximumPasswordAge", Large, true, User),
    ("msDS-LockoutThreshold", Int, true, User),
    ("msDS-LockoutObservationWindow", Large, true, User),
    ("msDS-LockoutDuration", Large, true, User),
    ("msDS-ResultantPSO", Dn, true, Constructed),
    ("msDS-SupportedEncryptionTypes", Int, true, User),
    ("msDS-ManagedPasswordInterval", Int, true, User),
    ("canonicalName", Text, true, Constructed),
    ("createTimeStamp", Time, true, Constructed),
    ("modifyTimeStamp", Time, true, Constructed),
];

/// Names AD gives attributes in diagnostics (attributeID arcs); others print as `0`.
fn diag_id(name: &str) -> &'static str {
    match name {
        "unicodePwd" => "9005a",
        "pwdLastSet" => "90060",
        "lockoutTime" => "90296",
        "userAccountControl" => "90008",
        "member" => "1f",
        _ => "0",
    }
}

/// The schema tables, built once.
pub struct Schema {
    attrs: Vec<AttrDef>,
    by_name: HashMap<String, AttrId>,
}

/// The process-wide schema.
pub fn schema() -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(|| {
        let attrs: Vec<AttrDef> = ATTRS
            .iter()
            .enumerate()
            .map(|(i, (name, syntax, single, kind))| AttrDef {
                id: AttrId(i as u16),
                name,
                syntax: *syntax,
                single: *single,
                kind: *kind,
                diag_id: diag_id(name),
            })
            .collect();
        let by_name = attrs
            .iter()
            .map(|a| (a.name.to_ascii_lowercase(), a.id))
            .collect();
        Schema { attrs, by_name }
    })
}

impl AttrDef {
    /// The attribute's schemaIDGUID where the lab needs the real one (rights are granted on it),
    /// else a stable GUID derived from its name.
    pub fn schema_guid(&self) -> uuid::Uuid {
        match self.name {
            "pwdLastSet" => ad_types::rights::ATTR_PWD_LAST_SET,
            "lockoutTime" => ad_types::rights::ATTR_LOCKOUT_TIME,
            name => {
                let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
                for b in name.to_ascii_lowercase().bytes() {
                    h ^= u128::from(b);
                    h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B);
                }
                uuid::Builder::from_u128(h)
                    .with_version(uuid::Version::Custom)
                    .into_uuid()
            }
        }
    }
}

impl Schema {
    /// The attribute named `name` (case-insensitive), if the schema has it.
    pub fn attr(&self, name: &str) -> Option<&AttrDef> {
        let id = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.by_name.get(&name.to_ascii_lowercase())
        } else {
            self.by_name.get(name)
        }?;
        Some(&self.attrs[id.0 as usize])
    }

    /// The definition of `id`.
    pub fn def(&self, id: AttrId) -> &AttrDef {
        &self.attrs[id.0 as usize]
    }

    /// Every attribute, in id order.
    pub fn all(&self) -> &[AttrDef] {
        &self.attrs
    }

    /// The id of an attribute fake-ad itself names; panics on a typo (a programming error).
    pub fn id(&self, name: &str) -> AttrId {
        self.attr(name)
            .unwrap_or_else(|| panic!("schema has no {name}"))
            .id
    }
}

/// Ids of the attributes the directory maintains itself, resolved once.
pub struct Known {
    /// objectClass
    pub object_class: AttrId,
    /// cn
    pub cn: AttrId,
    /// name
    pub name: AttrId,
    /// objectGUID
    pub object_guid: AttrId,
    /// objectSid
    pub object_sid: AttrId,
    /// objectCategory
    pub object_category: AttrId,
    /// distinguishedName
    pub dn: AttrId,
    /// instanceType
    pub instance_type: AttrId,
    /// whenCreated
    pub when_created: AttrId,
    /// whenChanged
    pub when_changed: AttrId,
    /// uSNCreated
    pub usn_created: AttrId,
    /// uSNChanged
    pub usn_changed: AttrId,
    /// sAMAccountName
    pub sam: AttrId,
    /// userPrincipalName
    pub upn: AttrId,
    /// userAccountControl
    pub uac: AttrId,
    /// sAMAccountType
    pub sam_type: AttrId,
    /// pwdLastSet
    pub pwd_last_set: AttrId,
    /// lockoutTime
    pub lockout_time: AttrId,
    /// badPwdCount
    pub bad_pwd_count: AttrId,
    /// member
    pub member: AttrId,
    /// memberOf
    pub member_of: AttrId,
    /// groupType
    pub group_type: AttrId,
    /// primaryGroupID
    pub primary_group_id: AttrId,
    /// unicodePwd
    pub unicode_pwd: AttrId,
    /// accountExpires
    pub account_expires: AttrId,
    /// canonicalName
    pub canonical_name: AttrId,
    /// createTimeStamp
    pub create_ts: AttrId,
    /// modifyTimeStamp
    pub modify_ts: AttrId,
    /// ou
    pub ou: AttrId,
    /// dc
    pub dc: AttrId,
}

/// The ids the directory uses itself.
pub fn known() -> &'static Known {
    static K: OnceLock<Known> = OnceLock::new();
    K.get_or_init(|| {
        let s = schema();
        Known {
            object_class: s.id("objectClass"),
            cn: s.id("cn"),
            name: s.id("name"),
            object_guid: s.id("objectGUID"),
            object_sid: s.id("objectSid"),
            object_category: s.id("objectCategory"),
            dn: s.id("distinguishedName"),
            instance_type: s.id("instanceType"),
            when_created: s.id("whenCreated"),
            when_changed: s.id("whenChanged"),
            usn_created: s.id("uSNCreated"),
            usn_changed: s.id("uSNChanged"),
            sam: s.id("sAMAccountName"),
            upn: s.id("userPrincipalName"),
            uac: s.id("userAccountControl"),
            sam_type: s.id("sAMAccountType"),
            pwd_last_set: s.id("pwdLastSet"),
            lockout_time: s.id("lockoutTime"),
            bad_pwd_count: s.id("badPwdCount"),
            member: s.id("member"),
            member_of: s.id("memberOf"),
            group_type: s.id("groupType"),
            primary_group_id: s.id("primaryGroupID"),
            unicode_pwd: s.id("unicodePwd"),
            account_expires: s.id("accountExpires"),
            canonical_name: s.id("canonicalName"),
            create_ts: s.id("createTimeStamp"),
            modify_ts: s.id("modifyTimeStamp"),
            ou: s.id("ou"),
            dc: s.id("dc"),
        }
    })
}

/// One object class: its superclass, naming attribute and whether its instances get a SID.
#[derive(Clone, Copy, Debug)]
pub struct ClassDef {
    /// lDAPDisplayName.
    pub name: &'static str,
    /// The superclass (`top` has none).
    pub sup: Option<&'static str>,
    /// The RDN attribute.
    pub rdn: &'static str,
    /// Instances are security principals (get objectSid).
    pub principal: bool,
    /// The objectCategory's CN.
    pub category: &'static str,
}

const CLASSES: &[ClassDef] = &[
    ClassDef {
        name: "top",
        sup: None,
        rdn: "cn",
        principal: false,
        category: "Top",
    },
    ClassDef {
        name: "person",
        sup: Some("top"),
        rdn: "cn",
        principal: false,
        category: "Person",
    },
    ClassDef {
        name: "organizationalPerson",
        sup: Some("person"),
        rdn: "cn",
        principal: false,
        category: "Person",
    },
    ClassDef {
        name: "user",
        sup: Some("organizationalPerson"),
        rdn: "cn",
        principal: true,
        category: "Person",
    },
    ClassDef {
        name: "inetOrgPerson",
        sup: Some("user"),
        rdn: "cn",
        principal: true,
        category: "Person",
    },
    ClassDef {
        name: "computer",
        sup: Some("user"),
        rdn: "cn",
        principal: true,
        category: "Computer",
    },
    ClassDef {
        name: "msDS-ManagedServiceAccount",
        sup: Some("computer"),
        rdn: "cn",
        principal: true,
        category: "ms-DS-Managed-Service-Account",
    },
    ClassDef {
        name: "msDS-GroupManagedServiceAccount",
        sup: Some("computer"),
        rdn: "cn",
        principal: true,
        category: "ms-DS-Group-Managed-Service-Account",
    },
    ClassDef {
        name: "contact",
        sup: Some("organizationalPerson"),
        rdn: "cn",
        principal: false,
        category: "Person",
    },
    ClassDef {
        name: "group",
        sup: Some("top"),
        rdn: "cn",
        principal: true,
        category: "Group",
    },
    ClassDef {
        name: "organizationalUnit",
        sup: Some("top"),
        rdn: "ou",
        principal: false,
        category: "Organizational-Unit",
    },
    ClassDef {
        name: "container",
        sup: Some("top"),
        rdn: "cn",
        principal: false,
        category: "Container",
    },
    ClassDef {
        name: "domain",
        sup: Some("top"),
        rdn: "dc",
        principal: false,
        category: "Domain-DNS",
    },
    ClassDef {
        name: "domainDNS",
        sup: Some("domain"),
        rdn: "dc",
        principal: false,
        category: "Domain-DNS",
    },
    ClassDef {
        name: "builtinDomain",
        sup: Some("top"),
        rdn: "cn",
        principal: false,
        category: "Builtin-Domain",
    },
    ClassDef {
        name: "groupPolicyContainer",
        sup: Some("container"),
        rdn: "cn",
        principal: false,
        category: "Group-Policy-Container",
    },
    ClassDef {
        name: "msDS-PasswordSettingsContainer",
        sup: Some("top"),
        rdn: "cn",
        principal: false,
        category: "ms-DS-Password-Settings-Container",
    },
    ClassDef {
        name: "msDS-PasswordSettings",
        sup: Some("top"),
        rdn: "cn",
        principal: false,
        category: "ms-DS-Password-Settings",
    },
];

/// The class named `name` (case-insensitive).
pub fn class(name: &str) -> Option<&'static ClassDef> {
    CLASSES.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}

/// The chain from `top` down to `name`, as AD lists objectClass values.
pub fn class_chain(name: &str) -> Option<Vec<&'static str>> {
    let mut c = class(name)?;
    let mut chain = vec![c.name];
    while let Some(sup) = c.sup {
        c = class(sup)?;
        chain.push(c.name);
    }
    chain.reverse();
    Some(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_are_case_insensitive() {
        assert_eq!(
            schema().attr("SAMACCOUNTNAME").unwrap().name,
            "sAMAccountName"
        );
        assert!(schema().attr("noSuchAttr").is_none());
        assert_eq!(
            class_chain("user").unwrap(),
            vec!["top", "person", "organizationalPerson", "user"]
        );
        assert_eq!(class("GROUP").unwrap().rdn, "cn");
    }
}
