//! Security descriptors (MS-DTYP 2.4.6): owner, group, DACL and SACL, and the self-relative
//! binary form AD stores in `nTSecurityDescriptor`.

use crate::Sid;
use uuid::Uuid;

/// ACE flag: the ACE is inherited by non-container child objects (`OI`).
pub const OBJECT_INHERIT: u8 = 0x01;
/// ACE flag: the ACE is inherited by child containers; in AD, by every child object (`CI`).
pub const CONTAINER_INHERIT: u8 = 0x02;
/// ACE flag: inherited copies do not inherit further (`NP`).
pub const NO_PROPAGATE: u8 = 0x04;
/// ACE flag: the ACE only exists to be inherited and does not apply to this object (`IO`).
pub const INHERIT_ONLY: u8 = 0x08;
/// ACE flag: the ACE was inherited from the parent (`ID`).
pub const INHERITED: u8 = 0x10;
/// ACE flag on audit ACEs: audit successful access (`SA`).
pub const SUCCESSFUL_ACCESS: u8 = 0x40;
/// ACE flag on audit ACEs: audit failed access (`FA`).
pub const FAILED_ACCESS: u8 = 0x80;

/// Control bit: the owner came from a default.
pub const SE_OWNER_DEFAULTED: u16 = 0x0001;
/// Control bit: the group came from a default.
pub const SE_GROUP_DEFAULTED: u16 = 0x0002;
/// Control bit: the descriptor has a DACL (with offset 0 it is a NULL DACL).
pub const SE_DACL_PRESENT: u16 = 0x0004;
/// Control bit: the DACL came from a default.
pub const SE_DACL_DEFAULTED: u16 = 0x0008;
/// Control bit: the descriptor has a SACL.
pub const SE_SACL_PRESENT: u16 = 0x0010;
/// Control bit: the SACL came from a default.
pub const SE_SACL_DEFAULTED: u16 = 0x0020;
/// Control bit: the DACL should be inherited by children created later (`AR` on `D:`).
pub const SE_DACL_AUTO_INHERIT_REQ: u16 = 0x0100;
/// Control bit: the SACL should be inherited by children created later (`AR` on `S:`).
pub const SE_SACL_AUTO_INHERIT_REQ: u16 = 0x0200;
/// Control bit: the DACL was set up with automatic inheritance (`AI` on `D:`).
pub const SE_DACL_AUTO_INHERITED: u16 = 0x0400;
/// Control bit: the SACL was set up with automatic inheritance (`AI` on `S:`).
pub const SE_SACL_AUTO_INHERITED: u16 = 0x0800;
/// Control bit: the DACL takes nothing from the parent, "inheritance disabled" (`P` on `D:`).
pub const SE_DACL_PROTECTED: u16 = 0x1000;
/// Control bit: the SACL takes nothing from the parent (`P` on `S:`).
pub const SE_SACL_PROTECTED: u16 = 0x2000;
/// Control bit: the descriptor is in self-relative (contiguous, offset-based) form.
pub const SE_SELF_RELATIVE: u16 = 0x8000;

/// ACL revision for ACLs with only non-object ACEs.
pub const ACL_REVISION: u8 = 2;
/// ACL revision for ACLs that may hold object ACEs (what AD uses).
pub const ACL_REVISION_DS: u8 = 4;
/// Object ACE flags field: the object type GUID follows.
pub const ACE_OBJECT_TYPE_PRESENT: u32 = 1;
/// Object ACE flags field: the inherited object type GUID follows.
pub const ACE_INHERITED_OBJECT_TYPE_PRESENT: u32 = 2;

const HEADER_LEN: usize = 20;
const ACL_HEADER_LEN: usize = 8;

