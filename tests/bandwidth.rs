//! A bandwidth-capped client (dkftpbench's user on a fixed-rate line) moves
//! its data at its cap: measured throughput within 5% of it, both ways.

use ftpload::metrics::Metric;
use ftpload::proto::Mode;
use ftpload::result::decode_hdr;
use ftpload::scenario::Overrides;

use crate::util::harness::{self, assert_no_errors, mode, run_scenario};

#[test]
fn capped_transfers_move_at_their_cap() {
    let toml = r#"
[files]
"1m.bin" = "1MiB"
[run]
iterations = 2
[[group]]
users = 1
mode = "epsv"
bandwidth = "8Mbit/s"
ops = ["retr 1m.bin", "stor 512KiB"]
"#;
    let ran = run_scenario(toml, &Overrides::default(), "bandwidth");
    let s = mode(&ran.result, Mode::Epsv);
    assert_no_errors(s, "bandwidth");
    let cap = 1_000_000.0; // 8 Mbit/s in bytes per second
    let h = decode_hdr(&s.metrics[&Metric::Throughput].hdr).unwrap();
    assert_eq!(h.len(), 4, "two downloads and two uploads");
    for (what, v) in [("slowest", h.min()), ("fastest", h.max())] {
        let off = (v as f64 - cap).abs() / cap;
        assert!(
            off <= 0.05,
            "{what} transfer at {v} B/s, {:.1}% off the cap",
            off * 100.0
        );
    }
}

#[test]
fn bad_bandwidth_is_refused_with_its_position() {
    let dir = harness::temp_dir("bw-bad");
    let f = dir.join("b.toml");
    std::fs::write(
        &f,
        "[run]\niterations = 1\n[[group]]\nusers = 1\nbandwidth = \"fast\"\nops = [\"noop\"]\n",
    )
    .unwrap();
    let e = ftpload::scenario::Plan::load(&f, &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains(":5:") && e.contains("bad bandwidth"), "{e}");
}
