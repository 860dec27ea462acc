//! What counting TIME_WAIT costs the generator, with the table full: the
//! per-second read (`/proc/net/sockstat`'s counter), the end-of-run exact
//! count toward the target (netlink `sock_diag`, filtered in the kernel), and
//! what the sampler did before (walking `/proc/net/tcp`, copied here as the
//! baseline). Before measuring it leaves `FTPLOAD_BENCH_TIME_WAIT` (default
//! 60,000) sockets in TIME_WAIT on loopback toward 127.0.0.1, so the kernel's
//! table holds what a run at 1,000 sessions/s leaves behind.
//!
//! `cargo bench --bench time_wait`. The sockets expire after a minute.

use std::hint::black_box;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

/// The sampler's read before schema 4: every TIME_WAIT line of
/// `/proc/net/tcp` with the address at either end.
fn proc_net_tcp(target: Ipv4Addr) -> u64 {
    let hex = format!("{:08X}", u32::from_le_bytes(target.octets()));
    let text = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().take(4).collect();
            f.len() == 4 && f[3] == "06" && (f[1].starts_with(&hex) || f[2].starts_with(&hex))
        })
        .count() as u64
}

/// Leaves about `n` client ends in TIME_WAIT toward 127.0.0.1 (the client
/// closes first), over several listeners so no one port pair runs out of
/// ephemeral ports. Bounded by count and by 120 s.
fn fill(n: u64) -> u64 {
    let listeners: Vec<TcpListener> = (0..6)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut made = 0;
    'fill: while made < n {
        for l in &listeners {
            if made >= n || Instant::now() > deadline {
                break 'fill;
            }
            let Ok(c) = TcpStream::connect(l.local_addr().unwrap()) else {
                break 'fill;
            };
            let (mut s, _) = l.accept().unwrap();
            drop(c);
            let _ = s.read(&mut [0u8; 1]);
            made += 1;
        }
    }
    made
}

fn time_wait(c: &mut Criterion) {
    let want = std::env::var("FTPLOAD_BENCH_TIME_WAIT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60_000);
    let made = fill(want);
    let lo = Ipv4Addr::LOCALHOST;
    eprintln!(
        "time_wait: made {made} connections; TIME_WAIT now: {} in the namespace, {} toward 127.0.0.1 (sock_diag), {} (/proc/net/tcp)",
        ftpload::kernel::time_wait_here().unwrap_or(0),
        ftpload::kernel::diag::time_wait(IpAddr::V4(lo)).unwrap(),
        proc_net_tcp(lo),
    );
    let mut g = c.benchmark_group("time_wait");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.bench_function("sockstat_per_second", |b| {
        b.iter(ftpload::kernel::time_wait_here)
    });
    g.bench_function("sock_diag_toward_target", |b| {
        b.iter(|| ftpload::kernel::diag::time_wait(black_box(IpAddr::V4(lo))))
    });
    g.bench_function("proc_net_tcp_before", |b| {
        b.iter(|| proc_net_tcp(black_box(lo)))
    });
    g.finish();
}

criterion_group!(benches, time_wait);
criterion_main!(benches);
