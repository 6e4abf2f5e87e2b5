//! AD access rights: the access-mask bits, the directory service generic mapping, the GUIDs of
//! the extended rights, attributes and classes the lab checks, and the well-known SIDs.

use crate::Sid;
use uuid::{Uuid, uuid};

/// Create a child object (`CC`), optionally of the class in the ACE's object type.
pub const CREATE_CHILD: u32 = 0x1;
/// Delete a child object (`DC`).
pub const DELETE_CHILD: u32 = 0x2;
/// List the children (`LC`).
pub const LIST: u32 = 0x4;
/// A validated write (`SW`).
pub const SELF_WRITE: u32 = 0x8;
/// Read a property or property set (`RP`).
pub const READ_PROP: u32 = 0x10;
/// Write a property or property set (`WP`).
pub const WRITE_PROP: u32 = 0x20;
/// Delete the object and its subtree (`DT`).
pub const DELETE_TREE: u32 = 0x40;
/// List this object (`LO`).
pub const LIST_OBJECT: u32 = 0x80;
/// An extended (control access) right named by the ACE's object type (`CR`).
pub const CONTROL_ACCESS: u32 = 0x100;
/// Delete the object (`SD`).
pub const DELETE: u32 = 0x1_0000;
/// Read the security descriptor, less the SACL (`RC`).
pub const READ_CONTROL: u32 = 0x2_0000;
/// Write the DACL (`WD`).
pub const WRITE_DAC: u32 = 0x4_0000;
/// Take ownership (`WO`).
pub const WRITE_OWNER: u32 = 0x8_0000;
/// Every right (`GA`).
pub const GENERIC_ALL: u32 = 0x1000_0000;
/// Generic execute (`GX`).
pub const GENERIC_EXECUTE: u32 = 0x2000_0000;
/// Generic write (`GW`).
pub const GENERIC_WRITE: u32 = 0x4000_0000;
/// Generic read (`GR`).
pub const GENERIC_READ: u32 = 0x8000_0000;

/// What `GENERIC_READ` means on a directory object: RC, LC, RP, LO.
pub const DS_GENERIC_READ: u32 = 0x2_0094;
/// What `GENERIC_WRITE` means on a directory object: RC, SW, WP.
pub const DS_GENERIC_WRITE: u32 = 0x2_0028;
/// What `GENERIC_EXECUTE` means on a directory object: RC, LC.
pub const DS_GENERIC_EXECUTE: u32 = 0x2_0004;
/// What `GENERIC_ALL` means on a directory object: every standard and DS-specific right.
pub const DS_GENERIC_ALL: u32 = 0xF_01FF;

/// Replaces the generic bits of `mask` with the rights they stand for on a directory object.
pub fn map_generic(mask: u32) -> u32 {
    let mut out = mask & !(GENERIC_ALL | GENERIC_EXECUTE | GENERIC_WRITE | GENERIC_READ);
    for (bit, mapped) in [
        (GENERIC_READ, DS_GENERIC_READ),
        (GENERIC_WRITE, DS_GENERIC_WRITE),
        (GENERIC_EXECUTE, DS_GENERIC_EXECUTE),
        (GENERIC_ALL, DS_GENERIC_ALL),
    ] {
        if mask & bit != 0 {
            out |= mapped;
        }
    }
    out
}

