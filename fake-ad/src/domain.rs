//! Forests, domains and domain controllers. Each DC owns its copy of its domain's tree; a write
//! runs on a cheap clone of that copy and replaces it only if the whole operation succeeded, then
//! waits for the store to make it durable before it is answered.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use ad_types::Sid;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use runtime::{Clock, Seed};

use crate::dit::Dit;
use crate::dn::Rdn;
use crate::entry::Entry;
use crate::error::DirError;
use crate::replication::{Delivery, ReplState, Update};
use crate::schema::AttrId;
use crate::schema::known;
use crate::store::{Batch, Store};
use crate::value::{EntryId, Value};

/// What a domain is called and its SID.
#[derive(Clone, Debug)]
pub struct DomainInfo {
    /// DNS name, e.g. `contoso.lab`.
    pub dns: String,
    /// NetBIOS name, e.g. `CONTOSO`.
    pub netbios: String,
    /// The domain head's DN, e.g. `DC=contoso,DC=lab`.
    pub base_dn: String,
    /// The head's RDNs, leaf first.
    pub base: Vec<Rdn>,
    /// The domain SID (accounts are this plus a RID).
    pub sid: Sid,
    /// The forest root domain's DNS name.
    pub forest: String,
}

/// Allocates entry ids, RIDs and GUIDs for one domain (shared by its DCs).
#[derive(Debug)]
struct Alloc {
    next_id: u64,
    next_rid: u32,
    rng: ChaCha8Rng,
}

/// A domain: its names and its domain controllers.
#[derive(Debug)]
pub struct Domain {
    /// Names and SID.
    pub info: DomainInfo,
    alloc: Mutex<Alloc>,
    dcs: Mutex<Vec<Arc<Dc>>>,
    /// What is in flight between this domain's DCs.
    pub repl: Mutex<ReplState>,
    /// Woken when a delivery is queued (the replication task sleeps on it).
    pub repl_kick: tokio::sync::Notify,
    /// One pump at a time.
    pump_lock: tokio::sync::Mutex<()>,
    /// The descriptor propagator's settings.
    pub propagation: Mutex<crate::propagation::Propagation>,
    /// Propagations waiting or in progress.
    pub prop_jobs: Mutex<Vec<crate::propagation::Job>>,
    /// SDProp's period on the PDC emulator (AdminSDProtectFrequency, seconds) and its next run.
    pub sdprop_timer: Mutex<(u64, runtime::LabTime)>,
    /// Group-policy refresh period (seconds) and each DC's next refresh.
    pub gp_refresh: Mutex<(u64, BTreeMap<String, runtime::LabTime>)>,
    /// The GPO version each DC last applied.
    gpo_applied: Mutex<BTreeMap<String, u32>>,
    seed: Seed,
}

/// First RID handed to objects created after the well-known ones.
pub const FIRST_USER_RID: u32 = 1103;

impl Domain {
    /// A new domain with no DCs yet; its SID and GUIDs are drawn from `seed`.
    pub fn new(dns: &str, netbios: &str, forest: &str, seed: Seed) -> Arc<Domain> {
        let mut rng = runtime::stream(seed, &format!("fake-ad/{dns}"));
        let sid = Sid {
            authority: 5,
            sub: vec![21, rng.next_u32(), rng.next_u32(), rng.next_u32()],
        };
        let base_dn = crate::dn::domain_dn(dns);
        let base = crate::dn::parse_path(&base_dn).expect("a DNS name makes a valid DN");
        Arc::new(Domain {
            info: DomainInfo {
                dns: dns.to_string(),
                netbios: netbios.to_string(),
                base_dn,
                base,
                sid,
                forest: forest.to_string(),
            },
            alloc: Mutex::new(Alloc {
                next_id: 1,
                next_rid: FIRST_USER_RID,
                rng,
            }),
            dcs: Mutex::new(Vec::new()),
            repl: Mutex::new(ReplState::default()),
            repl_kick: tokio::sync::Notify::new(),
            pump_lock: tokio::sync::Mutex::new(()),
            propagation: Mutex::new(crate::propagation::Propagation::default()),
            prop_jobs: Mutex::new(Vec::new()),
            sdprop_timer: Mutex::new((3600, runtime::LabTime(u64::MAX))),
            gp_refresh: Mutex::new((300, BTreeMap::new())),
            gpo_applied: Mutex::new(BTreeMap::new()),
            seed,
        })
    }

