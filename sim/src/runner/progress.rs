//! Progress sampled as the run goes: how far each descriptor propagation job has spread (objects
//! visited out of those known), one sample a virtual minute while it runs and a last one when it
//! ends. The report plots them.

use std::collections::BTreeMap;
use std::time::Duration;

use runtime::LabTime;

use crate::report::record::{ProgressKind, ProgressSample, ProgressSeries};

use super::Ctx;

/// How often progress is sampled (lab time).
const EVERY: Duration = Duration::from_secs(60);

/// Samples until `end`; returns the series, in the order they started.
pub(crate) async fn sample(ctx: &Ctx<'_>, end: LabTime) -> Vec<ProgressSeries> {
    let control = ctx.lab.control();
    let mut series: Vec<ProgressSeries> = Vec::new();
    // Series still running, by key, with their index in `series`.
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    loop {
        let now = ctx.lab.clock.now();
        let mut seen = Vec::new();
        for p in control.propagation() {
            for j in &p.jobs {
                let key = format!("{}|{}|{}", p.domain, j.dc, j.root);
                let i = *open.entry(key.clone()).or_insert_with(|| {
                    series.push(ProgressSeries {
                        kind: ProgressKind::Propagation,
                        name: format!("{} on {} ({})", p.domain, j.root, j.dc),
                        samples: Vec::new(),
                    });
                    series.len() - 1
                });
                series[i].samples.push(ProgressSample {
                    at: now,
                    done: j.done as u64,
                    total: (j.done + j.pending) as u64,
                });
                seen.push(key);
            }
        }
        // Jobs gone since the last sample are complete.
        let ended: Vec<String> = open.keys().filter(|k| !seen.contains(k)).cloned().collect();
        for k in ended {
            if let Some(i) = open.remove(&k)
                && let Some(last) = series[i].samples.last().cloned()
            {
                series[i].samples.push(ProgressSample {
                    at: now,
                    done: last.total.max(last.done),
                    total: last.total.max(last.done),
                });
            }
        }
        if now >= end {
            break;
        }
        let next = now.plus(EVERY).min(end);
        ctx.lab
            .clock
            .sleep(Duration::from_nanos(next.0.saturating_sub(now.0)))
            .await;
    }
    series
}
