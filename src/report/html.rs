//! The HTML report: one self-contained file (inline CSS and SVG, no script,
//! no URL), so it opens offline, attaches to a ticket and archives as is.
//! Sections: each run's header, active against passive at a glance, the
//! percentile spectrum per metric, the timeline, the data ports, and the
//! thresholds a result carries.

use std::fmt::Write as _;

use crate::metrics::Metric;
use crate::proto::Mode;
use crate::result::{ModeResult, RunResult};
use crate::summary::format::{micros, overhead, value};

use super::charts::{self, Part};
use super::svg::esc;
use super::{server_label, Loaded};

const STYLE: &str = "body{font-family:sans-serif;margin:16px;color:#222;max-width:1300px}\
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:22px 0 8px;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;font-size:12px;margin:4px 0 10px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}\
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.grid{display:flex;flex-wrap:wrap;gap:8px}\
.chart{border:1px solid #ddd}.note{color:#555;font-size:12px}.bad{color:#b00;font-weight:bold}.ok{color:#070}";

/// The metrics of the at-a-glance table: what a mode changes.
const GLANCE: [Metric; 5] = [
    Metric::SessionSetup,
    Metric::DataSetup,
    Metric::FirstByte,
    Metric::Transfer,
    Metric::Throughput,
];

/// The whole page for the given results.
pub fn page(runs: &[Loaded]) -> String {
    let typed: Vec<(String, RunResult)> = runs
        .iter()
        .map(|l| (l.name.clone(), l.run.clone()))
        .collect();
    let mut o = String::new();
    let title = typed
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ftpload report: {}</title><style>{STYLE}</style></head><body>",
        esc(&title)
    );
    header(&mut o, &typed);
    glance(&mut o, &typed);
    let all = charts::all(&typed);
    o.push_str("<h2>Percentile spectrum</h2><p class=\"note\">The value at each percentile, from the histograms the results carry whole; each further nine takes the same width. One colour per mode");
    if typed.len() > 1 {
        o.push_str("; one dash per result (the first solid)");
    }
    o.push_str(".</p>");
    grid(&mut o, &all, Part::Spectrum, typed.len() > 1);
    o.push_str("<h2>Timeline</h2><p class=\"note\">Second by second; a dashed red line marks a mode's first exhaustion event.</p>");
    grid(&mut o, &all, Part::Timeline, typed.len() > 1);
    ports(&mut o, &typed);
    thresholds(&mut o, runs);
    o.push_str("</body></html>\n");
    o
}

/// A section's charts; with several results, their legend once above them
/// (a chart's own legend is left out when it does not fit).
fn grid(o: &mut String, all: &[(Part, super::svg::Chart)], part: Part, several: bool) {
    let series: Vec<&super::svg::Series> = all
        .iter()
        .filter(|c| c.0 == part)
        .flat_map(|c| &c.1.series)
        .collect();
    if several {
        o.push_str(&super::svg::legend(&series, 1250.0));
    }
    o.push_str("<div class=\"grid\">");
    for (_, c) in all.iter().filter(|c| c.0 == part) {
        o.push_str(&c.render());
    }
    o.push_str("</div>");
}

fn header(o: &mut String, runs: &[(String, RunResult)]) {
    o.push_str("<h1>ftpload report</h1><table><tr><th>run</th><th>scenario</th><th>target</th><th>started (UTC)</th><th>duration</th><th>modes</th><th>interrupted</th></tr>");
    for (name, r) in runs {
        let modes: Vec<String> = r.modes.keys().map(Mode::to_string).collect();
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{} ({} {}:{})</td><td>{}</td><td>{:.1}s</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            esc(&r.scenario_name),
            esc(&server_label(r)),
            esc(&r.target.kind),
            esc(&r.target.host),
            r.target.port,
            esc(&r.started_at),
            r.duration_s,
            modes.join(", "),
            if r.interrupted {
                "<span class=\"bad\">yes: the numbers cover only what ran</span>"
            } else {
                "no"
            },
        );
    }
    o.push_str("</table>");
}

fn p50_p99(m: &ModeResult, metric: Metric) -> Option<(u64, u64)> {
    m.metrics
        .get(&metric)
        .filter(|x| x.count > 0)
        .map(|x| (x.p50, x.p99))
}

