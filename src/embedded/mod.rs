//! An FTP server inside the ftpload process, to measure the generator against.
//!
//! A benchmark needs a target that starts in milliseconds, needs no install or
//! root, and behaves like a real server, so the generator's own overhead can be
//! told apart from the server's. This is libunftp with a filesystem back end,
//! not a mock: the replies, data channels and timing come from a real server.
//!
//! It runs on a tokio runtime of its own, on its own threads. Sharing the
//! generator's scheduler would make the two compete for the same workers, and a
//! slow server would look like a slow client (or the other way round).
//!
//! The parts, by concern: `auth` is the one fixed account, `accept` is the
//! accept loop we run instead of libunftp's own (and why), `files` is the
//! served directory and its generated content. This file holds what ties them
//! together: the configuration, its validation, and the server's life from
//! start to stop on a thread and runtime of its own.

mod accept;
mod auth;
mod files;
pub mod tls;

pub use files::expected_content;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{oneshot, Semaphore};

use accept::{accept_loop, bind, Shared};
use auth::FixedUser;

/// The name of the embedded server's own thread, and the prefix of its
/// runtime's worker threads: the CLI's panic hook tells the server's panics
/// apart from the generator's by it.
pub const THREAD_NAME_PREFIX: &str = "ftpload-embedded";

/// How long `start` waits for the server thread to build its runtime.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the runtime may spend finishing blocking file I/O on stop; the
/// rest of `STOP_TIMEOUT` is slack for the thread to exit.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Upper bound for `stop`/`drop`, so a stuck session can never hang a test run.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// How to run the embedded target.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// Control address; port 0 picks a free port, read it back with
    /// [`EmbeddedServer::addr`]. IPv4 or IPv6; over IPv6 only EPSV works
    /// (PASV and PORT cannot carry an IPv6 address, and libunftp has no
    /// EPRT).
    pub bind: SocketAddr,
    /// Ports for passive data listeners, bound on the control connection's
    /// local IP. The default, 20000-27999, stays below Linux's ephemeral range
    /// (32768-60999): inside it, at high connection counts a probe can hit a
    /// port held by a client socket, and libunftp makes only 9 random tries
    /// before answering `425`.
    pub passive_ports: RangeInclusive<u16>,
    pub user: String,
    pub password: String,
    /// `None` makes a fresh directory under the system temp dir, removed on
    /// stop. A given directory must exist and is never removed.
    pub root: Option<PathBuf>,
    /// Files to create in the root: relative name and size in bytes. The content
    /// is [`expected_content`]; an existing file of the right size is kept.
    pub files: Vec<(String, u64)>,
    /// `Some(n)`: the (n+1)-th concurrent session gets `421 Too many
    /// connections` and is closed.
    pub max_connections: Option<usize>,
    /// Share the control port with other processes (`SO_REUSEPORT`), the
    /// kernel spreading connections over them: one process holds at most
    /// the open-file limit's sessions (20,000 here), so more need several.
    pub reuse_port: bool,
    /// Worker threads of the target's runtime; the accept loop runs on one
    /// more thread of its own.
    pub runtime_threads: usize,
    /// Waited before each reply to PASS: a deliberately slow target, to
    /// see a regression flagged. `None`: no delay.
    pub login_delay: Option<Duration>,
    /// Explicit FTPS (`AUTH TLS`) beside plain FTP, with a certificate made
    /// at start unless `tls_files` names one.
    pub tls: bool,
    /// The certificate and key (PEM) to serve FTPS with.
    pub tls_files: Option<(PathBuf, PathBuf)>,
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        EmbeddedConfig {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            passive_ports: 20000..=27999,
            user: "ftpload".to_string(),
            password: "ftpload".to_string(),
            root: None,
            files: Vec::new(),
            max_connections: None,
            reuse_port: false,
            runtime_threads: 1,
            login_delay: None,
            tls: false,
            tls_files: None,
        }
    }
}

/// Why the embedded target could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("invalid embedded target configuration: {0}")]
    Config(String),
    #[error("cannot listen on {addr}: {error}")]
    Bind { addr: SocketAddr, error: io::Error },
    #[error("cannot use {} as the FTP root: {error}", path.display())]
    Root { path: PathBuf, error: io::Error },
    #[error("invalid file name {name:?}: {reason}")]
    FileName { name: String, reason: &'static str },
    #[error("cannot write {}: {error}", path.display())]
    File { path: PathBuf, error: io::Error },
    #[error("cannot start the target's runtime thread: {0}")]
    Runtime(io::Error),
}