/// A security descriptor. `dacl: None` is a NULL DACL (everyone gets everything); an empty
/// DACL grants nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SecurityDescriptor {
    /// The `SE_*` control bits.
    pub control: u16,
    /// The owner SID.
    pub owner: Option<Sid>,
    /// The primary group SID.
    pub group: Option<Sid>,
    /// The discretionary ACL.
    pub dacl: Option<Acl>,
    /// The system (audit) ACL.
    pub sacl: Option<Acl>,
}

/// An access control list: ACEs in the order they are evaluated.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Acl {
    /// `ACL_REVISION` (2) or `ACL_REVISION_DS` (4).
    pub revision: u8,
    /// The entries.
    pub aces: Vec<Ace>,
}

/// One access control entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ace {
    /// Allow, deny or audit, plain or object.
    pub kind: AceKind,
    /// The ACE flags (`OBJECT_INHERIT`, `CONTAINER_INHERIT`, ...).
    pub flags: u8,
    /// The access mask (see `rights`).
    pub mask: u32,
    /// For object ACEs: the extended right, property, property set or child class.
    pub object_type: Option<Uuid>,
    /// For object ACEs: the class of child objects that inherit this ACE.
    pub inherited_object_type: Option<Uuid>,
    /// The trustee.
    pub sid: Sid,
}

/// The ACE types AD uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AceKind {
    /// ACCESS_ALLOWED_ACE (0x0).
    Allow,
    /// ACCESS_DENIED_ACE (0x1).
    Deny,
    /// ACCESS_ALLOWED_OBJECT_ACE (0x5).
    AllowObject,
    /// ACCESS_DENIED_OBJECT_ACE (0x6).
    DenyObject,
    /// SYSTEM_AUDIT_ACE (0x2).
    SystemAudit,
    /// SYSTEM_AUDIT_OBJECT_ACE (0x7).
    SystemAuditObject,
}

impl AceKind {
    /// The binary ACE type.
    pub fn code(self) -> u8 {
        match self {
            AceKind::Allow => 0x0,
            AceKind::Deny => 0x1,
            AceKind::SystemAudit => 0x2,
            AceKind::AllowObject => 0x5,
            AceKind::DenyObject => 0x6,
            AceKind::SystemAuditObject => 0x7,
        }
    }

    /// The kind of a binary ACE type, if it is one AD uses.
    pub fn from_code(code: u8) -> Option<AceKind> {
        Some(match code {
            0x0 => AceKind::Allow,
            0x1 => AceKind::Deny,
            0x2 => AceKind::SystemAudit,
            0x5 => AceKind::AllowObject,
            0x6 => AceKind::DenyObject,
            0x7 => AceKind::SystemAuditObject,
            _ => return None,
        })
    }

    /// Whether the ACE carries object type GUIDs.
    pub fn is_object(self) -> bool {
        matches!(
            self,
            AceKind::AllowObject | AceKind::DenyObject | AceKind::SystemAuditObject
        )
    }

    /// Whether it is an allow ACE (plain or object).
    pub fn is_allow(self) -> bool {
        matches!(self, AceKind::Allow | AceKind::AllowObject)
    }

    /// Whether it is a deny ACE (plain or object).
    pub fn is_deny(self) -> bool {
        matches!(self, AceKind::Deny | AceKind::DenyObject)
    }
}

impl Ace {
    /// A plain allow ACE with no flags.
    pub fn allow(sid: Sid, mask: u32) -> Ace {
        Ace::new(AceKind::Allow, sid, mask, None, None)
    }

    /// A plain deny ACE with no flags.
    pub fn deny(sid: Sid, mask: u32) -> Ace {
        Ace::new(AceKind::Deny, sid, mask, None, None)
    }

    /// An object allow ACE with no flags.
    pub fn allow_object(sid: Sid, mask: u32, object: Option<Uuid>, inherited: Option<Uuid>) -> Ace {
        Ace::new(AceKind::AllowObject, sid, mask, object, inherited)
    }

