//! SDDL, the text form of security descriptors, for the subset AD uses: `O:` `G:` `D:` `S:`,
//! the `P` `AI` `AR` ACL flags, and ACEs `(type;flags;rights;object;inherited object;sid)`.

use crate::Sid;
use crate::rights::{rid, well_known};
use crate::sd::*;
use uuid::Uuid;

/// Why an SDDL string could not be parsed: each variant names the offending token and its
/// byte position in the string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SddlError {
    /// Text where a section tag (`O:` `G:` `D:` `S:`), an ACL flag or an ACE was expected.
    #[error("unexpected {token:?} at {pos}")]
    Unexpected {
        /// The text found.
        token: String,
        /// Its byte position.
        pos: usize,
    },
    /// A section given twice.
    #[error("section {token:?} given twice (at {pos})")]
    Duplicate {
        /// The section tag.
        token: String,
        /// Its byte position.
        pos: usize,
    },
    /// An ACE without its closing parenthesis.
    #[error("ACE {token:?} at {pos} is not closed")]
    Unterminated {
        /// The ACE text.
        token: String,
        /// Its byte position.
        pos: usize,
    },
    /// An ACE without exactly six fields.
    #[error("ACE {token:?} at {pos} does not have 6 fields")]
    AceFields {
        /// The ACE text.
        token: String,
        /// Its byte position.
        pos: usize,
    },
    /// An ACE type other than A, D, OA, OD, AU, OU.
    #[error("unknown ACE type {token:?} at {pos}")]
    AceType {
        /// The type field.
        token: String,
        /// Its byte position.
        pos: usize,
    },
    /// An unknown ACE flag.
    #[error("unknown ACE flag {token:?} at {pos}")]
    AceFlag {
        /// The flag.
        token: String,
        /// Its byte position.
        pos: usize,
    },
    /// An unknown right mnemonic or bad hex mask.
    #[error("unknown right {token:?} at {pos}")]
    Right {
        /// The right.
        token: String,
        /// Its byte position.
        pos: usize,
    },
    /// A bad GUID, or a GUID on a non-object ACE.
    #[error("bad GUID {token:?} at {pos}")]
    Guid {
        /// The GUID field.
        token: String,
        /// Its byte position.
        pos: usize,
    },
    /// An unknown SID alias or malformed SID string.
    #[error("bad SID {token:?} at {pos}")]
    Sid {
        /// The SID field.
        token: String,
        /// Its byte position.
        pos: usize,
    },
    /// An ACL over 64 KiB in binary form.
    #[error("ACL at {pos} is {token} bytes, over 65535")]
    TooLarge {
        /// The size in bytes.
        token: String,
        /// The position of its section tag.
        pos: usize,
    },
}

impl SddlError {
    /// The byte position of the offending token.
    pub fn pos(&self) -> usize {
        match self {
            SddlError::Unexpected { pos, .. }
            | SddlError::Duplicate { pos, .. }
            | SddlError::Unterminated { pos, .. }
            | SddlError::AceFields { pos, .. }
            | SddlError::AceType { pos, .. }
            | SddlError::AceFlag { pos, .. }
            | SddlError::Right { pos, .. }
            | SddlError::Guid { pos, .. }
            | SddlError::Sid { pos, .. }
            | SddlError::TooLarge { pos, .. } => *pos,
        }
    }
}

const ACE_TYPES: [(&str, AceKind); 6] = [
    ("A", AceKind::Allow),
    ("D", AceKind::Deny),
    ("OA", AceKind::AllowObject),
    ("OD", AceKind::DenyObject),
    ("AU", AceKind::SystemAudit),
    ("OU", AceKind::SystemAuditObject),
];

const ACE_FLAGS: [(&str, u8); 7] = [
    ("OI", OBJECT_INHERIT),
    ("CI", CONTAINER_INHERIT),
    ("NP", NO_PROPAGATE),
    ("IO", INHERIT_ONLY),
    ("ID", INHERITED),
    ("SA", SUCCESSFUL_ACCESS),
    ("FA", FAILED_ACCESS),
];

/// Right mnemonics in bit order, which is the order Windows prints them in.
const RIGHTS: [(&str, u32); 17] = [
    ("CC", 0x1),
    ("DC", 0x2),
    ("LC", 0x4),
    ("SW", 0x8),
    ("RP", 0x10),
    ("WP", 0x20),
    ("DT", 0x40),
    ("LO", 0x80),
    ("CR", 0x100),
    ("SD", 0x1_0000),
    ("RC", 0x2_0000),
    ("WD", 0x4_0000),
    ("WO", 0x8_0000),
    ("GA", 0x1000_0000),
    ("GX", 0x2000_0000),
    ("GW", 0x4000_0000),
    ("GR", 0x8000_0000),
];

