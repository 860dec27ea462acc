//! What the numbers alone do not say, under the table: that the generator
//! itself was the bottleneck, what the kernel counted, the first exhaustion
//! of each mode, the server's session limit when it turned sessions away,
//! and every failure by class with an example.

use std::fmt::Write as _;

use crate::diagnosis::words;
use crate::proto::Mode;
use crate::result::{ModeResult, RunResult};

pub(super) fn render(r: &RunResult) -> String {
    let mut out = String::new();
    let modes: Vec<(&Mode, &ModeResult)> = r.modes.iter().collect();
    if let Some(g) = r.generator.as_ref().filter(|g| g.bottleneck) {
        let _ = writeln!(
            out,
            "\nWARNING: the load generator itself was a bottleneck ({}): these numbers describe it as much as the server; use more --workers, fewer clients or a lower rate",
            g.reasons.join("; ")
        );
    }
    let memory = r.generator.as_ref().and_then(|g| g.memory.as_ref());
    if let Some(m) = memory.filter(|m| m.peak_sessions > 0) {
        let _ = writeln!(
            out,
            "\ngenerator memory: {} resident with {} sessions logged in (from {} at start): {} per session{}",
            super::format::bytes(m.at_peak_sessions_bytes),
            m.peak_sessions,
            super::format::bytes(m.start_bytes),
            super::format::bytes(m.per_session_bytes.unwrap_or(0)),
            if m.includes_target {
                ", the embedded target's share included"
            } else {
                ""
            }
        );
    }
    if let Some(s) = &r.start_at {
        let _ = writeln!(
            out,
            "\nstart held for {} (--start-at): the load began {:.1} to {:.1} ms after it over {} shard{}{}",
            s.requested,
            s.skew_ms_min,
            s.skew_ms_max,
            s.shards,
            if s.shards == 1 { "" } else { "s" },
            match s.late {
                0 => String::new(),
                n => format!(", {n} of them LATE (ready after the instant, started at once)"),
            }
        );
    }
    if let Some(k) = &r.kernel {
        let _ = writeln!(
            out,
            "\nkernel (this host, over the run): listen overflows {}, listen drops {}, SYN cookies sent {}, retransmitted segments {}, failed connects {}, resets sent {}, TIME_WAIT at end {}",
            k.listen_overflows,
            k.listen_drops,
            k.syncookies_sent,
            k.retrans_segs,
            k.attempt_fails,
            k.out_rsts,
            k.time_wait_end
        );
        if k.listen_overflows + k.syncookies_sent > 0 {
            out.push_str("  the target's listen queue overflowed: clients may have connected and waited for a banner; spread connects with ramp_up\n");
        }
    }
    for (m, s) in &modes {
        // A session refused by the server's limit has its own note below.
        let same_as_limit = |x: &crate::metrics::Exhaustion| {
            s.sessions
                .as_ref()
                .and_then(|st| st.limit.as_ref())
                .is_some_and(|l| l.evidence == x.evidence)
        };
        if let Some(x) = s.channels.exhaustion.as_ref().filter(|x| !same_as_limit(x)) {
            // The rate in the second it happened, from the timeline.
            let rate = r
                .timeline
                .iter()
                .find(|i| f64::from(i.t_s) >= x.at_s)
                .and_then(|i| i.modes.get(m))
                .map(|v| {
                    format!(
                        ", {} sessions/s and {} transfers/s",
                        v.sessions, v.transfers
                    )
                })
                .unwrap_or_default();
            // A mode that never opened a data channel did not run out of
            // anything: something blocks it (a firewall, a route).
            let c = &s.counters;
            // Sessions with no banner while the listen queue (on this host,
            // where the kernel counts it) never overflowed: a silent server.
            let silent = x.signature == crate::metrics::exhaustion::NO_BANNER
                && r.kernel
                    .as_ref()
                    .is_some_and(|k| k.listen_overflows + k.syncookies_sent == 0);
            let head = if c.channels_opened == 0 && c.transfers_failed > 0 {
                "NO DATA CHANNEL EVER OPENED (blocked, not exhausted)"
            } else if silent {
                "NO BANNER (a silent server, not exhausted)"
            } else {
                "EXHAUSTION"
            };
            // A silent server's line must not also claim the overflow the
            // kernel did not count: the signature's first half only.
            let signature = match silent {
                true => x.signature.split(':').next().unwrap_or_default(),
                false => x.signature.as_str(),
            };
            let _ = writeln!(
                out,
                "\n{head} ({m}): first at {:.1}s with {} clients running{rate}, {} channels pending and {} open: {signature}\n  evidence: {}",
                x.at_s, x.clients, x.pending, x.open, x.evidence
            );
            if silent {
                let _ = writeln!(
                    out,
                    "  {}",
                    crate::diagnosis::words::NO_BANNER_WITHOUT_OVERFLOW
                );
            }
        }
    }
    if let Some(cut @ 1..) = r.cut_off.get() {
        let _ = writeln!(
            out,
            "\n{}",
            crate::diagnosis::words::cut_off(cut, crate::driver::GRACE)
        );
    }
    out.push_str(&session_limits(r));
    let mut any = false;
    for (m, s) in &modes {
        for e in &s.errors {
            if !any {
                out.push_str("\nerrors by class:\n");
                any = true;
            }
            let _ = writeln!(
                out,
                "  {m:<8} {:>8}  {}{}",
                e.count,
                e.class,
                e.sample
                    .as_deref()
                    .map(|x| format!("  (e.g. {x})"))
                    .unwrap_or_default()
            );
        }
    }
    out
}

/// Per mode, the server's session limit when it refused sessions: which
/// limit (from its words; the embedded target's cap from the plan), how
/// often, and the most sessions it held at once. More users than that
/// measure the limit, not the server.
fn session_limits(r: &RunResult) -> String {
    let mut out = String::new();
    let cap = r.scenario["target"]["max_connections"].as_u64();
    for (m, s) in &r.modes {
        let Some(st) = &s.sessions else { continue };
        let Some(l) = &st.limit else { continue };
        let _ = writeln!(
            out,
            "\nSESSION LIMIT ({m}): the server refused {} sessions {} ({}), the first at {:.1}s with {} clients running and {} logged in: {}\n  evidence: {}\n  at most {} sessions were logged in at once: users beyond that measure the limit, not the server",
            st.refused,
            l.step.refused_at(),
            l.code,
            l.at_s,
            l.clients,
            l.logged_in,
            words::session_limit(&l.evidence, cap),
            l.evidence,
            st.peak_logged_in
        );
    }
    out
}
