//! What a person sees: a live progress line during the run ([`progress`]),
//! and afterwards the summary: a table with one column per mode and each
//! mode's overhead against passive ([`table`]), one line per mode on its
//! data channels ([`channels`]), per-group and per-stage tables, the
//! source addresses in a few lines ([`sources`]), what the server paid
//! ([`server`]), a merged run's shards
//! one line each ([`shards`]), and the
//! notes under them ([`notes`]). Numbers are written by [`format`], which
//! the report and capacity's table use too.

pub mod channels;
pub mod format;
mod groups;
mod notes;
pub mod progress;
mod server;
mod shards;
mod sources;
pub mod stages;
mod table;

use std::fmt::Write as _;

pub use progress::Progress;

use crate::result::RunResult;

/// The end-of-run summary of a result.
pub fn render(r: &RunResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nftpload {} — {} target {}:{} — {:.1}s{}",
        r.scenario_name,
        r.target.kind,
        r.target.host,
        r.target.port,
        r.duration_s,
        if r.interrupted {
            " (INTERRUPTED: partial numbers)"
        } else {
            ""
        }
    );
    if r.modes.is_empty() {
        out.push_str("nothing was measured\n");
        return out;
    }
    // The rates the README's first sentence promises, for the whole run.
    let (mut sessions, mut logins, mut transfers, mut iterations) = (0, 0, 0, 0);
    for m in r.modes.values() {
        let c = &m.counters;
        sessions += c.sessions + c.sessions_failed;
        logins += c.sessions;
        transfers += c.transfers;
        iterations += c.iterations + c.iterations_failed;
    }
    let per_s = |n: u64| n as f64 / r.duration_s.max(1e-3);
    let _ = writeln!(
        out,
        "{:.1} sessions/s ({:.1} logins/s), {:.1} transfers/s, {:.1} iterations/s, {} errors",
        per_s(sessions),
        per_s(logins),
        per_s(transfers),
        per_s(iterations),
        r.error_count()
    );
    out.push('\n');
    out.push_str(&table::render(r));
    out.push_str(&channels::render(r));
    out.push_str(&groups::render(r));
    out.push_str(&sources::render(&r.sources));
    out.push_str(&stages::render(r, false));
    out.push_str(&server::render(r.server.as_ref()));
    out.push_str(&shards::render(&r.shards));
    out.push_str(&notes::render(r));
    out
}
