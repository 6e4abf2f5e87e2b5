//! LDIF (RFC 2849): export a DC's copy of a domain (binary and unsafe values base64, DNs as DNs,
//! unicodePwd never), parse content records, and import them as LDAP adds.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::ctx::OpCtx;
use crate::dit::Dit;
use crate::domain::Dc;
use crate::error::DirError;
use crate::schema::{Kind, Syntax, schema};

/// One parsed record: its DN, attributes in file order, and the line it started on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The entry's DN.
    pub dn: String,
    /// (attribute, value) pairs.
    pub attrs: Vec<(String, Vec<u8>)>,
    /// 1-based line of the `dn:` line.
    pub line: usize,
}

/// An LDIF problem, with the line it is on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}: {message}")]
pub struct LdifError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn safe(v: &[u8]) -> bool {
    // RFC 2849 SAFE-STRING: no NUL/CR/LF, not starting with space, ':' or '<', no trailing space.
    !v.is_empty()
        && std::str::from_utf8(v).is_ok()
        && v.iter()
            .all(|b| *b != 0 && *b != b'\n' && *b != b'\r' && *b >= 0x20)
        && !matches!(v[0], b' ' | b':' | b'<')
        && v.last() != Some(&b' ')
}

fn line(out: &mut String, attr: &str, v: &[u8]) {
    if safe(v) {
        out.push_str(&format!("{attr}: {}\n", String::from_utf8_lossy(v)));
    } else {
        out.push_str(&format!("{attr}:: {}\n", B64.encode(v)));
    }
}

/// Writes every entry (or those under `base`) in tree order.
pub fn export(dit: &Dit, base: Option<&str>) -> Result<String, DirError> {
    let root = match base {
        Some(b) => crate::ops::resolve(dit, b)?,
        None => dit
            .root()
            .ok_or_else(|| DirError::Other("empty directory".into()))?,
    };
    let mut out = String::from("version: 1\n");
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        let Some(e) = dit.get(id) else { continue };
        out.push('\n');
        line(&mut out, "dn", dit.dn(id).as_bytes());
        for (a, vals) in &e.attrs {
            let def = schema().def(*a);
            if def.syntax == Syntax::Password || def.kind == Kind::Constructed {
                continue;
            }
            for v in vals {
                let bytes = match v {
                    crate::value::Value::Dn(t) => dit.dn(*t).into_bytes(),
                    other => other.to_bytes(),
                };
                line(&mut out, def.name, &bytes);
            }
        }
        let kids: Vec<_> = dit.children(id).collect();
        stack.extend(kids.into_iter().rev());
    }
    Ok(out)
}

/// Parses content records (and `changetype: add` records); other change types are refused.
pub fn parse(text: &str) -> Result<Vec<Record>, LdifError> {
    // Unfold continuation lines, remembering where each logical line started.
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(cont) = raw.strip_prefix(' ') {
            match lines.last_mut() {
                Some((_, l)) if !l.is_empty() => l.push_str(cont),
                _ => {
                    return Err(LdifError {
                        line: i + 1,
                        message: "continuation line with nothing to continue".into(),
                    });
                }
            }
        } else {
            lines.push((i + 1, raw.to_string()));
        }
    }
    let mut records = Vec::new();
    let mut cur: Option<Record> = None;
    for (n, l) in lines {
        if l.starts_with('#') {
            continue;
        }
        if l.is_empty() {
            if let Some(r) = cur.take() {
                records.push(r);
            }
            continue;
        }
        let err = |m: &str| LdifError {
            line: n,
            message: m.to_string(),
        };
        let (attr, value) = if let Some((a, v)) = l.split_once("::") {
            (
                a.to_string(),
                B64.decode(v.trim()).map_err(|_| err("bad base64 value"))?,
            )
        } else if let Some((a, v)) = l.split_once(':') {
            if v.starts_with('<') {
                return Err(err("URL values are not supported"));
            }
            (a.to_string(), v.trim_start().as_bytes().to_vec())
        } else {
            return Err(err("expected `attribute: value`"));
        };
        if attr.is_empty()
            || !attr
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ';' || c == '.')
        {
            return Err(err("bad attribute name"));
        }
        match (&mut cur, attr.to_ascii_lowercase().as_str()) {
            (None, "version") => {}
            (None, "dn") => {
                let dn = String::from_utf8(value).map_err(|_| err("DN is not UTF-8"))?;
                cur = Some(Record {
                    dn,
                    attrs: Vec::new(),
                    line: n,
                });
            }
            (None, _) => return Err(err("a record must start with dn:")),
            (Some(_), "dn") => return Err(err("dn: inside a record (missing blank line?)")),
            (Some(_), "changetype") => {
                if value != b"add" {
                    return Err(err(
                        "only content records and changetype: add are supported",
                    ));
                }
            }
            (Some(r), _) => r.attrs.push((attr, value)),
        }
    }
    if let Some(r) = cur.take() {
        records.push(r);
    }
    Ok(records)
}

/// Adds `records` to `dc` in file order as `ctx`; attributes AD maintains itself are skipped.
/// Returns how many entries were added. Stops at the first refusal, naming its line.
pub async fn import(
    dc: &Dc,
    ctx: &OpCtx,
    records: &[Record],
    skip_existing: bool,
) -> Result<usize, LdifError> {
    let mut added = 0;
    for r in records {
        let mut attrs: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
        for (a, v) in &r.attrs {
            let def = schema().attr(a).ok_or_else(|| LdifError {
                line: r.line,
                message: format!("{}: undefined attribute {a}", r.dn),
            })?;
            if def.kind != Kind::User || def.name == "objectCategory" {
                continue;
            }
            match attrs.iter_mut().find(|(x, _)| x.eq_ignore_ascii_case(a)) {
                Some((_, vs)) => vs.push(v.clone()),
                None => attrs.push((a.clone(), vec![v.clone()])),
            }
        }
        match crate::ops::add(dc, ctx, &r.dn, attrs).await {
            Ok(()) => added += 1,
            Err(DirError::AlreadyExists(_)) if skip_existing => {}
            Err(e) => {
                return Err(LdifError {
                    line: r.line,
                    message: format!("{}: {}", r.dn, e.message().trim_end()),
                });
            }
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_folds_base64_and_errors() {
        let text = "version: 1\n\n# c\ndn: OU=A,DC=x\nobjectClass: organizationalUnit\ndescription:: aGk=\ndisplayName: long\n  value\n\ndn: CN=b,DC=x\nchangetype: add\ncn: b\n";
        let r = parse(text).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].attrs[1], ("description".into(), b"hi".to_vec()));
        assert_eq!(r[0].attrs[2].1, b"long value".to_vec());
        assert_eq!(r[1].line, 10);
        let e = parse("dn: X=1\nbroken line\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("dn: X=1\nchangetype: delete\n").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn unsafe_values_are_base64() {
        let mut s = String::new();
        line(&mut s, "a", b" lead");
        line(&mut s, "b", &[0, 1, 2]);
        line(&mut s, "c", b"plain");
        assert_eq!(s, "a:: IGxlYWQ=\nb:: AAEC\nc: plain\n");
    }
}
