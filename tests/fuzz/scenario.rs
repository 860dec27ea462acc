//! The scenario loader (`Plan::parse`, TOML text to a validated plan): the
//! committed scenarios with lines deleted, doubled, swapped or uncommented,
//! numbers and strings replaced by ones out of range, keys added where they
//! do or do not belong, the text cut anywhere; and arbitrary text. Each
//! parse ends in a plan or an error located in the text, never a panic;
//! allocates at most [`parse_bound`]; and a plan it accepts is safe for what
//! the run does with it without re-checking (the plan's contract: "nothing
//! downstream re-checks").

use std::path::Path;
use std::time::{Duration, Instant};

use ftpload::scenario::{Op, Overrides, Plan, ScenarioError, Sizes, Stop};
use ftpload::schedule::Schedule;
use proptest::prelude::*;
use proptest::sample::Index;
use rand::rngs::SmallRng;
use rand::SeedableRng;

use crate::alloc::peak_during;
use crate::config;

const SEEDS: &[&str] = &[
    include_str!("../../scenarios/reference.toml"),
    include_str!("../../scenarios/smoke.toml"),
    include_str!("../../scenarios/ramp.toml"),
    include_str!("../../scenarios/ci.toml"),
    include_str!("../../scenarios/ftp-monkey.toml"),
    include_str!("../../scenarios/dkftpbench.toml"),
    include_str!("../../scenarios/passive-exhaustion.toml"),
    include_str!("../../scenarios/active-exhaustion.toml"),
    include_str!("../../scenarios/active-vs-passive.toml"),
    include_str!("../../scenarios/firewall-nat.toml"),
];

/// Lines to add, each with the section it belongs to ("[group]" for
/// `[[group]]`, "" for the top, "end" for a table of its own): every kind of key, with values at and past
/// their limits.
const LINES: &[(&str, &str)] = &[
    ("run", "rate = \"1e308/s\""),
    ("run", "rate = \"0/s\""),
    ("run", "rate = 1e308"),
    ("run", "rate = -1"),
    ("run", "rate = nan"),
    ("run", "arrival = \"poisson\""),
    ("run", "max_wait = \"0s\""),
    ("run", "seed = 18446744073709551615"),
    ("[group]", "think = \"exp 500000000000000000s\""),
    ("[group]", "think = \"0s..580000000000y\""),
    ("[group]", "think = \"580000000000y\""),
    ("[group]", "bandwidth = \"0B/s\""),
    ("[group]", "bandwidth = \"18446744073709551615GiB/s\""),
    ("[group]", "transfers_per_session = 0"),
    ("[group]", "transfers_per_session = 4294967296"),
    ("[group]", "users = 4294967295"),
    ("[group]", "users = 4294967296"),
    ("[group]", "users = 0"),
    ("run", "duration = \"580000000000y\""),
    ("run", "duration = \"1ns\""),
    ("run", "ramp_up = \"580000000000y\""),
    ("run", "iterations = 18446744073709551615"),
    ("run", "iterations = 0"),
    ("run", "workers = 0"),
    ("run", "workers = 18446744073709551615"),
    ("run", "retry_pause = \"580000000000y\""),
    ("[group]", "mix = { \"quit\" = 0 }"),
    (
        "[group]",
        "mix = { \"list\" = 4294967295, \"noop\" = 4294967295 }",
    ),
    ("[group]", "mix_steps = 0"),
    ("[group]", "ops = [\"stor lognormal 16EiB 1e308\"]"),
    ("[group]", "ops = [\"stor 0..18446744073709551615\"]"),
    ("[group]", "ops = [\"idle 580000000000y\"]"),
    ("[group]", "ops = [\"hold 580000000000y\"]"),
    ("[group]", "ops = [\"retr 1k.bin:0\"]"),
    (
        "[group]",
        "ops = [\"retr 1k.bin:4294967295,1k.bin:4294967295\"]",
    ),
    ("[group]", "ops = []"),
    ("[group]", "modes = { passive = 0 }"),
    (
        "[group]",
        "modes = { passive = 4294967295, active = 4294967295 }",
    ),
    (
        "run",
        "[[run.stages]]\nduration = \"580000000000y\"\nusers = 4294967295",
    ),
    (
        "run",
        "[[run.stages]]\nduration = \"1s\"\nrate = \"1e300/s\"",
    ),
    ("end", "[[run.stages]]\nduration = \"0s\"\nrate = \"0/s\""),
    ("end", "[[group]]\nops = [\"noop\"]"),
    ("embedded", "passive_ports = \"65535-0\""),
    ("embedded", "passive_ports = \"0-0\""),
    ("embedded", "max_connections = 0"),
    ("embedded", "threads = 0"),
    ("embedded", "threads = 18446744073709551615"),
    ("embedded", "login_delay = \"580000000000y\""),
    ("thresholds", "\"errors.rate\" = \"< nan\""),
    ("thresholds", "\"session_setup.p101\" = \"< 1s\""),
    ("thresholds", "\"throughput.p50\" = \"> 1e400B/s\""),
    ("timeouts", "connect = \"0s\""),
    ("timeouts", "transfer_idle = \"580000000000y\""),
    ("target", "url = \"ftp://u@[::1]:0\""),
    ("target", "url = \"ftp://:@:\""),
    ("target", "url = \"ftp://u@host:99999\""),
    ("data", "active_ports = \"1-0\""),
    ("files", "\"1k.bin\" = 18446744073709551615"),
    ("files", "\"big.bin\" = \"16EiB\""),
    ("", "name = \"../x\""),
    ("", "name = \"\""),
];

