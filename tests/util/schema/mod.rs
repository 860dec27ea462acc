//! What the `result` tests share, so that they all hold the result to one
//! list of documented names and read the same runs: a field added to
//! docs/result-schema.md is added here once. `checks` holds a run's JSON to
//! the document, `merged` a merge to its inputs.

pub mod checks;
pub mod merged;

use std::collections::BTreeSet;
use std::path::Path;

use ftpload::metrics::exhaustion;
use ftpload::metrics::{ErrorClass, Step};
use ftpload::proto::Verb;
use ftpload::scenario::Overrides;
use serde_json::Value;

use super::harness;

/// Short, but in all three modes the embedded target serves, with a download,
/// an upload, a listing and a hold, so every metric has samples and, the holds
/// making each client's iterations last 100 ms more, the run lasts long
/// enough (over half a second) for gauge samples and a timeline.
pub const SCENARIO: &str = r#"
[files]
"1k.bin" = "1KiB"

[run]
iterations = 18
# Every client at once: a default ramp-up could leave the last one (the
# active mode's) nothing of the 18 iterations to take.
ramp_up = "0s"

[[group]]
users = 3
modes = { passive = 1, epsv = 1, active = 1 }
ops = ["retr 1k.bin", "stor 2KiB", "list", "hold 100ms"]
"#;

pub const MODES_USED: [&str; 3] = ["passive", "epsv", "active"];

/// The embedded target's default passive range, which SCENARIO declares.
pub const DEFAULT_PASSIVE: &str = "20000-27999";

/// Exhaustion on the embedded target in about a second: six clients hold PASV
/// channels for a second on a range of three ports, so at most three holds
/// work and the other clients get 425 (libunftp has no free passive port). The
/// failed iterations use up the budget at once, so the run ends with the holds.
/// Each test gets its own range: tests run in parallel, and would otherwise
/// take each other's ports. The ranges sit outside the default 20000-27999
/// (the other tests' embedded targets) and below the ephemeral ports.
pub fn exhaustion_scenario(first: u16) -> String {
    format!(
        r#"
[embedded]
passive_ports = "{first}-{last}"

[run]
iterations = 12
ramp_up = "0s"

[[group]]
users = 6
mode = "passive"
ops = ["hold 1s"]
"#,
        last = first + 2
    )
}
pub const EXHAUSTION_USERS: u64 = 6;
pub const EXHAUSTION_ITERATIONS: u64 = 12;

pub const METRIC_FIELDS: [&str; 10] = [
    "unit", "count", "min", "mean", "p50", "p90", "p99", "p999", "max", "hdr",
];

pub const COUNTER_FIELDS: [&str; 17] = [
    "sessions",
    "sessions_failed",
    "iterations",
    "iterations_failed",
    "transfers",
    "transfers_failed",
    "channels_opened",
    "commands",
    "holds",
    "bytes_down",
    "bytes_up",
    "pasv_address_mismatch",
    "active_from_port_20",
    "active_from_other_port",
    "late",
    "dropped",
    "unstarted",
];

pub const GENERATOR_FIELDS: [&str; 7] = [
    "workers",
    "cpu_s",
    "cpu_utilisation",
    "schedule_lag_p99_us",
    "bottleneck",
    "reasons",
    "memory",
];

pub const GENERATOR_MEMORY_FIELDS: [&str; 8] = [
    "start_bytes",
    "peak_bytes",
    "first_sessions",
    "first_bytes",
    "peak_sessions",
    "at_peak_sessions_bytes",
    "per_session_bytes",
    "includes_target",
];

pub const TOP_FIELDS: [&str; 13] = [
    "schema_version",
    "tool",
    "scenario_name",
    "started_at",
    "ended_at",
    "duration_s",
    "interrupted",
    "cut_off",
    "target",
    "scenario",
    "modes",
    "timeline",
    "generator",
];

pub const SCENARIO_FIELDS: [&str; 14] = [
    "name",
    "source",
    "target",
    "declared_passive",
    "files",
    "stop",
    "open_loop",
    "seed",
    "ramp_up",
    "retry_pause",
    "workers",
    "timeouts",
    "data",
    "groups",
];

/// `scenario.open_loop` when it is not null, and each of its `stages`.
pub const OPEN_LOOP_FIELDS: [&str; 4] = ["rate", "stages", "arrival", "max_wait"];
pub const STAGE_FIELDS: [&str; 2] = ["duration", "rate"];

pub const MODE_FIELDS: [&str; 5] = ["metrics", "counters", "errors", "channels", "sessions"];

pub const CHANNEL_FIELDS: [&str; 15] = [
    "reuse_interval",
    "pending",
    "open",
    "in_use",
    "peak_pending",
    "peak_open",
    "peak_in_use",
    "server_ports",
    "distinct_server_ports",
    "server_port_min",
    "server_port_max",
    "declared_range",
    "outside_declared_range",
    "peak_range_utilisation",
    "exhaustion",
];

/// The channel gauges, sampled every 100 ms, with the peak each one has.
pub const GAUGES: [(&str, &str); 3] = [
    ("pending", "peak_pending"),
    ("open", "peak_open"),
    ("in_use", "peak_in_use"),
];

pub const EXHAUSTION_FIELDS: [&str; 6] = [
    "at_s",
    "signature",
    "evidence",
    "clients",
    "pending",
    "open",
];

pub const INTERVAL_FIELDS: [&str; 6] =
    ["t_s", "clients", "offered", "started", "time_wait", "modes"];

