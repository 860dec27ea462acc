//! The live progress line on stderr: a bar on a terminal, a plain line every
//! few seconds otherwise (CI logs keep it readable), nothing when quiet.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::format::bytes;
use crate::driver::Tick;
use crate::scenario::Stop;

/// Progress on stderr: a bar on a terminal, a plain line every few seconds
/// otherwise (CI logs), nothing when quiet.
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    last_plain: Duration,
}

impl Progress {
    pub fn new(stop: Stop, quiet: bool) -> Progress {
        if quiet {
            return Progress {
                bar: None,
                plain: false,
                last_plain: Duration::ZERO,
            };
        }
        let term = std::io::IsTerminal::is_terminal(&std::io::stderr());
        if !term {
            return Progress {
                bar: None,
                plain: true,
                last_plain: Duration::ZERO,
            };
        }
        let (len, tmpl) = match stop {
            Stop::Duration(d) => (
                d.as_secs().max(1),
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len}s  {msg}",
            ),
            Stop::Iterations(n) => (
                n,
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} iterations  {msg}",
            ),
        };
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(tmpl).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress {
            bar: Some(bar),
            plain: false,
            last_plain: Duration::ZERO,
        }
    }

    pub fn tick(&mut self, t: &Tick, stop: Stop) {
        let c = &t.counters;
        let secs = t.elapsed.as_secs_f64().max(0.001);
        let msg = format!(
            "{} clients  {} sessions ({:.0}/s)  {} transfers ({:.0}/s)  {}  {} errors",
            t.clients_running,
            c.sessions,
            c.sessions as f64 / secs,
            c.transfers,
            c.transfers as f64 / secs,
            bytes(c.bytes_down + c.bytes_up),
            t.errors
        );
        if let Some(bar) = &self.bar {
            bar.set_position(match stop {
                Stop::Duration(_) => t.elapsed.as_secs(),
                Stop::Iterations(_) => c.iterations + c.iterations_failed,
            });
            bar.set_message(msg);
        } else if self.plain && t.elapsed >= self.last_plain + Duration::from_secs(5) {
            self.last_plain = t.elapsed;
            eprintln!("[{:>5.0}s] {msg}", t.elapsed.as_secs_f64());
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
