//! Faults on the data channel and around it: a reset or a stall mid-transfer,
//! a premature 226, impossible passive ports, a passive port that never
//! accepts, and a server that never says anything.

use std::time::Duration;

use ftpload::metrics::{ErrorClass, Step};
use ftpload::proto::Mode;

use super::{assert_each_iteration_failed_with, assert_ended_within, run_fault, Spec};
use crate::util::faults::{Fault, RETR_BYTES};

const IDLE_1S: &str = "transfer_idle = \"1s\"\n";

#[test]
fn a_reset_mid_transfer_is_a_reset_at_transfer() {
    let spec = Spec::new(Mode::Passive, "retr f.bin");
    let o = run_fault(Fault::ResetMidTransfer, spec, "reset");
    o.report("RST (SO_LINGER 0) mid-transfer on the data channel");
    assert_each_iteration_failed_with(
        &o,
        &spec,
        ErrorClass::Reset {
            step: Step::Transfer,
        },
    );
    let m = o.mode(Mode::Passive);
    assert_eq!(m.counters.transfers_failed, 4);
    assert_eq!(m.counters.channels_opened, 4);
    assert_ended_within(&o, Duration::from_secs(20));
}

#[test]
fn a_premature_226_does_not_end_the_transfer_before_its_data() {
    // The 226 waits in the buffer while the data is read to its end, then
    // is taken as the transfer's final reply: every byte is counted.
    let spec = Spec::new(Mode::Passive, "retr f.bin");
    let o = run_fault(
        Fault::Premature226 { then_close: true },
        spec,
        "226-early-ok",
    );
    o.report("226 before the data, then the data and EOF");
    let m = o.mode(Mode::Passive);
    assert!(m.errors.is_empty(), "{:#?}", m.errors);
    assert_eq!(m.counters.transfers, 4);
    assert_eq!(m.counters.bytes_down, 4 * RETR_BYTES as u64);
    assert_eq!(o.code, 0);
}

#[test]
fn a_premature_226_on_a_data_channel_that_never_ends_times_out_at_transfer() {
    // transfer_idle is 1 s: the data channel's silence, not the 226, decides.
    let spec = Spec::with(Mode::Passive, "retr f.bin", IDLE_1S);
    let o = run_fault(Fault::Premature226 { then_close: false }, spec, "226-early");
    o.report("226 before the data connection reaches EOF (then silence)");
    assert_each_iteration_failed_with(
        &o,
        &spec,
        ErrorClass::Timeout {
            step: Step::Transfer,
        },
    );
    assert_ended_within(&o, Duration::from_secs(20));
}

#[test]
fn impossible_passive_ports_are_bad_replies_at_data_setup() {
    for (mode, reply, what) in [
        (
            Mode::Passive,
            "227 Entering Passive Mode (127,0,0,1,0,0)",
            "227 port 0",
        ),
        (
            Mode::Passive,
            "227 Entering Passive Mode (127,0,0,1,256,0)",
            "227 port 65536",
        ),
        (
            Mode::Passive,
            "227 Entering Passive Mode (127,0,0,1,300,300)",
            "227 port 77100",
        ),
        (
            Mode::Epsv,
            "229 Entering Extended Passive Mode (|||0|)",
            "229 port 0",
        ),
        (
            Mode::Epsv,
            "229 Entering Extended Passive Mode (|||70000|)",
            "229 port 70000",
        ),
    ] {
        let spec = Spec::new(mode, "list");
        let o = run_fault(Fault::PassiveReply(reply), spec, "bad-port");
        o.report(what);
        assert_each_iteration_failed_with(
            &o,
            &spec,
            ErrorClass::Protocol {
                step: Step::DataSetup,
            },
        );
        let sample = o.mode(mode).errors[0].sample.clone().unwrap();
        assert!(sample.contains(&reply[4..]), "{what}: {sample}");
        assert_ended_within(&o, Duration::from_secs(20));
    }
}

