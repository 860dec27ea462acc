//! Firewalled test topologies in network namespaces, made by
//! `scripts/netns/topo` (its header explains each topology and its
//! addresses): `Topology::up` makes one, with a server started inside, and
//! its `Drop` takes it down again, on failure and panic paths as well.
//! `client` runs a program on the topology's client host.
//!
//! A machine that cannot make them (not root, no network namespaces or
//! nftables, vsftpd not installed) gives a reason instead, and `skip`
//! reports it: `skipped: <reason>`, or, with FTPLOAD_REQUIRE_NETNS=1, a
//! failure (as FTPLOAD_REQUIRE_SERVERS does for the interop tests).
//!
//! Names are `fl<pid>x<n>`, unique per test process and topology, so tests
//! and test binaries running at once never collide. Namespaces a killed test
//! process left behind (its pid gone) are taken down by the next `up`.
//!
//! Every wait here is bounded; output is captured through files, not pipes,
//! so a server left running in the background can never hold a read open.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;
use std::time::Duration;

/// Set to 1 (as CI does) to make a topology that cannot be made a failure.
pub const REQUIRE_VAR: &str = "FTPLOAD_REQUIRE_NETNS";
/// `topo up` waits at most 10 s for the banner, vsftpd's start 10 s more.
const UP_TIMEOUT: Duration = Duration::from_secs(60);
/// `topo down` waits at most 3 s per signal and namespace.
const DOWN_TIMEOUT: Duration = Duration::from_secs(60);
/// `topo`'s exit code for "this machine cannot do it".
const UNAVAILABLE: i32 = 3;

static NEXT: AtomicU32 = AtomicU32::new(0);

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn topo_script() -> PathBuf {
    repo_root().join("scripts/netns/topo")
}

/// The server started inside the server host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// `ftpload serve`, this crate's binary: no EPRT.
    Embedded,
    /// vsftpd through `scripts/targets/ftpd` (installed and with its fixture).
    Vsftpd,
}

impl Server {
    pub fn as_str(self) -> &'static str {
        match self {
            Server::Embedded => "embedded",
            Server::Vsftpd => "vsftpd",
        }
    }
}

/// True when FTPLOAD_REQUIRE_NETNS=1: a skip is then a failure.
pub fn required() -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1")
}

/// Reports that test `name` cannot run here: prints
/// `test <name> ... skipped: <reason>`, or panics with the reason when
/// FTPLOAD_REQUIRE_NETNS=1.
pub fn skip(name: &str, reason: &str) {
    if required() {
        panic!("{name}: {reason} ({REQUIRE_VAR}=1: a skip is a failure)");
    }
    println!("test {name} ... skipped: {reason}");
}

/// A topology that is up: what `topo up` printed, taken apart.
// Every value `topo up` prints is parsed and checked in `up`; the tests read
// only some of them.
#[allow(dead_code)]
#[derive(Debug)]
pub struct Topology {
    /// NAME given to topo (`fl<pid>x<n>`).
    pub name: String,
    /// server-control-only, server-range-open, client-no-inbound or nat.
    pub kind: String,
    pub server: Server,
    pub client_ns: String,
    pub server_ns: String,
    /// The router's namespace (nat only).
    pub router_ns: Option<String>,
    pub client_addr: IpAddr,
    /// The server's own address (the private one behind nat).
    pub server_addr: IpAddr,
    /// What the client connects to (the router's public address for nat).
    pub target_addr: IpAddr,
    pub control_port: u16,
    pub passive: RangeInclusive<u16>,
    pub user: String,
    pub password: String,
    /// `ftp://user@target_addr:control_port`
    pub target: String,
    pub server_log: PathBuf,
}

