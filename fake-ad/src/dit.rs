//! One DC's copy of a domain's directory tree (its DIT): entries by id, the tree and the indexes,
//! all persistent maps so copies share unchanged nodes and a write works on a cheap clone that
//! replaces the original only when the whole operation succeeded.

use std::sync::Arc;

use imbl::{OrdMap, OrdSet};

use crate::dn::{DnRef, Rdn};
use crate::entry::Entry;
use crate::schema::known;
use crate::value::{EntryId, Value};

/// The parent key of the domain head in the RDN index.
const NO_PARENT: EntryId = EntryId(0);

/// An index key that another entry already holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// An entry with this DN exists.
    #[error("an entry with this name exists")]
    Name,
    /// Another account has this sAMAccountName.
    #[error("sAMAccountName in use")]
    Sam,
    /// Another account has this userPrincipalName.
    #[error("userPrincipalName in use")]
    Upn,
    /// Another object has this objectGUID or objectSid.
    #[error("identifier in use")]
    Identity,
}

/// A DC's directory tree and indexes.
#[derive(Clone, Debug)]
pub struct Dit {
    base: Vec<Rdn>,
    base_dn: String,
    entries: OrdMap<EntryId, Arc<Entry>>,
    children: OrdMap<EntryId, OrdSet<EntryId>>,
    by_rdn: OrdMap<(EntryId, String), EntryId>,
    sam: OrdMap<String, EntryId>,
    upn: OrdMap<String, EntryId>,
    guid: OrdMap<Box<[u8]>, EntryId>,
    sid: OrdMap<Box<[u8]>, EntryId>,
    member_of: OrdMap<EntryId, OrdSet<EntryId>>,
    root: Option<EntryId>,
    /// This DC's highest committed update sequence number.
    pub usn: i64,
}

impl Dit {
    /// An empty tree for the domain whose head is `base` (e.g. `DC=contoso,DC=lab`).
    pub fn new(base: Vec<Rdn>) -> Dit {
        Dit {
            base_dn: crate::dn::join(&base),
            base,
            entries: OrdMap::new(),
            children: OrdMap::new(),
            by_rdn: OrdMap::new(),
            sam: OrdMap::new(),
            upn: OrdMap::new(),
            guid: OrdMap::new(),
            sid: OrdMap::new(),
            member_of: OrdMap::new(),
            root: None,
            usn: 0,
        }
    }

    /// The domain head's DN.
    pub fn base_dn(&self) -> &str {
        &self.base_dn
    }

    /// The domain head, once added.
    pub fn root(&self) -> Option<EntryId> {
        self.root
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the tree is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry `id`.
    pub fn get(&self, id: EntryId) -> Option<&Arc<Entry>> {
        self.entries.get(&id)
    }

    /// Every entry, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Entry>> {
        self.entries.values()
    }