    /// An object deny ACE with no flags.
    pub fn deny_object(sid: Sid, mask: u32, object: Option<Uuid>, inherited: Option<Uuid>) -> Ace {
        Ace::new(AceKind::DenyObject, sid, mask, object, inherited)
    }

    /// An ACE of any kind with no flags (GUIDs are dropped for non-object kinds).
    pub fn new(
        kind: AceKind,
        sid: Sid,
        mask: u32,
        object: Option<Uuid>,
        inherited: Option<Uuid>,
    ) -> Ace {
        let obj = kind.is_object();
        Ace {
            kind,
            flags: 0,
            mask,
            object_type: object.filter(|_| obj),
            inherited_object_type: inherited.filter(|_| obj),
            sid,
        }
    }

    /// This ACE with `flags` as its ACE flags.
    pub fn with_flags(mut self, flags: u8) -> Ace {
        self.flags = flags;
        self
    }

    /// Whether all of `flag`'s bits are set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }

    fn write(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[self.kind.code(), self.flags, 0, 0]);
        out.extend_from_slice(&self.mask.to_le_bytes());
        if self.kind.is_object() {
            let mut f = 0u32;
            if self.object_type.is_some() {
                f |= ACE_OBJECT_TYPE_PRESENT;
            }
            if self.inherited_object_type.is_some() {
                f |= ACE_INHERITED_OBJECT_TYPE_PRESENT;
            }
            out.extend_from_slice(&f.to_le_bytes());
            for g in [self.object_type, self.inherited_object_type]
                .into_iter()
                .flatten()
            {
                out.extend_from_slice(&g.to_bytes_le());
            }
        }
        out.extend_from_slice(&self.sid.to_bytes());
        while !(out.len() - start).is_multiple_of(4) {
            out.push(0);
        }
        let size = u16::try_from(out.len() - start).expect("an ACE is under 64 KiB");
        out[start + 2..start + 4].copy_from_slice(&size.to_le_bytes());
    }
}

impl Acl {
    /// An ACL holding `aces`, revision 4 if any is an object ACE, else 2.
    pub fn new(aces: Vec<Ace>) -> Acl {
        let revision = if aces.iter().any(|a| a.kind.is_object()) {
            ACL_REVISION_DS
        } else {
            ACL_REVISION
        };
        Acl { revision, aces }
    }

    /// The size of the binary form in bytes.
    pub fn byte_len(&self) -> usize {
        let mut v = Vec::new();
        for a in &self.aces {
            a.write(&mut v);
        }
        ACL_HEADER_LEN + v.len()
    }

    fn write(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[self.revision, 0, 0, 0]);
        let count = u16::try_from(self.aces.len()).expect("an ACL has under 65536 ACEs");
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        for a in &self.aces {
            a.write(out);
        }
        let size = u16::try_from(out.len() - start).expect("an ACL is under 64 KiB");
        out[start + 2..start + 4].copy_from_slice(&size.to_le_bytes());
    }
}

