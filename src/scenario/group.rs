//! One `[[group]]` validated into a [`GroupPlan`]: its mode weights, its
//! operations (listed, or a weighted mix) and the files they read.

use std::collections::BTreeMap;
use toml::Spanned;

use super::file::GroupSection;
use super::{GroupPlan, Mix, Op, Overrides, TargetPlan};
use crate::proto::Mode;

impl GroupPlan {
    /// Group `gi` of the file. An error points at the group, or at the
    /// operation that reads an undeclared file.
    pub(super) fn from_file(
        gi: usize,
        section: &Spanned<GroupSection>,
        o: &Overrides,
        target: &TargetPlan,
        files: &BTreeMap<String, u64>,
    ) -> Result<GroupPlan, Spanned<String>> {
        let in_group = |m: String| Spanned::new(section.span(), format!("group {gi}: {m}"));
        let g = section.get_ref();
        let modes = modes(g, o).map_err(in_group)?;
        let mix = mix(g).map_err(in_group)?;
        if matches!(target, TargetPlan::Embedded { .. }) {
            files_declared(section, mix.as_ref(), files)?;
        }
        Ok(GroupPlan {
            name: g.name.clone().unwrap_or_else(|| format!("group{gi}")),
            users: g.users.get(),
            modes,
            session: g.session,
            bandwidth: g.bandwidth.map(|b| b.0),
            think: g.think,
            transfers_per_session: g.transfers_per_session.map(|n| n.get()),
            ops: g.ops.iter().map(|o| o.get_ref().clone()).collect(),
            mix,
        })
    }
}

/// The mode weights: the flags' modes in equal shares, else `mode` or
/// `modes` (weights of zero dropped), else passive alone.
fn modes(g: &GroupSection, o: &Overrides) -> Result<Vec<(Mode, u32)>, String> {
    let modes: Vec<(Mode, u32)> = match (&g.mode, &g.modes) {
        _ if !o.modes.is_empty() => o.modes.iter().map(|m| (*m, 1)).collect(),
        (Some(m), None) => vec![(*m, 1)],
        (None, Some(ms)) => ms
            .iter()
            .filter(|(_, w)| **w > 0)
            .map(|(m, w)| (*m, *w))
            .collect(),
        (None, None) => vec![(Mode::Passive, 1)],
        (Some(_), Some(_)) => return Err("set mode or modes, not both".into()),
    };
    if modes.is_empty() {
        return Err(
            "modes has no weight above zero: give at least one mode a weight, e.g. modes = { passive = 1 }"
                .into(),
        );
    }
    Ok(modes)
}

/// The weighted mix, when the group draws its operations instead of
/// listing them; a group does one or the other.
fn mix(g: &GroupSection) -> Result<Option<Mix>, String> {
    let Some(m) = &g.mix else {
        if g.ops.is_empty() {
            return Err("ops is empty: list at least one operation, e.g. ops = [\"retr 1k.bin\"], or give a mix".into());
        }
        return Ok(None);
    };
    if !g.ops.is_empty() {
        return Err("set ops or mix, not both".into());
    }
    let mut choices = Vec::new();
    for (k, w) in m {
        let op: Op = k.parse().map_err(|e| format!("mix: {e}"))?;
        if *w > 0 {
            choices.push((op, *w));
        }
    }
    if choices.is_empty() {
        return Err("mix has no weight above zero".into());
    }
    Ok(Some(Mix {
        choices,
        steps: g.mix_steps.unwrap_or(100).max(1),
    }))
}

/// Every file the group's operations read is in `[files]`, as the embedded
/// target needs: it serves only those. A listed operation is pointed at
/// itself, one of a mix at the group.
fn files_declared(
    section: &Spanned<GroupSection>,
    mix: Option<&Mix>,
    files: &BTreeMap<String, u64>,
) -> Result<(), Spanned<String>> {
    let listed = section
        .get_ref()
        .ops
        .iter()
        .map(|o| (o.get_ref(), o.span()));
    let drawn = mix
        .into_iter()
        .flat_map(|m| m.choices.iter().map(|(op, _)| (op, section.span())));
    for (op, span) in listed.chain(drawn) {
        if let Some(name) = op
            .files_read()
            .into_iter()
            .find(|n| !files.contains_key(*n))
        {
            return Err(Spanned::new(span, format!("{name:?} is not in [files]: the embedded target serves only the files declared there")));
        }
    }
    Ok(())
}
