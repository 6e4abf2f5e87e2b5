//! The writeback of one job (find the user by objectGUID, then one Modify) and the agent's loop
//! (long-poll, ack before any write, write, post the result).
//!
//! Failover between DCs, in preference order, only on a connect, TLS or bind failure, or a
//! timeout or dropped connection before the Modify was sent. Once the Modify is sent, no answer
//! ends the job as [`Outcome::Unknown`]: never a second write.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::{LdapModify, LdapModifyType, LdapPartialAttribute};
use runtime::net::Network;
use runtime::{Clock, LabTime};
use secrecy::{ExposeSecret, SecretString};
use tracing::{debug, warn};
use wire::seal::Secrets;
use wire::types::{Hop, Job, JobKind, OnPremError, Outcome, hop};
use zeroize::Zeroizing;

use crate::ldap::{self, Answer, Found, LdapConn, LdapError, TlsStream};

/// One DC the agent may write to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DcAddr {
    /// Its LDAPS address.
    pub addr: std::net::SocketAddr,
    /// The name its certificate is checked against, e.g. `dc1.contoso.lab`; also reported as
    /// the result's `dc`.
    pub host: String,
}

/// How the reset carries LDAP_SERVER_POLICY_HINTS (history and minimum age on a reset).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PolicyHints {
    /// Not sent (directories that lack it).
    Off,
    /// Sent non-critical: a directory that lacks it silently skips the checks.
    On,
    /// Sent critical: a directory that lacks it refuses (12) rather than skip the checks.
    #[default]
    Critical,
}

/// The LDAP writer's settings.
#[derive(Clone, Debug)]
pub struct WriterConfig {
    /// DCs in preference order (PDC first).
    pub dcs: Vec<DcAddr>,
    /// The service account as bound: `DOMAIN\name`, a UPN or a DN.
    pub account: String,
    /// Its password.
    pub password: SecretString,
    /// Each LDAP operation's timeout (lab time).
    pub timeout: Duration,
    /// The policy-hints control on resets.
    pub hints: PolicyHints,
}

/// The LDAP side of a job's result.
#[derive(Debug)]
pub struct Written {
    /// How it ended.
    pub outcome: Outcome,
    /// The DC's answer when it refused.
    pub onprem: Option<OnPremError>,
    /// The DC written to (or last tried).
    pub dc: Option<String>,
}

impl Written {
    fn new(outcome: Outcome, onprem: Option<OnPremError>, dc: Option<&DcAddr>) -> Self {
        Written {
            outcome,
            onprem,
            dc: dc.map(|d| d.host.clone()),
        }
    }
}

/// The DC's answer as the result reports it: code, diagnostic (capped), Win32 code and data.
pub fn onprem_error(a: &Answer) -> OnPremError {
    let mut diagnostic = a.diagnostic.clone();
    if diagnostic.len() > wire::types::MAX_DIAGNOSTIC_BYTES {
        let mut end = wire::types::MAX_DIAGNOSTIC_BYTES;
        while !diagnostic.is_char_boundary(end) {
            end -= 1;
        }
        diagnostic.truncate(end);
    }
    let parsed = ad_types::diag::parse(&a.diagnostic);
    OnPremError {
        ldap_code: a.code,
        diagnostic,
        win32: parsed.map(|p| p.0),
        data: parsed.map(|p| p.1).filter(|d| *d != 0),
    }
}

/// Maps the DC's answer to a password Modify to the job's outcome (facts §2.4).
pub fn map_modify(a: &Answer) -> Outcome {
    let win32 = ad_types::diag::parse(&a.diagnostic).map(|p| p.0);
    match (a.code, win32) {
        (0, _) => Outcome::Succeeded,
        (50, _) => Outcome::AccessDenied,
        (53 | 19, Some(0x52D)) => Outcome::PolicyViolation,
        (19, Some(0x56)) => Outcome::BadOldPassword,
        // A change without the Change Password right (fake-ad: 00000005 in an AtrErr).
        (19, Some(0x5)) => Outcome::AccessDenied,
        // "User cannot change password" (NERR_PasswordCantChange; facts §2.4 UNCONFIRMED).
        (19, Some(0x8C3)) => Outcome::PolicyViolation,
        (53, Some(0x2077)) => Outcome::ConfigurationError,
        (32, _) => Outcome::UserNotFound,
        (49, _) => Outcome::ConfigurationError,
        _ => Outcome::DirectoryError,
    }
}

