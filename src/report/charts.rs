//! Every chart of the HTML report, built from the results alone: the
//! percentile spectrum per metric (modes overlaid, and with several results
//! each result's lines too, told apart by their dash) and the timeline
//! charts, with each mode's first exhaustion event marked. The page and the
//! browser test take the same list, so what the test checks is what a
//! reader sees.

use crate::metrics::Metric;
use crate::proto::Mode;
use crate::result::{decode_hdr, RunResult};
use crate::summary::format::{bytes, micros};

use super::spectrum::spectrum;
use super::svg::{Chart, Marker, Series, XScale, COLOURS, DASHES};

pub const WIDTH: f64 = 620.0;
pub const HEIGHT: f64 = 250.0;

/// Which part of the page a chart belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Spectrum,
    Timeline,
}

fn colour(m: Mode) -> &'static str {
    COLOURS[Mode::ALL.iter().position(|&x| x == m).unwrap_or(0) % COLOURS.len()]
}

/// A series' name: the mode, and the run too when several are compared.
fn label(runs: &[(String, RunResult)], name: &str, mode: Mode) -> String {
    if runs.len() > 1 {
        format!("{name} {mode}")
    } else {
        mode.to_string()
    }
}

/// "0", "0.25", "12.5", "40k": the y axis steps are a quarter of a round
/// number, so two decimals are enough.
fn count_label(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn latency_label(v: f64) -> String {
    micros(v as u64)
}

fn rate_label(v: f64) -> String {
    format!("{}/s", bytes(v as u64))
}

fn chart(title: String, x: XScale, y_label: fn(f64) -> String) -> Chart {
    Chart {
        title,
        width: WIDTH,
        height: HEIGHT,
        x,
        y_label,
        series: Vec::new(),
        markers: Vec::new(),
    }
}

/// One spectrum chart per metric that has values in some run.
fn spectra(runs: &[(String, RunResult)]) -> Vec<Chart> {
    let mut out = Vec::new();
    for metric in Metric::ALL {
        let y: YLabel = if metric == Metric::Throughput {
            rate_label
        } else {
            latency_label
        };
        let mut c = chart(
            format!("{}: value at percentile", metric.as_str()),
            XScale::Percentile,
            y,
        );
        for (i, (name, r)) in runs.iter().enumerate() {
            for (&mode, m) in &r.modes {
                let Some(h) = m.metrics.get(&metric).filter(|x| x.count > 0) else {
                    continue;
                };
                let Ok(h) = decode_hdr(&h.hdr) else { continue };
                c.series.push(Series {
                    label: label(runs, name, mode),
                    colour: colour(mode),
                    dash: DASHES[i % DASHES.len()],
                    points: spectrum(&h)
                        .into_iter()
                        .map(|(x, v)| (x, v as f64))
                        .collect(),
                });
            }
        }
        if !c.series.is_empty() {
            out.push(c);
        }
    }
    out
}

/// How a y value is written on its axis.
type YLabel = fn(f64) -> String;

/// What a timeline chart draws for one mode in one interval.
type Pick = fn(&crate::result::timeline::ModeInterval) -> Option<f64>;

fn p99_of(m: &crate::result::timeline::ModeInterval, metric: Metric) -> Option<f64> {
    m.metrics.get(&metric).map(|x| x.p99 as f64)
}

/// Title, y axis words, what is drawn, and whether the chart is shown when
/// every point is zero: a run without errors says so; a result without
/// `bytes` (older than the field) would only draw a misleading zero.
const TIMELINE: [(&str, YLabel, Pick, bool); 8] = [
    (
        "sessions logged in per second",
        count_label,
        |m| Some(m.sessions as f64),
        false,
    ),
    (
        "transfers per second",
        count_label,
        |m| Some(m.transfers as f64),
        false,
    ),
    (
        "throughput (bytes moved per second)",
        rate_label,
        |m| m.bytes.get().map(|b| b as f64),
        false,
    ),
    (
        "errors per second",
        count_label,
        |m| Some(m.errors as f64),
        true,
    ),
    (
        "data channels pending (peak in the second)",
        count_label,
        |m| Some(m.peak_pending as f64),
        false,
    ),
    (
        "data channels open (peak in the second)",
        count_label,
        |m| Some(m.peak_open as f64),
        false,
    ),
    (
        "session_setup p99 per second",
        latency_label,
        |m| p99_of(m, Metric::SessionSetup),
        false,
    ),
    (
        "data_setup p99 per second",
        latency_label,
        |m| p99_of(m, Metric::DataSetup),
        false,
    ),
];

/// Each mode's first exhaustion event, for the vertical line on every
/// timeline chart.
pub fn exhaustion_markers(runs: &[(String, RunResult)]) -> Vec<Marker> {
    let mut out = Vec::new();
    for (name, r) in runs {
        for (&mode, m) in &r.modes {
            if let Some(e) = &m.channels.exhaustion {
                out.push(Marker {
                    x: e.at_s,
                    label: format!("{} exhausted at {:.1}s", label(runs, name, mode), e.at_s),
                });
            }
        }
    }
    out
}

/// The timeline charts; those with no point at all (older results without
/// bytes or per-second histograms) are left out.
fn timeline(runs: &[(String, RunResult)]) -> Vec<Chart> {
    let markers = exhaustion_markers(runs);
    let mut out = Vec::new();
    for (title, y, pick, always) in TIMELINE {
        let mut c = chart(title.to_string(), XScale::Linear, y);
        let mut any = false;
        for (i, (name, r)) in runs.iter().enumerate() {
            for &mode in r.modes.keys() {
                let points: Vec<(f64, f64)> = r
                    .timeline
                    .iter()
                    .filter_map(|iv| {
                        let v = iv.modes.get(&mode).and_then(pick)?;
                        Some((f64::from(iv.t_s), v))
                    })
                    .collect();
                any |= !points.is_empty() && (always || points.iter().any(|p| p.1 > 0.0));
                c.series.push(Series {
                    label: label(runs, name, mode),
                    colour: colour(mode),
                    dash: DASHES[i % DASHES.len()],
                    points,
                });
            }
        }
        if any {
            c.markers = markers.clone();
            out.push(c);
        }
    }
    out
}

/// What the server paid each second (the timeline's `server`), one line
/// per run that watched it: its CPU in cores busy, and its memory where
/// the source has it. None of either when no run watched the server.
fn server(runs: &[(String, RunResult)]) -> Vec<Chart> {
    type Of = fn(&crate::result::server::ServerSecond) -> Option<f64>;
    let charts: [(&str, YLabel, Of); 2] = [
        ("server CPU (cores busy in the second)", count_label, |x| {
            Some(x.cpu_s)
        }),
        (
            "server memory",
            |v| bytes(v as u64),
            |x| x.memory_bytes.map(|b| b as f64),
        ),
    ];
    let mut out = Vec::new();
    for (title, y, pick) in charts {
        let mut c = chart(title.to_string(), XScale::Linear, y);
        for (i, (name, r)) in runs.iter().enumerate() {
            let points: Vec<(f64, f64)> = r
                .timeline
                .iter()
                .filter_map(|iv| Some((f64::from(iv.t_s), pick(iv.server.as_ref()?)?)))
                .collect();
            if !points.is_empty() {
                c.series.push(Series {
                    label: format!("{name} server"),
                    colour: COLOURS[i % COLOURS.len()],
                    dash: DASHES[i % DASHES.len()],
                    points,
                });
            }
        }
        if !c.series.is_empty() {
            out.push(c);
        }
    }
    out
}

/// Every chart of the page, in page order.
pub fn all(runs: &[(String, RunResult)]) -> Vec<(Part, Chart)> {
    spectra(runs)
        .into_iter()
        .map(|c| (Part::Spectrum, c))
        .chain(timeline(runs).into_iter().map(|c| (Part::Timeline, c)))
        .chain(server(runs).into_iter().map(|c| (Part::Timeline, c)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(path: &str) -> (String, RunResult) {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        ("r".into(), RunResult::read(&p).unwrap())
    }

    #[test]
    fn counts_on_an_axis_are_written_short() {
        let w: Vec<String> = [0.0, 0.25, 0.5, 12.5, 100.0, 40_000.0]
            .into_iter()
            .map(count_label)
            .collect();
        assert_eq!(w, ["0", "0.25", "0.5", "12.5", "100", "40k"]);
    }

    #[test]
    fn a_ramp_has_a_spectrum_per_metric_and_its_timeline() {
        let runs = [run("results/examples/ramp.json")];
        let charts = all(&runs);
        let spectra = charts.iter().filter(|c| c.0 == Part::Spectrum).count();
        let timeline = charts.iter().filter(|c| c.0 == Part::Timeline).count();
        assert!(spectra >= 8, "{spectra}");
        assert_eq!(timeline, 8);
        // One line per mode, solid for the only run.
        let first = &charts[0].1;
        assert_eq!(first.series.len(), 3);
        assert!(first.series.iter().all(|s| s.dash.is_empty()));
    }

    #[test]
    fn an_exhaustion_event_is_marked_on_the_timeline() {
        let runs = [run("results/exhaustion/passive-proftpd.json")];
        let m = exhaustion_markers(&runs);
        assert_eq!(m.len(), 1);
        assert!(m[0].label.starts_with("passive exhausted at "));
        let charts = all(&runs);
        let t = charts.iter().find(|c| c.0 == Part::Timeline).unwrap();
        assert_eq!(t.1.markers.len(), 1);
    }

    #[test]
    fn compared_runs_are_told_apart_by_dash_and_name() {
        let mut b = run("results/baseline/embedded.json");
        b.0 = "b".into();
        let runs = [run("results/baseline/vsftpd.json"), b];
        let c = &all(&runs)[0].1;
        assert!(c
            .series
            .iter()
            .any(|s| s.label == "b passive" && !s.dash.is_empty()));
        assert!(c
            .series
            .iter()
            .any(|s| s.label == "r passive" && s.dash.is_empty()));
    }
}