/// `metrics` is left out of an interval in which nothing was timed.
pub const MODE_INTERVAL_FIELDS: [&str; 9] = [
    "sessions",
    "transfers",
    "errors",
    "iterations",
    "bytes",
    "sessions_open",
    "peak_pending",
    "peak_open",
    "metrics",
];

pub const INTERVAL_METRIC_FIELDS: [&str; 5] = ["count", "p50", "p99", "max", "hdr"];

/// Present when the target ran on this host (the embedded one always does)
/// and /proc/net is readable.
pub const KERNEL_FIELDS: [&str; 8] = [
    "listen_overflows",
    "listen_drops",
    "syncookies_sent",
    "retrans_segs",
    "attempt_fails",
    "estab_resets",
    "out_rsts",
    "time_wait_end",
];

pub fn run(tag: &str) -> harness::Ran {
    harness::run_scenario(SCENARIO, &Overrides::default(), tag)
}

pub fn doc() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/result-schema.md");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The document names a field as code: `name`.
pub fn assert_documented(doc: &str, name: &str, what: &str) {
    assert!(
        doc.contains(&format!("`{name}`")),
        "docs/result-schema.md does not mention {what} `{name}`"
    );
}

pub fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

pub fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

/// The top-level fields a result must have: `TOP_FIELDS`, `kernel` when
/// the run could read the host's counters, and `server` when it watched
/// the server (always, against the embedded target: its threads).
pub fn top_fields(j: &Value) -> BTreeSet<&'static str> {
    let mut top = set(&TOP_FIELDS);
    if j.get("kernel").is_some() {
        top.insert("kernel");
    }
    if j["target"]["kind"] == "embedded" || j.get("server").is_some() {
        top.insert("server");
    }
    top
}

pub fn u64_at(v: &Value, path: &str) -> u64 {
    v[path]
        .as_u64()
        .unwrap_or_else(|| panic!("{path}: not an unsigned integer: {}", v[path]))
}

pub fn str_at<'a>(v: &'a Value, path: &str) -> &'a str {
    v[path]
        .as_str()
        .unwrap_or_else(|| panic!("{path}: not a string: {}", v[path]))
}

/// Every object key anywhere in `v`, except under `scenario.files`, a
/// mode's `operations` and its `tls.negotiated`, whose keys are the user's
/// file names and operations, and the TLS versions and suites met.
pub fn all_keys(v: &Value, path: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{path}.{k}");
                if path != ".scenario.files"
                    && !path.ends_with(".operations")
                    && !path.ends_with(".tls.negotiated")
                {
                    out.insert(k.clone());
                }
                all_keys(x, &p, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| all_keys(x, path, out)),
        _ => {}
    }
}

/// `server_ports`: inclusive `[first, last]` runs, ascending, neither
/// overlapping nor touching.
pub fn port_runs(at: &str, v: &Value) -> Vec<[u16; 2]> {
    let runs: Vec<[u16; 2]> = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{at}: server_ports is not [[first, last], ...]: {e}: {v}"));
    for r in &runs {
        assert!(r[0] <= r[1], "{at}: run {r:?}");
    }
    for w in runs.windows(2) {
        assert!(
            u32::from(w[0][1]) + 1 < u32::from(w[1][0]),
            "{at}: runs must ascend, neither overlapping nor touching: {w:?}"
        );
    }
    runs
}

pub fn port_set(runs: &[[u16; 2]]) -> BTreeSet<u16> {
    runs.iter().flat_map(|r| r[0]..=r[1]).collect()
}

/// Every exhaustion signature, each from a failure that matches it (the
/// table of docs/result-schema.md, from src/metrics/exhaustion.rs).
pub fn known_signatures() -> BTreeSet<&'static str> {
    let reply = |code, command| ErrorClass::Reply { code, command };
    let cases = [
        (reply(500, Some(Verb::Pasv)), "500 OOPS: vsf_sysutil_bind"),
        (
            reply(425, Some(Verb::Epsv)),
            "425 All reserved TCP ports are busy",
        ),
        (
            reply(425, Some(Verb::Pasv)),
            "425 No data connection established",
        ),
        (
            reply(425, Some(Verb::Pasv)),
            "425 Can't open passive connection",
        ),
        (
            reply(425, Some(Verb::Retr)),
            "425 Can't open data connection",
        ),
        (reply(421, None), "421 Data connection Timed Out"),
        (reply(421, None), "421 Too many connections"),
        (ErrorClass::NoBanner, ""),
        (
            ErrorClass::AddrInUse {
                step: Step::DataSetup,
            },
            "",
        ),
        (
            ErrorClass::AddrNotAvailable {
                step: Step::Connect,
            },
            "",
        ),
        (
            ErrorClass::FileLimit {
                step: Step::DataAccept,
            },
            "",
        ),
        (
            ErrorClass::Refused {
                step: Step::DataConnect,
            },
            "",
        ),
        (
            ErrorClass::Timeout {
                step: Step::DataConnect,
            },
            "",
        ),
        (
            ErrorClass::Timeout {
                step: Step::DataAccept,
            },
            "",
        ),
    ];
    let mut all: BTreeSet<&'static str> = cases
        .iter()
        .map(|(c, text)| {
            exhaustion::signature(c, text)
                .unwrap_or_else(|| panic!("{c:?} {text:?} is a sign of exhaustion"))
        })
        .collect();
    assert_eq!(all.len(), cases.len(), "one case per signature");
    all.insert(exhaustion::OUTSIDE_RANGE);
    all
}
