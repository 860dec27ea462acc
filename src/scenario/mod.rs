//! Scenarios: the TOML a user writes, flags that override it, and the
//! validated [`Plan`] that everything downstream trusts without re-checking.

mod dist;
mod file;
pub mod load;
mod op;
mod plan;
pub mod think;
pub mod units;
mod url;

pub use dist::{Files, Sizes, Weighted};
pub use file::SessionModel;
pub use op::Op;
pub use plan::{
    GroupPlan, Mix, Overrides, Plan, Stop, TargetPlan, DEFAULT_MAX_WAIT, DEFAULT_RAMP_PER_CLIENT,
    DEFAULT_RETRY_PAUSE, EMBEDDED_PASSWORD, EMBEDDED_USER,
};
pub use url::{external_target, Malformed, UrlError};

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::proto::PortRange;
use crate::proto::{DataOptions, Mode, Timeouts};
use file::ScenarioFile;

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
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
}

impl Plan {
    pub fn load(path: &Path, o: &Overrides) -> Result<Plan, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Plan::parse(&text, path, o)
    }

    /// Parses and validates `text`; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path, o: &Overrides) -> Result<Plan, ScenarioError> {
        let at = |span: Option<Range<usize>>, message: String| match span {
            Some(span) => {
                let (line, column) = line_col(text, span.start);
                ScenarioError::At {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message,
                }
            }
            None => ScenarioError::Invalid {
                path: path.to_path_buf(),
                message,
            },
        };
        let f: ScenarioFile =
            toml::from_str(text).map_err(|e| at(e.span(), e.message().to_string()))?;

        let name = f.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "scenario".into())
        });
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(at(None, format!("name {name:?} must be non-empty ASCII letters, digits, '-', '_' or '.': it names the result file")));
        }

        let target = target_plan(&f, o).map_err(|m| at(None, m))?;

        let run_span = Some(f.run.span());
        let run = f.run.get_ref();
        let open_loop = open_loop_plan(run, o).map_err(|m| at(run_span.clone(), m))?;
        let user_stages = user_stages_plan(run, o).map_err(|m| at(run_span.clone(), m))?;
        let iterations = o.iterations.or(run.iterations);
        // Stages set the run's length unless it ends by count.
        let stages_length = open_loop
            .as_ref()
            .map(|ol| ol.stages_duration())
            .or(user_stages.as_ref().map(|u| u.duration()));
        let duration = o.duration.or(run.duration.map(|d| d.0)).or_else(|| {
            stages_length
                .filter(|_| iterations.is_none())
                .filter(|d| !d.is_zero())
        });
        let stop = match (duration, iterations) {
            (Some(d), None) if !d.is_zero() => Stop::Duration(d),
            (None, Some(n)) if n > 0 => Stop::Iterations(n),
            (Some(_), Some(_)) if o.duration.is_some() => Stop::Duration(duration.unwrap()),
            (Some(_), Some(_)) if o.iterations.is_some() => Stop::Iterations(iterations.unwrap()),
            (Some(_), Some(_)) => {
                return Err(at(
                    run_span,
                    "[run] sets both duration and iterations: keep one".into(),
                ))
            }
            (None, None) => {
                return Err(at(
                    run_span,
                    "[run] needs duration (e.g. \"30s\") or iterations (e.g. 100)".into(),
                ))
            }
            _ => {
                return Err(at(
                    run_span,
                    "[run] duration and iterations must be above zero".into(),
                ))
            }
        };
        let workers = o.workers.or(run.workers).unwrap_or_else(default_workers);
        if workers == 0 || workers > 256 {
            return Err(at(
                run_span,
                format!("[run] workers = {workers}: expected 1 to 256"),
            ));
        }
        let explicit_ramp = o.ramp_up.or(run.ramp_up.map(|d| d.0));

        let d = Timeouts::default();
        let t = &f.timeouts;
        let pick = |v: Option<units::HumanDuration>, def: Duration| v.map(|v| v.0).unwrap_or(def);
        let timeouts = Timeouts {
            connect: pick(t.connect, d.connect),
            banner: pick(t.banner, d.banner),
            reply: pick(t.reply, d.reply),
            data_connect: pick(t.data_connect, d.data_connect),
            accept: pick(t.accept, d.accept),
            transfer_idle: pick(t.transfer_idle, d.transfer_idle),
        };
        let data = DataOptions {
            follow_pasv_address: o.follow_pasv_address || f.data.follow_pasv_address,
            active_ports: o.active_ports.or(f.data.active_ports),
        };
        let files: BTreeMap<String, u64> = f.files.iter().map(|(k, v)| (k.clone(), v.0)).collect();
        for name in files.keys() {
            if name.is_empty()
                || name.contains(['/', '\\', '\r', '\n'])
                || name == "."
                || name == ".."
            {
                return Err(at(
                    None,
                    format!("[files] {name:?}: a file name must be a plain name, without '/'"),
                ));
            }
        }

        if f.groups.is_empty() {
            return Err(at(
                None,
                "no [[group]]: a scenario needs at least one group of virtual clients".into(),
            ));
        }
        let mut groups = Vec::new();
        for (gi, g) in f.groups.iter().enumerate() {
            let span = Some(g.span());
            let g = g.get_ref();
            let modes: Vec<(Mode, u32)> = match (&g.mode, &g.modes) {
                _ if !o.modes.is_empty() => o.modes.iter().map(|m| (*m, 1)).collect(),
                (Some(m), None) => vec![(*m, 1)],
                (None, Some(ms)) => ms
                    .iter()
                    .filter(|(_, w)| **w > 0)
                    .map(|(m, w)| (*m, *w))
                    .collect(),
                (None, None) => vec![(Mode::Passive, 1)],
                (Some(_), Some(_)) => {
                    return Err(at(span, format!("group {gi}: set mode or modes, not both")))
                }
            };
            if modes.is_empty() {
                return Err(at(
                    span,
                    format!("group {gi}: modes has no weight above zero"),
                ));
            }
            let mix = match &g.mix {
                Some(_) if !g.ops.is_empty() => {
                    return Err(at(span, format!("group {gi}: set ops or mix, not both")))
                }
                Some(m) => {
                    let mut choices = Vec::new();
                    for (k, w) in m {
                        let op: Op = k
                            .parse()
                            .map_err(|e| at(span.clone(), format!("group {gi}: mix: {e}")))?;
                        if *w > 0 {
                            choices.push((op, *w));
                        }
                    }
                    if choices.is_empty() {
                        return Err(at(
                            span,
                            format!("group {gi}: mix has no weight above zero"),
                        ));
                    }
                    Some(Mix {
                        choices,
                        steps: g.mix_steps.unwrap_or(100).max(1),
                    })
                }
                None if g.ops.is_empty() => {
                    return Err(at(span, format!("group {gi}: ops is empty: list at least one operation, e.g. ops = [\"retr 1k.bin\"], or give a mix")));
                }
                None => None,
            };
            let embedded = matches!(target, TargetPlan::Embedded { .. });
            let mix_ops = mix
                .iter()
                .flat_map(|m| m.choices.iter().map(|(o, _)| (o, span.clone())));
            for (op, span) in g
                .ops
                .iter()
                .map(|o| (o.get_ref(), Some(o.span())))
                .chain(mix_ops)
            {
                for name in op.files_read() {
                    if embedded && !files.contains_key(name) {
                        return Err(at(span, format!("{name:?} is not in [files]: the embedded target serves only the files declared there")));
                    }
                }
            }
            groups.push(GroupPlan {
                name: g.name.clone().unwrap_or_else(|| format!("group{gi}")),
                users: g.users.get(),
                modes,
                session: g.session,
                bandwidth: g.bandwidth.map(|b| b.0),
                think: g.think,
                transfers_per_session: g.transfers_per_session.map(|n| n.get()),
                ops: g.ops.iter().map(|o| o.get_ref().clone()).collect(),
                mix,
            });
        }
        for (i, g) in groups.iter().enumerate() {
            if groups[..i].iter().any(|h| h.name == g.name) {
                return Err(at(
                    None,
                    format!(
                        "two groups are named {:?}: results report per group, so names must differ",
                        g.name
                    ),
                ));
            }
        }
        if let Some(stages) = &user_stages {
            // The groups' users become shares of the largest stage.
            spread_users(&mut groups, stages.max_users()).map_err(|m| at(run_span.clone(), m))?;
        } else if let Some(total) = o.users {
            spread_users(&mut groups, total).map_err(|m| at(None, m))?;
        }
        let users: u32 = groups.iter().map(|g| g.users).sum();
        let ramp_up = explicit_ramp.unwrap_or_else(|| default_ramp_up(users, stop));
        let declared_passive = match &target {
            TargetPlan::Embedded { passive_ports, .. } => Some(*passive_ports),
            TargetPlan::External { .. } => o
                .passive_range
                .or(f.target.as_ref().and_then(|t| t.passive_range)),
        };
        Ok(Plan {
            name,
            source: Some(path.to_path_buf()),
            declared_passive,
            open_loop,
            user_stages,
            seed: o.seed.or(run.seed).unwrap_or(0),
            target,
            files,
            stop,
            ramp_up,
            retry_pause: run.retry_pause.map(|d| d.0).unwrap_or(DEFAULT_RETRY_PAUSE),
            workers,
            timeouts,
            data,
            groups,
        })
    }
}