/// Numbers put in place of one written in a seed.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "00",
    "0.5",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "1e308",
    "nan",
    "inf",
    "-inf",
];

/// Strings put in place of one written in a seed.
const STRINGS: &[&str] = &[
    "",
    "0s",
    "1ns",
    "-1s",
    "580000000000y",
    "1e400s",
    "0/s",
    "1e308/s",
    "nan/s",
    "inf/s",
    "0.0000001/s",
    "0B",
    "16EiB",
    "17EiB",
    "18446744073709551615",
    "lognormal 1 1e308",
    "lognormal 0 1",
    "0s..580000000000y",
    "1s..0s",
    "exp 580000000000y",
    "exp 0s",
    "passive",
    "eprt",
    "retr",
    "stor 0",
    "stor 1KiB..0",
    "idle 580000000000y",
    "hold 0s",
    "0-65535",
    "65535-0",
    "1-1",
    "<",
    "< 0",
    "> 1e400",
    "\u{1F980}",
    "\u{0}",
    "..",
];

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    /// A commented example in the seed ("# rate = ...") made live.
    Uncomment(Index),
    InsertLine(Index, Index),
    /// A line added to its own section (the n-th such section), so that
    /// the value, not the place, is what is tested.
    AddKey(Index, Index),
    Number(Index, Index),
    String(Index, Index),
    Truncate(Index),
    Bytes(Index, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let i = any::<Index>;
    prop_oneof![
        1 => i().prop_map(Mutation::DeleteLine),
        1 => i().prop_map(Mutation::DuplicateLine),
        1 => (i(), i()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        2 => i().prop_map(Mutation::Uncomment),
        2 => (i(), i()).prop_map(|(a, b)| Mutation::InsertLine(a, b)),
        4 => (i(), i()).prop_map(|(a, b)| Mutation::AddKey(a, b)),
        4 => (i(), i()).prop_map(|(a, b)| Mutation::Number(a, b)),
        4 => (i(), i()).prop_map(|(a, b)| Mutation::String(a, b)),
        1 => i().prop_map(Mutation::Truncate),
        1 => (i(), "[\\[\\]{}=\"#,.\n a-z0-9]{1,6}|\\PC{1,3}").prop_map(|(a, s)| Mutation::Bytes(a, s)),
    ]
}

fn mutate(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let n = lines.len();
    match m {
        Mutation::DeleteLine(i) => {
            lines.remove(i.index(n));
        }
        Mutation::DuplicateLine(i) => {
            let i = i.index(n);
            lines.insert(i, lines[i].clone());
        }
        Mutation::SwapLines(a, b) => lines.swap(a.index(n), b.index(n)),
        Mutation::Uncomment(i) => {
            let live: Vec<usize> = (0..n)
                .filter(|&k| {
                    let l = &lines[k];
                    // "# rate = ..." or "# [[run.stages]]", not prose.
                    l.starts_with("# ")
                        && l[2..]
                            .starts_with(|c: char| c.is_ascii_lowercase() || c == '"' || c == '[')
                        && (l.contains(" = ") || l.ends_with(']'))
                })
                .collect();
            if !live.is_empty() {
                let k = live[i.index(live.len())];
                lines[k] = lines[k][2..].to_owned();
            }
        }
        Mutation::InsertLine(at, what) => {
            lines.insert(at.index(n + 1), LINES[what.index(LINES.len())].1.to_owned());
        }
        Mutation::AddKey(nth, what) => {
            let (section, line) = LINES[what.index(LINES.len())];
            let header = format!("[{section}]");
            let heads: Vec<usize> = (0..n)
                .filter(|&k| lines[k].trim_start().starts_with(&header))
                .collect();
            match heads.as_slice() {
                _ if section == "end" => lines.push(line.to_owned()),
                _ if section.is_empty() => lines.insert(0, line.to_owned()),
                [] => lines.extend([header, line.to_owned()]),
                _ => {
                    // In place of the key where the section has it (a second
                    // one would only test TOML's duplicate-key error).
                    let h = heads[nth.index(heads.len())] + 1;
                    let key = line.split(" =").next().unwrap_or(line);
                    let same = (h..n)
                        .take_while(|&k| !lines[k].starts_with('['))
                        .find(|&k| lines[k].split(" =").next() == Some(key));
                    match same {
                        Some(k) => lines[k] = line.to_owned(),
                        None => lines.insert(h, line.to_owned()),
                    }
                }
            }
        }
        Mutation::Number(which, what) => {
            return replace_nth(text, which, NUMBERS[what.index(NUMBERS.len())], |t| {
                spans(
                    t,
                    |b, i| b[i].is_ascii_digit(),
                    |b, i| b[i].is_ascii_digit() || b[i] == b'.',
                )
            });
        }
        Mutation::String(which, what) => {
            let s = STRINGS[what.index(STRINGS.len())];
            return replace_nth(text, which, s, quoted);
        }
        Mutation::Truncate(i) => {
            let mut k = i.index(text.len() + 1);
            while !text.is_char_boundary(k) {
                k -= 1;
            }
            return text[..k].to_owned();
        }
        Mutation::Bytes(i, s) => {
            let mut k = i.index(text.len() + 1);
            while !text.is_char_boundary(k) {
                k -= 1;
            }
            return format!("{}{s}{}", &text[..k], &text[k..]);
        }
    }
    lines.join("\n")
}

/// Byte ranges of runs that start where `start` holds and go on while `more` does.
fn spans(
    t: &str,
    start: impl Fn(&[u8], usize) -> bool,
    more: impl Fn(&[u8], usize) -> bool,
) -> Vec<(usize, usize)> {
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if start(b, i) {
            let s = i;
            while i < b.len() && more(b, i) {
                i += 1;
            }
            out.push((s, i.max(s + 1)));
        } else {
            i += 1;
        }
    }
    out
}

