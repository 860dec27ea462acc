//! Binding a connection to a local source address before it connects, for
//! runs spread over many source addresses (`--source-ips`): each address
//! brings its own ephemeral port range, so the client's port supply grows
//! with the number of addresses.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};

use super::control::timed;
use super::error::{ProtoError, Step};

/// Binds `sock` to `ip`, leaving the port to `connect`.
///
/// `IP_BIND_ADDRESS_NO_PORT` (Linux 4.2) is what makes this scale: a plain
/// `bind(ip:0)` picks the source port at once, before the destination is
/// known, so the kernel must give every socket a port no other socket on
/// `ip` holds (about 28,000 per address whatever the destinations). With
/// it, the port is chosen at `connect` for the whole 4-tuple, as an unbound
/// socket's is, so one source port serves one connection per destination
/// and a source address offers its whole range to each target address and
/// port. Where the option is unknown (not Linux) the bind still works,
/// with the smaller supply.
pub fn bind_source(sock: &TcpSocket, ip: IpAddr) -> std::io::Result<()> {
    no_port(sock);
    sock.bind(SocketAddr::new(ip, 0))
}

/// Sets `IP_BIND_ADDRESS_NO_PORT`; false where it could not be set.
#[cfg(target_os = "linux")]
fn no_port(sock: &TcpSocket) -> bool {
    use std::os::fd::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: a valid socket descriptor, and a c_int option value of the
    // size given. It is set at the IP level for IPv6 sockets too (the
    // kernel reads it from the socket's inet part either way). A failure
    // only means the larger supply is not had, so it is not an error.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            std::ptr::addr_of!(one).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    r == 0
}

#[cfg(not(target_os = "linux"))]
fn no_port(_: &TcpSocket) -> bool {
    false
}

/// A socket of `ip`'s family bound to it and then dropped: whether `ip` is
/// an address of this host (`EADDRNOTAVAIL` if not). Takes no port.
pub fn trial_bind(ip: IpAddr) -> std::io::Result<()> {
    let sock = if ip.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }?;
    bind_source(&sock, ip)
}

/// A TCP connect within `limit`, its failures tied to `step`; from local
/// address `from` when given ([`super::source::bind_source`]).
pub(crate) async fn connect_tcp(
    addr: SocketAddr,
    from: Option<IpAddr>,
    step: Step,
    limit: Duration,
) -> Result<TcpStream, ProtoError> {
    timed(step, limit, async {
        let sock = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .map_err(|e| ProtoError::io(step, e))?;
        if let Some(ip) = from {
            bind_source(&sock, ip).map_err(|e| ProtoError::io(step, e))?;
        }
        sock.connect(addr)
            .await
            .map_err(|e| ProtoError::io(step, e))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses_are_local_and_others_are_not() {
        trial_bind("127.0.0.1".parse().unwrap()).unwrap();
        trial_bind("127.0.0.9".parse().unwrap()).unwrap();
        // TEST-NET-3 (RFC 5737) is no host's address.
        let e = trial_bind("203.0.113.7".parse().unwrap()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EADDRNOTAVAIL));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_port_is_left_to_connect_in_both_families() {
        assert!(no_port(&TcpSocket::new_v4().unwrap()));
        assert!(no_port(&TcpSocket::new_v6().unwrap()));
    }

    #[tokio::test]
    async fn a_bound_connection_leaves_from_its_address() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sock = TcpSocket::new_v4().unwrap();
        bind_source(&sock, "127.0.0.5".parse().unwrap()).unwrap();
        // No port yet: it is chosen at connect.
        assert_eq!(sock.local_addr().unwrap().port(), 0);
        let s = sock.connect(l.local_addr().unwrap()).await.unwrap();
        let (_, peer) = l.accept().await.unwrap();
        assert_eq!(peer.ip().to_string(), "127.0.0.5");
        assert_eq!(s.local_addr().unwrap(), peer);
    }
}