/// Why a binary security descriptor could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdError {
    /// The data ends before a structure does.
    #[error("security descriptor truncated: {what} at byte {at}")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Its offset.
        at: usize,
    },
    /// The descriptor revision is not 1.
    #[error("security descriptor revision {0} (want 1)")]
    Revision(u8),
    /// An owner, group or ACL offset points into the header.
    #[error("{what} offset {at} points into the header")]
    Offset {
        /// The structure.
        what: &'static str,
        /// The offset.
        at: usize,
    },
    /// An ACL header is invalid.
    #[error("bad ACL at byte {at}: {why}")]
    Acl {
        /// The ACL's offset.
        at: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// An ACE is invalid.
    #[error("bad ACE at byte {at}: {why}")]
    Ace {
        /// The ACE's offset in the descriptor.
        at: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// An ACE type AD does not use.
    #[error("unsupported ACE type {kind:#04x} at byte {at}")]
    AceType {
        /// The ACE's offset in the descriptor.
        at: usize,
        /// The type byte.
        kind: u8,
    },
    /// A SID is malformed.
    #[error("bad SID at byte {at}")]
    Sid {
        /// The SID's offset in the descriptor.
        at: usize,
    },
}

fn slice<'a>(b: &'a [u8], at: usize, len: usize, what: &'static str) -> Result<&'a [u8], SdError> {
    at.checked_add(len)
        .and_then(|end| b.get(at..end))
        .ok_or(SdError::Truncated { what, at })
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads the SID at `b[at..]`; `base` is `b`'s offset in the descriptor, for errors.
fn read_sid(b: &[u8], at: usize, base: usize) -> Result<Sid, SdError> {
    let head = slice(b, at, 8, "SID").map_err(|_| SdError::Sid { at: base + at })?;
    let len = 8 + 4 * head[1] as usize;
    let all = slice(b, at, len, "SID").map_err(|_| SdError::Sid { at: base + at })?;
    Sid::from_bytes(all).map_err(|_| SdError::Sid { at: base + at })
}

fn read_ace(body: &[u8], kind: AceKind, flags: u8, at: usize) -> Result<Ace, SdError> {
    let bad = |why| SdError::Ace { at, why };
    let fixed = if kind.is_object() { 8 } else { 4 };
    if body.len() < fixed {
        return Err(bad("too short"));
    }
    let mask = u32_at(body, 0);
    let mut p = fixed;
    let (mut object_type, mut inherited_object_type) = (None, None);
    if kind.is_object() {
        let f = u32_at(body, 4);
        for (bit, slot) in [
            (ACE_OBJECT_TYPE_PRESENT, &mut object_type),
            (
                ACE_INHERITED_OBJECT_TYPE_PRESENT,
                &mut inherited_object_type,
            ),
        ] {
            if f & bit != 0 {
                let g = body.get(p..p + 16).ok_or(bad("GUID past the ACE"))?;
                *slot = crate::guid::from_ad_bytes(g);
                p += 16;
            }
        }
    }
    let sid = read_sid(body, p, at + 4)?;
    Ok(Ace {
        kind,
        flags,
        mask,
        object_type,
        inherited_object_type,
        sid,
    })
}

fn read_acl(b: &[u8], at: usize) -> Result<Acl, SdError> {
    let bad = |why| SdError::Acl { at, why };
    let head = slice(b, at, ACL_HEADER_LEN, "ACL header")?;
    let revision = head[0];
    if !(ACL_REVISION..=ACL_REVISION_DS).contains(&revision) {
        return Err(bad("revision not 2-4"));
    }
    let size = u16_at(head, 2) as usize;
    let count = u16_at(head, 4) as usize;
    if size < ACL_HEADER_LEN {
        return Err(bad("size below the header"));
    }
    let acl = slice(b, at, size, "ACL")?;
    let mut aces = Vec::with_capacity(count.min(size / 8));
    let mut p = ACL_HEADER_LEN;
    for _ in 0..count {
        let ace_at = at + p;
        let h = acl.get(p..p + 4).ok_or(SdError::Ace {
            at: ace_at,
            why: "header past the ACL",
        })?;
        let (code, flags, ace_size) = (h[0], h[1], u16_at(h, 2) as usize);
        if ace_size < 4 || !ace_size.is_multiple_of(4) {
            return Err(SdError::Ace {
                at: ace_at,
                why: "size not a multiple of 4",
            });
        }
        let body = acl.get(p + 4..p + ace_size).ok_or(SdError::Ace {
            at: ace_at,
            why: "past the ACL",
        })?;
        let kind = AceKind::from_code(code).ok_or(SdError::AceType {
            at: ace_at,
            kind: code,
        })?;
        aces.push(read_ace(body, kind, flags, ace_at)?);
        p += ace_size;
    }
    Ok(Acl { revision, aces })
}

impl SecurityDescriptor {
    /// Whether inheritance is disabled (`SE_DACL_PROTECTED`).
    pub fn is_protected(&self) -> bool {
        self.control & SE_DACL_PROTECTED != 0
    }

    /// The control word as written by `to_bytes`: self-relative, with the present bits set for
    /// each ACL that exists.
    pub fn wire_control(&self) -> u16 {
        let mut c = self.control | SE_SELF_RELATIVE;
        if self.dacl.is_some() {
            c |= SE_DACL_PRESENT;
        }
        if self.sacl.is_some() {
            c |= SE_SACL_PRESENT;
        }
        c
    }

    /// The self-relative binary form, laid out as AD writes it: header, SACL, DACL, owner,
    /// group.
    ///
    /// # Panics
    /// If an ACL is larger than 65,535 bytes, which the format cannot express.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![0u8; HEADER_LEN];
        out[0] = 1;
        out[2..4].copy_from_slice(&self.wire_control().to_le_bytes());
        let offset = |out: &mut Vec<u8>, slot: usize| {
            let at = out.len() as u32;
            out[slot..slot + 4].copy_from_slice(&at.to_le_bytes());
        };
        if let Some(sacl) = &self.sacl {
            offset(&mut out, 12);
            sacl.write(&mut out);
        }
        if let Some(dacl) = &self.dacl {
            offset(&mut out, 16);
            dacl.write(&mut out);
        }
        if let Some(owner) = &self.owner {
            offset(&mut out, 4);
            out.extend_from_slice(&owner.to_bytes());
        }
        if let Some(group) = &self.group {
            offset(&mut out, 8);
            out.extend_from_slice(&group.to_bytes());
        }
        out
    }

    /// Parses the self-relative binary form, checking every offset, length and ACE size. An
    /// ACL counts only if its present bit is set and its offset is not 0.
    pub fn from_bytes(b: &[u8]) -> Result<SecurityDescriptor, SdError> {
        let head = slice(b, 0, HEADER_LEN, "header")?;
        if head[0] != 1 {
            return Err(SdError::Revision(head[0]));
        }
        let control = u16_at(head, 2);
        let off = |slot: usize, what: &'static str| -> Result<Option<usize>, SdError> {
            match u32_at(head, slot) as usize {
                0 => Ok(None),
                at if at < HEADER_LEN => Err(SdError::Offset { what, at }),
                at => Ok(Some(at)),
            }
        };
        let owner = off(4, "owner")?.map(|at| read_sid(b, at, 0)).transpose()?;
        let group = off(8, "group")?.map(|at| read_sid(b, at, 0)).transpose()?;
        let sacl = off(12, "SACL")?
            .filter(|_| control & SE_SACL_PRESENT != 0)
            .map(|at| read_acl(b, at))
            .transpose()?;
        let dacl = off(16, "DACL")?
            .filter(|_| control & SE_DACL_PRESENT != 0)
            .map(|at| read_acl(b, at))
            .transpose()?;
        Ok(SecurityDescriptor {
            control,
            owner,
            group,
            dacl,
            sacl,
        })
    }
}

