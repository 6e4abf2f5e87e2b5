//! The tenant: its users (cloud-only and synced copies of on-premises users, with their anchors),
//! their admin roles, the tenant's SSPR and on-premises integration settings, the lab app for
//! client credentials, the audit log, and the long-running password operations.

use std::collections::BTreeMap;
use std::sync::Mutex;

use std::sync::Arc;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use runtime::store::{Batch, Store};
use runtime::{Clock, Seed};
use serde::Serialize;
use uuid::Uuid;

use crate::decision::{self, RoleSet, Settings};

/// A salted password verifier: the tenant never keeps a password in clear.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    salt: [u8; 16],
    hash: [u8; 32],
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier(..)")
    }
}

impl Verifier {
    /// The stored form: salt and hash in hex.
    pub fn to_hex(&self) -> String {
        let h = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        format!("{}:{}", h(&self.salt), h(&self.hash))
    }

    /// Parses [`Verifier::to_hex`].
    pub fn from_hex(s: &str) -> Option<Verifier> {
        let (a, b) = s.split_once(':')?;
        let bytes = |x: &str| -> Option<Vec<u8>> {
            (0..x.len() / 2)
                .map(|i| u8::from_str_radix(x.get(2 * i..2 * i + 2)?, 16).ok())
                .collect()
        };
        Some(Verifier {
            salt: bytes(a)?.try_into().ok()?,
            hash: bytes(b)?.try_into().ok()?,
        })
    }

    /// A verifier of `password` with a fresh salt from `rng`.
    pub fn new(password: &str, rng: &mut impl Rng) -> Verifier {
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        Verifier {
            salt,
            hash: Self::digest(&salt, password),
        }
    }

    fn digest(salt: &[u8; 16], password: &str) -> [u8; 32] {
        let hex: String = salt.iter().map(|b| format!("{b:02x}")).collect();
        wire::auth::secret_verifier(&format!("{hex}:{password}"))
    }

    /// Whether `password` matches (constant-time compare of the digests).
    pub fn matches(&self, password: &str) -> bool {
        let d = Self::digest(&self.salt, password);
        d.iter()
            .zip(self.hash.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

/// Where a user's password is mastered, as the tenant knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UserSource {
    /// A cloud-only user.
    CloudOnly,
    /// A synced copy of an on-premises user.
    Synced(SyncedLink),
}

/// A synced user's on-premises identity (DESIGN §7: made once by the orchestrator).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SyncedLink {
    /// onPremisesDomainName.
    pub domain: String,
    /// onPremisesDistinguishedName.
    pub dn: String,
    /// The objectGUID anchor (onPremisesImmutableId is its base64).
    pub anchor: Uuid,
    /// onPremisesSamAccountName.
    pub sam: String,
    /// The engine that owns the domain.
    pub engine: wire::types::Engine,
    /// In the scope of the domain's sync configuration.
    pub in_scope: bool,
}

/// One user of the tenant.
#[derive(Clone, Debug)]
pub struct CloudUser {
    /// Object id.
    pub id: Uuid,
    /// userPrincipalName.
    pub upn: String,
    /// displayName.
    pub display_name: String,
    /// givenName.
    pub given: String,
    /// surname.
    pub surname: String,
    /// The cloud password's verifier.
    pub password: Verifier,
    /// Admin roles.
    pub roles: RoleSet,
    /// Cloud-only or synced.
    pub source: UserSource,
    /// accountEnabled.
    pub enabled: bool,
    /// Must change the password at the next sign-in (an admin's reset asked for it, or the
    /// on-premises password is expired): the token endpoint answers AADSTS50055 until the user's
    /// own change succeeds.
    pub must_change: bool,
}

/// A user to add.
pub struct NewUser {
    /// userPrincipalName.
    pub upn: String,
    /// givenName.
    pub given: String,
    /// surname.
    pub surname: String,
    /// The initial password (hashed at once).
    pub password: String,
    /// Admin roles.
    pub roles: RoleSet,
    /// Cloud-only or synced.
    pub source: UserSource,
}

/// One audit log row (facts §5.3) in Graph's `directoryAudit` shape; never a password.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Row id.
    pub id: Uuid,
    /// Lab time, RFC 3339.
    pub activity_date_time: String,
    /// "Self-service Password Management".
    pub logged_by_service: String,
    /// The category.
    pub category: String,
    /// Correlates the rows of one operation.
    pub correlation_id: Uuid,
    /// The activity's display name.
    pub activity_display_name: String,
    /// Graph's operationType (`Update` for password operations).
    pub operation_type: String,
    /// success / failure.
    pub result: String,
    /// The reason.
    pub result_reason: String,
    /// Who did it: `{"user": {…}}` or `{"app": {…}}`.
    pub initiated_by: serde_json::Value,
    /// The user it concerns.
    pub target_resources: Vec<serde_json::Value>,
    /// Extra key/values, e.g. the on-premises agent type that handled it.
    pub additional_details: Vec<serde_json::Value>,
}