#[test]
fn a_passive_port_whose_backlog_is_full_times_out_at_data_connect() {
    let spec = Spec::with(Mode::Passive, "list", "data_connect = \"1s\"\n");
    let o = run_fault(Fault::BacklogFull, spec, "backlog");
    o.report("passive listener with a full backlog");
    assert_each_iteration_failed_with(
        &o,
        &spec,
        ErrorClass::Timeout {
            step: Step::DataConnect,
        },
    );
    assert_eq!(o.mode(Mode::Passive).counters.channels_opened, 0);
    assert_ended_within(&o, Duration::from_secs(20));
}

#[test]
fn a_passive_port_never_accepted_from_times_out_at_transfer() {
    // The kernel completes the connect; the server answers 150 and never
    // takes the connection: the data channel's silence (transfer_idle).
    let spec = Spec::with(Mode::Passive, "list", IDLE_1S);
    let o = run_fault(Fault::NeverAccept, spec, "never-accept");
    o.report("passive listener never accept()ed (150 sent)");
    assert_each_iteration_failed_with(
        &o,
        &spec,
        ErrorClass::Timeout {
            step: Step::Transfer,
        },
    );
    assert_ended_within(&o, Duration::from_secs(20));
}

#[test]
fn a_server_that_accepts_and_never_reads_nor_writes_is_no_banner() {
    let spec = Spec::with(Mode::Passive, "list", "banner = \"1s\"\n");
    let o = run_fault(Fault::Silent, spec, "silent");
    o.report("accepts, never reads nor writes");
    assert_each_iteration_failed_with(&o, &spec, ErrorClass::NoBanner);
    // The target is on this host: its kernel shows the listen queue never
    // overflowed, so the summary does not call the silence exhaustion.
    let k = o
        .result
        .kernel
        .as_ref()
        .expect("kernel counters on loopback");
    if k.listen_overflows + k.syncookies_sent == 0 {
        assert!(
            o.stdout
                .contains("NO BANNER (a silent server, not exhausted)")
                && o.stdout
                    .contains("the server accepted these connections and never answered"),
            "{}",
            o.stdout
        );
        assert!(!o.stdout.contains("\nEXHAUSTION"), "{}", o.stdout);
        assert!(!o.stdout.contains("queue overflowed"), "{}", o.stdout);
    }
    assert_ended_within(&o, Duration::from_secs(20));
}

#[test]
fn a_data_channel_stalled_mid_transfer_times_out_after_transfer_idle() {
    for (mode, op) in [(Mode::Passive, "retr f.bin"), (Mode::Active, "stor 64MiB")] {
        // 64 MiB is more than loopback's socket buffers hold: the upload
        // blocks once the server stops reading.
        let spec = Spec::with(mode, op, IDLE_1S);
        let o = run_fault(Fault::Stall, spec, "stall");
        o.report(&format!(
            "data channel stalls mid-transfer ({mode}, {op}; transfer_idle 1s)"
        ));
        assert_each_iteration_failed_with(
            &o,
            &spec,
            ErrorClass::Timeout {
                step: Step::Transfer,
            },
        );
        assert_eq!(o.mode(mode).counters.channels_opened, 4);
        assert_ended_within(&o, Duration::from_secs(20));
    }
}

#[test]
fn a_stall_longer_than_the_run_is_cut_off_at_the_deadline_plus_grace() {
    // transfer_idle 60 s outlasts a 2 s run: the run still ends at its
    // deadline plus the driver's 10 s grace, and no timeout classified the
    // stuck iterations: the summary says they were cut off, and the run
    // exits 1, not 0 as if it were clean.
    let spec = Spec {
        duration: Some("2s"),
        timeouts: "transfer_idle = \"60s\"\n",
        ..Spec::new(Mode::Passive, "retr f.bin")
    };
    let o = run_fault(Fault::Stall, spec, "stall-cut");
    o.report("data channel stalls longer than the run (transfer_idle 60s, duration 2s)");
    assert_eq!(o.result.cut_off, 2, "both clients were stuck");
    assert_eq!(o.result.error_count(), 0);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let note = o.stdout.lines().find(|l| l.starts_with("CUT OFF:"));
    assert!(
        note.is_some_and(|l| l.contains("2 iterations still running 10s after the deadline")),
        "{}",
        o.stdout
    );
    assert!(
        o.stderr.contains("2 iterations cut off unfinished"),
        "{}",
        o.stderr
    );
    assert_ended_within(&o, Duration::from_secs(2 + 10 + 8));
}