    /// Adds a DC with an empty tree. `pdc` marks the PDC emulator.
    pub fn add_dc(
        self: &Arc<Self>,
        name: &str,
        site: &str,
        pdc: bool,
        store: Arc<dyn Store>,
        clock: Clock,
    ) -> Arc<Dc> {
        let index = self.dcs.lock().expect("dcs lock").len() as u16 + 1;
        let dc = Arc::new(Dc {
            index,
            rng: Mutex::new(runtime::stream(
                self.seed,
                &format!("fake-ad/{}/{name}", self.info.dns),
            )),
            stopped: Default::default(),
            delays: Default::default(),
            name: name.to_string(),
            host: format!("{}.{}", name.to_ascii_lowercase(), self.info.dns),
            site: site.to_string(),
            pdc,
            domain: self.clone(),
            dit: Mutex::new(Arc::new(Dit::new(self.info.base.clone()))),
            writer: Mutex::new(()),
            store,
            clock,
            refusals: Default::default(),
            old_password_window: Default::default(),
        });
        self.dcs.lock().expect("dcs lock").push(dc.clone());
        dc
    }

    /// The DCs, PDC emulator first.
    pub fn dcs(&self) -> Vec<Arc<Dc>> {
        let mut v = self.dcs.lock().expect("dcs lock").clone();
        v.sort_by_key(|d| !d.pdc);
        v
    }

    /// The DC named `name` (case-insensitive).
    pub fn dc(&self, name: &str) -> Option<Arc<Dc>> {
        self.dcs()
            .into_iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
    }

    /// The allocator's state, to persist.
    fn alloc_meta(&self, a: &Alloc) -> (String, String) {
        (
            format!("alloc/{}", self.info.dns),
            format!("{} {} {}", a.next_id, a.next_rid, a.rng.get_word_pos()),
        )
    }

    /// Queues an originating write's updates to every partner of `from`; returns the replication
    /// state to persist with the write.
    fn originate(
        &self,
        from: &Dc,
        updates: Vec<Update>,
        now: runtime::LabTime,
        batch: &mut Batch,
        keep_rows: bool,
    ) {
        let urgent = updates
            .iter()
            .any(|u| u.attrs.iter().any(|a| crate::replication::is_urgent(*a)));
        let password = updates
            .iter()
            .any(|u| u.attrs.contains(&known().unicode_pwd));
        let updates = Arc::new(updates);
        let mut st = self.repl.lock().expect("repl lock");
        let mut nth = 0;
        for to in self.dcs.lock().expect("dcs lock").iter() {
            if to.name == from.name {
                continue;
            }
            let same_site = to.site.eq_ignore_ascii_case(&from.site);
            // Password changes reach the PDC emulator at once (MS-SAMS forwarding).
            let now_please = urgent || (password && to.pdc);
            let at = crate::replication::due(&st.topology, now, same_site, nth, now_please);
            if same_site {
                nth += 1;
            }
            st.seq += 1;
            let key = (at.0, st.seq);
            let delivery = Delivery {
                from: from.name.clone(),
                to: to.name.clone(),
                updates: updates.clone(),
            };
            if keep_rows {
                let row = crate::replication::StoredDelivery {
                    due: at.0,
                    delivery: delivery.clone(),
                };
                let data = serde_json::to_vec(&row).expect("a delivery serializes");
                batch.rows.push((self.repl_partition(), st.seq, Some(data)));
            }
            st.queue.insert(key, delivery);
        }
        batch.meta.push(self.repl_meta(&st));
        drop(st);
        self.repl_kick.notify_waiters();
    }

    /// The store partition of this domain's in-flight deliveries.
    fn repl_partition(&self) -> String {
        format!("repl/{}", self.info.dns)
    }

