//! A fault server for `tests/faults/`: a small FTP server that gets one
//! thing wrong on purpose, for the faults no real server produces on demand
//! (bare LF line ends, a 10 MB reply, a reply dripped a byte at a time, a
//! wrong code or a 421 at any step, a reset or a stall on the data channel,
//! a premature 226, impossible passive ports, a passive port that never
//! accepts, a server that never says anything).
//!
//! Its first session is always served cleanly: `ftpload run` opens one
//! unmeasured session before the load to check the target, and the faults
//! are for the virtual clients. Everything is bounded: 64 sessions, 50
//! commands each, 10 s of silence on any socket, 5 s waiting for a data
//! connection, and the 10 MB reply stops when the client hangs up.

mod data;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Bytes a RETR sends when nothing goes wrong: several reads' worth, so a
/// byte count cut short by a fault shows.
pub const RETR_BYTES: usize = 256 * 1024;
/// Bytes sent before a reset or a stall: the transfer is under way when it breaks.
pub const PARTIAL_BYTES: usize = 64 * 1024;
/// The size of the multi-line banner of [`Fault::HugeReply`].
pub const HUGE_REPLY_BYTES: usize = 10 * 1024 * 1024;

const MAX_SESSIONS: usize = 64;
const MAX_COMMANDS: usize = 50;
const SILENCE: Duration = Duration::from_secs(10);
const DATA_WAIT: Duration = Duration::from_secs(5);

/// A step of a session, where [`Fault::Unexpected`] and [`Fault::Close421`] strike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Banner,
    User,
    Pass,
    Type,
    Pasv,
    Epsv,
    Port,
    /// The reply to LIST, RETR or STOR (where a 150 is due).
    Transfer,
    /// The reply after the data (where a 226 is due).
    TransferEnd,
    Quit,
}

impl At {
    fn of(verb: &str) -> Option<At> {
        Some(match verb {
            "USER" => At::User,
            "PASS" => At::Pass,
            "TYPE" => At::Type,
            "PASV" => At::Pasv,
            "EPSV" => At::Epsv,
            "PORT" => At::Port,
            "LIST" | "RETR" | "STOR" => At::Transfer,
            "QUIT" => At::Quit,
            _ => return None,
        })
    }

    /// A well-formed code that is wrong where it comes: a 2xx where a 3xx or
    /// 1xx is due and the other way round, a 229 to PASV, a 227 to EPSV.
    pub fn unexpected_code(self) -> u16 {
        match self {
            At::Banner => 230,
            At::User | At::Pass => 250,
            At::Type | At::Port | At::Quit | At::TransferEnd => 350,
            At::Pasv => 229,
            At::Epsv => 227,
            At::Transfer => 250,
        }
    }
}

/// What the server gets wrong, in every session after the first.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Nothing: a clean server, to compare with.
    None,
    /// Every reply line ends in a bare LF, the banner is multi-line.
    BareLf,
    /// Every reply line ends in a bare CR: no line ever ends.
    BareCr,
    /// A 120 ("service ready in nnn minutes") before the 220, as RFC 959 allows.
    Banner120,
    /// The banner is a multi-line reply of [`HUGE_REPLY_BYTES`].
    HugeReply,
    /// Every reply is written one byte at a time, this long apart.
    Drip(Duration),
    /// A well-formed but out-of-place code ([`At::unexpected_code`]) at this step.
    Unexpected(At),
    /// `421` at this step, then the connection closed.
    Close421(At),
    /// A transfer sends [`PARTIAL_BYTES`], then resets the data connection (SO_LINGER 0).
    ResetMidTransfer,
    /// `226` right after the `150`, before any data; then the data follows
    /// and the connection closes (`then_close`), or it stays open and silent.
    Premature226 { then_close: bool },
    /// This reply to PASV and EPSV instead of a usable one.
    PassiveReply(&'static str),
    /// The passive listener's backlog is full: connects to it are dropped.
    BacklogFull,
    /// The passive listener is never accepted from: connects complete in the
    /// kernel, the transfer gets its 150, and no data ever comes.
    NeverAccept,
    /// Accepts and never reads nor writes.
    Silent,
    /// A transfer sends [`PARTIAL_BYTES`] (a STOR: reads nothing) and then stalls.
    Stall,
}

pub struct FaultServer {
    pub url: String,
    /// Sessions accepted so far, the clean first one included.
    pub sessions: Arc<AtomicUsize>,
}

/// Starts the server on 127.0.0.1 with `fault` in every session but the first.
pub fn start(fault: Fault) -> FaultServer {
    let ctrl = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ftp://u:p@{}", ctrl.local_addr().unwrap());
    let sessions = Arc::new(AtomicUsize::new(0));
    let count = sessions.clone();
    thread::spawn(move || {
        for (i, s) in ctrl.incoming().take(MAX_SESSIONS).enumerate() {
            let Ok(s) = s else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            let fault = (i > 0).then_some(fault);
            thread::spawn(move || Session::new(s, fault).run());
        }
    });
    FaultServer { url, sessions }
}

