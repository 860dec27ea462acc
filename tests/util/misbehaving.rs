//! A small misbehaving FTP server for `tests/probe.rs`: the faults no real
//! server produces on demand. Every session is bounded (8 sessions, 50
//! commands, 10 s of silence, 5 s waiting for a data connection).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// What the misbehaving server gets wrong.
#[derive(Clone, Copy)]
pub enum Fault {
    /// 227 names a port nobody listens on.
    ClosedPort,
    /// 227 names 198.18.255.1 (a benchmark-net address) with the port of a
    /// listener on 127.0.0.1: only connecting to the control peer works.
    NatAddress,
    /// PORT gets 200 but no connection ever comes; `prelim`: LIST gets a 150
    /// first (pure-ftpd), else nothing at all (vsftpd waits to connect first).
    NoConnectBack { prelim: bool },
}

pub struct Misbehaving {
    pub url: String,
    /// Data connections accepted on the NAT fault's real listener.
    pub accepted: Arc<AtomicUsize>,
}

/// Serves at most 8 sessions, each for at most 50 commands and 10 s of silence.
pub fn misbehaving(fault: Fault) -> Misbehaving {
    let ctrl = TcpListener::bind("127.0.0.1:0").unwrap();
    let data = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let url = format!("ftp://u:p@{}", ctrl.local_addr().unwrap());
    let count = accepted.clone();
    thread::spawn(move || {
        for s in ctrl.incoming().take(8).flatten() {
            let (data, count) = (data.clone(), count.clone());
            thread::spawn(move || session(s, fault, &data, closed, &count));
        }
    });
    Misbehaving { url, accepted }
}

fn pasv_reply(host: [u8; 4], port: u16) -> String {
    let [a, b, c, d] = host;
    format!(
        "227 Entering Passive Mode ({a},{b},{c},{d},{},{})\r\n",
        port >> 8,
        port & 0xff
    )
}

fn session(s: TcpStream, fault: Fault, data: &TcpListener, closed: u16, count: &AtomicUsize) {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut w = s.try_clone().unwrap();
    let _ = w.write_all(b"220 misbehaving\r\n");
    let data_port = data.local_addr().unwrap().port();
    for line in BufReader::new(s).lines().take(50) {
        let Ok(line) = line else { return };
        let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
        let reply = match (verb.as_str(), fault) {
            ("USER", _) => "331 password\r\n".to_string(),
            ("PASS", _) => "230 in\r\n".into(),
            ("TYPE", _) => "200 binary\r\n".into(),
            ("PASV", Fault::ClosedPort) => pasv_reply([127, 0, 0, 1], closed),
            ("PASV", Fault::NatAddress) => pasv_reply([198, 18, 255, 1], data_port),
            ("PORT", Fault::NoConnectBack { .. }) => "200 PORT ok\r\n".into(),
            ("LIST", Fault::NatAddress) => {
                if !serve_listing(&mut w, data) {
                    return;
                }
                count.fetch_add(1, Ordering::SeqCst);
                "226 done\r\n".into()
            }
            ("LIST", Fault::NoConnectBack { prelim }) => {
                if prelim {
                    let _ = w.write_all(b"150 connecting\r\n");
                }
                // Never connects; waits for the client to give up and close.
                continue;
            }
            ("QUIT", _) => {
                let _ = w.write_all(b"221 bye\r\n");
                return;
            }
            _ => "502 not here\r\n".into(),
        };
        if w.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// Accepts the client's data connection (within 5 s) and sends a listing.
fn serve_listing(w: &mut TcpStream, data: &TcpListener) -> bool {
    data.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut conn = loop {
        match data.accept() {
            Ok((c, _)) => break c,
            Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            Err(_) => return false,
        }
    };
    let _ = w.write_all(b"150 here it comes\r\n");
    let _ = conn.write_all(b"-rw-r--r-- 1 u u 1024 Jan 1 00:00 1k.bin\r\n");
    true
}
