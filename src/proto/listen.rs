//! The client's end of an active data channel: a listener on the control
//! connection's local address, within the active port range when one is set.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::net::{TcpListener, TcpSocket};

use super::error::{ProtoError, Step};
use super::mode::PortRange;

/// Spreads active listeners over the range so concurrent clients do not all
/// probe from its first port.
static NEXT_ACTIVE_PORT: AtomicU32 = AtomicU32::new(0);

/// Binds the active-mode listener on the control connection's local address
/// (servers refuse or misroute a PORT naming another address), within `range`.
pub(super) fn bind_active(ip: IpAddr, range: Option<PortRange>) -> Result<TcpListener, ProtoError> {
    let step = Step::DataSetup;
    let listen_on = |port: u16| -> std::io::Result<TcpListener> {
        let sock = if ip.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }?;
        // In a fixed range, a closed data connection leaves its port in
        // TIME_WAIT; reuse lets the next listener take it, as servers' passive
        // listeners do. Not for port 0: with SO_REUSEADDR the kernel may hand
        // out a port still used by an established socket.
        sock.set_reuseaddr(port != 0)?;
        sock.bind(SocketAddr::new(ip, port))?;
        sock.listen(1)
    };
    let Some(range) = range else {
        return listen_on(0).map_err(|e| ProtoError::io(step, e));
    };
    let start = NEXT_ACTIVE_PORT.fetch_add(1, Ordering::Relaxed) % range.size();
    let mut last_err = None;
    for i in 0..range.size() {
        let port = range.first as u32 + (start + i) % range.size();
        match listen_on(port as u16) {
            Ok(l) => return Ok(l),
            Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => last_err = Some(e),
            Err(e) => return Err(ProtoError::io(step, e)),
        }
    }
    Err(ProtoError::io(
        step,
        last_err.unwrap_or_else(|| std::io::Error::from_raw_os_error(libc::EADDRINUSE)),
    ))
}
