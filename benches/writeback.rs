//! Writeback benchmarks of fake-ad on the in-memory store (DESIGN §5): the in-process password
//! reset as the sync account, the access check on a ~30-ACE descriptor, replication applied on a
//! partner DC, the descriptor propagator's batches, and search latency while the propagator runs.
//!
//! `cargo bench --bench writeback` builds one two-DC domain like the default lab's contoso.lab
//! (its policy, the sync account with the writeback ACEs on the head) with 100 000 users in
//! `OU=Bench` and 10 000 in `OU=Prop`, runs criterion, then measures search latency with and
//! without the propagator running over `OU=Bench` and prints it (not a criterion measurement).
//! Without `--bench` (`cargo test --benches`, `--list`) the sizes are small so the once-through
//! test run stays quick. `SSPR_BENCH_USERS=N` overrides the size of `OU=Bench`;
//! `SSPR_BENCH_LATENCY=0` skips the latency measurement. See benches/README.md.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use ad_types::access::{self, Decision, Request, Token};
use ad_types::password::encode_unicode_pwd;
use ad_types::sd::{INHERITED, SecurityDescriptor};
use ad_types::{Sid, rights, sddl};
use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput};
use fake_ad::bootstrap::{self, Policy};
use fake_ad::ctx::{Controls, OpCtx, Principal};
use fake_ad::ops::{self, Change, ChangeOp, uac};
use fake_ad::propagation::{Delay, Propagation};
use fake_ad::schema::known;
use fake_ad::search::{self, Selection};
use fake_ad::value::{EntryId, Value};
use fake_ad::{Dc, Domain, MemStore, Store};
use ldap3_proto::proto::{LdapFilter, LdapSearchScope};
use runtime::{Clock, LabTime, Seed};
use tokio::runtime::Runtime;

/// Wall-clock time. clippy.toml bans `Instant::now` outside `runtime` (the lab reads its own
/// clock); a benchmark measures real time by definition, so this is the one place it is read.
#[allow(clippy::disallowed_methods)]
fn wall() -> std::time::Instant {
    std::time::Instant::now()
}

// ---------------------------------------------------------------------------------------------
// The domain under test.

const DOMAIN: &str = "contoso.lab";
const BASE: &str = "DC=contoso,DC=lab";
const ADMIN_PW: &str = "Admin-Passw0rd1";
const SVC_PW: &str = "Svc-Passw0rd1-gMSA";
const USER_PW: &str = "User-Passw0rd1";
const BATCH: usize = 1000;

struct Fixture {
    rt: Runtime,
    clock: Clock,
    domain: Arc<Domain>,
    dc1: Arc<Dc>,
    dc2: Arc<Dc>,
    /// Bound as the Administrator (modifies that set up the benchmarks, searches).
    admin: OpCtx,
    /// The sync account (provAgentgMSA$) over TLS with the policy-hints control, as the agent.
    sync: OpCtx,
    users: usize,
    prop_users: usize,
}

impl Fixture {
    /// A lab time far beyond anything queued (a year from now).
    fn far(&self) -> LabTime {
        self.clock.now().plus(Duration::from_secs(365 * 24 * 3600))
    }

    /// Applies every queued replication delivery (DC1 → DC2); returns how many.
    fn drain_replication(&self) -> usize {
        self.rt.block_on(self.domain.pump(self.far()))
    }
}

/// The default lab's contoso.lab policy (`sim::default_lab`): the defaults with minimum age 0
/// and lockout 5 / 30 min / until unlocked.
fn lab_policy() -> Policy {
    sim::default_lab().forests[0].domains[0].policy.clone()
}

