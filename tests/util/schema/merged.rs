//! What a merge must give, worked out here from its inputs rather than taken
//! from `try_merge`, so a merge that drops or averages something cannot pass
//! by describing itself.

use std::collections::{BTreeMap, BTreeSet};

use ftpload::proto::Mode;
use ftpload::result::timeline::Interval;
use ftpload::result::{decode_hdr, encode_hdr, ChannelsResult, MetricResult};

use super::port_set;

/// What merging two modes' `channels` must give: histograms add, peaks take
/// the larger, port sets unite, outside counts add, the earlier exhaustion.
pub fn assert_channels_merged(
    at: &str,
    mode: Mode,
    a: &ChannelsResult,
    b: &ChannelsResult,
    m: &ChannelsResult,
) {
    let histograms: [(&str, &MetricResult, &MetricResult, &MetricResult); 4] = [
        (
            "reuse_interval",
            &a.reuse_interval,
            &b.reuse_interval,
            &m.reuse_interval,
        ),
        ("pending", &a.pending, &b.pending, &m.pending),
        ("open", &a.open, &b.open, &m.open),
        ("in_use", &a.in_use, &b.in_use, &m.in_use),
    ];
    for (name, x, y, z) in histograms {
        let at = format!("{at}.{name}");
        let mut sum = decode_hdr(&x.hdr).unwrap();
        sum.add(decode_hdr(&y.hdr).unwrap()).unwrap();
        assert_eq!(decode_hdr(&z.hdr).unwrap(), sum, "{at}: merged hdr");
        assert_eq!(z.count, x.count + y.count, "{at}: count");
        assert_eq!(z.unit, x.unit, "{at}: unit");
        if !sum.is_empty() {
            assert_eq!((z.min, z.max), (sum.min(), sum.max()), "{at}: min max");
            assert_eq!(z.p99, sum.value_at_quantile(0.99), "{at}: p99");
        }
    }
    assert_eq!(m.peak_pending, a.peak_pending.max(b.peak_pending), "{at}");
    assert_eq!(m.peak_open, a.peak_open.max(b.peak_open), "{at}");
    assert_eq!(m.peak_in_use, a.peak_in_use.max(b.peak_in_use), "{at}");
    let union: BTreeSet<u16> = port_set(&a.server_ports)
        .union(&port_set(&b.server_ports))
        .copied()
        .collect();
    assert_eq!(port_set(&m.server_ports), union, "{at}: ports unite");
    assert_eq!(m.distinct_server_ports as usize, union.len(), "{at}");
    assert_eq!(m.server_port_min, union.first().copied(), "{at}");
    assert_eq!(m.server_port_max, union.last().copied(), "{at}");
    assert_eq!(
        m.outside_declared_range,
        a.outside_declared_range + b.outside_declared_range,
        "{at}"
    );
    assert_eq!(m.declared_range, a.declared_range.or(b.declared_range));
    let utilisation = m
        .declared_range
        .filter(|_| !mode.is_active())
        .map(|r| m.peak_in_use as f64 / f64::from(r.size()));
    assert_eq!(m.peak_range_utilisation, utilisation, "{at}: recomputed");
    let earliest = match (&a.exhaustion, &b.exhaustion) {
        (Some(x), Some(y)) => Some(if y.at_s < x.at_s { y } else { x }),
        (x, y) => x.as_ref().or(y.as_ref()),
    };
    assert_eq!(
        m.exhaustion.as_ref(),
        earliest,
        "{at}: the earliest exhaustion"
    );
}

/// What merging two timelines must give: intervals of the same `t_s` add
/// field by field (gauges too); the others are taken as they are; by `t_s`.
pub fn assert_timeline_merged(a: &[Interval], b: &[Interval], merged: &[Interval]) {
    let mut want: BTreeMap<u32, Interval> = BTreeMap::new();
    for i in a.iter().chain(b) {
        let w = want.entry(i.t_s).or_insert_with(|| Interval {
            t_s: i.t_s,
            ..Interval::default()
        });
        w.clients += i.clients;
        w.time_wait += i.time_wait;
        w.started += i.started;
        if let Some(o) = i.offered {
            w.offered = Some(w.offered.unwrap_or(0) + o);
        }
        for (mode, x) in &i.modes {
            let e = w.modes.entry(*mode).or_default();
            e.sessions += x.sessions;
            e.transfers += x.transfers;
            e.errors += x.errors;
            e.iterations += x.iterations;
            e.bytes += x.bytes;
            e.sessions_open += x.sessions_open;
            e.peak_pending += x.peak_pending;
            e.peak_open += x.peak_open;
            // Interval histograms add: the merged count is the sum, and the
            // merged histogram holds both sides' values.
            for (metric, m) in &x.metrics {
                let h = decode_hdr(&m.hdr).unwrap();
                match e.metrics.get_mut(metric) {
                    Some(have) => {
                        let mut sum = decode_hdr(&have.hdr).unwrap();
                        sum.add(&h).unwrap();
                        have.count += m.count;
                        have.max = have.max.max(m.max);
                        have.hdr = encode_hdr(&sum);
                    }
                    None => {
                        e.metrics.insert(*metric, m.clone());
                    }
                }
            }
        }
    }
    let want: Vec<Interval> = want.into_values().collect();
    assert_eq!(merged.len(), want.len(), "timelines merge by t_s");
    for (m, w) in merged.iter().zip(&want) {
        assert_eq!(
            (m.t_s, m.clients, m.time_wait, m.started, m.offered),
            (w.t_s, w.clients, w.time_wait, w.started, w.offered),
            "second {}",
            w.t_s
        );
        assert_eq!(
            m.modes.keys().collect::<Vec<_>>(),
            w.modes.keys().collect::<Vec<_>>()
        );
        for (mode, mm) in &m.modes {
            let ww = &w.modes[mode];
            assert_eq!(
                (
                    mm.sessions,
                    mm.transfers,
                    mm.errors,
                    mm.iterations,
                    mm.peak_pending,
                    mm.peak_open
                ),
                (
                    ww.sessions,
                    ww.transfers,
                    ww.errors,
                    ww.iterations,
                    ww.peak_pending,
                    ww.peak_open
                ),
                "second {} {mode}",
                w.t_s
            );
            assert_eq!(
                mm.metrics.keys().collect::<Vec<_>>(),
                ww.metrics.keys().collect::<Vec<_>>()
            );
            for (metric, x) in &mm.metrics {
                let y = &ww.metrics[metric];
                let (hx, hy) = (decode_hdr(&x.hdr).unwrap(), decode_hdr(&y.hdr).unwrap());
                assert_eq!(
                    (x.count, x.max),
                    (y.count, y.max),
                    "second {} {mode} {metric:?}",
                    w.t_s
                );
                assert_eq!(hx.len(), x.count);
                assert_eq!(hx.value_at_quantile(0.99), hy.value_at_quantile(0.99));
                assert_eq!(x.p99, hx.value_at_quantile(0.99), "p99 recomputed");
            }
        }
    }
}
