//! The process's open-file limit and its resident memory. Every virtual
//! client holds one to three sockets, so a run must know its budget before it
//! starts, not discover it as a flood of EMFILE halfway through; and what an
//! idle session costs the generator in memory is read, not guessed.

/// Raises the soft open-file limit to the hard one; returns the new soft limit.
pub fn raise_nofile_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return 1024;
        }
        if r.rlim_cur < r.rlim_max {
            let want = libc::rlimit {
                rlim_cur: r.rlim_max,
                rlim_max: r.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                r.rlim_cur = r.rlim_max;
            }
        }
        #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every target
        let soft = r.rlim_cur as u64;
        soft
    }
}

/// Tells glibc's allocator to keep freed memory instead of handing the
/// heap's top back to the kernel whenever 128 KiB of it is free (its
/// default). Each second every recorder shard starts afresh and its
/// histograms (68 KiB each) are made, merged and freed; with trimming, the
/// next second's were page-faulted in again: about 16,000 page faults in a
/// run of 2,000 sessions against vsftpd, about 5,000 without, and 3-4% less
/// CPU per session (docs/benchmarks.md). The cost: resident memory does not shrink
/// after a peak, which no run needs.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters, each within its range.
    // Setting one turns off glibc's own raising of the mmap threshold, so
    // it is set too: above the 256 KiB transfer buffer, which would
    // otherwise be mapped and unmapped (and faulted in) per transfer.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
    }
}

/// This process's resident set in bytes, from `/proc/self/statm` (its
/// second field, in pages): one short read, about 5 µs, whatever the load.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok().filter(|p| *p > 0)?)
}

/// CPU seconds the calling thread has used, by the kernel's own clock for
/// it: what a test burns CPU against, so a loaded machine makes it slower,
/// not wrong.
pub fn thread_cpu_s() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a pointer to a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

#[cfg(test)]
mod tests {
    /// The resident set grows by what is allocated and touched.
    #[test]
    fn resident_bytes_sees_memory_touched() {
        let before = super::resident_bytes().unwrap();
        // black_box: in a release build the unused vector is optimized away.
        let v = std::hint::black_box(vec![1u8; 64 << 20]);
        let after = super::resident_bytes().unwrap();
        assert!(after >= before + (60 << 20), "{before} -> {after}");
        drop(v);
    }
}
