//! The bench's progress line on stderr: redrawn in place once a second while a run lasts, and
//! only when stderr is a terminal (a log or a pipe gets nothing).

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use runtime::{Clock, LabTime};

/// Counters the workers bump and the progress line reads.
#[derive(Debug, Default)]
pub struct Counters {
    /// Writebacks finished (any outcome), warm-up included.
    pub done: AtomicU64,
    /// Of those, the ones that did not succeed.
    pub not_ok: AtomicU64,
}

/// The phases of a run, by the client clock.
#[derive(Clone, Copy, Debug)]
pub struct Phases {
    /// When the load started.
    pub start: LabTime,
    /// When the warm-up ends and the window begins.
    pub window_start: LabTime,
    /// When the window ends.
    pub window_end: LabTime,
}

/// One progress line for `now`.
pub fn line(phases: &Phases, now: LabTime, done: u64, not_ok: u64, rate: f64) -> String {
    let secs = |a: LabTime, b: LabTime| b.0.saturating_sub(a.0) as f64 / 1e9;
    let phase = if now < phases.window_start {
        format!(
            "warm-up {:.0}/{:.0} s",
            secs(phases.start, now),
            secs(phases.start, phases.window_start)
        )
    } else if now < phases.window_end {
        format!(
            "measuring {:.0}/{:.0} s",
            secs(phases.window_start, now),
            secs(phases.window_start, phases.window_end)
        )
    } else {
        "finishing the writebacks in flight".to_string()
    };
    format!("bench e2e: {phase} | {done} writebacks ({not_ok} not succeeded), {rate:.0}/s")
}

/// Redraws the line every second until `stop`; does nothing unless stderr is a terminal.
pub async fn run(
    clock: Clock,
    phases: Phases,
    counters: Arc<Counters>,
    stop: tokio_util::sync::CancellationToken,
) {
    if !std::io::stderr().is_terminal() {
        return;
    }
    let mut last = (clock.now(), 0u64);
    loop {
        tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            _ = clock.sleep(Duration::from_secs(1)) => {}
        }
        let now = clock.now();
        let done = counters.done.load(Ordering::Relaxed);
        let dt = now.0.saturating_sub(last.0.0) as f64 / 1e9;
        let rate = if dt > 0.0 {
            (done - last.1) as f64 / dt
        } else {
            0.0
        };
        last = (now, done);
        let text = line(
            &phases,
            now,
            done,
            counters.not_ok.load(Ordering::Relaxed),
            rate,
        );
        let mut e = std::io::stderr().lock();
        let _ = write!(e, "\r\x1b[2K{text}");
        let _ = e.flush();
    }
    let mut e = std::io::stderr().lock();
    let _ = write!(e, "\r\x1b[2K");
    let _ = e.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_the_phase() {
        let p = Phases {
            start: LabTime(0),
            window_start: LabTime(3_000_000_000),
            window_end: LabTime(23_000_000_000),
        };
        assert!(line(&p, LabTime(1_000_000_000), 5, 0, 5.0).contains("warm-up 1/3 s"));
        assert!(line(&p, LabTime(8_000_000_000), 50, 1, 9.0).contains("measuring 5/20 s"));
        assert!(line(&p, LabTime(30_000_000_000), 50, 1, 0.0).contains("in flight"));
    }
}
