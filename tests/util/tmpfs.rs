//! A small tmpfs mounted for one test (we run as root), unmounted by its
//! guard even when the test panics: a read-only folder or a disk that fills
//! up, which `chmod` cannot give root.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. "64k") with `opts` (e.g. "ro") added;
    /// `Err` says why it could not (not root, no mount), for the test to
    /// print and skip.
    pub fn mount(size: &str, opts: &str) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut o = format!("size={size}");
        if !opts.is_empty() {
            o = format!("{o},{opts}");
        }
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &o, "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Fills the file system to its last page (a bounded number of pages):
    /// files can still be created empty, none can hold a byte.
    pub fn fill(&self) {
        let mut f = std::fs::File::create(self.join("filler")).unwrap();
        let page = [0u8; 4096];
        for _ in 0..100_000 {
            if f.write_all(&page).and_then(|()| f.flush()).is_err() {
                break;
            }
        }
        let probe = self.join("probe");
        assert!(
            std::fs::write(&probe, b"x").is_err(),
            "tmpfs at {} is not full",
            self.path().display()
        );
        let _ = std::fs::remove_file(probe);
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}
