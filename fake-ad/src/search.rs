//! Search: the scope walk (or an index lookup), filter evaluation, and rendering the selected
//! attributes of each entry the way AD returns them.

use ldap3_proto::proto::{LdapFilter, LdapSearchScope};

use crate::ctx::OpCtx;
use crate::dit::Dit;
use crate::error::DirError;
use crate::filter;
use crate::schema::{AttrId, Kind, Syntax, known, schema};
use crate::value::{EntryId, Value};

/// Which attributes to return.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// `*` or an empty list: every stored attribute.
    pub all_user: bool,
    /// `+`: the constructed attributes too.
    pub all_operational: bool,
    /// Attributes named explicitly.
    pub named: Vec<AttrId>,
    /// Names only, no values.
    pub types_only: bool,
    /// Which descriptor parts nTSecurityDescriptor returns (SD flags: 1 owner, 2 group, 4 DACL).
    pub sd_flags: i32,
}

impl Selection {
    /// Parses a request's attribute list; unknown names are ignored, as AD does.
    pub fn parse(attrs: &[String], types_only: bool) -> Selection {
        let mut s = Selection {
            types_only,
            ..Selection::default()
        };
        if attrs.is_empty() {
            s.all_user = true;
        }
        for a in attrs {
            match a.as_str() {
                "*" => s.all_user = true,
                "+" => s.all_operational = true,
                "1.1" => {}
                name => {
                    if let Some(d) = schema().attr(name) {
                        s.named.push(d.id);
                    }
                }
            }
        }
        s
    }

    fn wants(&self, id: AttrId) -> bool {
        let kind = schema().def(id).kind;
        match kind {
            Kind::Constructed => self.all_operational || self.named.contains(&id),
            _ => self.all_user || self.named.contains(&id),
        }
    }
}

/// One rendered entry: its DN and attributes with wire values.
pub type Rendered = (String, Vec<(String, Vec<Vec<u8>>)>);

/// Finds the entries a search matches, in a stable order (tree order below the base).
pub fn find(
    dit: &Dit,
    ctx: &OpCtx,
    base: &str,
    scope: &LdapSearchScope,
    filter: &LdapFilter,
) -> Result<Vec<EntryId>, DirError> {
    ctx.require_bind()?;
    let base_id = crate::ops::resolve(dit, base)?;
    let f = filter::compile(dit, filter)?;
    let matches = |id: EntryId| dit.get(id).is_some_and(|e| f.eval(dit, e) == Some(true));
    if let Some(cands) = f.candidates(dit) {
        return Ok(cands
            .into_iter()
            .filter(|id| in_scope(dit, *id, base_id, scope) && matches(*id))
            .collect());
    }
    let mut out = Vec::new();
    match scope {
        LdapSearchScope::Base => {
            if matches(base_id) {
                out.push(base_id);
            }
        }
        LdapSearchScope::OneLevel => out.extend(dit.children(base_id).filter(|c| matches(*c))),
        LdapSearchScope::Subtree | LdapSearchScope::Children => {
            let mut stack = vec![base_id];
            while let Some(id) = stack.pop() {
                if (id != base_id || *scope == LdapSearchScope::Subtree) && matches(id) {
                    out.push(id);
                }
                let kids: Vec<EntryId> = dit.children(id).collect();
                stack.extend(kids.into_iter().rev());
            }
        }
    }
    Ok(out)
}

fn in_scope(dit: &Dit, id: EntryId, base: EntryId, scope: &LdapSearchScope) -> bool {
    match scope {
        LdapSearchScope::Base => id == base,
        LdapSearchScope::OneLevel => dit.get(id).and_then(|e| e.parent) == Some(base),
        LdapSearchScope::Subtree => dit.is_within(id, base),
        LdapSearchScope::Children => id != base && dit.is_within(id, base),
    }
}

/// Renders entry `id` with the selected attributes. unicodePwd is never returned.
pub fn render(dit: &Dit, domain_dns: &str, id: EntryId, sel: &Selection) -> Option<Rendered> {
    let e = dit.get(id)?;
    let k = known();
    let dn = dit.dn(id);
    let mut attrs: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
    let encode = |v: &Value| match v {
        Value::Dn(target) => dit.dn(*target).into_bytes(),
        other => other.to_bytes(),
    };
    let mut push = |id: AttrId, vals: Vec<Vec<u8>>| {
        if !vals.is_empty() {
            let vals = if sel.types_only { Vec::new() } else { vals };
            attrs.push((schema().def(id).name.to_string(), vals));
        }
    };
    for (a, vals) in &e.attrs {
        let def = schema().def(*a);
        if def.syntax == Syntax::Password || def.syntax == Syntax::Sd || !sel.wants(*a) {
            continue;
        }
        push(*a, vals.iter().map(encode).collect());
        if *a == k.object_guid && sel.wants(k.dn) {
            // distinguishedName sits right after objectGUID's neighbours; order is not significant.
        }
    }
    if sel.wants(k.dn) {
        push(k.dn, vec![dn.clone().into_bytes()]);
    }
    let sd_attr = schema().id("nTSecurityDescriptor");
    if sel.named.contains(&sd_attr)
        && let Some(sd) = &e.sd
    {
        let mut part = (**sd).clone();
        if sel.sd_flags & 0x1 == 0 {
            part.owner = None;
        }
        if sel.sd_flags & 0x2 == 0 {
            part.group = None;
        }
        if sel.sd_flags & 0x4 == 0 {
            part.dacl = None;
            part.control &= !ad_types::sd::SE_DACL_PRESENT;
        }
        part.sacl = None;
        part.control &= !ad_types::sd::SE_SACL_PRESENT;
        push(sd_attr, vec![part.to_bytes()]);
    }
    let pso_attr = schema().id("msDS-ResultantPSO");
    if sel.named.contains(&pso_attr)
        && let Some(p) = crate::fgpp::resultant_pso(dit, id)
    {
        push(pso_attr, vec![dit.dn(p).into_bytes()]);
    }
    if sel.wants(k.member_of) {
        push(
            k.member_of,
            dit.groups_of(id).map(|g| dit.dn(g).into_bytes()).collect(),
        );
    }
    if sel.wants(k.canonical_name) {
        push(
            k.canonical_name,
            vec![canonical_name(dit, domain_dns, id).into_bytes()],
        );
    }
    if sel.wants(k.create_ts)
        && let Some(v) = e.first(k.when_created)
    {
        push(k.create_ts, vec![v.to_bytes()]);
    }
    if sel.wants(k.modify_ts)
        && let Some(v) = e.first(k.when_changed)
    {
        push(k.modify_ts, vec![v.to_bytes()]);
    }
    Some((dn, attrs))
}

/// `contoso.lab/Staff/Alice Archer`.
fn canonical_name(dit: &Dit, domain_dns: &str, id: EntryId) -> String {
    let mut parts = Vec::new();
    let mut cur = dit.get(id);
    while let Some(e) = cur {
        if e.parent.is_none() {
            break;
        }
        parts.push(e.rdn.value.clone());
        cur = e.parent.and_then(|p| dit.get(p));
    }
    parts.push(domain_dns.to_string());
    parts.reverse();
    let mut s = parts.join("/");
    if parts.len() == 1 {
        s.push('/');
    }
    s
}
