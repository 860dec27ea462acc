//! The validated plan: what a run does, in types that need no further
//! checking. Built from the scenario file and flags by [`Plan::parse`].

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::{load, think, Op, SessionModel};
use crate::proto::PortRange;
use crate::proto::{DataOptions, Mode, Timeouts};

/// The embedded target's user and password when no target is given.
pub const EMBEDDED_USER: &str = "ftpload";
pub const EMBEDDED_PASSWORD: &str = "ftpload";

/// Command-line choices that override the scenario file. `Debug` shows
/// neither the password nor one in the target URL.
#[derive(Clone, Default)]
pub struct Overrides {
    pub target: Option<String>,
    pub password: Option<String>,
    /// Every group uses these modes, in equal shares (empty: as the file says).
    pub modes: Vec<Mode>,
    pub users: Option<u32>,
    pub duration: Option<Duration>,
    pub iterations: Option<u64>,
    pub ramp_up: Option<Duration>,
    pub workers: Option<usize>,
    pub follow_pasv_address: bool,
    pub active_ports: Option<PortRange>,
    /// The target's passive range, declared (see [`Plan::declared_passive`]).
    pub passive_range: Option<PortRange>,
    /// Open loop at this many arrivals per second.
    pub rate: Option<f64>,
    pub seed: Option<u64>,
    /// `--shard I/N`.
    pub shard: Option<super::Shard>,
    /// `--start-at`: the load starts at this instant, not at once.
    pub start_at: Option<std::time::SystemTime>,
    /// `--source-ips`, parsed and checked to be local.
    pub source_ips: Option<super::SourceIps>,
    /// `--ca-file`: the certificates FTPS servers are checked against.
    pub ca_file: Option<PathBuf>,
    /// `--insecure`: FTPS without checking the server's certificate.
    pub insecure: bool,
    /// `--server-pid`, `--server-metrics`, `--no-server-watch`.
    pub server_watch: ServerWatch,
}

/// What of the server a run watches for its cost (CPU, memory, processes,
/// descriptors). Not in the result's `scenario`: its `server` says what
/// was watched, and shards on several machines differ here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ServerWatch {
    /// The embedded target's threads, or the local process listening on
    /// the target's port, if there is one; else nothing.
    #[default]
    Auto,
    /// This process and its descendants (`--server-pid`).
    Pid(i32),
    /// A Prometheus exporter's URL (`--server-metrics`), checked.
    Exporter(String),
    /// Nothing (`--no-server-watch`).
    Off,
}

/// When a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    #[serde(serialize_with = "ser_duration")]
    Duration(Duration),
    /// Total iterations over all virtual clients, handed out as they finish.
    Iterations(u64),
}

fn ser_opt_duration<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ser_duration(d, s),
        None => s.serialize_none(),
    }
}

fn ser_opt_instant<S: serde::Serializer>(
    t: &Option<std::time::SystemTime>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.collect_str(&humantime::format_rfc3339_millis(*t)),
        None => s.serialize_none(),
    }
}

pub(super) fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_duration(*d))
}

/// `Debug` shows no password: a plan lands in panic messages and test output.
#[derive(Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetPlan {
    /// The in-process libunftp server, started for the run on 127.0.0.1.
    Embedded {
        passive_ports: PortRange,
        max_connections: Option<usize>,
        threads: usize,
        /// Waited before each reply to PASS: a deliberately slow target.
        #[serde(
            serialize_with = "ser_opt_duration",
            skip_serializing_if = "Option::is_none"
        )]
        login_delay: Option<Duration>,
        user: String,
        #[serde(skip)]
        password: String,
    },
    External {
        host: String,
        port: u16,
        user: String,
        #[serde(skip)]
        password: String,
        /// FTPS as the URL's scheme says (`ftpes://`, `ftps://`).
        #[serde(skip)]
        tls: Option<crate::proto::tls::TlsMode>,
    },
}

/// How a password shows in `Debug`.
const HIDDEN: &str = "****";