/// A running embedded target. Stops on [`EmbeddedServer::stop`] or on drop.
pub struct EmbeddedServer {
    addr: SocketAddr,
    /// FTPS: the certificate served, and its PEM when made at start.
    tls: Option<(
        rustls::pki_types::CertificateDer<'static>,
        Option<(String, String)>,
    )>,
    root: PathBuf,
    owns_root: bool,
    cfg: EmbeddedConfig,
    stop_tx: Option<oneshot::Sender<()>>,
    /// Disconnects when the server thread ends: lets `stop` wait with a bound,
    /// which `JoinHandle::join` cannot. The Mutex only makes the handle `Sync`.
    done_rx: Option<Mutex<mpsc::Receiver<()>>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for EmbeddedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedServer")
            .field("addr", &self.addr)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

/// Removes a temp root if start-up fails after creating it.
struct RootGuard(Option<PathBuf>);

impl Drop for RootGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

impl EmbeddedServer {
    /// Blocks until the control port accepts connections, so a caller can
    /// connect right away. Safe to call from inside a tokio runtime: the target
    /// never touches the caller's runtime. Files are written before returning,
    /// which for large files takes a moment.
    pub fn start(cfg: EmbeddedConfig) -> Result<EmbeddedServer, EmbeddedError> {
        validate(&cfg)?;

        let (root, owns_root) = match &cfg.root {
            Some(p) => {
                files::check_root(p)?;
                (p.clone(), false)
            }
            None => (files::make_temp_root()?, true),
        };
        let mut guard = RootGuard(owns_root.then(|| root.clone()));
        files::generate(&root, &cfg.files)?;

        let listener = bind(cfg.bind, cfg.reuse_port)?;
        let addr = listener.local_addr().map_err(|error| EmbeddedError::Bind {
            addr: cfg.bind,
            error,
        })?;

        let tls = match (&cfg.tls, &cfg.tls_files) {
            (false, _) => None,
            (true, None) => Some(tls::make()?),
            (true, Some((cert, key))) => Some(tls::load(cert, key)?),
        };
        let shared = Shared {
            tls: tls.as_ref().map(|t| t.config.clone()),
            root: Arc::new(root.clone()),
            auth: Arc::new(FixedUser {
                user: cfg.user.clone(),
                password: cfg.password.clone(),
                delay: cfg.login_delay,
            }),
            passive_ports: cfg.passive_ports.clone(),
            limit: cfg.max_connections.map(|n| Arc::new(Semaphore::new(n))),
        };
        let (stop_tx, stop_rx) = oneshot::channel();
        let (ready_tx, ready_rx) = mpsc::channel::<io::Result<()>>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let threads = cfg.runtime_threads;

        let thread = std::thread::Builder::new()
            .name(THREAD_NAME_PREFIX.to_string())
            .spawn(move || {
                let _done = done_tx;
                run(listener, threads, shared, stop_rx, ready_tx);
            })
            .map_err(EmbeddedError::Runtime)?;

        match ready_rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(EmbeddedError::Runtime(e));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(EmbeddedError::Runtime(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the target thread did not come up within {START_TIMEOUT:?}"),
                )));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = thread.join();
                return Err(EmbeddedError::Runtime(io::Error::other(
                    "the target thread exited during start-up",
                )));
            }
        }

        guard.0 = None;
        Ok(EmbeddedServer {
            addr,
            tls: tls.map(|t| (t.cert, t.made)),
            root,
            owns_root,
            cfg,
            stop_tx: Some(stop_tx),
            done_rx: Some(Mutex::new(done_rx)),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// FTPS: the certificate it serves, for a client to trust.
    pub fn certificate(&self) -> Option<&rustls::pki_types::CertificateDer<'static>> {
        self.tls.as_ref().map(|(c, _)| c)
    }

    /// FTPS: the certificate and key in PEM, when made at start.
    pub fn made_certificate(&self) -> Option<&(String, String)> {
        self.tls.as_ref().and_then(|(_, m)| m.as_ref())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config(&self) -> &EmbeddedConfig {
        &self.cfg
    }

    /// Open sessions are cut, not drained: a load test that stops its target
    /// is done measuring. Waits at most about 5 s.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop_tx.take() {
            let _ = tx.send(());
        }
        if let (Some(thread), Some(done)) = (self.thread.take(), self.done_rx.take()) {
            // Disconnected means the thread has ended; on timeout the thread is
            // left to finish alone rather than block the caller.
            let done = done.into_inner().unwrap_or_else(|e| e.into_inner());
            if let Err(mpsc::RecvTimeoutError::Disconnected) = done.recv_timeout(STOP_TIMEOUT) {
                let _ = thread.join();
            }
        }
        if self.owns_root {
            self.owns_root = false;
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn validate(cfg: &EmbeddedConfig) -> Result<(), EmbeddedError> {
    if cfg.passive_ports.is_empty() || *cfg.passive_ports.start() == 0 {
        return Err(EmbeddedError::Config(format!(
            "passive port range {}-{} is empty or includes port 0",
            cfg.passive_ports.start(),
            cfg.passive_ports.end()
        )));
    }
    if cfg.runtime_threads == 0 {
        return Err(EmbeddedError::Config(
            "runtime_threads must be at least 1".to_string(),
        ));
    }
    if cfg.max_connections == Some(0) {
        return Err(EmbeddedError::Config(
            "max_connections of 0 would refuse every session; use None for no cap".to_string(),
        ));
    }
    Ok(())
}

/// The body of the target's thread: build the runtime, report readiness,
/// accept until told to stop, then drop every session.
fn run(
    listener: std::net::TcpListener,
    threads: usize,
    shared: Shared,
    stop_rx: oneshot::Receiver<()>,
    ready_tx: mpsc::Sender<io::Result<()>>,
) {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(format!("{THREAD_NAME_PREFIX}-rt"))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready_tx.send(Err(e));
            return;
        }
    };
    let listener = {
        let _ctx = rt.enter();
        match TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                return;
            }
        }
    };
    if ready_tx.send(Ok(())).is_err() {
        return;
    }
    rt.block_on(accept_loop(listener, shared, stop_rx));
    rt.shutdown_timeout(SHUTDOWN_GRACE);
}