/// (ACL flag, control bit for `D:`, control bit for `S:`) in the order Windows prints them.
const ACL_FLAGS: [(&str, u16, u16); 3] = [
    ("P", SE_DACL_PROTECTED, SE_SACL_PROTECTED),
    ("AR", SE_DACL_AUTO_INHERIT_REQ, SE_SACL_AUTO_INHERIT_REQ),
    ("AI", SE_DACL_AUTO_INHERITED, SE_SACL_AUTO_INHERITED),
];

const NO_ACCESS_CONTROL: &str = "NO_ACCESS_CONTROL";

/// The SID aliases: absolute ones, then those relative to `domain` (Schema and Enterprise
/// Admins are taken from `domain` too: the lab's forests have one domain).
fn aliases(domain: &Sid) -> Vec<(&'static str, Sid)> {
    use well_known::*;
    let mut v = vec![
        ("WD", everyone()),
        ("CO", creator_owner()),
        ("CG", creator_group()),
        ("AN", anonymous()),
        ("ED", enterprise_dcs()),
        ("PS", principal_self()),
        ("AU", authenticated_users()),
        ("SY", system()),
        ("LS", local_service()),
        ("NS", network_service()),
        ("BA", builtin_administrators()),
        ("BU", builtin_users()),
        ("BG", builtin_guests()),
        ("PU", builtin(547)),
        ("AO", account_operators()),
        ("SO", server_operators()),
        ("PO", print_operators()),
        ("BO", backup_operators()),
        ("RE", replicator()),
        ("RU", pre_win2k()),
    ];
    for (alias, r) in [
        ("LA", rid::ADMINISTRATOR),
        ("LG", rid::GUEST),
        ("DA", rid::DOMAIN_ADMINS),
        ("DU", rid::DOMAIN_USERS),
        ("DG", rid::DOMAIN_GUESTS),
        ("DC", rid::DOMAIN_COMPUTERS),
        ("DD", rid::DOMAIN_CONTROLLERS),
        ("CA", rid::CERT_PUBLISHERS),
        ("SA", rid::SCHEMA_ADMINS),
        ("EA", rid::ENTERPRISE_ADMINS),
        ("PA", rid::GROUP_POLICY_CREATOR_OWNERS),
        ("RO", rid::READ_ONLY_DCS),
        ("CN", rid::CLONEABLE_DCS),
        ("AP", rid::PROTECTED_USERS),
        ("KA", rid::KEY_ADMINS),
        ("RS", rid::RAS_SERVERS),
    ] {
        v.push((alias, domain.with_rid(r)));
    }
    v
}

