//! The access check over a DACL (MS-DTYP 2.5.3.2, MS-ADTS 5.1.3.3, simplified to the rights
//! the lab asks about) and ACL inheritance from parent to child (MS-DTYP 2.5.3.4).

use crate::Sid;
use crate::rights::{CONTROL_ACCESS, GENERIC_ALL, READ_PROP, WRITE_PROP, map_generic};
use crate::sd::*;
use uuid::Uuid;

/// The SIDs a caller acts as: its user SID, its groups (transitively), Everyone, Authenticated
/// Users, and Principal Self when the target object is the caller. The caller builds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Token {
    /// The SIDs, in any order.
    pub sids: Vec<Sid>,
}

impl Token {
    /// A token holding `sids`.
    pub fn new(sids: Vec<Sid>) -> Token {
        Token { sids }
    }

    /// Whether `sid` is one of the token's SIDs.
    pub fn contains(&self, sid: &Sid) -> bool {
        self.sids.contains(sid)
    }
}

/// What the caller asks to do to the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// An extended right: `CONTROL_ACCESS` with that right's GUID.
    Control(Uuid),
    /// `WRITE_PROP` on an attribute, which may belong to a property set.
    WriteProperty {
        /// The attribute's schemaIDGUID.
        attr: Uuid,
        /// The property set the attribute belongs to, if any.
        property_set: Option<Uuid>,
    },
    /// `READ_PROP` on an attribute, which may belong to a property set.
    ReadProperty {
        /// The attribute's schemaIDGUID.
        attr: Uuid,
        /// The property set the attribute belongs to, if any.
        property_set: Option<Uuid>,
    },
    /// Plain rights on the object itself (`DELETE`, `WRITE_DAC`, ...); all of them are needed.
    Mask(u32),
}

impl Request {
    /// The access bits asked for.
    pub fn mask(&self) -> u32 {
        match self {
            Request::Control(_) => CONTROL_ACCESS,
            Request::WriteProperty { .. } => WRITE_PROP,
            Request::ReadProperty { .. } => READ_PROP,
            Request::Mask(m) => *m,
        }
    }

    /// Whether an object ACE with this object type speaks about what is asked.
    fn matches(&self, object_type: Option<Uuid>) -> bool {
        let Some(g) = object_type else {
            return true;
        };
        match self {
            Request::Control(right) => g == *right,
            Request::WriteProperty { attr, property_set }
            | Request::ReadProperty { attr, property_set } => {
                g == *attr || Some(g) == *property_set
            }
            Request::Mask(_) => false,
        }
    }
}

/// The outcome of an access check, naming the ACE that decided it (its index in the DACL).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Allowed; `ace` is `None` for a NULL DACL (or an empty request).
    Granted {
        /// The allow ACE that completed the grant.
        ace: Option<usize>,
    },
    /// A deny ACE came first.
    Denied {
        /// The deny ACE.
        ace: usize,
    },
    /// No ACE grants it.
    NotGranted,
}

impl Decision {
    /// Whether access is allowed.
    pub fn is_granted(&self) -> bool {
        matches!(self, Decision::Granted { .. })
    }
}

/// Checks `req` for `token` against `sd`'s DACL: ACEs in stored order, skipping inherit-only
/// ones and those whose SID is not in the token; the first deny of a still-needed bit denies,
/// and access is granted once allow ACEs cover every requested bit. Object ACEs apply when
/// their object type is absent or names the right, attribute or property set; the inherited
/// object type is not looked at (inheritance already resolved it).
pub fn check(sd: &SecurityDescriptor, token: &Token, req: &Request) -> Decision {
    let Some(dacl) = &sd.dacl else {
        return Decision::Granted { ace: None };
    };
    let mut remaining = map_generic(req.mask());
    if remaining == 0 {
        return Decision::Granted { ace: None };
    }
    for (i, ace) in dacl.aces.iter().enumerate() {
        let allow = ace.kind.is_allow();
        if !(allow || ace.kind.is_deny())
            || ace.has(INHERIT_ONLY)
            || !token.contains(&ace.sid)
            || (ace.kind.is_object() && !req.matches(ace.object_type))
        {
            continue;
        }
        let mask = if ace.mask & GENERIC_ALL != 0 {
            u32::MAX
        } else {
            map_generic(ace.mask)
        };
        if mask & remaining == 0 {
            continue;
        }
        if !allow {
            return Decision::Denied { ace: i };
        }
        remaining &= !mask;
        if remaining == 0 {
            return Decision::Granted { ace: Some(i) };
        }
    }
    Decision::NotGranted
}

