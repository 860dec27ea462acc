//! What the tests share, so each area's file holds only its own checks.
//!
//! - `harness`: runs a scenario through the library, as `ftpload run` does,
//!   and reads back the result file it wrote.
//! - `common`: things outside this crate (the pyftpdlib fixture, Python's HDR
//!   decoder, test files) and child processes waited on with a time limit.
//! - `faults`: the fault server of `tests/faults/`, one fault per session
//!   after a clean first one (bare LF, 10 MB replies, drips, wrong codes and
//!   421s at each step, resets, stalls, impossible passive ports).
//! - `misbehaving`: a small FTP server with the faults no real server
//!   produces on demand.
//! - `schema`: docs/result-schema.md's field lists and the checks that hold
//!   a result, or a merge, to them.
//! - `sources`: the runs over 8 source addresses and the check of their
//!   per-address counts (tests/sources.rs, and vsftpd in tests/interop.rs).
//! - `tmpfs`: a small tmpfs mounted for a test (read-only, or filled up),
//!   unmounted by its guard.
//!
//! `netns.rs` (firewalled topologies in network namespaces) sits here too but
//! is not declared below: only the `netns` binary (tests/netns.rs) uses it.
//! The `interop`, `exhaustion` and `netns` binaries include the helpers they
//! need one by one with `#[path]`.

pub mod common;
pub mod faults;
pub mod harness;
pub mod misbehaving;
pub mod schema;
pub mod sources;
pub mod tmpfs;