/// Where the next transfer's data connection comes from.
enum Data {
    None,
    /// PASV/EPSV: our listener, and connections that fill its backlog.
    Passive(TcpListener, Vec<TcpStream>),
    /// PORT: where to connect.
    Active(SocketAddr),
}

struct Session {
    w: TcpStream,
    r: Option<BufReader<TcpStream>>,
    fault: Option<Fault>,
    data: Data,
}

impl Session {
    fn new(s: TcpStream, fault: Option<Fault>) -> Session {
        s.set_read_timeout(Some(SILENCE)).unwrap();
        s.set_write_timeout(Some(SILENCE)).unwrap();
        let w = s.try_clone().unwrap();
        Session {
            w,
            r: Some(BufReader::new(s)),
            fault,
            data: Data::None,
        }
    }

    /// Writes one reply line ("CODE text"), as the fault wants it written.
    fn say(&mut self, line: &str) -> bool {
        let end = match self.fault {
            Some(Fault::BareLf) => "\n",
            Some(Fault::BareCr) => "\r",
            _ => "\r\n",
        };
        let bytes = format!("{line}{end}").into_bytes();
        match self.fault {
            Some(Fault::Drip(gap)) => bytes.iter().all(|b| {
                thread::sleep(gap);
                self.w.write_all(&[*b]).is_ok()
            }),
            _ => self.w.write_all(&bytes).is_ok(),
        }
    }

    /// The fault's reply at `at`, if it strikes there; false: the session ends.
    fn strike(&mut self, at: At) -> Option<bool> {
        match self.fault {
            Some(Fault::Unexpected(a)) if a == at => {
                Some(self.say(&format!("{} unexpected here", at.unexpected_code())))
            }
            Some(Fault::Close421(a)) if a == at => {
                self.say("421 Service not available, closing control connection");
                Some(false)
            }
            _ => None,
        }
    }

    fn run(mut self) {
        if !self.banner() {
            return;
        }
        let mut lines = self.r.take().unwrap().lines();
        for _ in 0..MAX_COMMANDS {
            let Some(Ok(line)) = lines.next() else { return };
            let mut words = line.splitn(2, ' ');
            let verb = words.next().unwrap_or("").to_ascii_uppercase();
            let arg = words.next().unwrap_or("").to_string();
            if let Some(at) = At::of(&verb) {
                match self.strike(at) {
                    Some(true) if at != At::Quit => continue,
                    Some(_) => return,
                    None => {}
                }
            }
            let go_on = match verb.as_str() {
                "USER" => self.say("331 password please"),
                "PASS" => self.say("230 logged in"),
                "TYPE" => self.say("200 binary"),
                "SIZE" => self.say(&format!("213 {RETR_BYTES}")),
                "PASV" | "EPSV" => self.passive(&verb),
                "PORT" => self.port(&arg),
                "LIST" | "RETR" | "STOR" => self.transfer(&verb),
                "QUIT" => {
                    self.say("221 bye");
                    return;
                }
                _ => self.say("502 not here"),
            };
            if !go_on {
                return;
            }
        }
    }

    fn banner(&mut self) -> bool {
        if let Some(done) = self.strike(At::Banner) {
            return done;
        }
        match self.fault {
            Some(Fault::BareLf | Fault::BareCr) => {
                self.say("220-fault server") && self.say("220 ready")
            }
            Some(Fault::Banner120) => {
                self.say("120 ready in 1 minute") && self.say("220 fault server ready")
            }
            Some(Fault::HugeReply) => {
                huge_reply(&mut self.w);
                false
            }
            Some(Fault::Silent) => {
                // Peeking consumes nothing: it only sees the client hang up.
                let _ = self.w.peek(&mut [0u8; 1]);
                false
            }
            _ => self.say("220 fault server ready"),
        }
    }

    /// Holds the session until the client closes it (or [`SILENCE`]), reading nothing.
    fn wait_for_client(&mut self) -> bool {
        let _ = self.w.peek(&mut [0u8; 1]);
        false
    }
}

/// A 220 multi-line reply of [`HUGE_REPLY_BYTES`], written until the client
/// hangs up: a client that buffered it all would hold 10 MB per session.
fn huge_reply(w: &mut TcpStream) {
    let mut line = b"220-".to_vec();
    line.resize(1022, b'm');
    line.extend_from_slice(b"\r\n");
    let mut sent = 0;
    while sent < HUGE_REPLY_BYTES {
        if w.write_all(&line).is_err() {
            return;
        }
        sent += line.len();
    }
    let _ = w.write_all(b"220 end of a very long banner\r\n");
}