/// Parses SDDL; domain-relative aliases (`DA`, `DU`, ...) resolve against `domain`. The
/// result is self-relative, with the present bit set for each `D:`/`S:` section.
pub fn parse(s: &str, domain: &Sid) -> Result<SecurityDescriptor, SddlError> {
    let mut p = Parser {
        s,
        pos: 0,
        aliases: aliases(domain),
    };
    let mut sd = SecurityDescriptor {
        control: SE_SELF_RELATIVE,
        ..Default::default()
    };
    let mut seen = String::new();
    while p.pos < s.len() {
        let at = p.pos;
        let tag = p.section_tag().ok_or_else(|| p.unexpected())?;
        if seen.contains(tag) {
            return Err(SddlError::Duplicate {
                token: format!("{tag}:"),
                pos: at,
            });
        }
        seen.push(tag);
        p.pos += 2;
        match tag {
            'O' => sd.owner = Some(p.sid_until_section()?),
            'G' => sd.group = Some(p.sid_until_section()?),
            _ => {
                let dacl = tag == 'D';
                let (flags, acl) = p.acl(dacl, at)?;
                sd.control |= flags
                    | if dacl {
                        SE_DACL_PRESENT
                    } else {
                        SE_SACL_PRESENT
                    };
                if dacl {
                    sd.dacl = acl;
                } else {
                    sd.sacl = acl;
                }
            }
        }
    }
    Ok(sd)
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
    aliases: Vec<(&'static str, Sid)>,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn unexpected(&self) -> SddlError {
        SddlError::Unexpected {
            token: self.rest().chars().take(24).collect(),
            pos: self.pos,
        }
    }

    /// The section letter if the text here is `O:`, `G:`, `D:` or `S:`.
    fn section_tag(&self) -> Option<char> {
        let b = self.rest().as_bytes();
        match b {
            [c @ (b'O' | b'G' | b'D' | b'S'), b':', ..] => Some(*c as char),
            _ => None,
        }
    }

    /// An owner or group SID: everything up to the next section tag.
    fn sid_until_section(&mut self) -> Result<Sid, SddlError> {
        let rest = self.rest();
        // The tag letter before the next ':' starts the next section.
        let end = rest.find(':').map_or(rest.len(), |i| {
            rest[..i].char_indices().last().map_or(0, |(j, _)| j)
        });
        let at = self.pos;
        self.pos += end;
        self.sid(&rest[..end], at)
    }

    fn sid(&self, token: &str, pos: usize) -> Result<Sid, SddlError> {
        if let Some((_, sid)) = self.aliases.iter().find(|(a, _)| *a == token) {
            return Ok(sid.clone());
        }
        if let Ok(sid) = token.parse() {
            return Ok(sid);
        }
        Err(SddlError::Sid {
            token: token.to_string(),
            pos,
        })
    }

    /// The body of a `D:` or `S:` section: its flags, then its ACEs or `NO_ACCESS_CONTROL`.
    fn acl(&mut self, dacl: bool, tag_at: usize) -> Result<(u16, Option<Acl>), SddlError> {
        let mut control = 0;
        let mut null = false;
        loop {
            let rest = self.rest();
            if rest.is_empty() || rest.starts_with('(') || self.section_tag().is_some() {
                break;
            }
            if let Some(&(f, d, s)) = ACL_FLAGS.iter().find(|(f, ..)| rest.starts_with(f)) {
                control |= if dacl { d } else { s };
                self.pos += f.len();
            } else if rest.starts_with(NO_ACCESS_CONTROL) {
                null = true;
                self.pos += NO_ACCESS_CONTROL.len();
            } else {
                return Err(self.unexpected());
            }
        }
        let mut aces = Vec::new();
        while self.rest().starts_with('(') {
            if null {
                return Err(self.unexpected());
            }
            aces.push(self.ace()?);
        }
        if null {
            return Ok((control, None));
        }
        let acl = Acl::new(aces);
        let size = acl.byte_len();
        if size > usize::from(u16::MAX) {
            return Err(SddlError::TooLarge {
                token: size.to_string(),
                pos: tag_at,
            });
        }
        Ok((control, Some(acl)))
    }

    /// One `(type;flags;rights;object;inherited object;sid)`.
    fn ace(&mut self) -> Result<Ace, SddlError> {
        let start = self.pos;
        let rest = self.rest();
        let Some(close) = rest.find(')') else {
            return Err(SddlError::Unterminated {
                token: rest.to_string(),
                pos: start,
            });
        };
        let inner = &rest[1..close];
        self.pos += close + 1;
        let mut fields = Vec::with_capacity(6);
        let mut at = start + 1;
        for f in inner.split(';') {
            fields.push((f, at));
            at += f.len() + 1;
        }
        let [
            (ty, ty_at),
            (fl, fl_at),
            (ri, ri_at),
            (ob, ob_at),
            (io, io_at),
            (si, si_at),
        ] = fields[..]
        else {
            return Err(SddlError::AceFields {
                token: inner.to_string(),
                pos: start,
            });
        };
        let kind = ACE_TYPES
            .iter()
            .find(|(t, _)| *t == ty)
            .map(|(_, k)| *k)
            .ok_or_else(|| SddlError::AceType {
                token: ty.to_string(),
                pos: ty_at,
            })?;
        let flags = ace_flags(fl, fl_at)?;
        let mask = rights(ri, ri_at)?;
        let object_type = guid(ob, ob_at, kind)?;
        let inherited_object_type = guid(io, io_at, kind)?;
        let sid = self.sid(si, si_at)?;
        Ok(Ace {
            kind,
            flags,
            mask,
            object_type,
            inherited_object_type,
            sid,
        })
    }
}

fn hex(token: &str) -> Option<u32> {
    let h = token
        .strip_prefix("0x")
        .or_else(|| token.strip_prefix("0X"))?;
    u32::from_str_radix(h, 16).ok()
}

