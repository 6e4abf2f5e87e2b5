//! The plots, as SVG text (plotters' SVG backend, no fonts needed): the latency CDF per hop,
//! outcomes over time, and replication and propagation progress. Same record, same bytes.

use plotters::prelude::*;
use runtime::LabTime;

use super::times::rfc3339;
use super::{Analysis, LATENCY_SVG, OUTCOMES_SVG, PROGRESS_SVG, ReportError};

/// Every plot's size in pixels.
const SIZE: (u32, u32) = (960, 540);
const FONT: &str = "sans-serif";

type Drawn = Result<(), Box<dyn std::error::Error>>;

fn draw(name: &'static str, f: impl FnOnce(&mut String) -> Drawn) -> Result<String, ReportError> {
    let mut buf = String::new();
    f(&mut buf).map_err(|e| ReportError::Plot {
        name,
        problem: e.to_string(),
    })?;
    Ok(buf)
}

/// Every plot of an analysed record, as (file name, SVG text).
pub fn render_all(a: &Analysis<'_>) -> Result<Vec<(&'static str, String)>, ReportError> {
    Ok(vec![
        (LATENCY_SVG, latency_cdf(a)?),
        (OUTCOMES_SVG, outcomes_over_time(a)?),
        (PROGRESS_SVG, progress(a)?),
    ])
}

/// A time axis in lab time: values are `unit` seconds after `start`, so plotters' round numbers
/// fall on round clock times (seconds for spans up to 10 minutes, minutes up to two days, else
/// hours).
#[derive(Clone, Copy)]
struct TimeAxis {
    start: LabTime,
    unit: f64,
}

impl TimeAxis {
    fn for_span(start: LabTime, span_secs: f64) -> Self {
        let unit = if span_secs <= 600.0 {
            1.0
        } else if span_secs <= 2.0 * 86_400.0 {
            60.0
        } else {
            3_600.0
        };
        Self { start, unit }
    }

    /// The axis value of a time.
    fn at(&self, t: LabTime) -> f64 {
        t.0.saturating_sub(self.start.0) as f64 / 1e9 / self.unit
    }

    /// The label of an axis value: `HH:MM:SS`, `HH:MM`, or `MM-DD HH:MM` by unit.
    fn label(&self, v: f64) -> String {
        let secs = (v.max(0.0) * self.unit).round() as u64;
        let t = LabTime::from_unix_secs(self.start.unix_secs() + secs);
        let s = rfc3339(t);
        match self.unit {
            1.0 => s[11..19].to_string(),
            60.0 => s[11..16].to_string(),
            _ => format!("{} {}", &s[5..10], &s[11..16]),
        }
    }
}

fn no_data(buf: &mut String, title: &str, message: &str) -> Drawn {
    let root = SVGBackend::with_string(buf, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, (FONT, 22))?;
    root.draw_text(
        message,
        &TextStyle::from((FONT, 16)).color(&BLACK),
        (40, 40),
    )?;
    root.present()?;
    Ok(())
}

/// The latency CDF per hop: x the latency in ms (log scale), y the fraction of writebacks at or
/// below it, one line per hop.
pub fn latency_cdf(a: &Analysis<'_>) -> Result<String, ReportError> {
    let title = format!("Latency CDF per hop: {}", a.record.scenario);
    let series: Vec<(String, Vec<(f64, f64)>)> = a
        .histograms
        .hop_names()
        .into_iter()
        .filter_map(|name| {
            let l = a.histograms.hop(&name)?;
            let pts = l
                .cdf()
                .into_iter()
                .map(|(us, q)| (us.max(1) as f64 / 1_000.0, q))
                .collect::<Vec<_>>();
            Some((name, pts))
        })
        .collect();
    draw(LATENCY_SVG, |buf| {
        if series.is_empty() {
            return no_data(buf, &title, "No hop was timed.");
        }
        let xs = series.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x));
        let lo = xs.clone().fold(f64::INFINITY, f64::min);
        let hi = xs.fold(0.0, f64::max);
        let (lo, hi) = (lo * 0.8, (hi * 1.25).max(lo * 10.0));
        let root = SVGBackend::with_string(buf, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&title, (FONT, 22))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d((lo..hi).log_scale(), 0f64..1.0f64)?;
        chart
            .configure_mesh()
            .x_desc("latency, ms of lab time (log scale)")
            .y_desc("fraction of writebacks")
            .x_label_formatter(&|v| format!("{v}"))
            .draw()?;
        for (i, (name, pts)) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    })
}