/// The status of a long-running password operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OpStatus {
    /// Accepted, not started.
    NotStarted,
    /// Waiting for the on-premises agent.
    Running,
    /// Done.
    Succeeded,
    /// Refused or failed.
    Failed,
}

/// One long-running password operation (Graph's resetPassword).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// Operation id.
    pub id: Uuid,
    /// The user.
    #[serde(skip)]
    pub user: Uuid,
    /// Its status.
    pub status: OpStatus,
    /// When it was created (RFC 3339, lab time).
    pub created_date_time: String,
    /// When it last changed.
    pub last_action_date_time: String,
    /// A short detail for failures (the user-facing code).
    pub status_detail: Option<String>,
    /// The relay job id, if it wrote back.
    #[serde(skip)]
    pub job: Option<String>,
    /// When it was accepted (created), on the lab clock to the nanosecond: the start of the
    /// server-side latency `sspr-lab bench e2e` measures.
    #[serde(skip)]
    pub accepted_at: runtime::LabTime,
    /// When it reached `succeeded` or `failed`, on the lab clock.
    #[serde(skip)]
    pub finished_at: Option<runtime::LabTime>,
}

/// The tenant.
pub struct Tenant {
    /// Tenant id.
    pub id: Uuid,
    /// Initial domain, e.g. `contoso.onmicrosoft.example`.
    pub name: String,
    /// The lab app's client id (client credentials).
    pub client_id: Uuid,
    client_secret: Verifier,
    /// The lab clock.
    pub clock: Clock,
    settings: Mutex<Settings>,
    users: Mutex<BTreeMap<Uuid, CloudUser>>,
    upns: Mutex<BTreeMap<String, Uuid>>,
    audit: Mutex<Vec<AuditEntry>>,
    ops: Mutex<BTreeMap<Uuid, Operation>>,
    rng: Mutex<ChaCha8Rng>,
    attempts: Mutex<BTreeMap<Uuid, Vec<runtime::LabTime>>>,
    mailbox: Mutex<BTreeMap<String, Vec<Mail>>>,
    store: std::sync::OnceLock<Arc<dyn Store>>,
    rows: Mutex<BTreeMap<Uuid, u64>>,
}

/// A user as the store keeps it (the verifier, never a password).
#[derive(Serialize, serde::Deserialize)]
struct StoredUser {
    id: Uuid,
    upn: String,
    display_name: String,
    given: String,
    surname: String,
    password: String,
    roles: Vec<String>,
    source: UserSource,
    enabled: bool,
    /// Absent in rows saved before the flag existed.
    #[serde(default)]
    must_change: bool,
}

const USERS: &str = "cloud/users";
const AUDIT: &str = "cloud/audit";
const SETTINGS: &str = "cloud/settings";

/// A message in the lab mailbox (one-time codes the SSPR portal sends).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mail {
    /// When it was sent (RFC 3339, lab time).
    pub sent: String,
    /// The subject.
    pub subject: String,
    /// The one-time code it carries.
    pub code: String,
}

