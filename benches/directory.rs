//! Directory benchmarks of fake-ad on the in-memory store (DESIGN §5): indexed and unindexed
//! search, modify (a description and a password reset), simple-bind authentication, and the
//! memory a 100k-user domain holds on one DC and on two.
//!
//! `cargo bench --bench directory` builds the domain once (100 000 users in `OU=Bench`, 10 000 in
//! `OU=Scan`), prints the memory line, then runs criterion. Without `--bench` (`cargo test
//! --benches`, `--list`) the domain is small so the once-through test run stays quick.
//! `SSPR_BENCH_USERS=N` overrides the size of `OU=Bench`. See benches/README.md.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::Duration;

use ad_types::password::encode_unicode_pwd;
use criterion::Criterion;
use fake_ad::bootstrap::{self, Policy};
use fake_ad::ctx::OpCtx;
use fake_ad::ops::{self, Change, ChangeOp, uac};
use fake_ad::search::{self, Selection};
use fake_ad::value::{EntryId, Value};
use fake_ad::{Dc, Domain, MemStore, Store};
use ldap3_proto::proto::{LdapFilter, LdapSearchScope};
use runtime::{Clock, LabTime, Seed};
use tokio::runtime::Runtime;

// ---------------------------------------------------------------------------------------------
// A counting allocator: the system allocator plus the bytes currently held, counted only while
// `COUNTING` is on (the memory measurement), so the timed benchmarks pay one relaxed load.

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static HELD: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn count(delta: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        let now = HELD.fetch_add(delta, Ordering::Relaxed) + delta;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the counters have no effect on memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn held() -> isize {
    HELD.load(Ordering::Relaxed)
}

/// The process's resident set size from /proc (Linux), in bytes.
fn rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn mib(b: impl Into<f64>) -> String {
    format!("{:.1} MiB", b.into() / (1024.0 * 1024.0))
}

/// Wall-clock time, for the build's progress lines only (the lab clock is for the lab).
#[allow(clippy::disallowed_methods)]
fn wall() -> std::time::Instant {
    std::time::Instant::now()
}

// ---------------------------------------------------------------------------------------------
// The domain under test.

const DOMAIN: &str = "contoso.lab";
const BASE: &str = "DC=contoso,DC=lab";
const ADMIN_PW: &str = "Admin-Passw0rd1";
const USER_PW: &str = "User-Passw0rd1";
const BATCH: usize = 1000;

struct Fixture {
    rt: Runtime,
    dc: Arc<Dc>,
    ctx: OpCtx,
    users: usize,
    scan_users: usize,
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
        done = end;
        if progress && done % 10_000 == 0 {
            eprintln!(
                "  {done:>7}/{n} {cn} users ({:.1} s)",
                start.elapsed().as_secs_f64()
            );
        }
    }
}

/// Builds the domain (two DCs, MemStore), measures its memory, then adds the scan OU.
fn build(users: usize, scan_users: usize) -> Fixture {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let clock = rt.block_on(async { Clock::starting_at(LabTime::from_unix_secs(1_795_000_000)) });
    let progress = users >= 10_000;

    COUNTING.store(true, Ordering::Relaxed);
    let base_bytes = held();
    PEAK.store(base_bytes, Ordering::Relaxed);
    let base_rss = rss();

    let domain = Domain::new(DOMAIN, "CONTOSO", DOMAIN, Seed(1));
    let store = || Arc::new(MemStore) as Arc<dyn Store>;
    let site = "Default-First-Site-Name";
    let dc = domain.add_dc("DC1", site, true, store(), clock.clone());
    domain.add_dc("DC2", site, false, store(), clock.clone());

    let start = wall();
    let bench_ou = rt
        .block_on(dc.write(|txn| {
            let wk = bootstrap::fresh_domain(
                txn,
                &Policy::default(),
                ADMIN_PW,
                &["DC1".into(), "DC2".into()],
            )?;
            bootstrap::make(txn, wk.head, "OU=Bench", "organizationalUnit", vec![], None)
        }))
        .expect("fresh domain");
    if progress {
        eprintln!("building {users} users in OU=Bench,{BASE} on DC1 (MemStore)");
    }
    rt.block_on(add_users(&dc, bench_ou, "User", "user", users, progress));
    let build_secs = start.elapsed().as_secs_f64();
    let one_dc = held() - base_bytes;
    let one_dc_rss = rss().zip(base_rss).map(|(a, b)| a.saturating_sub(b));

    let start = wall();
    rt.block_on(bootstrap::copy_to_replicas(&dc))
        .expect("copy to DC2");
    let copy_secs = start.elapsed().as_secs_f64();
    let two_dc = held() - base_bytes;
    let two_dc_rss = rss().zip(base_rss).map(|(a, b)| a.saturating_sub(b));
    let peak = PEAK.load(Ordering::Relaxed) - base_bytes;
    COUNTING.store(false, Ordering::Relaxed);

    let entries = dc.snapshot().len();
    let n = users.max(1) as f64;
    println!(
        "memory: {users} users ({entries} entries), 1 DC: {}; 2 DCs: {} \
         (bytes/user: {:.0} with 1 DC, {:.0} with 2; DC2 added {:.1} KiB; peak {})",
        mib(one_dc as f64),
        mib(two_dc as f64),
        one_dc as f64 / n,
        two_dc as f64 / n,
        (two_dc - one_dc) as f64 / 1024.0,
        mib(peak as f64),
    );
    if let (Some(a), Some(b)) = (one_dc_rss, two_dc_rss) {
        println!(
            "memory (RSS growth): 1 DC: {}; 2 DCs: {}",
            mib(a as f64),
            mib(b as f64)
        );
    }
    println!("build: {users} users in {build_secs:.1} s; copy to DC2 in {copy_secs:.1} s");

    // The OU the unindexed scan walks (added after the memory line, on DC1 only).
    let scan_ou = rt
        .block_on(dc.write(|txn| {
            let head = txn.dit.root().expect("domain head");
            bootstrap::make(txn, head, "OU=Scan", "organizationalUnit", vec![], None)
        }))
        .expect("scan OU");
    rt.block_on(add_users(
        &dc,
        scan_ou,
        "Scan User",
        "scan",
        scan_users,
        progress,
    ));

    // Bound as the Administrator, the way a bind would make it (no hand-built Principal).
    let ctx = OpCtx {
        bound: Some(
            rt.block_on(ops::bind(&dc, "CONTOSO\\Administrator", ADMIN_PW))
                .expect("admin bind"),
        ),
        tls: true,
        ..OpCtx::default()
    };
    Fixture {
        rt,
        dc,
        ctx,
        users,
        scan_users,
    }
}