/// Per run and metric, each mode's p50 / p99 and its p50 against passive's
/// (or EPSV's for EPRT): what active mode costs, at a glance.
fn glance(o: &mut String, runs: &[(String, RunResult)]) {
    o.push_str("<h2>Active against passive at a glance</h2><p class=\"note\">p50 / p99, and the p50's change against passive (EPRT against EPSV); for throughput, more is better.</p><table><tr><th>run</th><th>metric</th>");
    let modes: Vec<Mode> = Mode::ALL
        .into_iter()
        .filter(|m| runs.iter().any(|(_, r)| r.modes.contains_key(m)))
        .collect();
    for m in &modes {
        let _ = write!(o, "<th>{m}</th>");
    }
    o.push_str("</tr>");
    for (name, r) in runs {
        for metric in GLANCE {
            if !r.modes.values().any(|m| p50_p99(m, metric).is_some()) {
                continue;
            }
            let _ = write!(o, "<tr><td>{}</td><td>{}</td>", esc(name), metric.as_str());
            for &mode in &modes {
                let cell = r.modes.get(&mode).and_then(|m| p50_p99(m, metric));
                let Some((p50, p99)) = cell else {
                    o.push_str("<td>-</td>");
                    continue;
                };
                let base = match mode {
                    Mode::Active => Some(Mode::Passive),
                    Mode::Eprt => Some(Mode::Epsv),
                    _ => None,
                }
                .and_then(|b| r.modes.get(&b))
                .and_then(|m| p50_p99(m, metric));
                let change = base
                    .map(|(b, _)| format!(" ({})", overhead(p50, b)))
                    .unwrap_or_default();
                let _ = write!(
                    o,
                    "<td>{} / {}{change}</td>",
                    value(metric, p50),
                    value(metric, p99)
                );
            }
            o.push_str("</tr>");
        }
    }
    o.push_str("</table>");
}

/// Server ports against the declared range: a strip of the range with the
/// ports announced drawn on it, and the figures beside.
fn ports(o: &mut String, runs: &[(String, RunResult)]) {
    o.push_str("<h2>Data ports</h2><p class=\"note\">Server ports announced in 227/229 replies (passive modes) against the declared passive range (grey); ports outside it are silent exhaustion. The reuse interval is the time between two announcements of one port.</p><table><tr><th>run</th><th>mode</th><th>distinct server ports</th><th>lowest-highest</th><th>declared range</th><th>outside it</th><th>peak use of the range</th><th>reuse interval p50</th><th>peak pending / open</th><th>first exhaustion</th><th>ports against the range</th></tr>");
    for (name, r) in runs {
        for (mode, m) in &r.modes {
            let c = &m.channels;
            let span = match (c.server_port_min, c.server_port_max) {
                (Some(a), Some(b)) => format!("{a}-{b}"),
                _ => "-".into(),
            };
            let exhaustion = c
                .exhaustion
                .as_ref()
                .map(|e| {
                    format!(
                        "<span class=\"bad\">{:.1}s: {}</span> ({} clients, {} pending, {} open)",
                        e.at_s,
                        esc(&e.signature),
                        e.clients,
                        e.pending,
                        e.open
                    )
                })
                .unwrap_or_else(|| "none".into());
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{mode}</td><td>{}</td><td>{span}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{exhaustion}</td><td>{}</td></tr>",
                esc(name),
                c.distinct_server_ports,
                c.declared_range.map(|d| format!("{d} ({} ports)", d.size())).unwrap_or_else(|| "-".into()),
                c.outside_declared_range,
                c.peak_range_utilisation.map(|u| format!("{:.0}%", u * 100.0)).unwrap_or_else(|| "-".into()),
                if c.reuse_interval.count > 0 { micros(c.reuse_interval.p50) } else { "-".into() },
                c.peak_pending,
                c.peak_open,
                port_strip(&c.server_ports, c.declared_range),
            );
        }
    }
    o.push_str("</table>");
}

/// A 240 × 16 strip: the declared range in grey, each announced run of
/// ports in blue inside it or red outside.
pub fn port_strip(runs: &[[u16; 2]], declared: Option<crate::proto::PortRange>) -> String {
    let (w, h) = (240.0, 16.0);
    let lo = runs
        .iter()
        .map(|r| r[0])
        .chain(declared.map(|d| d.first))
        .min();
    let hi = runs
        .iter()
        .map(|r| r[1])
        .chain(declared.map(|d| d.last))
        .max();
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return "-".into();
    };
    let span = f64::from(hi - lo) + 1.0;
    let x = |p: u16| f64::from(p - lo) / span * w;
    let wd = |a: u16, b: u16| (f64::from(b - a + 1) / span * w).max(1.0);
    let mut s =
        format!(r##"<svg width="{w}" height="{h}"><rect width="{w}" height="{h}" fill="#fff"/>"##);
    if let Some(d) = declared {
        let _ = write!(
            s,
            r##"<rect x="{:.1}" y="3" width="{:.1}" height="10" fill="#ccc"/>"##,
            x(d.first),
            wd(d.first, d.last)
        );
    }
    for r in runs {
        let inside = declared.is_none_or(|d| r[0] >= d.first && r[1] <= d.last);
        let _ = write!(
            s,
            r##"<rect x="{:.1}" y="0" width="{:.1}" height="{h}" fill="{}"/>"##,
            x(r[0]),
            wd(r[0], r[1]),
            if inside { "#0072b2" } else { "#c00" }
        );
    }
    s.push_str("</svg>");
    s
}