/// SSPR attempts within this window count towards throttling (facts §1.4).
const THROTTLE_WINDOW: std::time::Duration = std::time::Duration::from_secs(3600);
/// The attempt that is refused: the sixth within the window.
const THROTTLE_LIMIT: usize = 5;

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Bad tenant input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    /// A UPN already in use.
    #[error("userPrincipalName {0} is already in use")]
    UpnInUse(String),
}

impl Tenant {
    /// A new tenant; ids come from the seed (stable across runs with the same seed).
    pub fn new(
        name: &str,
        seed: Seed,
        clock: Clock,
        settings: Settings,
        client_secret: &str,
    ) -> Tenant {
        let mut rng = runtime::stream(seed, "fake-cloud/tenant");
        let id = runtime::uuid_from(&mut rng);
        let client_id = runtime::uuid_from(&mut rng);
        let client_secret = Verifier::new(client_secret, &mut rng);
        Tenant {
            id,
            name: name.to_string(),
            client_id,
            client_secret,
            clock,
            settings: Mutex::new(settings),
            users: Mutex::new(BTreeMap::new()),
            upns: Mutex::new(BTreeMap::new()),
            audit: Mutex::new(Vec::new()),
            ops: Mutex::new(BTreeMap::new()),
            rng: Mutex::new(rng),
            attempts: Mutex::new(BTreeMap::new()),
            mailbox: Mutex::new(BTreeMap::new()),
            store: std::sync::OnceLock::new(),
            rows: Mutex::new(BTreeMap::new()),
        }
    }

    /// Keeps the tenant's state in `store` from now on; restores it first if the store has it.
    /// Returns whether it restored (then the caller must not add the seeded users again).
    pub fn attach_store(&self, store: Arc<dyn Store>) -> Result<bool, String> {
        let users = store.load(USERS).map_err(|e| e.to_string())?;
        let restored = !users.is_empty();
        for (row, data) in users {
            let u: StoredUser =
                serde_json::from_slice(&data).map_err(|e| format!("{USERS} row {row}: {e}"))?;
            let password = Verifier::from_hex(&u.password)
                .ok_or_else(|| format!("{USERS} row {row}: bad verifier"))?;
            let roles: RoleSet = u
                .roles
                .iter()
                .filter_map(|n| decision::Role::ALL.into_iter().find(|r| r.name() == n))
                .collect();
            self.upns
                .lock()
                .expect("tenant lock")
                .insert(u.upn.to_lowercase(), u.id);
            self.rows.lock().expect("tenant lock").insert(u.id, row);
            let user = CloudUser {
                id: u.id,
                upn: u.upn,
                display_name: u.display_name,
                given: u.given,
                surname: u.surname,
                password,
                roles,
                source: u.source,
                enabled: u.enabled,
                must_change: u.must_change,
            };
            self.users.lock().expect("tenant lock").insert(u.id, user);
        }
        for (row, data) in store.load(AUDIT).map_err(|e| e.to_string())? {
            let e: AuditEntry =
                serde_json::from_slice(&data).map_err(|e| format!("{AUDIT} row {row}: {e}"))?;
            self.audit.lock().expect("tenant lock").push(e);
        }
        if let Some(s) = store.meta(SETTINGS).map_err(|e| e.to_string())? {
            let v: [bool; 5] = serde_json::from_str(&s).map_err(|e| format!("{SETTINGS}: {e}"))?;
            let mut cur = self.settings();
            cur.sspr = if v[0] {
                decision::SsprScope::All
            } else {
                decision::SsprScope::None
            };
            cur.writeback_for_synced = v[1];
            cur.writeback_with_cloud_sync = v[2];
            cur.unlock_without_reset = v[3];
            cur.enforce_cloud_policy_for_synced = v[4];
            *self.settings.lock().expect("tenant lock") = cur;
        }
        let _ = self.store.set(store);
        if !restored {
            for u in self.users() {
                self.persist_user(&u);
            }
        }
        Ok(restored)
    }

