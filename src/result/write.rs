//! The one way ftpload writes a file it promises to keep: a run's result,
//! a merged result, capacity.json and capacity.csv.
//!
//! Through a buffer (serde_json on a bare `File` made one `write` call per
//! token: 17,724 for one result), into a temporary file beside the target,
//! fsynced, then renamed into place and the folder fsynced: a reader never
//! sees half a file, a crash or a full disk leaves the old file or none, and
//! a failed write leaves no temporary file behind.

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

/// `value` as pretty JSON with a final newline.
pub fn json<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
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
}
