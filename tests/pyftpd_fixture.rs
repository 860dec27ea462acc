//! Checks the test support itself: that the pyftpdlib fixture really serves
//! (including EPRT, the reason it exists) and that Python's HDR decoder reads
//! what the Rust `hdrhistogram` crate writes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use base64::Engine as _;
use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

use crate::util::common;

const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Just enough FTP to poke a server by hand, independent of the crate's client.
struct Ctl {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Ctl {
    fn connect(addr: SocketAddr) -> Ctl {
        let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let w = s.try_clone().unwrap();
        Ctl {
            r: BufReader::new(s),
            w,
        }
    }

    /// One reply, multi-line or not: its code and last line.
    fn reply(&mut self) -> (u16, String) {
        let mut code: Option<String> = None;
        for _ in 0..200 {
            let mut line = String::new();
            assert!(
                self.r.read_line(&mut line).expect("read reply") > 0,
                "connection closed"
            );
            let line = line.trim_end().to_string();
            let c = code.get_or_insert_with(|| line[..3].to_string()).clone();
            if line.starts_with(&c) && line.as_bytes().get(3).is_none_or(|&b| b == b' ') {
                return (c.parse().unwrap(), line);
            }
        }
        panic!("reply longer than 200 lines");
    }

    fn cmd(&mut self, line: &str) -> (u16, String) {
        self.w.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        self.reply()
    }
}

fn accept_bounded(l: &TcpListener) -> TcpStream {
    l.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
                return s;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("no data connection from the server: {e}"),
        }
    }
}

#[test]
fn pyftpd_serves_login_and_eprt() {
    let dir = tempfile::tempdir().unwrap();
    common::make_files(dir.path(), &[("1k.bin", 1024)]);
    let srv = common::PyFtpd::start(dir.path(), "ftpuser", "ftppass", 16800..=16899);

    let mut c = Ctl::connect(srv.addr);
    let (code, banner) = c.reply();
    assert_eq!(code, 220, "{banner}");
    assert!(banner.contains("pyftpdlib"), "{banner}");
    // No wrong-password check: pyftpdlib delays every 530 by 3 s
    // (`auth_failed_timeout`).
    assert_eq!(c.cmd("USER ftpuser").0, 331);
    assert_eq!(c.cmd("PASS ftppass").0, 230);
    assert_eq!(c.cmd("TYPE I").0, 200);

    // pyftpdlib connects during EPRT itself, so the listener must be up first.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (code, text) = c.cmd(&format!("EPRT |1|127.0.0.1|{port}|"));
    assert_eq!(code, 200, "{text}");
    let mut d = accept_bounded(&l);

    let (code, text) = c.cmd("RETR 1k.bin");
    assert!(code == 125 || code == 150, "{text}");
    let mut got = Vec::new();
    d.read_to_end(&mut got).unwrap();
    let (code, text) = c.reply();
    assert_eq!(code, 226, "{text}");
    assert_eq!(got, std::fs::read(dir.path().join("1k.bin")).unwrap());
    assert_eq!(c.cmd("QUIT").0, 221);
}

#[test]
fn python_decodes_our_hdr_histograms() {
    // Microsecond latencies from 1 µs to 60 s at 3 significant digits, as the
    // crate records them; the values span many buckets so rounding shows.
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    for v in 1..=10_000u64 {
        h.record(v * 7).unwrap();
    }
    // A slow tail, so p99 (count 9999 of 10100) lies in the spread part.
    h.record_n(59_000_000, 100).unwrap();

    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(&h, &mut bytes)
        .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);

    let (count, p99) = common::python_hdr_decode(&b64);
    assert_eq!(count, h.len());
    let ours = h.value_at_quantile(0.99);
    // Both libraries report a bucket's highest equivalent value; allow for the
    // other rounding rule of the target count by accepting any value the
    // histogram cannot tell apart from ours, or one within 0.1 %.
    let close = ours.abs_diff(p99) as f64 <= ours as f64 * 0.001;
    assert!(
        h.equivalent(ours, p99) || close,
        "rust p99 {ours}, python p99 {p99}"
    );
    assert!(
        (60_000..80_000).contains(&ours),
        "p99 {ours} not in the spread part"
    );
}
