//! The password is written nowhere. Real commands against the embedded
//! target, its password given each of the three ways (`--password-file`,
//! `FTPLOAD_PASSWORD`, the target URL), and every output searched for it:
//! stdout and stderr of each command, and every file they wrote (the result,
//! the CSV files, the JUnit XML, the HTML report, the merged result, the
//! capacity folder), in the forms a leak takes (as is, percent-encoded,
//! base64 at each alignment, hex, a fragment of it). The failing paths too:
//! a refused login (run and probe) and a malformed URL holding it.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use ftpload::embedded::{EmbeddedConfig, EmbeddedServer};

use crate::util::common::{self, Ran};

const BIN: &str = env!("CARGO_BIN_EXE_ftpload");
/// Distinctive, with characters percent-encoding changes.
const SECRET: &str = "pw-7f3a9c=s3cret+x";
/// A fragment no output has any business holding.
const CORE: &str = "7f3a9c";
const USER: &str = "ftpload";

#[derive(Clone, Copy, Debug)]
enum Way {
    PasswordFile,
    Env,
    Url,
}

/// What the password looks like once leaked, encoded or not.
fn forms() -> Vec<(String, String)> {
    let mut f = vec![
        ("as is".to_string(), SECRET.to_string()),
        ("a fragment".into(), CORE.into()),
        ("percent-encoded".into(), percent(SECRET)),
        ("hex".into(), hex(SECRET.as_bytes())),
    ];
    let engines = [
        ("base64", base64::engine::general_purpose::STANDARD),
        ("base64url", base64::engine::general_purpose::URL_SAFE),
    ];
    for (name, e) in engines {
        for text in [SECRET.to_string(), format!("{USER}:{SECRET}")] {
            // At each offset within a 3-byte group: the characters that
            // only the password's bytes decide (not a prefix, not padding).
            for k in 0..3 {
                let enc = e.encode(format!("{}{text}", "x".repeat(k)));
                let middle = &enc[4..enc.len() - 4];
                f.push((format!("{name} at offset {k}"), middle.to_string()));
            }
        }
    }
    f
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// Fails naming the output and the form when `text` holds the password.
fn clean(what: &str, text: &str) {
    let lower = text.to_lowercase();
    for (form, needle) in forms() {
        // base64 is case-sensitive; the other forms are not.
        let found = if form.starts_with("base64") {
            text.contains(&needle)
        } else {
            lower.contains(&needle.to_lowercase())
        };
        assert!(
            !found,
            "the password ({form}: {needle}) is in {what}:\n{text}"
        );
    }
}

/// Every file under `dir`, searched.
fn clean_tree(dir: &Path, searched: &mut Vec<String>) {
    let mut stack = vec![dir.to_path_buf()];
    let mut n = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            n += 1;
            assert!(n < 10_000, "too many files under {}", dir.display());
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                clean(&p.display().to_string(), &String::from_utf8_lossy(&bytes));
                searched.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
}

/// Runs ftpload with the password given `way`, and searches its stdout and
/// stderr.
fn ftpload(way: Way, dir: &Path, args: &[&str]) -> Ran {
    let mut c = Command::new(BIN);
    c.args(args)
        .current_dir(common::repo_root())
        .env_remove("FTPLOAD_PASSWORD")
        .env("TMPDIR", dir.join("tmp"));
    match way {
        Way::PasswordFile => {
            let f = dir.join("password");
            std::fs::write(&f, format!("{SECRET}\n")).unwrap();
            if args[0] != "report" && args[0] != "merge" {
                c.arg("--password-file").arg(f);
            }
        }
        Way::Env => {
            c.env("FTPLOAD_PASSWORD", SECRET);
        }
        Way::Url => {}
    }
    let r = common::run_bounded(c, None, Duration::from_secs(90)).unwrap();
    let ran = Ran::from(r);
    println!(
        "[{way:?}] $ ftpload {}\nexit {:?}\n{}",
        args.join(" "),
        ran.code,
        ran.stderr.trim_end()
    );
    let what = format!("ftpload {} ({way:?})", args[0]);
    clean(&format!("the stdout of {what}"), &ran.stdout);
    clean(&format!("the stderr of {what}"), &ran.stderr);
    ran
}

/// The target URL for `addr`, holding the password when it is given that way.
fn url(way: Way, addr: std::net::SocketAddr) -> String {
    match way {
        Way::Url => format!("ftp://{USER}:{SECRET}@{addr}"),
        _ => format!("ftp://{USER}@{addr}"),
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn every_output_of(way: Way) {
    let server = EmbeddedServer::start(EmbeddedConfig {
        password: SECRET.into(),
        ..EmbeddedConfig::default()
    })
    .unwrap();
    let other = EmbeddedServer::start(EmbeddedConfig {
        password: "another".into(),
        ..EmbeddedConfig::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("out");
    std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
    let target = url(way, server.addr());
    let (r, csv, junit) = (d.join("r.json"), d.join("csv"), d.join("j.xml"));

    // run: the password is accepted (the run logs in), and written nowhere.
    let ran = ftpload(
        way,
        dir.path(),
        &[
            "run",
            "scenarios/smoke.toml",
            "--target",
            &target,
            "--duration",
            "1s",
            "--users",
            "3",
            "--threshold",
            "errors.rate=< 1",
            "--out",
            p(&r),
            "--csv",
            p(&csv),
            "--junit",
            p(&junit),
        ],
    );
    assert!(matches!(ran.code, Some(0 | 1)), "{}", ran.stderr);
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&r).unwrap()).unwrap();
    let sessions = result["modes"]["passive"]["counters"]["sessions"].as_u64();
    assert!(
        sessions.unwrap() > 0,
        "logged in with the password given {way:?}"
    );
    assert_eq!(
        result["scenario"]["target"]["user"], USER,
        "the scenario is echoed"
    );

    // FTPS: the same password over TLS (after AUTH TLS), written nowhere
    // either, and no private key in any output.
    let tls_server = EmbeddedServer::start(EmbeddedConfig {
        password: SECRET.into(),
        tls: true,
        ..EmbeddedConfig::default()
    })
    .unwrap();
    let tls_target = url(way, tls_server.addr()).replacen("ftp://", "ftpes://", 1);
    let tls_out = d.join("tls.json");
    let ran = ftpload(
        way,
        dir.path(),
        &[
            "run",
            "scenarios/smoke.toml",
            "--target",
            &tls_target,
            "--insecure",
            "--duration",
            "1s",
            "--users",
            "2",
            "--out",
            p(&tls_out),
        ],
    );
    assert!(matches!(ran.code, Some(0 | 1)), "{}", ran.stderr);
    let text = std::fs::read_to_string(&tls_out).unwrap();
    assert!(
        text.contains("control_handshakes"),
        "an FTPS run: {text:.300}"
    );
    for out in [&text, &ran.stdout, &ran.stderr] {
        assert!(!out.contains("PRIVATE KEY"), "a private key in an output");
    }

    ftpload(
        way,
        dir.path(),
        &["report", p(&r), "--out", p(&d.join("r.html"))],
    );
    ftpload(way, dir.path(), &["report", p(&r)]);
    ftpload(
        way,
        dir.path(),
        &["report", p(&r), "--csv", p(&d.join("csv2"))],
    );
    let m = ftpload(
        way,
        dir.path(),
        &["merge", "--out", p(&d.join("m.json")), p(&r)],
    );
    assert_eq!(m.code, Some(0), "{}", m.stderr);
    ftpload(way, dir.path(), &["compare", p(&r), p(&r)]);

    let c = ftpload(
        way,
        dir.path(),
        &[
            "capacity",
            "scenarios/smoke.toml",
            "--target",
            &target,
            "--start",
            "1",
            "--max",
            "1",
            "--step-duration",
            "1s",
            "--out-dir",
            p(&d.join("cap")),
        ],
    );
    assert!(matches!(c.code, Some(0 | 1)), "{}", c.stderr);

    for json in [true, false] {
        let mut args = vec![
            "probe",
            &target,
            "--mode",
            "passive,epsv",
            "--path",
            "1k.bin",
        ];
        if json {
            args.push("--json");
        }
        let pr = ftpload(way, dir.path(), &args);
        assert_eq!(pr.code, Some(0), "{}{}", pr.stdout, pr.stderr);
    }

    // The failing paths: a refused login, in run and probe.
    let refused = url(way, other.addr());
    let ran = ftpload(
        way,
        dir.path(),
        &["run", "scenarios/smoke.toml", "-q", "--target", &refused],
    );
    assert_eq!(ran.code, Some(3), "{}", ran.stderr);
    let pr = ftpload(way, dir.path(), &["probe", &refused, "--json"]);
    assert_eq!(pr.code, Some(3), "{}", pr.stdout);
    assert!(pr.stdout.contains("login_refused"), "{}", pr.stdout);

    let mut searched = Vec::new();
    clean_tree(&d, &mut searched);
    clean_tree(&dir.path().join("tmp"), &mut searched);
    searched.sort();
    println!("[{way:?}] searched: {}", searched.join(", "));
    for want in [
        "r.json",
        "csv/summary.csv",
        "j.xml",
        "r.html",
        "m.json",
        "cap/capacity.json",
        "cap/step-1.json",
    ] {
        assert!(searched.iter().any(|s| s == want), "{want} not written");
    }
}

/// The search finds each form it claims to, embedded in other text.
#[test]
fn the_search_finds_every_form_of_the_password() {
    let e = base64::engine::general_purpose::STANDARD;
    let leaks = [
        format!("x {SECRET} y"),
        format!("url ftp://u:{}@h", percent(SECRET)),
        format!("auth: Basic {}", e.encode(format!("{USER}:{SECRET}"))),
        format!("{{\"p\":\"{}\"}}", e.encode(SECRET)),
        format!("ab{}", e.encode(format!("ab{SECRET}"))),
        hex(SECRET.as_bytes()).to_uppercase(),
        SECRET.to_uppercase(),
    ];
    for leak in leaks {
        let found = std::panic::catch_unwind(|| clean("a test text", &leak));
        assert!(found.is_err(), "not found in {leak:?}");
    }
    clean(
        "a clean text",
        "ftp://ftpload:****@127.0.0.1:2121 PASS ****",
    );
}

#[test]
fn a_password_from_a_file_is_written_nowhere() {
    every_output_of(Way::PasswordFile);
}

#[test]
fn a_password_from_the_environment_is_written_nowhere() {
    every_output_of(Way::Env);
}

#[test]
fn a_password_in_the_url_is_written_nowhere() {
    every_output_of(Way::Url);
    // Not even when the URL is malformed and so quoted back.
    let dir = tempfile::tempdir().unwrap();
    for bad in [
        format!("ftp://{USER}:{SECRET}@127.0.0.1:x"),
        format!("ftp://{USER}:{SECRET}@127.0.0.1/path"),
        format!("http://{USER}:{SECRET}@127.0.0.1"),
    ] {
        let r = ftpload(
            Way::Url,
            dir.path(),
            &["run", "scenarios/smoke.toml", "--target", &bad],
        );
        assert_eq!(r.code, Some(2), "{}", r.stderr);
        assert!(r.stderr.contains("bad target"), "{}", r.stderr);
        let r = ftpload(Way::Url, dir.path(), &["probe", &bad]);
        assert_eq!(r.code, Some(2), "{}", r.stderr);
    }
}
