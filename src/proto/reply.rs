//! FTP reply decoding on plain byte slices.
//!
//! This lives apart from the control connection so that the part of the client
//! that reads whatever a server chooses to send is pure: no sockets, no async,
//! no state between calls. That makes it cheap to unit test at every split
//! point, to fuzz with arbitrary bytes, and to benchmark without a server.
//!
//! Every call is bounded by [`ReplyLimits`]: a broken or hostile server that
//! never sends a line end, or sends an endless multi-line reply, gets an error
//! as soon as the limit is passed instead of making the client buffer and
//! rescan without end. Each call does at most `max_reply + max_line` bytes of
//! work however large the buffer is.

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};

/// Bounds that keep a hostile or broken server from making the client buffer without end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyLimits {
    /// Longest line, in bytes, not counting its CRLF.
    pub max_line: usize,
    /// Longest reply, in bytes, line ends included.
    pub max_reply: usize,
}

impl Default for ReplyLimits {
    /// Far above anything a real server sends (pure-ftpd, vsftpd and ProFTPD
    /// banners stay under a few KiB) while still capping memory per connection.
    fn default() -> Self {
        ReplyLimits {
            max_line: 8192,
            max_reply: 65536,
        }
    }
}

/// One complete server reply. The text keeps every line so that nothing a
/// server said is lost when it ends up in an error message or a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// The text of all lines without the code prefix, joined by `'\n'`.
    pub text: String,
}

impl Reply {
    /// The first digit alone decides what the client does next (RFC 959 4.2.1).
    pub fn class(&self) -> u8 {
        (self.code / 100) as u8
    }

    /// A 1xx: another reply follows before the command is done.
    pub fn is_preliminary(&self) -> bool {
        self.class() == 1
    }

    /// A 2xx: the command succeeded.
    pub fn is_completion(&self) -> bool {
        self.class() == 2
    }

    /// A 3xx: the server waits for a further command (PASS after USER, ...).
    pub fn is_intermediate(&self) -> bool {
        self.class() == 3
    }

    /// A 4xx or 5xx: the command failed, transiently or for good.
    pub fn is_negative(&self) -> bool {
        matches!(self.class(), 4 | 5)
    }

    /// Multi-line banners bury the useful line under decoration; error
    /// messages only want the first.
    pub fn first_line(&self) -> &str {
        match self.text.find('\n') {
            Some(i) => &self.text[..i],
            None => &self.text,
        }
    }
}

impl fmt::Display for Reply {
    /// Short enough for an error message: the code and the first line only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.first_line();
        if first.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{} {}", self.code, first)
        }
    }
}

#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ReplyError {
    #[error("reply line longer than {limit} bytes")]
    LineTooLong { limit: usize },
    #[error("reply longer than {limit} bytes")]
    ReplyTooLarge { limit: usize },
    #[error("malformed reply line: {line:?}")]
    Malformed { line: String },
    #[error("cannot parse a host and port from 227 reply: {text:?}")]
    BadPasv { text: String },
    #[error("cannot parse a port from 229 reply: {text:?}")]
    BadEpsv { text: String },
}

/// Keeps error messages readable when a server sends garbage.
const MALFORMED_MAX_CHARS: usize = 80;

/// Multi-line replies with at most this many lines after the first are
/// decoded in one scan; longer ones (rare: HELP, FEAT, SITE output) scan twice.
const TRACKED_LINES: usize = 16;

