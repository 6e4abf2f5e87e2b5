//! Search filters: compiled once against the schema, then evaluated with AD's three-valued logic
//! (MS-ADTS 3.1.1.3.1.3.1): an unknown attribute makes its clause Undefined, a constructed one is
//! inappropriateMatching, approximate match is equality, and the bitwise and in-chain matching
//! rules work.

use ldap3_proto::proto::LdapFilter;

use crate::dit::Dit;
use crate::entry::Entry;
use crate::error::DirError;
use crate::schema::{AttrId, Kind, Syntax, known, schema};
use crate::value::{EntryId, Value, eq_ignore_case};

const RULE_BIT_AND: &str = "1.2.840.113556.1.4.803";
const RULE_BIT_OR: &str = "1.2.840.113556.1.4.804";
const RULE_IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// A compiled filter.
#[derive(Clone, Debug)]
pub enum Filter {
    /// All must hold.
    And(Vec<Filter>),
    /// One must hold.
    Or(Vec<Filter>),
    /// Negation.
    Not(Box<Filter>),
    /// Some value equals.
    Eq(AttrId, Value),
    /// objectCategory=<short name>: matches the category's CN.
    Category(String),
    /// Substring match on text (already lower-cased).
    Sub(AttrId, Option<String>, Vec<String>, Option<String>),
    /// Some value is >= this.
    Ge(AttrId, Value),
    /// Some value is <= this.
    Le(AttrId, Value),
    /// The attribute has a value.
    Present(AttrId),
    /// Always true (objectClass=*).
    True,
    /// Bitwise AND (all bits) or OR (any bit) on an integer.
    Bits(AttrId, i64, bool),
    /// The DN attribute reaches this entry through a chain of links.
    InChain(AttrId, EntryId),
    /// The clause cannot be decided.
    Undefined,
}

/// Compiles an LDAP filter for `dit`.
pub fn compile(dit: &Dit, f: &LdapFilter) -> Result<Filter, DirError> {
    Ok(match f {
        LdapFilter::And(v) => Filter::And(
            v.iter()
                .map(|x| compile(dit, x))
                .collect::<Result<_, _>>()?,
        ),
        LdapFilter::Or(v) => Filter::Or(
            v.iter()
                .map(|x| compile(dit, x))
                .collect::<Result<_, _>>()?,
        ),
        LdapFilter::Not(x) => Filter::Not(Box::new(compile(dit, x)?)),
        LdapFilter::Present(a) => match attr(a)? {
            Some(id) if id == known().object_class => Filter::True,
            Some(id) => Filter::Present(id),
            None => Filter::Undefined,
        },
        LdapFilter::Equality(a, v) | LdapFilter::Approx(a, v) => match attr(a)? {
            Some(id) if id == known().object_category && !v.contains('=') => {
                Filter::Category(v.to_lowercase())
            }
            Some(id) => value(dit, id, v).map_or(Filter::Undefined, |v| Filter::Eq(id, v)),
            None => Filter::Undefined,
        },
        LdapFilter::GreaterOrEqual(a, v) => match attr(a)? {
            Some(id) => value(dit, id, v).map_or(Filter::Undefined, |v| Filter::Ge(id, v)),
            None => Filter::Undefined,
        },
        LdapFilter::LessOrEqual(a, v) => match attr(a)? {
            Some(id) => value(dit, id, v).map_or(Filter::Undefined, |v| Filter::Le(id, v)),
            None => Filter::Undefined,
        },
        LdapFilter::Substring(a, s) => match attr(a)? {
            Some(id) if matches!(schema().def(id).syntax, Syntax::Text | Syntax::Oid) => {
                Filter::Sub(
                    id,
                    s.initial.as_ref().map(|x| x.to_lowercase()),
                    s.any.iter().map(|x| x.to_lowercase()).collect(),
                    s.final_.as_ref().map(|x| x.to_lowercase()),
                )
            }
            _ => Filter::Undefined,
        },
        LdapFilter::Extensible(m) => {
            let Some(a) = &m.type_ else {
                return Ok(Filter::Undefined);
            };
            let Some(id) = attr(a)? else {
                return Ok(Filter::Undefined);
            };
            match m.matching_rule.as_deref() {
                Some(RULE_BIT_AND) | Some(RULE_BIT_OR) => match m.match_value.trim().parse::<i64>()
                {
                    Ok(mask) => {
                        Filter::Bits(id, mask, m.matching_rule.as_deref() == Some(RULE_BIT_AND))
                    }
                    Err(_) => Filter::Undefined,
                },
                Some(RULE_IN_CHAIN) if schema().def(id).syntax == Syntax::Dn => {
                    match crate::ops::resolve(dit, &m.match_value) {
                        Ok(target) => Filter::InChain(id, target),
                        Err(_) => Filter::Undefined,
                    }
                }
                None => {
                    value(dit, id, &m.match_value).map_or(Filter::Undefined, |v| Filter::Eq(id, v))
                }
                Some(_) => Filter::Undefined,
            }
        }
    })
}

