//! What a client records beside its timings: what each data channel
//! revealed (the server port and its reuse, an address mismatch, the silent
//! exhaustion of a port announced outside the declared range), each failure
//! by class and as exhaustion, and a finished transfer's figures. Apart from
//! the protocol steps in `mod`, so each reads on its own.

use std::time::Duration;

use super::{Env, Sink, VirtualClient};
use crate::metrics::exhaustion::{self, Exhaustion};
use crate::metrics::{Metric, ModeStats, SessionLimit};
use crate::proto::data::{ChannelInfo, Transferred};
use crate::proto::ProtoError;

impl VirtualClient {
    /// Records what a data channel revealed, whether or not it worked: the
    /// server port and how soon it came round again, an address mismatch,
    /// the source port of an active connection.
    pub(super) fn note_channel<S: Sink>(
        &self,
        env: &Env<'_, S>,
        info: &ChannelInfo,
        then: impl FnOnce(&mut ModeStats),
    ) {
        let reuse = match (info.announced, info.announced_at) {
            (Some(a), Some(at)) => env.live.port_announced(a.port(), at),
            _ => None,
        };
        let outside = match (info.announced, env.target.declared_passive) {
            (Some(a), Some(range)) => !range.contains(a.port()),
            _ => false,
        };
        // Timed and loaded as at the announcement, not at the channel's end.
        let silent = outside.then(|| {
            let (clients, pending, open) = info.load_at_announce;
            Exhaustion {
                at_s: info
                    .announced_at
                    .map(|t| t.saturating_duration_since(env.live.start()).as_secs_f64())
                    .unwrap_or_else(|| env.live.elapsed().as_secs_f64()),
                signature: exhaustion::OUTSIDE_RANGE.to_string(),
                evidence: format!(
                    "announced port {} outside {}",
                    info.announced.map(|a| a.port()).unwrap_or(0),
                    env.target
                        .declared_passive
                        .map(|r| r.to_string())
                        .unwrap_or_default()
                ),
                clients,
                pending,
                open,
            }
        });
        env.sink.record(self.mode, |s| {
            let ch = &mut s.channels;
            if let Some(a) = info.announced {
                ch.ports.insert(a.port());
            }
            if let Some(r) = reuse {
                ch.record_reuse(r.as_micros() as u64);
            }
            if outside {
                ch.outside_declared += 1;
                ch.exhaustion = Exhaustion::earliest(ch.exhaustion.take(), silent);
            }
            s.counters.pasv_address_mismatch += u64::from(info.mismatch);
            match info.server_source_port {
                Some(20) => s.counters.active_from_port_20 += 1,
                Some(_) => s.counters.active_from_other_port += 1,
                None => {}
            }
            if let Some(c) = s.sources.at(env.target.source_for(self.id)) {
                c.channels_opened += u64::from(info.connected);
            }
            then(s);
        });
    }

    fn exhaustion_now<S: Sink>(
        &self,
        env: &Env<'_, S>,
        signature: &str,
        evidence: String,
    ) -> Exhaustion {
        let (pending, open) = env.live.channels(self.mode);
        Exhaustion {
            at_s: env.live.elapsed().as_secs_f64(),
            signature: signature.to_string(),
            evidence,
            clients: env.live.clients(),
            pending,
            open,
        }
    }

    /// Counts a failure by class, and notes it as exhaustion when it is one.
    pub(super) fn fail<S: Sink>(&self, env: &Env<'_, S>, e: &ProtoError) {
        let class = e.class();
        let text = e.to_string();
        let sig = exhaustion::signature(&class, &text);
        let ex = sig.map(|sig| self.exhaustion_now(env, sig, text.clone()));
        let src = env.target.source_for(self.id);
        let limit = SessionLimit::of(self.mode, &class, &text).map(|mut l| {
            l.at_s = env.live.elapsed().as_secs_f64();
            l.clients = env.live.clients();
            l.logged_in = env.live.sessions_open(self.mode);
            l
        });
        env.sink.record(self.mode, |s| {
            s.record_error(class, || text);
            if ex.is_some() {
                s.channels.exhaustion = Exhaustion::earliest(s.channels.exhaustion.take(), ex);
            }
            if let Some(l) = limit {
                s.sessions.refused(l);
            }
            if let Some(c) = s.sources.at(src) {
                c.failed(sig);
            }
        });
    }
}

/// A finished transfer of operation `op`: into the mode's totals and the
/// operation's own histograms, from the same edges.
pub(super) fn record_transfer(s: &mut ModeStats, op: &str, x: &Transferred, upload: bool) {
    let e = &x.edges;
    s.record_duration(Metric::DataSetup, e.data_ready - e.setup_start);
    if let Some(fb) = e.first_byte {
        s.record_op_duration(
            op,
            Metric::FirstByte,
            fb.saturating_duration_since(e.command_sent),
        );
        // From the transfer command to the end of data: a transfer that
        // arrives in one read (a listing, a small file) has no measurable
        // span from its first byte, and would read as its size over any
        // floor; this is the rate a user got for it.
        let secs = e
            .data_done
            .saturating_duration_since(e.command_sent)
            .max(Duration::from_micros(1));
        if x.bytes > 0 {
            let rate = (x.bytes as f64 / secs.as_secs_f64()) as u64;
            s.record_op_value(op, Metric::Throughput, rate);
        }
    }
    s.record_op_duration(op, Metric::Transfer, e.complete - e.command_sent);
    if let Some(t) = &x.tls {
        s.record_duration(Metric::DataTlsHandshake, t.took);
        s.tls.data(&t.handshake, t.unclean);
    }
    s.counters.transfers += 1;
    if upload {
        s.counters.bytes_up += x.bytes;
    } else {
        s.counters.bytes_down += x.bytes;
    }
}
