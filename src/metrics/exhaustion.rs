//! Recognizing exhaustion. Each server shows a full passive range its own way
//! (a 425, a 500 OOPS and a closed session, or no error at all but a port
//! outside the range), and the client's own ports and file descriptors run out
//! with their own errors; the first such event of a run, and what it looked
//! like, is what an operator needs to know.

use serde::{Deserialize, Serialize};

use super::ErrorClass;
use crate::diagnosis::Cause;
use crate::proto::Verb;

/// The first exhaustion event of a mode: when, what, and how loaded the run was then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exhaustion {
    /// Seconds since the start of the run.
    pub at_s: f64,
    /// Which known signature it matched, in words.
    pub signature: String,
    /// The server's words or the OS error.
    pub evidence: String,
    /// Virtual clients running at that moment.
    pub clients: u64,
    /// Data channels of this mode pending (announced or listening, not yet
    /// connected) and open at that moment.
    pub pending: i64,
    pub open: i64,
}

impl Exhaustion {
    /// Keeps the earlier of two: merging keeps the first event of all.
    pub fn earliest(a: Option<Exhaustion>, b: Option<Exhaustion>) -> Option<Exhaustion> {
        match (a, b) {
            (Some(a), Some(b)) => Some(if b.at_s < a.at_s { b } else { a }),
            (a, b) => a.or(b),
        }
    }
}

/// The signature a failure matches, if it is one of exhaustion: a server's
/// own words for a full range first, then the causes that mean something
/// ran out (or is filtered), by [`Cause::of`] as every report reads them.
pub fn signature(class: &ErrorClass, text: &str) -> Option<&'static str> {
    let passive_cmd = |c: &Option<Verb>| matches!(c, Some(Verb::Pasv | Verb::Epsv));
    Some(match class {
        ErrorClass::Reply { code: 500, command }
            if passive_cmd(command) || text.contains("OOPS") =>
        {
            "vsftpd: 500 OOPS (cannot bind a passive port; the session is closed)"
        }
        ErrorClass::Reply { code: 425, .. } if text.contains("All reserved TCP ports are busy") => {
            "pure-ftpd: 425 All reserved TCP ports are busy"
        }
        ErrorClass::Reply { code: 425, command } if passive_cmd(command) => {
            if text.contains("No data connection established")
                || text.contains("allocate passive port")
            {
                "libunftp: 425 to PASV/EPSV (no free passive port)"
            } else {
                "425 to PASV/EPSV (no passive port)"
            }
        }
        ErrorClass::Reply { code: 425, .. } => "425: the data connection could not be opened",
        ErrorClass::Reply { code: 421, .. } if text.to_ascii_lowercase().contains("timed out") => {
            "421: a data channel timed out on the server"
        }
        ErrorClass::Reply { code: 421, .. } => "421: the server refuses more sessions",
        ErrorClass::AddrInUse { .. } => "client: active port range exhausted (EADDRINUSE)",
        ErrorClass::AddrNotAvailable { .. } => "client: local ports exhausted (EADDRNOTAVAIL)",
        ErrorClass::FileLimit { .. } => "client: file descriptors exhausted (EMFILE/ENFILE)",
        _ => match Cause::of(None, class, text) {
            Cause::NoBanner => NO_BANNER,
            Cause::DataConnectRefused => {
                "passive port refused: nothing listens on the announced port"
            }
            Cause::DataConnectTimeout => {
                "passive connect timed out: the announced port is filtered or its listener gone"
            }
            Cause::AcceptTimeout => "active: the server never connected back",
            _ => return None,
        },
    })
}

/// The signature of sessions that connected and never got a byte of banner.
pub const NO_BANNER: &str = "connected, no banner: the server's listen queue overflowed";

/// proftpd and pyftpdlib say nothing when their range is full: they announce
/// a port the kernel picked, outside it. Only a client that knows the range sees it.
pub const OUTSIDE_RANGE: &str = "announced passive port outside the declared range (silent exhaustion, as proftpd and pyftpdlib do)";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Step;

    #[test]
    fn each_server_has_its_signature() {
        let pasv = Some(Verb::Pasv);
        let s = |code, command, text| signature(&ErrorClass::Reply { code, command }, text);
        assert!(s(500, pasv, "OOPS: vsf_sysutil_bind")
            .unwrap()
            .starts_with("vsftpd"));
        assert!(s(425, Some(Verb::Epsv), "All reserved TCP ports are busy")
            .unwrap()
            .starts_with("pure-ftpd"));
        assert!(s(425, pasv, "No data connection established")
            .unwrap()
            .starts_with("libunftp"));
        assert_eq!(s(550, Some(Verb::Retr), "No such file"), None);
        assert!(signature(
            &ErrorClass::AddrInUse {
                step: Step::DataSetup
            },
            ""
        )
        .unwrap()
        .contains("active port range"));
        assert_eq!(
            signature(
                &ErrorClass::Closed {
                    step: Step::Transfer
                },
                ""
            ),
            None
        );
    }
}