#[cfg(test)]
mod tests {
    use super::accept::GREETING;
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream as StdStream;
    use std::time::Instant;

    pub(super) const IO_TIMEOUT: Duration = Duration::from_secs(5);

    /// A few hand-written FTP lines over a blocking socket: the crate's own
    /// client must not be needed to test the server it is measured against.
    pub(super) struct Ctl {
        pub(super) r: BufReader<StdStream>,
        w: StdStream,
    }

    impl Ctl {
        pub(super) fn connect(addr: SocketAddr) -> Ctl {
            let s = StdStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
            s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
            let w = s.try_clone().unwrap();
            Ctl {
                r: BufReader::new(s),
                w,
            }
        }

        /// Reads one reply, multi-line or not; returns its code and last line.
        pub(super) fn reply(&mut self) -> (u16, String) {
            let mut first: Option<String> = None;
            for _ in 0..200 {
                let mut line = String::new();
                let n = self.r.read_line(&mut line).expect("read reply");
                assert!(n > 0, "connection closed while waiting for a reply");
                let line = line.trim_end().to_string();
                let code = first.get_or_insert_with(|| line[..3].to_string()).clone();
                if line.len() >= 4 && line.starts_with(&code) && &line[3..4] == " " {
                    return (code.parse().unwrap(), line);
                }
                if line.len() == 3 && line == code {
                    return (code.parse().unwrap(), line);
                }
            }
            panic!("reply longer than 200 lines");
        }

        pub(super) fn send(&mut self, line: &str) {
            self.w.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        }

        pub(super) fn cmd(&mut self, line: &str) -> (u16, String) {
            self.send(line);
            self.reply()
        }

        pub(super) fn login(&mut self, user: &str, pass: &str) -> u16 {
            assert_eq!(self.reply().0, 220);
            assert_eq!(self.cmd(&format!("USER {user}")).0, 331);
            self.cmd(&format!("PASS {pass}")).0
        }

        /// EPSV, then connect to the port it names.
        pub(super) fn epsv(&mut self) -> StdStream {
            let (code, text) = self.cmd("EPSV");
            assert_eq!(code, 229, "{text}");
            let inner = text.split("|||").nth(1).expect("EPSV port");
            let port: u16 = inner.split('|').next().unwrap().parse().unwrap();
            let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
            let d = StdStream::connect_timeout(&addr, IO_TIMEOUT).expect("data connect");
            d.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            d.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
            d
        }
    }

    pub(super) fn start(files: &[(&str, u64)], max: Option<usize>) -> EmbeddedServer {
        EmbeddedServer::start(EmbeddedConfig {
            files: files.iter().map(|(n, s)| (n.to_string(), *s)).collect(),
            max_connections: max,
            ..EmbeddedConfig::default()
        })
        .expect("start embedded target")
    }

    fn read_all(mut d: StdStream) -> Vec<u8> {
        let mut out = Vec::new();
        d.read_to_end(&mut out).expect("read data");
        out
    }