    /// Queues `u`'s row. The cloud's rows are written in order but not awaited: a change is
    /// answered before it is durable (README "Simplifications").
    fn persist_user(&self, u: &CloudUser) {
        let Some(store) = self.store.get() else {
            return;
        };
        let row = {
            let mut rows = self.rows.lock().expect("tenant lock");
            let next = rows.len() as u64 + 1;
            *rows.entry(u.id).or_insert(next)
        };
        let stored = StoredUser {
            id: u.id,
            upn: u.upn.clone(),
            display_name: u.display_name.clone(),
            given: u.given.clone(),
            surname: u.surname.clone(),
            password: u.password.to_hex(),
            roles: u.roles.iter().map(|r| r.name().to_string()).collect(),
            source: u.source.clone(),
            enabled: u.enabled,
            must_change: u.must_change,
        };
        let data = serde_json::to_vec(&stored).expect("a user serializes");
        drop(store.commit(Batch {
            partition: USERS.into(),
            upserts: vec![(row, data)],
            ..Batch::default()
        }));
    }

    /// Adds a user; returns its object id.
    pub fn add_user(&self, u: NewUser) -> Result<Uuid, TenantError> {
        let key = u.upn.to_lowercase();
        let mut upns = self.upns.lock().expect("tenant lock");
        if upns.contains_key(&key) {
            return Err(TenantError::UpnInUse(u.upn));
        }
        let mut rng = self.rng.lock().expect("tenant lock");
        let id = runtime::uuid_from(&mut rng);
        let password = Verifier::new(&u.password, &mut *rng);
        let user = CloudUser {
            id,
            display_name: format!("{} {}", u.given, u.surname),
            upn: u.upn,
            given: u.given,
            surname: u.surname,
            password,
            roles: u.roles,
            source: u.source,
            enabled: true,
            must_change: false,
        };
        upns.insert(key, id);
        drop(upns);
        drop(rng);
        self.persist_user(&user);
        self.users.lock().expect("tenant lock").insert(id, user);
        Ok(id)
    }

    /// The user with object id or UPN `key` (case-insensitive).
    pub fn user(&self, key: &str) -> Option<CloudUser> {
        let id = match Uuid::parse_str(key) {
            Ok(id) => id,
            Err(_) => *self
                .upns
                .lock()
                .expect("tenant lock")
                .get(&key.to_lowercase())?,
        };
        self.users.lock().expect("tenant lock").get(&id).cloned()
    }

    /// Every user, in id order.
    pub fn users(&self) -> Vec<CloudUser> {
        self.users
            .lock()
            .expect("tenant lock")
            .values()
            .cloned()
            .collect()
    }

    /// Sets a user's cloud password and whether it must be changed at the next sign-in.
    pub fn set_password(&self, id: Uuid, password: &str, must_change: bool) {
        let v = Verifier::new(password, &mut *self.rng.lock().expect("tenant lock"));
        self.update_user(id, |u| {
            u.password = v;
            u.must_change = must_change;
        });
    }

    /// Sets or clears a user's "must change password at next sign-in".
    pub fn set_must_change(&self, id: Uuid, must_change: bool) {
        self.update_user(id, |u| u.must_change = must_change);
    }

    /// Changes user `id` in place and queues its row.
    fn update_user(&self, id: Uuid, change: impl FnOnce(&mut CloudUser)) {
        let updated = {
            let mut users = self.users.lock().expect("tenant lock");
            users.get_mut(&id).map(|u| {
                change(u);
                u.clone()
            })
        };
        if let Some(u) = updated {
            self.persist_user(&u);
        }
    }

    /// Whether `secret` is the lab app's client secret.
    pub fn client_secret_matches(&self, secret: &str) -> bool {
        self.client_secret.matches(secret)
    }

    /// The SSPR and on-premises integration settings.
    pub fn settings(&self) -> Settings {
        *self.settings.lock().expect("tenant lock")
    }

