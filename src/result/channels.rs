//! The `channels` section of a mode: data-channel concurrency, server ports
//! and exhaustion, as JSON that merges as exactly as the rest.

use serde::{Deserialize, Serialize};

use super::{decode_hdr, MetricResult, ResultError};
use crate::metrics::{ChannelMetric, ChannelStats, Exhaustion, Metric, PortSet};
use crate::proto::{Mode, PortRange};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChannelsResult {
    /// Time between two announcements of the same server port (µs).
    pub reuse_interval: MetricResult,
    /// Samples every 100 ms of channels pending (announced or listening, not
    /// yet connected), open (connected), and both together.
    pub pending: MetricResult,
    pub open: MetricResult,
    pub in_use: MetricResult,
    pub peak_pending: i64,
    pub peak_open: i64,
    pub peak_in_use: i64,
    /// Server ports announced in 227/229 replies, as inclusive runs.
    pub server_ports: Vec<[u16; 2]>,
    pub distinct_server_ports: u32,
    pub server_port_min: Option<u16>,
    pub server_port_max: Option<u16>,
    /// The range the target's passive ports were declared to be in.
    pub declared_range: Option<PortRange>,
    /// Announcements outside the declared range: silent exhaustion.
    pub outside_declared_range: u64,
    /// Peak channels in use at once over the declared range's size.
    pub peak_range_utilisation: Option<f64>,
    /// The first exhaustion event of this mode, if any.
    pub exhaustion: Option<Exhaustion>,
}

impl ChannelsResult {
    pub fn from_stats(c: &ChannelStats, mode: Mode, declared: Option<PortRange>) -> Self {
        let runs = c.ports.runs();
        // Only passive modes draw on the server's range; active ones on the client's.
        let utilisation = declared
            .filter(|_| !mode.is_active())
            .map(|r| c.peak_in_use as f64 / f64::from(r.size()));
        ChannelsResult {
            reuse_interval: MetricResult::from_histogram(
                Metric::Transfer,
                c.histogram(ChannelMetric::ReuseInterval),
            ),
            pending: gauge(c.histogram(ChannelMetric::Pending)),
            open: gauge(c.histogram(ChannelMetric::Open)),
            in_use: gauge(c.histogram(ChannelMetric::InUse)),
            peak_pending: c.peak_pending,
            peak_open: c.peak_open,
            peak_in_use: c.peak_in_use,
            distinct_server_ports: c.ports.len(),
            server_port_min: runs.first().map(|r| r[0]),
            server_port_max: runs.last().map(|r| r[1]),
            server_ports: runs,
            declared_range: declared,
            outside_declared_range: c.outside_declared,
            peak_range_utilisation: utilisation,
            exhaustion: c.exhaustion.clone(),
        }
    }

    pub fn to_stats(&self, mode: Mode) -> Result<ChannelStats, ResultError> {
        let mut c = ChannelStats::default();
        for (m, r, name) in [
            (
                ChannelMetric::ReuseInterval,
                &self.reuse_interval,
                "reuse_interval",
            ),
            (ChannelMetric::Pending, &self.pending, "pending"),
            (ChannelMetric::Open, &self.open, "open"),
            (ChannelMetric::InUse, &self.in_use, "in_use"),
        ] {
            let bad = |message| ResultError::Hdr {
                mode,
                metric: name,
                message,
            };
            let decoded = decode_hdr(&r.hdr).map_err(bad)?;
            if !decoded.is_empty() {
                let h = c.histogram_mut(m);
                h.add(&decoded).map_err(|e| bad(format!("{e:?}")))?;
            }
        }
        c.peak_pending = self.peak_pending;
        c.peak_open = self.peak_open;
        c.peak_in_use = self.peak_in_use;
        c.ports = PortSet::from_runs(&self.server_ports);
        c.outside_declared = self.outside_declared_range;
        c.exhaustion = self.exhaustion.clone();
        Ok(c)
    }
}

fn gauge(h: &hdrhistogram::Histogram<u64>) -> MetricResult {
    let mut m = MetricResult::from_histogram(Metric::Transfer, h);
    m.unit = "channels".into();
    m
}
