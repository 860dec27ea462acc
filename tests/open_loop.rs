//! The open-loop executor against real servers: arrivals keep their
//! schedule whatever the server does, and a server that stalls shows in the
//! latency measured from each arrival's intended start, while the latency
//! measured from the actual start hides it (coordinated omission).

use std::time::Duration;

use ftpload::metrics::Metric;
use ftpload::proto::Mode;
use ftpload::result::decode_hdr;
use ftpload::scenario::Overrides;

use crate::util::common;
use crate::util::harness::{mode, run_scenario, temp_dir};

#[test]
fn arrivals_follow_the_rate_and_every_one_is_counted() {
    let toml = r#"
[files]
"1k.bin" = "1KiB"
[run]
duration = "3s"
rate = "40/s"
[[group]]
users = 4
mode = "epsv"
ops = ["retr 1k.bin"]
"#;
    let ran = run_scenario(toml, &Overrides::default(), "open-rate");
    let s = mode(&ran.result, Mode::Epsv);
    let c = &s.counters;
    // 40/s for 3 s: arrivals every 25 ms before the end (119 or 120, as
    // floating point lands the last one), each started (none dropped) and measured.
    let arrivals = c.iterations + c.iterations_failed + c.dropped.get().unwrap();
    assert!((119..=120).contains(&arrivals), "{c:?}");
    assert_eq!(c.dropped, 0);
    assert_eq!(
        s.metrics[&Metric::IterationCorrected].count,
        c.iterations + c.iterations_failed
    );
    assert_eq!(
        s.metrics[&Metric::ScheduleLag].count,
        c.iterations + c.iterations_failed
    );
    assert_eq!(ran.json["scenario"]["open_loop"]["rate"], 40.0);
}

#[test]
fn a_stalled_server_shows_in_corrected_latency_only() {
    let root = temp_dir("co");
    let server = common::PyFtpd::start(&root, "ftpuser", "ftppass", 16700..=16799);
    let pid = server.pid() as i32;
    let stall = Duration::from_secs(1);
    // Pause the server for a second, one second into the run.
    let pauser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        // SAFETY: signals to our own child process.
        unsafe { libc::kill(pid, libc::SIGSTOP) };
        std::thread::sleep(stall);
        unsafe { libc::kill(pid, libc::SIGCONT) };
    });
    // One client at a time at 100 arrivals/s: during the stall, arrivals
    // queue for the client instead of starting.
    let toml = r#"
[run]
duration = "4s"
rate = "100/s"
ramp_up = "0s"
[timeouts]
reply = "5s"
banner = "5s"
[[group]]
users = 1
mode = "passive"
ops = ["noop"]
"#;
    let o = Overrides {
        target: Some(format!("ftp://ftpuser@{}", server.addr)),
        password: Some("ftppass".into()),
        ..Overrides::default()
    };
    let ran = run_scenario(toml, &o, "co");
    pauser.join().unwrap();
    let s = mode(&ran.result, Mode::Passive);
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    let corrected = decode_hdr(&s.metrics[&Metric::IterationCorrected].hdr).unwrap();
    let uncorrected = decode_hdr(&s.metrics[&Metric::Iteration].hdr).unwrap();
    let stall_us = stall.as_micros() as u64;
    // The arrival that met the stall waited it out, from its intended start.
    assert!(
        corrected.max() >= stall_us * 9 / 10,
        "corrected max {}",
        corrected.max()
    );
    // Many arrivals queued behind it: the corrected tail carries the stall...
    assert!(
        corrected.value_at_quantile(0.99) >= stall_us * 8 / 10,
        "corrected p99 {} µs",
        corrected.value_at_quantile(0.99)
    );
    // ...while, measured from their actual starts, only the one iteration in
    // flight (one client) saw it whole. Counted, not timed: how fast the
    // others were is the machine's business, that only one spans the stall
    // is the executor's.
    let spans = |h: &hdrhistogram::Histogram<u64>| {
        h.iter_recorded()
            .filter(|v| v.value_iterated_to() >= stall_us * 8 / 10)
            .map(|v| v.count_at_value())
            .sum::<u64>()
    };
    assert!(
        spans(&uncorrected) <= 1,
        "{} uncorrected iterations span the stall",
        spans(&uncorrected)
    );
    assert!(s.counters.late >= 50, "late {}", s.counters.late);
}