    #[test]
    fn handle_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<EmbeddedServer>();
    }

    #[test]
    fn banner_and_login() {
        let srv = start(&[], None);
        let mut c = Ctl::connect(srv.addr());
        let (code, text) = c.reply();
        assert_eq!(code, 220);
        assert!(text.contains(GREETING), "{text}");
        assert_eq!(c.cmd("USER ftpload").0, 331);
        assert_eq!(c.cmd("PASS ftpload").0, 230);
        assert_eq!(c.cmd("QUIT").0, 221);
    }

    #[test]
    fn stor_then_size_list_nlst() {
        let srv = start(&[("1k.bin", 1024)], None);
        let mut c = Ctl::connect(srv.addr());
        assert_eq!(c.login("ftpload", "ftpload"), 230);
        assert_eq!(c.cmd("TYPE I").0, 200);

        let payload: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let mut d = c.epsv();
        let (code, text) = c.cmd("STOR up.bin");
        assert!(code == 150 || code == 125, "{text}");
        d.write_all(&payload).unwrap();
        drop(d);
        let (code, text) = c.reply();
        assert_eq!(code, 226, "{text}");
        assert_eq!(std::fs::read(srv.root().join("up.bin")).unwrap(), payload);

        let (code, text) = c.cmd("SIZE up.bin");
        assert_eq!((code, text.as_str()), (213, "213 3000"));
        assert_eq!(c.cmd("SIZE 1k.bin").1, "213 1024");

        let d = c.epsv();
        let (code, text) = c.cmd("NLST");
        assert!(code == 150 || code == 125, "{text}");
        let names = String::from_utf8(read_all(d)).unwrap();
        assert_eq!(c.reply().0, 226);
        let mut names: Vec<&str> = names.lines().collect();
        names.sort_unstable();
        assert_eq!(names, ["1k.bin", "up.bin"]);

        let d = c.epsv();
        assert!(matches!(c.cmd("LIST").0, 125 | 150));
        let listing = String::from_utf8(read_all(d)).unwrap();
        assert_eq!(c.reply().0, 226);
        assert!(
            listing.contains("1k.bin") && listing.contains("up.bin"),
            "{listing}"
        );
    }

    #[test]
    fn pasv_names_loopback() {
        let srv = start(&[], None);
        let mut c = Ctl::connect(srv.addr());
        assert_eq!(c.login("ftpload", "ftpload"), 230);
        let (code, text) = c.cmd("PASV");
        assert_eq!(code, 227, "{text}");
        assert!(text.contains("(127,0,0,1,"), "{text}");
    }

    #[test]
    fn port_mode_list() {
        let srv = start(&[("1k.bin", 1024)], None);
        let mut c = Ctl::connect(srv.addr());
        assert_eq!(c.login("ftpload", "ftpload"), 230);

        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        let (code, text) = c.cmd(&format!("PORT 127,0,0,1,{},{}", p >> 8, p & 0xff));
        assert_eq!(code, 200, "{text}");
        let (code, text) = c.cmd("LIST");
        assert!(code == 150 || code == 125, "{text}");

        l.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + IO_TIMEOUT;
        let d = loop {
            match l.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!("no active data connection: {e}"),
            }
        };
        d.set_nonblocking(false).unwrap();
        d.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let listing = String::from_utf8(read_all(d)).unwrap();
        assert_eq!(c.reply().0, 226);
        assert!(listing.contains("1k.bin"), "{listing}");
    }

    #[test]
    fn eprt_is_not_implemented() {
        // Recorded so a libunftp upgrade that adds EPRT shows up here.
        let srv = start(&[], None);
        let mut c = Ctl::connect(srv.addr());
        assert_eq!(c.login("ftpload", "ftpload"), 230);
        assert_eq!(c.cmd("EPRT |1|127.0.0.1|40000|").0, 500);
    }

    #[test]
    fn temp_root_removed_on_stop() {
        let srv = start(&[("a/b.bin", 10)], None);
        let root = srv.root().to_path_buf();
        assert_eq!(std::fs::metadata(root.join("a/b.bin")).unwrap().len(), 10);
        let _c = Ctl::connect(srv.addr());
        let t = Instant::now();
        srv.stop();
        assert!(t.elapsed() < STOP_TIMEOUT, "stop took {:?}", t.elapsed());
        assert!(!root.exists(), "{} still exists", root.display());
    }

    #[test]
    fn given_root_is_kept_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let srv = EmbeddedServer::start(EmbeddedConfig {
            root: Some(dir.path().to_path_buf()),
            files: vec![("x.bin".to_string(), 5)],
            ..EmbeddedConfig::default()
        })
        .unwrap();
        drop(srv);
        assert!(dir.path().join("x.bin").exists());

        let missing = dir.path().join("nope");
        let err = EmbeddedServer::start(EmbeddedConfig {
            root: Some(missing.clone()),
            ..EmbeddedConfig::default()
        })
        .unwrap_err();
        assert!(
            err.to_string().contains(&*missing.to_string_lossy()),
            "{err}"
        );
    }

    #[test]
    fn starts_from_inside_a_tokio_runtime() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let srv = rt.block_on(async { EmbeddedServer::start(EmbeddedConfig::default()).unwrap() });
        let mut c = Ctl::connect(srv.addr());
        assert_eq!(c.reply().0, 220);
        rt.block_on(async move { srv.stop() });
    }
}
