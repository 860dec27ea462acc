//! One operation of a virtual client, written in a scenario as a short string
//! ("retr 1k.bin", "stor 1MiB", "list"), as a person would type it at an FTP prompt.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

use std::time::Duration;

use super::dist::{parse_files, parse_sizes, Files, Sizes};
use super::units::parse_duration;

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Download a file over a data channel: one file, or one drawn by weight
    /// each time ("retr 1k.bin:80,1m.bin:20").
    Retr(Files),
    /// Upload this many bytes over a data channel (to a per-client file
    /// name), fixed or drawn each time ("stor 1KiB..1MiB").
    Stor(Sizes),
    /// Directory listing over a data channel.
    List(Option<String>),
    Nlst(Option<String>),
    /// Control-only: ask a file's size.
    Size(String),
    /// Control-only round trip.
    Noop,
    /// Control-only: a file's modification time.
    Mdtm(String),
    /// Control-only: change directory (a browsing user's move).
    Cwd(String),
    /// Control-only: print the working directory.
    Pwd,
    /// Control-only: delete a file; without a name, the client's own upload.
    Dele(Option<String>),
    /// End the iteration here (a browsing user leaving).
    Quit,
    /// Stay logged in and do nothing this long: an idle session, as the
    /// many a server holds open between a user's actions.
    Idle(Duration),
    /// Negotiate a data channel in the client's mode (PASV/EPSV, or a
    /// listener and PORT/EPRT) and hold it unconnected this long: what uses
    /// up a server's passive range, or the client's active range.
    Hold(Duration),
}

impl Op {
    /// Whether the operation opens a data channel.
    pub fn uses_data(&self) -> bool {
        matches!(
            self,
            Op::Retr(_) | Op::Stor(_) | Op::List(_) | Op::Nlst(_) | Op::Hold(_)
        )
    }
}

impl Op {
    /// The names its transfers are counted under in a result's
    /// `operations`: as written, and a file drawn by weight under its own
    /// name (`retr 1k.bin:80,1m.bin:20` is `retr 1k.bin` and `retr 1m.bin`).
    pub fn names(&self) -> Vec<String> {
        match self {
            Op::Retr(f) => f.items().map(|x| self.name(Some(x))).collect(),
            _ => vec![self.name(None)],
        }
    }

    /// The name one transfer of it is counted under: a `retr` under the file
    /// it drew, anything else as written.
    pub fn name(&self, drawn: Option<&str>) -> String {
        match (self, drawn) {
            (Op::Retr(_), Some(file)) => format!("retr {file}"),
            _ => self.to_string(),
        }
    }

    /// The server files the operation reads, which must exist there.
    pub fn files_read(&self) -> Vec<&str> {
        match self {
            Op::Retr(f) => f.items().map(String::as_str).collect(),
            Op::Size(f) | Op::Mdtm(f) => vec![f.as_str()],
            _ => Vec::new(),
        }
    }
}

impl FromStr for Op {
    type Err = String;
    fn from_str(s: &str) -> Result<Op, String> {
        let mut it = s.split_whitespace();
        let verb = it.next().unwrap_or("").to_ascii_lowercase();
        let arg: Vec<&str> = it.collect();
        let arg = (!arg.is_empty()).then(|| arg.join(" "));
        let need = |what: &str| format!("operation {s:?} needs {what}");
        match (verb.as_str(), arg) {
            ("retr", Some(a)) => parse_files(&a).map(Op::Retr),
            ("retr", None) => Err(need("a file name, e.g. \"retr 1k.bin\" or \"retr 1k.bin:80,1m.bin:20\"")),
            ("stor", Some(a)) => parse_sizes(&a).map(Op::Stor),
            ("stor", None) => Err(need("a size, e.g. \"stor 1KiB\", \"stor 1KiB:80,1MiB:20\", \"stor 1KiB..1MiB\" or \"stor lognormal 64KiB 1.5\"")),
            ("list", a) => Ok(Op::List(a)),
            ("nlst", a) => Ok(Op::Nlst(a)),
            ("size", Some(a)) => Ok(Op::Size(a)),
            ("size", None) => Err(need("a file name, e.g. \"size 1k.bin\"")),
            ("noop", None) => Ok(Op::Noop),
            ("mdtm", Some(a)) => Ok(Op::Mdtm(a)),
            ("mdtm", None) => Err(need("a file name, e.g. \"mdtm 1k.bin\"")),
            ("cwd", Some(a)) => Ok(Op::Cwd(a)),
            ("cwd", None) => Err(need("a directory, e.g. \"cwd /\"")),
            ("pwd", None) => Ok(Op::Pwd),
            ("dele", a) => Ok(Op::Dele(a)),
            ("quit", None) => Ok(Op::Quit),
            ("hold", Some(a)) => parse_duration(&a).map(Op::Hold),
            ("idle", Some(a)) => parse_duration(&a).map(Op::Idle),
            ("idle", None) => Err(need("a duration, e.g. \"idle 10s\"")),
            ("hold", None) => Err(need("a duration, e.g. \"hold 2s\"")),
            _ => Err(format!(
                "unknown operation {s:?}: expected retr FILE, stor SIZE, list [DIR], nlst [DIR], size FILE, mdtm FILE, cwd DIR, pwd, dele [FILE], noop, idle DURATION, hold DURATION or quit"
            )),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Retr(a) => write!(f, "retr {a}"),
            Op::Stor(n) => write!(f, "stor {n}"),
            Op::List(None) => f.write_str("list"),
            Op::List(Some(a)) => write!(f, "list {a}"),
            Op::Nlst(None) => f.write_str("nlst"),
            Op::Nlst(Some(a)) => write!(f, "nlst {a}"),
            Op::Size(a) => write!(f, "size {a}"),
            Op::Noop => f.write_str("noop"),
            Op::Mdtm(a) => write!(f, "mdtm {a}"),
            Op::Cwd(a) => write!(f, "cwd {a}"),
            Op::Pwd => f.write_str("pwd"),
            Op::Dele(None) => f.write_str("dele"),
            Op::Dele(Some(a)) => write!(f, "dele {a}"),
            Op::Quit => f.write_str("quit"),
            Op::Hold(d) => write!(f, "hold {}", humantime::format_duration(*d)),
            Op::Idle(d) => write!(f, "idle {}", humantime::format_duration(*d)),
        }
    }
}

impl<'de> Deserialize<'de> for Op {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Op {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
