//! The scenario file's schema, exactly as written in TOML. Unknown keys are
//! errors (`deny_unknown_fields`), so a typo never silently means a default.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::num::NonZeroU32;
use toml::Spanned;

use super::units::{HumanDuration, Size};
use super::Op;
use crate::proto::Mode;
use crate::proto::PortRange;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: Option<String>,
    pub target: Option<TargetSection>,
    #[serde(default)]
    pub embedded: EmbeddedSection,
    /// Files the operations read: generated on the embedded target, uploaded
    /// before the run to an external one where missing.
    #[serde(default)]
    pub files: BTreeMap<String, Size>,
    pub run: Spanned<RunSection>,
    #[serde(default)]
    pub timeouts: TimeoutsSection,
    #[serde(default)]
    pub data: DataSection,
    #[serde(rename = "group", default)]
    pub groups: Vec<Spanned<GroupSection>>,
    /// Pass/fail criteria, checked by the `threshold` module.
    #[serde(default)]
    pub thresholds: BTreeMap<String, Spanned<ThresholdEntry>>,
}

/// One `[thresholds]` entry: `"session_setup.p99" = "< 50ms"`, or k6's
/// object form `{ threshold = "< 0.01", abort_on_fail = true, delay_abort_eval = "5s" }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ThresholdEntry {
    Bound(String),
    Full(ThresholdTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdTable {
    pub threshold: String,
    #[serde(default)]
    pub abort_on_fail: bool,
    pub delay_abort_eval: Option<HumanDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSection {
    /// `ftp://user@host:port`; the password never belongs in a scenario file.
    /// Spanned, so a bad one is pointed at.
    pub url: Option<Spanned<String>>,
    /// The server's configured passive range, when known: a port announced
    /// outside it is counted as silent exhaustion.
    pub passive_range: Option<PortRange>,
    /// Local addresses the clients leave from, client k from the k-th
    /// mod their number: "127.0.0.2-127.0.0.200", "10.0.0.5,10.0.0.6",
    /// "10.0.1.0/28". Spanned, so a bad one is pointed at.
    pub source_ips: Option<Spanned<String>>,
    /// FTPS: "explicit" (`AUTH TLS`) or "implicit"; with no `url`, the
    /// embedded target serves explicit FTPS. A URL's `ftpes://` or
    /// `ftps://` says the same.
    pub tls: Option<crate::proto::tls::TlsMode>,
    /// Data channels resume the control connection's TLS session (default
    /// true); false measures what resumption saves.
    pub tls_resume: Option<bool>,
    /// `PROT P` (default true): data channels encrypted; false sends `PROT C`.
    pub tls_protect_data: Option<bool>,
    /// "1.2" or "1.3": only that version (default: negotiated, 1.3 first).
    pub tls_version: Option<crate::proto::tls::TlsVersion>,
    /// The certificates (PEM) a server's is checked against (`--ca-file`).
    pub ca_file: Option<std::path::PathBuf>,
    /// No certificate check (`--insecure`), for self-signed test servers.
    pub insecure: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedSection {
    pub passive_ports: Option<PortRange>,
    pub max_connections: Option<usize>,
    pub threads: Option<usize>,
    /// A deliberately slow target: how long it waits before answering PASS.
    pub login_delay: Option<HumanDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    /// Spanned, so a zero is pointed at where it is written.
    pub duration: Option<Spanned<HumanDuration>>,
    pub iterations: Option<Spanned<u64>>,
    pub ramp_up: Option<HumanDuration>,
    pub retry_pause: Option<HumanDuration>,
    pub workers: Option<usize>,
    /// Open loop: arrivals per second, ramped by `stages`.
    pub rate: Option<super::load::Rate>,
    #[serde(default)]
    pub stages: Vec<super::load::StageSection>,
    pub arrival: Option<super::load::Arrival>,
    pub seed: Option<u64>,
    pub max_wait: Option<HumanDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutsSection {
    pub connect: Option<HumanDuration>,
    pub banner: Option<HumanDuration>,
    pub reply: Option<HumanDuration>,
    pub data_connect: Option<HumanDuration>,
    pub accept: Option<HumanDuration>,
    pub transfer_idle: Option<HumanDuration>,
    pub tls_handshake: Option<HumanDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    #[serde(default)]
    pub follow_pasv_address: bool,
    pub active_ports: Option<PortRange>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionModel {
    /// Log in, run the operations once, quit: every iteration pays session setup.
    #[default]
    PerIteration,
    /// Log in once and run iterations until the end of the run.
    Persistent,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSection {
    pub name: Option<String>,
    pub users: NonZeroU32,
    pub mode: Option<Mode>,
    pub modes: Option<BTreeMap<Mode, u32>>,
    #[serde(default)]
    pub session: SessionModel,
    /// Each client's data channels at most this fast: "28.8kbit/s", "1Mbit/s".
    pub bandwidth: Option<super::units::Bandwidth>,
    /// Pause between operations: "1s", "0s..3s", "exp 500ms".
    pub think: Option<super::think::Think>,
    /// Quit and log in again after this many data transfers; 1 is a new
    /// login per transfer.
    pub transfers_per_session: Option<NonZeroU32>,
    #[serde(default)]
    pub ops: Vec<Spanned<Op>>,
    /// Instead of `ops`: at each step an operation drawn by weight, as a
    /// browsing user picks the next command ("quit" ends the iteration).
    pub mix: Option<BTreeMap<String, u32>>,
    /// The most steps of a `mix` per iteration (default 100).
    pub mix_steps: Option<u32>,
}

/// The key a byte offset of a scenario's text falls under, as a dotted path
/// ("group[0].users", "run.duration"), or `None` when the text does not
/// parse as TOML at all. The TOML crate's typed errors carry a span but not
/// the key (it keeps that private), and "expected a nonzero u32" alone does
/// not say which setting is wrong.
pub fn key_at(text: &str, offset: usize) -> Option<String> {
    use toml::de::{DeTable, DeValue};
    fn in_table(t: &DeTable<'_>, offset: usize) -> Option<String> {
        t.iter().find_map(|(k, v)| {
            let key = k.get_ref().to_string();
            if k.span().contains(&offset) {
                return Some(key);
            }
            match in_value(v.get_ref(), offset) {
                Some(rest) => Some(format!("{key}{rest}")),
                None => v.span().contains(&offset).then_some(key),
            }
        })
    }
    // What follows the key of `v`: ".inner" or "[i].inner".
    fn in_value(v: &DeValue<'_>, offset: usize) -> Option<String> {
        match v {
            DeValue::Table(t) => in_table(t, offset).map(|k| format!(".{k}")),
            DeValue::Array(a) => a
                .iter()
                .enumerate()
                .find_map(|(i, item)| match item.get_ref() {
                    DeValue::Table(t) => in_table(t, offset).map(|k| format!("[{i}].{k}")),
                    _ => None,
                }),
            _ => None,
        }
    }
    in_table(DeTable::parse(text).ok()?.get_ref(), offset)
}