/// Splits `token` into two-letter codes and ORs their values from `table`.
fn pairs<T: Copy + std::ops::BitOr<Output = T> + Default>(
    token: &str,
    pos: usize,
    table: &[(&str, T)],
) -> Result<T, (String, usize)> {
    let mut v = T::default();
    let b = token.as_bytes();
    for (i, pair) in b.chunks(2).enumerate() {
        let found = table.iter().find(|(code, _)| code.as_bytes() == pair);
        match found {
            Some((_, bit)) => v = v | *bit,
            None => {
                let text: String = token[i * 2..].chars().take(2).collect();
                return Err((text, pos + i * 2));
            }
        }
    }
    Ok(v)
}

fn ace_flags(token: &str, pos: usize) -> Result<u8, SddlError> {
    if let Some(v) = hex(token) {
        return u8::try_from(v).map_err(|_| SddlError::AceFlag {
            token: token.to_string(),
            pos,
        });
    }
    pairs(token, pos, &ACE_FLAGS).map_err(|(token, pos)| SddlError::AceFlag { token, pos })
}

fn rights(token: &str, pos: usize) -> Result<u32, SddlError> {
    if token.starts_with("0x") || token.starts_with("0X") {
        return hex(token).ok_or_else(|| SddlError::Right {
            token: token.to_string(),
            pos,
        });
    }
    pairs(token, pos, &RIGHTS).map_err(|(token, pos)| SddlError::Right { token, pos })
}

fn guid(token: &str, pos: usize, kind: AceKind) -> Result<Option<Uuid>, SddlError> {
    if token.is_empty() {
        return Ok(None);
    }
    match token.parse::<Uuid>() {
        Ok(g) if kind.is_object() && token.len() == 36 => Ok(Some(g)),
        _ => Err(SddlError::Guid {
            token: token.to_string(),
            pos,
        }),
    }
}

/// Formats `sd` as SDDL the way Windows does: aliases where one exists (domain-relative ones
/// against `domain`), rights as mnemonics in bit order, or hex when a bit has no mnemonic.
pub fn format(sd: &SecurityDescriptor, domain: &Sid) -> String {
    let aliases = aliases(domain);
    let sid = |s: &Sid| {
        aliases
            .iter()
            .find(|(_, a)| a == s)
            .map_or_else(|| s.to_string(), |(alias, _)| alias.to_string())
    };
    let mut out = String::new();
    if let Some(o) = &sd.owner {
        out += &format!("O:{}", sid(o));
    }
    if let Some(g) = &sd.group {
        out += &format!("G:{}", sid(g));
    }
    for (tag, acl, present, dacl) in [
        ("D:", &sd.dacl, SE_DACL_PRESENT, true),
        ("S:", &sd.sacl, SE_SACL_PRESENT, false),
    ] {
        if acl.is_none() && sd.control & present == 0 {
            continue;
        }
        out += tag;
        for (f, d, s) in ACL_FLAGS {
            if sd.control & if dacl { d } else { s } != 0 {
                out += f;
            }
        }
        let Some(acl) = acl else {
            out += NO_ACCESS_CONTROL;
            continue;
        };
        for ace in &acl.aces {
            out += &format_ace(ace, &sid);
        }
    }
    out
}

fn format_ace(ace: &Ace, sid: &impl Fn(&Sid) -> String) -> String {
    let ty = ACE_TYPES
        .iter()
        .find(|(_, k)| *k == ace.kind)
        .map_or("", |(t, _)| t);
    let known_flags = ACE_FLAGS.iter().fold(0, |m, (_, b)| m | b);
    let flags = if ace.flags & !known_flags != 0 {
        format!("0x{:x}", ace.flags)
    } else {
        ACE_FLAGS
            .iter()
            .filter(|(_, b)| ace.flags & b != 0)
            .map(|(f, _)| *f)
            .collect()
    };
    let g = |g: Option<Uuid>| g.map(|g| g.to_string()).unwrap_or_default();
    format!(
        "({ty};{flags};{};{};{};{})",
        format_rights(ace.mask),
        g(ace.object_type),
        g(ace.inherited_object_type),
        sid(&ace.sid)
    )
}