fn attr(name: &str) -> Result<Option<AttrId>, DirError> {
    match schema().attr(name) {
        None => Ok(None),
        Some(d) if d.kind == Kind::Constructed && d.id != known().member_of => {
            Err(DirError::Matching(format!(
                "{}: constructed attributes cannot be used in a filter",
                d.name
            )))
        }
        Some(d) if d.syntax == Syntax::Password => Ok(None),
        Some(d) => Ok(Some(d.id)),
    }
}

fn value(dit: &Dit, id: AttrId, raw: &str) -> Option<Value> {
    let def = schema().def(id);
    if def.syntax == Syntax::Dn {
        return crate::ops::resolve(dit, raw).ok().map(Value::Dn);
    }
    Value::parse(def.syntax, raw.as_bytes()).ok()
}

/// The values of `attr` on `e`, including memberOf from the index.
pub fn values<'a>(dit: &Dit, e: &'a Entry, attr: AttrId) -> std::borrow::Cow<'a, [Value]> {
    if attr == known().member_of {
        std::borrow::Cow::Owned(dit.groups_of(e.id).map(Value::Dn).collect())
    } else {
        std::borrow::Cow::Borrowed(e.get(attr))
    }
}

impl Filter {
    /// Evaluates the filter: `Some(true)`, `Some(false)` or `None` (Undefined).
    pub fn eval(&self, dit: &Dit, e: &Entry) -> Option<bool> {
        match self {
            Filter::True => Some(true),
            Filter::Undefined => None,
            Filter::And(v) => {
                let mut undefined = false;
                for f in v {
                    match f.eval(dit, e) {
                        Some(false) => return Some(false),
                        None => undefined = true,
                        Some(true) => {}
                    }
                }
                if undefined { None } else { Some(true) }
            }
            Filter::Or(v) => {
                let mut undefined = false;
                for f in v {
                    match f.eval(dit, e) {
                        Some(true) => return Some(true),
                        None => undefined = true,
                        Some(false) => {}
                    }
                }
                if undefined { None } else { Some(false) }
            }
            Filter::Not(f) => f.eval(dit, e).map(|b| !b),
            Filter::Present(a) => Some(!values(dit, e, *a).is_empty()),
            Filter::Eq(a, v) => Some(values(dit, e, *a).iter().any(|x| x.matches(v))),
            Filter::Category(short) => Some(e.get(known().object_category).iter().any(|v| {
                v.as_text()
                    .and_then(|t| t.strip_prefix("CN=").and_then(|t| t.split(',').next()))
                    .is_some_and(|cn| {
                        eq_ignore_case(cn, short)
                            || category_alias(short).is_some_and(|a| eq_ignore_case(cn, a))
                    })
            })),
            Filter::Ge(a, v) => Some(
                values(dit, e, *a)
                    .iter()
                    .any(|x| x.compare(v).is_some_and(|o| o.is_ge())),
            ),
            Filter::Le(a, v) => Some(
                values(dit, e, *a)
                    .iter()
                    .any(|x| x.compare(v).is_some_and(|o| o.is_le())),
            ),
            Filter::Sub(a, ini, any, fin) => Some(e.get(*a).iter().any(|v| {
                v.as_text().is_some_and(|t| {
                    substring(&t.to_lowercase(), ini.as_deref(), any, fin.as_deref())
                })
            })),
            Filter::Bits(a, mask, all) => Some(e.get(*a).iter().any(|v| {
                v.as_int().is_some_and(|i| {
                    if *all {
                        i & mask == *mask
                    } else {
                        i & mask != 0
                    }
                })
            })),
            Filter::InChain(a, target) => Some(in_chain(dit, e, *a, *target)),
        }
    }