/// Outcomes over time: one step line per outcome, the count of operations ending in each bucket.
pub fn outcomes_over_time(a: &Analysis<'_>) -> Result<String, ReportError> {
    let r = a.record;
    let m = &a.summary.metrics;
    let title = format!("Outcomes over time: {}", r.scenario);
    let axis = TimeAxis::for_span(r.start, m.bucket_secs as f64 * m.buckets.len() as f64);
    let width = m.bucket_secs as f64 / axis.unit;
    let span = width * m.buckets.len() as f64;
    let max = m
        .buckets
        .iter()
        .flat_map(|b| b.counts.values())
        .copied()
        .max()
        .unwrap_or(0);
    draw(OUTCOMES_SVG, |buf| {
        if m.outcomes.is_empty() {
            return no_data(buf, &title, "No writebacks.");
        }
        let root = SVGBackend::with_string(buf, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&title, (FONT, 22))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..span, 0f64..(max as f64 * 1.1).max(1.0))?;
        let fmt = |v: &f64| axis.label(*v);
        let whole = |v: &f64| {
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .y_label_formatter(&whole)
            .x_desc(format!(
                "lab time (UTC), buckets of {}",
                super::times::duration_us(m.bucket_secs * 1_000_000)
            ))
            .y_desc("operations ended")
            .x_label_formatter(&fmt)
            .draw()?;
        for (i, key) in m.outcomes.keys().enumerate() {
            let mut pts = Vec::with_capacity(m.buckets.len() * 2);
            for (j, b) in m.buckets.iter().enumerate() {
                let n = b.counts.get(key).copied().unwrap_or(0) as f64;
                pts.push((j as f64 * width, n));
                pts.push(((j + 1) as f64 * width, n));
            }
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)))?
                .label(key.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    })
}

