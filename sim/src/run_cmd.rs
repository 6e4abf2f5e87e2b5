//! `sspr-lab run` and `sspr-lab demo`: a scenario played on the simulated lab, its report on the
//! terminal (and as files with `--out`), its expectations deciding the exit code; the demo
//! narrates each step as it happens.

use std::cell::RefCell;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::rc::Rc;

use clap::Args;

use crate::runner::{self, Event, RunOptions};
use crate::scenario;

/// `sspr-lab run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A built-in scenario (`sspr-lab scenarios list`) or a scenario file.
    #[arg(default_value = "tutorial")]
    pub scenario: String,
    /// Another seed than the scenario's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write report.json, report.md and the SVG plots here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Append the run to this SQLite history (for `sspr-lab compare`).
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
}

/// `sspr-lab demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// A built-in scenario or a scenario file.
    #[arg(default_value = "tutorial")]
    pub scenario: String,
    /// Another seed than the scenario's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Do not wait for Enter between steps (the default when stdin is not a terminal).
    #[arg(long)]
    pub no_pause: bool,
}

/// Why `run` or `demo` failed.
#[derive(Debug, thiserror::Error)]
pub enum RunCmdError {
    /// The scenario could not be loaded.
    #[error(transparent)]
    Scenario(#[from] scenario::ScenarioError),
    /// It could not be played.
    #[error(transparent)]
    Run(#[from] runner::RunError),
    /// The report could not be written.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    /// Some expectations failed.
    #[error("{failed} of {total} expectations failed")]
    Expectations {
        /// How many failed.
        failed: usize,
        /// Out of.
        total: usize,
    },
}

/// Counts for the progress line.
#[derive(Default)]
struct Tally {
    steps: u64,
    ops: u64,
    succeeded: u64,
}

/// Runs the scenario and prints its report; non-zero (an error) when an expectation fails.
pub fn run(a: RunArgs) -> Result<(), RunCmdError> {
    let s = scenario::resolve(&a.scenario)?;
    let tally = Rc::new(RefCell::new(Tally::default()));
    let progress = std::io::stderr().is_terminal();
    let t = tally.clone();
    let on_event: Box<dyn Fn(&Event)> = Box::new(move |e| {
        let mut t = t.borrow_mut();
        let at = match e {
            Event::Begin { at, .. } => *at,
            Event::Step(s) => {
                t.steps += 1;
                s.at
            }
            Event::Operation(d) => {
                t.ops += 1;
                t.succeeded += u64::from(d.succeeded());
                d.ended
            }
        };
        if progress {
            eprint!(
                "\r{}  steps {}  operations {}  succeeded {}  failed {}   ",
                at.rfc3339(),
                t.steps,
                t.ops,
                t.succeeded,
                t.ops - t.succeeded
            );
        }
    });
    let run = runner::run(
        &s,
        RunOptions {
            seed: a.seed,
            on_event: Some(on_event),
        },
    )?;
    if progress {
        eprintln!();
    }
    print!("{}", crate::report::table(&run.record));
    if let Some(dir) = &a.out {
        for p in crate::report::write_all(&run.record, dir)? {
            eprintln!("wrote {}", p.display());
        }
    }
    if let Some(h) = &a.history {
        let id = crate::report::history::append_run(h, &run.record)?;
        eprintln!("run {id} appended to {}", h.display());
    }
    check(&run.record)
}

fn check(r: &crate::report::RunRecord) -> Result<(), RunCmdError> {
    let failed = r.expectations.iter().filter(|e| !e.passed).count()
        + r.steps.iter().filter(|s| !s.ok).count();
    if failed == 0 {
        Ok(())
    } else {
        Err(RunCmdError::Expectations {
            failed,
            total: r.expectations.len() + r.steps.len(),
        })
    }
}

/// Plays the scenario and narrates it: each step with its narration and result, each operation
/// as it ends, then the explanations and the expectations.
pub fn demo(a: DemoArgs) -> Result<(), RunCmdError> {
    let s = scenario::resolve(&a.scenario)?;
    let pause = !a.no_pause && std::io::stdin().is_terminal();
    let out = Rc::new(RefCell::new(std::io::stdout()));
    let o = out.clone();
    println!("# {}\n\n{}\n", s.name, s.description);
    let on_event: Box<dyn Fn(&Event)> = Box::new(move |e| {
        let mut o = o.borrow_mut();
        match e {
            Event::Begin { at, narration } => match narration {
                Some(n) => {
                    let _ = writeln!(o, "\n[{}] {n}", clock(*at));
                }
                None => {
                    let _ = writeln!(o, "\n[{}]", clock(*at));
                }
            },
            Event::Step(st) => {
                let _ = writeln!(
                    o,
                    "  > {}\n  {} {}",
                    st.action,
                    if st.ok { "ok:" } else { "NOT AS EXPECTED:" },
                    st.result
                );
                let _ = o.flush();
                if pause {
                    let _ = write!(o, "  (Enter) ");
                    let _ = o.flush();
                    let mut line = String::new();
                    let _ = std::io::stdin().lock().read_line(&mut line);
                }
            }
            Event::Operation(d) => {
                let mut line = format!(
                    "    {} {} for {}: {}",
                    clock(d.ended),
                    d.op.as_str(),
                    d.user,
                    d.status
                );
                if let Some(c) = &d.code {
                    line.push_str(&format!(" ({c})"));
                }
                if let Some(r) = d.job.as_ref().and_then(|j| j.result.as_ref()) {
                    line.push_str(&format!(", agent: {}", r.outcome.as_str()));
                    if let Some(dc) = &r.dc {
                        line.push_str(&format!(" on {dc}"));
                    }
                }
                let _ = writeln!(o, "{line}");
            }
        }
    });
    let run = runner::run(
        &s,
        RunOptions {
            seed: a.seed,
            on_event: Some(on_event),
        },
    )?;
    println!();
    print!("{}", crate::report::table(&run.record));
    check(&run.record)
}

/// `HH:MM:SS` of a lab time.
fn clock(t: runtime::LabTime) -> String {
    let r = t.rfc3339();
    r.get(11..19).unwrap_or(&r).to_string()
}
