//! The one way ftpload writes a file it promises to keep: a run's result,
//! a merged result, capacity.json and capacity.csv.
//!
//! Through a buffer (serde_json on a bare `File` made one `write` call per
//! token: 17,724 for one result), into a temporary file beside the target,
//! fsynced, then renamed into place and the folder fsynced: a reader never
//! sees half a file, a crash or a full disk leaves the old file or none, and
//! a failed write leaves no temporary file behind.
//!
//! And the two rules every command that writes follows: where it will write
//! is checked before any work ([`check_file`], [`check_dir`]: an unwritable
//! path fails in a second, not after a ten-minute run), and a write that
//! still fails at the end (a disk filled during the run) goes to a named
//! fallback in the temporary directory ([`or_fallback`]), so no result is lost.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Big enough that a typical result (a few hundred KiB) takes a few dozen
/// `write` calls.
const BUFFER: usize = 256 * 1024;

/// Writes what `fill` writes to `path`, atomically; creates the folder.
pub fn atomic(path: &Path, fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = temp_path(path);
    let written = (|| {
        let mut w = BufWriter::with_capacity(BUFFER, File::create(&tmp)?);
        fill(&mut w)?;
        let f = w.into_inner().map_err(io::IntoInnerError::into_error)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename is durable once the folder's entry is; a folder that cannot
    // be opened for that (some network file systems) still got the file.
    if let Ok(d) = File::open(dir.unwrap_or(Path::new("."))) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// An output path found unwritable before any work: bad input, nothing ran.
#[derive(Debug, thiserror::Error)]
#[error("{what} {path} is not writable: {error}; nothing ran")]
pub struct Unwritable {
    /// The flag that named the path (`--out`, `--csv`, ...), or what it is.
    pub what: &'static str,
    pub path: PathBuf,
    pub error: io::Error,
}

/// Checks that the file `path` can be written later: its folder is made and
/// a probe file created and removed there. That catches a folder under a
/// plain file, a read-only mount, a missing permission; not a disk that
/// fills up meanwhile, which [`or_fallback`] covers.
pub fn check_file(what: &'static str, path: &Path) -> Result<(), Unwritable> {
    if is_stdout(path) {
        return Ok(());
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let checked = if path.is_dir() {
        Err(io::Error::other("it is a folder"))
    } else {
        probe(dir.unwrap_or(Path::new(".")))
    };
    checked.map_err(|error| Unwritable {
        what,
        path: path.to_path_buf(),
        error,
    })
}

/// Checks that files can be written into the folder `dir` (made if missing).
pub fn check_dir(what: &'static str, dir: &Path) -> Result<(), Unwritable> {
    probe(dir).map_err(|error| Unwritable {
        what,
        path: dir.to_path_buf(),
        error,
    })
}

fn probe(dir: &Path) -> io::Result<()> {
    // The OS says "File exists" or "Not a directory" for a folder under a
    // plain file; say which file.
    if let Some(file) = dir.ancestors().find(|a| a.is_file()) {
        return Err(io::Error::other(format!(
            "{} is a file, not a folder",
            file.display()
        )));
    }
    std::fs::create_dir_all(dir)?;
    // Random as well as the pid: shards in containers are each pid 1, and
    // probing one shared folder at once they would remove each other's.
    let p = dir.join(format!(
        ".ftpload-probe-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    File::create(&p)?;
    std::fs::remove_file(&p)
}

/// What was written where, and why not where asked if it went elsewhere.
#[derive(Debug)]
pub struct Saved<T, E> {
    pub path: PathBuf,
    pub value: T,
    /// Why the requested path failed, when `path` is the fallback.
    pub failed: Option<E>,
}

/// Where an output that could not be written as asked goes instead:
/// `ftpload-<pid>-<its name>` in the temporary directory (`TMPDIR`, else
/// /tmp), a file or a folder as the original.
pub fn fallback_path(wanted: &Path) -> PathBuf {
    if is_stdout(wanted) {
        return std::env::temp_dir().join(format!("ftpload-{}-stdout.json", std::process::id()));
    }
    let name = wanted
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    std::env::temp_dir().join(format!("ftpload-{}-{name}", std::process::id()))
}

/// Writes with `write` to `wanted`, or, when that fails, to its
/// [`fallback_path`]. Only when both fail is the error returned (the
/// fallback's, naming where it last tried).
pub fn or_fallback<T, E>(
    wanted: &Path,
    write: impl Fn(&Path) -> Result<T, E>,
) -> Result<Saved<T, E>, E> {
    match write(wanted) {
        Ok(value) => Ok(Saved {
            path: wanted.to_path_buf(),
            value,
            failed: None,
        }),
        Err(e) => {
            let path = fallback_path(wanted);
            let value = write(&path)?;
            Ok(Saved {
                path,
                value,
                failed: Some(e),
            })
        }
    }
}

/// `-`: the path that means standard output (`--out -`), so a shard under
/// a scheduler with no shared folder hands its result over in its log.
pub const STDOUT: &str = "-";

/// Whether `path` is [`STDOUT`].
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == STDOUT
}

/// `value` as pretty JSON with a final newline, to `path` or, for `-`, to
/// standard output as one document (flushed; a closed pipe is an error, so
/// [`or_fallback`] keeps the result in a file).
pub fn json<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    if is_stdout(path) {
        let mut w = BufWriter::with_capacity(BUFFER, io::stdout().lock());
        serde_json::to_writer_pretty(&mut w, value)?;
        w.write_all(b"\n")?;
        return w.flush();
    }
    atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value)?;
        w.write_all(b"\n")
    })
}

/// `name.tmp-PID` beside `path`, so the rename stays on one file system.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/r.json");
        json(&path, &serde_json::json!({"a": [1, 2]})).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\n  \"a\": [\n    1,\n    2\n  ]\n}\n");
        // A writer that fails half-way leaves the old file and no temporary.
        let failed = atomic(&path, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        });
        assert_eq!(failed.unwrap_err().to_string(), "disk full");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["r.json"]);
    }

    #[test]
    fn a_path_under_a_plain_file_is_unwritable_and_a_failed_write_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, "").unwrap();
        let e = check_file("--out", &file.join("r.json")).unwrap_err();
        assert!(
            e.to_string().starts_with(&format!(
                "--out {}/r.json is not writable: ",
                file.display()
            )),
            "{e}"
        );
        assert!(check_dir("--csv", &file.join("sub")).is_err());
        assert!(check_file("--out", &dir.path().join("new/r.json")).is_ok());
        assert!(
            check_file("--out", dir.path()).is_err(),
            "a folder is no file"
        );
        // No probe file stays behind.
        assert_eq!(
            std::fs::read_dir(dir.path().join("new")).unwrap().count(),
            0
        );

        let wanted = file.join("r.json");
        let saved = or_fallback(&wanted, |p| json(p, &1)).unwrap();
        assert!(saved.failed.is_some());
        assert_eq!(saved.path, fallback_path(&wanted));
        assert_eq!(std::fs::read_to_string(&saved.path).unwrap(), "1\n");
        std::fs::remove_file(&saved.path).unwrap();
        let saved = or_fallback(&dir.path().join("ok.json"), |p| json(p, &2)).unwrap();
        assert!(saved.failed.is_none());
        assert_eq!(saved.path, dir.path().join("ok.json"));
    }
}
