//! `--csv DIR`: a result as CSV files for spreadsheets and CI dashboards
//! (GitLab, Jenkins' plot plugin): `summary.csv` (each metric per mode, and
//! per operation), `timeline.csv` (each second per mode) and `counters.csv`
//! (each mode's counters). Quoting is the `csv` crate's (RFC 4180): an
//! operation's name may hold commas, quotes and spaces ("stor 1KiB:80,1MiB:20").
//! Each file is written through [`crate::result::write::atomic`].

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::metrics::Metric;
use crate::result::{MetricResult, RunResult};

/// The columns of `summary.csv`.
pub const SUMMARY_HEADER: [&str; 12] = [
    "mode",
    "operation",
    "metric",
    "unit",
    "count",
    "min",
    "mean",
    "p50",
    "p90",
    "p99",
    "p999",
    "max",
];

/// The metrics whose p99 per second `timeline.csv` carries, in its order.
const TIMELINE_P99: [Metric; 3] = [Metric::SessionSetup, Metric::DataSetup, Metric::Transfer];

/// The columns of `timeline.csv`.
pub const TIMELINE_HEADER: [&str; 14] = [
    "t_s",
    "mode",
    "clients",
    "sessions",
    "transfers",
    "errors",
    "iterations",
    "bytes",
    "sessions_open",
    "peak_pending",
    "peak_open",
    "session_setup_p99_us",
    "data_setup_p99_us",
    "transfer_p99_us",
];

/// The files [`write`] writes into its folder, in that order.
pub const FILES: [&str; 3] = ["summary.csv", "timeline.csv", "counters.csv"];

/// A CSV file that could not be written; the OS's words are its own (a leaf,
/// as [`crate::result::ResultError::Write`] is).
#[derive(Debug, thiserror::Error)]
#[error("cannot write CSV {path}: {error}")]
pub struct CsvError {
    pub path: PathBuf,
    pub error: io::Error,
}

/// One row of `summary.csv`: the summary of a metric, its statistics left
/// empty when it has no samples (a 0 would read as a measured zero).
fn summary_row(mode: &str, op: &str, m: Metric, r: &MetricResult) -> Vec<String> {
    let mut row = vec![
        mode.to_string(),
        op.to_string(),
        m.as_str().to_string(),
        r.unit.clone(),
        r.count.to_string(),
    ];
    if r.count == 0 {
        row.extend(std::iter::repeat_n(String::new(), 7));
    } else {
        row.push(r.min.to_string());
        row.push(r.mean.to_string());
        row.extend([r.p50, r.p90, r.p99, r.p999, r.max].map(|v| v.to_string()));
    }
    row
}

/// `summary.csv`: per mode, its totals (an empty `operation`) and then each
/// operation, one row per metric.
pub fn summary(r: &RunResult, w: impl Write) -> io::Result<()> {
    let mut c = ::csv::Writer::from_writer(w);
    c.write_record(SUMMARY_HEADER)?;
    for (mode, m) in &r.modes {
        let mode = mode.to_string();
        for (metric, x) in &m.metrics {
            c.write_record(summary_row(&mode, "", *metric, x))?;
        }
        for (op, metrics) in &m.operations {
            for (metric, x) in metrics {
                c.write_record(summary_row(&mode, op, *metric, x))?;
            }
        }
    }
    c.flush()
}

/// `timeline.csv`: one row per second and mode of the result's timeline; a
/// p99 cell is empty in a second that recorded no sample of its metric.
pub fn timeline(r: &RunResult, w: impl Write) -> io::Result<()> {
    let mut c = ::csv::Writer::from_writer(w);
    c.write_record(TIMELINE_HEADER)?;
    for i in &r.timeline {
        for (mode, m) in &i.modes {
            let mut row = vec![
                i.t_s.to_string(),
                mode.to_string(),
                i.clients.to_string(),
                m.sessions.to_string(),
                m.transfers.to_string(),
                m.errors.to_string(),
                // Empty where unknown, as counters.csv leaves an unknown counter.
                m.iterations.get().map_or(String::new(), |n| n.to_string()),
                m.bytes.get().map_or(String::new(), |n| n.to_string()),
                m.sessions_open
                    .get()
                    .map_or(String::new(), |n| n.to_string()),
                m.peak_pending.to_string(),
                m.peak_open.to_string(),
            ];
            row.extend(TIMELINE_P99.map(|metric| {
                m.metrics
                    .get(&metric)
                    .filter(|x| x.count > 0)
                    .map(|x| x.p99.to_string())
                    .unwrap_or_default()
            }));
            c.write_record(row)?;
        }
    }
    c.flush()
}

