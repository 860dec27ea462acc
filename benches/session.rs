//! One whole session per transfer mode against the embedded target: connect,
//! banner, login, TYPE I, a data channel in the mode, RETR of 1 KiB, QUIT.
//! Each mode's cost is then a tracked benchmark of its own, so a change that
//! makes one mode's set-up slower shows up as that mode's regression, not as
//! noise in a load run.
//!
//! The client and the target share this machine, so a figure is the cost of
//! both ends over loopback, not of a server alone; what the group is for is
//! the modes against each other and against their own history.
//!
//! EPRT is left out: the embedded target (libunftp) does not implement it and
//! answers `500` (the embedded module's `eprt_is_not_implemented` test records
//! this), so there is no EPRT session to measure.
//!
//! Criterion runs as many sessions as fit in the measurement time: here some
//! 10,000 per mode, each leaving its control and data connections in
//! TIME_WAIT on loopback for a minute. That stays clear of the port ranges,
//! but it is why the sample size and measurement time are small and fixed;
//! raising them, or running the bench in a tight loop, piles up more.

use std::net::SocketAddr;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ftpload::embedded::{EmbeddedConfig, EmbeddedServer};
use ftpload::proto::data::Channel;
use ftpload::proto::{Command, Control, DataOptions, Mode, ProtoError, Step, Timeouts};

const FILE: &str = "1k.bin";
const SIZE: u64 = 1024;

/// The modes the embedded target serves (all but EPRT, see above).
const MODES: [Mode; 3] = [Mode::Passive, Mode::Epsv, Mode::Active];

/// One session, start to goodbye.
async fn one_session(addr: SocketAddr, mode: Mode, opts: &DataOptions) -> Result<(), ProtoError> {
    let user = EmbeddedConfig::default().user;
    let password = EmbeddedConfig::default().password;
    let mut c = Control::connect(addr, Timeouts::default()).await?;
    c.banner().await?;
    c.login(&user, &password).await?;
    c.expect(&Command::TypeImage, Step::Command, 2).await?;
    let got = Channel::new(mode, opts, &())
        .transfer(&mut c, Command::Retr(FILE), None)
        .await?;
    assert_eq!(got.bytes, SIZE, "{mode}: RETR {FILE} moved the wrong count");
    c.quit().await
}

fn session(c: &mut Criterion) {
    let server = EmbeddedServer::start(EmbeddedConfig {
        files: vec![(FILE.to_string(), SIZE)],
        ..EmbeddedConfig::default()
    })
    .expect("start the embedded target");
    let addr = server.addr();
    let opts = DataOptions::default();
    // The client's side: one thread, as one virtual client sees it. The
    // target runs on a runtime and threads of its own.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build the client's runtime");

    let mut g = c.benchmark_group("session");
    for mode in MODES {
        // Fail once, clearly, rather than inside criterion's loop.
        if let Err(e) = rt.block_on(one_session(addr, mode, &opts)) {
            panic!("{mode}: a session against the embedded target failed: {e}");
        }
        g.bench_function(mode.as_str(), |b| {
            b.iter(|| {
                rt.block_on(one_session(addr, mode, &opts))
                    .unwrap_or_else(|e| panic!("{mode}: {e}"))
            })
        });
    }
    g.finish();
    server.stop();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    targets = session
}
criterion_main!(benches);