fn default_ramp_up(users: u32, stop: Stop) -> Duration {
    let cap = match stop {
        Stop::Duration(d) => (d / 4).min(Duration::from_secs(10)),
        Stop::Iterations(_) => Duration::from_secs(10),
    };
    (DEFAULT_RAMP_PER_CLIENT * users.saturating_sub(1)).min(cap)
}

/// Closed-loop stages, when `[[run.stages]]` give users rather than rates.
fn user_stages_plan(
    run: &file::RunSection,
    o: &Overrides,
) -> Result<Option<load::UserStages>, String> {
    if run.stages.iter().all(|s| s.users.is_none()) {
        return Ok(None);
    }
    if o.rate.is_some() || run.rate.is_some() {
        return Err("[[run.stages]] give users (closed loop) but [run] or --rate sets a rate (open loop): pick one".into());
    }
    if run.ramp_up.is_some() || o.ramp_up.is_some() {
        return Err("[[run.stages]] with users shape the ramp themselves: drop ramp_up".into());
    }
    if o.users.is_some() {
        return Err(
            "--users conflicts with [[run.stages]] users: the stages say how many run".into(),
        );
    }
    let mut stages = Vec::new();
    for (i, s) in run.stages.iter().enumerate() {
        let (Some(users), None) = (s.users, s.rate) else {
            return Err(format!("[[run.stages]] {i}: give users (closed loop) in every stage, or rate (open loop) in every stage, not both"));
        };
        if s.duration.0.is_zero() {
            return Err("[[run.stages]] duration must be above zero".into());
        }
        stages.push(load::UserStage {
            duration: s.duration.0,
            users,
        });
    }
    let stages = load::UserStages(stages);
    if stages.max_users() == 0 {
        return Err("every stage has users = 0: nobody would run".into());
    }
    Ok(Some(stages))
}

