//! Kernel TCP counters sampled before and after a run, when the target runs on
//! this host. A listen queue that overflowed, SYN cookies that were sent, or
//! retransmissions explain "connected, no banner" and long tails better than
//! any guess; the kernel has counted them already.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::ops::AddAssign;

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
    pub fn take(target: IpAddr) -> Option<Sample> {
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
            time_wait_end: time_wait(target),
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

/// Counts TIME_WAIT sockets (state 06) with `target` at either end.
pub fn time_wait(target: IpAddr) -> u64 {
    let (path, hex) = match target {
        IpAddr::V4(v4) => (
            "/proc/net/tcp",
            format!("{:08X}", u32::from_le_bytes(v4.octets())),
        ),
        IpAddr::V6(v6) => (
            "/proc/net/tcp6",
            v6.octets()
                .chunks(4)
                .map(|c| format!("{:08X}", u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
        ),
    };
    let Ok(text) = std::fs::read_to_string(path) else {
        return 0;
    };
    text.lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().take(4).collect();
            f.len() == 4
                && f[3] == "06"
                && (f[1].starts_with(hex.as_str()) || f[2].starts_with(hex.as_str()))
        })
        .count() as u64
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
    fn samples_this_host() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(is_local(ip));
        let a = Sample::take(ip).expect("/proc/net is readable");
        let b = Sample::take(ip).unwrap();
        let d = a.delta(&b);
        assert!(d.listen_overflows < 1_000_000);
    }
}