    fn repl_meta(&self, st: &ReplState) -> (String, String) {
        (
            format!("repl/{}", self.info.dns),
            serde_json::to_string(st).expect("replication state serializes"),
        )
    }

    /// Restores in-flight replication: its state (cut links, topology) and its deliveries.
    pub fn restore_repl(&self, json: &str, rows: Vec<(u64, Vec<u8>)>) -> Result<(), String> {
        let mut st: ReplState = serde_json::from_str(json)
            .map_err(|e| format!("replication state of {}: {e}", self.info.dns))?;
        for (seq, data) in rows {
            let row: crate::replication::StoredDelivery = serde_json::from_slice(&data)
                .map_err(|e| format!("{} delivery {seq}: {e}", self.repl_partition()))?;
            st.queue.insert((row.due, seq), row.delivery);
            st.seq = st.seq.max(seq);
        }
        *self.repl.lock().expect("repl lock") = st;
        Ok(())
    }

    /// When the next delivery is due, if any.
    pub fn next_due(&self) -> Option<runtime::LabTime> {
        self.repl
            .lock()
            .expect("repl lock")
            .queue
            .keys()
            .next()
            .map(|(t, _)| runtime::LabTime(*t))
    }

    /// Applies every delivery due at `now` whose receiver is up and whose link is not cut (those
    /// wait, and are retried on the next pump). Returns how many were applied.
    pub async fn pump(&self, now: runtime::LabTime) -> usize {
        let _one = self.pump_lock.lock().await;
        let mut applied = 0;
        loop {
            let next = {
                let st = self.repl.lock().expect("repl lock");
                st.queue
                    .iter()
                    .take_while(|((t, _), _)| *t <= now.0)
                    .find(|(_, d)| {
                        let up = self.dc(&d.to).is_some_and(|dc| {
                            !dc.stopped.load(std::sync::atomic::Ordering::Relaxed)
                        });
                        let cut = st
                            .cut
                            .contains(&(d.from.to_uppercase(), d.to.to_uppercase()));
                        up && !cut
                    })
                    .map(|(k, d)| (*k, d.clone()))
            };
            let Some((key, delivery)) = next else { break };
            let Some(dc) = self.dc(&delivery.to) else {
                break;
            };
            let updates = delivery.updates.clone();
            let result = dc
                .write_with(
                    false,
                    |txn| {
                        txn.apply(&updates);
                        Ok(())
                    },
                    |batch| {
                        let mut st = self.repl.lock().expect("repl lock");
                        st.queue.remove(&key);
                        batch.rows.push((self.repl_partition(), key.1, None));
                        batch.meta.push(self.repl_meta(&st));
                    },
                )
                .await;
            if result.is_err() {
                break;
            }
            applied += 1;
        }
        applied
    }

    /// When the next propagation batch or SDProp run is due, if any.
    pub fn next_timer(&self) -> Option<runtime::LabTime> {
        let jobs = self.prop_jobs.lock().expect("prop lock");
        let next_job = jobs.iter().map(|j| j.next_at).min();
        let sdprop = self.sdprop_timer.lock().expect("sdprop lock").1;
        let gp = self
            .gp_refresh
            .lock()
            .expect("gp lock")
            .1
            .values()
            .min()
            .copied();
        [next_job, Some(sdprop), gp].into_iter().flatten().min()
    }