/// The open-loop part of `[run]`, when it asks for a rate.
fn open_loop_plan(run: &file::RunSection, o: &Overrides) -> Result<Option<load::OpenLoop>, String> {
    let rate = o.rate.or(run.rate.map(|r| r.0));
    if run.stages.iter().any(|s| s.users.is_some()) {
        return Ok(None);
    }
    if rate.is_none() && run.stages.is_empty() {
        if run.arrival.is_some() || run.max_wait.is_some() {
            return Err("[run] arrival and max_wait need an open loop: set rate or stages".into());
        }
        return Ok(None);
    }
    let mut stages = Vec::new();
    for (i, s) in run.stages.iter().enumerate() {
        let Some(rate) = s.rate else {
            return Err(format!("[[run.stages]] {i} has no rate: open-loop stages each need one, e.g. rate = \"100/s\""));
        };
        stages.push(load::Stage {
            duration: s.duration.0,
            rate: rate.0,
        });
    }
    if stages.iter().any(|s| s.duration.is_zero()) {
        return Err("[[run.stages]] duration must be above zero".into());
    }
    let rate = rate.unwrap_or(0.0);
    if rate == 0.0 && stages.iter().all(|s| s.rate == 0.0) {
        return Err("[run] rate and every stage's rate are zero: nothing would arrive".into());
    }
    Ok(Some(load::OpenLoop {
        rate,
        stages,
        arrival: run.arrival.unwrap_or_default(),
        max_wait: run.max_wait.map(|d| d.0).unwrap_or(DEFAULT_MAX_WAIT),
    }))
}

fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// Splits `--users N` over the groups in proportion to their own counts.
fn spread_users(groups: &mut [GroupPlan], total: u32) -> Result<(), String> {
    if (total as usize) < groups.len() {
        return Err(format!(
            "--users {total} is fewer than the {} groups",
            groups.len()
        ));
    }
    let sum: u64 = groups.iter().map(|g| u64::from(g.users)).sum();
    let mut given = 0u32;
    let n = groups.len();
    for (i, g) in groups.iter_mut().enumerate() {
        let share = if i + 1 == n {
            total - given
        } else {
            ((u64::from(total) * u64::from(g.users)) / sum).max(1) as u32
        };
        g.users = share.max(1);
        given += g.users;
    }
    Ok(())
}

fn target_plan(f: &ScenarioFile, o: &Overrides) -> Result<TargetPlan, String> {
    let url = o
        .target
        .clone()
        .or(f.target.as_ref().and_then(|t| t.url.clone()));
    match url {
        None => Ok(TargetPlan::Embedded {
            passive_ports: f.embedded.passive_ports.unwrap_or(PortRange {
                first: 20000,
                last: 27999,
            }),
            max_connections: f.embedded.max_connections,
            threads: f.embedded.threads.unwrap_or(1).max(1),
            user: EMBEDDED_USER.into(),
            password: EMBEDDED_PASSWORD.into(),
        }),
        Some(url) => external_target(&url, o.password.clone()).map_err(|e| e.to_string()),
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
mod tests;