/// Extended right Reset Password (User-Force-Change-Password).
pub const RESET_PASSWORD: Uuid = uuid!("00299570-246d-11d0-a768-00aa006e0529");
/// Extended right Change Password (User-Change-Password).
pub const CHANGE_PASSWORD: Uuid = uuid!("ab721a53-1e2f-11d0-9819-00aa0040529b");
/// Extended right Unexpire-Password, checked on the domain head.
pub const UNEXPIRE_PASSWORD: Uuid = uuid!("ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501");
/// Extended right Update-Password-Not-Required-Bit, checked on the domain head.
pub const UPDATE_PASSWORD_NOT_REQUIRED: Uuid = uuid!("280f369c-67c7-438e-ae98-1d46f3c6f541");
/// schemaIDGUID of the `pwdLastSet` attribute.
pub const ATTR_PWD_LAST_SET: Uuid = uuid!("bf967a0a-0de6-11d0-a285-00aa003049e2");
/// schemaIDGUID of the `lockoutTime` attribute.
pub const ATTR_LOCKOUT_TIME: Uuid = uuid!("28630ebf-41d5-11d1-a9c1-0000f80367c1");
/// Property set User-Account-Restrictions (holds `pwdLastSet`).
pub const PROPSET_USER_ACCOUNT_RESTRICTIONS: Uuid = uuid!("4c164200-20c0-11d0-a768-00aa006e0529");
/// schemaIDGUID of the `user` class.
pub const CLASS_USER: Uuid = uuid!("bf967aba-0de6-11d0-a285-00aa003049e2");
/// schemaIDGUID of the `group` class.
pub const CLASS_GROUP: Uuid = uuid!("bf967a9c-0de6-11d0-a285-00aa003049e2");
/// schemaIDGUID of the `computer` class.
pub const CLASS_COMPUTER: Uuid = uuid!("bf967a86-0de6-11d0-a285-00aa003049e2");
/// schemaIDGUID of the `organizationalUnit` class.
pub const CLASS_OU: Uuid = uuid!("bf967aa5-0de6-11d0-a285-00aa003049e2");
/// schemaIDGUID of the `container` class.
pub const CLASS_CONTAINER: Uuid = uuid!("bf967a8b-0de6-11d0-a285-00aa003049e2");
/// schemaIDGUID of the `domainDNS` class (the domain head).
pub const CLASS_DOMAIN_DNS: Uuid = uuid!("19195a5b-6da0-11d0-afd3-00c04fd930c9");
/// schemaIDGUID of the `inetOrgPerson` class.
pub const CLASS_INET_ORG_PERSON: Uuid = uuid!("4828cc14-1437-45bc-9b07-ad6f015e5f28");
/// schemaIDGUID of the `msDS-GroupManagedServiceAccount` class.
pub const CLASS_GMSA: Uuid = uuid!("7b8b558a-93a5-4af7-adca-e017e67f1057");
/// schemaIDGUID of the `msDS-ManagedServiceAccount` class.
pub const CLASS_MSA: Uuid = uuid!("ce206244-5827-4a86-ba1c-1c0c386c1b64");

/// Well-known SIDs that do not depend on the domain.
pub mod well_known {
    use crate::Sid;

    fn sid(authority: u64, sub: &[u32]) -> Sid {
        Sid {
            authority,
            sub: sub.to_vec(),
        }
    }

    /// Everyone, S-1-1-0 (`WD`).
    pub fn everyone() -> Sid {
        sid(1, &[0])
    }
    /// Creator Owner, S-1-3-0 (`CO`).
    pub fn creator_owner() -> Sid {
        sid(3, &[0])
    }
    /// Creator Group, S-1-3-1 (`CG`).
    pub fn creator_group() -> Sid {
        sid(3, &[1])
    }
    /// Anonymous Logon, S-1-5-7 (`AN`).
    pub fn anonymous() -> Sid {
        sid(5, &[7])
    }
    /// Enterprise Domain Controllers, S-1-5-9 (`ED`).
    pub fn enterprise_dcs() -> Sid {
        sid(5, &[9])
    }
    /// Principal Self, S-1-5-10 (`PS`): the object itself when it is a security principal.
    pub fn principal_self() -> Sid {
        sid(5, &[10])
    }
    /// Authenticated Users, S-1-5-11 (`AU`).
    pub fn authenticated_users() -> Sid {
        sid(5, &[11])
    }
    /// Local System, S-1-5-18 (`SY`).
    pub fn system() -> Sid {
        sid(5, &[18])
    }
    /// Local Service, S-1-5-19 (`LS`).
    pub fn local_service() -> Sid {
        sid(5, &[19])
    }
    /// Network Service, S-1-5-20 (`NS`).
    pub fn network_service() -> Sid {
        sid(5, &[20])
    }
    /// A BUILTIN alias, S-1-5-32-`rid`.
    pub fn builtin(rid: u32) -> Sid {
        sid(5, &[32, rid])
    }
    /// BUILTIN\Administrators, S-1-5-32-544 (`BA`).
    pub fn builtin_administrators() -> Sid {
        builtin(544)
    }
    /// BUILTIN\Users, S-1-5-32-545 (`BU`).
    pub fn builtin_users() -> Sid {
        builtin(545)
    }
    /// BUILTIN\Guests, S-1-5-32-546 (`BG`).
    pub fn builtin_guests() -> Sid {
        builtin(546)
    }
    /// Account Operators, S-1-5-32-548 (`AO`).
    pub fn account_operators() -> Sid {
        builtin(548)
    }
    /// Server Operators, S-1-5-32-549 (`SO`).
    pub fn server_operators() -> Sid {
        builtin(549)
    }
    /// Print Operators, S-1-5-32-550 (`PO`).
    pub fn print_operators() -> Sid {
        builtin(550)
    }
    /// Backup Operators, S-1-5-32-551 (`BO`).
    pub fn backup_operators() -> Sid {
        builtin(551)
    }
    /// Replicator, S-1-5-32-552 (`RE`).
    pub fn replicator() -> Sid {
        builtin(552)
    }
    /// Pre-Windows 2000 Compatible Access, S-1-5-32-554 (`RU`).
    pub fn pre_win2k() -> Sid {
        builtin(554)
    }
}

