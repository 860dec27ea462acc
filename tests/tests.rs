//! The integration tests: one test binary (`cargo test --test integration`),
//! one module per area, so the crate and its helpers compile once rather
//! than once per file. Run one area with a filter on the module path, e.g.
//! `cargo test --test integration cli::` or `cargo test --test integration
//! result::`.
//!
//! - `cli`, `capacity`, `probe`: the binary as a user runs it (exit codes,
//!   messages, `ftpload capacity`, `ftpload probe`).
//! - `compare`: `ftpload compare` over real runs, one slowed on purpose.
//! - `ci_doc`: the CI job of docs/ci.md, run as written.
//! - `cli_doc`: docs/cli.md names every subcommand and flag of clap's
//!   command tree; the README stays a front page.
//! - `embedded`, `pyftpdlib`: every mode end to end, against the embedded
//!   target and against pyftpdlib (which has EPRT).
//! - `ftps`: FTPS against the embedded target: every mode, handshakes
//!   counted, resumption, `PROT C`, certificates checked.
//! - `ipv6`: EPSV over ::1 against the embedded target, plain and FTPS.
//! - `workload`, `think`, `bandwidth`, `open_loop`: workload models, think
//!   time, bandwidth caps and the open-loop executor.
//! - `errors`: each failing command prints its cause once.
//! - `output`: every output path checked before the work, and a disk full at
//!   the end met with a named fallback file.
//! - `bad_input`: every kind of malformed input, one table of cases: its
//!   message, located, and its exit code, as docs/cli.md lists them.
//! - `export_csv`: `--csv DIR` of `run` and `report`, its files against the
//!   result.
//! - `thresholds`: `[thresholds]` and `--threshold` (exit 99, the result's
//!   outcomes, `--junit`), refused before a run when wrong (exit 2).
//! - `kubernetes`: deploy/kubernetes parsed and checked, as no cluster runs
//!   here: the Indexed Job's counts, mounts, Secret and scenario against
//!   each other and the crate, the flags against `--help`, apply.sh's
//!   rendering.
//! - `layers`: no module of `src/` uses one above it; the README's layout
//!   table names every module.
//! - `hostile`: faults from a misbehaving server end in classified errors.
//! - `secrets`: the password, given each of the three ways, in no output
//!   of any command.
//! - `faults`: the fault server (tests/util/faults.rs), one fault per test,
//!   each through the binary: the exact class, the run going on, bounded
//!   time and memory, the result written.
//! - `server_cost`: what the server pays (`server`), against pyftpdlib's
//!   CPU read from outside, the embedded target's threads, `--server-pid`.
//! - `shards`: `--shard I/N` slices of a run, together the one run.
//! - `signals`: SIGTERM stops `run`, `capacity` and `serve` as Ctrl-C does.
//! - `sources`: `--source-ips`, clients spread over source addresses k mod
//!   n, as the server sees them and as the result counts them.
//! - `result`: the result file against docs/result-schema.md (`schema`,
//!   `open_loop`, `errors`, `file`) and merging (`merge`).
//! - `report_html`: the HTML report rendered by headless Chromium, every
//!   chart checked to be drawn.
//! - `pyftpd_fixture`: the test support itself (the pyftpdlib fixture,
//!   Python's HDR decoder).
//! - `util`: the helpers these share.
//!
//! Real servers, exhaustion, firewalled topologies and a Slurm job array are
//! four binaries of their own with their own small harness
//! (tests/interop.rs, tests/exhaustion.rs, tests/netns.rs,
//! tests/cluster.rs; see Cargo.toml), so that what they skip is printed
//! rather than captured.
//!
//! A new area is one more `mod` line below and a file (or folder) of that
//! name beside this one.

mod util;

mod bad_input;
mod bandwidth;
mod capacity;
mod ci_doc;
mod cli;
mod cli_doc;
mod compare;
mod embedded;
mod errors;
mod export_csv;
mod faults;
mod ftps;
mod hostile;
mod ipv6;
mod kubernetes;
mod layers;
mod open_loop;
mod output;
mod probe;
mod pyftpd_fixture;
mod pyftpdlib;
mod report_html;
mod result;
mod secrets;
mod server_cost;
mod shards;
mod signals;
mod sources;
mod think;
mod thresholds;
mod workload;
