//! What goes wrong with a scenario file, and where: every problem names the file, the line and
//! column, and the field (a path such as `timeline[3].dc_stop.dc`).

use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One segment of a field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    /// A table key.
    Key(String),
    /// An array index (0-based).
    Index(usize),
}

/// Where a value is in the file's tree, e.g. `timeline[3].dc_stop.dc`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<Seg>);

impl FieldPath {
    /// The top level.
    pub fn root() -> FieldPath {
        FieldPath(Vec::new())
    }

    /// This path and a key.
    pub fn k(&self, key: &str) -> FieldPath {
        let mut p = self.clone();
        p.0.push(Seg::Key(key.to_string()));
        p
    }

    /// This path and an index.
    pub fn i(&self, index: usize) -> FieldPath {
        let mut p = self.clone();
        p.0.push(Seg::Index(index));
        p
    }

    /// Whether it is the top level.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (n, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Index(i) => write!(f, "[{i}]")?,
                Seg::Key(k) => {
                    if n > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !k.is_empty()
                        && k.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                    if bare {
                        f.write_str(k)?
                    } else {
                        write!(f, "{k:?}")?
                    }
                }
            }
        }
        Ok(())
    }
}

/// A place in a file: 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file, as given (embedded catalogue files: `sim/scenarios/<name>.toml`).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
}

impl Location {
    /// The line and column of byte `offset` of `text`.
    pub fn of(file: &str, text: &str, offset: usize) -> Location {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        Location {
            file: file.to_string(),
            line,
            col: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// One problem: where, which field, what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where.
    pub at: Location,
    /// The field.
    pub field: FieldPath,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.at, self.field, self.message)
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The reason.
        source: std::io::Error,
    },
    /// Not TOML.
    #[error("{0} (TOML syntax)")]
    Syntax(Problem),
    /// TOML, but not a scenario: an unknown field, a wrong type, a bad duration, an unknown
    /// operation, a missing field…
    #[error("{0}")]
    Field(Problem),
    /// A scenario that does not hold together: an unknown domain, DC or user in a step, a step
    /// after the end, weights that sum to 0… One problem per line.
    #[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
    /// Neither a catalogue name nor a file.
    #[error("unknown scenario {name:?}: not a file, and the catalogue has {known}")]
    Unknown {
        /// What was asked for.
        name: String,
        /// The catalogue's names.
        known: String,
    },
}

impl ScenarioError {
    /// The problems it carries (none for a read error or an unknown name).
    pub fn problems(&self) -> Vec<&Problem> {
        match self {
            ScenarioError::Syntax(p) | ScenarioError::Field(p) => vec![p],
            ScenarioError::Invalid(ps) => ps.iter().collect(),
            _ => Vec::new(),
        }
    }
}

/// Every node of a parsed file with its span, to turn a span into a field path and back.
pub(crate) struct SpanIndex {
    /// (span, path, is the key rather than the value).
    nodes: Vec<(Range<usize>, FieldPath, bool)>,
}

impl SpanIndex {
    /// Indexes a parsed document.
    pub(crate) fn new(root: &Spanned<DeTable<'_>>) -> SpanIndex {
        let mut nodes = Vec::new();
        walk_table(root.get_ref(), &FieldPath::root(), &mut nodes);
        SpanIndex { nodes }
    }

    /// The field at `span`: the smallest node containing its start (a key or a value).
    pub(crate) fn path_at(&self, span: &Range<usize>) -> FieldPath {
        self.nodes
            .iter()
            .filter(|(s, _, _)| s.start <= span.start && span.start < s.end.max(s.start + 1))
            .min_by_key(|(s, p, _)| (s.end - s.start, usize::MAX - p.0.len()))
            .map(|(_, p, _)| p.clone())
            .unwrap_or_default()
    }

    /// Where `path`'s value is; for a field the file leaves out, its nearest ancestor.
    pub(crate) fn span_of(&self, path: &FieldPath) -> Option<Range<usize>> {
        let mut p = path.clone();
        loop {
            if let Some((s, _, _)) = self.nodes.iter().find(|(_, q, key)| !key && *q == p) {
                return Some(s.clone());
            }
            p.0.pop()?;
        }
    }
}

fn walk_table(t: &DeTable<'_>, at: &FieldPath, out: &mut Vec<(Range<usize>, FieldPath, bool)>) {
    for (k, v) in t.iter() {
        let p = at.k(k.get_ref());
        out.push((k.span(), p.clone(), true));
        walk_value(v, &p, out);
    }
}

fn walk_value(
    v: &Spanned<DeValue<'_>>,
    at: &FieldPath,
    out: &mut Vec<(Range<usize>, FieldPath, bool)>,
) {
    out.push((v.span(), at.clone(), false));
    match v.get_ref() {
        DeValue::Table(t) => walk_table(t, at, out),
        DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                walk_value(item, &at.i(i), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_like_toml() {
        let p = FieldPath::root().k("timeline").i(3).k("dc_stop").k("dc");
        assert_eq!(p.to_string(), "timeline[3].dc_stop.dc");
        let q = FieldPath::root()
            .k("lab")
            .k("cloud")
            .k("domain_writeback")
            .k("contoso.lab");
        assert_eq!(q.to_string(), "lab.cloud.domain_writeback.\"contoso.lab\"");
        assert_eq!(FieldPath::root().to_string(), "(top level)");
    }

    #[test]
    fn locations_count_lines_and_characters() {
        let text = "a = 1\nbé = \"x\"\n";
        let l = Location::of("f.toml", text, text.find("\"x\"").unwrap());
        assert_eq!((l.line, l.col), (2, 6));
        assert_eq!(Location::of("f.toml", text, 0).to_string(), "f.toml:1:1");
    }
}
