//! `report.json`: the summary, the explanations and the whole record, pretty-printed. The same
//! record gives the same bytes; [`read`] reads it back.

use std::io;

use serde::{Deserialize, Serialize};
use serde_json::ser::Formatter;

use super::{Analysis, Explanation, ReportError, RunRecord, RunSummary};

/// The `format` of the reports this version writes and reads.
pub const FORMAT: &str = "sspr-lab-report/1";

/// The JSON report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`FORMAT`].
    pub format: String,
    /// The run's identity, metrics and expectations' verdicts.
    pub summary: RunSummary,
    /// One explanation per writeback that did not succeed.
    pub explanations: Vec<Explanation>,
    /// Everything the run observed.
    pub record: RunRecord,
}

/// The JSON report of an analysed record, with a final newline: objects indented by two
/// spaces, and every element of a list on one line of its own (so a day of writebacks stays
/// readable and small).
pub fn render(a: &Analysis<'_>) -> String {
    let report = ReportRef {
        format: FORMAT,
        summary: &a.summary,
        explanations: &a.explanations,
        record: a.record,
    };
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, LineFormatter::default());
    report
        .serialize(&mut ser)
        .expect("a report always serializes");
    buf.push(b'\n');
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

/// A JSON layout between pretty and compact: containers are indented one level per depth,
/// except that a container inside a list, and everything inside it, is written on one line.
#[derive(Debug, Default)]
pub struct LineFormatter {
    /// Open containers: (compact, has a value yet).
    stack: Vec<(bool, bool)>,
    /// Whether each open container is a list.
    lists: Vec<bool>,
}

impl LineFormatter {
    fn open<W: ?Sized + io::Write>(&mut self, w: &mut W, list: bool) -> io::Result<()> {
        let compact = match (self.stack.last(), self.lists.last()) {
            (Some((c, _)), Some(l)) => *c || *l,
            _ => false,
        };
        self.stack.push((compact, false));
        self.lists.push(list);
        w.write_all(if list { b"[" } else { b"{" })
    }

    fn close<W: ?Sized + io::Write>(&mut self, w: &mut W, list: bool) -> io::Result<()> {
        let (compact, has_value) = self.stack.pop().unwrap_or((true, false));
        self.lists.pop();
        if !compact && has_value {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(if list { b"]" } else { b"}" })
    }

    fn indent<W: ?Sized + io::Write>(&self, w: &mut W) -> io::Result<()> {
        for _ in 0..self.stack.len() {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn item<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        let compact = self.stack.last().is_some_and(|(c, _)| *c);
        if compact {
            return if first { Ok(()) } else { w.write_all(b",") };
        }
        w.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(w)
    }

    fn done(&mut self) {
        if let Some(top) = self.stack.last_mut() {
            top.1 = true;
        }
    }
}

impl Formatter for LineFormatter {
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, true)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, true)
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.item(w, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.done();
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, false)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, false)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.item(w, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        let compact = self.stack.last().is_some_and(|(c, _)| *c);
        w.write_all(if compact { b":" } else { b": " })
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.done();
        Ok(())
    }
}

/// The JSON report of `record`.
pub fn to_json(record: &RunRecord) -> String {
    render(&Analysis::new(record))
}

#[derive(Serialize)]
struct ReportRef<'a> {
    format: &'a str,
    summary: &'a RunSummary,
    explanations: &'a [Explanation],
    record: &'a RunRecord,
}

#[derive(Deserialize)]
struct SummaryOnly {
    format: String,
    summary: RunSummary,
}

fn not_a_report(path: &str, problem: impl ToString) -> ReportError {
    ReportError::NotAReport {
        path: path.to_string(),
        problem: problem.to_string(),
    }
}

/// Reads a whole JSON report; `path` names it in errors.
pub fn read(text: &str, path: &str) -> Result<Report, ReportError> {
    let r: Report = serde_json::from_str(text).map_err(|e| not_a_report(path, e))?;
    check_format(&r.format, path)?;
    Ok(r)
}

/// Reads only the summary of a JSON report (the record is skipped, not kept).
pub fn read_summary(text: &str, path: &str) -> Result<RunSummary, ReportError> {
    let r: SummaryOnly = serde_json::from_str(text).map_err(|e| not_a_report(path, e))?;
    check_format(&r.format, path)?;
    Ok(r.summary)
}

fn check_format(format: &str, path: &str) -> Result<(), ReportError> {
    if format == FORMAT {
        Ok(())
    } else {
        Err(not_a_report(
            path,
            format!("format {format:?}, this version reads {FORMAT:?}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn round_trip_and_byte_identical_twice() {
        let r = sample::record();
        let one = to_json(&r);
        let two = to_json(&r.clone());
        assert_eq!(one, two);
        let back = read(&one, "report.json").unwrap();
        assert_eq!(back.record, r);
        assert_eq!(back.summary, RunSummary::from_record(&r));
        assert_eq!(back.explanations, crate::report::explain::explain(&r));
        // Reading back and writing again gives the same bytes.
        assert_eq!(to_json(&back.record), one);
        assert_eq!(read_summary(&one, "x").unwrap(), back.summary);
        // Times are RFC 3339 text, outcomes their keys, hops a map in hop order; one line per
        // list element.
        assert!(one.contains("\n  \"record\": {\n    \"scenario\": \"sample\",\n"));
        assert!(one.contains("\n    \"start\": \"2026-11-25T09:00:00Z\",\n"));
        assert!(one.contains(
            "\n      {\"job_id\":\"job-alice\",\"operation\":\"sspr_reset\",\"kind\":\"reset\","
        ));
        assert!(one.contains("\"outcome\":\"cloud:WritebackNotEnabled\""));
        assert!(one.contains("\"reason\":{\"kind\":\"access\""));
        assert!(one.contains(
            "\"hops\":{\"cloud\":2000,\"relay_queue\":150000,\"ack\":3000,\"open\":100,"
        ));
        assert!(one.contains("\n    \"writebacks\": [\n      {"));
        assert!(one.contains("\n    \"steps\": [\n      {"));
        assert!(one.contains("\"expectations_failed\": [\n      \"p99 total\"\n    ],"));
        // Every line of a list element is a whole value.
        for line in one.lines().filter(|l| l.starts_with("      {")) {
            let v = line.trim_start().trim_end_matches(',');
            serde_json::from_str::<serde_json::Value>(v).unwrap();
        }
        // The layout is only whitespace: the same value as serde's own output.
        let value: serde_json::Value = serde_json::from_str(&one).unwrap();
        let plain: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&back).unwrap()).unwrap();
        assert_eq!(value, plain);
    }

    #[test]
    fn refuses_other_files_with_the_reason() {
        let e = read("{}", "x.json").unwrap_err().to_string();
        assert!(
            e.starts_with("x.json: not an sspr-lab report: missing field"),
            "{e}"
        );
        let r = sample::record();
        let other = to_json(&r).replace(FORMAT, "sspr-lab-report/99");
        let e = read_summary(&other, "y.json").unwrap_err().to_string();
        assert!(e.contains("format \"sspr-lab-report/99\""), "{e}");
    }
}