/// The contents of double-quoted strings on one line.
fn quoted(t: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut open = None;
    for (i, c) in t.char_indices() {
        match (c, open) {
            ('"', None) => open = Some(i + 1),
            ('"', Some(s)) => {
                out.push((s, i));
                open = None;
            }
            ('\n', _) => open = None,
            _ => {}
        }
    }
    out
}

fn replace_nth(
    text: &str,
    which: &Index,
    with: &str,
    find: impl Fn(&str) -> Vec<(usize, usize)>,
) -> String {
    let found = find(text);
    if found.is_empty() {
        return text.to_owned();
    }
    let (s, e) = found[which.index(found.len())];
    format!("{}{with}{}", &text[..s], &text[e..])
}

/// At most this much held while parsing `len` bytes of scenario: TOML's
/// parser builds a tree of the text (with the spans kept for messages) and
/// the plan copies what it needs, each linear in the text; nothing is
/// sized by a number written in it (a Vec of 4294967295 users, a
/// schedule of 1e308 arrivals). 64 bytes per byte of text and 256 KiB
/// cover the largest measured here (see `allocation_of_the_seeds`) several
/// times over, while a size taken from a value would be gigabytes.
pub fn parse_bound(len: usize) -> usize {
    64 * len + 256 * 1024
}

fn parse(text: &str) -> Result<Plan, ScenarioError> {
    Plan::parse(text, Path::new("fuzz.toml"), &Overrides::default())
}

/// Parses `text` and checks everything a parse must satisfy.
fn check(text: &str) {
    let (out, peak) = peak_during(|| parse(text));
    assert!(
        peak <= parse_bound(text.len()),
        "parsing {} bytes held {peak}:\n{text}",
        text.len()
    );
    match out {
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("fuzz.toml"), "{msg}");
            if let ScenarioError::At { line, column, .. } = e {
                assert!(
                    line >= 1 && line <= text.lines().count() + 1,
                    "line {line} in {msg}"
                );
                assert!(column >= 1, "{msg}");
            }
        }
        Ok(plan) => usable(&plan, text),
    }
}