// Manual so the password never lands in a log or a panic message.
impl std::fmt::Debug for TargetPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetPlan::Embedded {
                passive_ports,
                max_connections,
                threads,
                login_delay,
                user,
                password: _,
            } => f
                .debug_struct("Embedded")
                .field("passive_ports", passive_ports)
                .field("max_connections", max_connections)
                .field("threads", threads)
                .field("login_delay", login_delay)
                .field("user", user)
                .field("password", &HIDDEN)
                .finish(),
            TargetPlan::External {
                host,
                port,
                user,
                password: _,
                tls,
            } => f
                .debug_struct("External")
                .field("host", host)
                .field("port", port)
                .field("tls", tls)
                .field("user", user)
                .field("password", &HIDDEN)
                .finish(),
        }
    }
}

// Manual so the password never lands in a log or a panic message.
impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Overrides {
            target,
            password,
            modes,
            users,
            duration,
            iterations,
            ramp_up,
            workers,
            follow_pasv_address,
            active_ports,
            passive_range,
            rate,
            seed,
            shard,
            start_at,
            source_ips,
            ca_file,
            insecure,
            server_watch,
        } = self;
        f.debug_struct("Overrides")
            .field("target", &target.as_deref().map(super::url::redacted))
            .field("password", &password.as_ref().map(|_| HIDDEN))
            .field("modes", modes)
            .field("users", users)
            .field("duration", duration)
            .field("iterations", iterations)
            .field("ramp_up", ramp_up)
            .field("workers", workers)
            .field("follow_pasv_address", follow_pasv_address)
            .field("active_ports", active_ports)
            .field("passive_range", passive_range)
            .field("rate", rate)
            .field("seed", seed)
            .field("shard", shard)
            .field("start_at", start_at)
            .field("source_ips", source_ips)
            .field("ca_file", ca_file)
            .field("insecure", insecure)
            .field("server_watch", server_watch)
            .finish()
    }
}