    /// Runs every propagation batch and SDProp run due at `now`; returns how many ran.
    pub async fn run_timers(&self, now: runtime::LabTime) -> usize {
        let _one = self.pump_lock.lock().await;
        let mut ran = 0;
        // SDProp on the PDC emulator, every AdminSDProtectFrequency.
        let due = {
            let mut t = self.sdprop_timer.lock().expect("sdprop lock");
            if t.1 <= now {
                t.1 = now.plus(std::time::Duration::from_secs(t.0));
                true
            } else {
                false
            }
        };
        if due
            && let Some(pdc) = self
                .dcs()
                .into_iter()
                .find(|d| d.pdc && !d.stopped.load(std::sync::atomic::Ordering::Relaxed))
        {
            let _ = crate::ops::run_sdprop(&pdc).await;
            ran += 1;
        }
        // Each DC's group-policy refresh.
        let due: Vec<String> = {
            let mut g = self.gp_refresh.lock().expect("gp lock");
            let every = g.0;
            let mut due = Vec::new();
            for (name, next) in g.1.iter_mut() {
                if *next <= now {
                    *next = now.plus(std::time::Duration::from_secs(every));
                    due.push(name.clone());
                }
            }
            due
        };
        for name in due {
            if let Some(dc) = self.dc(&name)
                && !dc.stopped.load(std::sync::atomic::Ordering::Relaxed)
            {
                let _ = crate::gpo::apply(&dc, false).await;
                ran += 1;
            }
        }
        let batch = self.propagation.lock().expect("propagation lock").batch;
        let interval = self
            .propagation
            .lock()
            .expect("propagation lock")
            .batch_interval_ms;
        loop {
            let job = {
                let mut jobs = self.prop_jobs.lock().expect("prop lock");
                let i = jobs.iter().position(|j| j.next_at <= now);
                i.map(|i| jobs.remove(i))
            };
            let Some(mut job) = job else { break };
            let Some(dc) = self.dc(&job.dc) else { continue };
            if dc.stopped.load(std::sync::atomic::Ordering::Relaxed) {
                job.next_at = now.plus(std::time::Duration::from_secs(30));
                self.prop_jobs.lock().expect("prop lock").push(job);
                break;
            }
            let more = crate::propagation::run_batch(&dc, &mut job, batch)
                .await
                .unwrap_or(false);
            ran += 1;
            if more {
                job.next_at = job
                    .next_at
                    .plus(std::time::Duration::from_millis(interval.max(1)));
                self.prop_jobs.lock().expect("prop lock").push(job);
            }
        }
        ran
    }

    /// The GPO version DC `dc` last applied.
    pub fn gpo_applied(&self, dc: &str) -> u32 {
        self.gpo_applied
            .lock()
            .expect("gpo lock")
            .get(dc)
            .copied()
            .unwrap_or(0)
    }

    /// Records the GPO version DC `dc` applied.
    pub fn set_gpo_applied(&self, dc: &str, version: u32) {
        self.gpo_applied
            .lock()
            .expect("gpo lock")
            .insert(dc.to_string(), version);
    }

    /// Starts every DC's group-policy refresh: every `every_secs` from `now`.
    pub fn start_gp_refresh(&self, now: runtime::LabTime, every_secs: u64) {
        let next = now.plus(std::time::Duration::from_secs(every_secs));
        let dcs: BTreeMap<String, runtime::LabTime> =
            self.dcs().iter().map(|d| (d.name.clone(), next)).collect();
        *self.gp_refresh.lock().expect("gp lock") = (every_secs, dcs);
    }

    /// Starts SDProp's timer: every `every_secs` from `now`.
    pub fn start_sdprop_timer(&self, now: runtime::LabTime, every_secs: u64) {
        *self.sdprop_timer.lock().expect("sdprop lock") = (
            every_secs,
            now.plus(std::time::Duration::from_secs(every_secs)),
        );
    }

    /// Persists the replication state (cut links, in-flight deliveries) through `dc`'s store.
    pub async fn save_repl(&self, dc: &Dc) -> Result<(), DirError> {
        dc.write_with(
            true,
            |_| Ok(()),
            |batch| {
                let st = self.repl.lock().expect("repl lock");
                batch.meta.push(self.repl_meta(&st));
            },
        )
        .await
    }

    /// Cuts (or heals) replication from `from` to `to` (both directions when `both`).
    pub fn set_link(&self, from: &str, to: &str, cut: bool) {
        let mut st = self.repl.lock().expect("repl lock");
        let key = (from.to_uppercase(), to.to_uppercase());
        if cut {
            st.cut.insert(key);
        } else {
            st.cut.remove(&key);
        }
        drop(st);
        self.repl_kick.notify_waiters();
    }

