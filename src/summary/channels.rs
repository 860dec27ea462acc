//! One line per mode on what happened to its data channels, in words an
//! operator can act on: how many sessions logged in, how many data channels
//! opened, and what stopped the others, each failure by its kind (a connect
//! that timed out is a firewall dropping it; refused is a closed port; a 4xx
//! is the server saying no; a connect-back that never came is a firewall in
//! front of the client). The classic "logs in, cannot list" reads at once.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::diagnosis::words::Waits;
use crate::diagnosis::Cause;
use crate::metrics::{ErrorClass, Step};
use crate::proto::Mode;
use crate::result::{ErrorEntry, ModeResult, RunResult};

/// The cause of a recorded failure, read as the probe reads one: from its
/// class, its mode, and the words of its sample (which quote the reply).
pub fn cause_of(mode: Mode, e: &ErrorEntry) -> Cause {
    Cause::of(Some(mode), &e.class, e.sample.as_deref().unwrap_or(""))
}

/// Whether a failure is one of opening or keeping a data channel: those
/// are what this line counts; a refused login or a missing file are not.
fn on_data_channel(mode: Mode, class: &ErrorClass) -> bool {
    use ErrorClass as C;
    match *class {
        C::Timeout { step } => {
            matches!(step, Step::DataSetup | Step::DataConnect | Step::DataAccept)
        }
        C::Refused { step } | C::Reset { step } | C::Os { step, .. } => {
            matches!(step, Step::DataConnect | Step::DataAccept)
        }
        C::AddrInUse { step } => step == Step::DataSetup,
        C::Reply { command, code } => command == Some(mode.verb()) || matches!(code, 425 | 426),
        _ => false,
    }
}

/// The data timeouts of the run, as written in its plan.
fn waits(r: &RunResult) -> Waits<'_> {
    let get = |k: &str| r.scenario["timeouts"][k].as_str().unwrap_or("its timeout");
    Waits {
        data_connect: get("data_connect"),
        accept: get("accept"),
        reply: get("reply"),
    }
}

/// The line for one mode, or `None` when it asked for no data channel.
fn line(mode: Mode, s: &ModeResult, waits: &Waits) -> Option<String> {
    let c = &s.counters;
    let asked = c.transfers + c.transfers_failed;
    if asked == 0 && c.sessions == 0 {
        return None;
    }
    let failed = if c.sessions_failed > 0 {
        format!(" ({} failed)", c.sessions_failed)
    } else {
        String::new()
    };
    // A result from before channels were counted says how many were asked
    // for, and no number it does not have.
    let mut out = match c.channels_opened.get() {
        Some(opened) => format!(
            "{mode}: {} sessions logged in{failed}, {opened} of {asked} data channels opened",
            c.sessions
        ),
        None => format!(
            "{mode}: {} sessions logged in{failed}, {asked} data channels asked for, how many opened unknown (the result predates that count)",
            c.sessions
        ),
    };
    // By cause, and within one by its words (replies of different codes).
    let mut kinds: BTreeMap<(Cause, String), u64> = BTreeMap::new();
    for e in s.errors.iter().filter(|e| on_data_channel(mode, &e.class)) {
        let cause = cause_of(mode, e);
        *kinds
            .entry((cause, cause.phrase(mode, &e.class, waits)))
            .or_default() += e.count;
    }
    let mut kinds: Vec<(String, u64)> = kinds.into_iter().map(|((_, p), n)| (p, n)).collect();
    kinds.sort_by_key(|k| std::cmp::Reverse(k.1));
    // One kind of failure behind every channel that did not open: "all".
    let unopened = c.channels_opened.get().map(|o| asked.saturating_sub(o));
    for (i, (p, n)) in kinds.iter().enumerate() {
        let sep = if i == 0 { ": " } else { "; " };
        let all = if kinds.len() == 1 && *n > 1 && Some(*n) == unopened {
            "all "
        } else {
            ""
        };
        let _ = write!(out, "{sep}{all}{n} {p}");
    }
    Some(out)
}

/// One line per mode.
pub fn render(r: &RunResult) -> String {
    let waits = waits(r);
    let lines: Vec<String> = r
        .modes
        .iter()
        .filter_map(|(m, s)| line(*m, s, &waits))
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    let mut out = String::from("\ndata channels:\n");
    for l in lines {
        let _ = writeln!(out, "  {l}");
    }
    out
}
