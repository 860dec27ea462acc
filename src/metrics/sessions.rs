//! Sessions against the server's own cap on them. A server that holds as
//! many sessions as it will turns the next away (vsftpd's `max_clients`:
//! `421 There are too many connected users`), and a load test pushed past
//! that limit measures the limit, not the server: the operator needs to read
//! which limit it was, how often it refused, and how many sessions it held.

use serde::{Deserialize, Serialize};
use std::ops::AddAssign;

use crate::diagnosis::{words, Cause};
use crate::proto::{ErrorClass, Mode, Step};

/// The first refusal of a mode by the server's session limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionLimit {
    /// Seconds since the start of the run.
    pub at_s: f64,
    /// Which limit, in words ("vsftpd's max_clients").
    pub limit: String,
    /// Where the session was turned away (banner or login) and the code.
    pub step: Step,
    pub code: u16,
    /// The server's words.
    pub evidence: String,
    /// Virtual clients running, and sessions of this mode logged in, then.
    pub clients: u64,
    pub logged_in: i64,
}

impl SessionLimit {
    /// The refusal a failure of `class` with the server's words `text` is,
    /// if its cause is the session limit (`Cause::of`, as every report reads
    /// it); the caller fills in when and how loaded.
    pub fn of(mode: Mode, class: &ErrorClass, text: &str) -> Option<SessionLimit> {
        if Cause::of(Some(mode), class, text) != Cause::SessionLimit {
            return None;
        }
        let ErrorClass::Reply { code, command } = *class else {
            return None;
        };
        Some(SessionLimit {
            at_s: 0.0,
            limit: words::session_limit(text, None),
            // Only a reply in place of the banner has no command.
            step: if command.is_none() {
                Step::Banner
            } else {
                Step::Login
            },
            code,
            evidence: text.to_string(),
            clients: 0,
            logged_in: 0,
        })
    }
}

/// Per mode: the most sessions logged in at once, and the sessions the
/// server refused by its limit. Merging keeps the higher peak (the sum of
/// shards' peaks would count sessions that never overlapped), adds the
/// refusals and keeps the earliest event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionStats {
    /// Logged-in sessions at once, at their peak (every login counted, not
    /// sampled).
    pub peak_logged_in: i64,
    /// Sessions refused by the server's session limit.
    pub refused: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<SessionLimit>,
}

impl SessionStats {
    /// Counts one refusal, keeping the earlier of the events.
    pub fn refused(&mut self, event: SessionLimit) {
        self.refused += 1;
        self.limit = earliest(self.limit.take(), Some(event));
    }
}

/// The earlier of two events; on a tie the first.
fn earliest(a: Option<SessionLimit>, b: Option<SessionLimit>) -> Option<SessionLimit> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.at_s < a.at_s { b } else { a }),
        (a, b) => a.or(b),
    }
}

impl AddAssign<&SessionStats> for SessionStats {
    fn add_assign(&mut self, o: &SessionStats) {
        self.peak_logged_in = self.peak_logged_in.max(o.peak_logged_in);
        self.refused += o.refused;
        self.limit = earliest(self.limit.take(), o.limit.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at_s: f64) -> SessionLimit {
        SessionLimit {
            at_s,
            limit: "vsftpd's max_clients".into(),
            step: Step::Banner,
            code: 421,
            evidence: "421 There are too many connected users, please try later.".into(),
            clients: 6,
            logged_in: 3,
        }
    }

    #[test]
    fn merging_adds_refusals_and_keeps_the_first_event_and_the_peak() {
        let mut a = SessionStats {
            peak_logged_in: 3,
            ..SessionStats::default()
        };
        a.refused(event(2.0));
        a.refused(event(1.5));
        let mut b = SessionStats {
            peak_logged_in: 2,
            ..SessionStats::default()
        };
        b.refused(event(0.5));
        a += &b;
        assert_eq!(a.refused, 3);
        assert_eq!(a.peak_logged_in, 3);
        assert_eq!(a.limit.map(|e| e.at_s), Some(0.5));
    }
}
