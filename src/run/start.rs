//! Before the load: the run's TLS client, the unmeasured set-up session
//! (the target answers, the credentials work, missing files uploaded), and
//! the hold until `--start-at`. Apart from `mod`, which runs the load and
//! writes its result.

use std::net::SocketAddr;

use super::RunError;
use crate::diagnosis::Cause;
use crate::driver::Cancel;
use crate::embedded::EmbeddedServer;
use crate::metrics::Step;
use crate::proto::data::Channel;
use crate::proto::session;
use crate::proto::tls::{TlsClient, Verify};
use crate::proto::{Command, Mode, ProtoError};
use crate::result;
use crate::scenario::{Plan, ServerWatch};
use crate::server::{find, proc, Watch, Watched};

/// Waits until `at` (or a cancel), in steps of at most 100 ms so Ctrl-C is
/// heard at once; a shard already past it starts at once and says so.
pub(super) fn hold_until(
    at: std::time::SystemTime,
    cancel: &Cancel,
    quiet: bool,
) -> result::StartAt {
    let requested = humantime::format_rfc3339_millis(at).to_string();
    let late = std::time::SystemTime::now() > at;
    if late {
        eprintln!("--start-at {requested} had passed when this run was ready: starting at once (counted late)");
    } else if !quiet {
        eprintln!("holding the load until {requested} (--start-at)");
    }
    // Bounded: MAX_HOLD (24 h) at 100 ms a step.
    while !cancel.is_cancelled() {
        let Ok(left) = at.duration_since(std::time::SystemTime::now()) else {
            break;
        };
        std::thread::sleep(left.min(std::time::Duration::from_millis(100)));
    }
    let skew_ms = match std::time::SystemTime::now().duration_since(at) {
        Ok(after) => after.as_secs_f64() * 1e3,
        Err(before) => -before.duration().as_secs_f64() * 1e3,
    };
    result::StartAt {
        requested,
        skew_ms_min: skew_ms,
        skew_ms_max: skew_ms,
        late: u64::from(late),
        shards: 1,
    }
}

/// The run's TLS client, if it speaks FTPS: trusting the embedded target's
/// certificate, made as it started, or as the plan says.
pub(super) fn tls_client(
    plan: &Plan,
    embedded: Option<&EmbeddedServer>,
) -> Result<Option<TlsClient>, RunError> {
    let Some(settings) = &plan.tls else {
        return Ok(None);
    };
    let mut settings = settings.clone();
    if let (Verify::Trust(certs), Some(e)) = (&mut settings.verify, embedded) {
        certs.extend(e.certificate().cloned());
    }
    Ok(Some(TlsClient::new(&settings)?))
}

pub(super) fn set_up(
    plan: &Plan,
    addr: SocketAddr,
    tls: Option<&TlsClient>,
    external: bool,
) -> Result<String, RunError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    rt.block_on(async {
        let (user, password) = plan.target.credentials();
        let unreachable = |error| RunError::Unreachable { addr, error };
        // From the first source address, as the load will: a server that
        // admits only those is checked as it will be used.
        let from = plan.source_ips.as_ref().map(|s| s.for_client(0));
        let dial = session::Dial {
            addr,
            from,
            timeouts: plan.timeouts,
            tls,
        };
        let opened = session::open(dial, user, password).await.map_err(|error| match &error {
            ProtoError::Unexpected { reply, .. }
                if Cause::of(None, &error.class(), &reply.text) == Cause::LoginRefused =>
            {
                RunError::LoginRefused {
                    addr,
                    user: user.to_string(),
                    reply: reply.to_string(),
                }
            }
            _ => unreachable(error),
        })?;
        let (mut c, banner) = (opened.ctrl, opened.banner);
        c.expect(&Command::TypeImage, Step::Command, 2)
            .await
            .map_err(unreachable)?;
        if external {
            let setup = |message: String| RunError::Setup { addr, message };
            for (name, size) in &plan.files {
                let r = c
                    .command(&Command::Size(name), Step::Command)
                    .await
                    .map_err(|e| setup(e.to_string()))?;
                if r.code == 213 && r.text.trim().parse::<u64>().ok() == Some(*size) {
                    continue;
                }
                Channel::new(Mode::Passive, &plan.data, &())
                    .transfer(&mut c, Command::Stor(name), Some(*size))
                    .await
                .map_err(|e| setup(format!("uploading {name} ({size} bytes): {e}")))?;
            }
            for g in &plan.groups {
                let mixed = g.mix.iter().flat_map(|m| m.choices.iter().map(|(o, _)| o));
                for op in g.ops.iter().chain(mixed) {
                    for name in op.files_read() {
                        if plan.files.contains_key(name) {
                            continue;
                        }
                        let r = c
                            .command(&Command::Size(name), Step::Command)
                            .await
                            .map_err(|e| setup(e.to_string()))?;
                        if r.code != 213 {
                            return Err(setup(format!(
                                "group {}: {name:?} is missing on the target ({r}); declare it in [files] to have it uploaded",
                                g.name
                            )));
                        }
                    }
                }
            }
        }
        // A goodbye the server fumbles says nothing about the run to come.
        let _ = c.quit().await;
        Ok(banner.first_line().to_string())
    })
}

/// Starts watching the server, as the plan says: `--server-pid` or
/// `--server-metrics` (an error if they cannot be read now); by default the
/// embedded target's threads, or the local process listening on the
/// target's port (nothing, said nowhere, when none is found: a remote
/// target, another network namespace).
pub(super) fn watch_server(
    plan: &Plan,
    addr: SocketAddr,
    embedded: bool,
) -> Result<Option<Watch>, RunError> {
    let what = match &plan.server_watch {
        ServerWatch::Off => None,
        ServerWatch::Pid(pid) => Some(Watched::Process {
            pid: *pid,
            name: proc::name(*pid),
        }),
        ServerWatch::Exporter(url) => Some(Watched::Exporter { url: url.clone() }),
        ServerWatch::Auto if embedded => Some(Watched::Threads {
            prefix: crate::embedded::THREAD_NAME_PREFIX,
        }),
        ServerWatch::Auto => crate::kernel::is_local(addr.ip())
            .then(|| find::listener(addr))
            .flatten()
            .map(|pid| Watched::Process {
                pid,
                name: proc::name(pid),
            }),
    };
    let Some(what) = what else {
        return Ok(None);
    };
    match Watch::start(what) {
        Ok(w) => Ok(Some(w)),
        // Found by itself, gone or unreadable: the run goes on unwatched.
        Err(_) if plan.server_watch == ServerWatch::Auto => Ok(None),
        Err(e) => Err(e.into()),
    }
}