    /// Restores the allocator from its persisted state.
    pub fn restore_alloc(&self, meta: &str) -> Result<(), String> {
        let mut it = meta.split_whitespace();
        let mut a = self.alloc.lock().expect("alloc lock");
        let bad = || format!("bad allocator state {meta:?}");
        a.next_id = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        a.next_rid = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let pos: u128 = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        a.rng.set_word_pos(pos);
        Ok(())
    }
}

/// A DC's added response delays (a "slow DC"), lab milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Delays {
    /// Before every operation.
    pub all_ms: u64,
    /// Before binds.
    pub bind_ms: u64,
    /// Before searches.
    pub search_ms: u64,
    /// Before writes (add, modify, delete).
    pub modify_ms: u64,
}

/// A domain controller: its names and its copy of the domain.
pub struct Dc {
    /// Its number in the domain (1 = the first DC), the originating DC in metadata.
    pub index: u16,
    /// This DC's own seeded stream (propagation delays, …).
    pub rng: Mutex<ChaCha8Rng>,
    /// Stopped: listeners refuse and replication to it waits.
    pub stopped: std::sync::atomic::AtomicBool,
    /// Added response delays.
    pub delays: Mutex<Delays>,
    /// `DC1`, `DC2`, …
    pub name: String,
    /// `dc1.contoso.lab`.
    pub host: String,
    /// The AD site.
    pub site: String,
    /// Whether this DC is the PDC emulator.
    pub pdc: bool,
    /// Its domain.
    pub domain: Arc<Domain>,
    dit: Mutex<Arc<Dit>>,
    /// Serializes writers for a whole transaction; readers only take `dit` for a moment, so a
    /// long write never stalls a search.
    writer: Mutex<()>,
    store: Arc<dyn Store>,
    /// The lab clock this DC reads.
    pub clock: Clock,
    /// Why this DC refused recent writes.
    pub refusals: crate::refusal::RefusalLog,
    /// How long after a change the previous password still binds, in lab seconds (facts §2.4's
    /// OldPasswordAllowedPeriod as Samba applies it to simple binds); 0 = never (the default).
    pub old_password_window: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Dc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dc")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl Dc {
    /// The current committed tree (a cheap snapshot; later writes do not change it).
    pub fn snapshot(&self) -> Arc<Dit> {
        self.dit.lock().expect("dit lock").clone()
    }

    /// The store partition of this DC.
    pub fn partition(&self) -> String {
        format!("{}/{}", self.domain.info.dns, self.name)
    }

    /// Replaces the tree wholesale (loading from the store).
    pub fn install(&self, dit: Dit) {
        let _one_writer = self.writer.lock().expect("writer lock");
        *self.dit.lock().expect("dit lock") = Arc::new(dit);
    }

    /// Loads this DC's tree from its store partition; false if the partition is empty.
    pub fn load(&self) -> Result<bool, String> {
        let rows = self
            .store
            .load(&self.partition())
            .map_err(|e| e.to_string())?;
        if rows.is_empty() {
            return Ok(false);
        }
        let mut dit = Dit::new(self.domain.info.base.clone());
        let mut entries: Vec<Entry> = rows
            .into_iter()
            .map(|(id, data)| {
                serde_json::from_slice::<Entry>(&data)
                    .map_err(|e| format!("{}: entry {id}: {e}", self.partition()))
            })
            .collect::<Result<_, _>>()?;
        // Parents before children: insert in depth order.
        let depth = |e: &Entry, all: &std::collections::BTreeMap<EntryId, Option<EntryId>>| {
            let mut d = 0;
            let mut p = e.parent;
            while let Some(x) = p {
                d += 1;
                p = all.get(&x).copied().flatten();
            }
            d
        };
        let parents: std::collections::BTreeMap<EntryId, Option<EntryId>> =
            entries.iter().map(|e| (e.id, e.parent)).collect();
        entries.sort_by_key(|e| (depth(e, &parents), e.id));
        for e in entries {
            dit.usn = dit.usn.max(e.int(known().usn_changed).unwrap_or(0));
            let id = e.id;
            dit.insert(e)
                .map_err(|c| format!("{}: entry {}: {c}", self.partition(), id.0))?;
        }
        self.install(dit);
        Ok(true)
    }