fn attr(name: &str, op: LdapModifyType, vals: Vec<Vec<u8>>) -> LdapModify {
    LdapModify {
        operation: op,
        modification: LdapPartialAttribute {
            atype: name.into(),
            vals,
        },
    }
}

/// The one Modify of a job: its changes and controls.
pub fn modify_for(
    job: &Job,
    secrets: Option<&Secrets>,
    hints: PolicyHints,
) -> Result<(Vec<LdapModify>, Vec<LdapControl>), &'static str> {
    let mut changes = Vec::new();
    let mut controls = Vec::new();
    let pwd = |s: &SecretString| ad_types::password::encode_unicode_pwd(s.expose_secret());
    match job.kind {
        JobKind::Reset | JobKind::AdminReset => {
            let s = secrets.ok_or("a reset carries a password")?;
            changes.push(attr(
                "unicodePwd",
                LdapModifyType::Replace,
                vec![pwd(&s.new_password)],
            ));
            if job.unlock {
                changes.push(attr(
                    "lockoutTime",
                    LdapModifyType::Replace,
                    vec![b"0".to_vec()],
                ));
            }
            if job.must_change {
                changes.push(attr(
                    "pwdLastSet",
                    LdapModifyType::Replace,
                    vec![b"0".to_vec()],
                ));
            }
            match hints {
                PolicyHints::Off => {}
                PolicyHints::On => controls.push(ldap::policy_hints(false)),
                PolicyHints::Critical => controls.push(ldap::policy_hints(true)),
            }
        }
        JobKind::Change => {
            let s = secrets.ok_or("a change carries passwords")?;
            let old = s
                .old_password
                .as_ref()
                .ok_or("a change needs the old password")?;
            changes.push(attr("unicodePwd", LdapModifyType::Delete, vec![pwd(old)]));
            changes.push(attr(
                "unicodePwd",
                LdapModifyType::Add,
                vec![pwd(&s.new_password)],
            ));
        }
        JobKind::Unlock => changes.push(attr(
            "lockoutTime",
            LdapModifyType::Replace,
            vec![b"0".to_vec()],
        )),
    }
    controls.push(ldap::job_id(job.id.as_str()));
    Ok((changes, controls))
}

/// Zeroes the password values of a Modify once it is no longer needed (best effort: the
/// codec's encode buffer is beyond reach).
fn scrub(changes: &mut Vec<LdapModify>) {
    for c in changes.drain(..) {
        for v in c.modification.vals {
            drop(Zeroizing::new(v));
        }
    }
}

/// Microseconds of lab time between two readings.
pub fn micros(from: LabTime, to: LabTime) -> u64 {
    to.0.saturating_sub(from.0) / 1_000
}

type Pooled<N> = LdapConn<TlsStream<N>>;

/// The LDAP writer: bound connections pooled per DC, one bind per connection.
pub struct Writer<N: Network> {
    net: N,
    tls: Arc<rustls::ClientConfig>,
    clock: Clock,
    config: WriterConfig,
    pools: Vec<Mutex<Vec<Pooled<N>>>>,
}

/// Pooled connections kept per DC.
const POOL_MAX: usize = 8;

enum Got<N: Network> {
    Conn(Box<Pooled<N>>, bool),
    BindRefused(Answer),
    Down(LdapError),
}

impl<N: Network> Writer<N> {
    /// A writer over `net`, trusting `tls`'s roots.
    pub fn new(net: N, tls: Arc<rustls::ClientConfig>, clock: Clock, config: WriterConfig) -> Self {
        let pools = config.dcs.iter().map(|_| Mutex::new(Vec::new())).collect();
        Writer {
            net,
            tls,
            clock,
            config,
            pools,
        }
    }

