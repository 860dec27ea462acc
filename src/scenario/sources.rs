//! Local source addresses (`--source-ips`, `[target] source_ips`): the
//! virtual clients spread over them, so the client's port supply is one
//! ephemeral range (32768-60999 by default, about 28,000 ports) per address
//! and target rather than one in all. Client `k` of the whole run leaves
//! from address `k mod n`, whichever shard or process runs it.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

/// The most addresses one list may name: 4 /24s, or 28 million ports.
pub const MAX_SOURCES: usize = 1024;

/// A validated list of source addresses: one family, no duplicates, at
/// least one and at most [`MAX_SOURCES`]. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceIps {
    addrs: Arc<[IpAddr]>,
}

impl SourceIps {
    /// Parses a comma-separated list of addresses, ranges `A-B` (both
    /// included) and CIDR blocks `A/PREFIX` (every address of the block),
    /// IPv4 or IPv6. Errors quote the piece that is wrong.
    pub fn parse(text: &str) -> Result<SourceIps, String> {
        let mut addrs: Vec<IpAddr> = Vec::new();
        for piece in text.split(',') {
            let piece = piece.trim();
            let bad = |why: &str| format!("bad source address {piece:?} in {text:?}: {why}");
            if piece.is_empty() {
                return Err(format!(
                    "bad source addresses {text:?}: an empty item; write e.g. 127.0.0.2-127.0.0.9, 10.0.0.5,10.0.0.6 or 10.0.1.0/28"
                ));
            }
            let (first, last) = bounds(piece).map_err(|why| bad(&why))?;
            let count = (last - first).saturating_add(1);
            if count > (MAX_SOURCES - addrs.len()) as u128 {
                return Err(bad(&format!(
                    "more than {MAX_SOURCES} addresses in all; one process needs no more (each brings about 28,000 ports)"
                )));
            }
            for n in first..=last {
                let ip = if first_is_v4(piece) {
                    IpAddr::from(std::net::Ipv4Addr::from(n as u32))
                } else {
                    IpAddr::from(std::net::Ipv6Addr::from(n))
                };
                if ip.is_unspecified() || ip.is_multicast() {
                    return Err(bad(&format!("{ip} cannot be a source address")));
                }
                if let Some(other) = addrs.first().filter(|a| a.is_ipv4() != ip.is_ipv4()) {
                    return Err(bad(&format!(
                        "{ip} is not of the family of {other}: the addresses must be all IPv4 or all IPv6, the target's"
                    )));
                }
                addrs.push(ip);
            }
        }
        let mut sorted = addrs.clone();
        sorted.sort();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!(
                "bad source addresses {text:?}: {} is named twice",
                w[0]
            ));
        }
        Ok(SourceIps {
            addrs: addrs.into(),
        })
    }

    /// [`SourceIps::parse`] then [`SourceIps::check_local`]: what
    /// `--source-ips` takes.
    pub fn parse_local(text: &str) -> Result<SourceIps, String> {
        let s = SourceIps::parse(text)?;
        s.check_local()?;
        Ok(s)
    }

    /// Each address must be one of this host's: a trial bind (which takes
    /// no port) says so, once, before anything runs.
    pub fn check_local(&self) -> Result<(), String> {
        let mut missing = Vec::new();
        for &ip in self.addrs.iter() {
            match crate::proto::source::trial_bind(ip) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => missing.push(ip),
                Err(e) => return Err(format!("cannot bind to source address {ip}: {e}")),
            }
        }
        let Some(first) = missing.first() else {
            return Ok(());
        };
        let which = match missing.len() {
            1 => format!("{first} is not an address"),
            n => format!("{first} and {} more are not addresses", n - 1),
        };
        let prefix = if first.is_ipv4() { 32 } else { 128 };
        Err(format!(
            "source address {which} of this host (bind: EADDRNOTAVAIL): add it first (e.g. ip addr add {first}/{prefix} dev lo) or leave it out"
        ))
    }

    /// The target must be of the addresses' family.
    pub fn check_family(&self, target: IpAddr) -> Result<(), String> {
        let family = |ip: IpAddr| if ip.is_ipv4() { "IPv4" } else { "IPv6" };
        let first = self.addrs[0];
        if first.is_ipv4() == target.is_ipv4() {
            return Ok(());
        }
        let shown = match self.addrs.len() {
            1 => first.to_string(),
            _ => format!("{first}, ..."),
        };
        Err(format!(
            "the source addresses ({shown}) are {} but the target {target} is {}: use source addresses of the target's family",
            family(first),
            family(target)
        ))
    }

    /// The address client `k` (numbered over the whole run) leaves from.
    pub fn for_client(&self, k: u64) -> IpAddr {
        self.addrs[(k % self.addrs.len() as u64) as usize]
    }

    pub fn addrs(&self) -> &[IpAddr] {
        &self.addrs
    }

    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    /// Never true: a list holds at least one address.
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }
}

fn first_is_v4(piece: &str) -> bool {
    !piece.contains(':')
}

