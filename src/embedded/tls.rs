//! The embedded target's FTPS: a certificate, made at start for 127.0.0.1,
//! ::1 and localhost unless one is given, and one rustls configuration
//! shared by every session, so a data channel can resume its control
//! connection's TLS session (stateless tickets for TLS 1.3, a session
//! cache large enough for a load test's sessions for TLS 1.2).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::ServerSessionMemoryCache;
use rustls::ServerConfig;

use super::EmbeddedError;

/// TLS 1.2 sessions remembered for resumption: one per session of a
/// large run, about 200 bytes each.
const SESSION_CACHE: usize = 65_536;

/// The target's TLS: its configuration and its certificate (what a client
/// of the same process trusts, and what `serve --tls` writes out).
pub struct Tls {
    pub config: Arc<ServerConfig>,
    pub cert: CertificateDer<'static>,
    /// The certificate and key in PEM, when made here (for `serve` to write).
    pub made: Option<(String, String)>,
}

fn bad(what: &str, e: impl std::fmt::Display) -> EmbeddedError {
    EmbeddedError::Config(format!("TLS {what}: {e}"))
}

/// A fresh self-signed certificate and its key.
pub fn make() -> Result<Tls, EmbeddedError> {
    let names = ["127.0.0.1", "::1", "localhost"].map(String::from).to_vec();
    let c = rcgen::generate_simple_self_signed(names).map_err(|e| bad("certificate", e))?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(c.signing_key.serialize_der()));
    let cert = c.cert.der().clone();
    let made = Some((c.cert.pem(), c.signing_key.serialize_pem()));
    Ok(Tls {
        config: config(cert.clone(), key)?,
        cert,
        made,
    })
}

/// A given certificate (its chain's first) and key, PEM files.
pub fn load(cert_path: &Path, key_path: &Path) -> Result<Tls, EmbeddedError> {
    let at = |p: &Path, e: &dyn std::fmt::Display| bad(&p.display().to_string(), e);
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| at(cert_path, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| at(cert_path, &e))?;
    let cert = chain
        .first()
        .cloned()
        .ok_or_else(|| at(cert_path, &"no certificate in it"))?;
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| at(key_path, &e))?;
    Ok(Tls {
        config: config_chain(chain, key)?,
        cert,
        made: None,
    })
}

fn config(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, EmbeddedError> {
    config_chain(vec![cert], key)
}

fn config_chain(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, EmbeddedError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut c = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("configuration", e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| bad("certificate", e))?;
    c.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE);
    c.ticketer = rustls::crypto::ring::Ticketer::new().map_err(|e| bad("tickets", e))?;
    Ok(Arc::new(c))
}