/// Each run's thresholds and their outcome, in the words the terminal
/// prints: pass or FAIL, the key and bound, what was measured and in which
/// mode; and the threshold that stopped a run, if one did.
fn thresholds(o: &mut String, runs: &[Loaded]) {
    o.push_str("<h2>Thresholds</h2>");
    for l in runs {
        let r = &l.run;
        let _ = write!(o, "<p><b>{}</b>: ", esc(&l.name));
        if r.thresholds.is_empty() {
            o.push_str("no thresholds in this result.</p>");
            continue;
        }
        let failed = r.thresholds.iter().filter(|t| !t.pass).count();
        let _ = write!(
            o,
            "{} of {} passed{}</p>",
            r.thresholds.len() - failed,
            r.thresholds.len(),
            r.aborted_by_threshold
                .as_deref()
                .map(|k| format!("; the run was stopped by {} (abort_on_fail)", esc(k)))
                .unwrap_or_default()
        );
        o.push_str("<table><tr><th></th><th>threshold</th><th>measured</th><th>mode</th></tr>");
        for t in &r.thresholds {
            let verdict = match t.pass {
                true => "<span class=\"ok\">pass</span>",
                false => "<span class=\"bad\">FAIL</span>",
            };
            let measured = t
                .measured
                .map(|v| crate::threshold::show(v, &t.unit))
                .unwrap_or_else(|| "no samples".into());
            let _ = write!(
                o,
                "<tr><td>{verdict}</td><td>{} {} {}</td><td>{}</td><td>{}</td></tr>",
                esc(&t.key),
                esc(&t.op),
                esc(&t.bound),
                esc(&measured),
                t.mode.map(|m| m.to_string()).unwrap_or_default()
            );
        }
        o.push_str("</table>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::PortRange;

    fn load(path: &str) -> Loaded {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        super::super::load(&p).unwrap()
    }

    #[test]
    fn the_page_is_self_contained_and_has_every_section() {
        let page = page(&[load("results/examples/ramp.json")]);
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(!page.contains("<script") && !page.contains("<link"));
        for h in [
            "Active against passive at a glance",
            "Percentile spectrum",
            "Timeline",
            "Data ports",
            "Thresholds",
            "no thresholds in this result.",
        ] {
            assert!(page.contains(h), "{h}");
        }
        assert!(page.matches("<svg class=\"chart\"").count() >= 16);
    }

    #[test]
    fn thresholds_show_their_outcome_in_words() {
        let mut l = load("results/examples/ramp.json");
        let outcome = |key: &str, bound: &str, measured, pass| crate::result::ThresholdOutcome {
            key: key.into(),
            op: "<".into(),
            bound: bound.into(),
            bound_value: 0.0,
            measured,
            unit: "us".into(),
            mode: Some(Mode::Active),
            pass,
        };
        l.run.thresholds = vec![
            outcome("data_setup.p99", "5ms", Some(7100.0), false),
            outcome("session_setup.p99", "50ms", None, false),
        ];
        let p = page(&[l]);
        assert!(p.contains("0 of 2 passed"), "{p}");
        assert!(p.contains("<td><span class=\"bad\">FAIL</span></td><td>data_setup.p99 &lt; 5ms</td><td>7.10ms</td><td>active</td>"));
        assert!(p.contains("<td>no samples</td>"));
    }

    #[test]
    fn the_port_strip_marks_ports_outside_the_range() {
        let d = Some(PortRange {
            first: 100,
            last: 199,
        });
        let s = port_strip(&[[100, 149], [250, 250]], d);
        assert!(s.contains(r##"fill="#0072b2""##) && s.contains(r##"fill="#c00""##));
        assert_eq!(port_strip(&[], None), "-");
    }
}