/// Adds `n` users named `CN={cn} {i}` / `{sam}{i}` under `parent`, one write per `BATCH`.
async fn add_users(dc: &Dc, parent: EntryId, cn: &str, sam: &str, n: usize, progress: bool) {
    let start = wall();
    let mut done = 0;
    while done < n {
        let end = (done + BATCH).min(n);
        dc.write(|txn| {
            for i in done..end {
                let display = format!("{cn} {i}");
                let sam = format!("{sam}{i}");
                let text = |s: &str| Value::Text(s.into());
                let id = bootstrap::make(
                    txn,
                    parent,
                    &format!("CN={display}"),
                    "user",
                    vec![
                        ("sAMAccountName", text(&sam)),
                        ("userPrincipalName", text(&format!("{sam}@{DOMAIN}"))),
                        ("givenName", text(cn)),
                        ("sn", text(&i.to_string())),
                        ("displayName", text(&display)),
                        ("userAccountControl", Value::Int(uac::NORMAL)),
                    ],
                    None,
                )?;
                bootstrap::set_password(txn, id, USER_PW)?;
            }
            Ok(())
        })
        .await
        .expect("adding a batch of users");
        // DC2 gets its copy from `copy_to_replicas` (which then empties the queue); left queued,
        // every later write would serialize all the creates again with the replication state.
        dc.domain.repl.lock().expect("repl lock").queue.clear();
        done = end;
        if progress && done % 50_000 == 0 {
            eprintln!(
                "  {done:>7}/{n} {cn} users ({:.1} s)",
                start.elapsed().as_secs_f64()
            );
        }
    }
}

/// Builds the domain as `sim::populate` builds contoso.lab: fresh_domain with the lab's policy,
/// the cloud-sync gMSA, the writeback ACEs granted on the head, then the users; then DC2's copy.
fn build(users: usize, prop_users: usize) -> Fixture {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let clock = rt.block_on(async { Clock::starting_at(LabTime::from_unix_secs(1_795_000_000)) });
    let progress = users >= 10_000;
    let start = wall();

    let domain = Domain::new(DOMAIN, "CONTOSO", DOMAIN, Seed(1));
    let store = || Arc::new(MemStore) as Arc<dyn Store>;
    let site = "Default-First-Site-Name";
    let dc1 = domain.add_dc("DC1", site, true, store(), clock.clone());
    let dc2 = domain.add_dc("DC2", site, false, store(), clock.clone());

    let (bench_ou, prop_ou) = rt
        .block_on(dc1.write(|txn| {
            let k = known();
            let wk = bootstrap::fresh_domain(
                txn,
                &lab_policy(),
                ADMIN_PW,
                &["DC1".into(), "DC2".into()],
            )?;
            let text = |s: &str| Value::Text(s.into());
            let svc = bootstrap::make(
                txn,
                wk.msa,
                "CN=provAgentgMSA",
                "msDS-GroupManagedServiceAccount",
                vec![
                    ("sAMAccountName", text("provAgentgMSA$")),
                    ("dNSHostName", text(&format!("provAgentgMSA.{DOMAIN}"))),
                    ("userAccountControl", Value::Int(uac::WORKSTATION)),
                ],
                None,
            )?;
            bootstrap::set_password(txn, svc, SVC_PW)?;
            let svc_sid = match txn.dit.get(svc).and_then(|e| e.first(k.object_sid)) {
                Some(Value::Bytes(b)) => Sid::from_bytes(b).expect("the gMSA's SID"),
                _ => panic!("the gMSA has no SID"),
            };
            fake_ad::security::grant(txn, wk.head, &fake_ad::security::writeback_aces(&svc_sid))?;
            let ou = |txn: &mut fake_ad::domain::Txn, name: &str| {
                bootstrap::make(txn, wk.head, name, "organizationalUnit", vec![], None)
            };
            Ok((ou(txn, "OU=Bench")?, ou(txn, "OU=Prop")?))
        }))
        .expect("fresh domain");
    if progress {
        eprintln!(
            "building {users} users in OU=Bench and {prop_users} in OU=Prop,{BASE} (MemStore)"
        );
    }
    rt.block_on(add_users(&dc1, bench_ou, "User", "user", users, progress));
    rt.block_on(add_users(
        &dc1,
        prop_ou,
        "Prop User",
        "prop",
        prop_users,
        progress,
    ));
    rt.block_on(bootstrap::copy_to_replicas(&dc1))
        .expect("copy to DC2");
    println!(
        "build: {} users, 2 DCs, in {:.1} s",
        users + prop_users,
        start.elapsed().as_secs_f64()
    );

    let admin = OpCtx {
        bound: Some(
            rt.block_on(ops::bind(&dc1, "CONTOSO\\Administrator", ADMIN_PW))
                .expect("admin bind"),
        ),
        tls: true,
        ..OpCtx::default()
    };
    // The sync account as the agent binds: its real token (itself, Domain Computers, Everyone,
    // Authenticated Users), TLS, and LDAP_SERVER_POLICY_HINTS on every reset.
    let dit = dc1.snapshot();
    let svc = dit.by_sam("provAgentgMSA$").expect("the gMSA");
    let sync = OpCtx {
        bound: Some(Principal {
            id: svc,
            dn: dit.dn(svc),
            account: "CONTOSO\\provAgentgMSA$".into(),
            sids: fake_ad::security::token_sids(&dit, &domain.info, svc),
        }),
        tls: true,
        controls: Controls {
            policy_hints: true,
            ..Controls::default()
        },
    };
    Fixture {
        rt,
        clock,
        domain,
        dc1,
        dc2,
        admin,
        sync,
        users,
        prop_users,
    }
}