/// The descriptor a child object gets: its explicit ACEs (deny before allow, otherwise in
/// order; stale inherited ones dropped), then, unless the child is protected, copies of the
/// parent's container-inherit ACEs. The SACL is handled the same way. Owner, group and other
/// control bits come from the child.
pub fn inherit(
    parent: &SecurityDescriptor,
    child_explicit: &SecurityDescriptor,
    child_class: Uuid,
) -> SecurityDescriptor {
    let child = child_explicit;
    let mut control = child.control | SE_SELF_RELATIVE | SE_DACL_PRESENT | SE_DACL_AUTO_INHERITED;
    let dacl = inherit_acl(
        parent.dacl.as_ref(),
        child.dacl.as_ref(),
        child.control & SE_DACL_PROTECTED != 0,
        child_class,
    );
    let sacl = (parent.sacl.is_some() || child.sacl.is_some()).then(|| {
        control |= SE_SACL_PRESENT | SE_SACL_AUTO_INHERITED;
        inherit_acl(
            parent.sacl.as_ref(),
            child.sacl.as_ref(),
            child.control & SE_SACL_PROTECTED != 0,
            child_class,
        )
    });
    SecurityDescriptor {
        control,
        owner: child.owner.clone(),
        group: child.group.clone(),
        dacl: Some(dacl),
        sacl,
    }
}

fn inherit_acl(parent: Option<&Acl>, child: Option<&Acl>, protected: bool, class: Uuid) -> Acl {
    let explicit = child
        .map(|a| &a.aces[..])
        .unwrap_or_default()
        .iter()
        .filter(|a| !a.has(INHERITED));
    let (mut aces, allows): (Vec<Ace>, Vec<Ace>) =
        explicit.cloned().partition(|a| a.kind.is_deny());
    aces.extend(allows);
    if !protected {
        let from_parent = parent.map(|a| &a.aces[..]).unwrap_or_default();
        aces.extend(from_parent.iter().filter_map(|a| inherited_copy(a, class)));
    }
    Acl::new(aces)
}

