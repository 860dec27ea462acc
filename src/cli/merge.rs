//! `ftpload merge`: result files, or directories of a sharded run's
//! results, merged exactly into one.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{exit, said_fallback, UsageError};
use crate::result::write;

pub(super) fn execute(
    results: Vec<PathBuf>,
    out: PathBuf,
    force: bool,
) -> anyhow::Result<ExitCode> {
    write::check_file("--out", &out)?;
    let (results, from_dir) = expand_dirs(results, &out)?;
    let runs = crate::report::read_all(&results).map_err(|e| UsageError(e.to_string()))?;
    if !force {
        let first = crate::compare::identity(&runs[0].1);
        if let Some((path, other)) = results
            .iter()
            .zip(&runs)
            .map(|(p, (_, r))| (p, crate::compare::identity(r)))
            .find(|(_, id)| *id != first)
        {
            return Err(UsageError(format!(
                "{} is {other}, but {} is {first}: a merge of different runs describes none of them; pass --force to merge anyway",
                path.display(),
                results[0].display()
            ))
            .into());
        }
    }
    let all: Vec<&crate::result::RunResult> = runs.iter().map(|(_, r)| r).collect();
    let whole = match crate::compare::shards_complete(&all) {
        Ok(whole) => whole,
        Err(why) if !force => {
            return Err(UsageError(format!("{why}; pass --force to merge anyway")).into())
        }
        Err(_) => false,
    };
    let missing = crate::compare::missing_shards(&all);
    if !force && (whole || !missing.is_empty()) {
        let labels: Vec<String> = results.iter().map(|p| p.display().to_string()).collect();
        let labelled: Vec<(&str, &crate::result::RunResult)> = labels
            .iter()
            .map(String::as_str)
            .zip(all.iter().copied())
            .collect();
        crate::compare::same_run(&labelled)
            .map_err(|why| UsageError(format!("{why}; pass --force to merge anyway")))?;
    }
    if let (Some(dir), false) = (&from_dir, missing.is_empty() || force) {
        return Err(UsageError(format!(
            "{}: shard {} missing: a merge would describe part of the run; pass --force to merge what is there",
            dir.display(),
            missing.join(", ")
        ))
        .into());
    }
    let mut merged = crate::report::merge(runs)?.expect("clap requires one file");
    if whole {
        crate::compare::as_whole_run(&mut merged);
    }
    let saved = write::or_fallback(&out, |p| merged.write_atomic(p))?;
    let to_stdout = super::say(&crate::summary::render(&merged), Some(&out));
    if said_fallback("the merged result", &saved.path, saved.failed.as_ref()) {
        return Ok(ExitCode::from(exit::RUN));
    }
    if !to_stdout {
        println!("\nmerged result written to {}", out.display());
    }
    Ok(ExitCode::from(exit::OK))
}

/// `merge`'s inputs with each directory replaced by its `*.json` files (in
/// name order; the merge's own `--out`, written there by an earlier merge,
/// left out), and the first directory given, if any. An empty directory is
/// an error: a shard array that wrote nothing.
fn expand_dirs(
    inputs: Vec<PathBuf>,
    out: &std::path::Path,
) -> Result<(Vec<PathBuf>, Option<PathBuf>), UsageError> {
    let out = std::fs::canonicalize(out).ok();
    let mut files = Vec::new();
    let mut dir = None;
    for p in inputs {
        if !p.is_dir() {
            files.push(p);
            continue;
        }
        let read =
            std::fs::read_dir(&p).map_err(|e| UsageError(format!("{}: {e}", p.display())))?;
        let mut found: Vec<PathBuf> = read
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| f.extension().is_some_and(|x| x == "json") && f.is_file())
            .filter(|f| out.is_none() || std::fs::canonicalize(f).ok() != out)
            .collect();
        if found.is_empty() {
            return Err(UsageError(format!(
                "{}: no result (*.json) in it",
                p.display()
            )));
        }
        found.sort();
        files.extend(found);
        dir.get_or_insert(p);
    }
    Ok((files, dir))
}
