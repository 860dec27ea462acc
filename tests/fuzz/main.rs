//! Fuzzing on stable Rust: property-based tests (proptest) over what reads
//! bytes or text from outside, the reply codec (`reply`), the 227 and 229
//! parsers (`passive`) and the scenario loader (`scenario`), with arbitrary
//! input and structured mutations of valid input. Each asserts no panic,
//! bounded allocation (measured by the counting allocator of `alloc`, which
//! is why this is a binary of its own) and the round trips that exist.
//!
//! Each property runs a bounded number of cases, set where it is declared
//! (2048 per codec property, 4096 per parser one, 1536 per scenario one:
//! 6 to 15 s in all on 2 shared cores in a debug build); `PROPTEST_CASES=N`
//! overrides them all for a longer hunt (20000 took about 2 minutes). A failure proptest finds is written to
//! `tests/proptest-regressions/*.txt` (committed) and replayed first on
//! every run; each is also a named unit test beside its property.

mod alloc;
mod passive;
mod reply;
mod scenario;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

use proptest::test_runner::Config;

/// `cases` unless `PROPTEST_CASES` says otherwise. (A config written in code
/// would otherwise override the variable, which proptest reads only into
/// its default.)
pub fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        // Shrinking is bounded too, so a failure is reported in seconds.
        max_shrink_iters: 2048,
        ..Config::default()
    }
}
