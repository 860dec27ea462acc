//! A bandwidth-capped client (dkftpbench's user on a fixed-rate line) never
//! moves its data faster than its cap, both ways. That it moves at the cap,
//! not slower, is the pacer's schedule, checked on a paused clock in
//! `proto::bytes`: a wall clock on a loaded machine can only make a transfer
//! slower, so only this side is the code's to guarantee here.

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
    // Throughput runs from the transfer command to the end of the data, and
    // the pacer holds the data from its first byte: at most the cap, plus
    // the histogram's precision (3 significant digits).
    assert!(
        h.max() as f64 <= cap * 1.001,
        "fastest transfer at {} B/s, over the cap of {cap} B/s",
        h.max()
    );
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
