//! `ftpload run --local-shards N`: the run as N shard processes on this
//! machine, merged exactly into one result. One process may open 20,000
//! files here, so past about 19,000 sockets at once a run needs several.
//! Each shard is this same binary run again with the same arguments and
//! `--shard I/N` (see `scenario::Shard`): nothing here assumes more than
//! processes and files, so shards on other machines merge the same way.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use super::run::{finish, RunArgs};
use super::signal::Signals;
use crate::result::{write, RunResult};
use crate::run::{Finished, Status};
use crate::scenario::Plan;
use crate::threshold::{self, Threshold};

/// The flags the parent keeps for itself: where the merged outputs go and
/// the progress line. Each shard writes its own result where the parent
/// says, quietly.
const PARENT_ONLY: [&str; 7] = [
    "--local-shards",
    "--out",
    "--out-dir",
    "--junit",
    "--csv",
    "--threshold",
    // Passed on as the instant it names (a +30s taken by each shard alone
    // would be thirty seconds after each one's own start).
    "--start-at",
];

/// This process's arguments for shard `i` of `n`.
fn shard_args(i: u32, n: u32, out: &Path, start_at: Option<std::time::SystemTime>) -> Vec<String> {
    let mut args = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let name = arg.split('=').next().unwrap_or_default();
        if PARENT_ONLY.contains(&name) {
            if !arg.contains('=') {
                it.next(); // its value
            }
            continue;
        }
        if arg == "-q" || arg == "--quiet" {
            continue;
        }
        args.push(arg);
    }
    if let Some(t) = start_at {
        args.extend([
            "--start-at".into(),
            humantime::format_rfc3339_nanos(t).to_string(),
        ]);
    }
    args.extend([
        "--shard".into(),
        format!("{i}/{n}"),
        "--out".into(),
        out.display().to_string(),
        "--quiet".into(),
    ]);
    args
}

/// Runs the N shards, waits for them (passing a signal on as SIGTERM), and
/// finishes with their merged result as one run does.
pub(super) fn run(
    n: u32,
    plan: &Plan,
    thresholds: &[Threshold],
    a: &RunArgs,
    signals: &Signals,
) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe()?;
    let dir = std::env::temp_dir().join(format!("ftpload-{}-shards", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let outs: Vec<PathBuf> = (1..=n)
        .map(|i| dir.join(format!("shard-{i}.json")))
        .collect();
    let mut children = Vec::new();
    for (i, out) in (1..=n).zip(&outs) {
        let child = Command::new(&exe)
            .args(shard_args(i, n, out, plan.start_at))
            .stdout(Stdio::null())
            .spawn()?;
        children.push(child);
    }
    if !a.quiet {
        eprintln!("{n} shards running (results in {})", dir.display());
    }
    let codes = wait_all(&mut children, signals);
    let mut runs = Vec::new();
    for ((i, out), code) in (1..=n).zip(&outs).zip(&codes) {
        match RunResult::read(out) {
            Ok(r) => runs.push((out.display().to_string(), r)),
            Err(e) => anyhow::bail!(
                "shard {i}/{n} wrote no result (exit {code:?}): {e}; the others are in {}",
                dir.display()
            ),
        }
    }
    let mut merged = crate::report::merge(runs)?.expect("at least one shard");
    crate::compare::as_whole_run(&mut merged);
    merged.thresholds = threshold::evaluate(thresholds, &merged);
    let wanted = a
        .out
        .clone()
        .unwrap_or_else(|| crate::result::default_path(&plan.name, std::time::SystemTime::now()));
    let saved = write::or_fallback(&wanted, |p| merged.write_atomic(p))?;
    let status = Status::of(&merged);
    // Merged and written: the shards' own files are in it.
    if saved.failed.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let f = Finished {
        result: merged,
        path: saved.path,
        write_error: saved.failed,
        status,
    };
    finish(f, a, signals)
}

/// Waits for every child; on a signal, asks each to stop (SIGTERM: it
/// writes its partial result). Bounded: a child that outlives its stop by a
/// minute is killed.
fn wait_all(children: &mut [Child], signals: &Signals) -> Vec<Option<i32>> {
    let cancel = signals.cancel();
    let mut stopped_at = None;
    let mut codes = vec![None; children.len()];
    let mut done = vec![false; children.len()];
    while done.iter().any(|d| !d) {
        for (k, c) in children.iter_mut().enumerate() {
            if !done[k] {
                if let Ok(Some(status)) = c.try_wait() {
                    codes[k] = status.code();
                    done[k] = true;
                }
            }
        }
        if cancel.is_cancelled() && stopped_at.is_none() {
            stopped_at = Some(std::time::Instant::now());
            for (k, c) in children.iter().enumerate() {
                if !done[k] {
                    // SAFETY: a signal to our own child.
                    unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
                }
            }
        }
        if stopped_at.is_some_and(|t| t.elapsed() > Duration::from_secs(60)) {
            for (k, c) in children.iter_mut().enumerate() {
                if !done[k] {
                    let _ = c.kill();
                    codes[k] = c.wait().ok().and_then(|s| s.code());
                    done[k] = true;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    codes
}
