//! ftpload: a load generator and benchmark harness for FTP servers.
//!
//! The data flows one way: a scenario file and flags are validated once into a
//! [`scenario::Plan`]; the [`driver`] starts virtual clients ([`client`]) that speak
//! FTP through [`proto`]; every phase timing and outcome lands in a per-thread
//! [`metrics::Recorder`]; recorders merge into a [`result::RunResult`], printed by
//! [`summary`] and written as versioned JSON.

pub mod capacity;
pub mod cli;
pub mod client;
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
pub mod summary;
pub mod sys;