impl Topology {
    /// Makes topology `kind` with `server` inside. Err is the reason it
    /// cannot be made on this machine (for `skip`); any other failure of
    /// `topo up` panics with its output.
    pub fn up(kind: &str, server: Server) -> Result<Topology, String> {
        static SWEEP: Once = Once::new();
        SWEEP.call_once(sweep_stale);

        let name = format!(
            "fl{}x{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut cmd = Command::new("bash");
        cmd.arg(topo_script())
            .args(["up", &name, kind, "--server", server.as_str()])
            .arg("--ftpload")
            .arg(env!("CARGO_BIN_EXE_ftpload"));
        let out = match run_bounded(cmd, UP_TIMEOUT) {
            Ok(out) => out,
            Err(e) => {
                down(&name);
                panic!("{e}");
            }
        };
        if out.status.code() == Some(UNAVAILABLE) {
            down(&name);
            let reason = out.stderr.lines().last().unwrap_or("topo up: exit 3");
            return Err(reason.trim_start_matches("topo: ").to_string());
        }
        if !out.status.success() {
            down(&name);
            panic!(
                "topo up {name} {kind} --server {} failed ({}):\n{}",
                server.as_str(),
                out.status,
                out.stderr
            );
        }
        let env = parse_env(&out.stdout);
        // Taken down again if anything below is missing.
        let guard = Downer(name.clone());
        let get = |key: &str| -> String {
            env.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("topo up printed no {key}:\n{}", out.stdout))
        };
        let addr = |key: &str| -> IpAddr {
            get(key)
                .parse()
                .unwrap_or_else(|e| panic!("{key}={:?}: {e}", get(key)))
        };
        let passive = get("PASSIVE");
        let (lo, hi) = passive
            .split_once('-')
            .and_then(|(a, b)| Some((a.parse::<u16>().ok()?, b.parse::<u16>().ok()?)))
            .unwrap_or_else(|| panic!("PASSIVE={passive:?} is not FIRST-LAST"));
        let router_ns = Some(get("ROUTER_NS")).filter(|r| !r.is_empty());
        let t = Topology {
            name: name.clone(),
            kind: get("TOPOLOGY"),
            server,
            client_ns: get("CLIENT_NS"),
            server_ns: get("SERVER_NS"),
            router_ns,
            client_addr: addr("CLIENT_ADDR"),
            server_addr: addr("SERVER_ADDR"),
            target_addr: addr("TARGET_ADDR"),
            control_port: get("CONTROL_PORT")
                .parse()
                .unwrap_or_else(|e| panic!("CONTROL_PORT: {e}")),
            passive: lo..=hi,
            user: get("FTP_USER"),
            password: get("PASSWORD"),
            target: get("TARGET"),
            server_log: PathBuf::from(get("SERVER_LOG")),
        };
        // The Topology takes over taking it down.
        std::mem::forget(guard);
        assert_eq!(t.kind, kind, "topo up made another topology");
        Ok(t)
    }

    /// `program` on the client host: `ip netns exec <client-ns> program`.
    pub fn client(&self, program: impl AsRef<OsStr>) -> Command {
        in_ns(&self.client_ns, program)
    }

    /// The end of the server's log, for a failure message.
    pub fn server_log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.server_log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        down(&self.name);
    }
}

/// Takes NAME down when dropped, until forgotten.
struct Downer(String);

impl Drop for Downer {
    fn drop(&mut self) {
        down(&self.0);
    }
}

fn in_ns(ns: &str, program: impl AsRef<OsStr>) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns]).arg(program);
    c
}

/// `topo down NAME`; a failure is reported, not raised (this runs in Drop,
/// perhaps while a panic unwinds).
fn down(name: &str) {
    let mut cmd = Command::new("bash");
    cmd.arg(topo_script()).args(["down", name]);
    match run_bounded(cmd, DOWN_TIMEOUT) {
        Ok(out) if out.status.success() => {}
        Ok(out) => eprintln!("topo down {name} failed ({}): {}", out.status, out.stderr),
        Err(e) => eprintln!("{e}"),
    }
}

/// Takes down the topologies of test processes that no longer exist (killed
/// before their Drop ran): namespaces named fl<pid>x<n>-c|s|r.
fn sweep_stale() {
    let Ok(out) = run_bounded(
        {
            let mut c = Command::new("ip");
            c.args(["netns", "list"]);
            c
        },
        Duration::from_secs(10),
    ) else {
        return;
    };
    let mut stale: Vec<String> = Vec::new();
    for line in out.stdout.lines() {
        let ns = line.split_whitespace().next().unwrap_or_default();
        let Some((name, host)) = ns.rsplit_once('-') else {
            continue;
        };
        let Some((pid, n)) = name.strip_prefix("fl").and_then(|r| r.split_once('x')) else {
            continue;
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !matches!(host, "c" | "s" | "r") || !digits(pid) || !digits(n) {
            continue;
        }
        let alive = Path::new(&format!("/proc/{pid}")).exists();
        if !alive && !stale.iter().any(|s| s == name) {
            stale.push(name.to_string());
        }
    }
    for name in stale {
        eprintln!("taking down {name}, left by a test process that is gone");
        down(&name);
    }
}

/// KEY=VALUE lines, values as bash's printf %q writes them.
fn parse_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), unquote(v)))
        .collect()
}

fn unquote(v: &str) -> String {
    if let Some(inner) = v.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return inner.to_string();
    }
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` to its end within `limit` (killed if it overruns), its stdout
/// and stderr captured in unnamed temporary files.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Result<Finished, String> {
    let what = format!("{cmd:?}");
    let file = || tempfile::tempfile().map_err(|e| format!("temporary file for {what}: {e}"));
    let (mut out, mut err) = (file()?, file()?);
    let dup = |f: &File| {
        f.try_clone()
            .map(Stdio::from)
            .map_err(|e| format!("{what}: {e}"))
    };
    cmd.stdin(Stdio::null())
        .stdout(dup(&out)?)
        .stderr(dup(&err)?);
    let mut child = cmd.spawn().map_err(|e| format!("cannot run {what}: {e}"))?;
    let status = super::common::wait_bounded(&mut child, limit, &what)?;
    let read = |f: &mut File| {
        let mut s = String::new();
        let _ = f.seek(SeekFrom::Start(0));
        let _ = f.read_to_string(&mut s);
        s
    };
    Ok(Finished {
        status,
        stdout: read(&mut out),
        stderr: read(&mut err),
    })
}