    /// Replaces the settings.
    pub fn set_settings(&self, s: Settings) {
        *self.settings.lock().expect("tenant lock") = s;
        if let Some(store) = self.store.get() {
            let v = [
                s.sspr != decision::SsprScope::None,
                s.writeback_for_synced,
                s.writeback_with_cloud_sync,
                s.unlock_without_reset,
                s.enforce_cloud_policy_for_synced,
            ];
            let meta = vec![(
                SETTINGS.to_string(),
                serde_json::to_string(&v).expect("settings serialize"),
            )];
            drop(store.commit(Batch {
                meta,
                ..Batch::default()
            }));
        }
    }

    /// Appends an audit row built from a decision's [`decision::AuditRow`].
    pub fn audit(&self, row: &decision::AuditRow, initiated_by: &str, target: &str) {
        let id = runtime::uuid_from(&mut self.rng.lock().expect("tenant lock"));
        let correlation_id = runtime::uuid_from(&mut self.rng.lock().expect("tenant lock"));
        let initiator = match self.user(initiated_by) {
            Some(u) => {
                serde_json::json!({ "user": { "id": u.id, "userPrincipalName": u.upn, "displayName": u.display_name } })
            }
            None => {
                serde_json::json!({ "app": { "appId": initiated_by, "displayName": initiated_by } })
            }
        };
        let targets = match self.user(target) {
            Some(u) => vec![
                serde_json::json!({ "id": u.id, "type": "User", "userPrincipalName": u.upn, "displayName": u.display_name }),
            ],
            None => vec![serde_json::json!({ "type": "Other", "displayName": target })],
        };
        let details = row
            .on_premises_agent
            .map(|a| vec![serde_json::json!({ "key": "OnPremisesAgent", "value": a.as_str() })])
            .unwrap_or_default();
        let entry = AuditEntry {
            id,
            activity_date_time: self.clock.now().rfc3339(),
            logged_by_service: decision::AUDIT_SERVICE.to_string(),
            category: row.category.as_str().to_string(),
            correlation_id,
            activity_display_name: row.activity.as_str().to_string(),
            operation_type: "Update".to_string(),
            result: row.result.as_str().to_string(),
            result_reason: row.reason.unwrap_or_default().to_string(),
            initiated_by: initiator,
            target_resources: targets,
            additional_details: details,
        };
        let row = {
            let mut log = self.audit.lock().expect("tenant lock");
            log.push(entry.clone());
            log.len() as u64
        };
        if let Some(store) = self.store.get() {
            let data = serde_json::to_vec(&entry).expect("an audit row serializes");
            drop(store.commit(Batch {
                partition: AUDIT.into(),
                upserts: vec![(row, data)],
                ..Batch::default()
            }));
        }
    }

    /// Every audit row, oldest first.
    pub fn audit_log(&self) -> Vec<AuditEntry> {
        self.audit.lock().expect("tenant lock").clone()
    }

    /// The newest audit row about `upn` written at or after `since` (RFC 3339 lab time), found
    /// from the end without copying the log.
    pub fn last_audit_for(&self, upn: &str, since: &str) -> Option<AuditEntry> {
        let log = self.audit.lock().expect("tenant lock");
        log.iter()
            .rev()
            .take_while(|r| r.activity_date_time.as_str() >= since)
            .find(|r| {
                r.target_resources.iter().any(|t| {
                    t["userPrincipalName"]
                        .as_str()
                        .is_some_and(|u| u.eq_ignore_ascii_case(upn))
                })
            })
            .cloned()
    }

    /// Starts a long-running operation for `user`.
    pub fn new_operation(&self, user: Uuid) -> Operation {
        let id = runtime::uuid_from(&mut self.rng.lock().expect("tenant lock"));
        let at = self.clock.now();
        let now = at.rfc3339();
        let op = Operation {
            id,
            user,
            status: OpStatus::NotStarted,
            created_date_time: now.clone(),
            last_action_date_time: now,
            status_detail: None,
            job: None,
            accepted_at: at,
            finished_at: None,
        };
        self.ops.lock().expect("tenant lock").insert(id, op.clone());
        op
    }