    /// A bound connection to DC `i`: from its pool, else connect + TLS + bind. The flag says
    /// whether it came from the pool.
    async fn get(&self, i: usize) -> Got<N> {
        if let Some(c) = self.pools[i].lock().expect("pool lock").pop() {
            return Got::Conn(Box::new(c), true);
        }
        let dc = &self.config.dcs[i];
        let mut c = match ldap::connect(
            &self.net,
            dc.addr,
            &dc.host,
            self.tls.clone(),
            &self.clock,
            self.config.timeout,
        )
        .await
        {
            Ok(c) => c,
            Err(e) => return Got::Down(e),
        };
        match c.bind(&self.config.account, &self.config.password).await {
            Ok(a) if a.ok() => Got::Conn(Box::new(c), false),
            Ok(a) => Got::BindRefused(a),
            Err(e) => Got::Down(e),
        }
    }

    fn put(&self, i: usize, c: Pooled<N>) {
        let mut p = self.pools[i].lock().expect("pool lock");
        if p.len() < POOL_MAX {
            p.push(c);
        }
    }

    /// Closes every pooled connection.
    pub async fn close(&self) {
        for p in &self.pools {
            let conns: Vec<_> = std::mem::take(&mut *p.lock().expect("pool lock"));
            for c in conns {
                c.unbind().await;
            }
        }
    }

    /// Writes `job` (secrets already opened). `start_deadline` is the lab time after which no
    /// write may start. Timings go to `hops`.
    pub async fn write(
        &self,
        job: &Job,
        secrets: Option<Secrets>,
        start_deadline: LabTime,
        hops: &mut Vec<Hop>,
    ) -> Written {
        let (mut changes, controls) = match modify_for(job, secrets.as_ref(), self.config.hints) {
            Ok(m) => m,
            Err(why) => {
                warn!(job = %job.id, why, "job refused before any write");
                return Written::new(Outcome::Internal, None, None);
            }
        };
        // The secrets live on only inside the Modify's values.
        drop(secrets);
        let w = self
            .write_modify(job, &mut changes, controls, start_deadline, hops)
            .await;
        scrub(&mut changes);
        w
    }

