//! FTPS settings from the URL's scheme, `[target]`'s TLS keys and the
//! flags, validated into one [`TlsSettings`] (or none, for plain FTP).

use super::file::ScenarioFile;
use super::{Overrides, TargetPlan};
use crate::proto::tls::{TlsMode, TlsSettings, Verify};

/// The embedded target's certificate names this address; its client
/// trusts that certificate alone (given when the target starts).
pub const EMBEDDED_NAME: &str = "127.0.0.1";

pub(super) fn settings(
    f: &ScenarioFile,
    o: &Overrides,
    target: &TargetPlan,
) -> Result<Option<TlsSettings>, String> {
    let t = f.target.as_ref();
    let key = t.and_then(|t| t.tls);
    let (mode, host) = match target {
        TargetPlan::External { tls, host, .. } => match (*tls, key) {
            (Some(a), Some(b)) if a != b => {
                return Err(format!(
                    "the target URL's scheme means {} FTPS, but [target] tls = {:?}",
                    name(a),
                    name(b)
                ))
            }
            (a, b) => (a.or(b), host.as_str()),
        },
        TargetPlan::Embedded { .. } => {
            if key == Some(TlsMode::Implicit) {
                return Err("[target] tls = \"implicit\": the embedded target speaks explicit FTPS only (libunftp); use \"explicit\"".into());
            }
            (key, EMBEDDED_NAME)
        }
    };
    let ca_file = o
        .ca_file
        .clone()
        .or_else(|| t.and_then(|t| t.ca_file.clone()));
    let insecure = o.insecure || t.and_then(|t| t.insecure).unwrap_or(false);
    let Some(mode) = mode else {
        if ca_file.is_some() || insecure {
            return Err("--ca-file and --insecure are for FTPS: give the target as ftpes:// (explicit) or ftps:// (implicit), or set [target] tls".into());
        }
        if t.is_some_and(|t| {
            t.tls_resume.is_some() || t.tls_protect_data.is_some() || t.tls_version.is_some()
        }) {
            return Err("[target] tls_resume, tls_protect_data and tls_version are for FTPS: set [target] tls, or give the target as ftpes:// or ftps://".into());
        }
        return Ok(None);
    };
    let verify = match (ca_file, target) {
        (Some(_), TargetPlan::Embedded { .. }) => {
            return Err("--ca-file: the embedded target's certificate is made at start and trusted as it is; give no CA file".into())
        }
        // The embedded target's certificate, filled in when it starts.
        (None, TargetPlan::Embedded { .. }) if !insecure => Verify::Trust(Vec::new()),
        (ca_file, _) => verify(ca_file, insecure)?,
    };
    Ok(Some(TlsSettings {
        mode,
        protect_data: t.and_then(|t| t.tls_protect_data).unwrap_or(true),
        resume: t.and_then(|t| t.tls_resume).unwrap_or(true),
        verify,
        server_name: host.to_string(),
        version: t.and_then(|t| t.tls_version),
    }))
}

/// Whom to trust, from `--ca-file` and `--insecure` (or their keys).
pub fn verify(ca_file: Option<std::path::PathBuf>, insecure: bool) -> Result<Verify, String> {
    match (ca_file, insecure) {
        (Some(_), true) => Err("--ca-file and --insecure contradict each other: give one".into()),
        (Some(path), false) => Ok(Verify::CaFile(path)),
        (None, true) => Ok(Verify::Insecure),
        (None, false) => Ok(Verify::System),
    }
}

fn name(m: TlsMode) -> &'static str {
    match m {
        TlsMode::Explicit => "explicit",
        TlsMode::Implicit => "implicit",
    }
}
