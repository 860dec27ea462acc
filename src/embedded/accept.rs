//! Our own accept loop in front of libunftp, and the listening socket under it.
//!
//! We accept connections ourselves instead of calling `Server::listen`, for two
//! reasons. libunftp never sets `TCP_NODELAY`, so every `226` after a transfer
//! sits in Nagle's buffer until the client's delayed ACK of the `150` arrives,
//! about 40 ms on Linux: every transfer would measure 40 ms too slow. And
//! libunftp has no connection cap, which a load test needs to see how clients
//! cope with `421`.
//!
//! Owning the loop also means owning the socket: it is bound here with a
//! larger backlog than std's, and each accepted connection is handed to a
//! libunftp `Server` of its own through `Server::service`, or refused with a
//! `421` that the client gets to read before the close.

use std::io;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libunftp::options::ActivePassiveMode;
use libunftp::ServerBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Semaphore};
use unftp_sbe_fs::Filesystem;

use super::auth::FixedUser;
use super::EmbeddedError;

/// libunftp needs a `&'static str`; a fixed banner also tells a reader of a
/// capture which server answered.
pub(super) const GREETING: &str = "ftpload embedded target";

/// The reply for connections over `max_connections`; pyftpdlib and vsftpd use
/// the same code, so clients see one shape of refusal whatever the target.
const TOO_MANY: &[u8] = b"421 Too many connections\r\n";

/// std's default backlog (128) overflows in the connect bursts a load test
/// makes, and the kernel then falls back to syncookies, which leave clients
/// "connected" without a banner. The kernel caps this at `somaxconn`.
const LISTEN_BACKLOG: libc::c_int = 1024;

/// How long a refused connection may take to receive its `421`; a client that
/// neither reads nor closes must not hold a socket for long.
const REFUSE_TIMEOUT: Duration = Duration::from_millis(500);

/// Back-off after a failed `accept` (typically EMFILE), so running out of file
/// descriptors does not turn the accept loop into a busy loop.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(20);

/// What every connection's `Server` is built from; all cheap to clone.
pub(super) struct Shared {
    pub(super) root: Arc<PathBuf>,
    pub(super) auth: Arc<FixedUser>,
    pub(super) passive_ports: RangeInclusive<u16>,
    pub(super) limit: Option<Arc<Semaphore>>,
    /// FTPS, shared by every session (see `tls.rs`).
    pub(super) tls: Option<Arc<rustls::ServerConfig>>,
}

/// Binds on the caller's thread so a bad address fails `start` with the
/// address in the message, before any thread exists. Through `socket2`
/// because std binds and listens in one call, with no way to set
/// `SO_REUSEPORT` before the bind or a backlog other than 128.
pub(super) fn bind(
    addr: SocketAddr,
    reuse_port: bool,
) -> Result<std::net::TcpListener, EmbeddedError> {
    use socket2::{Domain, Socket, Type};
    let bind_err = |error| EmbeddedError::Bind { addr, error };
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, None).map_err(bind_err)?;
    // As std does: a restarted server rebinds over its old TIME_WAITs.
    s.set_reuse_address(true).map_err(bind_err)?;
    if reuse_port {
        s.set_reuse_port(true).map_err(bind_err)?;
    }
    s.bind(&addr.into()).map_err(bind_err)?;
    s.listen(LISTEN_BACKLOG).map_err(bind_err)?;
    s.set_nonblocking(true).map_err(bind_err)?;
    Ok(s.into())
}

