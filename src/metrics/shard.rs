//! Per-thread recorders. A histogram set is hundreds of kilobytes, so there is
//! one per worker thread, never one per virtual client. Each shard's mutex is
//! taken by its own thread when recording and by the collector only at a
//! tick, and then only to swap the shard's contents out (never to merge in
//! place), so a worker never waits on a merge. What a tick takes out is the
//! interval since the last one; the registry adds it to the run's total.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use super::Grouped;

type Shard = Arc<Mutex<Grouped>>;

/// The shards of one run. Each run owns its registry, so parallel runs (tests)
/// never see each other's numbers.
#[derive(Debug)]
pub struct Registry {
    /// Unique per registry for the life of the process: a thread's cached
    /// shard must never be mistaken for a later run's (an address could be
    /// reused once the old registry is freed).
    id: usize,
    shards: Mutex<Vec<Shard>>,
    /// Everything drained from the shards so far.
    total: Mutex<Grouped>,
}

static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

impl Default for Registry {
    fn default() -> Self {
        Registry {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            shards: Mutex::default(),
            total: Mutex::default(),
        }
    }
}

thread_local! {
    static LOCAL: RefCell<Option<(usize, Shard)>> = const { RefCell::new(None) };
}

impl Registry {
    pub fn new() -> Arc<Registry> {
        Arc::new(Registry::default())
    }

    fn id(&self) -> usize {
        self.id
    }

    /// Gives the calling thread its own shard; call from `on_thread_start`.
    pub fn register_current_thread(self: &Arc<Self>) {
        let shard = Shard::default();
        self.shards.lock().unwrap().push(shard.clone());
        LOCAL.with(|l| *l.borrow_mut() = Some((self.id(), shard)));
    }

    /// Records into the calling thread's shard, registering one if the thread
    /// has none for this registry yet (a thread the runtime did not announce).
    pub fn with_shard(self: &Arc<Self>, f: impl FnOnce(&mut Grouped)) {
        let id = self.id();
        LOCAL.with(|l| {
            let mut l = l.borrow_mut();
            let shard = match &*l {
                Some((owner, s)) if *owner == id => s.clone(),
                _ => {
                    let s = Shard::default();
                    self.shards.lock().unwrap().push(s.clone());
                    *l = Some((id, s.clone()));
                    s
                }
            };
            drop(l);
            f(&mut shard.lock().unwrap());
        })
    }

    /// Takes out what the shards recorded since the last drain, adds it to
    /// the run's total, and returns it: one interval's numbers. Each shard is
    /// locked only for a swap; the merging happens outside its lock.
    pub fn drain(&self) -> Grouped {
        let shards = self.shards.lock().unwrap().clone();
        let mut delta = Grouped::default();
        for s in shards {
            let taken = std::mem::take(&mut *s.lock().unwrap());
            delta += &taken;
        }
        *self.total.lock().unwrap() += &delta;
        delta
    }

    /// The run so far: the total with whatever the shards still hold.
    pub fn snapshot(&self) -> Grouped {
        self.drain();
        self.total.lock().unwrap().clone()
    }

    /// Counters and error counts per mode, without merging histograms: cheap
    /// enough for every tick.
    pub fn counters_by_mode(&self) -> [(super::Counters, u64); 4] {
        let shards = self.shards.lock().unwrap().clone();
        let mut out = self.total.lock().unwrap().counters_by_mode();
        for s in shards {
            for (o, (c, e)) in out.iter_mut().zip(s.lock().unwrap().counters_by_mode()) {
                o.0 += c;
                o.1 += e;
            }
        }
        out
    }

    /// Counters only, cheap enough for every progress tick.
    pub fn totals(&self) -> (super::Counters, u64) {
        let mut c = super::Counters::default();
        let mut e = 0;
        for (mc, me) in self.counters_by_mode() {
            c += mc;
            e += me;
        }
        (c, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metric;
    use crate::proto::Mode;

    #[test]
    fn drained_intervals_add_up_to_the_snapshot() {
        let reg = Registry::new();
        let record = |n: u64| {
            for v in 1..=n {
                reg.with_shard(|g| {
                    g.group(0)
                        .mode(Mode::Passive)
                        .record_value(Metric::Transfer, v)
                });
            }
        };
        record(3);
        let first = reg.drain();
        record(5);
        let second = reg.drain();
        record(2);
        let len = |g: &Grouped| {
            g.combined()
                .get(Mode::Passive)
                .map_or(0, |s| s.histogram(Metric::Transfer).len())
        };
        assert_eq!((len(&first), len(&second)), (3, 5));
        assert_eq!(reg.counters_by_mode(), reg.snapshot().counters_by_mode());
        assert_eq!(len(&reg.snapshot()), 10, "drained and undrained together");
        assert_eq!(
            len(&reg.drain()),
            0,
            "nothing left after the snapshot drained it"
        );
    }
}
