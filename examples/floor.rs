//! The floor: the least a client can spend on an FTP session here.
//!
//! `scripts/bench-peers.sh` runs it beside ftpload and the peer tools, in the
//! same invocation, against the same server, so that ftpload's client CPU per
//! session is judged against what the protocol itself costs on this machine
//! and not only against other tools. It is deliberately minimal: plain
//! blocking `std::net`, no async runtime, no histograms, no allocation per
//! session beyond the sockets; K threads each run sessions back to back:
//! connect, USER, PASS, TYPE I, PASV (or PORT), RETR, read the data to EOF,
//! the 226, QUIT. On loopback almost all of its cost is the kernel's
//! (handshakes, copies, teardown), which is what any client pays.
//!
//! ```sh
//! cargo build --release --example floor
//! target/release/examples/floor 127.0.0.1:2121 ftpuser ftppass 1k.bin 1000 4 passive
//! ```
//!
//! It prints one JSON line: sessions ok and failed, the wall time, and each
//! session's time from connect to the QUIT reply (p50, p99, in µs). A failed
//! session is counted and its first error printed to stderr; the thread
//! goes on with the next one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(10);

struct Args {
    addr: SocketAddr,
    user: String,
    pass: String,
    file: String,
    sessions: u64,
    threads: u64,
    active: bool,
}

fn usage() -> ! {
    eprintln!("usage: floor HOST:PORT USER PASS FILE SESSIONS THREADS passive|active");
    std::process::exit(2)
}

fn args() -> Args {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() != 7 {
        usage()
    }
    let num = |s: &str| s.parse::<u64>().unwrap_or_else(|_| usage());
    Args {
        addr: a[0].parse().unwrap_or_else(|_| usage()),
        user: a[1].clone(),
        pass: a[2].clone(),
        file: a[3].clone(),
        sessions: num(&a[4]),
        threads: num(&a[5]).max(1),
        active: match a[6].as_str() {
            "passive" => false,
            "active" => true,
            _ => usage(),
        },
    }
}

struct Control {
    r: BufReader<TcpStream>,
    line: String,
}

impl Control {
    /// One line of a reply into `self.line`.
    fn next_line(&mut self) -> Result<(), String> {
        self.line.clear();
        match self.r.read_line(&mut self.line) {
            Ok(0) => Err("control connection closed".into()),
            Ok(_) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The next reply's code; a multi-line reply is read to its last line.
    fn reply(&mut self) -> Result<(u32, String), String> {
        self.next_line()?;
        let code: u32 = self
            .line
            .get(..3)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("bad reply {:?}", self.line))?;
        if self.line.as_bytes().get(3) == Some(&b'-') {
            let end = format!("{code} ");
            loop {
                self.next_line()?;
                if self.line.starts_with(&end) {
                    break;
                }
            }
        }
        Ok((code, self.line.trim_end().to_string()))
    }

    fn expect(&mut self, want: u32) -> Result<String, String> {
        let (code, text) = self.reply()?;
        if code / 100 != want / 100 {
            return Err(format!("wanted {want}, got {text:?}"));
        }
        Ok(text)
    }

    fn cmd(&mut self, line: &str, want: u32) -> Result<String, String> {
        self.r
            .get_mut()
            .write_all(line.as_bytes())
            .map_err(|e| e.to_string())?;
        self.expect(want)
    }
}

/// The address of a 227 reply.
fn pasv_addr(text: &str) -> Result<SocketAddr, String> {
    let inner = text
        .split('(')
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| format!("bad 227 {text:?}"))?;
    let n: Vec<u16> = inner
        .split(',')
        .map(|x| x.trim().parse::<u16>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("bad 227 {text:?}"))?;
    if n.len() != 6 {
        return Err(format!("bad 227 {text:?}"));
    }
    let s = format!("{}.{}.{}.{}:{}", n[0], n[1], n[2], n[3], n[4] * 256 + n[5]);
    s.parse().map_err(|_| format!("bad 227 {text:?}"))
}

fn drain(mut data: TcpStream, buf: &mut [u8]) -> Result<u64, String> {
    let mut total = 0u64;
    loop {
        match data.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn session(a: &Args, buf: &mut [u8]) -> Result<u64, String> {
    let s = TcpStream::connect(a.addr).map_err(|e| e.to_string())?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let local = s.local_addr().map_err(|e| e.to_string())?;
    let mut c = Control {
        r: BufReader::new(s),
        line: String::new(),
    };
    c.expect(220)?;
    c.cmd(&format!("USER {}\r\n", a.user), 331)?;
    c.cmd(&format!("PASS {}\r\n", a.pass), 230)?;
    c.cmd("TYPE I\r\n", 200)?;
    let bytes = if a.active {
        let l = TcpListener::bind((local.ip(), 0)).map_err(|e| e.to_string())?;
        let port = l.local_addr().map_err(|e| e.to_string())?.port();
        let ip = local.ip().to_string().replace('.', ",");
        c.cmd(&format!("PORT {ip},{},{}\r\n", port >> 8, port & 255), 200)?;
        c.cmd(&format!("RETR {}\r\n", a.file), 150)?;
        let (d, _) = l.accept().map_err(|e| e.to_string())?;
        d.set_read_timeout(Some(TIMEOUT))
            .map_err(|e| e.to_string())?;
        drain(d, buf)?
    } else {
        let text = c.cmd("PASV\r\n", 227)?;
        let d = TcpStream::connect(pasv_addr(&text)?).map_err(|e| e.to_string())?;
        d.set_read_timeout(Some(TIMEOUT))
            .map_err(|e| e.to_string())?;
        c.cmd(&format!("RETR {}\r\n", a.file), 150)?;
        drain(d, buf)?
    };
    c.expect(226)?;
    c.cmd("QUIT\r\n", 221)?;
    Ok(bytes)
}

fn main() {
    let a = Arc::new(args());
    let next = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..a.threads)
        .map(|_| {
            let (a, next, failed, bytes) = (a.clone(), next.clone(), failed.clone(), bytes.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 256 * 1024];
                let mut times = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < a.sessions {
                    let t = Instant::now();
                    match session(&a, &mut buf) {
                        Ok(n) => {
                            times.push(t.elapsed().as_micros() as u64);
                            bytes.fetch_add(n, Ordering::Relaxed);
                        }
                        Err(e) => {
                            if failed.fetch_add(1, Ordering::Relaxed) == 0 {
                                eprintln!("floor: a session failed: {e}");
                            }
                        }
                    }
                }
                times
            })
        })
        .collect();
    let mut times: Vec<u64> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap_or_default())
        .collect();
    let wall = start.elapsed().as_secs_f64();
    times.sort_unstable();
    let pct = |p: f64| {
        if times.is_empty() {
            0
        } else {
            times[((times.len() - 1) as f64 * p).round() as usize]
        }
    };
    println!(
        "{{\"ok\":{},\"failed\":{},\"wall_s\":{:.6},\"bytes\":{},\"session_us_p50\":{},\"session_us_p99\":{}}}",
        times.len(),
        failed.load(Ordering::Relaxed),
        wall,
        bytes.load(Ordering::Relaxed),
        pct(0.5),
        pct(0.99)
    );
    if failed.load(Ordering::Relaxed) > 0 {
        std::process::exit(1);
    }
}