impl TargetPlan {
    pub fn credentials(&self) -> (&str, &str) {
        match self {
            TargetPlan::Embedded { user, password, .. }
            | TargetPlan::External { user, password, .. } => (user, password),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupPlan {
    pub name: String,
    pub users: u32,
    /// Mode weights; clients are assigned modes in proportion, deterministically.
    pub modes: Vec<(Mode, u32)>,
    pub session: SessionModel,
    /// Bytes per second each client's data channels may move at most.
    pub bandwidth: Option<u64>,
    /// Pause between two operations of an iteration.
    pub think: Option<think::Think>,
    /// Quit and log in again after this many data transfers (1: a new login
    /// per transfer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfers_per_session: Option<u32>,
    /// The operations of an iteration, in order (empty with a `mix`).
    pub ops: Vec<Op>,
    /// Operations drawn by weight at each step instead.
    pub mix: Option<Mix>,
}

impl GroupPlan {
    /// Whether its clients ever open a data channel (and so hold a second
    /// socket, a third in active mode).
    pub fn uses_data(&self) -> bool {
        self.ops.iter().any(Op::uses_data)
            || self
                .mix
                .as_ref()
                .is_some_and(|m| m.choices.iter().any(|(op, _)| op.uses_data()))
    }
}

/// A weighted operation mix, as the classic FTP benchmarks' simulated users:
/// at each step one operation drawn by weight, until "quit" or `steps`.
#[derive(Debug, Clone, Serialize)]
pub struct Mix {
    pub choices: Vec<(Op, u32)>,
    pub steps: u32,
}

impl Mix {
    pub fn draw(&self, rng: &mut impl rand::Rng) -> &Op {
        &self.choices[super::dist::pick(self.choices.iter().map(|(_, w)| *w), rng)].0
    }
}

/// A validated scenario. Built once by [`Plan::load`]; nothing downstream re-checks it.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub name: String,
    pub source: Option<PathBuf>,
    pub target: TargetPlan,
    /// File name to size in bytes.
    pub files: BTreeMap<String, u64>,
    pub stop: Stop,
    #[serde(serialize_with = "ser_duration")]
    pub ramp_up: Duration,
    /// How long a client waits after a failed iteration before the next one.
    #[serde(serialize_with = "ser_duration")]
    pub retry_pause: Duration,
    pub workers: usize,
    pub timeouts: Timeouts,
    pub data: DataOptions,
    /// The passive port range the target is configured with, when known (the
    /// embedded target's own, or declared): announcements outside it are
    /// counted as silent exhaustion, and it sizes range utilisation.
    pub declared_passive: Option<PortRange>,
    /// Open loop: arrivals on a schedule, each on a client of its own; a
    /// group's `users` caps its clients at once. `None`: closed loop.
    pub open_loop: Option<load::OpenLoop>,
    /// Closed loop in stages: how many of the clients run at each moment
    /// (each group's `users` is then its share of the largest stage).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_stages: Option<load::UserStages>,
    /// Seeds every random choice (Poisson arrivals, think times), so a run
    /// repeats exactly: `--seed`, else `[run] seed`, else 0.
    pub seed: u64,
    /// `--shard I/N`: this process runs only its slice of the clients,
    /// arrivals and iterations (see [`super::Shard`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<super::Shard>,
    /// `--start-at`: the instant the load was held for (RFC 3339), so that
    /// shards started apart begin together.
    #[serde(
        serialize_with = "ser_opt_instant",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_at: Option<std::time::SystemTime>,
    /// Local addresses the clients leave from (`--source-ips`, `[target]
    /// source_ips`): client `k` of the whole run from the `k mod n`-th,
    /// its data connections too. `None`: wherever the kernel routes them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ips: Option<super::SourceIps>,
    /// FTPS: the URL's scheme (`ftpes://`, `ftps://`) or `[target] tls`,
    /// with `--ca-file`/`--insecure`. `None`: plain FTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<crate::proto::tls::TlsSettings>,
    #[serde(skip)]
    pub server_watch: ServerWatch,
    pub groups: Vec<GroupPlan>,
    /// `[thresholds]` as written; the `threshold` module parses and checks them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<ThresholdSpec>,
}

/// One threshold as written in the scenario (or by `--threshold`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ThresholdSpec {
    pub key: String,
    /// The bound, e.g. "< 50ms".
    pub bound: String,
    pub abort_on_fail: bool,
    #[serde(serialize_with = "ser_duration")]
    pub delay_abort_eval: Duration,
    /// Where it is written, "s.toml:12", for error messages.
    #[serde(skip)]
    pub at: String,
}

impl Plan {
    pub fn total_users(&self) -> u64 {
        self.groups.iter().map(|g| u64::from(g.users)).sum()
    }

    /// This process's part of `n` (users, iterations): all of it, or its
    /// shard's share.
    pub fn own_share(&self, n: u64) -> u64 {
        self.shard.map_or(n, |s| s.share(n))
    }

    /// The users this process runs.
    pub fn own_users(&self) -> u64 {
        self.own_share(self.total_users())
    }

    /// Whether client or arrival `k` of the whole run is this process's.
    pub fn takes(&self, k: u64) -> bool {
        self.shard.is_none_or(|s| s.takes(k))
    }
}

/// After a failed iteration a client pauses this long by default: against a
/// server that refuses everything (a full range, a connection cap), retrying
/// at once would only measure how fast refusals come back, and flood the
/// host with TIME_WAIT sockets.
pub const DEFAULT_RETRY_PAUSE: Duration = Duration::from_millis(100);

/// Connects spread 20 ms apart by default: a burst of hundreds overflows the
/// small listen queues of real servers (vsftpd's is 32), and the run would
/// measure SYN cookies instead of the server. Capped at a quarter of a timed
/// run, and at 10 s.
pub const DEFAULT_RAMP_PER_CLIENT: Duration = Duration::from_millis(20);

/// How long an arrival may wait for a free client before it is dropped.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(10);
