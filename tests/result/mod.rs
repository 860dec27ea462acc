//! The result file against its documentation (docs/result-schema.md): its
//! fields and types (`schema`), open-loop runs (`open_loop`), error classes
//! and exhaustion signatures (`errors`), what a file refuses and never holds
//! (`file`), and merging (`merge`); every committed result still reads,
//! a counter it lacks as unknown (`committed`). What they share is `util::schema`.

mod committed;
mod errors;
mod file;
mod merge;
mod open_loop;
mod schema;
