//! Harness homes of the tests' own: a set of real-server instances started
//! through `scripts/targets/ftpd` in a `FTPD_HOME` under `target/`, beside
//! the default instances (2121-2124) the tests only find, sharing the
//! default home's unpacked packages and served files (FTPD_PKGS,
//! FTPD_ROOT). Dropping a home stops its instances, also after a panic; a
//! home left by a killed run is stopped when the next run makes it. Shared
//! by tests/exhaustion.rs and tests/interop.rs.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Bound on each harness command (start waits at most 10 s, stop about 15 s).
const HARNESS_TIMEOUT_SECS: &str = "90";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the default harness home keeps the packages and the served files.
pub fn shared_paths() -> (PathBuf, PathBuf) {
    let home = std::env::var_os("FTPD_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/ftpd"));
    let pkgs = std::env::var_os("FTPD_PKGS")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join("pkgs"));
    let root = std::env::var_os("FTPD_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join("root"));
    (pkgs, root)
}

/// Why `server` cannot run here, if it cannot; `tls`: with TLS (proftpd
/// needs mod_tls then).
pub fn missing(server: &str, tls: bool, pkgs: &Path, root: &Path) -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("the harness must run as root".into());
    }
    let bin = match server {
        "vsftpd" => pkgs.join("vsftpd/usr/sbin/vsftpd"),
        "pure-ftpd" => pkgs.join("pure-ftpd/usr/sbin/pure-ftpd"),
        "proftpd" => PathBuf::from("/usr/sbin/proftpd"),
        _ => repo().join(".venv/bin/python"),
    };
    if !bin.exists() {
        return Some(format!("not installed ({} is missing)", bin.display()));
    }
    let tls_module = PathBuf::from("/usr/lib/proftpd/mod_tls.so");
    if tls && server == "proftpd" && !tls_module.exists() {
        return Some(format!("no mod_tls ({} is missing)", tls_module.display()));
    }
    let file = root.join("1k.bin");
    if !file.exists() {
        return Some(format!("no fixture ({} is missing)", file.display()));
    }
    None
}

/// One harness home (`target/<name>`) and the harness variables its
/// instances start with.
pub struct Home {
    home: PathBuf,
    pkgs: PathBuf,
    root: PathBuf,
    /// More of the harness's variables (FTPD_TLS, FTPD_MAX_CLIENTS, ...).
    pub env: Vec<(&'static str, String)>,
}

impl Home {
    pub fn new(name: &str, pkgs: &Path, root: &Path) -> Home {
        let h = Home {
            home: repo().join("target").join(name),
            pkgs: pkgs.to_path_buf(),
            root: root.to_path_buf(),
            env: Vec::new(),
        };
        // Left by a run that was killed before its guard ran.
        let _ = h.ftpd(&["stop", "all"]);
        h
    }

    /// Runs the harness in this home: its output, or why it failed.
    pub fn ftpd(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("timeout")
            .arg(HARNESS_TIMEOUT_SECS)
            .arg(repo().join("scripts/targets/ftpd"))
            .args(args)
            .env("FTPD_HOME", &self.home)
            .env("FTPD_PKGS", &self.pkgs)
            .env("FTPD_ROOT", &self.root)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .map_err(|e| format!("scripts/targets/ftpd: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "ftpd {} ({}):\n{}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// `ftpd start SERVER --port PORT --passive RANGE [--bind ADDR]`.
    pub fn start(
        &self,
        server: &str,
        port: u16,
        passive: impl std::fmt::Display,
        bind: Option<&str>,
    ) -> Result<(), String> {
        let (port, passive) = (port.to_string(), passive.to_string());
        let mut args = vec!["start", server, "--port", &port, "--passive", &passive];
        args.extend(bind.map(|b| ["--bind", b]).into_iter().flatten());
        self.ftpd(&args).map(|_| ())
    }

    pub fn path(&self) -> &Path {
        &self.home
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        if let Err(e) = self.ftpd(&["stop", "all"]) {
            println!(
                "warning: could not stop the instances in {}: {e}",
                self.home.display()
            );
        }
    }
}
