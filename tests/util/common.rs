//! Support for integration tests that need things outside this crate: a second,
//! independent FTP server (pyftpdlib, which has EPRT) and an independent HDR
//! histogram decoder (Python's `hdrh`), so our client and our serialized
//! results are checked against someone else's implementation, not our own.
//!
//! Every wait here is bounded: a hung child process fails the test with a
//! message instead of hanging `cargo test`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

/// pip may have to download and build; the setup script's own lock wait is
/// 600 s, so this must be longer.
const SETUP_TIMEOUT: Duration = Duration::from_secs(900);
/// pyftpdlib starts in about 50 ms; 20 s only matters on a badly loaded machine.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(20);
const DECODE_TIMEOUT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(10);

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `scripts/setup-pyenv.sh` once per test binary; the script itself makes
/// concurrent binaries safe and repeat calls cheap. Returns the venv's python.
pub fn ensure_pyenv() -> PathBuf {
    static SETUP: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let result = SETUP.get_or_init(|| {
        let root = repo_root();
        let mut cmd = Command::new("bash");
        cmd.arg(root.join("scripts/setup-pyenv.sh"));
        let out = run_bounded(cmd, None, SETUP_TIMEOUT)?;
        if !out.status.success() {
            return Err(format!(
                "scripts/setup-pyenv.sh failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let python = root.join(".venv/bin/python");
        if !python.exists() {
            return Err(format!(
                "setup succeeded but {} is missing",
                python.display()
            ));
        }
        Ok(python)
    });
    match result {
        Ok(p) => p.clone(),
        Err(e) => panic!("{e}"),
    }
}

pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// A finished command as the tests read it: its exit code and its output as
/// text.
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Finished> for Ran {
    fn from(r: Finished) -> Ran {
        Ran {
            code: r.status.code(),
            stdout: String::from_utf8_lossy(&r.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&r.stderr).into_owned(),
        }
    }
}

/// Waits for `child` at most `limit`; past it the child is killed and the
/// error says so, naming `what`.
pub fn wait_bounded(child: &mut Child, limit: Duration, what: &str) -> Result<ExitStatus, String> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{what} did not finish within {limit:?}; killed"));
            }
            Err(e) => return Err(format!("waiting for {what}: {e}")),
        }
    }
}

/// `Command::output` with a time limit. The child is killed if it overruns.
pub fn run_bounded(
    mut cmd: Command,
    input: Option<Vec<u8>>,
    limit: Duration,
) -> Result<Finished, String> {
    let what = format!("{cmd:?}");
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("cannot run {what}: {e}"))?;

    // Each pipe gets its own thread so a full pipe can never stall the child.
    let writer = match (child.stdin.take(), input) {
        (Some(mut stdin), Some(bytes)) => Some(std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        })),
        _ => None,
    };
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );

    let status = wait_bounded(&mut child, limit, &what)?;
    if let Some(w) = writer {
        let _ = w.join();
    }
    Ok(Finished {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// A pyftpdlib server on 127.0.0.1, killed on drop. Its stdin is a pipe we
/// hold: if this process dies without running `Drop`, the pipe closes and the
/// fixture exits on its own.
pub struct PyFtpd {
    pub addr: SocketAddr,
    child: Child,
}

impl PyFtpd {
    pub fn start(root: &Path, user: &str, password: &str, passive: RangeInclusive<u16>) -> PyFtpd {
        let python = ensure_pyenv();
        // The harness's own pyftpdlib server, on a free port.
        let script = repo_root().join("targets/pyftpdlib/server.py");
        let mut child = Command::new(&python)
            .arg(&script)
            .arg("--root")
            .arg(root)
            .args(["--user", user, "--password", password])
            .args(["--port", "0", "--exit-on-stdin-eof", "--passive"])
            .arg(format!("{}-{}", passive.start(), passive.end()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));

        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let r = BufReader::new(stdout).read_line(&mut line).map(|_| line);
            let _ = tx.send(r);
        });
        let line = match rx.recv_timeout(LISTEN_TIMEOUT) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => {
                kill(&mut child);
                panic!("reading pyftpd's stdout: {e}");
            }
            Err(_) => {
                kill(&mut child);
                panic!("pyftpd printed no LISTENING line within {LISTEN_TIMEOUT:?}");
            }
        };
        let port = match line
            .trim()
            .strip_prefix("LISTENING ")
            .map(str::parse::<u16>)
        {
            Some(Ok(p)) => p,
            _ => {
                let status = child.try_wait().ok().flatten();
                kill(&mut child);
                panic!("unexpected pyftpd output {line:?} (exit status {status:?}); see its stderr above");
            }
        };
        PyFtpd {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            child,
        }
    }
}

