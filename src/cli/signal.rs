//! SIGINT and SIGTERM, caught here at the edge and handed to the library as a
//! cancel token (as oha keeps its signals in a `signal.rs` of their own): the
//! library never installs a handler, so a search of many runs (`capacity`)
//! or a test can drive runs without racing a handler of the library's own.
//!
//! The first signal cancels: the run stops, and writes and marks what it
//! gathered. A second one, for an operator who will not wait, exits at once.
//! SIGTERM is what CI cancellations, `timeout` and an evicted pod send, so it
//! is treated as Ctrl-C is.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use tokio::signal::unix::{signal, SignalKind};

use crate::driver::Cancel;

/// The signals of this process, being watched.
pub struct Signals {
    cancel: Cancel,
    caught: Arc<AtomicI32>,
}

impl Signals {
    /// Starts watching SIGINT and SIGTERM on a thread of its own. Both are
    /// registered before this returns, so no signal is lost in between.
    pub fn watch() -> std::io::Result<Signals> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        let (mut int, mut term) = rt.block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            ))
        })?;
        let (cancel, caught) = (Cancel::new(), Arc::new(AtomicI32::new(0)));
        let (c, first) = (cancel.clone(), caught.clone());
        std::thread::Builder::new()
            .name("ftpload-signals".into())
            .spawn(move || {
                rt.block_on(async move {
                    loop {
                        let n = tokio::select! {
                            _ = int.recv() => libc::SIGINT,
                            _ = term.recv() => libc::SIGTERM,
                        };
                        if first.compare_exchange(0, n, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                            eprintln!("\n{}: stopping; what was gathered so far is being written (send it again to exit at once)", name(n));
                            c.cancel();
                        } else {
                            eprintln!("{}: exiting at once", name(n));
                            std::process::exit(128 + n);
                        }
                    }
                })
            })?;
        Ok(Signals { cancel, caught })
    }

    /// The token the library stops on.
    pub fn cancel(&self) -> Cancel {
        self.cancel.clone()
    }

    /// The exit code of a command the first signal stopped: 128 plus its
    /// number, as a shell reports it (130 for SIGINT, 143 for SIGTERM).
    pub fn exit_code(&self) -> u8 {
        match self.caught.load(Ordering::SeqCst) {
            libc::SIGTERM => super::exit::TERMINATED,
            _ => super::exit::INTERRUPTED,
        }
    }
}

fn name(signal: i32) -> &'static str {
    match signal {
        libc::SIGTERM => "SIGTERM",
        _ => "SIGINT",
    }
}
