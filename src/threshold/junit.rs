//! `--junit FILE`: the thresholds as a JUnit XML report (one test case per
//! threshold, a `<failure>` for a failed one), the format GitLab and
//! Jenkins read.

use std::path::Path;

use crate::result::{RunResult, ThresholdOutcome};

/// Escapes text for an XML attribute or element: the five predefined
/// entities, and characters XML 1.0 forbids (control characters) dropped.
/// Written by hand: this is all a JUnit file needs, no crate for it.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

/// What a test case says: "session_setup.p99 < 50ms: measured 4.35ms (active)".
fn message(o: &ThresholdOutcome) -> String {
    let measured = match o.measured {
        Some(v) => format!("measured {}", super::show(v, &o.unit)),
        None => "no samples".into(),
    };
    let mode = o.mode.map(|m| format!(" ({m})")).unwrap_or_default();
    format!("{} {} {}: {measured}{mode}", o.key, o.op, o.bound)
}

/// The JUnit XML of a run's threshold outcomes; the suite is the scenario.
pub fn xml(r: &RunResult) -> String {
    let failures = r.thresholds.iter().filter(|o| !o.pass).count();
    let name = escape(&r.scenario_name);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x += &format!(
        "<testsuites name=\"ftpload\" tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">\n",
        r.thresholds.len(),
        r.duration_s
    );
    x += &format!(
        "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{:.3}\" timestamp=\"{}\">\n",
        r.thresholds.len(),
        r.duration_s,
        escape(&r.started_at)
    );
    for o in &r.thresholds {
        let case = escape(&format!("{} {} {}", o.key, o.op, o.bound));
        x += &format!("    <testcase name=\"{case}\" classname=\"{name}.thresholds\" time=\"0\"");
        if o.pass {
            x += &format!(
                ">\n      <system-out>{}</system-out>\n    </testcase>\n",
                escape(&message(o))
            );
        } else {
            let m = escape(&message(o));
            x += &format!(
                ">\n      <failure message=\"{m}\" type=\"threshold\">{m}</failure>\n    </testcase>\n"
            );
        }
    }
    x += "  </testsuite>\n</testsuites>\n";
    x
}

/// Writes [`xml`] with the result's atomic writer.
pub fn write(path: &Path, r: &RunResult) -> std::io::Result<()> {
    let text = xml(r);
    crate::result::write::atomic(path, |w| w.write_all(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
    }
}
