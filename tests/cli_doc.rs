//! The documentation against the code, so it cannot go stale silently:
//! every subcommand of clap's command tree has a section in docs/cli.md, and
//! every flag and positional argument of it is named in that section; the
//! README stays a front page (at most 200 lines) whose map of `docs/` links
//! every doc there and nothing that is not there.

use std::path::PathBuf;

use clap::CommandFactory;

const README_MAX_LINES: usize = 200;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    let p = repo_root().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// The section of docs/cli.md for `path` (e.g. `["run"]`): from its heading,
/// a line of `#`s whose text (backticks aside) is `ftpload run`, up to the
/// next heading of the same or a higher level.
fn section<'a>(doc: &'a str, path: &[&str]) -> Option<&'a str> {
    let title = format!("ftpload {}", path.join(" "));
    let mut start = None;
    let mut level = 0;
    let mut offset = 0;
    for line in doc.split_inclusive('\n') {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        let is_heading = hashes > 0 && line[hashes..].starts_with(' ');
        if is_heading {
            if let Some(s) = start {
                if hashes <= level {
                    return Some(&doc[s..offset]);
                }
            } else {
                let text = line[hashes..].trim().replace('`', "");
                let rest = text.strip_prefix(&title);
                if rest.is_some_and(|r| r.is_empty() || r.starts_with([' ', ':'])) {
                    start = Some(offset);
                    level = hashes;
                }
            }
        }
        offset += line.len();
    }
    start.map(|s| &doc[s..])
}

/// Where `word` occurs in `text` as a whole, not as part of a longer flag or
/// name: `--step` is not inside `--step-duration`, nor `-q` inside `--quiet`.
fn whole_matches<'a>(text: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(word).map(|(i, _)| i).filter(move |&i| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(part) && !after.is_some_and(part)
    })
}

fn names(text: &str, word: &str) -> bool {
    whole_matches(text, word).next().is_some()
}

/// `text` with every whole occurrence of `word` replaced by `by`.
fn rename(text: &str, word: &str, by: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for i in whole_matches(text, word) {
        out.push_str(&text[last..i]);
        out.push_str(by);
        last = i + word.len();
    }
    out.push_str(&text[last..]);
    out
}

/// What the section must name for each argument of `cmd`, skipping hidden
/// ones and clap's own help and version flags.
fn required_names(cmd: &clap::Command) -> Vec<String> {
    let mut out = Vec::new();
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if arg.is_hide_set() || id == "help" || id == "version" {
            continue;
        }
        if arg.is_positional() {
            let name = arg
                .get_value_names()
                .and_then(|v| v.first())
                .map(|v| v.to_string())
                .unwrap_or_else(|| id.to_uppercase());
            out.push(name);
        } else {
            if let Some(long) = arg.get_long() {
                out.push(format!("--{long}"));
            }
            if let Some(short) = arg.get_short() {
                out.push(format!("-{short}"));
            }
        }
    }
    out
}

/// Every subcommand below `cmd`, depth first, with its path of names.
fn walk(cmd: &clap::Command, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, clap::Command)>) {
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        path.push(sub.get_name().to_string());
        out.push((path.clone(), sub.clone()));
        walk(sub, path, out);
        path.pop();
    }
}

fn subcommands() -> Vec<(Vec<String>, clap::Command)> {
    let mut out = Vec::new();
    walk(&ftpload::cli::Cli::command(), &mut Vec::new(), &mut out);
    out
}

/// What is missing from docs/cli.md for the given command tree, one line each.
fn missing_from_cli_doc(doc: &str, subs: &[(Vec<String>, clap::Command)]) -> Vec<String> {
    let mut missing = Vec::new();
    for (path, cmd) in subs {
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        let full = format!("ftpload {}", path.join(" "));
        let Some(text) = section(doc, &path) else {
            missing.push(format!(
                "`{full}` has no section in docs/cli.md: add one under the heading \"## `{full}`\" and document its flags there"
            ));
            continue;
        };
        for name in required_names(cmd) {
            if !names(text, &name) {
                missing.push(format!(
                    "`{name}` of `{full}` is not named in its section of docs/cli.md: document it there (meaning, default, example)"
                ));
            }
        }
    }
    missing
}

#[test]
fn every_subcommand_flag_and_argument_is_documented_in_its_section_of_cli_md() {
    let subs = subcommands();
    assert!(
        subs.len() >= 6,
        "expected run, serve, report, merge, capacity and probe, found {:?}",
        subs.iter().map(|(p, _)| p.join(" ")).collect::<Vec<_>>()
    );
    let missing = missing_from_cli_doc(&read("docs/cli.md"), &subs);
    assert!(
        missing.is_empty(),
        "docs/cli.md is out of date:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn the_cli_doc_check_finds_a_flag_removed_from_its_section() {
    // The check itself must bite: `--step` renamed in capacity's section
    // counts as missing there, although the synopsis at the top of the file
    // still names it and the section still has `--step-duration`.
    let subs: Vec<_> = subcommands()
        .into_iter()
        .filter(|(p, _)| p == &["capacity"])
        .collect();
    assert_eq!(subs.len(), 1, "no `capacity` subcommand");
    let doc = read("docs/cli.md");
    let capacity = section(&doc, &["capacity"]).expect("docs/cli.md has a capacity section");
    let edited = doc.replace(capacity, &rename(capacity, "--step", "--stride"));
    let missing = missing_from_cli_doc(&edited, &subs);
    assert!(
        missing
            .iter()
            .any(|m| m.starts_with("`--step` of `ftpload capacity`")),
        "removing --step from the capacity section went unnoticed: {missing:?}"
    );
    assert!(section("# x\n## `ftpload runner`\n--out\n", &["run"]).is_none());
    assert!(!names("--step-duration 5s", "--step"));
    assert!(!names("--quiet", "-q"));
    assert!(names("`-q`, `--quiet`", "-q"));
}

#[test]
fn readme_is_a_front_page_of_at_most_200_lines() {
    let n = read("README.md").lines().count();
    assert!(
        n <= README_MAX_LINES,
        "README.md has {n} lines, more than {README_MAX_LINES}: move the detail into a doc under docs/ and link it from the README's map"
    );
}

/// Every `docs/<name>.md` the README links to, as `](docs/<name>.md...)`.
fn readme_doc_links(readme: &str) -> Vec<String> {
    let mut links: Vec<String> = readme
        .match_indices("](docs/")
        .map(|(i, _)| {
            let rest = &readme[i + 2..];
            let end = rest.find([')', '#', ' ']).unwrap_or(rest.len());
            rest[..end].to_string()
        })
        .filter(|l| l.ends_with(".md") && !l[5..].contains('/'))
        .collect();
    links.sort();
    links.dedup();
    links
}

fn docs_on_disk() -> Vec<String> {
    let dir = repo_root().join("docs");
    let mut docs: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| format!("docs/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    docs.sort();
    docs
}

#[test]
fn readme_links_every_doc_and_only_docs_that_exist() {
    let links = readme_doc_links(&read("README.md"));
    let on_disk = docs_on_disk();
    let dead: Vec<_> = links.iter().filter(|l| !on_disk.contains(l)).collect();
    assert!(
        dead.is_empty(),
        "README.md links docs that do not exist: {dead:?}"
    );
    let unlinked: Vec<_> = on_disk.iter().filter(|d| !links.contains(d)).collect();
    assert!(
        unlinked.is_empty(),
        "docs not linked from README.md's map of docs/: {unlinked:?}; add a row for each (doc, what it answers)"
    );
    assert!(links.contains(&"docs/cli.md".to_string()));
}
