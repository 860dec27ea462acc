//! One line per mode on what happened to its data channels, in words an
//! operator can act on: how many sessions logged in, how many data channels
//! opened, and what stopped the others, each failure by its kind (a connect
//! that timed out is a firewall dropping it; refused is a closed port; a 4xx
//! is the server saying no; a connect-back that never came is a firewall in
//! front of the client). The classic "logs in, cannot list" reads at once.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::metrics::{ErrorClass, Step};
use crate::proto::{Mode, Verb};
use crate::result::{ModeResult, RunResult};

/// A kind of data-channel failure, with the words for it.
fn phrase(mode: Mode, class: &ErrorClass, timeouts: &Timeouts) -> Option<String> {
    use ErrorClass as C;
    let cmds = match mode {
        Mode::Passive => "PASV",
        Mode::Epsv => "EPSV",
        Mode::Active => "PORT",
        Mode::Eprt => "EPRT",
    };
    Some(match *class {
        C::Timeout {
            step: Step::DataConnect,
        } => format!(
            "connects to the announced port timed out after {} (filtered: a firewall drops them)",
            timeouts.data_connect
        ),
        C::Refused {
            step: Step::DataConnect,
        } => "connects to the announced port were refused (nothing listens there)".into(),
        C::Os {
            step: Step::DataConnect,
            errno,
        } if errno == libc::ENETUNREACH || errno == libc::EHOSTUNREACH => {
            "connects found no route to the announced address".into()
        }
        C::Timeout {
            step: Step::DataAccept,
        } => format!(
            "connect-backs from the server never arrived within {} (a firewall in front of this client drops them?)",
            timeouts.accept
        ),
        C::Timeout {
            step: Step::DataSetup,
        } if mode.is_active() => format!(
            "{cmds} got no reply within {} (servers that connect back before answering hang here when the connect-back is dropped)",
            timeouts.reply
        ),
        C::Timeout {
            step: Step::DataSetup,
        } => format!("{cmds} got no reply within {}", timeouts.reply),
        C::AddrInUse {
            step: Step::DataSetup,
        } => "active listeners found no free port in the client's range".into(),
        C::Reply {
            code,
            command: Some(v @ (Verb::Pasv | Verb::Epsv | Verb::Port | Verb::Eprt)),
        } => format!("replies {code} to {v} (the server refused the data channel)"),
        C::Reply {
            code: code @ (425 | 426),
            command,
        } => format!(
            "replies {code}{} (the server could not open or keep the data connection)",
            command.map(|c| format!(" to {c}")).unwrap_or_default()
        ),
        C::Refused { step } | C::Timeout { step } | C::Reset { step } | C::Os { step, .. }
            if matches!(step, Step::DataConnect | Step::DataAccept) =>
        {
            format!("failures: {class}")
        }
        _ => return None,
    })
}

/// The data timeouts of the run, as written in its plan.
struct Timeouts {
    data_connect: String,
    accept: String,
    reply: String,
}

impl Timeouts {
    fn of(r: &RunResult) -> Timeouts {
        let t = &r.scenario["timeouts"];
        let get = |k: &str| t[k].as_str().unwrap_or("its timeout").to_string();
        Timeouts {
            data_connect: get("data_connect"),
            accept: get("accept"),
            reply: get("reply"),
        }
    }
}

/// The line for one mode, or `None` when it asked for no data channel.
fn line(mode: Mode, s: &ModeResult, timeouts: &Timeouts) -> Option<String> {
    let c = &s.counters;
    let asked = c.transfers + c.transfers_failed;
    if asked == 0 && c.sessions == 0 {
        return None;
    }
    let mut out = format!(
        "{mode}: {} sessions logged in{}, {} of {asked} data channels opened",
        c.sessions,
        if c.sessions_failed > 0 {
            format!(" ({} failed)", c.sessions_failed)
        } else {
            String::new()
        },
        c.channels_opened
    );
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    for e in &s.errors {
        if let Some(p) = phrase(mode, &e.class, timeouts) {
            *kinds.entry(p).or_default() += e.count;
        }
    }
    let mut kinds: Vec<(String, u64)> = kinds.into_iter().collect();
    kinds.sort_by_key(|k| std::cmp::Reverse(k.1));
    // One kind of failure behind every channel that did not open: "all".
    let unopened = asked.saturating_sub(c.channels_opened);
    for (i, (p, n)) in kinds.iter().enumerate() {
        let sep = if i == 0 { ": " } else { "; " };
        let all = if kinds.len() == 1 && *n > 1 && *n == unopened {
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
    let timeouts = Timeouts::of(r);
    let lines: Vec<String> = r
        .modes
        .iter()
        .filter_map(|(m, s)| line(*m, s, &timeouts))
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