/// A mask as right mnemonics in bit order, or `0x…` if some bit has no mnemonic (or it is 0).
pub fn format_rights(mask: u32) -> String {
    let known = RIGHTS.iter().fold(0, |m, (_, b)| m | b);
    if mask == 0 || mask & !known != 0 {
        return format!("0x{mask:x}");
    }
    RIGHTS
        .iter()
        .filter(|(_, b)| mask & b != 0)
        .map(|(r, _)| *r)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rights;
    use crate::sd::arb;
    use proptest::prelude::*;

    const USER_DEFAULT: &str = "D:(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;DA)\
        (A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;SY)(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;AO)\
        (A;;RPLCLORC;;;PS)(OA;;CR;ab721a53-1e2f-11d0-9819-00aa0040529b;;PS)\
        (OA;;CR;ab721a53-1e2f-11d0-9819-00aa0040529b;;WD)(A;;RC;;;AU)(A;;RPLCLORC;;;AU)\
        (A;;RPLCLORC;;;BA)";

    /// The writeback grants of facts.md §3.2 for account RID 1105.
    const WRITEBACK: &str = "(OA;CIIO;CR;00299570-246d-11d0-a768-00aa006e0529;bf967aba-0de6-11d0-a285-00aa003049e2;S-1-5-21-1-2-3-1105)\
        (OA;CIIO;WP;bf967a0a-0de6-11d0-a285-00aa003049e2;bf967aba-0de6-11d0-a285-00aa003049e2;S-1-5-21-1-2-3-1105)\
        (OA;CIIO;WP;28630ebf-41d5-11d1-a9c1-0000f80367c1;bf967aba-0de6-11d0-a285-00aa003049e2;S-1-5-21-1-2-3-1105)\
        (OA;CI;CR;ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501;;S-1-5-21-1-2-3-1105)";

    /// A domain head descriptor in the form Windows prints it (abridged).
    const DOMAIN_HEAD: &str = "O:BAG:BAD:AI\
        (OA;CIIO;RP;4c164200-20c0-11d0-a768-00aa006e0529;4828cc14-1437-45bc-9b07-ad6f015e5f28;RU)\
        (OA;;CR;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;ED)\
        (OA;;CR;ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501;;AU)\
        (OA;;CR;280f369c-67c7-438e-ae98-1d46f3c6f541;;AU)\
        (OA;CI;RP;b1b3a417-ec55-4191-b327-b72e33e38af2;;NS)\
        (OA;CINPIO;RPWPLOSD;;e8b2aff2-59a7-4eac-9a70-819adef701dd;S-1-5-21-1-2-3-5186)\
        (OA;OICI;RPWP;3f78c3e5-f79a-46bd-a0b8-9d18116ddc79;;PS)\
        (A;;CCLCSWRPWPLOCRRCWDWO;;;DA)(A;CI;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;EA)\
        (A;;RPRC;;;RU)(A;CI;LC;;;RU)(A;CI;CCLCSWRPWPLOCRSDRCWDWO;;;BA)(A;;RP;;;WD)\
        (A;;LCRPLORC;;;ED)(A;;LCRPLORC;;;AU)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;SY)\
        S:AI(OU;CISA;WP;f30e3bbe-9ff0-11d1-b603-0000f80367c1;bf967aa5-0de6-11d0-a285-00aa003049e2;WD)\
        (AU;SA;CR;;;DU)(AU;SA;CR;;;BA)(AU;SA;WPWDWO;;;WD)";

    fn round_trip(s: &str) -> SecurityDescriptor {
        let d = arb::domain();
        let sd = parse(s, &d).unwrap_or_else(|e| panic!("{e}"));
        let text = format(&sd, &d);
        assert_eq!(parse(&text, &d).unwrap(), sd, "{text}");
        assert_eq!(SecurityDescriptor::from_bytes(&sd.to_bytes()).unwrap(), sd);
        sd
    }

    #[test]
    fn user_default_descriptor() {
        let sd = round_trip(USER_DEFAULT);
        let dacl = sd.dacl.as_ref().unwrap();
        assert_eq!(dacl.aces.len(), 9);
        assert_eq!(dacl.revision, ACL_REVISION_DS);
        assert_eq!(dacl.aces[0].sid, arb::domain().with_rid(512));
        assert_eq!(dacl.aces[0].mask, rights::DS_GENERIC_ALL);
        assert_eq!(dacl.aces[5].object_type, Some(rights::CHANGE_PASSWORD));
        assert_eq!(dacl.aces[5].sid, well_known::everyone());
        assert!(format(&sd, &arb::domain()).starts_with(
            "D:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;DA)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;SY)"
        ));
    }

    #[test]
    fn writeback_aces() {
        let sd = round_trip(&format!("D:PAI{WRITEBACK}"));
        assert!(sd.is_protected());
        assert_eq!(
            sd.control,
            SE_SELF_RELATIVE | SE_DACL_PRESENT | SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED
        );
        let reset = &sd.dacl.as_ref().unwrap().aces[0];
        assert_eq!(reset.kind, AceKind::AllowObject);
        assert_eq!(reset.flags, CONTAINER_INHERIT | INHERIT_ONLY);
        assert_eq!(reset.mask, rights::CONTROL_ACCESS);
        assert_eq!(reset.object_type, Some(rights::RESET_PASSWORD));
        assert_eq!(reset.inherited_object_type, Some(rights::CLASS_USER));
        assert_eq!(format(&sd, &arb::domain()), format!("D:PAI{WRITEBACK}"));
    }

    #[test]
    fn windows_output_is_reproduced() {
        let sd = round_trip(DOMAIN_HEAD);
        assert_eq!(format(&sd, &arb::domain()), DOMAIN_HEAD);
        assert_eq!(sd.sacl.as_ref().unwrap().aces.len(), 4);
    }

    #[test]
    fn null_dacl_hex_and_plain_sids() {
        let d = arb::domain();
        let sd = round_trip("O:S-1-5-21-9-9-9-500G:DUD:PNO_ACCESS_CONTROL");
        assert_eq!(sd.dacl, None);
        assert!(sd.is_protected());
        assert_eq!(sd.owner, Some("S-1-5-21-9-9-9-500".parse().unwrap()));
        let sd = round_trip("D:(A;;0x1f01ff;;;S-1-5-21-1-2-3-500)");
        assert_eq!(format(&sd, &d), "D:(A;;0x1f01ff;;;LA)");
        let sd = round_trip("D:");
        assert_eq!(sd.dacl, Some(Acl::new(vec![])));
    }

    #[test]
    fn errors_name_token_and_position() {
        let d = arb::domain();
        let e = |s: &str| parse(s, &d).unwrap_err();
        assert_eq!(
            e("D:(A;;RPXX;;;WD)"),
            SddlError::Right {
                token: "XX".into(),
                pos: 8
            }
        );
        assert_eq!(
            e("D:(A;CIQQ;RP;;;WD)"),
            SddlError::AceFlag {
                token: "QQ".into(),
                pos: 7
            }
        );
        assert_eq!(
            e("O:ZZD:"),
            SddlError::Sid {
                token: "ZZ".into(),
                pos: 2
            }
        );
        assert_eq!(e("D:(X;;RP;;;WD)").pos(), 3);
        assert!(matches!(
            e("D:(A;;RP;;WD)"),
            SddlError::AceFields { pos: 2, .. }
        ));
        assert!(matches!(e("D:(A;;RP;;;WD"), SddlError::Unterminated { .. }));
        assert!(matches!(
            e("D:(A;;RP;00299570-246d-11d0-a768-00aa006e0529;;WD)"),
            SddlError::Guid { pos: 9, .. }
        ));
        assert!(matches!(e("D:D:"), SddlError::Duplicate { pos: 2, .. }));
        assert!(matches!(e("X:"), SddlError::Unexpected { pos: 0, .. }));
        assert!(matches!(e("D:PQ"), SddlError::Unexpected { pos: 3, .. }));
        assert!(e("D:(A;;RP;;;é)").to_string().contains('é'));
        assert!(matches!(e("O:é:"), SddlError::Sid { pos: 2, .. }));
    }

    proptest! {
        #[test]
        fn sddl_round_trip(mut sd in arb::sd()) {
            // SDDL only carries the P/AR/AI bits inside a D:/S: section.
            let d = arb::domain();
            if sd.dacl.is_none() && sd.control & SE_DACL_PRESENT == 0 {
                sd.control &= !(SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED | SE_DACL_AUTO_INHERIT_REQ);
            }
            if sd.sacl.is_none() {
                sd.control &= !(SE_SACL_PROTECTED | SE_SACL_AUTO_INHERITED | SE_SACL_AUTO_INHERIT_REQ);
            }
            let text = format(&sd, &d);
            prop_assert_eq!(parse(&text, &d).unwrap(), sd);
        }

        #[test]
        fn random_text_never_panics(s in "[OGDS:()A-Z0-9;x-]{0,40}") {
            let _ = parse(&s, &arb::domain());
        }
    }
}
