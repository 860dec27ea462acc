//! Faults no real server produces on demand, from a small misbehaving server
//! written for the purpose: each must end in a clear, classified error, never
//! a hang or a crash.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use ftpload::metrics::{ErrorClass, Step};
use ftpload::proto::Mode;
use ftpload::scenario::{Overrides, Plan};

use crate::util::harness;

/// Serves each connection with `script` on its own thread, for at most `n` connections.
fn misbehaving_server(n: usize, script: fn(TcpStream)) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        for s in l.incoming().take(n).flatten() {
            thread::spawn(move || script(s));
        }
    });
    format!("ftp://u:p@{addr}")
}

/// Logs the client in, then answers every command with the given PASV reply.
fn login_then(s: TcpStream, pasv_reply: &str) {
    let mut w = s.try_clone().unwrap();
    let _ = w.write_all(b"220 hostile\r\n");
    for line in BufReader::new(s).lines().take(50) {
        let Ok(line) = line else { return };
        let reply: &[u8] = match line.split(' ').next().unwrap_or("") {
            "USER" => b"331 pw\r\n",
            "PASS" => b"230 ok\r\n",
            "TYPE" => b"200 ok\r\n",
            "PASV" => pasv_reply.as_bytes(),
            "QUIT" => b"221 bye\r\n",
            _ => b"502 no\r\n",
        };
        if w.write_all(reply).is_err() {
            return;
        }
    }
}

fn plan(target: String, iterations: u64, tag: &str) -> (Plan, std::path::PathBuf) {
    let dir = harness::temp_dir(tag);
    let f = dir.join("h.toml");
    std::fs::write(
        &f,
        format!("[run]\niterations = {iterations}\n[timeouts]\nreply = \"2s\"\nbanner = \"2s\"\n[[group]]\nusers = 1\nops = [\"list\"]\n"),
    )
    .unwrap();
    let o = Overrides {
        target: Some(target),
        modes: vec![Mode::Passive],
        ..Overrides::default()
    };
    (Plan::load(&f, &o).unwrap(), dir.join("r.json"))
}

fn run(
    p: &Plan,
    out: std::path::PathBuf,
) -> Result<ftpload::run::Finished, ftpload::run::RunError> {
    ftpload::run::run(
        p,
        &ftpload::run::Options {
            out: Some(out),
            quiet: true,
            cancel: Default::default(),
        },
    )
}

#[test]
fn endless_banner_line_is_refused_at_the_limit() {
    let url = misbehaving_server(1, |mut s| {
        let mut junk = b"220 ".to_vec();
        junk.resize(64 * 1024, b'x');
        let _ = s.write_all(&junk);
        thread::sleep(Duration::from_secs(3));
    });
    let (p, out) = plan(url, 1, "endless");
    let e = run(&p, out)
        .err()
        .expect("the target is not usable")
        .to_string();
    assert!(e.contains("longer than 8192 bytes"), "{e}");
}

#[test]
fn a_server_that_speaks_http_is_named_malformed() {
    let url = misbehaving_server(1, |mut s| {
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        thread::sleep(Duration::from_secs(1));
    });
    let (p, out) = plan(url, 1, "http");
    let e = run(&p, out)
        .err()
        .expect("the target is not usable")
        .to_string();
    assert!(
        e.contains("malformed reply line") && e.contains("HTTP/1.1"),
        "{e}"
    );
}

#[test]
fn silent_server_is_connected_no_banner_after_its_timeout() {
    let url = misbehaving_server(1, |_s| thread::sleep(Duration::from_secs(4)));
    let (p, out) = plan(url, 1, "silent");
    let e = run(&p, out)
        .err()
        .expect("the target is not usable")
        .to_string();
    assert!(e.contains("banner: timed out"), "{e}");
}

#[test]
fn garbled_227_is_a_protocol_error_at_data_setup_and_the_run_goes_on() {
    let url = misbehaving_server(10, |s| {
        login_then(s, "227 Entering Passive Mode (no,address,here)\r\n")
    });
    let (p, out) = plan(url, 3, "bad227");
    let f = run(&p, out).unwrap();
    let m = &f.result.modes[&Mode::Passive];
    assert_eq!(m.counters.sessions, 3);
    assert_eq!(m.counters.transfers_failed, 3);
    let e = &m.errors[0];
    assert_eq!(
        e.class,
        ErrorClass::Protocol {
            step: Step::DataSetup
        }
    );
    assert_eq!(e.count, 3);
    assert!(
        e.sample.as_deref().unwrap().contains("no,address,here"),
        "{e:?}"
    );
}

#[test]
fn a_227_naming_another_host_is_counted_and_not_followed() {
    // 127.0.0.2 with the port of a listener on 127.0.0.1 only: following the
    // 227 would be refused; connecting to the control peer reaches it.
    let data = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = data.local_addr().unwrap().port();
    thread::spawn(move || {
        for s in data.incoming().take(3).flatten() {
            drop(s);
        }
    });
    static REPLY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    REPLY.get_or_init(|| {
        format!(
            "227 Entering Passive Mode (127,0,0,2,{},{})\r\n",
            port >> 8,
            port & 0xff
        )
    });
    let url = misbehaving_server(10, |s| login_then(s, REPLY.get().unwrap()));
    let (p, out) = plan(url, 3, "mismatch");
    let f = run(&p, out).unwrap();
    let m = &f.result.modes[&Mode::Passive];
    assert_eq!(m.counters.pasv_address_mismatch, 3);
    // It connected to 127.0.0.1 (the control peer): the LIST then got a 502.
    assert!(
        m.errors
            .iter()
            .all(|e| matches!(e.class, ErrorClass::Reply { code: 502, .. })),
        "{:?}",
        m.errors
    );
}