/// Decodes one complete reply from the start of `buf`. Ok(None): need more bytes.
/// Ok(Some((reply, consumed))): `consumed` bytes of buf made up that reply (so the caller drains them; a following reply stays in the buffer).
pub fn decode(buf: &[u8], limits: &ReplyLimits) -> Result<Option<(Reply, usize)>, ReplyError> {
    let first = next_line(buf, 0, limits.max_line).map_err(|e| or_malformed(buf, e))?;
    let Some((first_end, mut next)) = first else {
        // Reject a non-FTP peer (an SSH or HTTP banner, say) on its first
        // bytes rather than waiting for a line end that may never come.
        check_first_prefix(buf)?;
        return pending(buf, limits).map_err(|e| or_malformed(buf, e));
    };
    if next > limits.max_reply {
        return Err(or_malformed(
            buf,
            ReplyError::ReplyTooLarge {
                limit: limits.max_reply,
            },
        ));
    }
    let first = &buf[..first_end];
    let (code, multi) = parse_first(first)?;
    if !multi {
        let text = String::from_utf8_lossy(first.get(4..).unwrap_or_default()).into_owned();
        return Ok(Some((Reply { code, text }, next)));
    }

    let prefix = &first[..3];
    let body_start = next;
    // (start, content end) of each line after the first, so the text can be
    // built without looking for line ends a second time.
    let mut lines = [(0usize, 0usize); TRACKED_LINES];
    let mut count = 0usize;
    let mut text_len = first_end - 4;
    loop {
        let start = next;
        let Some((end, after)) = next_line(buf, start, limits.max_line)? else {
            return pending(buf, limits);
        };
        if after > limits.max_reply {
            return Err(ReplyError::ReplyTooLarge {
                limit: limits.max_reply,
            });
        }
        next = after;
        if count < TRACKED_LINES {
            lines[count] = (start, end);
        }
        count += 1;
        let line = &buf[start..end];
        if is_last_line(line, prefix) {
            text_len += 1 + line.len().saturating_sub(4);
            break;
        }
        text_len += 1 + line.len();
    }

    let mut text = String::with_capacity(text_len);
    text.push_str(&String::from_utf8_lossy(&first[4..]));
    let mut push = |line: &[u8], last: bool| {
        text.push('\n');
        let line = if last {
            line.get(4..).unwrap_or_default()
        } else {
            line
        };
        text.push_str(&String::from_utf8_lossy(line));
    };
    if count <= TRACKED_LINES {
        for (i, &(start, end)) in lines[..count].iter().enumerate() {
            push(&buf[start..end], i + 1 == count);
        }
    } else {
        // Every line here is complete and already checked against the limits.
        let body = &buf[body_start..next - 1];
        let mut rest = body;
        for i in 0..count {
            let (line, tail) = match rest.iter().position(|&b| b == b'\n') {
                Some(n) => (&rest[..n], &rest[n + 1..]),
                None => (rest, &rest[rest.len()..]),
            };
            rest = tail;
            push(strip_cr(line), i + 1 == count);
        }
    }
    Ok(Some((Reply { code, text }, next)))
}

/// Finds the end of the line starting at `start`, looking no further than a
/// line of `max_line` bytes plus CRLF could reach. Returns the end of the
/// line's content (before CR LF) and the start of the next line.
#[inline]
fn next_line(
    buf: &[u8],
    start: usize,
    max_line: usize,
) -> Result<Option<(usize, usize)>, ReplyError> {
    let rest = &buf[start..];
    let window = rest.len().min(max_line.saturating_add(2));
    match rest[..window].iter().position(|&b| b == b'\n') {
        Some(i) => {
            let content = if i > 0 && rest[i - 1] == b'\r' {
                i - 1
            } else {
                i
            };
            if content > max_line {
                return Err(ReplyError::LineTooLong { limit: max_line });
            }
            Ok(Some((start + content, start + i + 1)))
        }
        None => {
            // A trailing CR may be the first half of the CRLF still in flight.
            let pending = if rest.last() == Some(&b'\r') {
                rest.len() - 1
            } else {
                rest.len()
            };
            if pending > max_line {
                Err(ReplyError::LineTooLong { limit: max_line })
            } else {
                Ok(None)
            }
        }
    }
}

/// The reply is incomplete; everything in `buf` belongs to it.
fn pending(buf: &[u8], limits: &ReplyLimits) -> Result<Option<(Reply, usize)>, ReplyError> {
    if buf.len() > limits.max_reply {
        Err(ReplyError::ReplyTooLarge {
            limit: limits.max_reply,
        })
    } else {
        Ok(None)
    }
}

#[inline]
fn strip_cr(line: &[u8]) -> &[u8] {
    match line.split_last() {
        Some((b'\r', head)) => head,
        _ => line,
    }
}

/// RFC 959 4.2: the reply ends at a line with the same code followed by a
/// space; a bare code ("200") is accepted too since some servers send one.
#[inline]
fn is_last_line(line: &[u8], prefix: &[u8]) -> bool {
    line.len() >= 3 && &line[..3] == prefix && (line.len() == 3 || line[3] == b' ')
}