/// The copy of a parent ACE on a child of class `class`, if it reaches the child at all.
fn inherited_copy(ace: &Ace, class: Uuid) -> Option<Ace> {
    if !ace.has(CONTAINER_INHERIT) {
        return None;
    }
    let mut flags = ace.flags | INHERITED;
    if ace.has(NO_PROPAGATE) {
        flags &= !(CONTAINER_INHERIT | OBJECT_INHERIT | NO_PROPAGATE);
    }
    match ace.inherited_object_type {
        Some(t) if t != class => flags |= INHERIT_ONLY,
        _ => flags &= !INHERIT_ONLY,
    }
    if flags & INHERIT_ONLY != 0 && flags & CONTAINER_INHERIT == 0 {
        return None;
    }
    Some(ace.clone().with_flags(flags))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rights::{self, well_known::*};
    use crate::sd::arb;
    use crate::sddl;
    use proptest::prelude::*;
    use proptest::sample::{select, subsequence};

    fn d() -> Sid {
        arb::domain()
    }

    fn gmsa() -> Sid {
        d().with_rid(1105)
    }

    fn token(extra: &[Sid]) -> Token {
        let mut sids = vec![everyone(), authenticated_users()];
        sids.extend_from_slice(extra);
        Token::new(sids)
    }

    fn sd(sddl: &str) -> SecurityDescriptor {
        sddl::parse(sddl, &d()).unwrap()
    }

    const RESET: Request = Request::Control(rights::RESET_PASSWORD);
    const PWD_LAST_SET: Request = Request::WriteProperty {
        attr: rights::ATTR_PWD_LAST_SET,
        property_set: Some(rights::PROPSET_USER_ACCOUNT_RESTRICTIONS),
    };
    const LOCKOUT_TIME: Request = Request::WriteProperty {
        attr: rights::ATTR_LOCKOUT_TIME,
        property_set: None,
    };

    #[test]
    fn deny_before_allow_in_stored_order() {
        let t = token(&[gmsa()]);
        let s = sd("D:(OD;;CR;00299570-246d-11d0-a768-00aa006e0529;;WD)\
                    (OA;;CR;00299570-246d-11d0-a768-00aa006e0529;;S-1-5-21-1-2-3-1105)");
        assert_eq!(check(&s, &t, &RESET), Decision::Denied { ace: 0 });
        let s = sd(
            "D:(OA;;CR;00299570-246d-11d0-a768-00aa006e0529;;S-1-5-21-1-2-3-1105)\
                    (OD;;CR;00299570-246d-11d0-a768-00aa006e0529;;WD)",
        );
        assert_eq!(check(&s, &t, &RESET), Decision::Granted { ace: Some(0) });
        // A deny for someone else is skipped.
        let s = sd("D:(D;;CR;;;S-1-5-21-1-2-3-1106)(A;;CR;;;S-1-5-21-1-2-3-1105)");
        assert_eq!(check(&s, &t, &RESET), Decision::Granted { ace: Some(1) });
    }

    #[test]
    fn rights_are_granted_one_by_one() {
        let t = token(&[gmsa()]);
        let s = sd("D:(OA;;WP;bf967a0a-0de6-11d0-a285-00aa003049e2;;S-1-5-21-1-2-3-1105)");
        assert!(check(&s, &t, &PWD_LAST_SET).is_granted());
        assert_eq!(check(&s, &t, &LOCKOUT_TIME), Decision::NotGranted);
        assert_eq!(check(&s, &t, &RESET), Decision::NotGranted);
        assert_eq!(
            check(&s, &t, &Request::Mask(rights::DELETE)),
            Decision::NotGranted
        );
        let s = sd("D:(A;;SD;;;AU)(D;;WD;;;S-1-5-21-1-2-3-1105)(A;;WD;;;WD)");
        let both = Request::Mask(rights::DELETE | rights::WRITE_DAC);
        assert_eq!(check(&s, &t, &both), Decision::Denied { ace: 1 });
        let s = sd("D:(A;;SD;;;AU)(A;;WD;;;WD)");
        assert_eq!(check(&s, &t, &both), Decision::Granted { ace: Some(1) });
    }

    #[test]
    fn object_aces_match_right_attribute_or_property_set() {
        let t = token(&[gmsa()]);
        let change = Request::Control(rights::CHANGE_PASSWORD);
        let s = sd("D:(OA;;CR;00299570-246d-11d0-a768-00aa006e0529;;S-1-5-21-1-2-3-1105)");
        assert!(check(&s, &t, &RESET).is_granted());
        assert!(!check(&s, &t, &change).is_granted());
        // Property set grants its member, not other attributes.
        let s = sd("D:(OA;;WP;4c164200-20c0-11d0-a768-00aa006e0529;;S-1-5-21-1-2-3-1105)");
        assert!(check(&s, &t, &PWD_LAST_SET).is_granted());
        assert!(!check(&s, &t, &LOCKOUT_TIME).is_granted());
        // A deny on the property set denies the attribute.
        let s =
            sd("D:(OD;;WP;4c164200-20c0-11d0-a768-00aa006e0529;;WD)(A;;WP;;;S-1-5-21-1-2-3-1105)");
        assert_eq!(check(&s, &t, &PWD_LAST_SET), Decision::Denied { ace: 0 });
        assert!(check(&s, &t, &LOCKOUT_TIME).is_granted());
        // No object type: all rights / all properties.
        let s = sd("D:(OA;;CRWP;;;S-1-5-21-1-2-3-1105)");
        assert!(check(&s, &t, &change).is_granted());
        assert!(check(&s, &t, &LOCKOUT_TIME).is_granted());
        // Object-typed ACEs never grant plain rights; the read bit is not the write bit.
        let s = sd("D:(OA;;RPWPSD;bf967a0a-0de6-11d0-a285-00aa003049e2;;WD)");
        assert!(!check(&s, &t, &Request::Mask(rights::DELETE)).is_granted());
        let read = Request::ReadProperty {
            attr: rights::ATTR_PWD_LAST_SET,
            property_set: None,
        };
        assert!(check(&s, &t, &read).is_granted());
    }

    #[test]
    fn generic_rights_inherit_only_and_null_dacl() {
        let t = token(&[gmsa()]);
        let s = sd("D:(A;;GA;;;S-1-5-21-1-2-3-1105)");
        assert!(check(&s, &t, &RESET).is_granted());
        assert!(check(&s, &t, &Request::Mask(0x0010_0000)).is_granted());
        let s = sd("D:(A;;GW;;;AU)");
        assert!(check(&s, &t, &LOCKOUT_TIME).is_granted());
        assert!(!check(&s, &t, &RESET).is_granted());
        let s = sd("D:(A;CIIO;GA;;;WD)");
        assert_eq!(check(&s, &t, &RESET), Decision::NotGranted);
        let s = sd("D:NO_ACCESS_CONTROL");
        assert_eq!(check(&s, &t, &RESET), Decision::Granted { ace: None });
        let s = sd("D:");
        assert_eq!(check(&s, &t, &RESET), Decision::NotGranted);
    }

    /// The domain head with the writeback grants, an OU and a user below it.
    const HEAD: &str = "O:DAG:DAD:AI\
        (OA;CIIO;CR;00299570-246d-11d0-a768-00aa006e0529;bf967aba-0de6-11d0-a285-00aa003049e2;S-1-5-21-1-2-3-1105)\
        (OA;CIIO;WP;28630ebf-41d5-11d1-a9c1-0000f80367c1;bf967aba-0de6-11d0-a285-00aa003049e2;S-1-5-21-1-2-3-1105)\
        (OA;CI;CR;ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501;;S-1-5-21-1-2-3-1105)\
        (A;OI;SD;;;S-1-5-21-1-2-3-1105)\
        (A;CINP;RC;;;S-1-5-21-1-2-3-1105)\
        (A;;LCRPLORC;;;AU)";

    #[test]
    fn inheritance_reaches_users_through_ous() {
        let t = token(&[gmsa()]);
        let head = sd(HEAD);
        let ou = inherit(&head, &sd("O:DAG:DAD:(A;;LC;;;BA)"), rights::CLASS_OU);
        assert_eq!(
            sddl::format(&ou, &d()),
            "O:DAG:DAD:AI(A;;LC;;;BA)\
             (OA;CIIOID;CR;00299570-246d-11d0-a768-00aa006e0529;bf967aba-0de6-11d0-a285-00aa003049e2;S-1-5-21-1-2-3-1105)\
             (OA;CIIOID;WP;28630ebf-41d5-11d1-a9c1-0000f80367c1;bf967aba-0de6-11d0-a285-00aa003049e2;S-1-5-21-1-2-3-1105)\
             (OA;CIID;CR;ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501;;S-1-5-21-1-2-3-1105)\
             (A;ID;RC;;;S-1-5-21-1-2-3-1105)"
        );
        assert_eq!(check(&ou, &t, &RESET), Decision::NotGranted);
        assert!(check(&ou, &t, &Request::Mask(rights::READ_CONTROL)).is_granted());
        let user = inherit(&ou, &SecurityDescriptor::default(), rights::CLASS_USER);
        assert_eq!(check(&user, &t, &RESET), Decision::Granted { ace: Some(0) });
        assert!(check(&user, &t, &LOCKOUT_TIME).is_granted());
        assert!(!check(&user, &t, &PWD_LAST_SET).is_granted());
        // NP stopped RC at the OU; OI alone never left the head.
        assert!(!check(&user, &t, &Request::Mask(rights::READ_CONTROL)).is_granted());
        assert!(!check(&user, &t, &Request::Mask(rights::DELETE)).is_granted());
        assert_eq!(
            user.control,
            SE_SELF_RELATIVE | SE_DACL_PRESENT | SE_DACL_AUTO_INHERITED
        );
    }

    #[test]
    fn protected_children_and_stale_aces() {
        let t = token(&[gmsa()]);
        let head = sd(HEAD);
        let user = inherit(&head, &sd("D:P(A;;RC;;;SY)"), rights::CLASS_USER);
        assert_eq!(sddl::format(&user, &d()), "D:PAI(A;;RC;;;SY)");
        assert_eq!(check(&user, &t, &RESET), Decision::NotGranted);
        // A client writing back old inherited ACEs does not keep them; explicit ones are
        // put in canonical order.
        let stale = sd("D:(A;;SD;;;BA)(OA;CIID;CR;;;WD)(D;;WD;;;AU)(A;;RC;;;SY)(D;;SD;;;AN)");
        let user = inherit(&SecurityDescriptor::default(), &stale, rights::CLASS_USER);
        assert_eq!(
            sddl::format(&user, &d()),
            "D:AI(D;;WD;;;AU)(D;;SD;;;AN)(A;;SD;;;BA)(A;;RC;;;SY)"
        );
        assert_eq!(check(&user, &t, &RESET), Decision::NotGranted);
    }

    /// The obvious evaluator: the first ACE that speaks about the one requested bit decides.
    fn reference(sd: &SecurityDescriptor, token: &Token, req: &Request) -> Decision {
        let Some(dacl) = &sd.dacl else {
            return Decision::Granted { ace: None };
        };
        let (bit, guids): (u32, Vec<Uuid>) = match *req {
            Request::Control(g) => (0x100, vec![g]),
            Request::WriteProperty { attr, property_set } => (
                0x20,
                [Some(attr), property_set].into_iter().flatten().collect(),
            ),
            Request::ReadProperty { attr, property_set } => (
                0x10,
                [Some(attr), property_set].into_iter().flatten().collect(),
            ),
            Request::Mask(m) => (m, vec![]),
        };
        let applies = |a: &Ace| {
            let effective = if a.mask & 0x1000_0000 != 0 {
                u32::MAX
            } else {
                rights::map_generic(a.mask)
            };
            matches!(
                a.kind,
                AceKind::Allow | AceKind::Deny | AceKind::AllowObject | AceKind::DenyObject
            ) && a.flags & 0x08 == 0
                && token.sids.contains(&a.sid)
                && effective & bit != 0
                && match (a.kind, a.object_type) {
                    (AceKind::Allow | AceKind::Deny, _) | (_, None) => true,
                    (_, Some(g)) => guids.contains(&g),
                }
        };
        match dacl.aces.iter().position(applies) {
            None => Decision::NotGranted,
            Some(i) if matches!(dacl.aces[i].kind, AceKind::Deny | AceKind::DenyObject) => {
                Decision::Denied { ace: i }
            }
            Some(i) => Decision::Granted { ace: Some(i) },
        }
    }

    fn request() -> impl Strategy<Value = Request> {
        let g = || select(arb::guids());
        let bits = vec![
            rights::DELETE,
            rights::WRITE_DAC,
            rights::READ_CONTROL,
            rights::CREATE_CHILD,
            rights::CONTROL_ACCESS,
            rights::WRITE_PROP,
            0x0010_0000,
        ];
        prop_oneof![
            g().prop_map(Request::Control),
            Just(PWD_LAST_SET),
            (g(), proptest::option::of(g()))
                .prop_map(|(attr, property_set)| Request::WriteProperty { attr, property_set }),
            (g(), proptest::option::of(g()))
                .prop_map(|(attr, property_set)| Request::ReadProperty { attr, property_set }),
            select(bits).prop_map(Request::Mask),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        #[test]
        fn check_matches_reference(
            sd in arb::sd(),
            sids in subsequence(arb::sids(), 0..=8),
            req in request(),
        ) {
            let t = Token::new(sids);
            prop_assert_eq!(check(&sd, &t, &req), reference(&sd, &t, &req));
        }
    }

    proptest! {
        #[test]
        fn inheritance_invariants(
            parent in arb::sd(),
            child in arb::sd(),
            class in select(arb::guids()),
        ) {
            let out = inherit(&parent, &child, class);
            let aces = &out.dacl.as_ref().unwrap().aces;
            let explicit: Vec<_> = child.dacl.iter().flat_map(|a| &a.aces)
                .filter(|a| !a.has(INHERITED)).collect();
            let (own, inherited) = aces.split_at(explicit.len());
            prop_assert!(own.iter().all(|a| !a.has(INHERITED)));
            prop_assert!(own.windows(2).all(|w| w[0].kind.is_deny() || !w[1].kind.is_deny()));
            prop_assert!(inherited.iter().all(|a| a.has(INHERITED)));
            prop_assert!(inherited.iter().all(|a| !a.has(INHERIT_ONLY) || a.has(CONTAINER_INHERIT)));
            if child.is_protected() {
                prop_assert!(inherited.is_empty());
            }
            // What inherits and applies is exactly the parent's CI ACEs for this class.
            let applying = parent.dacl.iter().flat_map(|a| &a.aces)
                .filter(|a| a.has(CONTAINER_INHERIT)
                    && a.inherited_object_type.is_none_or(|t| t == class))
                .count();
            let applied = inherited.iter().filter(|a| !a.has(INHERIT_ONLY)).count();
            prop_assert_eq!(applied, if child.is_protected() { 0 } else { applying });
            prop_assert_eq!(&out.owner, &child.owner);
        }
    }
}