    /// Updates an operation.
    pub fn update_operation(
        &self,
        id: Uuid,
        status: OpStatus,
        detail: Option<String>,
        job: Option<String>,
    ) {
        let at = self.clock.now();
        let now = at.rfc3339();
        if let Some(op) = self.ops.lock().expect("tenant lock").get_mut(&id) {
            if matches!(status, OpStatus::Succeeded | OpStatus::Failed) {
                op.finished_at.get_or_insert(at);
            }
            op.status = status;
            op.last_action_date_time = now;
            if detail.is_some() {
                op.status_detail = detail;
            }
            if job.is_some() {
                op.job = job;
            }
        }
    }

    /// Whether `user` already made [`THROTTLE_LIMIT`] SSPR attempts in the last hour.
    pub fn throttled(&self, user: Uuid) -> bool {
        let now = self.clock.now();
        let from = now.minus(THROTTLE_WINDOW);
        self.attempts
            .lock()
            .expect("tenant lock")
            .get(&user)
            .is_some_and(|v| v.iter().filter(|t| **t > from).count() >= THROTTLE_LIMIT)
    }

    /// Counts one SSPR attempt of `user`.
    pub fn count_attempt(&self, user: Uuid) {
        let now = self.clock.now();
        let from = now.minus(THROTTLE_WINDOW);
        let mut a = self.attempts.lock().expect("tenant lock");
        let v = a.entry(user).or_default();
        v.retain(|t| *t > from);
        v.push(now);
    }

    /// Sends a one-time code to `upn`'s lab mailbox; returns it (the caller keeps it to verify).
    pub fn send_code(&self, upn: &str) -> String {
        use rand::Rng;
        let code = format!(
            "{:06}",
            self.rng.lock().expect("tenant lock").next_u32() % 1_000_000
        );
        let mail = Mail {
            sent: self.clock.now().rfc3339(),
            subject: format!("{} account password reset", self.name),
            code: code.clone(),
        };
        self.mailbox
            .lock()
            .expect("tenant lock")
            .entry(upn.to_lowercase())
            .or_default()
            .push(mail);
        code
    }

    /// The lab mailbox of `upn`, oldest first.
    pub fn mailbox(&self, upn: &str) -> Vec<Mail> {
        self.mailbox
            .lock()
            .expect("tenant lock")
            .get(&upn.to_lowercase())
            .cloned()
            .unwrap_or_default()
    }