/// Accepts until `stop_rx` fires or its sender is dropped; every session runs
/// as a task of its own on the runtime this loop runs on.
pub(super) async fn accept_loop(
    listener: TcpListener,
    shared: Shared,
    mut stop_rx: oneshot::Receiver<()>,
) {
    loop {
        let accepted = tokio::select! {
            biased;
            // A dropped sender also means stop: the server handle is gone.
            _ = &mut stop_rx => return,
            r = listener.accept() => r,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(_) => {
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                continue;
            }
        };
        // The reason this loop exists: see the module docs.
        let _ = stream.set_nodelay(true);

        let permit = match &shared.limit {
            None => None,
            Some(sem) => match sem.clone().try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => {
                    tokio::spawn(refuse(stream, TOO_MANY));
                    continue;
                }
            },
        };

        // Opening the root here, not inside libunftp's storage factory (which
        // can only panic), turns a vanished root into a 421 for this client.
        let fs = match Filesystem::new(shared.root.as_path()) {
            Ok(fs) => fs,
            Err(_) => {
                tokio::spawn(refuse(stream, b"421 Server root unavailable\r\n"));
                continue;
            }
        };
        // libunftp calls the factory once per `service`; the fallback only
        // runs if a future version calls it again.
        let slot = Mutex::new(Some(fs));
        let root = shared.root.clone();
        let factory = move || {
            slot.lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .unwrap_or_else(|| Filesystem::new(root.as_path()).expect("FTP root unavailable"))
        };
        let mut builder = ServerBuilder::with_authenticator(Box::new(factory), shared.auth.clone())
            .passive_ports(shared.passive_ports.clone())
            .active_passive_mode(ActivePassiveMode::ActiveAndPassive)
            .greeting(GREETING);
        if let Some(tls) = &shared.tls {
            builder = builder.ftps_manual::<PathBuf>(tls.clone());
        }
        let server = builder.build();
        let server = match server {
            Ok(s) => s,
            Err(_) => {
                tokio::spawn(refuse(stream, b"421 Server misconfigured\r\n"));
                continue;
            }
        };
        tokio::spawn(async move {
            let _permit = permit;
            let _ = server.service(stream).await;
        });
    }
}

/// Sends a final reply and closes. Reading to EOF before closing matters:
/// closing with unread input makes the kernel send RST, and a RST can discard
/// the 421 before the client has read it.
async fn refuse(mut stream: TcpStream, reply: &'static [u8]) {
    let _ = tokio::time::timeout(REFUSE_TIMEOUT, async {
        stream.write_all(reply).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 512];
        for _ in 0..64 {
            if stream.read(&mut sink).await? == 0 {
                break;
            }
        }
        Ok::<(), io::Error>(())
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::tests::{start, Ctl, IO_TIMEOUT};
    use crate::embedded::{expected_content, EmbeddedConfig, EmbeddedServer};
    use std::io::{BufRead, Read};
    use std::time::Instant;

    #[test]
    fn epsv_retr_and_226_without_nagle_stall() {
        let srv = start(&[("1k.bin", 1024)], None);
        let mut c = Ctl::connect(srv.addr());
        assert_eq!(c.login("ftpload", "ftpload"), 230);
        assert_eq!(c.cmd("TYPE I").0, 200);
        let mut d = c.epsv();
        let (code, text) = c.cmd("RETR 1k.bin");
        assert!(code == 150 || code == 125, "{text}");

        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let mut last_byte = Instant::now();
        for _ in 0..10_000 {
            let n = d.read(&mut buf).expect("read data");
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            last_byte = Instant::now();
        }
        let (code, text) = c.reply();
        let gap = last_byte.elapsed();
        assert_eq!(code, 226, "{text}");
        assert_eq!(got.len(), 1024);
        assert_eq!(got, expected_content("1k.bin", 1024));
        assert!(
            gap < Duration::from_millis(30),
            "226 came {gap:?} after the last byte: TCP_NODELAY not in effect?"
        );
    }

    #[test]
    fn max_connections_refuses_with_421() {
        let srv = start(&[], Some(1));
        let mut first = Ctl::connect(srv.addr());
        assert_eq!(first.reply().0, 220);
        let mut second = Ctl::connect(srv.addr());
        let (code, text) = second.reply();
        assert_eq!((code, text.as_str()), (421, "421 Too many connections"));
        let mut rest = String::new();
        assert_eq!(second.r.read_line(&mut rest).unwrap(), 0, "not closed");

        // The slot frees once the first session ends.
        assert_eq!(first.cmd("QUIT").0, 221);
        drop(first);
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            let mut c = Ctl::connect(srv.addr());
            match c.reply().0 {
                220 => break,
                421 if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                other => panic!("got {other} after the first session quit"),
            }
        }
    }

    #[test]
    fn taken_bind_address_is_named() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let err = EmbeddedServer::start(EmbeddedConfig {
            bind: addr,
            ..EmbeddedConfig::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    }
}
