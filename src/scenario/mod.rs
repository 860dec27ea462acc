//! Scenarios: the TOML a user writes, flags that override it, and the
//! validated [`Plan`] that everything downstream trusts without re-checking.

mod dist;
mod file;
mod group;
pub mod load;
mod op;
mod plan;
mod shard;
pub mod sources;
pub mod think;
pub mod tls;
pub mod units;
mod url;
mod validate;

pub use dist::{Files, Sizes, Weighted};
pub use file::SessionModel;
pub use op::Op;
pub use plan::{
    GroupPlan, Mix, Overrides, Plan, ServerWatch, Stop, TargetPlan, ThresholdSpec,
    DEFAULT_MAX_WAIT, DEFAULT_RAMP_PER_CLIENT, DEFAULT_RETRY_PAUSE, EMBEDDED_PASSWORD,
    EMBEDDED_USER,
};
pub use shard::{parse_start_at, Shard, ShardArg};
pub use sources::SourceIps;
pub use url::{external_target, Malformed, UrlError};

use std::ops::Range;
use std::path::{Path, PathBuf};

use file::ScenarioFile;
use load::{OpenLoop, UserStages};

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A position-bearing error: `path:line:column: message`.
    #[error("{path}:{line}:{column}: {message}")]
    At {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    /// A `--target` URL the flag gave (one in the file is located instead).
    #[error(transparent)]
    Target(UrlError),
    /// Flags that do not go together, the file aside.
    #[error("{0}")]
    Flags(String),
}

