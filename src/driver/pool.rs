//! The threads the virtual clients run on: one current-thread runtime per
//! worker thread, each with its own epoll and timers, and each client
//! pinned to one of them for its life (as wrk pins connections to its
//! threads). A work-stealing runtime moved clients between threads and woke
//! an idle one whenever a thread had two ready at once; those wake-ups and
//! the shared timer were 7-9% of the generator's CPU per session against
//! vsftpd (docs/benchmarks.md), for balance a population of identical
//! clients does not need.

use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::metrics::generator::Threads;
use crate::metrics::shard::Registry;

/// Running worker threads; [`Pool::stop`] ends them and every task on them.
pub(super) struct Pool {
    handles: Arc<[Handle]>,
    workers: Vec<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl Pool {
    /// Starts `n` worker threads, each registering its recorder shard and
    /// its CPU clock before it runs anything.
    pub(super) fn start(
        n: usize,
        registry: &Arc<Registry>,
        threads: &Arc<Threads>,
    ) -> std::io::Result<Pool> {
        let mut handles = Vec::with_capacity(n);
        let mut workers = Vec::with_capacity(n);
        for i in 0..n.max(1) {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            handles.push(rt.handle().clone());
            let (stop, stopped) = oneshot::channel::<()>();
            let (reg, th) = (registry.clone(), threads.clone());
            let thread = std::thread::Builder::new()
                .name(format!("ftpload-worker-{i}"))
                .spawn(move || {
                    reg.register_current_thread();
                    th.register_current();
                    // Until told to stop (or the pool is dropped); dropping
                    // the runtime then drops every task still on it.
                    let _ = rt.block_on(stopped);
                })?;
            workers.push((stop, thread));
        }
        Ok(Pool {
            handles: handles.into(),
            workers,
        })
    }

    /// The runtimes, for the executors to spawn clients on.
    pub(super) fn handles(&self) -> Arc<[Handle]> {
        self.handles.clone()
    }

    /// Ends every worker thread and waits for them, so nothing records after.
    pub(super) fn stop(self) {
        let threads: Vec<JoinHandle<()>> = self
            .workers
            .into_iter()
            .map(|(stop, thread)| {
                let _ = stop.send(());
                thread
            })
            .collect();
        for thread in threads {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

/// The runtime client `id` lives on: clients spread evenly over the threads.
pub(super) fn runtime_of(handles: &[Handle], id: u64) -> &Handle {
    &handles[(id % handles.len() as u64) as usize]
}
