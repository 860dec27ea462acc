//! Workload models against the embedded target: client groups reported
//! apart and together, closed-loop user stages, file sizes drawn from lists
//! and distributions, a new login per transfer, and every open-loop arrival
//! accounted for when the run is cut off.

use ftpload::metrics::Metric;
use ftpload::proto::Mode;
use ftpload::scenario::Overrides;

use crate::util::harness::run_scenario;

const GROUPS_AND_STAGES: &str = r#"
[files]
"1k.bin" = "1KiB"
"64k.bin" = "64KiB"
[run]
seed = 3
[[run.stages]]
duration = "2s"
users = 6
[[run.stages]]
duration = "1s"
users = 6
[[run.stages]]
duration = "2s"
users = 0
[[group]]
name = "readers"
users = 2
modes = { passive = 1, active = 1 }
think = "20ms"
ops = ["retr 1k.bin:3,64k.bin:1", "list"]
[[group]]
name = "writers"
users = 1
mode = "epsv"
transfers_per_session = 1
think = "20ms"
ops = ["stor 1KiB..2KiB", "stor 1KiB..2KiB"]
"#;

#[test]
fn groups_stages_sizes_and_a_login_per_transfer() {
    let ran = run_scenario(GROUPS_AND_STAGES, &Overrides::default(), "groups-stages");
    let r = &ran.result;
    assert_eq!(r.error_count(), 0, "{:?}", r.modes);

    // Per group, and their sum is the run's `modes`.
    let names: Vec<&str> = r.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["readers", "writers"]);
    assert_eq!(
        r.groups[0].users + r.groups[1].users,
        6,
        "shares of the largest stage"
    );
    for (mode, m) in &r.modes {
        let parts: Vec<_> = r.groups.iter().filter_map(|g| g.modes.get(mode)).collect();
        assert!(!parts.is_empty(), "{mode} comes from some group");
        let sum = |f: &dyn Fn(&ftpload::metrics::Counters) -> u64| {
            parts.iter().map(|p| f(&p.counters)).sum::<u64>()
        };
        assert_eq!(sum(&|c| c.sessions), m.counters.sessions, "{mode} sessions");
        assert_eq!(
            sum(&|c| c.transfers),
            m.counters.transfers,
            "{mode} transfers"
        );
        assert_eq!(sum(&|c| c.bytes_down), m.counters.bytes_down, "{mode}");
        for metric in Metric::ALL {
            let n: u64 = parts.iter().map(|p| p.metrics[&metric].count).sum();
            assert_eq!(n, m.metrics[&metric].count, "{mode} {metric:?}");
        }
    }
    assert!(!r.groups[0].modes.contains_key(&Mode::Epsv));

    // A new login per transfer: one session per upload.
    let w = &r.groups[1].modes[&Mode::Epsv].counters;
    assert!(w.transfers >= 10, "{w:?}");
    assert_eq!(w.sessions, w.transfers, "a login per transfer: {w:?}");
    // Upload sizes drawn between the bounds, and not all the same.
    let mean_up = w.bytes_up as f64 / w.transfers as f64;
    assert!((1024.0..=2048.0).contains(&mean_up), "{mean_up}");
    assert!(
        w.bytes_up != 1024 * w.transfers && w.bytes_up != 2048 * w.transfers,
        "sizes vary"
    );

    // Downloads drawn 3:1 between 1 KiB and 64 KiB (the LISTs move few bytes
    // and are counted apart: half the readers' transfers are listings).
    let mut big = 0.0;
    let mut retrs = 0.0;
    for mode in [Mode::Passive, Mode::Active] {
        let c = &r.groups[0].modes[&mode].counters;
        let n = (c.transfers / 2) as f64;
        // bytes_down = small*1024 + big*65536 + listings; listings are small.
        let b = (c.bytes_down as f64 - n * 1024.0) / (65536.0 - 1024.0);
        big += b.round();
        retrs += n;
    }
    let share = big / retrs;
    assert!(
        (0.12..0.40).contains(&share),
        "64k.bin drawn {share:.2} of the time, expected ~0.25"
    );
    // Each drawn file counts under its own name, and the uploads of a
    // drawn size under the operation as written.
    for mode in [Mode::Passive, Mode::Active] {
        let ops: Vec<&str> = r.modes[&mode]
            .operations
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(ops, ["list", "retr 1k.bin", "retr 64k.bin"], "{mode}");
        let count = |op: &str| r.modes[&mode].operations[op][&Metric::Transfer].count;
        let all = count("list") + count("retr 1k.bin") + count("retr 64k.bin");
        assert_eq!(all, r.modes[&mode].counters.transfers, "{mode}");
        assert!(
            count("retr 1k.bin") > 0 && count("retr 64k.bin") > 0,
            "{mode}"
        );
    }
    let ops: Vec<&str> = r.modes[&Mode::Epsv]
        .operations
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(ops, ["stor 1KiB..2KiB"]);

    // The stages: clients rise to 6, then fall to none.
    let tl = &r.timeline;
    let clients: Vec<u64> = tl.iter().map(|i| i.clients).collect();
    let peak = *clients.iter().max().unwrap();
    assert!(peak <= 6, "{clients:?}");
    assert!(peak >= 5, "{clients:?}");
    assert!(clients[0] < peak, "a ramp, not a burst: {clients:?}");
    assert!(
        tl.iter().any(|i| i.t_s >= 4 && i.clients < peak),
        "the last stage takes clients away: {clients:?}"
    );
    assert!(
        tl.iter().all(|i| i.offered.is_none()),
        "closed loop offers nothing ahead"
    );
}

#[test]
fn every_open_loop_arrival_is_accounted_for_when_the_run_is_cut_off() {
    // One client, 20 arrivals in the first second, each holding a data
    // channel for 4 s, and a max_wait longer than the grace period: most
    // arrivals are still waiting when the run is cut off.
    let toml = r#"
[run]
rate = "20/s"
duration = "1s"
max_wait = "60s"
[[group]]
users = 1
mode = "passive"
ops = ["hold 4s"]
"#;
    let ran = run_scenario(toml, &Overrides::default(), "unstarted");
    let r = &ran.result;
    let c = &r.modes[&Mode::Passive].counters;
    let offered: u64 = r.timeline.iter().filter_map(|i| i.offered).sum();
    // Uniform arrivals 50 ms apart within the first second.
    assert!((19..=20).contains(&offered), "{:?}", r.timeline);
    assert!(c.unstarted >= 10, "{c:?}");
    assert_eq!(
        c.iterations
            + c.iterations_failed
            + c.dropped.get().unwrap()
            + c.unstarted.get().unwrap()
            + r.cut_off.get().unwrap(),
        offered,
        "every arrival ran, was dropped, was cut off or never started: {c:?}, cut_off {}",
        r.cut_off
    );
    let started: u64 = r.timeline.iter().map(|i| i.started.get().unwrap()).sum();
    assert_eq!(
        started,
        c.iterations + c.iterations_failed + r.cut_off.get().unwrap()
    );
}