/// Parses a complete first line into its code and whether a multi-line reply starts.
#[inline]
fn parse_first(line: &[u8]) -> Result<(u16, bool), ReplyError> {
    if line.len() >= 3 {
        let (a, b, c) = (line[0], line[1], line[2]);
        if (b'1'..=b'5').contains(&a) && b.is_ascii_digit() && c.is_ascii_digit() {
            let code = (a - b'0') as u16 * 100 + (b - b'0') as u16 * 10 + (c - b'0') as u16;
            match line.get(3) {
                None | Some(b' ') => return Ok((code, false)),
                Some(b'-') => return Ok((code, true)),
                _ => {}
            }
        }
    }
    Err(malformed(line))
}

/// Rejects a first line as soon as its first bytes cannot start a reply,
/// and never rejects a prefix of a valid one.
fn check_first_prefix(buf: &[u8]) -> Result<(), ReplyError> {
    let ok = buf.iter().take(4).enumerate().all(|(i, &b)| match i {
        0 => (b'1'..=b'5').contains(&b),
        1 | 2 => b.is_ascii_digit(),
        _ => matches!(b, b' ' | b'-' | b'\r' | b'\n'),
    });
    if ok {
        Ok(())
    } else {
        // The first line only, within what the message keeps.
        let head = &buf[..buf.len().min(MALFORMED_MAX_CHARS * 4)];
        let line = head.split(|&b| b == b'\n').next().unwrap_or(head);
        Err(malformed(strip_cr(line)))
    }
}

/// A limit passed on the first line, unless its first bytes already show it
/// is no reply: then that, as a caller handed those bytes first would have
/// been told, so the verdict never depends on how the bytes arrived (found
/// by tests/fuzz: 10 KB of garbage in one read was "line too long", in
/// small reads "malformed"). Holds for limits of 4 bytes and more; below,
/// a limit can pass before the code is even read.
fn or_malformed(buf: &[u8], limit: ReplyError) -> ReplyError {
    check_first_prefix(buf).err().unwrap_or(limit)
}

fn malformed(line: &[u8]) -> ReplyError {
    // 4 bytes per char at most: enough bytes for the chars kept, no more.
    let head = &line[..line.len().min(MALFORMED_MAX_CHARS * 4)];
    let line = match String::from_utf8_lossy(head) {
        Cow::Borrowed(s) => s.chars().take(MALFORMED_MAX_CHARS).collect(),
        Cow::Owned(s) => s.chars().take(MALFORMED_MAX_CHARS).collect(),
    };
    ReplyError::Malformed { line }
}

/// Host and port of a 227 reply text (the text after "227 ").
///
/// RFC 959 leaves the format of the 227 text open, and servers differ on
/// parentheses, spacing, case and trailing text, so this takes the first run
/// of six comma-separated integers anywhere in the text.
pub fn parse_pasv(text: &str) -> Result<SocketAddrV4, ReplyError> {
    let b = text.as_bytes();
    let bad = || ReplyError::BadPasv {
        text: text.to_owned(),
    };
    for i in 0..b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && b[i - 1].is_ascii_digit()) {
            continue;
        }
        let Some(n) = six_numbers(b, i) else {
            continue;
        };
        if n.iter().any(|&v| v > 255) {
            return Err(bad());
        }
        let port = (n[4] * 256 + n[5]) as u16;
        // Nothing listens on port 0: better a clear error here than a
        // confusing connect failure later.
        if port == 0 {
            return Err(bad());
        }
        let ip = Ipv4Addr::new(n[0] as u8, n[1] as u8, n[2] as u8, n[3] as u8);
        return Ok(SocketAddrV4::new(ip, port));
    }
    Err(bad())
}

/// Six integers separated by commas (with optional blanks around them)
/// starting at `i`; values saturate so that range checks stay with the caller.
fn six_numbers(b: &[u8], mut i: usize) -> Option<[u32; 6]> {
    let mut out = [0u32; 6];
    for (k, slot) in out.iter_mut().enumerate() {
        if k > 0 {
            while i < b.len() && matches!(b[i], b' ' | b'\t') {
                i += 1;
            }
            if b.get(i) != Some(&b',') {
                return None;
            }
            i += 1;
            while i < b.len() && matches!(b[i], b' ' | b'\t') {
                i += 1;
            }
        }
        let start = i;
        let mut v = 0u32;
        while i < b.len() && b[i].is_ascii_digit() {
            v = v.saturating_mul(10).saturating_add((b[i] - b'0') as u32);
            i += 1;
        }
        if i == start {
            return None;
        }
        *slot = v;
    }
    Some(out)
}

