//! Faults on the control connection: how replies are written (bare LF, 10 MB,
//! a byte at a time) and what they say (a wrong code, a 421 and close) at
//! each step of a session.

use std::time::Duration;

use ftpload::metrics::{ErrorClass, Step};
use ftpload::proto::{Mode, Verb};

use super::{assert_each_iteration_failed_with, assert_ended_within, run_fault, Spec};
use crate::util::faults::{At, Fault, HUGE_REPLY_BYTES, RETR_BYTES};

#[test]
fn bare_lf_line_ends_are_read_as_crlf_ones() {
    // RFC 959 wants CRLF; a server that sends LF alone is read the same,
    // multi-line banner included, and its byte counts stay exact.
    let spec = Spec::new(Mode::Passive, "retr f.bin");
    let o = run_fault(Fault::BareLf, spec, "bare-lf");
    o.report("replies with bare LF");
    let m = o.mode(Mode::Passive);
    assert!(m.errors.is_empty(), "{:#?}", m.errors);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(m.counters.iterations, 4);
    assert_eq!(m.counters.transfers, 4);
    assert_eq!(m.counters.bytes_down, 4 * RETR_BYTES as u64);
    assert_ended_within(&o, Duration::from_secs(20));
}

#[test]
fn bare_cr_line_ends_never_end_a_line_and_time_out_unfinished() {
    // "220-fault server\r220 ready\r": no LF ever comes. The banner's
    // timeout ends it as an unfinished reply, not as silence.
    let spec = Spec::with(Mode::Passive, "list", "banner = \"1s\"\n");
    let o = run_fault(Fault::BareCr, spec, "bare-cr");
    o.report("replies with bare CR (no LF at all)");
    assert_each_iteration_failed_with(&o, &spec, ErrorClass::Timeout { step: Step::Banner });
    let sample = o.mode(Mode::Passive).errors[0].sample.clone().unwrap();
    assert_eq!(
        sample,
        "banner: timed out with 27 bytes of a reply but not its end"
    );
    assert!(!o.stdout.contains("EXHAUSTION"), "{}", o.stdout);
    assert_ended_within(&o, Duration::from_secs(20));
}

#[test]
fn a_120_before_the_banner_is_waited_through() {
    let spec = Spec::new(Mode::Passive, "list");
    let o = run_fault(Fault::Banner120, spec, "banner-120");
    o.report("120 (ready in nnn minutes) before the 220");
    let m = o.mode(Mode::Passive);
    assert!(m.errors.is_empty(), "{:#?}", m.errors);
    assert_eq!((m.counters.sessions, m.counters.iterations), (4, 4));
    assert_eq!(o.code, 0, "{}", o.stderr);
}

/// The bound the client keeps against an endless reply: the codec's
/// `ReplyLimits::default()` (8192-byte lines, 65,536-byte replies) plus one
/// 512-byte read ahead, per connection.
const REPLY_LIMIT: usize = 65_536;
/// How much more the process may hold at its peak than the same run against
/// a clean server: 4 sessions' 64 KiB, with room for allocator noise. A
/// client that buffered the 10 MB banners would need 40 MB more (4 at once).
const EXTRA_RSS_BOUND_KIB: u64 = 8 * 1024;

#[test]
fn a_10_mb_multi_line_reply_is_refused_at_the_codecs_limit() {
    let spec = Spec {
        users: 4,
        iterations: 12,
        ..Spec::new(Mode::Passive, "list")
    };
    let clean = run_fault(Fault::None, spec, "huge-baseline");
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    let o = run_fault(Fault::HugeReply, spec, "huge");
    o.report("multi-line reply of 10 MB (banner)");
    assert_each_iteration_failed_with(&o, &spec, ErrorClass::Protocol { step: Step::Banner });
    let m = o.mode(Mode::Passive);
    let sample = m.errors[0].sample.as_deref().unwrap();
    assert_eq!(
        sample,
        format!("banner: reply longer than {REPLY_LIMIT} bytes")
    );
    const { assert!(HUGE_REPLY_BYTES > 100 * REPLY_LIMIT) };
    eprintln!(
        "FAULT | (10 MB reply) peak RSS of ftpload: {} KiB; the same run against a clean server: {} KiB",
        o.peak_rss_kib, clean.peak_rss_kib
    );
    assert!(clean.peak_rss_kib > 0 && o.peak_rss_kib > 0);
    assert!(
        o.peak_rss_kib < clean.peak_rss_kib + EXTRA_RSS_BOUND_KIB,
        "peak RSS {} KiB against {} KiB clean: more than {EXTRA_RSS_BOUND_KIB} KiB above",
        o.peak_rss_kib,
        clean.peak_rss_kib
    );
    assert_ended_within(&o, Duration::from_secs(20));
}

#[test]
fn a_reply_dripped_a_byte_at_a_time_is_read_whole() {
    // 2 ms a byte: a 227 takes about 100 ms, well within its 1 s timeout.
    // Every split point of every reply is crossed, and nothing is lost.
    let spec = Spec::new(Mode::Passive, "retr f.bin");
    let o = run_fault(Fault::Drip(Duration::from_millis(2)), spec, "drip");
    o.report("reply dripped one byte at a time (2 ms a byte)");
    let m = o.mode(Mode::Passive);
    assert!(m.errors.is_empty(), "{:#?}", m.errors);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(m.counters.bytes_down, 4 * RETR_BYTES as u64);
    assert_ended_within(&o, Duration::from_secs(20));
}