    async fn write_modify(
        &self,
        job: &Job,
        changes: &mut Vec<LdapModify>,
        controls: Vec<LdapControl>,
        start_deadline: LabTime,
        hops: &mut Vec<Hop>,
    ) -> Written {
        if self.config.dcs.is_empty() {
            return Written::new(Outcome::ConfigurationError, None, None);
        }
        let mut bind_refusal: Option<(Answer, usize)> = None;
        let mut last_dc = None;
        let t_connect = self.clock.now();
        let mut connect_time = 0;
        let mut i = 0;
        let mut retried_pooled = false;
        while i < self.config.dcs.len() {
            let dc = &self.config.dcs[i];
            last_dc = Some(dc);
            let t0 = self.clock.now();
            let (mut conn, pooled) = match self.get(i).await {
                Got::Conn(c, pooled) => (c, pooled),
                Got::BindRefused(a) => {
                    warn!(job = %job.id, dc = %dc.host, code = a.code, "the service account's bind was refused; trying the next DC");
                    bind_refusal = Some((a, i));
                    i += 1;
                    continue;
                }
                Got::Down(e) => {
                    warn!(job = %job.id, dc = %dc.host, error = %e, "DC unreachable; trying the next DC");
                    i += 1;
                    continue;
                }
            };
            connect_time += micros(t0, self.clock.now());
            let t_search = self.clock.now();
            let found = conn.find_by_guid(job.target.anchor, &["1.1"]).await;
            let search_micros = micros(t_search, self.clock.now());
            let dn = match found {
                Err(e) => {
                    // Nothing written yet: a stale pooled connection is replaced once, else the
                    // next DC is tried.
                    if pooled && !retried_pooled {
                        debug!(dc = %dc.host, error = %e, "pooled connection failed; reconnecting");
                        retried_pooled = true;
                        self.pools[i].lock().expect("pool lock").clear();
                        continue;
                    }
                    warn!(job = %job.id, dc = %dc.host, error = %e, "search failed; trying the next DC");
                    i += 1;
                    continue;
                }
                Ok(found) => {
                    hops.push(hop_of(hop::CONNECT, connect_time));
                    hops.push(hop_of(hop::SEARCH, search_micros));
                    match found {
                        Found::One(dn) => dn,
                        Found::None(a) => {
                            self.put(i, *conn);
                            let onprem = (a.code != 0).then(|| onprem_error(&a));
                            return Written::new(Outcome::UserNotFound, onprem, Some(dc));
                        }
                        Found::Many(_) => {
                            self.put(i, *conn);
                            return Written::new(Outcome::DuplicateAnchor, None, Some(dc));
                        }
                        Found::Error(a) => {
                            self.put(i, *conn);
                            return Written::new(
                                Outcome::DirectoryError,
                                Some(onprem_error(&a)),
                                Some(dc),
                            );
                        }
                    }
                }
            };
            if self.clock.now() > start_deadline {
                self.put(i, *conn);
                warn!(job = %job.id, "the job's deadline passed before the write; nothing written");
                return Written::new(Outcome::DcUnreachable, None, Some(dc));
            }
            let t_modify = self.clock.now();
            let answer = conn
                .modify(&dn, std::mem::take(changes), controls.clone())
                .await;
            hops.push(hop_of(hop::MODIFY, micros(t_modify, self.clock.now())));
            return match answer {
                Ok(a) => {
                    self.put(i, *conn);
                    let outcome = map_modify(&a);
                    let onprem = (!a.ok()).then(|| onprem_error(&a));
                    Written::new(outcome, onprem, Some(dc))
                }
                Err(e) => {
                    // Sent, no answer: in doubt, and never written again.
                    warn!(job = %job.id, dc = %dc.host, error = %e, "no answer to the Modify: outcome unknown");
                    Written::new(Outcome::Unknown, None, Some(dc))
                }
            };
        }
        let _ = t_connect;
        hops.push(hop_of(hop::CONNECT, connect_time));
        match bind_refusal {
            Some((a, i)) => Written::new(
                Outcome::ConfigurationError,
                Some(onprem_error(&a)),
                Some(&self.config.dcs[i]),
            ),
            None => Written::new(Outcome::DcUnreachable, None, last_dc),
        }
    }
}