    /// Takes `dit` as this DC's whole copy and persists every entry of it.
    pub async fn adopt(&self, dit: Dit) -> Result<(), DirError> {
        let mut batch = Batch {
            partition: self.partition(),
            ..Batch::default()
        };
        for e in dit.iter().filter(|_| self.store.keeps_rows()) {
            let data = serde_json::to_vec(&**e).map_err(|e| DirError::Store(e.to_string()))?;
            batch.upserts.push((e.id.0, data));
        }
        let commit = {
            let _one_writer = self.writer.lock().expect("writer lock");
            *self.dit.lock().expect("dit lock") = Arc::new(dit);
            self.store.commit(batch)
        };
        match commit.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(DirError::Store(e.to_string())),
            Err(_) => Err(DirError::Store("the store's writer has stopped".into())),
        }
    }

    /// Runs `f` as one atomic write: on success the new tree replaces the old and the call
    /// returns once the store made the change durable; on error nothing changes.
    pub async fn write<T>(
        &self,
        f: impl FnOnce(&mut Txn) -> Result<T, DirError>,
    ) -> Result<T, DirError> {
        self.write_with(true, f, |_| {}).await
    }

    /// A write, originating (replicated to partners) or applying a partner's updates; `also`
    /// adds lab-wide meta to the same commit, under the tree's lock.
    pub async fn write_with<T>(
        &self,
        originating: bool,
        f: impl FnOnce(&mut Txn) -> Result<T, DirError>,
        also: impl FnOnce(&mut Batch),
    ) -> Result<T, DirError> {
        let (out, commit) = {
            // One writer at a time for the whole transaction; the tree itself is locked only to
            // take the base and to swap in the result.
            let _one_writer = self.writer.lock().expect("writer lock");
            let base = (**self.dit.lock().expect("dit lock")).clone();
            let mut txn = Txn::new(self, base, originating);
            let out = f(&mut txn)?;
            let keep = self.store.keeps_rows();
            let mut batch = txn.batch(keep)?;
            let updates = txn.updates();
            if !updates.is_empty() {
                self.domain
                    .originate(self, updates, txn.now, &mut batch, keep);
            }
            also(&mut batch);
            *self.dit.lock().expect("dit lock") = Arc::new(txn.dit);
            (out, self.store.commit(batch))
        };
        match commit.await {
            Ok(Ok(())) => Ok(out),
            Ok(Err(e)) => Err(DirError::Store(e.to_string())),
            Err(_) => Err(DirError::Store("the store's writer has stopped".into())),
        }
    }
}

/// One write in progress on a DC: a private copy of the tree plus what changed.
pub struct Txn<'a> {
    dc: &'a Dc,
    /// The tree being changed.
    pub dit: Dit,
    changed: BTreeSet<EntryId>,
    deleted: BTreeSet<EntryId>,
    allocated: bool,
    /// The lab time of this write.
    pub now: runtime::LabTime,
    originating: bool,
    repl_attrs: BTreeMap<EntryId, BTreeSet<AttrId>>,
    created: BTreeSet<EntryId>,
}

