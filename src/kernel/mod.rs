//! Kernel TCP counters sampled before and after a run, when the target runs on
//! this host. A listen queue that overflowed, SYN cookies that were sent, or
//! retransmissions explain "connected, no banner" and long tails better than
//! any guess; the kernel has counted them already.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::ops::AddAssign;

pub mod diag;

/// Deltas over the run, from `/proc/net/netstat` and `/proc/net/snmp`. They are
/// host-wide (per network namespace): other traffic on the host counts too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelCounters {
    /// A SYN or a completed connection found the listen queue full.
    pub listen_overflows: u64,
    pub listen_drops: u64,
    /// SYN cookies sent: the SYN queue overflowed; clients may then hang with no banner.
    pub syncookies_sent: u64,
    pub retrans_segs: u64,
    /// Connection attempts that failed (refused, reset in SYN-RECV).
    pub attempt_fails: u64,
    pub estab_resets: u64,
    pub out_rsts: u64,
    /// Sockets in TIME_WAIT with the target's address at either end, at the
    /// end of the run (a gauge, not a delta).
    pub time_wait_end: u64,
}

impl AddAssign for KernelCounters {
    fn add_assign(&mut self, o: KernelCounters) {
        self.listen_overflows += o.listen_overflows;
        self.listen_drops += o.listen_drops;
        self.syncookies_sent += o.syncookies_sent;
        self.retrans_segs += o.retrans_segs;
        self.attempt_fails += o.attempt_fails;
        self.estab_resets += o.estab_resets;
        self.out_rsts += o.out_rsts;
        self.time_wait_end += o.time_wait_end;
    }
}

/// Whether `ip` belongs to this host (and so to the kernel we can read):
/// loopback, or an address a socket can bind to.
pub fn is_local(ip: IpAddr) -> bool {
    ip.is_loopback() || std::net::TcpListener::bind((ip, 0)).is_ok()
}

/// The cumulative counters at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample(KernelCounters);

impl Sample {
    /// The counters now. TIME_WAIT toward the target is counted only when
    /// `target` is given: it is the one reading that walks the kernel's
    /// socket table (about 10 ms at 15,000 sockets in TIME_WAIT, 32 ms at
    /// 106,000), and only the end of a run keeps it.
    pub fn take(target: Option<IpAddr>) -> Option<Sample> {
        let netstat = std::fs::read_to_string("/proc/net/netstat").ok()?;
        let snmp = std::fs::read_to_string("/proc/net/snmp").ok()?;
        let ext = |k| field(&netstat, "TcpExt", k);
        let tcp = |k| field(&snmp, "Tcp", k);
        Some(Sample(KernelCounters {
            listen_overflows: ext("ListenOverflows"),
            listen_drops: ext("ListenDrops"),
            syncookies_sent: ext("SyncookiesSent"),
            retrans_segs: tcp("RetransSegs"),
            attempt_fails: tcp("AttemptFails"),
            estab_resets: tcp("EstabResets"),
            out_rsts: tcp("OutRsts"),
            time_wait_end: target.map_or(0, time_wait),
        }))
    }

    /// What happened between `self` (before) and `after`.
    pub fn delta(&self, after: &Sample) -> KernelCounters {
        let (a, b) = (&self.0, &after.0);
        KernelCounters {
            listen_overflows: b.listen_overflows.saturating_sub(a.listen_overflows),
            listen_drops: b.listen_drops.saturating_sub(a.listen_drops),
            syncookies_sent: b.syncookies_sent.saturating_sub(a.syncookies_sent),
            retrans_segs: b.retrans_segs.saturating_sub(a.retrans_segs),
            attempt_fails: b.attempt_fails.saturating_sub(a.attempt_fails),
            estab_resets: b.estab_resets.saturating_sub(a.estab_resets),
            out_rsts: b.out_rsts.saturating_sub(a.out_rsts),
            time_wait_end: b.time_wait_end,
        }
    }
}

/// Reads one counter from the "Prefix: names" / "Prefix: values" line pairs
/// that `/proc/net/netstat` and `/proc/net/snmp` use.
fn field(text: &str, prefix: &str, key: &str) -> u64 {
    let tag = format!("{prefix}:");
    let mut lines = text.lines().filter(|l| l.starts_with(&tag));
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        let names = names.split_whitespace().skip(1);
        let values = values.split_whitespace().skip(1);
        if let Some((_, v)) = names.zip(values).find(|(n, _)| *n == key) {
            return v.parse().unwrap_or(0);
        }
    }
    0
}

/// TIME_WAIT sockets with `target` at either end, filtered by the kernel
/// ([`diag`]); 0 when the kernel will not say. For the start and end of a
/// run: its cost grows with the host's connection table.
pub fn time_wait(target: IpAddr) -> u64 {
    diag::time_wait(target).unwrap_or(0)
}

/// Every TCP socket in TIME_WAIT in this network namespace, whatever its
/// addresses: the `tw` of `/proc/net/sockstat`, a counter the kernel keeps,
/// so reading it costs the same (about 16 µs here) at 0 or 100,000 sockets.
/// The per-second figure; `None` if the file cannot be read.
pub fn time_wait_here() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/sockstat").ok()?;
    sockstat_tw(&text)
}

fn sockstat_tw(text: &str) -> Option<u64> {
    let tcp = text.lines().find_map(|l| l.strip_prefix("TCP:"))?;
    let mut words = tcp.split_whitespace();
    while let Some(w) = words.next() {
        if w == "tw" {
            return words.next()?.parse().ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_counters_from_paired_lines() {
        let t = "TcpExt: SyncookiesSent ListenOverflows\nTcpExt: 7 42\nIpExt: A\nIpExt: 1\n";
        assert_eq!(field(t, "TcpExt", "ListenOverflows"), 42);
        assert_eq!(field(t, "TcpExt", "SyncookiesSent"), 7);
        assert_eq!(field(t, "TcpExt", "Nope"), 0);
    }

    #[test]
    fn reads_time_wait_from_sockstat() {
        let t =
            "sockets: used 8\nTCP: inuse 2 orphan 1 tw 61704 alloc 2 mem 79\nUDP: inuse 0 mem 0\n";
        assert_eq!(sockstat_tw(t), Some(61704));
        assert_eq!(sockstat_tw("TCP: inuse 2\n"), None);
        assert!(time_wait_here().is_some(), "/proc/net/sockstat is readable");
    }

    #[test]
    fn samples_this_host() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(is_local(ip));
        let a = Sample::take(None).expect("/proc/net is readable");
        let b = Sample::take(Some(ip)).unwrap();
        let d = a.delta(&b);
        assert!(d.listen_overflows < 1_000_000);
    }
}
