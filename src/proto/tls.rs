//! FTPS (RFC 4217): TLS on the control connection, explicit (after `AUTH
//! TLS`) or implicit (from the first byte), and on each data channel,
//! resuming the control connection's TLS session as servers require
//! (vsftpd's `require_ssl_reuse`, on by default, refuses a data channel that
//! does not). On rustls through tokio-rustls, with ring, the crypto provider
//! the embedded target's libunftp already brings.
//!
//! What the client does with a handshake (timing it, counting resumption) is
//! the caller's; this module only makes connections secure and says how.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientSessionMemoryCache, Resumption};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, HandshakeKind, RootCertStore, SignatureScheme};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::control::timed;
use super::error::{ProtoError, Step};

/// When TLS starts on the control connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// `AUTH TLS` after the banner (`ftpes://`), on the usual port.
    Explicit,
    /// TLS from the first byte (`ftps://`), port 990 by convention.
    Implicit,
}

/// Whom the client trusts for the server's certificate.
#[derive(Clone, PartialEq, Eq)]
pub enum Verify {
    /// The system's trust store (`/etc/ssl/certs`).
    System,
    /// The certificates of a PEM file (`--ca-file`), and only those.
    CaFile(PathBuf),
    /// Certificates handed over in process: the embedded target's own.
    Trust(Vec<CertificateDer<'static>>),
    /// Nothing checked (`--insecure`), for self-signed test servers.
    Insecure,
}

/// As the result's `scenario.tls.verify` documents it: `"system"`,
/// `{"ca_file": PATH}`, `"embedded"`, `"insecure"`.
impl Serialize for Verify {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Verify::System => s.serialize_str("system"),
            Verify::Trust(_) => s.serialize_str("embedded"),
            Verify::Insecure => s.serialize_str("insecure"),
            Verify::CaFile(p) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("ca_file", p)?;
                m.end()
            }
        }
    }
}

impl std::fmt::Debug for Verify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verify::System => f.write_str("System"),
            Verify::CaFile(p) => write!(f, "CaFile({})", p.display()),
            Verify::Trust(c) => write!(f, "Trust({} certificates)", c.len()),
            Verify::Insecure => f.write_str("Insecure"),
        }
    }
}

/// A TLS version to hold a run to, rather than negotiate (1.3 first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum TlsVersion {
    #[serde(rename = "1.2")]
    V12,
    #[serde(rename = "1.3")]
    V13,
}

/// What a run asks of TLS, validated into the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsSettings {
    pub mode: TlsMode,
    /// `PROT P`: data channels encrypted too; `false` sends `PROT C`.
    pub protect_data: bool,
    /// Data channels resume the control connection's session.
    pub resume: bool,
    pub verify: Verify,
    /// Checked against the certificate and sent as SNI (a DNS name only).
    pub server_name: String,
    /// Only this version; `None`: TLS 1.3 or 1.2, as the server prefers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<TlsVersion>,
}

