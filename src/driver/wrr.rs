//! Who gets what, in order: smooth weighted round robin interleaves the
//! groups' clients by their users, and a group's clients over its mode weights.

use crate::proto::Mode;
use crate::scenario::{GroupPlan, Plan};

/// Smooth weighted round robin (as nginx balances upstreams): picks indexes
/// in proportion to their weights, evenly interleaved, deterministically.
#[derive(Debug, Clone)]
pub struct Wrr {
    weights: Vec<i64>,
    current: Vec<i64>,
    total: i64,
}

impl Wrr {
    pub fn new(weights: Vec<u32>) -> Wrr {
        let weights: Vec<i64> = weights.into_iter().map(i64::from).collect();
        Wrr {
            current: vec![0; weights.len()],
            total: weights.iter().sum(),
            weights,
        }
    }

    /// The next index; ties go to the earlier one.
    pub fn pick(&mut self) -> usize {
        for (c, w) in self.current.iter_mut().zip(&self.weights) {
            *c += w;
        }
        let pick = (0..self.current.len())
            .rev()
            .max_by_key(|&k| self.current[k])
            .unwrap_or(0);
        self.current[pick] -= self.total;
        pick
    }
}

/// The modes of the group's clients in order: any prefix of clients is
/// as close to the mode weights as integers allow.
pub fn client_modes(g: &GroupPlan) -> impl Iterator<Item = Mode> + '_ {
    let mut wrr = Wrr::new(g.modes.iter().map(|(_, w)| *w).collect());
    (0..g.users).map(move |_| g.modes[wrr.pick()].0)
}

/// This process's clients of the whole run, in the order the closed loop
/// starts them: `(k, group, mode)`, groups interleaved by their users and
/// each group's clients over its mode weights. `k` numbers the whole run's
/// clients; with `--shard`, the others' are walked past, so every client
/// keeps the id, mode and ramp position it has in the one run.
pub fn own_clients(plan: &Plan) -> impl Iterator<Item = (u64, usize, Mode)> + '_ {
    let mut pick = Wrr::new(plan.groups.iter().map(|g| g.users).collect());
    let mut modes: Vec<_> = plan.groups.iter().map(client_modes).collect();
    (0..plan.total_users())
        .filter_map(move |k| {
            let gi = pick.pick();
            modes[gi].next().map(|m| (k, gi, m))
        })
        .filter(|&(k, _, _)| plan.takes(k))
}

/// Every mode some client of the plan uses, in order.
pub fn modes(plan: &Plan) -> Vec<Mode> {
    let mut v: Vec<Mode> = plan.groups.iter().flat_map(client_modes).collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Op, Overrides, SessionModel};
    use std::path::Path;

    #[test]
    fn mode_weights_are_spread_smoothly() {
        let g = GroupPlan {
            name: "g".into(),
            users: 6,
            modes: vec![(Mode::Passive, 2), (Mode::Active, 1)],
            session: SessionModel::PerIteration,
            bandwidth: None,
            think: None,
            transfers_per_session: None,
            ops: vec![Op::Noop],
            mix: None,
        };
        let m: Vec<Mode> = client_modes(&g).collect();
        assert_eq!(m.iter().filter(|m| **m == Mode::Passive).count(), 4);
        assert_eq!(m[..3].iter().filter(|m| **m == Mode::Active).count(), 1);
    }

    #[test]
    fn equal_mode_weights_take_turns_in_mode_order() {
        let text = r#"
[files]
"1k.bin" = "1KiB"
[run]
duration = "2s"
[[group]]
users = 3
modes = { passive = 1, epsv = 1, active = 1 }
ops = ["retr 1k.bin", "stor 1KiB", "list"]
"#;
        let p = Plan::parse(text, Path::new("s.toml"), &Overrides::default()).unwrap();
        let modes: Vec<Mode> = client_modes(&p.groups[0]).collect();
        assert_eq!(modes, [Mode::Passive, Mode::Epsv, Mode::Active]);
    }
}
