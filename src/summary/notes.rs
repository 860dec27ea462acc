//! What the numbers alone do not say, under the table: that the generator
//! itself was the bottleneck, what the kernel counted, the first exhaustion
//! of each mode, and every failure by class with an example.

use std::fmt::Write as _;

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
        if let Some(x) = &s.channels.exhaustion {
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
            let _ = writeln!(
                out,
                "\n{head} ({m}): first at {:.1}s with {} clients running{rate}, {} channels pending and {} open: {}\n  evidence: {}",
                x.at_s, x.clients, x.pending, x.open, x.signature, x.evidence
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
