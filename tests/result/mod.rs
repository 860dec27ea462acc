//! The result file against its documentation (docs/result-schema.md): its
//! fields and types (`schema`), open-loop runs (`open_loop`), error classes
//! and exhaustion signatures (`errors`), what a file refuses and never holds
//! (`file`), and merging (`merge`). What they share is `util::schema`.

mod errors;
mod file;
mod merge;
mod open_loop;
mod schema;
