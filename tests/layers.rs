//! The shape of `src/`: a module uses only the modules below it (the order
//! of the README's layout table, bottom layer first), so the data flows one
//! way and a newcomer can read the code from the bottom up; and that table
//! names every module, so it cannot go stale silently.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::util::common::repo_root;

/// Bottom layer first; a module may use any module before it. Modules on
/// one line of the README's table may be in either order.
const LAYERS: &[&str] = &[
    "proto",
    "kernel",
    "sys",
    "server",
    "embedded",
    "diagnosis",
    "scenario",
    "metrics",
    "schedule",
    "client",
    "result",
    "probe",
    "driver",
    "summary",
    "threshold",
    "run",
    "report",
    "compare",
    "capacity",
    "cli",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`lib`, `main` too).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The code of a file without its unit tests (which may reach anywhere).
fn code(file: &Path) -> String {
    let s = std::fs::read_to_string(file).unwrap();
    match s.find("#[cfg(test)]\nmod tests") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Every `crate::name` a text uses.
fn uses(text: &str) -> BTreeSet<String> {
    text.match_indices("crate::")
        .map(|(i, m)| {
            text[i + m.len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .collect()
}

#[test]
fn no_module_uses_one_above_it() {
    let src = repo_root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut wrong = Vec::new();
    for f in &files {
        let m = module_of(&src, f);
        if m == "lib" || m == "main" {
            continue;
        }
        let Some(mine) = rank(&m) else {
            panic!("src/{m} is in no layer: add it to LAYERS here and to the README's layout");
        };
        for used in uses(&code(f)) {
            match rank(&used) {
                Some(r) if r < mine || used == m => {}
                _ => wrong.push(format!("{} uses crate::{used}", f.display())),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "a module may use only modules below it ({LAYERS:?}):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_readme_layout_names_every_module_in_layer_order() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let rows: Vec<&str> = readme
        .lines()
        .filter(|l| l.starts_with("| `src/"))
        .collect();
    let row_of = |m: &str| {
        rows.iter().position(|r| {
            r.contains(&format!("`src/{m}/`")) || r.contains(&format!("`src/{m}.rs`"))
        })
    };
    let src = repo_root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut missing = Vec::new();
    for f in &files {
        let m = module_of(&src, f);
        let Some(row) = row_of(&m) else {
            missing.push(format!("src/{m}"));
            continue;
        };
        // A file inside a module's folder is named in its row.
        let stem = f.file_stem().unwrap().to_string_lossy();
        let in_folder = f.parent() != Some(src.as_path()) && stem != "mod";
        if in_folder && !rows[row].contains(&format!("`{stem}`")) {
            missing.push(f.strip_prefix(&src).unwrap().display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "README.md's layout table does not name: {missing:?}"
    );
    // The rows go bottom layer first, as LAYERS does.
    let order: Vec<usize> = LAYERS.iter().map(|m| row_of(m).unwrap()).collect();
    assert!(
        order.windows(2).all(|w| w[0] <= w[1]),
        "README.md's layout rows are not in layer order: {LAYERS:?} at rows {order:?}"
    );
}
