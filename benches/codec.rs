//! Hot-path costs of the client itself, so a load run can tell whether the
//! numbers it reports are the server's or the load generator's: decoding a
//! control reply and recording a latency must stay far below what a server
//! can push at one core.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ftpload::proto::reply::{decode, parse_epsv, parse_pasv, ReplyLimits};
use hdrhistogram::Histogram;

/// The replies that dominate a transfer-heavy run, in the order a server sends them.
const MIX: [&[u8]; 4] = [
    b"226 Transfer complete.\r\n",
    b"150 Opening BINARY mode data connection for 1m.bin (1048576 bytes)\r\n",
    b"227 Entering Passive Mode (127,0,0,1,117,82).\r\n",
    b"226-File successfully transferred\r\n226 0.002 seconds (measured here), 603.15 Mbytes per second\r\n",
];

fn reply(c: &mut Criterion) {
    let limits = ReplyLimits::default();
    let mut g = c.benchmark_group("reply");
    g.throughput(Throughput::Elements(1));

    g.bench_function("decode_single", |b| {
        let buf = MIX[0];
        b.iter(|| decode(black_box(buf), black_box(&limits)))
    });

    g.bench_function("decode_mix", |b| {
        let mut i = 0usize;
        b.iter(|| {
            let buf = MIX[i & 3];
            i = i.wrapping_add(1);
            decode(black_box(buf), black_box(&limits))
        })
    });

    g.bench_function("parse_pasv", |b| {
        b.iter(|| parse_pasv(black_box("Entering Passive Mode (127,0,0,1,117,82).")))
    });

    g.bench_function("parse_epsv", |b| {
        b.iter(|| parse_epsv(black_box("Entering Extended Passive Mode (|||30007|)")))
    });
    g.finish();
}

fn hdr(c: &mut Criterion) {
    let mut g = c.benchmark_group("hdr");
    g.throughput(Throughput::Elements(1));
    g.bench_function("record", |b| {
        // Same bounds as a run's latency histograms: 1 µs to one hour, 3 digits.
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        b.iter(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = 1 + x % (3_600_000_000 - 1);
            h.record(black_box(v)).unwrap();
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    targets = reply, hdr
}
criterion_main!(benches);