/// Replication and propagation progress: one step line per change followed, the share of DCs
/// or objects that have it (0 to 100 %).
pub fn progress(a: &Analysis<'_>) -> Result<String, ReportError> {
    let r = a.record;
    let title = format!("Replication and propagation: {}", r.scenario);
    let samples = || {
        r.progress
            .iter()
            .flat_map(|p| p.samples.iter().map(|s| s.at))
    };
    let (first, last) = (samples().min(), samples().max());
    draw(PROGRESS_SVG, |buf| {
        let (Some(first), Some(last)) = (first, last) else {
            return no_data(buf, &title, "No replication or propagation was followed.");
        };
        let axis = TimeAxis::for_span(r.start, last.0.saturating_sub(first.0) as f64 / 1e9);
        let (lo, hi) = (axis.at(first), axis.at(last));
        let pad = ((hi - lo) * 0.05).max(1.0);
        let (lo, hi) = ((lo - pad).max(0.0), hi + pad);
        let root = SVGBackend::with_string(buf, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&title, (FONT, 22))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(lo..hi, 0f64..105f64)?;
        let fmt = |v: &f64| axis.label(*v);
        let percent = |v: &f64| format!("{v:.0} %");
        chart
            .configure_mesh()
            .x_desc("lab time (UTC)")
            .y_desc("share of DCs or objects reached")
            .y_label_formatter(&percent)
            .x_label_formatter(&fmt)
            .draw()?;
        for (i, p) in r.progress.iter().enumerate() {
            let mut pts: Vec<(f64, f64)> = Vec::with_capacity(p.samples.len() * 2);
            for s in &p.samples {
                let pct = if s.total == 0 {
                    0.0
                } else {
                    100.0 * s.done as f64 / s.total as f64
                };
                if let Some(&(_, prev)) = pts.last() {
                    pts.push((axis.at(s.at), prev));
                }
                pts.push((axis.at(s.at), pct));
            }
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)))?
                .label(format!("{}: {}", p.kind.as_str(), p.name))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::sample;

    /// A small XML well-formedness check: one root element, every tag closed in order, quoted
    /// attributes, no stray `<` or bare `&` in text. Returns the root's name and the element
    /// count.
    pub(crate) fn well_formed(xml: &str) -> Result<(String, usize), String> {
        let b = xml.as_bytes();
        let mut i = 0;
        let mut stack: Vec<String> = Vec::new();
        let mut root: Option<String> = None;
        let mut elements = 0;
        let entity_ok = |rest: &str| {
            let end = rest.find(';').unwrap_or(usize::MAX);
            end != usize::MAX
                && end > 1
                && (["amp", "lt", "gt", "quot", "apos"].contains(&&rest[1..end])
                    || rest[1..end].starts_with('#'))
        };
        while i < b.len() {
            if b[i] == b'<' {
                let rest = &xml[i..];
                if rest.starts_with("<?") {
                    i += rest.find("?>").ok_or("unclosed <?")? + 2;
                    continue;
                }
                if rest.starts_with("<!--") {
                    i += rest.find("-->").ok_or("unclosed comment")? + 3;
                    continue;
                }
                // Find the tag's end, outside quotes.
                let mut j = 1;
                let mut quote: Option<u8> = None;
                while j < rest.len() {
                    let c = rest.as_bytes()[j];
                    match quote {
                        Some(q) if c == q => quote = None,
                        Some(_) if c == b'<' => return Err("< inside an attribute".into()),
                        Some(_) => {}
                        None if c == b'"' || c == b'\'' => quote = Some(c),
                        None if c == b'>' => break,
                        None => {}
                    }
                    j += 1;
                }
                if j >= rest.len() {
                    return Err("unclosed tag".into());
                }
                let inner = &rest[1..j];
                i += j + 1;
                if let Some(name) = inner.strip_prefix('/') {
                    let open = stack.pop().ok_or(format!("stray </{name}>"))?;
                    if open != name.trim() {
                        return Err(format!("</{name}> closes <{open}>"));
                    }
                    continue;
                }
                let self_closing = inner.ends_with('/');
                let inner = inner.trim_end_matches('/');
                let name: String = inner.chars().take_while(|c| !c.is_whitespace()).collect();
                if name.is_empty() {
                    return Err("empty tag name".into());
                }
                // Attributes: name="value" pairs.
                let mut attrs = inner[name.len()..].trim();
                while !attrs.is_empty() {
                    let eq = attrs
                        .find('=')
                        .ok_or(format!("attribute without value in <{name}>"))?;
                    let after = attrs[eq + 1..].trim_start();
                    let q = after.chars().next().ok_or("missing attribute value")?;
                    if q != '"' && q != '\'' {
                        return Err(format!("unquoted attribute in <{name}>"));
                    }
                    let close = after[1..].find(q).ok_or("unclosed attribute")?;
                    attrs = after[close + 2..].trim_start();
                }
                if stack.is_empty() {
                    if root.is_some() {
                        return Err("more than one root element".into());
                    }
                    root = Some(name.clone());
                }
                elements += 1;
                if !self_closing {
                    stack.push(name);
                }
            } else {
                if b[i] == b'&' && !entity_ok(&xml[i..]) {
                    return Err("bare & in text".into());
                }
                if stack.is_empty() && !b[i].is_ascii_whitespace() {
                    return Err("text outside the root".into());
                }
                i += 1;
            }
        }
        if let Some(open) = stack.pop() {
            return Err(format!("<{open}> never closed"));
        }
        Ok((root.ok_or("no root element")?, elements))
    }

    #[test]
    fn plots_are_well_formed_deterministic_svg() {
        let mut r = sample::record();
        r.scenario = "a <sample> & co".into();
        let a = Analysis::new(&r);
        let plots = render_all(&a).unwrap();
        assert_eq!(plots.len(), 3);
        for (name, svg) in &plots {
            let (root, n) = well_formed(svg).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(root, "svg", "{name}");
            assert!(n > 20, "{name}: only {n} elements");
            assert!(svg.contains("a &lt;sample&gt; &amp; co"), "{name}");
        }
        let (_, cdf) = &plots[0];
        for h in ["total", "ldap_modify", "replication"] {
            assert!(cdf.contains(&format!(">\n{h}\n<")), "legend lacks {h}");
        }
        let (_, outcomes) = &plots[1];
        assert!(outcomes.contains(">\naccess_denied\n<"));
        assert!(outcomes.contains(">\ncloud:WritebackNotEnabled\n<"));
        let (_, progress) = &plots[2];
        assert!(progress.contains(">\nreplication: ACE on CN=Carol Cruz\n<"));
        assert_eq!(plots, render_all(&Analysis::new(&r)).unwrap());
    }

    #[test]
    fn empty_runs_still_give_well_formed_plots() {
        let r = sample::empty();
        for (name, svg) in render_all(&Analysis::new(&r)).unwrap() {
            well_formed(&svg).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert!(well_formed("<svg><g></svg>").is_err());
        assert!(well_formed("<svg a=b/>").is_err());
        assert!(well_formed("<svg>a & b</svg>").is_err());
        assert!(well_formed("<svg/><svg/>").is_err());
    }
}
