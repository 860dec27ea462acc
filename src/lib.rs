//! ftpload: a load generator and benchmark harness for FTP servers.
//!
//! The data flows one way: a scenario file and flags are validated once into a
//! [`scenario::Plan`]; the [`driver`] starts virtual clients ([`client`]) that speak
//! FTP through [`proto`]; every phase timing and outcome lands in a per-thread
//! [`metrics::Recorder`]; recorders merge into a [`result::RunResult`], printed by
//! [`summary`] and written as versioned JSON.
//!
//! Errors: the library's are typed (`thiserror`), `anyhow` only at the CLI's
//! edge, which prints an error and its sources once each (`{:#}`). So an
//! error says its cause in its own words only when it wraps an OS or codec
//! error as a leaf (and then does not expose it as `source()`: a
//! [`proto::ProtoError`]'s words are recorded as data, in a result's error
//! samples and the probe's findings); an error that wraps another of ours
//! hands it on as its source and does not repeat it.

pub mod capacity;
pub mod cli;
pub mod client;
pub mod compare;
pub mod diagnosis;
pub mod driver;
pub mod embedded;
pub mod kernel;
pub mod metrics;
pub mod probe;
pub mod proto;
pub mod report;
pub mod result;
pub mod run;
pub mod scenario;
pub mod schedule;
pub mod server;
pub mod summary;
pub mod sys;
pub mod threshold;
