//! Which results are the shards of one run: each slice once, all cut the
//! same way, all of one scenario, seed and start instant, so that their
//! merge is that run and nothing else.

use crate::result::RunResult;

/// A result's `--shard`, as its scenario echo says: (I, N).
fn shard_of(r: &RunResult) -> Option<(u64, u64)> {
    let s = r.scenario.get("shard")?;
    Some((s.get("index")?.as_u64()?, s.get("count")?.as_u64()?))
}

/// For a merge of `--shard` results: `Some(why)` when a slice would count
/// twice, or the results cut the run into different numbers of shards, or
/// whole runs mix with shards. `Ok(true)`: every slice of the run is there,
/// so the merge is the whole run.
pub fn shards_complete(runs: &[&RunResult]) -> Result<bool, String> {
    let shards: Vec<Option<(u64, u64)>> = runs.iter().map(|r| shard_of(r)).collect();
    if shards.iter().all(Option::is_none) {
        return Ok(false);
    }
    let Some(all) = shards.iter().copied().collect::<Option<Vec<_>>>() else {
        return Err("some results are shards (--shard) and some whole runs".into());
    };
    let n = all[0].1;
    if let Some((_, m)) = all.iter().find(|(_, m)| *m != n) {
        return Err(format!("the shards cut the run into {n} and into {m}"));
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some((i, _)) = all.iter().find(|(i, _)| !seen.insert(*i)) {
        return Err(format!(
            "shard {i}/{n} is there twice: its slice would count twice"
        ));
    }
    Ok(seen.len() as u64 == n)
}

/// The slices of an N-shard run that `runs` lack, as "I/N" (empty when
/// they are no shards, or all there).
pub fn missing_shards(runs: &[&RunResult]) -> Vec<String> {
    let shards: Vec<(u64, u64)> = runs.iter().filter_map(|r| shard_of(r)).collect();
    let Some(&(_, n)) = shards.first() else {
        return Vec::new();
    };
    (1..=n)
        .filter(|i| !shards.iter().any(|(j, _)| j == i))
        .map(|i| format!("{i}/{n}"))
        .collect()
}

/// Marks a merge of every slice as the whole run: its scenario is no
/// longer a shard's.
pub fn as_whole_run(r: &mut RunResult) {
    if let Some(s) = r.scenario.as_object_mut() {
        s.remove("shard");
    }
}

/// The parts of a scenario echo that may differ between the shards of one
/// run: the slice itself, the worker threads (one per core of each
/// machine) and the scenario file's path (each machine's own mount).
const PER_SHARD: [&str; 3] = ["shard", "workers", "source"];

/// `Err(why)` naming the first of `runs` (with its label, e.g. its path)
/// that is not the same run as the first one: another scenario, seed,
/// start instant or any other setting of the plan, which would make the
/// merge describe no run.
pub fn same_run(runs: &[(&str, &RunResult)]) -> Result<(), String> {
    let Some(((first_label, first), rest)) = runs.split_first() else {
        return Ok(());
    };
    let key = |r: &RunResult| {
        let mut echo = r.scenario.clone();
        if let Some(o) = echo.as_object_mut() {
            o.retain(|k, _| !PER_SHARD.contains(&k.as_str()));
        }
        echo
    };
    let base = key(first);
    for (label, r) in rest {
        let other = key(r);
        if other == base {
            continue;
        }
        let field = (base.as_object().zip(other.as_object()))
            .and_then(|(a, b)| {
                a.keys()
                    .chain(b.keys())
                    .find(|k| a.get(*k) != b.get(*k))
                    .cloned()
            })
            .unwrap_or_else(|| "scenario".into());
        let show = |v: &serde_json::Value| match v.get(&field) {
            Some(x) => x.to_string(),
            None => "none".into(),
        };
        return Err(format!(
            "{label} is not a shard of the same run as {first_label}: its {field} is {} against {}",
            show(&other),
            show(&base)
        ));
    }
    Ok(())
}
