//! A local server's process tree, read from `/proc`: its CPU, memory,
//! processes and descriptors. vsftpd, pure-ftpd and proftpd fork a process
//! (or two) per session, so the tree, not the one process, is the server:
//! the CPU of a session process that has ended is in its parent's
//! `cutime`/`cstime` once reaped, and a live one's in its own stat.

use std::io;
use std::path::Path;

/// Past this many processes a tree stops being walked: a bound, not a
/// figure any FTP server here reaches (vsftpd holds two per session).
const MAX_PROCESSES: usize = 200_000;

/// One process's counters from `/proc/PID/stat`, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stat {
    pub ppid: i32,
    pub utime: u64,
    pub stime: u64,
    /// Its reaped children's, and theirs.
    pub cutime: u64,
    pub cstime: u64,
}

/// Parses a `/proc/PID/stat` line. The name in parentheses may hold spaces
/// and parentheses itself, so fields are counted after the last `)`.
pub fn parse_stat(line: &str) -> Option<Stat> {
    let rest = line.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state (0), ppid (1), ..., utime (11), stime (12),
    // cutime (13), cstime (14), as proc(5) numbers them 3, 4, 14-17.
    let n = |i: usize| f.get(i)?.parse::<i64>().ok();
    Some(Stat {
        ppid: n(1)? as i32,
        utime: n(11)?.max(0) as u64,
        stime: n(12)?.max(0) as u64,
        cutime: n(13)?.max(0) as u64,
        cstime: n(14)?.max(0) as u64,
    })
}

pub fn stat(pid: i32) -> io::Result<Stat> {
    let line = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat(&line)
        .ok_or_else(|| io::Error::other(format!("/proc/{pid}/stat: unexpected format")))
}

/// The process's name (`comm`), or "" once it is gone.
pub fn name(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim_end().to_string())
        .unwrap_or_default()
}

/// Clock ticks a second (`_SC_CLK_TCK`, 100 on Linux).
pub fn ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64
}

/// The pids of `pid`'s children, from each of its threads' `children`
/// file (a child is listed under the thread that forked it).
fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
            out.extend(s.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
        }
    }
    out
}

/// `pid` and every live descendant, parents before children.
pub fn tree(pid: i32) -> Vec<i32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() && all.len() < MAX_PROCESSES {
        let kids = children(all[i]);
        all.extend(kids);
        i += 1;
    }
    all
}

/// Open descriptors of `pid` (entries of `/proc/PID/fd`).
fn fds(pid: i32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

/// Proportional set size (bytes) from `/proc/PID/smaps_rollup`: each shared
/// page counted once over the processes sharing it, so a forked server's
/// sessions add up to what they cost, where their RSS would count the
/// parent's pages again in every child.
fn pss_bytes(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let line = s.lines().find(|l| l.starts_with("Pss:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A process tree at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TreeSample {
    /// CPU seconds, user and system, of the tree: every live process's own
    /// and its reaped children's.
    pub cpu_user_s: f64,
    pub cpu_system_s: f64,
    /// Proportional set size of the tree (bytes).
    pub memory_bytes: u64,
    pub processes: u64,
    pub fds: u64,
}

/// Reads the tree under `root`. An error only when `root` itself is gone;
/// a descendant that exits meanwhile is skipped (its CPU reaches the
/// parent's `cutime` once reaped).
pub fn sample_tree(root: i32) -> io::Result<TreeSample> {
    let ticks = ticks_per_second();
    let top = stat(root)?;
    let mut s = TreeSample::default();
    let (mut user, mut system) = (0u64, 0u64);
    for (k, pid) in tree(root).into_iter().enumerate() {
        let st = if k == 0 { Ok(top) } else { stat(pid) };
        let Ok(st) = st else { continue };
        user += st.utime + st.cutime;
        system += st.stime + st.cstime;
        s.processes += 1;
        s.memory_bytes += pss_bytes(pid).unwrap_or(0);
        s.fds += fds(pid).unwrap_or(0);
    }
    s.cpu_user_s = user as f64 / ticks;
    s.cpu_system_s = system as f64 / ticks;
    Ok(s)
}

/// CPU seconds (user, system) of this process's threads whose name starts
/// with `prefix`: the embedded target's runtime, apart from the generator
/// sharing its process.
pub fn own_threads_cpu(prefix: &str) -> (f64, f64) {
    let ticks = ticks_per_second();
    // The kernel keeps 15 bytes of a thread's name.
    let prefix = prefix.get(..15).unwrap_or(prefix);
    let (mut user, mut system) = (0u64, 0u64);
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (0.0, 0.0);
    };
    for t in tasks.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if !comm.starts_with(prefix) {
            continue;
        }
        if let Some(st) = read_stat(&t.path().join("stat")) {
            user += st.utime;
            system += st.stime;
        }
    }
    (user as f64 / ticks, system as f64 / ticks)
}

fn read_stat(path: &Path) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(path).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_name() {
        let line = "4242 (my (odd) srv) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                    250 75 30 12 20 0 1 0 1000 10000000 200 18446744073709551615";
        let s = parse_stat(line).unwrap();
        assert_eq!(
            s,
            Stat {
                ppid: 1,
                utime: 250,
                stime: 75,
                cutime: 30,
                cstime: 12
            }
        );
        assert_eq!(parse_stat("1 (x) S 0"), None);
    }

    /// This test process, read as a server would be: itself counted, its
    /// CPU and descriptors above zero, a child it forked in the tree.
    #[test]
    fn reads_a_live_tree() {
        let me = std::process::id() as i32;
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let t = tree(me);
        assert!(t.contains(&(child.id() as i32)), "{t:?}");
        let s = sample_tree(me).unwrap();
        assert!(s.processes >= 2 && s.fds > 0 && s.memory_bytes > 0, "{s:?}");
        let _ = child.kill();
        let _ = child.wait();
        assert!(sample_tree(i32::MAX).is_err());
    }
}