/// Random descriptors for property tests, shared by this crate's test modules.
#[cfg(test)]
pub(crate) mod arb {
    use super::*;
    use crate::rights::{self, well_known};
    use proptest::prelude::*;
    use proptest::sample::select;

    /// The domain SID the test descriptors use.
    pub fn domain() -> Sid {
        "S-1-5-21-1-2-3".parse().unwrap()
    }

    /// A small pool of trustees.
    pub fn sids() -> Vec<Sid> {
        let d = domain();
        vec![
            well_known::everyone(),
            well_known::authenticated_users(),
            well_known::principal_self(),
            well_known::system(),
            d.with_rid(512),
            d.with_rid(1105),
            d.with_rid(1106),
            "S-1-5-21-9-9-9-1000".parse().unwrap(),
        ]
    }

    /// A small pool of object type GUIDs.
    pub fn guids() -> Vec<Uuid> {
        vec![
            rights::RESET_PASSWORD,
            rights::CHANGE_PASSWORD,
            rights::ATTR_PWD_LAST_SET,
            rights::ATTR_LOCKOUT_TIME,
            rights::PROPSET_USER_ACCOUNT_RESTRICTIONS,
            rights::CLASS_USER,
            rights::CLASS_OU,
        ]
    }

    /// A small pool of access masks.
    pub fn masks() -> Vec<u32> {
        use rights::*;
        vec![
            CONTROL_ACCESS,
            WRITE_PROP,
            READ_PROP,
            READ_PROP | WRITE_PROP,
            DELETE,
            WRITE_DAC | WRITE_OWNER,
            CREATE_CHILD | DELETE_CHILD,
            GENERIC_ALL,
            GENERIC_READ,
            GENERIC_WRITE,
            DS_GENERIC_ALL,
            0x0010_0000,
        ]
    }