impl Plan {
    pub fn load(path: &Path, o: &Overrides) -> Result<Plan, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|error| ScenarioError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        Plan::parse(&text, path, o)
    }

    /// Parses and validates `text`; `path` only names the file in errors.
    /// Each part of the plan is validated by a piece of its own (in
    /// `validate.rs` and `group.rs`), in this order, so a file with several
    /// mistakes is reported at the same one every time.
    pub fn parse(text: &str, path: &Path, o: &Overrides) -> Result<Plan, ScenarioError> {
        let at = |span: Range<usize>, message: String| {
            let (line, column) = line_col(text, span.start);
            ScenarioError::At {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        };
        let whole = |message: String| ScenarioError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let f: ScenarioFile = toml::from_str(text).map_err(|e| match e.span() {
            // The key too: "invalid type: string, expected u32" alone does not say which.
            Some(span) => match file::key_at(text, span.start) {
                Some(key) => at(span, format!("{key}: {}", e.message())),
                None => at(span, e.message().to_string()),
            },
            None => whole(e.message().to_string()),
        })?;
        let run = f.run.get_ref();
        let in_run = |message: String| at(f.run.span(), message);

        let name = validate::name(f.name.as_deref(), path).map_err(whole)?;
        let target = TargetPlan::from_file(&f, o).map_err(|e| match e {
            // A URL of --target is the flag's fault, not the file's.
            (None, e) => ScenarioError::Target(e),
            (Some(span), e) => at(span, format!("target.url: {e}")),
        })?;
        let source_ips = validate::source_ips(&f, o, &target).map_err(|e| match e {
            (None, e) => ScenarioError::Flags(e),
            (Some(span), e) => at(span, format!("target.source_ips: {e}")),
        })?;
        let tls = tls::settings(&f, o, &target).map_err(whole)?;
        validate::stop_above_zero(run, o).map_err(|e| at(e.span(), e.into_inner()))?;
        let open_loop = OpenLoop::from_run(run, o).map_err(in_run)?;
        let user_stages = UserStages::from_run(run, o).map_err(in_run)?;
        let stages_length = open_loop
            .as_ref()
            .map(OpenLoop::stages_duration)
            .or(user_stages.as_ref().map(UserStages::duration));
        let stop = Stop::from_run(run, o, stages_length).map_err(in_run)?;
        let workers = validate::workers(run, o).map_err(in_run)?;
        let files = validate::files(&f.files).map_err(whole)?;
        if f.groups.is_empty() {
            return Err(whole(
                "no [[group]]: a scenario needs at least one group of virtual clients".into(),
            ));
        }
        let mut groups = f
            .groups
            .iter()
            .enumerate()
            .map(|(gi, g)| GroupPlan::from_file(gi, g, o, &target, &files))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| at(e.span(), e.into_inner()))?;
        validate::distinct_names(&groups).map_err(whole)?;
        if let Some(stages) = &user_stages {
            // The groups' users become shares of the largest stage.
            validate::spread_users(&mut groups, stages.max_users()).map_err(in_run)?;
        } else if let Some(total) = o.users {
            validate::spread_users(&mut groups, total).map_err(whole)?;
        }
        // In u64: two groups of u32::MAX users each overflowed a u32 sum.
        let users: u64 = groups.iter().map(|g| u64::from(g.users)).sum();
        validate::users_within_max(users).map_err(whole)?;
        let ramp_up = validate::ramp_up(run, o, users, stop).map_err(in_run)?;
        Ok(Plan {
            name,
            source: Some(path.to_path_buf()),
            declared_passive: validate::declared_passive(&f, &target, o),
            open_loop,
            user_stages,
            seed: o.seed.or(run.seed).unwrap_or(0),
            shard: o.shard,
            start_at: o.start_at,
            source_ips,
            tls,
            server_watch: o.server_watch.clone(),
            target,
            files,
            stop,
            ramp_up,
            retry_pause: run.retry_pause.map(|d| d.0).unwrap_or(DEFAULT_RETRY_PAUSE),
            workers,
            timeouts: validate::timeouts(&f.timeouts),
            data: validate::data(&f.data, o),
            groups,
            thresholds: validate::thresholds(&f.thresholds, |span| {
                format!("{}:{}", path.display(), line_col(text, span.start).0)
            }),
        })
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Mode;
    use std::time::Duration;

    fn parse(text: &str) -> Result<Plan, ScenarioError> {
        Plan::parse(text, Path::new("s.toml"), &Overrides::default())
    }

    const OK: &str = r#"
[files]
"1k.bin" = "1KiB"
[run]
duration = "2s"
[[group]]
users = 3
modes = { passive = 1, epsv = 1, active = 1 }
ops = ["retr 1k.bin", "stor 1KiB", "list"]
"#;

    #[test]
    fn parses_a_valid_scenario() {
        let p = parse(OK).unwrap();
        assert_eq!(p.name, "s");
        assert_eq!(p.files["1k.bin"], 1024);
        assert_eq!(p.stop, Stop::Duration(Duration::from_secs(2)));
        let g = &p.groups[0];
        assert_eq!(g.ops[1], Op::Stor(crate::scenario::Sizes::fixed(1024)));
        assert!(matches!(p.target, TargetPlan::Embedded { .. }));
    }

    #[test]
    fn unknown_key_names_line_column_and_key() {
        let e = parse(&OK.replace("users = 3", "users = 3\nuserz = 4"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.toml:8:1:"), "{e}");
        assert!(e.contains("userz"), "{e}");
    }

    #[test]
    fn a_wrong_type_or_a_zero_names_its_key() {
        let e = parse(&OK.replace("users = 3", "users = \"three\""))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("s.toml:7:9: group[0].users: invalid type"),
            "{e}"
        );
        let e = parse(&OK.replace("\"2s\"", "\"0s\""))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.toml:5:12: run.duration: "), "{e}");
        let e = parse(&OK.replace("passive = 1,", "pasive = 1,"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("group[0].modes.pasive: unknown mode \"pasive\""),
            "{e}"
        );
    }

    #[test]
    fn bad_values_are_located() {
        let e = parse(&OK.replace("\"2s\"", "\"2 fortnights\""))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.toml:5:"), "{e}");
        assert!(e.contains("bad duration"), "{e}");
        let e = parse(&OK.replace("\"list\"", "\"lsit\""))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.toml:9:"), "{e}");
        assert!(e.contains("unknown operation"), "{e}");
        let e = parse(&OK.replace("users = 3", "users = 0"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.toml:7:"), "{e}");
        let e = parse(&OK.replace("retr 1k.bin", "retr nope.bin"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"nope.bin\" is not in [files]"), "{e}");
        assert!(e.starts_with("s.toml:9:"), "{e}");
        let e = parse(&OK.replace("passive = 1,", "pasive = 1,"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("pasive"), "{e}");
    }

    /// Clients whose start falls after the end would never run; a ramp as
    /// long as the run still starts the last one before it ends.
    #[test]
    fn a_ramp_longer_than_the_run_is_refused() {
        let ramp = |r: &str| {
            OK.replace(
                "duration = \"2s\"",
                &format!("duration = \"2s\"\nramp_up = \"{r}\""),
            )
        };
        let e = parse(&ramp("3s")).unwrap_err().to_string();
        assert!(e.starts_with("s.toml:4:"), "{e}");
        assert!(
            e.contains("ramp_up (3s) is longer than the run's duration (2s)"),
            "{e}"
        );
        assert_eq!(parse(&ramp("2s")).unwrap().ramp_up, Duration::from_secs(2));
    }

    /// Two groups of u32::MAX users overflowed the users' sum while parsing
    /// (seen looking for other u32 sums after the fuzzer's mix overflow); the
    /// sum is now u64, and refused past the most one process may hold.
    #[test]
    fn users_summing_past_the_maximum_are_refused_not_overflowed() {
        let text = format!("{OK}[[group]]\nname = \"b\"\nusers = 4294967295\nops = [\"noop\"]\n")
            .replace("users = 3", "users = 4294967295");
        let e = parse(&text).unwrap_err().to_string();
        assert!(
            e.contains("8589934590 users in all: at most 1000000 in one process"),
            "{e}"
        );
        let at_most = OK.replace("users = 3", "users = 1000000");
        assert_eq!(parse(&at_most).unwrap().total_users(), 1_000_000);
        let rate = |r: &str| {
            let text = OK.replace("[run]\n", &format!("[run]\nrate = {r}\n"));
            parse(&text).map(|p| p.open_loop.map(|o| o.rate))
        };
        assert_eq!(rate("\"1000000/s\"").unwrap(), Some(1e6));
        for r in ["\"1e308/s\"", "1e7", "\"1000001/s\""] {
            let e = rate(r).unwrap_err().to_string();
            assert!(
                e.contains("above the most one process can offer"),
                "{r}: {e}"
            );
        }
    }

    #[test]
    fn run_needs_exactly_one_stop() {
        let e = parse(&OK.replace("duration = \"2s\"", ""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs duration"), "{e}");
        let e = parse(&OK.replace("duration = \"2s\"", "duration = \"2s\"\niterations = 5"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("both"), "{e}");
    }

    #[test]
    fn flags_override_the_file() {
        let o = Overrides {
            target: Some("ftp://bob@127.0.0.1:2121".into()),
            password: Some("pw".into()),
            modes: vec![Mode::Eprt],
            users: Some(10),
            iterations: Some(7),
            ..Overrides::default()
        };
        let p = Plan::parse(OK, Path::new("s.toml"), &o).unwrap();
        assert_eq!(p.stop, Stop::Iterations(7));
        assert_eq!(p.groups[0].users, 10);
        assert_eq!(p.groups[0].modes, vec![(Mode::Eprt, 1)]);
        match &p.target {
            TargetPlan::External {
                host,
                port,
                user,
                password,
                ..
            } => {
                assert_eq!(
                    (host.as_str(), *port, user.as_str(), password.as_str()),
                    ("127.0.0.1", 2121, "bob", "pw")
                );
            }
            t => panic!("{t:?}"),
        }
        let json = serde_json::to_string(&p).unwrap();
        assert!(!json.contains("\"pw\""), "password leaked into {json}");
    }

    #[test]
    fn debug_hides_the_password_given_either_way() {
        for (url, password) in [
            ("ftp://bob:pw-f00d@127.0.0.1:2121", None),
            ("ftp://bob@127.0.0.1:2121", Some("pw-f00d".to_string())),
        ] {
            let o = Overrides {
                target: Some(url.into()),
                password,
                ..Overrides::default()
            };
            let p = Plan::parse(OK, Path::new("s.toml"), &o).unwrap();
            for shown in [
                format!("{o:?}"),
                format!("{p:?}"),
                format!("{:?}", p.target),
            ] {
                assert!(!shown.contains("pw-f00d"), "{shown}");
                assert!(shown.contains("****"), "{shown}");
            }
        }
    }

    #[test]
    fn connects_are_spread_by_default() {
        let p = parse(OK).unwrap();
        assert_eq!(
            p.ramp_up,
            Duration::from_millis(40),
            "3 clients, 20 ms apart"
        );
        let o = Overrides {
            users: Some(1000),
            ..Overrides::default()
        };
        let p = Plan::parse(OK, Path::new("s.toml"), &o).unwrap();
        assert_eq!(
            p.ramp_up,
            Duration::from_millis(500),
            "capped at a quarter of 2 s"
        );
        let p =
            parse(&OK.replace("duration = \"2s\"", "duration = \"2s\"\nramp_up = \"0s\"")).unwrap();
        assert_eq!(p.ramp_up, Duration::ZERO);
    }

    #[test]
    fn user_stages_make_a_closed_loop_and_set_the_length() {
        let text = r#"
[files]
"1k.bin" = "1KiB"
[run]
[[run.stages]]
duration = "2s"
users = 8
[[run.stages]]
duration = "3s"
users = 4
[[group]]
name = "a"
users = 3
ops = ["retr 1k.bin:3,1k.bin:1"]
[[group]]
name = "b"
users = 1
transfers_per_session = 1
ops = ["stor 1KiB..2KiB", "stor lognormal 4KiB 0.5"]
"#;
        let p = Plan::parse(text, Path::new("s.toml"), &Overrides::default()).unwrap();
        assert!(p.open_loop.is_none());
        assert_eq!(p.user_stages.as_ref().unwrap().max_users(), 8);
        assert_eq!(p.stop, Stop::Duration(Duration::from_secs(5)));
        // The groups share the largest stage in proportion.
        assert_eq!(p.groups.iter().map(|g| g.users).collect::<Vec<_>>(), [6, 2]);
        assert_eq!(p.groups[1].transfers_per_session, Some(1));
        let bad = |t: &str| {
            Plan::parse(t, Path::new("s.toml"), &Overrides::default())
                .unwrap_err()
                .to_string()
        };
        let mixed = text.replace("users = 4", "rate = \"5/s\"");
        assert!(
            bad(&mixed).contains("not both") || bad(&mixed).contains("no rate"),
            "{}",
            bad(&mixed)
        );
        let ramp = text.replace("[run]", "[run]\nramp_up = \"1s\"");
        assert!(bad(&ramp).contains("drop ramp_up"), "{}", bad(&ramp));
        let missing = text.replace("retr 1k.bin:3,1k.bin:1", "retr 1k.bin:3,2k.bin:1");
        assert!(
            bad(&missing).contains("\"2k.bin\" is not in [files]"),
            "{}",
            bad(&missing)
        );
        let dup = text.replace("name = \"b\"", "name = \"a\"");
        assert!(bad(&dup).contains("two groups are named"), "{}", bad(&dup));
    }
}