/// The first and last address of one piece, as numbers.
fn bounds(piece: &str) -> Result<(u128, u128), String> {
    let one = |s: &str| -> Result<IpAddr, String> {
        s.trim()
            .parse::<IpAddr>()
            .map_err(|_| format!("{:?} is not an IPv4 or IPv6 address", s.trim()))
    };
    let num = |ip: IpAddr| match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    if let Some((a, prefix)) = piece.split_once('/') {
        let a = one(a)?;
        let bits = if a.is_ipv4() { 32 } else { 128 };
        let p: u32 = prefix
            .trim()
            .parse()
            .ok()
            .filter(|p| *p <= bits)
            .ok_or_else(|| format!("the prefix length must be 0 to {bits}"))?;
        let host_bits = bits - p;
        let size = 1u128.checked_shl(host_bits).unwrap_or(0);
        if size == 0 || size > MAX_SOURCES as u128 {
            return Err(format!(
                "/{p} holds more than {MAX_SOURCES} addresses, the most one list may name"
            ));
        }
        let first = num(a) & !(size - 1);
        return Ok((first, first + size - 1));
    }
    if let Some((a, b)) = piece.split_once('-') {
        let (a, b) = (one(a)?, one(b)?);
        if a.is_ipv4() != b.is_ipv4() {
            return Err("a range's ends must be of one family".into());
        }
        if num(a) > num(b) {
            return Err(format!("the range ends before it starts ({b} < {a})"));
        }
        return Ok((num(a), num(b)));
    }
    let a = one(piece)?;
    Ok((num(a), num(a)))
}

impl fmt::Display for SourceIps {
    /// The first and last address and how many: "127.0.0.2 .. 127.0.0.9 (8)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addrs.as_ref() {
            [one] => write!(f, "{one}"),
            [first, .., last] => write!(f, "{first} .. {last} ({})", self.addrs.len()),
            [] => Ok(()),
        }
    }
}

/// The addresses in order, each as text: a result says exactly what ran.
impl Serialize for SourceIps {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.addrs.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> Vec<String> {
        SourceIps::parse(text)
            .unwrap()
            .addrs()
            .iter()
            .map(|a| a.to_string())
            .collect()
    }

    #[test]
    fn ranges_lists_and_blocks() {
        assert_eq!(
            list("127.0.0.2-127.0.0.4"),
            ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
        );
        assert_eq!(list(" 10.0.0.9 , 10.0.0.1"), ["10.0.0.9", "10.0.0.1"]);
        assert_eq!(
            list("10.0.1.5/30"),
            ["10.0.1.4", "10.0.1.5", "10.0.1.6", "10.0.1.7"]
        );
        assert_eq!(list("::1"), ["::1"]);
        assert_eq!(
            list("fd00::fe-fd00::101"),
            ["fd00::fe", "fd00::ff", "fd00::100", "fd00::101"]
        );
        assert_eq!(list("fd00::/127"), ["fd00::", "fd00::1"]);
        assert_eq!(SourceIps::parse("127.0.0.0/22").unwrap().len(), 1024);
    }

    #[test]
    fn clients_go_round_the_addresses() {
        let s = SourceIps::parse("127.0.0.2-127.0.0.4").unwrap();
        let got: Vec<String> = (0..5).map(|k| s.for_client(k).to_string()).collect();
        assert_eq!(
            got,
            [
                "127.0.0.2",
                "127.0.0.3",
                "127.0.0.4",
                "127.0.0.2",
                "127.0.0.3"
            ]
        );
        assert_eq!(s.to_string(), "127.0.0.2 .. 127.0.0.4 (3)");
    }

    #[test]
    fn bad_lists_quote_what_is_wrong() {
        let e = |t: &str| SourceIps::parse(t).unwrap_err();
        assert_eq!(
            e("127.0.0.2-127.0.0.300"),
            "bad source address \"127.0.0.2-127.0.0.300\" in \"127.0.0.2-127.0.0.300\": \"127.0.0.300\" is not an IPv4 or IPv6 address"
        );
        assert!(
            e("127.0.0.9-127.0.0.2").contains("ends before it starts"),
            "{}",
            e("127.0.0.9-127.0.0.2")
        );
        assert!(e("127.0.0.1,::1").contains("all IPv4 or all IPv6"));
        assert!(e("127.0.0.1-::1").contains("one family"));
        assert!(e("127.0.0.2,127.0.0.2").contains("127.0.0.2 is named twice"));
        assert!(e("127.0.0.2,,127.0.0.3").contains("an empty item"));
        assert!(e("").contains("an empty item"));
        assert!(e("10.0.0.0/8").contains("more than 1024"));
        assert!(e("10.0.0.0/33").contains("0 to 32"));
        assert!(e("::/0").contains("more than 1024"));
        assert!(e("10.0.0.0-10.1.0.0").contains("more than 1024"));
        assert!(e("0.0.0.0").contains("cannot be a source address"));
        assert!(e("224.0.0.1").contains("cannot be a source address"));
    }

    #[test]
    fn addresses_must_be_local_and_of_the_targets_family() {
        let s = SourceIps::parse_local("127.0.0.2-127.0.0.3").unwrap();
        assert!(s.check_family("127.0.0.1".parse().unwrap()).is_ok());
        let e = s.check_family("::1".parse().unwrap()).unwrap_err();
        assert!(e.contains("are IPv4 but the target ::1 is IPv6"), "{e}");
        let e = SourceIps::parse_local("127.0.0.2,203.0.113.7,203.0.113.8").unwrap_err();
        assert_eq!(
            e,
            "source address 203.0.113.7 and 1 more are not addresses of this host (bind: EADDRNOTAVAIL): add it first (e.g. ip addr add 203.0.113.7/32 dev lo) or leave it out"
        );
    }
}