    fn opt_guid() -> impl Strategy<Value = Option<Uuid>> {
        proptest::option::of(select(guids()))
    }

    /// An ACE of one of `kinds`.
    pub fn ace(kinds: Vec<AceKind>, flag_bits: u8) -> impl Strategy<Value = Ace> {
        (
            select(kinds),
            any::<u8>(),
            select(masks()),
            opt_guid(),
            opt_guid(),
            select(sids()),
        )
            .prop_map(move |(kind, f, mask, o, i, sid)| {
                Ace::new(kind, sid, mask, o, i).with_flags(f & flag_bits)
            })
    }

    /// A descriptor with 0–8 DACL ACEs and an optional 0–3 ACE SACL.
    pub fn sd() -> impl Strategy<Value = SecurityDescriptor> {
        let dacl_kinds = vec![
            AceKind::Allow,
            AceKind::Deny,
            AceKind::AllowObject,
            AceKind::DenyObject,
        ];
        let sacl_kinds = vec![AceKind::SystemAudit, AceKind::SystemAuditObject];
        (
            proptest::option::of(select(sids())),
            proptest::option::of(select(sids())),
            proptest::option::of(proptest::collection::vec(ace(dacl_kinds, 0x1f), 0..=8)),
            proptest::option::of(proptest::collection::vec(ace(sacl_kinds, 0xdf), 0..=3)),
            select(vec![
                0,
                SE_DACL_PROTECTED,
                SE_DACL_AUTO_INHERITED,
                SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED | SE_DACL_AUTO_INHERIT_REQ,
                SE_SACL_AUTO_INHERITED | SE_SACL_PROTECTED | SE_SACL_AUTO_INHERIT_REQ,
            ]),
            any::<bool>(),
        )
            .prop_map(|(owner, group, dacl, sacl, flags, null_dacl)| {
                let mut sd = SecurityDescriptor {
                    control: flags,
                    owner,
                    group,
                    dacl: dacl.map(Acl::new),
                    sacl: sacl.map(Acl::new),
                };
                if sd.dacl.is_none() && null_dacl {
                    sd.control |= SE_DACL_PRESENT;
                }
                sd.control = sd.wire_control();
                sd
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rights::{self, well_known};
    use proptest::prelude::*;

    fn sample() -> SecurityDescriptor {
        let d = arb::domain();
        SecurityDescriptor {
            control: SE_SELF_RELATIVE | SE_DACL_PRESENT | SE_DACL_PROTECTED,
            owner: Some(d.with_rid(512)),
            group: Some(d.with_rid(513)),
            dacl: Some(Acl::new(vec![
                Ace::deny(well_known::everyone(), rights::DELETE),
                Ace::allow_object(
                    d.with_rid(1105),
                    rights::CONTROL_ACCESS,
                    Some(rights::RESET_PASSWORD),
                    Some(rights::CLASS_USER),
                )
                .with_flags(CONTAINER_INHERIT | INHERIT_ONLY),
                Ace::allow(well_known::system(), rights::GENERIC_ALL),
            ])),
            sacl: None,
        }
    }

    #[test]
    fn layout_matches_ms_dtyp() {
        let sd = sample();
        let b = sd.to_bytes();
        assert_eq!(b[0], 1);
        assert_eq!(u16_at(&b, 2), sd.control);
        // No SACL; DACL right after the header, then owner, then group.
        assert_eq!(u32_at(&b, 12), 0);
        assert_eq!(u32_at(&b, 16), 20);
        let dacl_len = sd.dacl.as_ref().unwrap().byte_len();
        assert_eq!(u32_at(&b, 4) as usize, 20 + dacl_len);
        assert_eq!(b[20], ACL_REVISION_DS);
        assert_eq!(u16_at(&b, 22) as usize, dacl_len);
        assert_eq!(u16_at(&b, 24), 3);
        // Object ACE: type 5, flags CI|IO, size 4+4+4+16+16+SID(28) = 72.
        let ace = 20 + 8 + 20;
        assert_eq!(&b[ace..ace + 4], &[5, 0x0a, 72, 0]);
        assert_eq!(u32_at(&b, ace + 8), 3);
        assert_eq!(&b[ace + 12..ace + 16], &[0x70, 0x95, 0x29, 0x00]);
        assert_eq!(SecurityDescriptor::from_bytes(&b).unwrap(), sd);
        assert!(sd.is_protected());
    }

    #[test]
    fn null_and_absent_dacl() {
        let mut sd = SecurityDescriptor {
            control: SE_DACL_PRESENT,
            ..Default::default()
        };
        let back = SecurityDescriptor::from_bytes(&sd.to_bytes()).unwrap();
        assert_eq!(back.dacl, None);
        assert_eq!(back.control, SE_DACL_PRESENT | SE_SELF_RELATIVE);
        sd.dacl = Some(Acl::new(vec![]));
        let back = SecurityDescriptor::from_bytes(&sd.to_bytes()).unwrap();
        assert_eq!(back.dacl, Some(Acl::new(vec![])));
    }

    #[test]
    fn rejects_bad_input() {
        let b = sample().to_bytes();
        assert!(matches!(
            SecurityDescriptor::from_bytes(&b[..10]),
            Err(SdError::Truncated { .. })
        ));
        assert!(SecurityDescriptor::from_bytes(&b[..b.len() - 1]).is_err());
        let mut bad = b.clone();
        bad[0] = 2;
        assert_eq!(
            SecurityDescriptor::from_bytes(&bad),
            Err(SdError::Revision(2))
        );
        let mut bad = b.clone();
        bad[20 + 8] = 9; // first ACE type
        assert!(matches!(
            SecurityDescriptor::from_bytes(&bad),
            Err(SdError::AceType { kind: 9, .. })
        ));
        let mut bad = b.clone();
        bad[20 + 8 + 2] = 18; // first ACE size not a multiple of 4
        assert!(matches!(
            SecurityDescriptor::from_bytes(&bad),
            Err(SdError::Ace { .. })
        ));
        let mut bad = b;
        bad[16] = 4; // DACL offset inside the header
        assert!(matches!(
            SecurityDescriptor::from_bytes(&bad),
            Err(SdError::Offset { .. })
        ));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = SecurityDescriptor::from_bytes(&b);
        }

        #[test]
        fn mutated_descriptors_never_panic(
            sd in arb::sd(),
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        ) {
            let mut b = sd.to_bytes();
            for (i, v) in edits {
                let i = i % b.len();
                b[i] = v;
            }
            let _ = SecurityDescriptor::from_bytes(&b);
        }

        #[test]
        fn bytes_round_trip(sd in arb::sd()) {
            let b = sd.to_bytes();
            prop_assert_eq!(SecurityDescriptor::from_bytes(&b).unwrap(), sd);
        }
    }
}
