//! The served directory and the files in it.
//!
//! Content is pseudo-random rather than zeros or a short pattern so that nothing
//! on the path (page cache dedup, a compressing filesystem, a server with
//! `MODE Z`) can make a transfer cheaper than the byte count says. It is seeded
//! from the file's name and size, so two runs serve byte-identical files and a
//! client can verify what it received.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};

use super::EmbeddedError;

/// Large enough that a 100 MiB file costs 100 syscalls, small enough not to
/// matter next to the server's own buffers.
const CHUNK: usize = 1 << 20;

/// Bounds the search for a free temp directory name; a clash needs a stale
/// directory from an earlier process with the same pid, so a few tries suffice.
const TEMP_ROOT_TRIES: u64 = 1000;

static TEMP_ROOT_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Makes a fresh, empty directory that only this server owns, so removing it on
/// stop can never delete anything a user put there.
pub(super) fn make_temp_root() -> Result<PathBuf, EmbeddedError> {
    let base = std::env::temp_dir();
    let pid = std::process::id();
    let mut last_err = None;
    for _ in 0..TEMP_ROOT_TRIES {
        let n = TEMP_ROOT_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = base.join(format!("ftpload-{pid}-{n}"));
        match fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(error) => return Err(EmbeddedError::Root { path, error }),
        }
    }
    Err(EmbeddedError::Root {
        path: base,
        error: last_err.unwrap_or_else(|| io::Error::other("no free temp directory name")),
    })
}

/// A root given by the caller must already be a directory: creating it would
/// hide a typo in the path, and we never delete it.
pub(super) fn check_root(path: &Path) -> Result<(), EmbeddedError> {
    match fs::metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(EmbeddedError::Root {
            path: path.to_path_buf(),
            error: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
        }),
        Err(error) => Err(EmbeddedError::Root {
            path: path.to_path_buf(),
            error,
        }),
    }
}

/// Names come from scenario files, so anything that could escape the root
/// (absolute paths, `..`) is refused rather than resolved.
fn resolve(root: &Path, name: &str) -> Result<PathBuf, EmbeddedError> {
    let bad = |reason: &'static str| EmbeddedError::FileName {
        name: name.to_string(),
        reason,
    };
    if name.is_empty() {
        return Err(bad("empty name"));
    }
    let rel = Path::new(name);
    let mut any = false;
    for c in rel.components() {
        match c {
            Component::Normal(_) => any = true,
            Component::CurDir => {}
            _ => return Err(bad("must be a relative path without '..'")),
        }
    }
    if !any {
        return Err(bad("names no file"));
    }
    Ok(root.join(rel))
}

/// FNV-1a: a stable seed across Rust versions, unlike `DefaultHasher`.
fn seed_for(name: &str, size: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes().chain(size.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The exact bytes of a generated file, so tests and clients can check what
/// they received without reading the served directory.
pub fn expected_content(name: &str, size: u64) -> Vec<u8> {
    let mut rng = SmallRng::seed_from_u64(seed_for(name, size));
    let mut out = vec![0u8; usize::try_from(size).expect("size fits in memory")];
    for chunk in out.chunks_mut(CHUNK) {
        rng.fill_bytes(chunk);
    }
    out
}

/// Writes every file into `root`. A file that already has the right size is
/// kept: regenerating 100 MiB on every run against a user-given root is the
/// slow part of start-up, and the content is deterministic anyway.
pub(super) fn generate(root: &Path, files: &[(String, u64)]) -> Result<(), EmbeddedError> {
    let mut buf = vec![0u8; CHUNK];
    for (name, size) in files {
        let path = resolve(root, name)?;
        let io_err = |error: io::Error| EmbeddedError::File {
            path: path.clone(),
            error,
        };
        if let Ok(m) = fs::metadata(&path) {
            if m.is_file() && m.len() == *size {
                continue;
            }
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_err)?;
        }
        let mut f = File::create(&path).map_err(io_err)?;
        let mut rng = SmallRng::seed_from_u64(seed_for(name, *size));
        let mut left = *size;
        while left > 0 {
            let n = usize::try_from(left.min(CHUNK as u64)).expect("chunk fits usize");
            rng.fill_bytes(&mut buf[..n]);
            f.write_all(&buf[..n]).map_err(io_err)?;
            left -= n as u64;
        }
        f.flush().map_err(io_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::embedded::{EmbeddedConfig, EmbeddedServer};

    #[test]
    fn bad_file_names_are_named() {
        let err = EmbeddedServer::start(EmbeddedConfig {
            files: vec![("../escape".to_string(), 1)],
            ..EmbeddedConfig::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("../escape"), "{err}");
    }
}
