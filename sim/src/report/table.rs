//! The terminal report: the run, outcomes with what the person saw, latency per hop, latency per
//! domain and engine, expectations, and the first explanations. Plain text, aligned columns.

use super::Analysis;
use super::explain::Explanation;
use super::metrics::{ALL, codes_by_outcome};
use super::record::hop;
use super::times::{duration_us, rfc3339, short};

/// How many explanations the terminal shows; report.md and report.json have them all.
pub const MAX_EXPLANATIONS: usize = 20;

/// Columns aligned under a header, two spaces apart, each line indented by two. `align` has one
/// letter per column: `l` left, `r` right (numbers); missing letters mean `l`.
pub fn grid(header: &[&str], rows: &[Vec<String>], align: &str) -> String {
    let cols = header.len();
    let right: Vec<bool> = (0..cols)
        .map(|i| align.as_bytes().get(i) == Some(&b'r'))
        .collect();
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            width[i] = width[i].max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::from(" ");
        for (i, cell) in cells.enumerate().take(cols) {
            let pad = " ".repeat(width[i] - cell.chars().count());
            out.push_str("  ");
            if right[i] {
                out.push_str(&pad);
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&pad);
            }
        }
        let mut out = out[1..].trim_end().to_string();
        out.push('\n');
        out
    };
    let mut out = line(&mut header.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// One explanation as a terminal line (and its fix on the next).
pub fn explanation_line(e: &Explanation, day: runtime::LabTime) -> String {
    let mut s = format!(
        "  {} {} {}: {}\n",
        short(e.at, day),
        e.user,
        e.outcome,
        e.text
    );
    if let Some(fix) = &e.fix {
        s.push_str(&format!("      fix: {fix}\n"));
    }
    s
}

/// The terminal report of an analysed record.
pub fn render(a: &Analysis<'_>) -> String {
    let r = a.record;
    let m = &a.summary.metrics;
    let mut out = format!(
        "sspr-lab run: {} (seed {}, backend {})\n",
        r.scenario, r.seed, r.backend
    );
    let span = r.end.0.saturating_sub(r.start.0) / 1_000;
    out.push_str(&format!(
        "virtual time {} to {} ({})\n",
        rfc3339(r.start),
        rfc3339(r.end),
        duration_us(span)
    ));
    out.push_str(&format!(
        "writebacks {}: {} succeeded, {} failed, {} in doubt\n",
        m.writebacks, m.succeeded, m.failed, m.in_doubt
    ));

    if !m.outcomes.is_empty() {
        out.push_str("\nOutcomes\n");
        let codes = codes_by_outcome(r);
        let rows: Vec<Vec<String>> = m
            .outcomes
            .iter()
            .map(|(k, n)| {
                let seen = codes
                    .get(k)
                    .map(|c| c.iter().cloned().collect::<Vec<_>>().join(", "))
                    .unwrap_or_default();
                vec![k.clone(), n.to_string(), seen]
            })
            .collect();
        out.push_str(&grid(&["outcome", "count", "user saw"], &rows, "lrl"));
    }

    let totals: Vec<_> = m
        .latency
        .iter()
        .filter(|l| l.domain == ALL && l.engine == ALL)
        .collect();
    if !totals.is_empty() {
        out.push_str("\nLatency per hop (lab time, every domain)\n");
        let rows: Vec<Vec<String>> = totals
            .iter()
            .map(|l| {
                let s = &l.latency;
                vec![
                    l.hop.clone(),
                    s.count.to_string(),
                    duration_us(s.p50_us),
                    duration_us(s.p90_us),
                    duration_us(s.p99_us),
                    duration_us(s.p999_us),
                    duration_us(s.max_us),
                ]
            })
            .collect();
        out.push_str(&grid(
            &["hop", "count", "p50", "p90", "p99", "p99.9", "max"],
            &rows,
            "lrrrrrr",
        ));
    }

    let by_de: Vec<_> = m
        .latency
        .iter()
        .filter(|l| l.hop == hop::TOTAL && l.engine != ALL)
        .collect();
    if !by_de.is_empty() {
        out.push_str("\nEnd to end per domain and engine\n");
        let rows: Vec<Vec<String>> = by_de
            .iter()
            .map(|l| {
                let s = &l.latency;
                vec![
                    l.domain.clone(),
                    l.engine.clone(),
                    s.count.to_string(),
                    duration_us(s.p50_us),
                    duration_us(s.p99_us),
                    duration_us(s.max_us),
                ]
            })
            .collect();
        out.push_str(&grid(
            &["domain", "engine", "count", "p50", "p99", "max"],
            &rows,
            "llrrrr",
        ));
    }

    if !r.expectations.is_empty() {
        let failed = a.summary.expectations_failed.len();
        out.push_str(&format!(
            "\nExpectations: {} passed, {failed} failed\n",
            a.summary.expectations_passed
        ));
        for e in &r.expectations {
            out.push_str(&format!(
                "  {} {}: expected {}, observed {}\n",
                if e.passed { "PASS" } else { "FAIL" },
                e.name,
                e.expected,
                e.observed
            ));
        }
    }

    if !a.explanations.is_empty() {
        out.push_str(&format!(
            "\nWhy writebacks did not succeed ({})\n",
            a.explanations.len()
        ));
        for e in a.explanations.iter().take(MAX_EXPLANATIONS) {
            out.push_str(&explanation_line(e, r.start));
        }
        if a.explanations.len() > MAX_EXPLANATIONS {
            out.push_str(&format!(
                "  … and {} more (report.md and report.json list them all)\n",
                a.explanations.len() - MAX_EXPLANATIONS
            ));
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::{sample, table};

    /// Each line with its runs of spaces squeezed to one, trimmed.
    pub(crate) fn squeeze(t: &str) -> Vec<String> {
        t.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    #[test]
    fn grid_aligns_text_left_and_numbers_right() {
        let g = grid(
            &["name", "n"],
            &[
                vec!["a".into(), "100".into()],
                vec!["long name".into(), "7".into()],
            ],
            "lr",
        );
        assert_eq!(g, "  name         n\n  a          100\n  long name    7\n");
    }

    #[test]
    fn terminal_report_of_the_sample() {
        let t = table(&sample::record());
        assert!(t.starts_with("sspr-lab run: sample (seed 7, backend turmoil)\n"));
        assert!(
            t.contains("virtual time 2026-11-25T09:00:00Z to 2026-11-25T11:00:00Z (2 h 00 min)")
        );
        assert!(t.contains("writebacks 10: 2 succeeded, 7 failed, 1 in doubt"));
        let lines = squeeze(&t);
        assert!(
            lines.contains(&"access_denied 3 SSPR_0029".to_string()),
            "{t}"
        );
        assert!(lines.contains(&"policy_violation 1 On-premises policy violation".to_string()));
        assert!(
            lines.contains(&"ldap_connect 3 500 µs 600 µs 600 µs 600 µs 600 µs".to_string()),
            "{t}"
        );
        assert!(
            lines.contains(&"fabrikam.lab connect-sync 1 800.0 ms 800.0 ms 800.0 ms".to_string())
        );
        assert!(t.contains("  FAIL p99 total: expected <= 500 ms, observed 800 ms"));
        assert!(t.contains("  10:00:05 carol access_denied: DC2 refused:"));
        // Hops in report order: total first, replication after the agent's.
        let pos = |s: &str| t.find(s).unwrap();
        assert!(pos("\n  total ") < pos("\n  relay_queue "));
        assert!(pos("\n  ldap_modify ") < pos("\n  replication "));
    }

    #[test]
    fn long_lists_are_cut() {
        let mut r = sample::empty();
        for i in 0..25 {
            r.writebacks
                .push(sample::writeback(i, wire::types::Outcome::DcUnreachable));
        }
        let t = table(&r);
        assert!(t.contains("Why writebacks did not succeed (25)"));
        assert!(t.contains("… and 5 more"));
    }
}