#[test]
fn a_reply_dripped_slower_than_its_timeout_times_out_at_its_step() {
    // 150 ms a byte: the 22-byte banner takes 3.3 s (its timeout is 8 s);
    // the 331 to USER, 21 bytes, would take 3.2 s against a 1 s reply
    // timeout. The timeout is for the whole reply, so a server cannot hold
    // a client forever by dripping.
    let spec = Spec {
        timeouts: "banner = \"8s\"\nreply = \"1s\"\n",
        ..Spec::new(Mode::Passive, "list")
    };
    let o = run_fault(Fault::Drip(Duration::from_millis(150)), spec, "drip-slow");
    o.report("reply dripped slower than its timeout (150 ms a byte)");
    assert_each_iteration_failed_with(&o, &spec, ErrorClass::Timeout { step: Step::Login });
    let sample = o.mode(Mode::Passive).errors[0].sample.clone().unwrap();
    assert!(
        sample.starts_with("login: timed out with ")
            && sample.ends_with(" bytes of a reply but not its end"),
        "{sample}"
    );
    assert_ended_within(&o, Duration::from_secs(30));
}

#[test]
fn a_banner_dripped_slower_than_its_timeout_is_a_timeout_not_no_banner() {
    // A banner that began is not the silence of a full listen queue: it must
    // not be counted as `no_banner` nor reported as exhaustion.
    let spec = Spec::with(Mode::Passive, "list", "banner = \"1s\"\n");
    let o = run_fault(Fault::Drip(Duration::from_millis(150)), spec, "drip-banner");
    o.report("banner dripped slower than its timeout (150 ms a byte, banner 1s)");
    assert_each_iteration_failed_with(&o, &spec, ErrorClass::Timeout { step: Step::Banner });
    assert!(!o.stdout.contains("EXHAUSTION"), "{}", o.stdout);
    assert_ended_within(&o, Duration::from_secs(30));
}

/// A step, the mode and operation that reach it, and the class it must end in.
fn step_cases(code_of: fn(At) -> u16) -> Vec<(At, Mode, &'static str, ErrorClass)> {
    let reply = |at: At, command: Option<Verb>| ErrorClass::Reply {
        code: code_of(at),
        command,
    };
    vec![
        (At::Banner, Mode::Passive, "list", reply(At::Banner, None)),
        (
            At::User,
            Mode::Passive,
            "list",
            reply(At::User, Some(Verb::User)),
        ),
        (
            At::Pass,
            Mode::Passive,
            "list",
            reply(At::Pass, Some(Verb::Pass)),
        ),
        (
            At::Type,
            Mode::Passive,
            "list",
            reply(At::Type, Some(Verb::Type)),
        ),
        (
            At::Pasv,
            Mode::Passive,
            "list",
            reply(At::Pasv, Some(Verb::Pasv)),
        ),
        (
            At::Epsv,
            Mode::Epsv,
            "list",
            reply(At::Epsv, Some(Verb::Epsv)),
        ),
        (
            At::Port,
            Mode::Active,
            "list",
            reply(At::Port, Some(Verb::Port)),
        ),
        (
            At::Transfer,
            Mode::Passive,
            "list",
            reply(At::Transfer, Some(Verb::List)),
        ),
        (
            At::Transfer,
            Mode::Epsv,
            "retr f.bin",
            reply(At::Transfer, Some(Verb::Retr)),
        ),
        (
            At::Transfer,
            Mode::Active,
            "stor 64KiB",
            reply(At::Transfer, Some(Verb::Stor)),
        ),
        (
            At::TransferEnd,
            Mode::Passive,
            "retr f.bin",
            reply(At::TransferEnd, Some(Verb::Retr)),
        ),
        (
            At::Quit,
            Mode::Passive,
            "list",
            reply(At::Quit, Some(Verb::Quit)),
        ),
    ]
}

/// Runs each step case with `fault(step)`; a QUIT failure comes after a
/// successful iteration, every other one fails its iteration.
fn each_step(name: &str, fault: fn(At) -> Fault, code_of: fn(At) -> u16) {
    for (at, mode, op, class) in step_cases(code_of) {
        let spec = Spec::new(mode, op);
        let tag = format!("{name}-{at:?}-{mode}");
        let o = run_fault(fault(at), spec, &tag);
        o.report(&format!("{name} at {at:?} ({mode}, {op})"));
        if at == At::Quit {
            let m = o.mode(mode);
            assert_eq!(m.errors.len(), 1, "{tag}: {:#?}", m.errors);
            assert_eq!(m.errors[0].class, class, "{tag}");
            assert_eq!(m.errors[0].count, 4, "{tag}");
            assert_eq!(m.counters.iterations, 4, "{tag}: {:?}", m.counters);
            assert_eq!(o.code, 1, "{tag}");
        } else {
            assert_each_iteration_failed_with(&o, &spec, class);
        }
        assert_ended_within(&o, Duration::from_secs(20));
    }
}

#[test]
fn an_unexpected_code_at_each_step_is_a_reply_class_naming_the_command() {
    each_step("unexpected code", Fault::Unexpected, At::unexpected_code);
}

#[test]
fn a_421_and_close_at_each_step_is_a_421_naming_the_command() {
    each_step("421 then close", Fault::Close421, |_| 421);
}