impl<'a> Txn<'a> {
    fn new(dc: &'a Dc, dit: Dit, originating: bool) -> Txn<'a> {
        Txn {
            dc,
            dit,
            changed: BTreeSet::new(),
            deleted: BTreeSet::new(),
            allocated: false,
            now: dc.clock.now(),
            originating,
            repl_attrs: BTreeMap::new(),
            created: BTreeSet::new(),
        }
    }

    /// The updates this (originating) write sends to partners, in id order.
    fn updates(&self) -> Vec<Update> {
        if !self.originating {
            return Vec::new();
        }
        let mut out = Vec::new();
        for id in self.changed.iter().chain(self.deleted.iter()) {
            let created = self.created.contains(id);
            let attrs: Vec<AttrId> = self
                .repl_attrs
                .get(id)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            let entry = self.dit.get(*id).cloned();
            if entry.is_some() && !created && attrs.is_empty() {
                continue;
            }
            out.push(Update {
                id: *id,
                entry,
                attrs,
                created,
            });
        }
        out
    }

    /// Applies a partner's updates, attribute by attribute (higher version, then later time, then
    /// originating DC wins); not re-replicated.
    pub fn apply(&mut self, updates: &[Update]) {
        for u in updates {
            let Some(incoming) = &u.entry else {
                if self.dit.get(u.id).is_some() && !self.dit.has_children(u.id) {
                    self.remove(u.id);
                }
                continue;
            };
            match self.dit.get(u.id).cloned() {
                None => {
                    let _ = self.put_replicated((**incoming).clone());
                }
                Some(local) => {
                    let mut e = (*local).clone();
                    let mut any = false;
                    for a in &u.attrs {
                        if crate::replication::meta_of(incoming, *a)
                            > crate::replication::meta_of(&e, *a)
                        {
                            crate::replication::copy_attr(&mut e, incoming, *a);
                            // An unlock that arrives by replication clears this DC's count too.
                            if *a == known().lockout_time && e.int(known().lockout_time) == Some(0)
                            {
                                e.set_one(known().bad_pwd_count, Value::Int(0));
                            }
                            any = true;
                        }
                    }
                    if any {
                        let _ = self.put_replicated(e);
                    }
                }
            }
        }
    }

    /// Stores a replicated version: local USN and whenChanged, no new metadata.
    fn put_replicated(&mut self, mut e: Entry) -> Result<(), crate::dit::Conflict> {
        let k = known();
        self.dit.usn += 1;
        let fresh = self.dit.get(e.id).is_none();
        if fresh {
            e.set_one(k.usn_created, Value::Int(self.dit.usn));
        }
        e.set_one(k.usn_changed, Value::Int(self.dit.usn));
        e.set_one(k.when_changed, Value::Time(self.now.unix_secs()));
        let id = e.id;
        if fresh {
            self.dit.insert(e)?
        } else {
            self.dit.replace(e)?
        }
        self.changed.insert(id);
        self.deleted.remove(&id);
        Ok(())
    }
    /// The DC being written.
    pub fn dc(&self) -> &Dc {
        self.dc
    }

    /// A fresh entry id.
    pub fn new_id(&mut self) -> EntryId {
        self.allocated = true;
        let mut a = self.dc.domain.alloc.lock().expect("alloc lock");
        let id = a.next_id;
        a.next_id += 1;
        EntryId(id)
    }

    /// A fresh RID for a new security principal.
    pub fn new_rid(&mut self) -> u32 {
        self.allocated = true;
        let mut a = self.dc.domain.alloc.lock().expect("alloc lock");
        let r = a.next_rid;
        a.next_rid += 1;
        r
    }

    /// A fresh objectGUID, drawn from the domain's seeded stream.
    pub fn new_guid(&mut self) -> uuid::Uuid {
        self.allocated = true;
        let mut a = self.dc.domain.alloc.lock().expect("alloc lock");
        runtime::uuid_from(&mut a.rng)
    }

    /// Stamps `e` with the next USN and the time, then inserts or replaces it.
    pub fn put(&mut self, mut e: Entry) -> Result<(), crate::dit::Conflict> {
        let k = known();
        self.dit.usn += 1;
        let usn = self.dit.usn;
        let fresh = self.dit.get(e.id).is_none();
        if fresh {
            e.set_one(k.usn_created, Value::Int(usn));
            e.set_one(k.when_created, Value::Time(self.now.unix_secs()));
            if self.originating {
                self.created.insert(e.id);
            }
        } else if self.originating {
            let old = self.dit.get(e.id).cloned().expect("exists");
            let changed = crate::replication::changed_attrs(&old, &e);
            for a in &changed {
                let prev = crate::replication::meta_of(&old, *a);
                let m = crate::replication::AttrMeta {
                    version: prev.version + 1,
                    time: self.now.filetime(),
                    dc: self.dc.index,
                };
                crate::replication::set_meta(&mut e, *a, m);
            }
            self.repl_attrs.entry(e.id).or_default().extend(changed);
        }
        e.set_one(k.usn_changed, Value::Int(usn));
        e.set_one(k.when_changed, Value::Time(self.now.unix_secs()));
        let id = e.id;
        if fresh {
            self.dit.insert(e)?;
        } else {
            self.dit.replace(e)?;
        }
        self.changed.insert(id);
        self.deleted.remove(&id);
        Ok(())
    }

    /// Removes a leaf entry (and its values from every group that listed it).
    pub fn remove(&mut self, id: EntryId) {
        let groups: Vec<EntryId> = self.dit.groups_of(id).collect();
        if self.originating {
            for g in &groups {
                self.repl_attrs
                    .entry(*g)
                    .or_default()
                    .insert(known().member);
            }
        }
        if self.dit.remove(id).is_some() {
            self.changed.remove(&id);
            self.deleted.insert(id);
            self.changed.extend(groups);
        }
    }

    /// Recomputes `id`'s inherited ACEs from its parent's current descriptor; true if it changed.
    pub fn reinherit_one(&mut self, id: EntryId) -> bool {
        let Some(e) = self.dit.get(id).cloned() else {
            return false;
        };
        let parent_sd = e
            .parent
            .and_then(|p| self.dit.get(p))
            .and_then(|p| p.sd.clone());
        let (Some(psd), Some(own)) = (parent_sd, e.sd.clone()) else {
            return false;
        };
        let class = e.structural_class().unwrap_or("top").to_string();
        let next = crate::security::intern(ad_types::access::inherit(
            &psd,
            &own,
            crate::security::class_guid(&class),
        ));
        if next == own {
            return false;
        }
        let mut e2 = (*e).clone();
        e2.sd = Some(next);
        self.put(e2).is_ok()
    }

    /// After `id`'s descriptor changed: re-inherit below it now (inline propagation) or queue a
    /// propagation job on this DC after the configured delay.
    pub fn propagate_from(&mut self, id: EntryId) {
        let cfg = *self.dc.domain.propagation.lock().expect("propagation lock");
        if cfg.is_inline() {
            self.reinherit_below(id);
            return;
        }
        let delay =
            crate::propagation::draw_delay(&cfg, &mut *self.dc.rng.lock().expect("rng lock"));
        let job = crate::propagation::Job {
            dc: self.dc.name.clone(),
            root: id,
            root_dn: self.dit.dn(id),
            next_at: self.now.plus(delay),
            pending: self
                .dit
                .children(id)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect(),
            done: 0,
            changed: 0,
        };
        self.dc
            .domain
            .prop_jobs
            .lock()
            .expect("prop lock")
            .push(job);
        self.dc.domain.repl_kick.notify_waiters();
    }

    /// Recomputes the inherited ACEs of everything below `id` (after its descriptor changed).
    pub fn reinherit_below(&mut self, id: EntryId) {
        let mut scratch = self.dit.clone();
        let mut next = Vec::new();
        crate::security::reinherit_below(&mut scratch, id, |dit, e| {
            next.push(e.clone());
            let _ = dit.replace(e);
        });
        for e in next {
            let _ = self.put(e);
        }
    }

    fn batch(&self, keep_rows: bool) -> Result<Batch, DirError> {
        let mut b = Batch {
            partition: self.dc.partition(),
            ..Batch::default()
        };
        for id in self.changed.iter().filter(|_| keep_rows) {
            if let Some(e) = self.dit.get(*id) {
                let data = serde_json::to_vec(&**e).map_err(|e| DirError::Store(e.to_string()))?;
                b.upserts.push((id.0, data));
            }
        }
        b.deletes = self.deleted.iter().map(|i| i.0).collect();
        if self.allocated {
            let a = self.dc.domain.alloc.lock().expect("alloc lock");
            b.meta.push(self.dc.domain.alloc_meta(&a));
        }
        Ok(b)
    }
}
