//! The workload: arrivals on virtual time (a Poisson process, or a diurnal one by thinning, plus
//! bursts), each an operation drawn from the mix and a user drawn from the selection, all from
//! the seed. Operations run concurrently on the driver, as people do.

use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use runtime::LabTime;

use crate::scenario::workload::Workload;
use crate::scenario::{PasswordKind, Source};

use super::{Ctx, done};

/// One arrival: when, which mix entry, which user.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Arrival {
    /// Offset from the lab start.
    pub at: Duration,
    /// Index into the mix.
    pub entry: usize,
    /// The user (UPN).
    pub user: String,
}

/// The arrivals of `w` over `[0, duration)` from `start`, in time order.
pub(crate) fn arrivals(
    w: &Workload,
    users: &[String],
    start: LabTime,
    duration: Duration,
    rng: &mut ChaCha8Rng,
) -> Vec<Arrival> {
    let mut times: Vec<Duration> = Vec::new();
    let peak = w
        .arrivals
        .poisson
        .as_ref()
        .map(|p| p.per_hour)
        .or_else(|| w.arrivals.diurnal.as_ref().map(|d| d.peak_per_hour))
        .unwrap_or(0.0);
    if peak > 0.0 {
        // Exponential gaps at the peak rate, thinned to the rate at each time.
        let rate = peak / 3600.0;
        let mut t = 0.0f64;
        loop {
            let u: f64 = rng.random_range(f64::EPSILON..1.0);
            t += -u.ln() / rate;
            if t >= duration.as_secs_f64() {
                break;
            }
            let keep = match &w.arrivals.diurnal {
                Some(d) => {
                    let secs_of_day = (start.unix_secs() + t as u64) % 86_400;
                    let p = d.rate_at(secs_of_day) / peak;
                    rng.random_range(0.0..1.0) < p
                }
                None => true,
            };
            if keep {
                times.push(Duration::from_secs_f64(t));
            }
        }
    }
    for b in &w.bursts {
        for at in b.at.occurrences(start, crate::scenario::Dur(duration)) {
            for i in 0..b.count {
                let t = at.get() + b.over.get().mul_f64(i as f64 / b.count.max(1) as f64);
                if t < duration {
                    times.push(t);
                }
            }
        }
    }
    times.sort();
    let total: u64 = w.mix.iter().map(|m| m.weight as u64).sum();
    if users.is_empty() || total == 0 {
        return Vec::new();
    }
    times
        .into_iter()
        .map(|at| {
            let mut x = rng.random_range(0..total);
            let entry = w
                .mix
                .iter()
                .position(|m| {
                    if x < m.weight as u64 {
                        true
                    } else {
                        x -= m.weight as u64;
                        false
                    }
                })
                .unwrap_or(0);
            let user = users[rng.random_range(0..users.len())].clone();
            Arrival { at, entry, user }
        })
        .collect()
}

/// The users the workload draws from.
fn users(ctx: &Ctx<'_>, w: &Workload) -> Vec<String> {
    let s = ctx.scenario;
    let domains: Vec<String> = if w.users.domains.is_empty() {
        s.lab.generated.iter().map(|g| g.domain.clone()).collect()
    } else {
        w.users.domains.clone()
    };
    let mut out = Vec::new();
    for g in &s.lab.generated {
        if !domains.iter().any(|d| d.eq_ignore_ascii_case(&g.domain)) {
            continue;
        }
        let n = ((g.count as f64) * w.users.share).ceil() as u32;
        out.extend((1..=n.min(g.count)).map(|i| format!("{}@{}", g.sam(i), g.domain)));
    }
    if w.users.teaching {
        for d in ctx.lab.spec.forests.iter().flat_map(|f| f.domains.iter()) {
            if domains.iter().any(|x| x.eq_ignore_ascii_case(&d.dns)) {
                out.extend(
                    crate::default_lab::teaching_users()
                        .iter()
                        .map(|u| format!("{}@{}", u.sam, d.dns)),
                );
            }
        }
    }
    out
}

/// Plays the workload until `end`.
pub(crate) async fn play(ctx: &Ctx<'_>, end: LabTime) {
    let Some(w) = &ctx.scenario.workload else {
        return;
    };
    let pool = users(ctx, w);
    let mut rng = runtime::stream(runtime::Seed(ctx.scenario.seed), "runner/workload");
    let duration = Duration::from_nanos(end.0.saturating_sub(ctx.start.0));
    let plan = arrivals(w, &pool, ctx.start, duration, &mut rng);
    let mut running = FuturesUnordered::new();
    for a in plan {
        let at = ctx.start.plus(a.at);
        // Start what is due; meanwhile let the running ones progress.
        loop {
            let now = ctx.lab.clock.now();
            if now >= at {
                break;
            }
            let wait = ctx.lab.clock.sleep(Duration::from_nanos(at.0 - now.0));
            tokio::pin!(wait);
            tokio::select! {
                biased;
                _ = &mut wait => break,
                Some(_) = running.next(), if !running.is_empty() => {}
            }
        }
        let m = &w.mix[a.entry];
        running.push(async move {
            done::operate(
                ctx,
                Source::Workload,
                m.op,
                &a.user,
                m.by.as_deref(),
                m.password.unwrap_or(PasswordKind::Valid),
            )
            .await
        });
    }
    while running.next().await.is_some() {}
}
