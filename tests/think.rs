//! Think time between a user's operations: every iteration is held back by
//! at least what it draws. Only lower bounds are asserted: a sleep never ends
//! early, but how late it ends on a loaded machine is not the code's to
//! control (that the draws stay within their bounds is a unit test of
//! `scenario::think`).

use ftpload::metrics::Metric;
use ftpload::proto::Mode;
use ftpload::result::decode_hdr;
use ftpload::scenario::Overrides;

use crate::util::harness::{assert_no_errors, mode, run_scenario};

fn iterations(think: &str, tag: &str) -> hdrhistogram::Histogram<u64> {
    let toml = format!(
        r#"
[run]
iterations = 4
seed = 11
[[group]]
users = 2
session = "persistent"
think = "{think}"
ops = ["noop", "noop", "noop"]
"#
    );
    let ran = run_scenario(&toml, &Overrides::default(), tag);
    let s = mode(&ran.result, Mode::Passive);
    assert_no_errors(s, tag);
    assert_eq!(ran.json["scenario"]["groups"][0]["think"], think);
    decode_hdr(&s.metrics[&Metric::Iteration].hdr).unwrap()
}

#[test]
fn constant_think_time_holds_each_iteration_back() {
    // Three operations, two pauses of 150 ms between them.
    let h = iterations("150ms", "think-const");
    assert_eq!(h.len(), 4);
    assert!(h.min() >= 300_000, "fastest iteration {} µs", h.min());
}

#[test]
fn uniform_think_time_stays_within_its_bounds() {
    let h = iterations("50ms..100ms", "think-uniform");
    assert_eq!(h.len(), 4);
    assert!(h.min() >= 100_000, "fastest iteration {} µs", h.min());
}

fn monkey(seed: u64, tag: &str) -> ftpload::metrics::Counters {
    let toml = format!(
        r#"
[files]
"1k.bin" = "1KiB"
[run]
iterations = 20
seed = {seed}
[[group]]
users = 1
session = "persistent"
mix = {{ "retr 1k.bin" = 5, "list" = 2, "cwd /" = 2, "pwd" = 1, "mdtm 1k.bin" = 1, "quit" = 2 }}
"#
    );
    let ran = run_scenario(&toml, &Overrides::default(), tag);
    let s = mode(&ran.result, Mode::Passive);
    assert_no_errors(s, tag);
    s.counters
}

#[test]
fn an_operation_mix_repeats_exactly_from_its_seed() {
    let a = monkey(3, "mix-a");
    let b = monkey(3, "mix-b");
    assert_eq!(a.iterations, 20);
    assert!(a.transfers > 0 && a.commands > 0, "{a:?}");
    // One client: the same seed draws the same commands.
    assert_eq!((a.transfers, a.commands), (b.transfers, b.commands));
}

/// Think time also pauses between iterations: a group of one operation
/// would otherwise never pause (1,000 clients once made 705,234 NOOPs in
/// 14 s with `think = "30s"`). The pause is not part of an iteration.
#[test]
fn think_time_also_pauses_between_iterations() {
    let toml = r#"
[run]
iterations = 3
[[group]]
users = 1
session = "persistent"
think = "200ms"
ops = ["noop"]
"#;
    let ran = run_scenario(toml, &Overrides::default(), "think-between");
    let s = mode(&ran.result, Mode::Passive);
    assert_no_errors(s, "think-between");
    assert_eq!(s.counters.iterations, 3);
    // Three iterations, each followed by its pause: sleeps never end early.
    assert!(
        ran.result.duration_s >= 0.6,
        "3 iterations with 200 ms between them took {:.3} s",
        ran.result.duration_s
    );
}

/// `idle DURATION` holds a logged-in session doing nothing that long.
#[test]
fn idle_holds_the_session_that_long() {
    let toml = r#"
[run]
iterations = 2
[[group]]
users = 1
session = "persistent"
ops = ["idle 300ms", "noop"]
"#;
    let ran = run_scenario(toml, &Overrides::default(), "idle");
    let s = mode(&ran.result, Mode::Passive);
    assert_no_errors(s, "idle");
    assert_eq!(ran.json["scenario"]["groups"][0]["ops"][0], "idle 300ms");
    let h = decode_hdr(&s.metrics[&Metric::Iteration].hdr).unwrap();
    assert_eq!(h.len(), 2);
    assert!(h.min() >= 300_000, "fastest iteration {} µs", h.min());
    assert_eq!(s.counters.commands, 2, "idle sends no command");
}
