//! `report.md`: the run, outcomes, latency per hop and per domain and engine, outcomes over time,
//! expectations, the timeline, every explanation (up to a bound), and the plots as images.

use std::fmt::Write;

use super::metrics::{ALL, codes_by_outcome};
use super::times::{duration_us, rfc3339, short};
use super::{Analysis, LATENCY_SVG, OUTCOMES_SVG, PROGRESS_SVG};

/// The most explanations report.md lists; report.json has them all.
pub const MAX_EXPLANATIONS: usize = 1_000;

/// A table cell: pipes escaped, line breaks as spaces.
pub fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn table(out: &mut String, header: &[&str], align: &str, rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let marks: Vec<&str> = (0..header.len())
        .map(|i| match align.as_bytes().get(i) {
            Some(b'r') => "---:",
            _ => "---",
        })
        .collect();
    let _ = writeln!(out, "| {} |", marks.join(" | "));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

/// The Markdown report of an analysed record.
pub fn render(a: &Analysis<'_>) -> String {
    let r = a.record;
    let m = &a.summary.metrics;
    let mut out = String::new();
    let _ = writeln!(out, "# Run report: {}\n", cell(&r.scenario));
    table(
        &mut out,
        &["", ""],
        "ll",
        &[
            vec!["scenario".into(), r.scenario.clone()],
            vec!["seed".into(), r.seed.to_string()],
            vec!["backend".into(), r.backend.clone()],
            vec!["virtual start".into(), rfc3339(r.start)],
            vec!["virtual end".into(), rfc3339(r.end)],
            vec!["writebacks".into(), m.writebacks.to_string()],
            vec!["succeeded".into(), m.succeeded.to_string()],
            vec!["failed".into(), m.failed.to_string()],
            vec!["in doubt".into(), m.in_doubt.to_string()],
            vec![
                "expectations".into(),
                format!(
                    "{} passed, {} failed",
                    a.summary.expectations_passed,
                    a.summary.expectations_failed.len()
                ),
            ],
        ],
    );

    out.push_str("## Outcomes\n\n");
    if m.outcomes.is_empty() {
        out.push_str("No writebacks.\n\n");
    } else {
        let codes = codes_by_outcome(r);
        let rows: Vec<Vec<String>> = m
            .outcomes
            .iter()
            .map(|(k, n)| {
                let seen = codes
                    .get(k)
                    .map(|c| c.iter().cloned().collect::<Vec<_>>().join(", "))
                    .unwrap_or_default();
                vec![format!("`{k}`"), n.to_string(), seen]
            })
            .collect();
        table(&mut out, &["outcome", "count", "user saw"], "lrl", &rows);
    }
    let _ = writeln!(
        out,
        "Outcomes over time, in buckets of {}:\n\n![outcomes over time]({OUTCOMES_SVG})\n",
        duration_us(m.bucket_secs * 1_000_000)
    );

    out.push_str(
        "## Latency\n\nMicroseconds of lab time; HDR histograms, 3 significant digits.\n\n",
    );
    let rows: Vec<Vec<String>> = m
        .latency
        .iter()
        .filter(|l| l.domain == ALL && l.engine == ALL)
        .map(|l| {
            let s = &l.latency;
            vec![
                format!("`{}`", l.hop),
                s.count.to_string(),
                s.mean_us.to_string(),
                s.p50_us.to_string(),
                s.p90_us.to_string(),
                s.p99_us.to_string(),
                s.p999_us.to_string(),
                s.max_us.to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str("No hop was timed.\n\n");
    } else {
        table(
            &mut out,
            &["hop", "count", "mean", "p50", "p90", "p99", "p99.9", "max"],
            "lrrrrrrr",
            &rows,
        );
    }
    let _ = writeln!(out, "![latency CDF per hop]({LATENCY_SVG})\n");
    let rows: Vec<Vec<String>> = m
        .latency
        .iter()
        .filter(|l| l.domain != ALL && l.engine != ALL)
        .map(|l| {
            let s = &l.latency;
            vec![
                format!("`{}`", l.hop),
                l.domain.clone(),
                l.engine.clone(),
                s.count.to_string(),
                s.p50_us.to_string(),
                s.p99_us.to_string(),
                s.max_us.to_string(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        out.push_str("### Per domain and engine\n\n");
        table(
            &mut out,
            &["hop", "domain", "engine", "count", "p50", "p99", "max"],
            "lllrrrr",
            &rows,
        );
    }

    out.push_str("## Replication and propagation\n\n");
    if r.progress.is_empty() {
        out.push_str("No progress was followed.\n\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .progress
            .iter()
            .map(|p| {
                let first = p.samples.first();
                let done = p.samples.iter().find(|s| s.total > 0 && s.done >= s.total);
                let took = match (first, done) {
                    (Some(f), Some(d)) => duration_us(d.at.0.saturating_sub(f.at.0) / 1_000),
                    _ => "not complete".into(),
                };
                let last = p
                    .samples
                    .last()
                    .map(|s| format!("{}/{}", s.done, s.total))
                    .unwrap_or_default();
                vec![p.kind.as_str().into(), p.name.clone(), last, took]
            })
            .collect();
        table(
            &mut out,
            &["kind", "change", "reached", "took"],
            "llrr",
            &rows,
        );
        let _ = writeln!(
            out,
            "![replication and propagation progress]({PROGRESS_SVG})\n"
        );
    }

    out.push_str("## Expectations\n\n");
    if r.expectations.is_empty() {
        out.push_str("None.\n\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .expectations
            .iter()
            .map(|e| {
                vec![
                    if e.passed { "pass" } else { "**FAIL**" }.into(),
                    e.name.clone(),
                    e.expected.clone(),
                    e.observed.clone(),
                ]
            })
            .collect();
        table(
            &mut out,
            &["", "expectation", "expected", "observed"],
            "llll",
            &rows,
        );
    }

    out.push_str("## Timeline\n\n");
    if r.steps.is_empty() {
        out.push_str("No steps.\n\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .steps
            .iter()
            .map(|s| {
                vec![
                    short(s.at, r.start),
                    s.action.clone(),
                    s.narration.clone().unwrap_or_default(),
                    format!("{} {}", if s.ok { "ok:" } else { "FAILED:" }, s.result),
                ]
            })
            .collect();
        table(
            &mut out,
            &["time", "step", "narration", "result"],
            "llll",
            &rows,
        );
    }

    out.push_str("## Why writebacks did not succeed\n\n");
    if a.explanations.is_empty() {
        out.push_str("Every writeback succeeded.\n");
    } else {
        for e in a.explanations.iter().take(MAX_EXPLANATIONS) {
            let job = e
                .job_id
                .as_deref()
                .map(|j| format!(" (job `{j}`)"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- {} **{}**{job} `{}`: {}",
                short(e.at, r.start),
                cell(&e.user),
                e.outcome,
                cell(&e.text)
            );
            if let Some(fix) = &e.fix {
                let _ = writeln!(out, "  - fix: {}", cell(fix));
            }
        }
        if a.explanations.len() > MAX_EXPLANATIONS {
            let _ = writeln!(
                out,
                "\n{} more in report.json.",
                a.explanations.len() - MAX_EXPLANATIONS
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    /// Counts a table row's cells: unescaped pipes minus one.
    fn cells(line: &str) -> usize {
        let mut n = 0;
        let mut escaped = false;
        for c in line.chars() {
            match (c, escaped) {
                ('\\', false) => escaped = true,
                ('|', false) => n += 1,
                _ => escaped = false,
            }
        }
        n - 1
    }

    /// Checks what a Markdown renderer relies on: every table has a header, a delimiter row of
    /// the same width and rows of that width, and is followed by a blank line; one `# ` title;
    /// balanced code spans on every line; images point at the plots.
    fn well_formed(md: &str) -> Result<(), String> {
        let lines: Vec<&str> = md.lines().collect();
        if lines.iter().filter(|l| l.starts_with("# ")).count() != 1 {
            return Err("not exactly one title".into());
        }
        let mut i = 0;
        while i < lines.len() {
            let l = lines[i];
            if !l.matches('`').count().is_multiple_of(2) {
                return Err(format!("unbalanced code span: {l}"));
            }
            if l.starts_with('|') {
                let width = cells(l);
                let delim = lines.get(i + 1).ok_or("table without delimiter")?;
                if cells(delim) != width
                    || !delim
                        .split('|')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .all(|c| c == "---" || c == "---:")
                {
                    return Err(format!("bad delimiter row under {l}"));
                }
                i += 2;
                while i < lines.len() && lines[i].starts_with('|') {
                    if cells(lines[i]) != width || !lines[i].ends_with(" |") {
                        return Err(format!("row of the wrong width: {}", lines[i]));
                    }
                    i += 1;
                }
                if lines.get(i).is_some_and(|l| !l.is_empty()) {
                    return Err("table not followed by a blank line".into());
                }
                continue;
            }
            i += 1;
        }
        Ok(())
    }

    #[test]
    fn sample_report_is_well_formed() {
        let r = sample::record();
        let md = render(&Analysis::new(&r));
        well_formed(&md).unwrap();
        assert!(md.starts_with("# Run report: sample\n"));
        for img in [OUTCOMES_SVG, LATENCY_SVG, PROGRESS_SVG] {
            assert!(md.contains(&format!("]({img})")), "{img}");
        }
        // The narration's pipe is escaped, not a new cell.
        assert!(md.contains("on carol \\| directly."));
        assert!(
            md.contains("| `ldap_connect` | 3 | 500 | 500 | 600 | 600 | 600 | 600 |"),
            "{md}"
        );
        assert!(md.contains("| **FAIL** | p99 total | <= 500 ms | 800 ms |"));
        assert!(md.contains("| replication | ACE on CN=Carol Cruz | 2/2 | 15.0 s |"));
        assert!(md.contains("- 10:00:05 **carol** (job `job-carol`) `access_denied`: DC2 refused"));
        assert_eq!(md, render(&Analysis::new(&r)));
    }

    #[test]
    fn empty_report_is_well_formed() {
        let r = sample::empty();
        let md = render(&Analysis::new(&r));
        well_formed(&md).unwrap();
        assert!(md.contains("No writebacks."));
        assert!(md.contains("Every writeback succeeded."));
        assert!(well_formed("# a\n| x | y |\n| --- |\n").is_err());
    }
}