fn hop_of(name: &str, micros: u64) -> Hop {
    Hop {
        name: name.into(),
        micros,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(code: u32, diag: &str) -> Answer {
        Answer {
            code,
            diagnostic: diag.into(),
            matched: String::new(),
        }
    }

    #[test]
    fn the_mapping_table() {
        let rows: &[(u32, &str, Outcome)] = &[
            (0, "", Outcome::Succeeded),
            (
                50,
                "00002098: SecErr: DSID-03150F94, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0",
                Outcome::AccessDenied,
            ),
            (
                53,
                "0000052D: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0",
                Outcome::PolicyViolation,
            ),
            (
                19,
                "0000052D: AtrErr: DSID-03191083, #1:\n\t0: 0000052D: DSID-03191083, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)\n",
                Outcome::PolicyViolation,
            ),
            (
                19,
                "00000056: AtrErr: DSID-03190F80, #1:\n\t0: 00000056: DSID-03190F80, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)\n",
                Outcome::BadOldPassword,
            ),
            (
                53,
                "00002077: SvcErr: DSID-03190F4C, problem 5003 (WILL_NOT_PERFORM), data 0",
                Outcome::ConfigurationError,
            ),
            (
                19,
                "00000005: AtrErr: DSID-03191083, #1:\n\t0: 00000005: DSID-03191083, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)\n",
                Outcome::AccessDenied,
            ),
            (
                19,
                "000008C3: AtrErr: DSID-03191083, problem 1005 (CONSTRAINT_ATT_TYPE), data 0",
                Outcome::PolicyViolation,
            ),
            (
                53,
                "0000001F: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0",
                Outcome::DirectoryError,
            ),
            (
                80,
                "00000057: LdapErr: DSID-0C090C3E, comment: Error in attribute conversion operation, data 0, v4563",
                Outcome::DirectoryError,
            ),
            (
                32,
                "0000208D: NameErr: DSID-03100241, problem 2001 (NO_OBJECT), data 0, best match of:\n\t'DC=contoso,DC=lab'\n",
                Outcome::UserNotFound,
            ),
            (
                49,
                "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 52e, v4563",
                Outcome::ConfigurationError,
            ),
            (
                53,
                "00002035: SvcErr: something else",
                Outcome::DirectoryError,
            ),
            (1, "", Outcome::DirectoryError),
        ];
        for (code, diag, want) in rows {
            assert_eq!(map_modify(&a(*code, diag)), *want, "{code} {diag}");
        }
        let e = onprem_error(&a(
            49,
            "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 775, v4563",
        ));
        assert_eq!((e.win32, e.data), (Some(0x8009_0308), Some(0x775)));
        let e = onprem_error(&a(53, &"x".repeat(5000)));
        assert_eq!(e.diagnostic.len(), wire::types::MAX_DIAGNOSTIC_BYTES);
        assert_eq!(e.win32, None);
    }

    fn job(kind: JobKind, unlock: bool, must_change: bool) -> Job {
        Job {
            id: wire::types::JobId::new("job-1").unwrap(),
            kind,
            target: wire::types::Target {
                domain: "contoso.lab".into(),
                anchor: uuid::Uuid::from_u128(1),
                sam_account_name: None,
                dn: None,
            },
            sealed: None,
            unlock,
            must_change,
            deadline_ms: 0,
            attempt: 1,
        }
    }

    fn shape(changes: &[LdapModify]) -> Vec<(String, i64)> {
        changes
            .iter()
            .map(|c| (c.modification.atype.clone(), c.operation.clone() as i64))
            .collect()
    }

    fn oids(controls: &[LdapControl]) -> Vec<(String, bool)> {
        controls
            .iter()
            .map(|c| match c {
                LdapControl::Unknown {
                    oid, criticality, ..
                } => (oid.clone(), *criticality),
                _ => panic!("unexpected control"),
            })
            .collect()
    }

    #[test]
    fn one_modify_per_kind() {
        let reset = Secrets::reset(SecretString::from("New-Passw0rd1"));
        let (c, k) = modify_for(
            &job(JobKind::AdminReset, true, true),
            Some(&reset),
            PolicyHints::Critical,
        )
        .unwrap();
        assert_eq!(
            shape(&c),
            vec![
                ("unicodePwd".into(), 2),
                ("lockoutTime".into(), 2),
                ("pwdLastSet".into(), 2)
            ]
        );
        assert_eq!(
            c[0].modification.vals[0],
            ad_types::password::encode_unicode_pwd("New-Passw0rd1")
        );
        assert_eq!(
            oids(&k),
            vec![
                (ldap::POLICY_HINTS_OID.into(), true),
                (ldap::JOB_ID_OID.into(), false)
            ]
        );
        let (c, _) = modify_for(
            &job(JobKind::Reset, false, false),
            Some(&reset),
            PolicyHints::On,
        )
        .unwrap();
        assert_eq!(shape(&c), vec![("unicodePwd".into(), 2)]);
        let (c, k) = modify_for(&job(JobKind::Unlock, true, false), None, PolicyHints::On).unwrap();
        assert_eq!(shape(&c), vec![("lockoutTime".into(), 2)]);
        assert_eq!(oids(&k), vec![(ldap::JOB_ID_OID.into(), false)]);
        let change = Secrets::change(SecretString::from("Old-1"), SecretString::from("New-1"));
        let (c, k) = modify_for(
            &job(JobKind::Change, false, false),
            Some(&change),
            PolicyHints::On,
        )
        .unwrap();
        assert_eq!(
            shape(&c),
            vec![("unicodePwd".into(), 1), ("unicodePwd".into(), 0)]
        );
        assert_eq!(oids(&k), vec![(ldap::JOB_ID_OID.into(), false)]);
        assert!(modify_for(&job(JobKind::Reset, false, false), None, PolicyHints::On).is_err());
        assert!(
            modify_for(
                &job(JobKind::Change, false, false),
                Some(&reset),
                PolicyHints::On
            )
            .is_err()
        );
    }
}