fn replace(attr: &str, value: Vec<u8>) -> Vec<Change> {
    vec![Change {
        op: ChangeOp::Replace,
        attr: attr.into(),
        values: vec![value],
    }]
}

/// The `n`th reset password: complex (upper, lower, digit, special), never repeated (the
/// history remembers 24), and free of the user's sAMAccountName and displayName tokens (the
/// counter is spelled with the letters g–p, so no digits of "User 50100" can appear).
fn reset_password(n: u64) -> String {
    let tail: String = n
        .to_string()
        .bytes()
        .map(|d| char::from(b'g' + (d - b'0')))
        .collect();
    format!("Wb-{tail}#7Q")
}

// ---------------------------------------------------------------------------------------------
// [B] The password reset and the access check.

fn bench_reset(c: &mut Criterion, f: &Fixture) {
    let i = f.users / 2 + 100;
    let dn = format!("CN=User {i},OU=Bench,{BASE}");
    let mut n = 0u64;
    let reset = |n: u64| {
        f.rt.block_on(ops::modify(
            &f.dc1,
            &f.sync,
            &dn,
            replace("unicodePwd", encode_unicode_pwd(&reset_password(n))),
        ))
    };
    // Check the path once: the reset binds, pwdLastSet is now (the sync account holds Unexpire
    // Password), and a repeat is refused by the history the policy-hints control turns on.
    n += 1;
    reset(n).expect("the sync account resets");
    f.rt.block_on(ops::bind(
        &f.dc1,
        &format!("CONTOSO\\user{i}"),
        &reset_password(n),
    ))
    .expect("the reset password binds");
    let dit = f.dc1.snapshot();
    let e = dit
        .get(dit.by_sam(&format!("user{i}")).expect("user"))
        .expect("entry");
    assert_ne!(e.int(known().pwd_last_set), Some(0), "pwdLastSet is now");
    assert!(reset(n).is_err(), "history refuses a repeat with hints");
    f.drain_replication();

    let mut g = c.benchmark_group("reset");
    // Replication is drained before each reset (untimed), as the lab's replication task keeps
    // up with urgent pwdLastSet deliveries; else the queue, serialized on every write, grows.
    g.bench_function("full_path", |b| {
        b.iter_batched(
            || {
                f.drain_replication();
                n += 1;
                replace("unicodePwd", encode_unicode_pwd(&reset_password(n)))
            },
            |changes| {
                f.rt.block_on(ops::modify(&f.dc1, &f.sync, &dn, changes))
                    .expect("reset")
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
    f.drain_replication();
}

/// Object ACEs of Windows' defaultSecurityDescriptor for `user` that the lab's class default
/// leaves out (property sets and extended rights for SELF, RAS servers, Authenticated Users,
/// Cert Publishers, Windows Authorization Access and Terminal Server License Servers).
const WINDOWS_USER_OBJECT_ACES: [&str; 17] = [
    "(OA;;CR;ab721a54-1e2f-11d0-9819-00aa0040529b;;PS)",
    "(OA;;CR;ab721a56-1e2f-11d0-9819-00aa0040529b;;PS)",
    "(OA;;RPWP;77b5b886-944a-11d1-aebd-0000f80367c1;;PS)",
    "(OA;;RPWP;e45795b2-9455-11d1-aebd-0000f80367c1;;PS)",
    "(OA;;RPWP;e45795b3-9455-11d1-aebd-0000f80367c1;;PS)",
    "(OA;;RP;037088f8-0ae1-11d2-b422-00a0c968f939;;RS)",
    "(OA;;RP;4c164200-20c0-11d0-a768-00aa006e0529;;RS)",
    "(OA;;RP;bc0ac240-79a9-11d0-9020-00c04fc2d4cf;;RS)",
    "(OA;;RP;5f202010-79a5-11d0-9020-00c04fc2d4cf;;RS)",
    "(OA;;RP;59ba2f42-79a2-11d0-9020-00c04fc2d3cf;;AU)",
    "(OA;;RP;77b5b886-944a-11d1-aebd-0000f80367c1;;AU)",
    "(OA;;RP;e45795b3-9455-11d1-aebd-0000f80367c1;;AU)",
    "(OA;;RP;e48d0154-bcf8-11d1-8702-00c04fb96050;;AU)",
    "(OA;;RPWP;bf967a7f-0de6-11d0-a285-00aa003049e2;;CA)",
    "(OA;;RP;46a9b11d-60ae-405a-b7e8-ff8a58d456d2;;S-1-5-32-560)",
    "(OA;;RPWP;6db69a1c-9422-11d1-aebd-0000f80367c1;;S-1-5-32-561)",
    "(OA;;RPWP;5805bc62-bdc9-4428-a5e2-856a0f4c185e;;S-1-5-32-561)",
];

/// A lab user's descriptor (class default plus what it inherits) with Windows' other object
/// ACEs added after its explicit ones, up to `total` ACEs.
fn thirty_ace_descriptor(
    lab_user: &SecurityDescriptor,
    domain: &Sid,
    total: usize,
) -> SecurityDescriptor {
    let mut sd = lab_user.clone();
    let aces = &mut sd.dacl.as_mut().expect("a DACL").aces;
    let want = total.saturating_sub(aces.len());
    let extra = sddl::parse(
        &format!("D:{}", WINDOWS_USER_OBJECT_ACES[..want].concat()),
        domain,
    )
    .expect("Windows' ACEs parse");
    let at = aces
        .iter()
        .position(|a| a.has(INHERITED))
        .unwrap_or(aces.len());
    let extra = extra.dacl.expect("a DACL").aces;
    aces.splice(at..at, extra);
    sd
}

fn bench_access(c: &mut Criterion, f: &Fixture) {
    let dit = f.dc1.snapshot();
    let info = &f.domain.info;
    let target = dit.by_sam(&format!("user{}", f.users / 2)).expect("user");
    let lab_sd = dit
        .get(target)
        .and_then(|e| e.sd.clone())
        .expect("a descriptor");
    let sd = thirty_ace_descriptor(&lab_sd, &info.sid, 30);
    let n = sd.dacl.as_ref().map_or(0, |d| d.aces.len());
    let sync = Token::new(f.sync.bound.as_ref().expect("bound").sids.clone());
    // Another user asking for Reset Password on it: no ACE grants it, all 30 are looked at.
    let other = dit
        .by_sam(&format!("user{}", f.users / 2 + 1))
        .expect("user");
    let user = Token::new(fake_ad::security::token_sids(&dit, info, other));
    let reset = Request::Control(rights::RESET_PASSWORD);
    let granted = access::check(&sd, &sync, &reset);
    let denied = access::check(&sd, &user, &reset);
    eprintln!(
        "access/check_30_aces: lab user descriptor has {} ACEs, benchmarked one {n}; \
         sync account ({} SIDs): {granted:?}; user ({} SIDs): {denied:?}",
        lab_sd.dacl.as_ref().map_or(0, |d| d.aces.len()),
        sync.sids.len(),
        user.sids.len(),
    );
    assert!(matches!(granted, Decision::Granted { ace: Some(i) } if i + 6 >= n));
    assert!(!denied.is_granted());

    let mut g = c.benchmark_group("access");
    g.bench_function(BenchmarkId::new("check_30_aces", "granted"), |b| {
        b.iter(|| access::check(black_box(&sd), black_box(&sync), black_box(&reset)))
    });
    g.bench_function(BenchmarkId::new("check_30_aces", "denied"), |b| {
        b.iter(|| access::check(black_box(&sd), black_box(&user), black_box(&reset)))
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// [C] Replication, the propagator, and search latency while it runs.

fn bench_replication(c: &mut Criterion, f: &Fixture, sizes: &[usize], benchmarking: bool) {
    f.drain_replication();
    let first = f.users / 4;
    let dn = |k: usize| format!("CN=User {},OU=Bench,{BASE}", first + k);
    let desc = fake_ad::schema::schema().id("description");
    let mut round = 0u64;
    // `n` LDAP modifies on DC1, each its own write and so its own delivery to DC2.
    let originate_writes = |n: usize, round: u64| {
        for k in 0..n {
            f.rt.block_on(ops::modify(
                &f.dc1,
                &f.admin,
                &dn(k),
                replace("description", format!("round {round}").into_bytes()),
            ))
            .expect("modify on DC1");
        }
    };
    // The same `n` objects changed in one write on DC1 (one delivery of `n` updates).
    let originate_one = |n: usize, round: u64| {
        f.rt.block_on(f.dc1.write(|txn| {
            for k in 0..n {
                let id = ops::resolve(&txn.dit, &dn(k))?;
                let mut e = (**txn.dit.get(id).expect("resolved")).clone();
                e.set_one(desc, Value::Text(format!("round {round}").into()));
                txn.put(e)
                    .map_err(|c| fake_ad::DirError::Other(c.to_string()))?;
            }
            Ok(())
        }))
        .expect("write on DC1")
    };

    // Check once that the deliveries carry the change to DC2.
    let n = sizes[0];
    round += 1;
    originate_writes(n, round);
    assert_eq!(f.drain_replication(), n, "one delivery per modify");
    let dit2 = f.dc2.snapshot();
    let on_dc2 = dit2
        .get(
            dit2.by_sam(&format!("user{}", first + n - 1))
                .expect("user"),
        )
        .and_then(|e| e.text(desc).map(str::to_string));
    assert_eq!(on_dc2.as_deref(), Some(format!("round {round}").as_str()));

    let mut g = c.benchmark_group("replication");
    if benchmarking {
        g.sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(10));
    }
    for &n in sizes {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("apply", n), |b| {
            b.iter_batched(
                || {
                    round += 1;
                    originate_writes(n, round);
                },
                |()| {
                    let applied = f.rt.block_on(f.domain.pump(f.far()));
                    assert_eq!(applied, n);
                },
                BatchSize::PerIteration,
            )
        });
    }
    let n = sizes[sizes.len() - 1];
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(BenchmarkId::new("apply_one_write", n), |b| {
        b.iter_batched(
            || {
                round += 1;
                originate_one(n, round);
            },
            |()| {
                let applied = f.rt.block_on(f.domain.pump(f.far()));
                assert_eq!(applied, 1);
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// The propagator's settings the brief asks for: no delay, 1000 objects a batch, 1 ms apart.
fn batched() -> Propagation {
    Propagation {
        delay: Delay::Fixed { secs: 0 },
        batch: 1000,
        batch_interval_ms: 1,
    }
}

/// An inheritable ACE that reaches users (read pwdLastSet for RAS servers) to toggle on an OU.
fn toggled_ace(domain: &Sid) -> ad_types::sd::Ace {
    let ace = format!(
        "D:(OA;CIIO;RP;{};{};RS)",
        rights::ATTR_PWD_LAST_SET,
        rights::CLASS_USER
    );
    sddl::parse(&ace, domain)
        .expect("ACE parses")
        .dacl
        .expect("a DACL")
        .aces
        .remove(0)
}

/// Writes `ou`'s descriptor through `ops::modify` (nTSecurityDescriptor, SD flags DACL), with
/// the toggled ACE added (`on`) or removed; the change queues a propagation job on DC1.
fn toggle_ou_acl(f: &Fixture, ou_dn: &str, on: bool) {
    let dit = f.dc1.snapshot();
    let id = ops::resolve(&dit, ou_dn).expect("OU");
    let mut sd = (**dit.get(id).and_then(|e| e.sd.as_ref()).expect("OU SD")).clone();
    let ace = toggled_ace(&f.domain.info.sid);
    let aces = &mut sd.dacl.as_mut().expect("a DACL").aces;
    aces.retain(|a| *a != ace);
    if on {
        aces.insert(0, ace);
    }
    let ctx = OpCtx {
        controls: Controls {
            sd_flags: Some(4),
            ..Controls::default()
        },
        ..f.admin.clone()
    };
    f.rt.block_on(ops::modify(
        &f.dc1,
        &ctx,
        ou_dn,
        replace("nTSecurityDescriptor", sd.to_bytes()),
    ))
    .expect("descriptor write");
}

/// Runs the domain's timers at `now` until no propagation job is left; returns the batches run.
fn drain_propagation(f: &Fixture, now: LabTime) -> usize {
    let mut ran = 0;
    while !f.domain.prop_jobs.lock().expect("prop lock").is_empty() {
        ran += f.rt.block_on(f.domain.run_timers(now));
    }
    ran
}

fn bench_propagation(c: &mut Criterion, f: &Fixture, benchmarking: bool) {
    *f.domain.propagation.lock().expect("propagation lock") = batched();
    let ou = format!("OU=Prop,{BASE}");
    let mut on = true;
    // Check once: the write queues a job, draining it re-inherits every user below.
    toggle_ou_acl(f, &ou, on);
    assert_eq!(f.domain.prop_jobs.lock().expect("prop lock").len(), 1);
    let batches = drain_propagation(f, f.far());
    let dit = f.dc1.snapshot();
    let last = dit
        .get(
            dit.by_sam(&format!("prop{}", f.prop_users - 1))
                .expect("user"),
        )
        .and_then(|e| e.sd.clone())
        .expect("SD");
    let reaches = |a: &ad_types::sd::Ace| {
        a.has(INHERITED)
            && a.mask == rights::READ_PROP
            && a.object_type == Some(rights::ATTR_PWD_LAST_SET)
    };
    assert!(
        last.dacl
            .as_ref()
            .is_some_and(|d| d.aces.iter().any(reaches)),
        "the toggled ACE reached the last user"
    );
    eprintln!(
        "propagation/batch: {} users re-inherited in {batches} batches; DC1 → DC2 deliveries queued: {}",
        f.prop_users,
        f.domain.repl.lock().expect("repl lock").queue.len()
    );

    let mut g = c.benchmark_group("propagation");
    g.throughput(Throughput::Elements(f.prop_users as u64));
    if benchmarking {
        g.sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(10));
    }
    g.bench_function("batch", |b| {
        b.iter_batched(
            || {
                // The previous run's batches reach DC2 first (untimed), so every run starts
                // with an empty replication queue.
                f.drain_replication();
                on = !on;
                toggle_ou_acl(f, &ou, on);
                f.far()
            },
            |far| drain_propagation(f, far),
            BatchSize::PerIteration,
        )
    });
    g.finish();
    f.drain_replication();
    *f.domain.propagation.lock().expect("propagation lock") = Propagation::realistic();
}

/// A small deterministic generator for the user picked by each search (xorshift64*).
struct Pick(u64);

impl Pick {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % below
    }
}

/// p50, p90, p99, p99.9 and max of `ns` (sorted in place), and the searches over 1 ms.
fn summary(label: &str, ns: &mut [u64]) {
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() as f64 * q) as usize).min(ns.len() - 1)];
    let us = |v: u64| v as f64 / 1000.0;
    let slow: Vec<u64> = ns.iter().copied().filter(|v| *v > 1_000_000).collect();
    println!(
        "  {label}: {} searches, p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, \
         max {:.1} µs; {} over 1 ms ({:.2} s in all)",
        ns.len(),
        us(at(0.50)),
        us(at(0.90)),
        us(at(0.99)),
        us(at(0.999)),
        us(ns[ns.len() - 1]),
        slow.len(),
        slow.iter().sum::<u64>() as f64 / 1e9,
    );
}

/// Search latency (snapshot + indexed `search::find` + `search::render`, random
/// sAMAccountNames) on DC1 while the propagator re-inherits all of `OU=Bench` in the background,
/// then the same number of searches with nothing else running. The propagation runs on a
/// multi-thread runtime (one worker): one batch of 1000 due per step of its 1 ms interval, each
/// batch's delivery applied on DC2 before the next batch, as the lab's replication task does.
/// Not a criterion measurement; measures real time on purpose (`wall` holds the allowance).
fn search_latency(f: &Fixture) {
    let mt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("multi-thread runtime");
    let sel = Selection::parse(&[], false);
    let users = f.users;
    let one = |pick: &mut Pick| {
        let sam = format!("user{}", pick.next(users));
        let filter = LdapFilter::Equality("sAMAccountName".into(), sam);
        let start = wall();
        let dit = f.dc1.snapshot();
        let ids = search::find(&dit, &f.admin, BASE, &LdapSearchScope::Subtree, &filter)
            .expect("indexed search");
        let r = search::render(&dit, DOMAIN, ids[0], &sel).expect("rendered");
        black_box(r);
        start.elapsed().as_nanos() as u64
    };

    f.drain_replication();
    *f.domain.propagation.lock().expect("propagation lock") = batched();
    let ou = format!("OU=Bench,{BASE}");
    toggle_ou_acl(f, &ou, true);
    let t0 = f.clock.now();
    let far = f.far();
    let domain = f.domain.clone();
    let started = wall();
    let bg = mt.spawn(async move {
        let mut now = t0;
        let mut batches = 0;
        while !domain.prop_jobs.lock().expect("prop lock").is_empty() {
            batches += domain.run_timers(now).await;
            domain.pump(far).await;
            now = now.plus(Duration::from_millis(1));
        }
        (batches, wall())
    });
    let mut pick = Pick(0x9E37_79B9_7F4A_7C15);
    let mut during = Vec::with_capacity(1 << 20);
    while !bg.is_finished() {
        during.push(one(&mut pick));
    }
    let (batches, ended) = mt.block_on(bg).expect("propagation task");
    let secs = (ended - started).as_secs_f64();
    let mut quiet: Vec<u64> = (0..during.len()).map(|_| one(&mut pick)).collect();
    println!(
        "search latency on DC1 ({users} users), propagator over OU=Bench: {users} objects in \
         {batches} batches, {secs:.2} s ({:.0} objects/s, each batch then applied on DC2)",
        users as f64 / secs
    );
    summary("during propagation", &mut during);
    summary("quiet            ", &mut quiet);
    *f.domain.propagation.lock().expect("propagation lock") = Propagation::realistic();
    toggle_ou_acl(f, &ou, false);
    f.drain_replication();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let has = |a: &str| args.iter().any(|x| x == a);
    // Criterion benchmarks only with --bench (cargo bench); otherwise it runs each bench once.
    let benchmarking = has("--bench") && !has("--test") && !has("--list");
    let users = std::env::var("SSPR_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benchmarking { 100_000 } else { 1_000 });
    let prop_users = if benchmarking { 10_000 } else { 300 };
    let repl_sizes: &[usize] = if benchmarking { &[100, 1000] } else { &[20] };
    let latency = std::env::var("SSPR_BENCH_LATENCY").as_deref() != Ok("0") && !has("--list");

    let f = build(users, prop_users);

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench_reset(&mut c, &f);
    bench_access(&mut c, &f);
    bench_replication(&mut c, &f, repl_sizes, benchmarking);
    bench_propagation(&mut c, &f, benchmarking);
    c.final_summary();
    if latency {
        search_latency(&f);
    }
}