    /// Entry ids an index can give for this filter, if it is (or requires) an indexed equality.
    pub fn candidates(&self, dit: &Dit) -> Option<Vec<EntryId>> {
        let k = known();
        match self {
            Filter::Eq(a, v) => {
                let found = if *a == k.sam {
                    v.as_text().and_then(|t| dit.by_sam(t))
                } else if *a == k.upn {
                    v.as_text().and_then(|t| dit.by_upn(t))
                } else if *a == k.object_guid {
                    match v {
                        Value::Bytes(b) => dit.by_guid(b),
                        _ => None,
                    }
                } else if *a == k.object_sid {
                    match v {
                        Value::Bytes(b) => dit.by_sid(b),
                        _ => None,
                    }
                } else {
                    return None;
                };
                Some(found.into_iter().collect())
            }
            Filter::And(v) => v.iter().find_map(|f| f.candidates(dit)),
            Filter::Or(v) => {
                let mut all = Vec::new();
                for f in v {
                    all.extend(f.candidates(dit)?);
                }
                all.sort();
                all.dedup();
                Some(all)
            }
            _ => None,
        }
    }
}

/// AD's short objectCategory names that differ from the category CN.
fn category_alias(short: &str) -> Option<&'static str> {
    match short {
        "organizationalunit" => Some("Organizational-Unit"),
        "domaindns" | "domain" => Some("Domain-DNS"),
        "grouppolicycontainer" => Some("Group-Policy-Container"),
        "msds-passwordsettings" => Some("ms-DS-Password-Settings"),
        "msds-groupmanagedserviceaccount" => Some("ms-DS-Group-Managed-Service-Account"),
        _ => None,
    }
}

fn substring(t: &str, ini: Option<&str>, any: &[String], fin: Option<&str>) -> bool {
    let mut rest = t;
    if let Some(i) = ini {
        match rest.strip_prefix(i) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    for a in any {
        match rest.find(a.as_str()) {
            Some(p) => rest = &rest[p + a.len()..],
            None => return false,
        }
    }
    fin.is_none_or(|f| rest.ends_with(f))
}

fn in_chain(dit: &Dit, e: &Entry, attr: AttrId, target: EntryId) -> bool {
    // Follow `attr` links from e (memberOf upward, member downward, manager, …) breadth first.
    let mut seen = std::collections::BTreeSet::new();
    let mut queue: Vec<EntryId> = vec![e.id];
    while let Some(cur) = queue.pop() {
        let Some(ce) = dit.get(cur) else { continue };
        for v in values(dit, ce, attr).iter() {
            if let Value::Dn(next) = v {
                if *next == target {
                    return true;
                }
                if seen.insert(*next) {
                    queue.push(*next);
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_semantics() {
        assert!(substring(
            "alice archer",
            Some("al"),
            &["arc".into()],
            Some("er")
        ));
        assert!(!substring("alice", Some("b"), &[], None));
        assert!(substring("alice", None, &[], Some("ice")));
    }
}