    /// The children of `id`, in id order.
    pub fn children(&self, id: EntryId) -> impl Iterator<Item = EntryId> + '_ {
        self.children
            .get(&id)
            .into_iter()
            .flat_map(|s| s.iter().copied())
    }

    /// Whether `id` has children.
    pub fn has_children(&self, id: EntryId) -> bool {
        self.children.get(&id).is_some_and(|s| !s.is_empty())
    }

    /// The groups that list `id` in `member` (its memberOf), in id order.
    pub fn groups_of(&self, id: EntryId) -> impl Iterator<Item = EntryId> + '_ {
        self.member_of
            .get(&id)
            .into_iter()
            .flat_map(|s| s.iter().copied())
    }

    /// The entry with this sAMAccountName (case-insensitive).
    pub fn by_sam(&self, name: &str) -> Option<EntryId> {
        self.sam.get(&name.to_lowercase()).copied()
    }

    /// The entry with this userPrincipalName (case-insensitive).
    pub fn by_upn(&self, upn: &str) -> Option<EntryId> {
        self.upn.get(&upn.to_lowercase()).copied()
    }

    /// The entry with this objectGUID (AD byte order).
    pub fn by_guid(&self, guid: &[u8]) -> Option<EntryId> {
        self.guid.get(guid).copied()
    }

    /// The entry with this objectSid (binary).
    pub fn by_sid(&self, sid: &[u8]) -> Option<EntryId> {
        self.sid.get(sid).copied()
    }

    /// The DN of `id`.
    pub fn dn(&self, id: EntryId) -> String {
        let mut parts = Vec::new();
        let mut cur = self.entries.get(&id);
        while let Some(e) = cur {
            match e.parent {
                Some(p) => {
                    parts.push(e.rdn.to_dn_string());
                    cur = self.entries.get(&p);
                }
                None => break,
            }
        }
        parts.push(self.base_dn.clone());
        parts.join(",")
    }

    /// Whether `id` is `ancestor` or below it.
    pub fn is_within(&self, id: EntryId, ancestor: EntryId) -> bool {
        let mut cur = Some(id);
        while let Some(c) = cur {
            if c == ancestor {
                return true;
            }
            cur = self.entries.get(&c).and_then(|e| e.parent);
        }
        false
    }

    /// Finds the entry a DN names; on failure returns the DN of the deepest existing ancestor
    /// (AD's "best match", empty if none).
    pub fn resolve(&self, r: &DnRef) -> Result<EntryId, String> {
        match r {
            DnRef::Guid(g) => self
                .by_guid(&ad_types::guid::to_ad_bytes(g))
                .ok_or_else(String::new),
            DnRef::Sid(s) => self.by_sid(&s.to_bytes()).ok_or_else(String::new),
            DnRef::Path(rdns) => self.resolve_path(rdns),
        }
    }

    /// Finds the entry of a leaf-first RDN path.
    pub fn resolve_path(&self, rdns: &[Rdn]) -> Result<EntryId, String> {
        let root = self.root.ok_or_else(String::new)?;
        let n = self.base.len();
        if rdns.len() < n {
            return Err(String::new());
        }
        let (below, head) = rdns.split_at(rdns.len() - n);
        if head.iter().zip(&self.base).any(|(a, b)| a.key() != b.key()) {
            return Err(String::new());
        }
        let mut cur = root;
        for rdn in below.iter().rev() {
            match self.by_rdn.get(&(cur, rdn.key())) {
                Some(id) => cur = *id,
                None => return Err(self.dn(cur)),
            }
        }
        Ok(cur)
    }

    /// The child of `parent` named `rdn`, if any.
    pub fn child(&self, parent: EntryId, rdn: &Rdn) -> Option<EntryId> {
        self.by_rdn.get(&(parent, rdn.key())).copied()
    }

    /// Adds a new entry (its parent must exist, except for the domain head).
    pub fn insert(&mut self, e: Entry) -> Result<(), Conflict> {
        let pkey = (e.parent.unwrap_or(NO_PARENT), e.rdn.key());
        if self.by_rdn.contains_key(&pkey) || self.entries.contains_key(&e.id) {
            return Err(Conflict::Name);
        }
        self.check_unique(&e, None)?;
        self.by_rdn.insert(pkey, e.id);
        match e.parent {
            Some(p) => {
                self.children.entry(p).or_default().insert(e.id);
            }
            None => self.root = Some(e.id),
        }
        self.index(&e, true);
        self.index_members(e.id, &[], e.get(known().member));
        self.entries.insert(e.id, Arc::new(e));
        Ok(())
    }

    /// Replaces an existing entry with a new version (same id, parent and RDN).
    pub fn replace(&mut self, e: Entry) -> Result<(), Conflict> {
        let old = self.entries.get(&e.id).cloned().ok_or(Conflict::Name)?;
        self.check_unique(&e, Some(e.id))?;
        self.index(&old, false);
        self.index(&e, true);
        self.index_members(e.id, old.get(known().member), e.get(known().member));
        self.entries.insert(e.id, Arc::new(e));
        Ok(())
    }

    /// Removes a leaf entry; returns it.
    pub fn remove(&mut self, id: EntryId) -> Option<Arc<Entry>> {
        let e = self.entries.remove(&id)?;
        self.by_rdn
            .remove(&(e.parent.unwrap_or(NO_PARENT), e.rdn.key()));
        if let Some(p) = e.parent
            && let Some(set) = self.children.get_mut(&p)
        {
            set.remove(&id);
        }
        self.children.remove(&id);
        self.index(&e, false);
        self.index_members(id, e.get(known().member), &[]);
        // Drop it from every group that listed it.
        let groups: Vec<EntryId> = self.groups_of(id).collect();
        for g in groups {
            if let Some(ge) = self.entries.get(&g) {
                let mut ge = (**ge).clone();
                let members: Vec<Value> = ge
                    .get(known().member)
                    .iter()
                    .filter(|v| **v != Value::Dn(id))
                    .cloned()
                    .collect();
                ge.set(known().member, members);
                self.entries.insert(g, Arc::new(ge));
            }
        }
        self.member_of.remove(&id);
        if self.root == Some(id) {
            self.root = None;
        }
        Some(e)
    }

    fn check_unique(&self, e: &Entry, me: Option<EntryId>) -> Result<(), Conflict> {
        let k = known();
        let taken = |m: &OrdMap<String, EntryId>, v: Option<&str>| {
            v.and_then(|v| m.get(&v.to_lowercase()))
                .is_some_and(|id| Some(*id) != me)
        };
        if taken(&self.sam, e.text(k.sam)) {
            return Err(Conflict::Sam);
        }
        if taken(&self.upn, e.text(k.upn)) {
            return Err(Conflict::Upn);
        }
        for (attr, map) in [(k.object_guid, &self.guid), (k.object_sid, &self.sid)] {
            if let Some(Value::Bytes(b)) = e.first(attr)
                && map.get(b).is_some_and(|id| Some(*id) != me)
            {
                return Err(Conflict::Identity);
            }
        }
        Ok(())
    }

    fn index(&mut self, e: &Entry, add: bool) {
        let k = known();
        let id = e.id;
        let text = |m: &mut OrdMap<String, EntryId>, v: Option<&str>| {
            if let Some(v) = v {
                if add {
                    m.insert(v.to_lowercase(), id);
                } else {
                    m.remove(&v.to_lowercase());
                }
            }
        };
        text(&mut self.sam, e.text(k.sam));
        text(&mut self.upn, e.text(k.upn));
        for (attr, map) in [
            (k.object_guid, &mut self.guid),
            (k.object_sid, &mut self.sid),
        ] {
            if let Some(Value::Bytes(b)) = e.first(attr) {
                if add {
                    map.insert(b.clone(), id);
                } else {
                    map.remove(b);
                }
            }
        }
    }

    fn index_members(&mut self, group: EntryId, old: &[Value], new: &[Value]) {
        let ids = |vs: &[Value]| -> std::collections::BTreeSet<EntryId> {
            vs.iter()
                .filter_map(|v| if let Value::Dn(d) = v { Some(*d) } else { None })
                .collect()
        };
        let (old, new) = (ids(old), ids(new));
        for m in old.difference(&new) {
            if let Some(set) = self.member_of.get_mut(m) {
                set.remove(&group);
            }
        }
        for m in new.difference(&old) {
            self.member_of.entry(*m).or_default().insert(group);
        }
    }
}