impl PyFtpd {
    /// The server's process id, to pause it (SIGSTOP) in a test.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn kill(child: &mut Child) {
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for PyFtpd {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// Writes files of the given sizes. The bytes are pseudo-random so no layer can
/// compress them; tests that check content read the file back.
pub fn make_files(root: &Path, files: &[(&str, u64)]) {
    const CHUNK: usize = 1 << 20;
    let mut buf = vec![0u8; CHUNK];
    for (name, size) in files {
        let path = root.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(&path)
                .unwrap_or_else(|e| panic!("create {}: {e}", path.display())),
        );
        // xorshift64*, seeded from the size: cheap and deterministic.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ size;
        let mut left = *size;
        while left > 0 {
            let n = left.min(CHUNK as u64) as usize;
            for word in buf[..n].chunks_mut(8) {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
                word.copy_from_slice(&v[..word.len()]);
            }
            f.write_all(&buf[..n]).unwrap();
            left -= n as u64;
        }
        f.flush().unwrap();
    }
}

/// Decodes a base64 V2 (deflate) HDR histogram with Python's `hdrh` and returns
/// its total count and 99th percentile, as that library computes them.
/// Total counts of many histograms, decoded by Python's `hdrh` in one
/// process (one base64 histogram per line in, one count per line out).
pub fn python_hdr_counts(b64s: &[&str]) -> Vec<u64> {
    let python = ensure_pyenv();
    let mut cmd = Command::new(python);
    cmd.args([
        "-c",
        "import sys\n\
         from hdrh.histogram import HdrHistogram\n\
         for line in sys.stdin.read().split():\n\
         \x20   print(HdrHistogram.decode(line).get_total_count())\n",
    ]);
    let input = b64s.join("\n").into_bytes();
    let out = run_bounded(cmd, Some(input), DECODE_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "python hdrh decode failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let counts: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|c| c.parse().expect("a count"))
        .collect();
    assert_eq!(counts.len(), b64s.len(), "one count per histogram");
    counts
}

pub fn python_hdr_decode(b64: &str) -> (u64, u64) {
    let python = ensure_pyenv();
    let mut cmd = Command::new(python);
    cmd.args([
        "-c",
        "import sys\n\
         from hdrh.histogram import HdrHistogram\n\
         h = HdrHistogram.decode(sys.stdin.read().strip())\n\
         print(h.get_total_count(), h.get_value_at_percentile(99))\n",
    ]);
    let out = run_bounded(cmd, Some(b64.as_bytes().to_vec()), DECODE_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python hdrh decode failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut fields = stdout.split_whitespace().map(|f| f.parse::<u64>());
    match (fields.next(), fields.next()) {
        (Some(Ok(count)), Some(Ok(p99))) => (count, p99),
        _ => panic!("unexpected output from python hdrh decode: {stdout:?}"),
    }
}

/// `ftpload serve ARGS` started with its stdout piped, and the line it
/// prints once listening: "serving ftp://USER@HOST:PORT (password ...),
/// passive ports ..., root DIR; Ctrl-C to stop".
pub fn start_serve(bin: &str, args: &[&str]) -> (Child, String) {
    let mut child = Command::new(bin)
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}
