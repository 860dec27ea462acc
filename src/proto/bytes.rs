//! Moving a data channel's bytes: reading a download to its end, writing an
//! upload and its FIN, each step under the idle timeout, and at a capped
//! rate when the group has a bandwidth (a user on a slow line). Apart from
//! negotiating the channel ([`super::data`]), which differs by mode; this
//! does not.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::control::timed;
use super::error::{ProtoError, Step};
use super::tls::Stream;

/// Holds a transfer at or under a byte rate, as a user on a slow line would:
/// after each chunk it waits until the bytes so far are due. A token bucket
/// one small chunk deep, so the rate holds over any stretch of the transfer.
struct Pacer {
    bytes_per_s: Option<f64>,
    /// tokio's clock, not std's: the same as std's in a run, and one a test
    /// can pause, so the schedule is checked without a wall clock.
    start: Option<tokio::time::Instant>,
}

impl Pacer {
    fn new(bytes_per_s: Option<u64>) -> Pacer {
        Pacer {
            bytes_per_s: bytes_per_s.filter(|r| *r > 0).map(|r| r as f64),
            start: None,
        }
    }

    /// The chunk to move at once: about 50 ms worth at the rate.
    fn chunk(&self, max: usize) -> usize {
        match self.bytes_per_s {
            Some(r) => ((r / 20.0) as usize).clamp(512, max),
            None => max,
        }
    }

    /// Waits until `total` bytes since the first are due.
    async fn pace(&mut self, total: u64) {
        let Some(r) = self.bytes_per_s else { return };
        let start = *self.start.get_or_insert_with(tokio::time::Instant::now);
        let due = start + Duration::from_secs_f64(total as f64 / r);
        tokio::time::sleep_until(due).await;
    }
}

/// The most a download reads at once. A 1 GiB RETR on loopback read 32 KiB
/// at a time made 32,796 reads and cost 1.13x curl's CPU per GiB; the
/// kernel hands over what its receive buffer holds, often more.
const READ_CHUNK: usize = 256 * 1024;

/// What a download read, and when.
pub(super) struct Downloaded {
    pub bytes: u64,
    pub first: Option<Instant>,
    pub done: Instant,
    /// TLS: the channel closed without a close_notify.
    pub unclean: bool,
}

/// Reads to end of file, then closes at once: proftpd holds its 226 back about
/// 10 s until the client closes its end.
pub(super) async fn download(
    mut s: Stream,
    idle: Duration,
    rate: Option<u64>,
) -> Result<Downloaded, ProtoError> {
    let mut pacer = Pacer::new(rate);
    // Capacity only: `read_buf` fills spare capacity, so the buffer is never
    // zeroed, and a small file touches no more of it than its size.
    let mut buf = Vec::with_capacity(pacer.chunk(READ_CHUNK));
    let mut bytes = 0u64;
    let mut first = None;
    let mut unclean = false;
    loop {
        buf.clear();
        let n = timed(Step::Transfer, idle, async {
            match s.read_buf(&mut buf).await {
                // rustls' word for a TCP close with no close_notify; plain
                // TCP reads 0 instead. The 226 still says whether all came.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    unclean = true;
                    Ok(0)
                }
                r => r.map_err(|e| ProtoError::io(Step::Transfer, e)),
            }
        })
        .await?;
        if n == 0 {
            break;
        }
        first.get_or_insert_with(Instant::now);
        pacer.start.get_or_insert_with(tokio::time::Instant::now);
        bytes += n as u64;
        pacer.pace(bytes).await;
    }
    let done = Instant::now();
    drop(s);
    Ok(Downloaded {
        bytes,
        first,
        done,
        unclean,
    })
}

/// After an upload's 226: what the server sent since (a TLS close_notify)
/// is read, with one poll and no wait, before the close. Closed with it
/// unread, the socket would answer with a reset: one per FTPS upload in
/// the kernel's counters, where a run looks for trouble.
pub(super) async fn close_after_upload(mut s: Stream) {
    let mut sink = [0u8; 256];
    let _ = tokio::time::timeout(Duration::ZERO, s.read(&mut sink)).await;
}

/// The bytes uploaded: content does not matter to an FTP server, only the count.
static UPLOAD_CHUNK: [u8; 32 * 1024] = [0x5a; 32 * 1024];

pub(super) async fn upload_bytes(
    s: &mut Stream,
    n: u64,
    idle: Duration,
    rate: Option<u64>,
) -> Result<Instant, ProtoError> {
    let mut pacer = Pacer::new(rate);
    let chunk = pacer.chunk(UPLOAD_CHUNK.len());
    let mut sent = 0;
    while sent < n {
        let k = (n - sent).min(chunk as u64) as usize;
        pacer.start.get_or_insert_with(tokio::time::Instant::now);
        timed(Step::Transfer, idle, async {
            s.write_all(&UPLOAD_CHUNK[..k])
                .await
                .map_err(|e| ProtoError::io(Step::Transfer, e))
        })
        .await?;
        sent += k as u64;
        pacer.pace(sent).await;
    }
    // The FIN (after a close_notify, on TLS) is what tells the server the
    // file is complete.
    timed(Step::Transfer, idle, async {
        s.shutdown()
            .await
            .map_err(|e| ProtoError::io(Step::Transfer, e))
    })
    .await?;
    Ok(Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pacer's schedule on a paused clock: every chunk waits until its
    /// bytes are due at the rate, and not a millisecond (tokio's timer
    /// granularity) longer, so a capped transfer moves at its cap. The
    /// integration test can only check the side a wall clock cannot break:
    /// never faster than the cap.
    #[tokio::test(start_paused = true)]
    async fn the_pacer_holds_each_chunk_until_it_is_due_and_no_longer() {
        let rate = 1_000_000u64;
        let mut p = Pacer::new(Some(rate));
        let chunk = p.chunk(32 * 1024) as u64;
        assert_eq!(chunk, 32 * 1024, "50 ms at 1 MB/s, capped at the buffer");
        let t0 = tokio::time::Instant::now();
        p.start = Some(t0);
        let mut total = 0;
        while total < 1 << 20 {
            total += chunk;
            p.pace(total).await;
            let due = Duration::from_secs_f64(total as f64 / rate as f64);
            let took = t0.elapsed();
            assert!(took >= due, "{total} B after {took:?}, due at {due:?}");
            assert!(
                took <= due + Duration::from_millis(1),
                "{total} B: {took:?}"
            );
        }
    }

    /// Slow rates move small chunks (about 50 ms worth), never below 512 B;
    /// no rate moves the whole buffer without waiting.
    #[tokio::test(start_paused = true)]
    async fn chunks_follow_the_rate_and_no_rate_never_waits() {
        assert_eq!(Pacer::new(Some(20_000)).chunk(32 * 1024), 1000);
        assert_eq!(Pacer::new(Some(100)).chunk(32 * 1024), 512);
        let mut free = Pacer::new(None);
        assert_eq!(free.chunk(32 * 1024), 32 * 1024);
        let t0 = tokio::time::Instant::now();
        free.pace(1 << 30).await;
        assert_eq!(t0.elapsed(), Duration::ZERO);
    }
}
