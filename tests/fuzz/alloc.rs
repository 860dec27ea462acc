//! A counting allocator: the bytes this thread holds, and the most it held.
//!
//! Per thread, so that the test harness's other threads (and other tests
//! running in parallel) never count towards the code measured: the codec and
//! the loader are synchronous, so everything they allocate is allocated and
//! freed on the calling thread.
//!
//! A `realloc` counts the old and the new block as both held until it
//! returns, as they may be while the bytes are copied: the peak is an upper
//! bound of what the process really held, never an underestimate.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub struct Counting;

thread_local! {
    // `const` and without a destructor: touching them never allocates, so
    // the allocator can use them.
    static HELD: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn add(n: usize) {
    let _ = HELD.try_with(|h| {
        let v = h.get() + n as isize;
        h.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
}

fn sub(n: usize) {
    let _ = HELD.try_with(|h| h.set(h.get() - n as isize));
}

// SAFETY: every call goes to `System` unchanged; only counters are kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            add(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        sub(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size);
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        sub(if p.is_null() { new_size } else { layout.size() });
        p
    }
}

/// Runs `f` and returns what it returned with the most bytes this thread
/// held at once during it, above what it held before (what `f` returns is
/// counted: a reply's text is part of what decoding holds).
pub fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = HELD.with(Cell::get);
    PEAK.with(|p| p.set(before));
    let out = f();
    let peak = PEAK.with(Cell::get);
    (out, (peak - before).max(0) as usize)
}

#[test]
fn counts_what_it_should() {
    let (v, peak) = peak_during(|| vec![0u8; 10_000]);
    assert!(peak >= 10_000, "{peak}");
    drop(v);
    let ((), peak) = peak_during(|| drop(std::hint::black_box(vec![0u8; 1 << 20])));
    assert!(
        peak >= 1 << 20,
        "freed memory still counts at its peak: {peak}"
    );
    let ((), peak) = peak_during(|| ());
    assert_eq!(peak, 0);
}