/// Relative IDs of the domain's well-known accounts and groups (append to the domain SID).
pub mod rid {
    /// The built-in Administrator account (`LA`).
    pub const ADMINISTRATOR: u32 = 500;
    /// The built-in Guest account (`LG`).
    pub const GUEST: u32 = 501;
    /// The krbtgt account.
    pub const KRBTGT: u32 = 502;
    /// Domain Admins (`DA`).
    pub const DOMAIN_ADMINS: u32 = 512;
    /// Domain Users (`DU`).
    pub const DOMAIN_USERS: u32 = 513;
    /// Domain Guests (`DG`).
    pub const DOMAIN_GUESTS: u32 = 514;
    /// Domain Computers (`DC`).
    pub const DOMAIN_COMPUTERS: u32 = 515;
    /// Domain Controllers (`DD`).
    pub const DOMAIN_CONTROLLERS: u32 = 516;
    /// Cert Publishers (`CA`).
    pub const CERT_PUBLISHERS: u32 = 517;
    /// Schema Admins (`SA`), in the forest root domain.
    pub const SCHEMA_ADMINS: u32 = 518;
    /// Enterprise Admins (`EA`), in the forest root domain.
    pub const ENTERPRISE_ADMINS: u32 = 519;
    /// Group Policy Creator Owners (`PA`).
    pub const GROUP_POLICY_CREATOR_OWNERS: u32 = 520;
    /// Read-only Domain Controllers (`RO`).
    pub const READ_ONLY_DCS: u32 = 521;
    /// Cloneable Domain Controllers (`CN`).
    pub const CLONEABLE_DCS: u32 = 522;
    /// Protected Users (`AP`).
    pub const PROTECTED_USERS: u32 = 525;
    /// Key Admins (`KA`).
    pub const KEY_ADMINS: u32 = 526;
    /// RAS and IAS Servers (`RS`).
    pub const RAS_SERVERS: u32 = 553;
}

/// The SID of a domain account or group: `domain` with `rid` appended.
pub fn domain_sid(domain: &Sid, rid: u32) -> Sid {
    domain.with_rid(rid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_mapping() {
        assert_eq!(map_generic(GENERIC_ALL), DS_GENERIC_ALL);
        assert_eq!(map_generic(GENERIC_READ | DELETE), DS_GENERIC_READ | DELETE);
        assert_eq!(map_generic(GENERIC_WRITE) & WRITE_PROP, WRITE_PROP);
        assert_eq!(map_generic(CONTROL_ACCESS), CONTROL_ACCESS);
        assert_eq!(DS_GENERIC_ALL & CONTROL_ACCESS, CONTROL_ACCESS);
    }

    #[test]
    fn constants_print_as_given() {
        assert_eq!(
            RESET_PASSWORD.to_string(),
            "00299570-246d-11d0-a768-00aa006e0529"
        );
        assert_eq!(well_known::pre_win2k().to_string(), "S-1-5-32-554");
        assert_eq!(well_known::everyone().to_string(), "S-1-1-0");
        let d: Sid = "S-1-5-21-1-2-3".parse().unwrap();
        assert_eq!(
            domain_sid(&d, rid::DOMAIN_ADMINS).to_string(),
            "S-1-5-21-1-2-3-512"
        );
    }
}