/// What the run does with an accepted plan, which it trusts without
/// checking: the deadline and each client's start from now, think times,
/// drawn sizes, operations and mixes, the open-loop schedule and the user
/// stages. None of these may panic or overflow.
fn usable(plan: &Plan, text: &str) {
    let now = Instant::now();
    assert!(!plan.groups.is_empty());
    assert!(plan.total_users() >= 1, "{text}");
    if let Stop::Duration(d) = plan.stop {
        assert!(
            now.checked_add(d).is_some(),
            "deadline overflows: {d:?}\n{text}"
        );
    }
    assert!(
        now.checked_add(plan.ramp_up).is_some(),
        "ramp_up overflows\n{text}"
    );
    let mut rng = SmallRng::seed_from_u64(plan.seed);
    for g in &plan.groups {
        assert!(g.users >= 1);
        if let Some(t) = &g.think {
            for _ in 0..8 {
                let d = t.sample(&mut rng);
                assert!(now.checked_add(d).is_some(), "think {t} overflows\n{text}");
            }
        }
        let ops: Vec<&Op> = match &g.mix {
            Some(m) => (0..16).map(|_| m.draw(&mut rng)).collect(),
            None => g.ops.iter().collect(),
        };
        for op in ops {
            let _ = (op.names(), op.uses_data(), op.to_string());
            if let Op::Stor(sizes) = op {
                for _ in 0..4 {
                    let _ = Sizes::draw(sizes, &mut rng);
                }
            }
        }
    }
    let end = match plan.stop {
        Stop::Duration(d) => d,
        Stop::Iterations(_) => Duration::from_secs(3600),
    };
    if let Some(ol) = &plan.open_loop {
        let mut last = None;
        for t in Schedule::new(ol, plan.seed, end).take(64) {
            assert!(last.is_none_or(|l| t >= l), "schedule goes back\n{text}");
            assert!(t < end);
            last = Some(t);
        }
    }
    if let Some(st) = &plan.user_stages {
        let total = st.duration().as_secs_f64();
        for k in 0..=8 {
            let t = total * k as f64 / 8.0;
            let u = st.users_at(t);
            assert!(u.is_finite() && u >= 0.0, "{u} users at {t}\n{text}");
            if let Some(at) = st.when_at_least(1.0, t) {
                assert!(at.is_finite() && at >= 0.0, "{at}");
                let _ = now.checked_add(Duration::from_secs_f64(at));
            }
        }
    }
    let _ = serde_json::to_string(plan).expect("a plan serializes");
}

proptest! {
    #![proptest_config(config(1536))]

    /// Committed scenarios, changed in one to four ways.
    #[test]
    fn mutated_scenarios(seed in 0usize..SEEDS.len(), ms in prop::collection::vec(mutation(), 1..5)) {
        let mut text = SEEDS[seed].to_owned();
        for m in &ms {
            text = mutate(&text, m);
        }
        check(&text);
    }

    /// Arbitrary text, and text made of TOML's punctuation and keys.
    #[test]
    fn arbitrary_text(text in prop_oneof![
        "\\PC{0,200}",
        "(\\[|\\]|\\[\\[group\\]\\]|\\[run\\]|=|\"|\n|users|ops|duration|rate|1|0|\"1s\"|, |\\{|\\}){0,60}",
    ]) {
        check(&text);
    }
}

/// Every seed parses (so mutations start from valid input), and the peak
/// allocation measured on them, for `parse_bound`.
#[test]
fn allocation_of_the_seeds() {
    for s in SEEDS {
        let (plan, peak) = peak_during(|| parse(s));
        let plan = plan.unwrap_or_else(|e| panic!("{e}\n{s}"));
        usable(&plan, s);
        eprintln!(
            "{} bytes held {peak} at peak ({:.1} per byte)",
            s.len(),
            peak as f64 / s.len() as f64
        );
        assert!(peak <= parse_bound(s.len()));
    }
}

// Every failure the properties above found, by name (their seeds are in
// tests/proptest-regressions/scenario.txt too).

const MONKEY: &str = include_str!("../../scenarios/ftp-monkey.toml");

/// A run of u64::MAX seconds was accepted, and `run` panicked adding it to
/// now ("overflow when adding duration to instant", exit 101). Now refused
/// where it is written, as is the flag.
#[test]
fn regression_a_duration_of_u64_max_seconds() {
    let text = MONKEY.replace("\"30s\"", "\"18446744073709551615s\"");
    check(&text);
    let e = parse(&text).unwrap_err().to_string();
    assert!(e.starts_with("fuzz.toml:13:"), "{e}");
    assert!(e.contains("at most 100 years"), "{e}");
}

/// Mix weights whose sum passes u32::MAX overflowed each draw (a panic in
/// a debug build, a skewed mix in release).
#[test]
fn regression_mix_weights_summing_past_u32() {
    let text = MONKEY
        .replace("= 25,", "= 4294967295,")
        .replace("\"quit\" = 10", "\"quit\" = 4294967295");
    check(&text);
    let plan = parse(&text).unwrap();
    let mix = plan.groups[0].mix.as_ref().unwrap();
    let mut rng = SmallRng::seed_from_u64(1);
    let quits = (0..3000)
        .filter(|_| *mix.draw(&mut rng) == Op::Quit)
        .count();
    // 1 in 3 of the weight (three weights of u32::MAX, the rest small).
    assert!((800..1200).contains(&quits), "{quits} of 3000");
}