/// Port of a 229 reply text (RFC 2428: "Entering Extended Passive Mode (|||6446|)"; the delimiter is any printable char d in "(ddd<port>d)").
///
/// Only the parenthesised part is fixed by the RFC, so every '(' in the text
/// is tried and the words around it are ignored.
pub fn parse_epsv(text: &str) -> Result<u16, ReplyError> {
    let b = text.as_bytes();
    b.iter()
        .enumerate()
        .filter(|&(_, &c)| c == b'(')
        .find_map(|(i, _)| epsv_at(&b[i + 1..]))
        .ok_or_else(|| ReplyError::BadEpsv {
            text: text.to_owned(),
        })
}

/// Parses "ddd<port>d)" where d is the delimiter.
fn epsv_at(b: &[u8]) -> Option<u16> {
    let d = *b.first()?;
    // RFC 2428: the delimiter is in ASCII 33..=126; a digit would be ambiguous.
    if !(33..=126).contains(&d) || d.is_ascii_digit() {
        return None;
    }
    if b.get(1) != Some(&d) || b.get(2) != Some(&d) {
        return None;
    }
    let digits = b[3..].iter().take_while(|c| c.is_ascii_digit()).count();
    if !(1..=5).contains(&digits) {
        return None;
    }
    let end = 3 + digits;
    if b.get(end) != Some(&d) || b.get(end + 1) != Some(&b')') {
        return None;
    }
    let port = b[3..end]
        .iter()
        .fold(0u32, |v, &c| v * 10 + (c - b'0') as u32);
    if (1..=65535).contains(&port) {
        Some(port as u16)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(buf: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
        decode(buf, &ReplyLimits::default())
    }

    fn one(buf: &[u8]) -> Reply {
        let (r, n) = dec(buf).unwrap().expect("complete reply");
        assert_eq!(n, buf.len());
        r
    }

    fn reply(code: u16, text: &str) -> Reply {
        Reply {
            code,
            text: text.to_owned(),
        }
    }

    const BANNER: &[u8] = b"220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------\r\n\
220-You are user number 1 of 1000 allowed.\r\n\
220 You will be disconnected after 15 minutes of inactivity.\r\n";

    #[test]
    fn single_line() {
        let r = one(b"227 Entering Passive Mode (127,0,0,1,117,82).\r\n");
        assert_eq!(r, reply(227, "Entering Passive Mode (127,0,0,1,117,82)."));
        assert_eq!(r.first_line(), r.text);
        assert_eq!(
            one(b"226 Transfer complete.\r\n").text,
            "Transfer complete."
        );
    }

    #[test]
    fn classes() {
        let r = |c| reply(c, "");
        assert!(r(150).is_preliminary() && r(150).class() == 1);
        assert!(r(226).is_completion() && !r(226).is_negative());
        assert!(r(331).is_intermediate());
        assert!(r(421).is_negative() && r(550).is_negative());
        assert!(!r(550).is_completion() && !r(199).is_completion());
        assert_eq!(r(599).class(), 5);
    }

    #[test]
    fn display_uses_first_line() {
        let r = one(BANNER);
        assert_eq!(
            r.to_string(),
            "220 --------- Welcome to Pure-FTPd [privsep] [TLS] ----------"
        );
        assert_eq!(one(b"200\r\n").to_string(), "200");
        assert_eq!(one(b"550 No such file\r\n").to_string(), "550 No such file");
    }

    #[test]
    fn multi_line_pure_ftpd_banner() {
        let r = one(BANNER);
        assert_eq!(r.code, 220);
        assert_eq!(
            r.text,
            // Inner lines stay verbatim, "220-" included (RFC 959 4.2).
            "--------- Welcome to Pure-FTPd [privsep] [TLS] ----------\n\
             220-You are user number 1 of 1000 allowed.\n\
             You will be disconnected after 15 minutes of inactivity."
        );
        assert_eq!(
            r.first_line(),
            "--------- Welcome to Pure-FTPd [privsep] [TLS] ----------"
        );
    }

    #[test]
    fn multi_line_inner_line_with_other_code() {
        let r = one(b"211-Features:\r\n 200 not an end\r\n230 not the end either\r\n211 End\r\n");
        assert_eq!(r.code, 211);
        assert_eq!(
            r.text,
            "Features:\n 200 not an end\n230 not the end either\nEnd"
        );
    }

    #[test]
    fn multi_line_inner_same_code_dash_is_verbatim() {
        let r = one(b"220-first\r\n220-second\r\nplain\r\n220 last\r\n");
        assert_eq!(r.text, "first\n220-second\nplain\nlast");
    }

    #[test]
    fn multi_line_ends_on_bare_code() {
        let r = one(b"220-first\r\n220\r\n");
        assert_eq!(r.text, "first\n");
        // "220x" is not an end line: the reply is still open.
        assert_eq!(dec(b"220-first\r\n220x\r\n").unwrap(), None);
    }

    #[test]
    fn multi_line_pure_ftpd_transfer() {
        let r = one(b"226-File successfully transferred\r\n226 0.002 seconds (measured here), 603.15 Mbytes per second\r\n");
        assert_eq!(
            r.text,
            "File successfully transferred\n0.002 seconds (measured here), 603.15 Mbytes per second"
        );
    }

    #[test]
    fn many_lines_beyond_tracked() {
        let mut buf = b"214-The following commands are recognized.\r\n".to_vec();
        let mut want = String::from("The following commands are recognized.");
        for i in 0..40 {
            let line = format!(" CMD{i} ARGS\u{e9}");
            buf.extend_from_slice(line.as_bytes());
            buf.extend_from_slice(if i % 2 == 0 { b"\r\n" } else { b"\n" });
            want.push('\n');
            want.push_str(&line);
        }
        buf.extend_from_slice(b"214 Help OK.\r\n");
        want.push_str("\nHelp OK.");
        let r = one(&buf);
        assert_eq!(r, reply(214, &want));
        // Same result whether or not the line table overflows.
        let mut short = b"214-a\r\n".to_vec();
        for _ in 0..TRACKED_LINES - 1 {
            short.extend_from_slice(b"x\r\n");
        }
        short.extend_from_slice(b"214 z\r\n");
        let mut long = b"214-a\r\n".to_vec();
        for _ in 0..TRACKED_LINES {
            long.extend_from_slice(b"x\r\n");
        }
        long.extend_from_slice(b"214 z\r\n");
        let a = one(&short).text;
        let b = one(&long).text;
        assert_eq!(b, a.replacen("\nz", "\nx\nz", 1));
    }

    #[test]
    fn two_replies_in_one_buffer() {
        let buf = b"150 Opening BINARY mode data connection\r\n226 Transfer complete.\r\n";
        let (r, n) = dec(buf).unwrap().unwrap();
        assert_eq!(r, reply(150, "Opening BINARY mode data connection"));
        assert_eq!(n, 41);
        let (r2, n2) = dec(&buf[n..]).unwrap().unwrap();
        assert_eq!(r2, reply(226, "Transfer complete."));
        assert_eq!(n + n2, buf.len());

        let mut buf = BANNER.to_vec();
        buf.extend_from_slice(b"331 User ok\r\n230-");
        let (r, n) = dec(&buf).unwrap().unwrap();
        assert_eq!(r.code, 220);
        assert_eq!(n, BANNER.len());
        let (r, n2) = dec(&buf[n..]).unwrap().unwrap();
        assert_eq!(r, reply(331, "User ok"));
        assert_eq!(dec(&buf[n + n2..]).unwrap(), None);
    }

    #[test]
    fn partial_input_at_every_split() {
        let want = one(BANNER);
        for k in 0..BANNER.len() {
            assert_eq!(dec(&BANNER[..k]).unwrap(), None, "split at {k}");
        }
        assert_eq!(dec(BANNER).unwrap(), Some((want, BANNER.len())));
        let lf = b"230-a\n230-b\nc\n230 d\n";
        for k in 0..lf.len() {
            assert_eq!(dec(&lf[..k]).unwrap(), None, "split at {k}");
        }
    }

    #[test]
    fn bare_lf() {
        assert_eq!(one(b"200 OK\n"), reply(200, "OK"));
        assert_eq!(one(b"220-a\nb\r\n220 c\n"), reply(220, "a\nb\nc"));
    }

    #[test]
    fn empty_text() {
        assert_eq!(one(b"200\r\n"), reply(200, ""));
        assert_eq!(one(b"200 \r\n"), reply(200, ""));
        assert_eq!(one(b"200\n"), reply(200, ""));
        assert_eq!(one(b"220-\r\n220 \r\n"), reply(220, "\n"));
    }

    #[test]
    fn malformed_first_lines() {
        for line in [
            &b"hello\r\n"[..],
            b"2x0 ok\r\n",
            b"99 ok\r\n",
            b"099 ok\r\n",
            b"600 ok\r\n",
            b"999 ok\r\n",
            b"200x\r\n",
            b"200\tok\r\n",
            b"\r\n",
            b"20\r\n",
            b" 200 ok\r\n",
        ] {
            match dec(line) {
                Err(ReplyError::Malformed { .. }) => {}
                other => panic!("{:?} -> {other:?}", String::from_utf8_lossy(line)),
            }
        }
        assert_eq!(
            dec(b"hello\r\n"),
            Err(ReplyError::Malformed {
                line: "hello".into()
            })
        );
        // Rejected before any line end arrives.
        assert!(matches!(
            dec(b"SSH-2.0-OpenSSH_9.6"),
            Err(ReplyError::Malformed { .. })
        ));
        assert!(matches!(dec(b"220x"), Err(ReplyError::Malformed { .. })));
        assert!(matches!(dec(b"6"), Err(ReplyError::Malformed { .. })));
        assert_eq!(dec(b"2").unwrap(), None);
        assert_eq!(dec(b"220\r").unwrap(), None);
        assert_eq!(dec(b"").unwrap(), None);
        // Long garbage is cut to 80 chars in the error.
        let long = vec![b'z'; 500];
        match dec(&long) {
            Err(ReplyError::Malformed { line }) => assert_eq!(line, "z".repeat(80)),
            other => panic!("{other:?}"),
        }
        let mut wide = "\u{e9}".repeat(200).into_bytes();
        wide.extend_from_slice(b"\r\n");
        match dec(&wide) {
            Err(ReplyError::Malformed { line }) => assert_eq!(line.chars().count(), 80),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn oversize_line() {
        let limits = ReplyLimits {
            max_line: 16,
            max_reply: 1000,
        };
        let ok = b"200 0123456789ab\r\n"; // 16 bytes of content
        assert_eq!(decode(ok, &limits).unwrap().unwrap().1, ok.len());
        // Incomplete, with the CR of the line end already in.
        assert_eq!(decode(&ok[..ok.len() - 1], &limits).unwrap(), None);
        let too = b"200 0123456789abc\r\n";
        let err = Err(ReplyError::LineTooLong { limit: 16 });
        assert_eq!(decode(too, &limits), err);
        assert_eq!(decode(&too[..too.len() - 2], &limits), err);
        assert_eq!(decode(b"200 0123456789abc", &limits), err);
        // An intermediate line, complete and not.
        let inner = b"200-x\r\n 0123456789abcdef\r\n200 y\r\n";
        assert_eq!(decode(inner, &limits), err);
        assert_eq!(decode(&inner[..24], &limits), err);
        // A megabyte with no line end errors at once with the default limits.
        let mut big = b"200 ".to_vec();
        big.resize(1 << 20, b'a');
        assert_eq!(dec(&big), Err(ReplyError::LineTooLong { limit: 8192 }));
    }

    /// Found by tests/fuzz (reply::arbitrary_streams_in_pieces): garbage
    /// longer than a line was "line too long" when it came in one read and
    /// "malformed" in small ones; now malformed however it comes.
    #[test]
    fn garbage_is_malformed_whatever_its_length() {
        let l = ReplyLimits {
            max_line: 16,
            max_reply: 32,
        };
        let bad = Err(ReplyError::Malformed {
            line: "SSH-2.0-OpenSSH_9.6 xxxxxxxxxxxx".into(),
        });
        let ssh = b"SSH-2.0-OpenSSH_9.6 xxxxxxxxxxxx";
        assert_eq!(decode(&ssh[..], &l), bad, "no line end, past max_line");
        assert_eq!(
            decode(&ssh[..4], &l),
            Err(ReplyError::Malformed {
                line: "SSH-".into()
            }),
            "its first bytes alone"
        );
        let mut two = ssh.to_vec();
        two.extend_from_slice(b"\r\nmore\r\n");
        assert_eq!(
            decode(&two, &l),
            bad,
            "a whole line past max_reply, then more"
        );
        // A reply's first bytes still give way to the limits.
        assert_eq!(
            decode(b"200 0123456789abcdefghij", &l),
            Err(ReplyError::LineTooLong { limit: 16 })
        );
        assert_eq!(one(b"200\n"), reply(200, ""));
    }

    #[test]
    fn oversize_reply() {
        let limits = ReplyLimits {
            max_line: 100,
            max_reply: 64,
        };
        let mut buf = b"220-start\r\n".to_vec();
        while buf.len() <= 64 {
            buf.extend_from_slice(b"220-more\r\n");
        }
        let err = Err(ReplyError::ReplyTooLarge { limit: 64 });
        // Never completed, yet rejected once past the limit.
        assert_eq!(decode(&buf, &limits), err);
        let mut done = buf.clone();
        done.extend_from_slice(b"220 end\r\n");
        assert_eq!(decode(&done, &limits), err);
        // Exactly at the limit is fine.
        let mut exact = b"220-".to_vec();
        exact.resize(64 - 9, b'x');
        exact.extend_from_slice(b"\r\n220 e\r\n");
        assert_eq!(exact.len(), 64);
        assert_eq!(decode(&exact, &limits).unwrap().unwrap().1, 64);
        // With the default limits an endless stream of short lines stops too.
        let mut endless = b"220-x\r\n".to_vec();
        while endless.len() <= 70_000 {
            endless.extend_from_slice(b"more text\r\n");
        }
        assert_eq!(
            dec(&endless),
            Err(ReplyError::ReplyTooLarge { limit: 65536 })
        );
        // A reply within limits followed by lots of other data is fine.
        let mut after = b"200 ok\r\n".to_vec();
        after.resize(200_000, b'q');
        assert_eq!(dec(&after).unwrap().unwrap().1, 8);
    }

    #[test]
    fn non_utf8_is_lossy() {
        let r = one(b"550 caf\xe9 \xff\r\n");
        assert_eq!(r, reply(550, "caf\u{fffd} \u{fffd}"));
        let r = one(b"250-\xff\r\n\xfe\r\n250 ok \xe2\x82\xac\r\n");
        assert_eq!(r.text, "\u{fffd}\n\u{fffd}\nok \u{20ac}");
    }

    #[test]
    fn pasv_variants() {
        let want = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 117 * 256 + 82);
        for text in [
            "Entering Passive Mode (127,0,0,1,117,82).",
            "Entering Passive Mode (127,0,0,1,117,82)",
            "entering passive mode 127,0,0,1,117,82",
            "ENTERING PASSIVE MODE (127,0,0,1,117,82)",
            "Entering Passive Mode (127, 0, 0, 1, 117, 82)",
            "Entering Passive Mode (127 ,0 , 0,1,\t117,82)",
            "=127,0,0,1,117,82",
            "127,0,0,1,117,82",
            "Entering Passive Mode (127,0,0,1,117,82). Have a nice day 1,2",
            "Mode v2 3,4 (127,0,0,1,117,82)",
        ] {
            assert_eq!(parse_pasv(text), Ok(want), "{text}");
        }
        // The forms seen from real servers.
        let real = [
            (
                "Entering Passive Mode (127,0,0,1,117,82).",
                [127, 0, 0, 1],
                30_034,
            ),
            ("(127,0,0,1,117,55)", [127, 0, 0, 1], 117 * 256 + 55),
            ("(127,0,0,1,170,177).", [127, 0, 0, 1], 170 * 256 + 177),
            (
                "Entering Passive Mode (192,0,2,15,4,1)",
                [192, 0, 2, 15],
                1025,
            ),
        ];
        for (text, ip, port) in real {
            assert_eq!(
                parse_pasv(text),
                Ok(SocketAddrV4::new(ip.into(), port)),
                "{text}"
            );
        }
        assert_eq!(
            parse_pasv("(255,255,255,255,255,255)"),
            Ok(SocketAddrV4::new(Ipv4Addr::BROADCAST, 65535))
        );
        assert_eq!(
            parse_pasv("(0,0,0,0,0,1)"),
            Ok(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 1))
        );
    }

    #[test]
    fn pasv_rejections() {
        for text in [
            "Entering Passive Mode (127,0,0,256,117,82)",
            "Entering Passive Mode (127,0,0,1,117,256)",
            "Entering Passive Mode (127,0,0,1,99999999999999999,82)",
            "Entering Passive Mode (127,0,0,1,117)",
            "Entering Passive Mode (127,0,0,1,117,)",
            "Entering Passive Mode (127.0.0.1,117,82)",
            "Entering Passive Mode (127,0,0,1,0,0)",
            "Entering Passive Mode",
            "",
            ",,,,,",
            "1,2,3,4,5 and 6",
        ] {
            assert_eq!(
                parse_pasv(text),
                Err(ReplyError::BadPasv { text: text.into() }),
                "{text}"
            );
        }
    }

    #[test]
    fn epsv_variants() {
        for (text, port) in [
            ("Entering Extended Passive Mode (|||30007|)", 30007),
            ("Extended Passive mode OK (|||30016|)", 30016),
            ("Entering Extended Passive Mode (|||6446|).", 6446),
            ("(|||1|)", 1),
            ("(|||65535|)", 65535),
            ("(!!!21!)", 21),
            ("(###1234#) trailing words", 1234),
            ("Mode (EPSV) ok (|||30007|)", 30007),
            ("entering extended passive mode (|||00080|)", 80),
        ] {
            assert_eq!(parse_epsv(text), Ok(port), "{text}");
        }
    }

    #[test]
    fn epsv_rejections() {
        for text in [
            "Entering Extended Passive Mode (|||0|)",
            "Entering Extended Passive Mode (|||65536|)",
            "Entering Extended Passive Mode (|||123456|)",
            "Entering Extended Passive Mode (||||)",
            "Entering Extended Passive Mode (|||30007)",
            "Entering Extended Passive Mode (|||30007|",
            "Entering Extended Passive Mode (||30007|)",
            "Entering Extended Passive Mode (|!|30007|)",
            "Entering Extended Passive Mode (|||30007!)",
            "Entering Extended Passive Mode (|||3x007|)",
            "Entering Extended Passive Mode (   30007 )",
            "Entering Extended Passive Mode (11130007|)",
            "Entering Extended Passive Mode |||30007|",
            "Entering Extended Passive Mode",
            "(",
            "",
        ] {
            assert_eq!(
                parse_epsv(text),
                Err(ReplyError::BadEpsv { text: text.into() }),
                "{text}"
            );
        }
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            ReplyError::LineTooLong { limit: 8 }.to_string(),
            "reply line longer than 8 bytes"
        );
        assert_eq!(
            ReplyError::Malformed { line: "x".into() }.to_string(),
            "malformed reply line: \"x\""
        );
        assert_eq!(ReplyLimits::default().max_line, 8192);
        assert_eq!(ReplyLimits::default().max_reply, 65536);
    }

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn below(&mut self, n: u64) -> usize {
            (self.next() % n) as usize
        }
    }

    /// Stands in for a fuzzer: arbitrary bytes, biased towards what makes up
    /// replies, must never panic, and every decoded reply must be consistent.
    #[test]
    fn decode_never_panics_on_arbitrary_bytes() {
        const ALPHABET: &[u8] = b"0122223455 --\r\n\n\r(|,)a\xff\xe9";
        let starts: [&[u8]; 5] = [b"", b"220-", b"220 ", b"2", b"227 (1,2,"];
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut decoded = 0;
        for round in 0..4000 {
            let mut buf = starts[rng.below(starts.len() as u64)].to_vec();
            let len = rng.below(160);
            for _ in 0..len {
                let b = if rng.below(8) == 0 {
                    rng.next() as u8
                } else {
                    ALPHABET[rng.below(ALPHABET.len() as u64)]
                };
                buf.push(b);
            }
            let limits = if round % 3 == 0 {
                ReplyLimits {
                    max_line: rng.below(40),
                    max_reply: rng.below(120),
                }
            } else {
                ReplyLimits::default()
            };
            let text = String::from_utf8_lossy(&buf);
            let _ = parse_pasv(&text);
            let _ = parse_epsv(&text);
            if let Ok(Some((r, n))) = decode(&buf, &limits) {
                decoded += 1;
                assert!(n > 0 && n <= buf.len() && n <= limits.max_reply);
                assert!((100..=599).contains(&r.code));
                assert_eq!(buf[n - 1], b'\n');
                let again = decode(&buf[..n], &limits);
                assert_eq!(again, Ok(Some((r.clone(), n))));
                // No prefix of a valid reply is an error or a reply.
                for k in 0..n {
                    assert_eq!(decode(&buf[..k], &limits), Ok(None), "{buf:?} at {k}");
                }
                let _ = r.to_string();
                let _ = parse_pasv(&r.text);
                let _ = parse_epsv(&r.text);
            }
        }
        assert!(decoded > 100, "only {decoded} buffers decoded");
    }
}
