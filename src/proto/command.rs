//! FTP commands as values, so the control connection can name what a reply
//! answered and error classes can keep the command without keeping strings.

use std::fmt;
use std::net::{IpAddr, SocketAddr, SocketAddrV4};

/// The verb alone: cheap to copy into error classes and result keys.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verb {
    User,
    Pass,
    Type,
    Pasv,
    Epsv,
    Port,
    Eprt,
    List,
    Nlst,
    Retr,
    Stor,
    Size,
    Mdtm,
    Cwd,
    Pwd,
    Dele,
    Noop,
    Quit,
    /// FEAT (RFC 2389): the extensions a server announces, for the probe.
    Feat,
    /// FTPS (RFC 4217): `AUTH TLS`, `PBSZ 0`, `PROT P`/`PROT C`.
    Auth,
    Pbsz,
    Prot,
}

impl Verb {
    /// A command that moves data over a data channel.
    pub fn transfers(self) -> bool {
        matches!(self, Verb::List | Verb::Nlst | Verb::Retr | Verb::Stor)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verb::User => "USER",
            Verb::Pass => "PASS",
            Verb::Type => "TYPE",
            Verb::Pasv => "PASV",
            Verb::Epsv => "EPSV",
            Verb::Port => "PORT",
            Verb::Eprt => "EPRT",
            Verb::List => "LIST",
            Verb::Nlst => "NLST",
            Verb::Retr => "RETR",
            Verb::Stor => "STOR",
            Verb::Size => "SIZE",
            Verb::Mdtm => "MDTM",
            Verb::Cwd => "CWD",
            Verb::Pwd => "PWD",
            Verb::Dele => "DELE",
            Verb::Noop => "NOOP",
            Verb::Quit => "QUIT",
            Verb::Feat => "FEAT",
            Verb::Auth => "AUTH",
            Verb::Pbsz => "PBSZ",
            Verb::Prot => "PROT",
        }
    }

    pub fn parse(s: &str) -> Option<Verb> {
        const ALL: [Verb; 22] = [
            Verb::User,
            Verb::Pass,
            Verb::Type,
            Verb::Pasv,
            Verb::Epsv,
            Verb::Port,
            Verb::Eprt,
            Verb::List,
            Verb::Nlst,
            Verb::Retr,
            Verb::Stor,
            Verb::Size,
            Verb::Mdtm,
            Verb::Cwd,
            Verb::Pwd,
            Verb::Dele,
            Verb::Noop,
            Verb::Quit,
            Verb::Feat,
            Verb::Auth,
            Verb::Pbsz,
            Verb::Prot,
        ];
        ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One command with its argument. Arguments borrow, so sending costs no allocation
/// beyond the connection's reused write buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    User(&'a str),
    Pass(&'a str),
    /// `TYPE I`: every transfer here is binary, so sizes are exact.
    TypeImage,
    Pasv,
    Epsv,
    Port(SocketAddrV4),
    Eprt(SocketAddr),
    List(Option<&'a str>),
    Nlst(Option<&'a str>),
    Retr(&'a str),
    Stor(&'a str),
    Size(&'a str),
    Mdtm(&'a str),
    Cwd(&'a str),
    Pwd,
    Dele(&'a str),
    Noop,
    Quit,
    Feat,
    /// `AUTH TLS`: the control connection turns to TLS after the 234.
    AuthTls,
    /// `PBSZ 0`: required before PROT, meaningless for TLS (RFC 4217 9).
    Pbsz0,
    /// `PROT P` (data channels encrypted) or `PROT C` (clear).
    Prot(bool),
}

/// An argument that would smuggle a second command onto the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("argument of {verb} contains CR or LF: {arg:?}")]
pub struct InvalidArgument {
    pub verb: Verb,
    pub arg: String,
}

impl Command<'_> {
    pub fn verb(&self) -> Verb {
        match self {
            Command::User(_) => Verb::User,
            Command::Pass(_) => Verb::Pass,
            Command::TypeImage => Verb::Type,
            Command::Pasv => Verb::Pasv,
            Command::Epsv => Verb::Epsv,
            Command::Port(_) => Verb::Port,
            Command::Eprt(_) => Verb::Eprt,
            Command::List(_) => Verb::List,
            Command::Nlst(_) => Verb::Nlst,
            Command::Retr(_) => Verb::Retr,
            Command::Stor(_) => Verb::Stor,
            Command::Size(_) => Verb::Size,
            Command::Mdtm(_) => Verb::Mdtm,
            Command::Cwd(_) => Verb::Cwd,
            Command::Pwd => Verb::Pwd,
            Command::Dele(_) => Verb::Dele,
            Command::Noop => Verb::Noop,
            Command::Quit => Verb::Quit,
            Command::Feat => Verb::Feat,
            Command::AuthTls => Verb::Auth,
            Command::Pbsz0 => Verb::Pbsz,
            Command::Prot(_) => Verb::Prot,
        }
    }

    fn arg(&self) -> Option<&str> {
        match *self {
            Command::User(a)
            | Command::Pass(a)
            | Command::Retr(a)
            | Command::Stor(a)
            | Command::Size(a)
            | Command::Mdtm(a)
            | Command::Cwd(a)
            | Command::Dele(a) => Some(a),
            Command::List(a) | Command::Nlst(a) => a,
            _ => None,
        }
    }

    /// Appends the wire form, CRLF included.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), InvalidArgument> {
        if let Some(a) = self.arg() {
            if a.bytes().any(|b| b == b'\r' || b == b'\n') {
                return Err(InvalidArgument {
                    verb: self.verb(),
                    arg: if self.verb() == Verb::Pass {
                        "(hidden)".into()
                    } else {
                        a.to_string()
                    },
                });
            }
        }
        use std::io::Write;
        let _ = match self {
            Command::TypeImage => write!(out, "TYPE I"),
            Command::AuthTls => write!(out, "AUTH TLS"),
            Command::Pbsz0 => write!(out, "PBSZ 0"),
            Command::Prot(private) => write!(out, "PROT {}", if *private { 'P' } else { 'C' }),
            Command::Port(a) => {
                let [h1, h2, h3, h4] = a.ip().octets();
                let p = a.port();
                write!(out, "PORT {h1},{h2},{h3},{h4},{},{}", p >> 8, p & 0xff)
            }
            Command::Eprt(a) => {
                let proto = match a.ip() {
                    IpAddr::V4(_) => 1,
                    IpAddr::V6(_) => 2,
                };
                write!(out, "EPRT |{proto}|{}|{}|", a.ip(), a.port())
            }
            other => match other.arg() {
                Some(a) => write!(out, "{} {a}", other.verb()),
                None => write!(out, "{}", other.verb()),
            },
        };
        out.extend_from_slice(b"\r\n");
        Ok(())
    }
}

/// Never prints a password: commands end up in logs and error messages.
impl fmt::Display for Command<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Command::Pass(_) = self {
            return f.write_str("PASS ****");
        }
        let mut buf = Vec::new();
        match self.encode(&mut buf) {
            Ok(()) => f.write_str(String::from_utf8_lossy(&buf).trim_end()),
            Err(_) => write!(f, "{} <invalid argument>", self.verb()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(c: Command) -> String {
        let mut v = Vec::new();
        c.encode(&mut v).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn encodes_every_command() {
        assert_eq!(wire(Command::User("bob")), "USER bob\r\n");
        assert_eq!(wire(Command::TypeImage), "TYPE I\r\n");
        assert_eq!(
            wire(Command::Port("127.0.0.1:30034".parse().unwrap())),
            "PORT 127,0,0,1,117,82\r\n"
        );
        assert_eq!(
            wire(Command::Eprt("127.0.0.1:6275".parse().unwrap())),
            "EPRT |1|127.0.0.1|6275|\r\n"
        );
        assert_eq!(
            wire(Command::Eprt("[::1]:6275".parse().unwrap())),
            "EPRT |2|::1|6275|\r\n"
        );
        assert_eq!(wire(Command::List(None)), "LIST\r\n");
        assert_eq!(wire(Command::Nlst(Some("dir"))), "NLST dir\r\n");
        assert_eq!(wire(Command::Retr("1k.bin")), "RETR 1k.bin\r\n");
        assert_eq!(wire(Command::Quit), "QUIT\r\n");
        assert_eq!(wire(Command::Feat), "FEAT\r\n");
    }

    #[test]
    fn refuses_injected_line_breaks() {
        let mut v = Vec::new();
        let e = Command::Retr("a\r\nDELE b").encode(&mut v).unwrap_err();
        assert_eq!(e.verb, Verb::Retr);
        assert!(v.is_empty());
    }

    #[test]
    fn display_hides_password() {
        assert_eq!(Command::Pass("secret").to_string(), "PASS ****");
        assert_eq!(Command::Size("x").to_string(), "SIZE x");
        assert_eq!(Verb::parse("retr"), Some(Verb::Retr));
    }
}
