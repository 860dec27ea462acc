//! The fault server's data side: PASV/EPSV and PORT, and each transfer as
//! the fault wants it (reset, stalled, after a premature 226, never accepted).

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::thread;
use std::time::{Duration, Instant};

use super::{At, Data, Fault, Session, DATA_WAIT, PARTIAL_BYTES, RETR_BYTES, SILENCE};

impl Session {
    pub(super) fn passive(&mut self, verb: &str) -> bool {
        if let Some(Fault::PassiveReply(text)) = self.fault {
            return self.say(text);
        }
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let mut fill = Vec::new();
        if matches!(self.fault, Some(Fault::BacklogFull)) {
            // A backlog of 0 holds one connection: ours; the client's SYN is dropped.
            assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 0) }, 0);
            let to = l.local_addr().unwrap();
            for _ in 0..2 {
                if let Ok(s) = TcpStream::connect_timeout(&to, Duration::from_millis(200)) {
                    fill.push(s);
                }
            }
        }
        self.data = Data::Passive(l, fill);
        if verb == "EPSV" {
            self.say(&format!("229 Entering Extended Passive Mode (|||{port}|)"))
        } else {
            self.say(&format!(
                "227 Entering Passive Mode (127,0,0,1,{},{})",
                port >> 8,
                port & 0xff
            ))
        }
    }

    pub(super) fn port(&mut self, arg: &str) -> bool {
        let n: Vec<u16> = arg
            .split(',')
            .filter_map(|x| x.trim().parse().ok())
            .collect();
        if n.len() != 6 {
            return self.say("501 bad PORT");
        }
        let ip = std::net::Ipv4Addr::new(n[0] as u8, n[1] as u8, n[2] as u8, n[3] as u8);
        self.data = Data::Active(SocketAddr::from((ip, n[4] * 256 + n[5])));
        self.say("200 PORT ok")
    }

    pub(super) fn transfer(&mut self, verb: &str) -> bool {
        let data = std::mem::replace(&mut self.data, Data::None);
        if matches!(self.fault, Some(Fault::NeverAccept)) {
            // The listener stays open, never accepted from, until the client gives up.
            let _keep = data;
            self.say("150 here it comes");
            return self.wait_for_client();
        }
        let Some(mut d) = connect_data(data) else {
            return self.say("425 no data connection");
        };
        d.set_read_timeout(Some(SILENCE)).unwrap();
        d.set_write_timeout(Some(SILENCE)).unwrap();
        if !self.say("150 here it comes") {
            return false;
        }
        match self.fault {
            Some(Fault::ResetMidTransfer) => {
                let _ = d.write_all(&[b'r'; PARTIAL_BYTES]);
                reset(d);
                self.say("426 connection reset")
            }
            Some(Fault::Stall) => {
                if verb != "STOR" {
                    let _ = d.write_all(&[b's'; PARTIAL_BYTES]);
                }
                // Nothing more, nothing read, until the client gives up on it.
                let _ = d.peek(&mut [0u8; 1]);
                self.wait_for_client()
            }
            Some(Fault::Premature226 { then_close }) => {
                if !self.say("226 transfer complete (it is not)") {
                    return false;
                }
                if then_close {
                    thread::sleep(Duration::from_millis(100));
                    let _ = d.write_all(&vec![b'p'; RETR_BYTES]);
                    true
                } else {
                    let _ = d.write_all(&[b'p'; PARTIAL_BYTES]);
                    let _ = d.peek(&mut [0u8; 1]);
                    self.wait_for_client()
                }
            }
            _ => {
                match verb {
                    "STOR" => {
                        let _ = std::io::copy(&mut d, &mut std::io::sink());
                    }
                    "RETR" => {
                        let _ = d.write_all(&vec![b'x'; RETR_BYTES]);
                    }
                    _ => {
                        let _ = d.write_all(b"-rw-r--r-- 1 u u 1024 Jan 1 00:00 1k.bin\r\n");
                    }
                }
                drop(d);
                if let Some(go_on) = self.strike(At::TransferEnd) {
                    return go_on;
                }
                self.say("226 transfer complete")
            }
        }
    }
}

/// The data connection: accepted from our listener, or connected to the
/// client's PORT, within [`DATA_WAIT`].
fn connect_data(data: Data) -> Option<TcpStream> {
    match data {
        Data::None => None,
        Data::Active(to) => TcpStream::connect_timeout(&to, DATA_WAIT).ok(),
        Data::Passive(l, _fill) => {
            l.set_nonblocking(true).unwrap();
            let deadline = Instant::now() + DATA_WAIT;
            loop {
                match l.accept() {
                    Ok((c, _)) => {
                        c.set_nonblocking(false).unwrap();
                        return Some(c);
                    }
                    Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(2)),
                    Err(_) => return None,
                }
            }
        }
    }
}

/// Closes with SO_LINGER 0: the kernel sends a RST, not a FIN.
fn reset(d: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let rc = unsafe {
        libc::setsockopt(
            d.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER");
    drop(d);
}
