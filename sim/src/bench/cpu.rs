//! CPU time from `/proc`: a whole process's (`/proc/<pid>/stat`, every thread, living or exited)
//! and the calling thread's (`/proc/thread-self/stat`). Both are `utime + stime` in clock ticks.

use std::time::Duration;

/// Clock ticks per second in `/proc/*/stat` (`USER_HZ`): 100 on every Linux architecture the
/// lab builds for (`getconf CLK_TCK`), so one tick is 10 ms.
pub const USER_HZ: u64 = 100;

/// Why CPU time could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CpuError {
    /// The stat file could not be read (no such process, or not Linux).
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The stat file does not have the expected fields.
    #[error("{0}: not a /proc stat line")]
    Parse(String),
}

/// `utime + stime` of a stat line (`man 5 proc`: fields 14 and 15, after the `(comm)` field,
/// which may itself hold spaces and parentheses).
pub fn parse_stat(line: &str) -> Option<Duration> {
    let rest = &line[line.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the comm: state (3), ppid (4), … utime (14), stime (15).
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(ticks(utime + stime))
}

fn ticks(n: u64) -> Duration {
    Duration::from_nanos(n * (1_000_000_000 / USER_HZ))
}

fn read(path: &str) -> Result<Duration, CpuError> {
    let text = std::fs::read_to_string(path).map_err(|source| CpuError::Read {
        path: path.to_string(),
        source,
    })?;
    parse_stat(&text).ok_or_else(|| CpuError::Parse(path.to_string()))
}

/// The CPU time process `pid` has used so far (all its threads).
pub fn process(pid: u32) -> Result<Duration, CpuError> {
    read(&format!("/proc/{pid}/stat"))
}

/// The CPU time the calling OS thread has used so far.
pub fn this_thread() -> Result<Duration, CpuError> {
    read("/proc/thread-self/stat")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utime_and_stime_after_a_comm_with_spaces() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
        let line = "4242 (tokio rt) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(parse_stat(line), Some(Duration::from_millis(3000)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_and_thread_are_readable() {
        let p = process(std::process::id()).unwrap();
        let t = this_thread().unwrap();
        assert!(t <= p + Duration::from_millis(10));
    }
}
