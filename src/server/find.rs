//! Which local process serves a target: the one holding the socket that
//! listens on its port, found as `ss -ltnp` finds it (the listening
//! socket's inode in `/proc/net/tcp{,6}`, then the process whose
//! descriptor is that socket), so a run against a server on this host
//! watches it without being told its pid.

use std::net::{IpAddr, SocketAddr};

/// TCP state LISTEN in `/proc/net/tcp`.
const LISTEN: &str = "0A";

/// The inodes of sockets listening on `addr`'s port, on its address or on
/// the wildcard, from one `/proc/net/tcp{,6}` text.
fn listening_inodes(table: &str, addr: SocketAddr) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (f.get(1)?, f.get(3)?, f.get(9)?);
            if *state != LISTEN {
                return None;
            }
            let (ip_hex, port_hex) = local.split_once(':')?;
            let port = u16::from_str_radix(port_hex, 16).ok()?;
            let ip = parse_hex_ip(ip_hex)?;
            let matches = port == addr.port() && (ip == addr.ip() || ip.is_unspecified());
            matches.then(|| inode.parse().ok()).flatten()
        })
        .collect()
}

/// An address as `/proc/net/tcp{,6}` writes it: the 32-bit words in host
/// byte order (little-endian here), each as 8 hex digits.
fn parse_hex_ip(hex: &str) -> Option<IpAddr> {
    let word = |i: usize| -> Option<[u8; 4]> {
        let w = u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok()?;
        Some(w.to_le_bytes())
    };
    match hex.len() {
        8 => Some(IpAddr::from(word(0)?)),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            let v6 = std::net::Ipv6Addr::from(b);
            // A v4-mapped listener (::ffff:127.0.0.1) serves the v4 address.
            Some(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4))
        }
        _ => None,
    }
}

/// The pid of the process listening on `addr` (this network namespace
/// only), or None: none listens, or its descriptors cannot be read. Where
/// several hold the socket (a forked child that kept it), the one whose
/// parent does not: the server's root.
pub fn listener(addr: SocketAddr) -> Option<i32> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(t) = std::fs::read_to_string(table) {
            inodes.extend(listening_inodes(&t, addr));
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    let mut holders = Vec::new();
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(e.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|l| wanted.iter().any(|w| l.as_os_str() == w.as_str()))
        });
        if holds {
            holders.push(pid);
        }
    }
    let parent = |pid: i32| super::proc::stat(pid).map(|s| s.ppid).unwrap_or(0);
    let root = holders
        .iter()
        .copied()
        .filter(|p| !holders.contains(&parent(*p)))
        .min();
    root.or_else(|| holders.iter().copied().min())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0849 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 51234 1 0000000000000000 100 0 0 10 0
   1: 00000000:0850 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 51235 1 0000000000000000 100 0 0 10 0
   2: 0100007F:0849 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 51236 1 0000000000000000 20 4 30 10 -1
";

    #[test]
    fn finds_the_listening_sockets_of_a_port() {
        let at = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
        assert_eq!(listening_inodes(TCP, at(2121)), [51234]);
        // The wildcard listener serves 127.0.0.1 too.
        assert_eq!(listening_inodes(TCP, at(2128)), [51235]);
        assert!(listening_inodes(TCP, at(2122)).is_empty());
        assert_eq!(
            parse_hex_ip("00000000000000000000000001000000"),
            Some(IpAddr::from(std::net::Ipv6Addr::LOCALHOST))
        );
    }

    /// A listener of this very process is found as this process.
    #[test]
    fn finds_this_process_listening() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        assert_eq!(listener(addr), Some(std::process::id() as i32));
        drop(l);
        assert_eq!(listener(addr), None);
    }
}