    /// An operation of `user`.
    pub fn operation(&self, user: Uuid, id: Uuid) -> Option<Operation> {
        self.ops
            .lock()
            .expect("tenant lock")
            .get(&id)
            .filter(|o| o.user == user)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_by_id_and_upn_and_password_verifiers() {
        let t = Tenant::new(
            "contoso.onmicrosoft.example",
            Seed(1),
            Clock::starting_at(runtime::LabTime(0)),
            Settings::DEPLOYED,
            "Lab-Client-Secret1",
        );
        let id = t
            .add_user(NewUser {
                upn: "alice@contoso.lab".into(),
                given: "Alice".into(),
                surname: "Archer".into(),
                password: "Lab-User-Passw0rd1".into(),
                roles: RoleSet::NONE,
                source: UserSource::CloudOnly,
            })
            .unwrap();
        assert_eq!(t.user("ALICE@contoso.lab").unwrap().id, id);
        assert_eq!(t.user(&id.to_string()).unwrap().upn, "alice@contoso.lab");
        let u = t.user("alice@contoso.lab").unwrap();
        assert!(u.password.matches("Lab-User-Passw0rd1"));
        assert!(!u.password.matches("wrong"));
        assert!(format!("{:?}", u).contains("Verifier(..)"));
        assert!(t.client_secret_matches("Lab-Client-Secret1"));
        let again = Tenant::new(
            "x",
            Seed(1),
            Clock::starting_at(runtime::LabTime(0)),
            Settings::DEPLOYED,
            "s",
        );
        assert_eq!(again.id, t.id, "ids follow the seed");
    }

    /// A store that keeps rows in memory, so a second tenant can restore what the first saved.
    #[derive(Default)]
    struct Kept {
        rows: Mutex<BTreeMap<(String, u64), Vec<u8>>>,
    }

    impl Store for Kept {
        fn commit(&self, batch: Batch) -> runtime::store::Commit {
            let mut rows = self.rows.lock().unwrap();
            for (id, data) in batch.upserts {
                rows.insert((batch.partition.clone(), id), data);
            }
            let (tx, rx) = tokio::sync::oneshot::channel();
            let _ = tx.send(Ok(()));
            rx
        }

        fn load(&self, partition: &str) -> Result<Vec<(u64, Vec<u8>)>, runtime::store::StoreError> {
            let rows = self.rows.lock().unwrap();
            Ok(rows
                .iter()
                .filter(|((p, _), _)| p == partition)
                .map(|((_, id), d)| (*id, d.clone()))
                .collect())
        }

        fn meta(&self, _key: &str) -> Result<Option<String>, runtime::store::StoreError> {
            Ok(None)
        }
    }

    fn tenant() -> Tenant {
        Tenant::new(
            "contoso.onmicrosoft.example",
            Seed(1),
            Clock::starting_at(runtime::LabTime(0)),
            Settings::DEPLOYED,
            "Lab-Client-Secret1",
        )
    }

    fn erin(t: &Tenant) -> Uuid {
        t.add_user(NewUser {
            upn: "erin@contoso.lab".into(),
            given: "Erin".into(),
            surname: "Ellis".into(),
            password: "Lab-User-Passw0rd1".into(),
            roles: RoleSet::NONE,
            source: UserSource::CloudOnly,
        })
        .unwrap()
    }

    #[test]
    fn must_change_is_set_cleared_and_persisted() {
        let store: Arc<Kept> = Arc::default();
        let t = tenant();
        t.attach_store(store.clone()).unwrap();
        let id = erin(&t);
        assert!(
            !t.user("erin@contoso.lab").unwrap().must_change,
            "off for a new user"
        );
        t.set_must_change(id, true);
        assert!(t.user("erin@contoso.lab").unwrap().must_change);
        // A new password with the flag as the operation asks: cleared by the user's own change…
        t.set_password(id, "Changed-Passw0rd2", false);
        let u = t.user("erin@contoso.lab").unwrap();
        assert!(!u.must_change && u.password.matches("Changed-Passw0rd2"));
        // …set by an admin's reset; and a restart restores it.
        t.set_password(id, "Admin-Set-Passw0rd3", true);
        let again = tenant();
        assert!(again.attach_store(store.clone()).unwrap(), "restored");
        let u = again.user("erin@contoso.lab").unwrap();
        assert!(u.must_change && u.password.matches("Admin-Set-Passw0rd3"));
        let row = String::from_utf8(store.load(USERS).unwrap()[0].1.clone()).unwrap();
        assert!(
            !row.contains("Passw0rd"),
            "a verifier, never the password: {row}"
        );
    }

    #[test]
    fn rows_saved_before_the_flag_existed_still_load() {
        let store: Arc<Kept> = Arc::default();
        let t = tenant();
        t.attach_store(store.clone()).unwrap();
        erin(&t);
        // Strip the flag from the saved row, as an older build wrote it.
        let (row, data) = store.load(USERS).unwrap().remove(0);
        let mut v: serde_json::Value = serde_json::from_slice(&data).unwrap();
        v.as_object_mut().unwrap().remove("must_change").unwrap();
        store.commit(Batch {
            partition: USERS.into(),
            upserts: vec![(row, serde_json::to_vec(&v).unwrap())],
            ..Batch::default()
        });
        let again = tenant();
        assert!(again.attach_store(store).unwrap());
        assert!(!again.user("erin@contoso.lab").unwrap().must_change);
    }
}