/// Why TLS could not be set up before the run.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("--ca-file {path}: {error}")]
    CaFile { path: PathBuf, error: String },
    #[error("--ca-file {0}: no certificate in it")]
    NoCertificate(PathBuf),
    #[error("the system trust store has no certificate (give --ca-file, or --insecure)")]
    NoSystemRoots,
    #[error("{0:?} is no host name or address a certificate can name")]
    ServerName(String),
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The run's TLS client: one configuration for every session, which each
/// copies with a resumption store of its own ([`TlsClient::session`]).
#[derive(Clone)]
pub struct TlsClient {
    base: Arc<ClientConfig>,
    name: ServerName<'static>,
    pub mode: TlsMode,
    pub protect_data: bool,
    pub resume: bool,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient")
            .field("mode", &self.mode)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsClient {
    pub fn new(s: &TlsSettings) -> Result<TlsClient, TlsSetupError> {
        let name = ServerName::try_from(s.server_name.clone())
            .map_err(|_| TlsSetupError::ServerName(s.server_name.clone()))?;
        let builder = ClientConfig::builder_with_provider(provider());
        let builder = match s.version {
            None => builder.with_safe_default_protocol_versions()?,
            Some(TlsVersion::V12) => builder.with_protocol_versions(&[&rustls::version::TLS12])?,
            Some(TlsVersion::V13) => builder.with_protocol_versions(&[&rustls::version::TLS13])?,
        };
        let mut roots = RootCertStore::empty();
        let config = match &s.verify {
            Verify::Insecure => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(provider())))
                .with_no_client_auth(),
            verify => {
                match verify {
                    Verify::CaFile(path) => {
                        let bad = |e: &dyn std::fmt::Display| TlsSetupError::CaFile {
                            path: path.clone(),
                            error: e.to_string(),
                        };
                        for c in CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
                            roots.add(c.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
                        }
                        if roots.is_empty() {
                            return Err(TlsSetupError::NoCertificate(path.clone()));
                        }
                    }
                    Verify::Trust(certs) => {
                        for c in certs {
                            roots.add(c.clone())?;
                        }
                    }
                    _ => {
                        // Unreadable entries are skipped: one bad file in
                        // /etc/ssl/certs must not stop a run.
                        let found = rustls_native_certs::load_native_certs();
                        roots.add_parsable_certificates(found.certs);
                        if roots.is_empty() {
                            return Err(TlsSetupError::NoSystemRoots);
                        }
                    }
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
        };
        Ok(TlsClient {
            base: Arc::new(config),
            name,
            mode: s.mode,
            protect_data: s.protect_data,
            resume: s.resume,
        })
    }

    /// One session's TLS: a copy of the configuration with a store of its
    /// own, so its data channels resume its control connection's session
    /// (what vsftpd checks), not another client's; or with none, when the
    /// run measures what resumption saves.
    pub fn session(&self) -> SessionTls {
        let mut config = (*self.base).clone();
        config.resumption = if self.resume {
            Resumption::store(Arc::new(ClientSessionMemoryCache::new(4)))
        } else {
            Resumption::disabled()
        };
        SessionTls {
            connector: TlsConnector::from(Arc::new(config)),
            name: self.name.clone(),
            protect_data: self.protect_data,
        }
    }
}

/// One session's TLS: its connector, for the control connection and each
/// of its data channels.
#[derive(Clone)]
pub struct SessionTls {
    connector: TlsConnector,
    name: ServerName<'static>,
    /// `PROT P` was sent: data channels are secured too.
    pub protect_data: bool,
}

/// What one handshake negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake {
    pub version: rustls::ProtocolVersion,
    pub suite: rustls::CipherSuite,
    /// The session was resumed, not negotiated afresh.
    pub resumed: bool,
}

impl Handshake {
    /// "TLSv1.3 TLS13_AES_256_GCM_SHA384", as a result counts them.
    pub fn name(&self) -> String {
        use rustls::ProtocolVersion as V;
        let version = match self.version {
            V::TLSv1_3 => "TLSv1.3",
            V::TLSv1_2 => "TLSv1.2",
            _ => "TLS-other",
        };
        format!(
            "{version} {}",
            self.suite.as_str().unwrap_or("unknown-suite")
        )
    }
}

impl SessionTls {
    /// A TLS handshake over `tcp` within `limit`.
    pub async fn handshake(
        &self,
        tcp: TcpStream,
        step: Step,
        limit: Duration,
    ) -> Result<(Box<TlsStream<TcpStream>>, Handshake), ProtoError> {
        let s = timed(step, limit, async {
            self.connector
                .connect(self.name.clone(), tcp)
                .await
                .map_err(|e| ProtoError::tls(step, e))
        })
        .await?;
        let c = s.get_ref().1;
        let hs = Handshake {
            version: c
                .protocol_version()
                .unwrap_or(rustls::ProtocolVersion::Unknown(0)),
            suite: c
                .negotiated_cipher_suite()
                .map_or(rustls::CipherSuite::Unknown(0), |s| s.suite()),
            resumed: c.handshake_kind() == Some(HandshakeKind::Resumed),
        };
        Ok((Box::new(s), hs))
    }
}

/// A connection plain or secured, read and written the same way. The TLS
/// state is boxed: most sessions of most runs are plain, and an idle
/// plain session should not carry rustls' buffers' worth of space.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    /// On TLS, a close_notify first: what tells a server an upload is whole.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// `--insecure`: accepts any certificate, still checking the handshake's
/// signatures (so the connection is encrypted, only not authenticated).
/// rustls has no such verifier of its own, by design.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