// ---------------------------------------------------------------------------------------------
// The benchmarks.

fn eq(attr: &str, value: &str) -> LdapFilter {
    LdapFilter::Equality(attr.into(), value.into())
}

fn bench_search(c: &mut Criterion, f: &Fixture) {
    let sel = Selection::parse(&[], false);
    let mut g = c.benchmark_group("search");

    let sam = format!("user{}", f.users / 2);
    let filter = eq("sAMAccountName", &sam);
    let one = |dit: &fake_ad::dit::Dit| {
        let ids = search::find(dit, &f.ctx, BASE, &LdapSearchScope::Subtree, &filter)
            .expect("indexed search");
        assert_eq!(ids.len(), 1, "{sam}");
        search::render(dit, DOMAIN, ids[0], &sel).expect("rendered")
    };
    let (dn, attrs) = one(&f.dc.snapshot());
    eprintln!(
        "search/indexed_sam renders {dn} with {} attributes",
        attrs.len()
    );
    g.bench_function("indexed_sam", |b| {
        b.iter(|| {
            let dit = f.dc.snapshot();
            black_box(one(&dit))
        })
    });

    let scan_base = format!("OU=Scan,{BASE}");
    let display = format!("Scan User {}", f.scan_users / 2);
    let filter = eq("displayName", &display);
    let scan = |dit: &fake_ad::dit::Dit| {
        let ids = search::find(dit, &f.ctx, &scan_base, &LdapSearchScope::Subtree, &filter)
            .expect("unindexed search");
        assert_eq!(ids.len(), 1, "{display}");
        ids
    };
    scan(&f.dc.snapshot());
    g.bench_function("unindexed_subtree_displayName", |b| {
        b.iter(|| {
            let dit = f.dc.snapshot();
            black_box(scan(&dit))
        })
    });
    g.finish();
}

fn bench_modify(c: &mut Criterion, f: &Fixture) {
    let mut g = c.benchmark_group("modify");
    let i = f.users / 2 + 100;
    let dn = format!("CN=User {i},OU=Bench,{BASE}");
    let modify = |changes: Vec<Change>| {
        f.rt.block_on(ops::modify(&f.dc, &f.ctx, &dn, changes))
            .expect("modify")
    };

    g.bench_function("replace_description", |b| {
        b.iter(|| {
            modify(vec![Change {
                op: ChangeOp::Replace,
                attr: "description".into(),
                values: vec![b"benchmarked".to_vec()],
            }])
        })
    });

    let new_pw = "New-Passw0rd1";
    let encoded = encode_unicode_pwd(new_pw);
    let reset = || {
        modify(vec![Change {
            op: ChangeOp::Replace,
            attr: "unicodePwd".into(),
            values: vec![encoded.clone()],
        }])
    };
    reset();
    f.rt.block_on(ops::bind(&f.dc, &format!("CONTOSO\\user{i}"), new_pw))
        .expect("the reset password binds");
    g.bench_function("password_reset", |b| b.iter(reset));
    g.finish();
}

fn bench_bind(c: &mut Criterion, f: &Fixture) {
    let mut g = c.benchmark_group("bind");
    let name = format!("CONTOSO\\user{}", f.users / 2);
    let bind = || {
        f.rt.block_on(ops::bind(&f.dc, &name, USER_PW))
            .expect("bind")
    };
    bind();
    // A successful simple bind: account lookup, lockout state, NT hash, the token's SIDs.
    g.bench_function("authenticate", |b| b.iter(|| black_box(bind())));
    g.finish();
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
    let scan_users = if benchmarking { 10_000 } else { 1_000 };

    let f = build(users, scan_users);

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench_search(&mut c, &f);
    bench_modify(&mut c, &f);
    bench_bind(&mut c, &f);
    c.final_summary();
}
