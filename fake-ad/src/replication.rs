//! Replication between the DCs of a domain (facts §3.4): every originating write becomes a set of
//! updates, with per-attribute metadata (version, originating time, originating DC), delivered to
//! each partner after the topology's delay — intra-site change notification (15 s to the first
//! partner, 3 s between partners), urgent replication for lockoutTime, pwdLastSet and
//! userAccountControl, password changes sent to the PDC emulator at once, inter-site on a
//! schedule — and applied attribute by attribute as AD resolves conflicts: higher version, then
//! later time, then originating DC.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use runtime::LabTime;
use serde::{Deserialize, Serialize};

use crate::entry::Entry;
use crate::schema::{AttrId, known, schema};
use crate::value::EntryId;

/// One attribute's replication metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AttrMeta {
    /// Bumped on every originating change.
    pub version: u32,
    /// FILETIME of the originating change.
    pub time: i64,
    /// The originating DC's number in its domain (1 = the first DC).
    pub dc: u16,
}

/// One entry's change as it travels to partners.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Update {
    /// The entry.
    pub id: EntryId,
    /// Its state after the originating write; `None` when deleted.
    pub entry: Option<Arc<Entry>>,
    /// The attributes the write changed (unicodePwd and nTSecurityDescriptor stand for the hash
    /// and the descriptor).
    pub attrs: Vec<AttrId>,
    /// Created by this write.
    pub created: bool,
}

/// The delays of a domain's topology.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Topology {
    /// Intra-site: wait before notifying the first partner (seconds).
    pub notify_first_secs: u64,
    /// Intra-site: wait between partners (seconds).
    pub notify_next_secs: u64,
    /// Inter-site replication interval (minutes, a multiple of 15, 15–10080).
    pub inter_site_minutes: u64,
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            notify_first_secs: 15,
            notify_next_secs: 3,
            inter_site_minutes: 180,
        }
    }
}

impl Topology {
    /// Checks AD's ranges; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.inter_site_minutes < 15
            || self.inter_site_minutes > 10080
            || !self.inter_site_minutes.is_multiple_of(15)
        {
            return Err(format!(
                "inter_site_minutes {} is not a multiple of 15 in 15..=10080",
                self.inter_site_minutes
            ));
        }
        Ok(())
    }
}

/// A batch of updates on its way from one DC to another.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Delivery {
    /// The originating DC.
    pub from: String,
    /// The receiving DC.
    pub to: String,
    /// The updates, in the order they were made.
    pub updates: Arc<Vec<Update>>,
}

/// A domain's replication state: what is in flight, and which links are cut.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ReplState {
    /// In-flight deliveries by (due time in ns, sequence); each is its own store row
    /// (partition `repl/<domain>`, id = sequence), not part of this state's JSON.
    #[serde(skip)]
    pub queue: BTreeMap<(u64, u64), Delivery>,
    /// The next sequence number.
    pub seq: u64,
    /// Cut links, as (from, to) DC names in upper case.
    pub cut: BTreeSet<(String, String)>,
    /// The topology.
    pub topology: Topology,
}

/// One in-flight delivery as its store row keeps it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredDelivery {
    /// When it is due (ns since the epoch, lab time).
    pub due: u64,
    /// The delivery.
    pub delivery: Delivery,
}

/// Attributes whose originating writes replicate urgently within a site.
pub fn is_urgent(attr: AttrId) -> bool {
    let k = known();
    attr == k.lockout_time || attr == k.pwd_last_set || attr == k.uac
}

/// Attributes that are the DC's own and never replicate (USNs, and as in AD the bad-password
/// count and time, lastLogon and logonCount).
pub fn is_local(attr: AttrId) -> bool {
    let k = known();
    let s = schema();
    attr == k.usn_changed
        || attr == k.usn_created
        || attr == k.when_changed
        || attr == k.bad_pwd_count
        || attr == s.id("badPasswordTime")
        || attr == s.id("lastLogon")
        || attr == s.id("logonCount")
}

/// The metadata of `attr` on `e` (never-changed attributes are version 1 at creation).
pub fn meta_of(e: &Entry, attr: AttrId) -> AttrMeta {
    match e.meta.binary_search_by_key(&attr, |(a, _)| *a) {
        Ok(i) => e.meta[i].1,
        Err(_) => AttrMeta {
            version: 1,
            time: 0,
            dc: 0,
        },
    }
}

/// Sets `attr`'s metadata on `e`.
pub fn set_meta(e: &mut Entry, attr: AttrId, m: AttrMeta) {
    match e.meta.binary_search_by_key(&attr, |(a, _)| *a) {
        Ok(i) => e.meta[i].1 = m,
        Err(i) => e.meta.insert(i, (attr, m)),
    }
}

/// The attributes (and pseudo-attributes) that differ between two versions of an entry.
pub fn changed_attrs(old: &Entry, new: &Entry) -> Vec<AttrId> {
    let mut ids: BTreeSet<AttrId> = old
        .attrs
        .iter()
        .map(|(a, _)| *a)
        .chain(new.attrs.iter().map(|(a, _)| *a))
        .collect();
    ids.retain(|a| !is_local(*a) && old.get(*a) != new.get(*a));
    if old.nt_hash != new.nt_hash || old.pwd_history != new.pwd_history {
        ids.insert(known().unicode_pwd);
    }
    if old.sd != new.sd {
        ids.insert(schema().id("nTSecurityDescriptor"));
    }
    ids.into_iter().collect()
}

/// Copies `attr` (or the hash/descriptor it stands for) from `from` into `into`.
pub fn copy_attr(into: &mut Entry, from: &Entry, attr: AttrId) {
    if attr == known().unicode_pwd {
        into.nt_hash = from.nt_hash;
        into.pwd_history = from.pwd_history.clone();
    } else if attr == schema().id("nTSecurityDescriptor") {
        into.sd = from.sd.clone();
    } else {
        into.set(attr, from.get(attr).to_vec());
    }
    set_meta(into, attr, meta_of(from, attr));
}

/// When a delivery from `from_site` to `to_site` is due: `now` plus the intra-site delay for the
/// `nth` partner (0-based), at once when urgent, or the next inter-site schedule tick.
pub fn due(t: &Topology, now: LabTime, same_site: bool, nth: u32, urgent: bool) -> LabTime {
    if same_site {
        if urgent {
            return now;
        }
        return now.plus(Duration::from_secs(
            t.notify_first_secs + t.notify_next_secs * u64::from(nth),
        ));
    }
    let period = t.inter_site_minutes * 60 * 1_000_000_000;
    LabTime((now.0 / period + 1) * period)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays() {
        let t = Topology::default();
        let now = LabTime::from_unix_secs(1_000_000);
        assert_eq!(due(&t, now, true, 0, false).unix_secs(), 1_000_015);
        assert_eq!(due(&t, now, true, 2, false).unix_secs(), 1_000_021);
        assert_eq!(due(&t, now, true, 1, true), now);
        let far = due(&t, now, false, 0, true);
        assert!(far > now && far.unix_secs().is_multiple_of(180 * 60));
        assert!(
            Topology {
                inter_site_minutes: 20,
                ..t
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn conflicts_resolve_by_version_then_time_then_dc() {
        let a = AttrMeta {
            version: 2,
            time: 5,
            dc: 1,
        };
        assert!(
            AttrMeta {
                version: 3,
                time: 1,
                dc: 1
            } > a
        );
        assert!(
            AttrMeta {
                version: 2,
                time: 6,
                dc: 1
            } > a
        );
        assert!(
            AttrMeta {
                version: 2,
                time: 5,
                dc: 2
            } > a
        );
    }
}
