//! The Prometheus text exposition format (and OpenMetrics text), one
//! sample line at a time, for [`super::prom`].
//!
//! Parsed here ([`parse_line`]), not by a crate:
//! prometheus-parse (0.2) splits labels on `,` and `=` (a value with a
//! comma, an escaped quote or a `}` comes out wrong or is dropped) and
//! skips lines it cannot read, so a wrong page passes as an empty one;
//! openmetrics-parser is LGPL-3.0, against this crate's MIT OR Apache-2.0;
//! prom_text_format_parser (0.1, its only release) refuses OpenMetrics;
//! prometheus-exposition-format-rs was last released in 2020, on nom 5.
//! The format is small: a name, labels with three escapes, a value, a
//! timestamp. A line that is none of these fails the page, as in Prometheus.

use std::borrow::Cow;

/// One sample line: its metric name, labels (values unescaped) and value.
/// A timestamp and an OpenMetrics exemplar are checked for form and dropped.
#[derive(Debug)]
pub(super) struct Line<'a> {
    pub(super) name: &'a str,
    pub(super) labels: Vec<(&'a str, Cow<'a, str>)>,
    pub(super) value: f64,
}

impl<'a> Line<'a> {
    pub(super) fn label(&self, key: &str) -> Option<&Cow<'a, str>> {
        self.labels.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// Parses `name{label="value",...} value [timestamp] [# exemplar]`, the
/// line trimmed; the reason when it is not that. Blanks may stand around
/// the label tokens and a comma may end them, as Prometheus's own parser
/// takes. Values are floats as Go writes them, which Rust's parse reads,
/// `NaN`, `+Inf` and `-Inf` too.
pub(super) fn parse_line(line: &str) -> Result<Line<'_>, &'static str> {
    let b = line.as_bytes();
    let end = name_len(b, true);
    if end == 0 {
        return Err("not a metric name");
    }
    let name = &line[..end];
    let mut labels = Vec::new();
    let mut i = skip_blanks(b, end);
    if b.get(i) == Some(&b'{') {
        i += 1;
        loop {
            i = skip_blanks(b, i);
            if b.get(i) == Some(&b'}') {
                i += 1;
                break;
            }
            let n = name_len(&b[i..], false);
            if n == 0 {
                return Err("not a label name");
            }
            let key = &line[i..i + n];
            i = skip_blanks(b, i + n);
            if b.get(i) != Some(&b'=') {
                return Err("a label without `=`");
            }
            i = skip_blanks(b, i + 1);
            if b.get(i) != Some(&b'"') {
                return Err("a label value without its quotes");
            }
            let (value, after) = label_value(line, i + 1)?;
            labels.push((key, value));
            i = skip_blanks(b, after);
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return Err("labels not closed by `}`"),
            }
        }
    } else if i == end && i < b.len() {
        return Err("not a metric name");
    }
    let mut rest = line[i..].split_ascii_whitespace();
    let value = rest
        .next()
        .ok_or("no value")
        .and_then(|v| v.parse::<f64>().or(Err("the value is not a number")))?;
    match (rest.next(), rest.next()) {
        (None, _) => {}
        (Some(t), next) if !t.starts_with('#') => {
            t.parse::<f64>().or(Err("the timestamp is not a number"))?;
            if next.is_some_and(|x| !x.starts_with('#')) {
                return Err("more than a value and a timestamp");
            }
        }
        _ => {} // An exemplar (`# {...} value`), not used here.
    }
    Ok(Line {
        name,
        labels,
        value,
    })
}

/// Length of the metric (or label) name at the start of `b`; 0 when none.
/// Metric names may hold `:`, label names may not.
fn name_len(b: &[u8], metric: bool) -> usize {
    let ok = |c: u8, first: bool| {
        c.is_ascii_alphabetic()
            || c == b'_'
            || (metric && c == b':')
            || (!first && c.is_ascii_digit())
    };
    b.iter()
        .enumerate()
        .take_while(|&(i, &c)| ok(c, i == 0))
        .count()
}

fn skip_blanks(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

/// The label value starting at `start` (after its opening quote),
/// unescaped (`\\`, `\"`, `\n`), and the index after its closing quote.
/// Borrowed when it has no escape, as nearly all values have none.
fn label_value(line: &str, start: usize) -> Result<(Cow<'_, str>, usize), &'static str> {
    let b = line.as_bytes();
    let mut owned: Option<String> = None;
    let mut from = start;
    let mut i = start;
    while let Some(&c) = b.get(i) {
        match c {
            b'"' => {
                let value = match owned {
                    None => Cow::Borrowed(&line[start..i]),
                    Some(mut s) => {
                        s.push_str(&line[from..i]);
                        Cow::Owned(s)
                    }
                };
                return Ok((value, i + 1));
            }
            b'\\' => {
                let s = owned.get_or_insert_with(String::new);
                s.push_str(&line[from..i]);
                s.push(match b.get(i + 1) {
                    Some(b'\\') => '\\',
                    Some(b'"') => '"',
                    Some(b'n') => '\n',
                    _ => return Err("a label value with an unknown escape"),
                });
                i += 2;
                from = i;
            }
            _ => i += 1,
        }
    }
    Err("a label value without its closing quote")
}