/// `counters.csv`: one row per mode, a column per field of the result's
/// `counters` (named as in the JSON, in its order).
pub fn counters(r: &RunResult, w: impl Write) -> io::Result<()> {
    // The columns come from the counters' own serialization, so a counter
    // added later gets its column: serialized with a header, then read back.
    let mut staged = ::csv::Writer::from_writer(Vec::new());
    for m in r.modes.values() {
        staged.serialize(m.counters)?;
    }
    let staged = staged.into_inner().map_err(|e| e.into_error())?;
    let mut back = ::csv::Reader::from_reader(staged.as_slice());
    let mut c = ::csv::Writer::from_writer(w);
    let fields = if r.modes.is_empty() {
        Vec::new()
    } else {
        back.headers()?.iter().map(str::to_string).collect()
    };
    c.write_record(std::iter::once("mode".to_string()).chain(fields))?;
    for (mode, row) in r.modes.keys().zip(back.records()) {
        let row = row?;
        c.write_record(std::iter::once(mode.to_string().as_str()).chain(row.iter()))?;
    }
    c.flush()
}

/// Writes [`FILES`] into `dir` (created if missing), each atomically;
/// returns their paths.
pub fn write(dir: &Path, r: &RunResult) -> Result<Vec<PathBuf>, CsvError> {
    type Fill = fn(&RunResult, &mut dyn Write) -> io::Result<()>;
    let fills: [Fill; 3] = [
        |r, w| summary(r, w),
        |r, w| timeline(r, w),
        |r, w| counters(r, w),
    ];
    FILES
        .iter()
        .zip(fills)
        .map(|(name, fill)| {
            let path = dir.join(name);
            crate::result::write::atomic(&path, |w| fill(r, w))
                .map(|()| path.clone())
                .map_err(|error| CsvError { path, error })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Counters;
    use crate::proto::Mode;
    use crate::result::timeline::{Interval, IntervalMetric, ModeInterval};
    use std::collections::BTreeMap;

    fn metric(count: u64, p99: u64) -> MetricResult {
        MetricResult {
            unit: "us".into(),
            count,
            min: 1,
            mean: 2.5,
            p50: 2,
            p90: 3,
            p99,
            p999: p99,
            max: p99,
            hdr: String::new(),
        }
    }

    /// A run with two modes, one of them with an operation whose name has
    /// a comma, a quote and spaces, and two seconds of timeline.
    fn run() -> RunResult {
        let mut r: RunResult = serde_json::from_value(serde_json::json!({
            "schema_version": 2,
            "tool": {"name": "ftpload", "version": "0"},
            "scenario_name": "t",
            "started_at": "",
            "ended_at": "",
            "duration_s": 2.0,
            "interrupted": false,
            "target": {"kind": "embedded", "host": "127.0.0.1", "port": 21, "user": "u"},
            "scenario": {},
            "modes": {},
        }))
        .unwrap();
        let mut passive = crate::result::ModeResult::from_stats(
            &crate::metrics::ModeStats::default(),
            Mode::Passive,
            None,
        );
        passive.metrics = BTreeMap::from([
            (Metric::SessionSetup, metric(5, 900)),
            (Metric::Transfer, metric(0, 0)),
        ]);
        passive.operations = BTreeMap::from([(
            "stor 1KiB:80,1MiB:20 \"x\"".to_string(),
            BTreeMap::from([(Metric::Transfer, metric(4, 700))]),
        )]);
        passive.counters = Counters {
            sessions: 5,
            bytes_down: 1024,
            ..Counters::default()
        };
        let mut active = passive.clone();
        active.operations.clear();
        active.counters.sessions = 3;
        r.modes = BTreeMap::from([(Mode::Passive, passive), (Mode::Active, active)]);
        let im = IntervalMetric {
            count: 2,
            p50: 10,
            p99: 20,
            max: 30,
            hdr: String::new(),
        };
        let second = |t_s| Interval {
            t_s,
            clients: 4,
            modes: BTreeMap::from([
                (
                    Mode::Passive,
                    ModeInterval {
                        sessions: 2,
                        metrics: BTreeMap::from([(Metric::DataSetup, im.clone())]),
                        ..ModeInterval::default()
                    },
                ),
                (Mode::Active, ModeInterval::default()),
            ]),
            ..Interval::default()
        };
        r.timeline = vec![second(1), second(2)];
        r
    }

    fn text(f: fn(&RunResult, &mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&run(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn rows(text: &str) -> Vec<Vec<String>> {
        ::csv::Reader::from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn summary_has_a_row_per_mode_operation_and_metric_quoted() {
        let t = text(|r, w| summary(r, w));
        let mut lines = t.lines();
        assert_eq!(
            lines.next(),
            Some("mode,operation,metric,unit,count,min,mean,p50,p90,p99,p999,max")
        );
        // The operation's comma and quote are quoted, not split.
        assert!(
            t.contains(
                "passive,\"stor 1KiB:80,1MiB:20 \"\"x\"\"\",transfer,us,4,1,2.5,2,3,700,700,700\n"
            ),
            "{t}"
        );
        let rows = rows(&t);
        // Modes in the result's order (passive first): passive's 2 metrics
        // and its operation's 1, then active's 2.
        assert_eq!(rows.len(), 5, "{t}");
        assert!(rows.iter().all(|r| r.len() == SUMMARY_HEADER.len()));
        assert_eq!(rows[0][..5], ["passive", "", "session_setup", "us", "5"]);
        // No samples: the statistics are empty, not zero.
        assert_eq!(rows[1][..5], ["passive", "", "transfer", "us", "0"]);
        assert!(rows[1][5..].iter().all(String::is_empty), "{:?}", rows[1]);
        assert_eq!(rows[2][1], "stor 1KiB:80,1MiB:20 \"x\"");
        assert_eq!(rows[3][..3], ["active", "", "session_setup"]);
    }

    #[test]
    fn timeline_has_a_row_per_second_and_mode() {
        let t = text(|r, w| timeline(r, w));
        assert_eq!(t.lines().next().unwrap(), TIMELINE_HEADER.join(","));
        let rows = rows(&t);
        assert_eq!(rows.len(), 4, "{t}");
        assert_eq!(
            rows[0],
            ["1", "passive", "4", "2", "0", "0", "0", "0", "0", "0", "0", "", "20", ""]
        );
        assert_eq!(rows[3][..2], ["2", "active"]);
        assert!(rows[3][11..].iter().all(String::is_empty));
    }

    #[test]
    fn counters_has_a_column_per_counter_and_a_row_per_mode() {
        let t = text(|r, w| counters(r, w));
        let header = t.lines().next().unwrap();
        assert!(header.starts_with("mode,sessions,sessions_failed,"), "{t}");
        let fields = serde_json::to_value(Counters::default()).unwrap();
        assert_eq!(
            header.split(',').count(),
            1 + fields.as_object().unwrap().len()
        );
        let rows = rows(&t);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][..2], ["passive", "5"]);
        assert_eq!(rows[1][..2], ["active", "3"]);
    }

    #[test]
    fn writes_every_file_into_the_folder_and_names_the_one_it_cannot() {
        let dir = tempfile::tempdir().unwrap();
        let paths = write(&dir.path().join("csv"), &run()).unwrap();
        assert_eq!(paths.len(), FILES.len());
        assert!(paths.iter().all(|p| p.is_file()));
        // A folder where a file is cannot hold the CSV files.
        let blocked = dir.path().join("file");
        std::fs::write(&blocked, "x").unwrap();
        let e = write(&blocked, &run()).unwrap_err();
        assert_eq!(e.path, blocked.join("summary.csv"));
        assert!(e.to_string().starts_with("cannot write CSV "), "{e}");
    }
}
