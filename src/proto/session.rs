//! Opening a session: TCP connect to ready for commands, with TLS where the
//! run asks for it (implicit at connect, explicit after the banner), the
//! login, and FTPS's `PBSZ`/`PROT`, each phase timed. One sequence for the
//! load's clients, the run's set-up session and anything else that logs in,
//! so none of them secures or logs in differently.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::command::Command;
use super::control::{Control, Timeouts};
use super::error::{ProtoError, Step};
use super::reply::Reply;
use super::tls::{Handshake, TlsClient, TlsMode};

/// How long each phase of opening a session took.
#[derive(Debug, Clone, Copy)]
pub struct Phases {
    pub connect: Duration,
    /// The banner's wait (after the handshake, in implicit FTPS).
    pub banner: Duration,
    /// USER to 230.
    pub login: Duration,
    /// The control connection's TLS handshake, and what it negotiated.
    pub tls: Option<(Handshake, Duration)>,
    /// Connect start to ready for commands (secured and logged in).
    pub setup: Duration,
}

/// A logged-in control connection, its banner and its phases.
pub struct Opened {
    pub ctrl: Control,
    pub banner: Reply,
    pub phases: Phases,
}

/// Where to connect and how: the target, the local address to leave from,
/// the timeouts and TLS.
#[derive(Clone, Copy)]
pub struct Dial<'a> {
    pub addr: SocketAddr,
    pub from: Option<IpAddr>,
    pub timeouts: Timeouts,
    pub tls: Option<&'a TlsClient>,
}

pub async fn open(d: Dial<'_>, user: &str, password: &str) -> Result<Opened, ProtoError> {
    let start = Instant::now();
    let c = Control::connect_from(d.addr, d.from, d.timeouts).await?;
    let connected = Instant::now();
    let (mut c, mut tls) = secure_at_connect(c, d.tls).await?;
    let banner_from = Instant::now();
    let banner = c.banner().await?;
    let banner_at = Instant::now();
    let (mut c, explicit) = secure_after_banner(c, d.tls).await?;
    tls = tls.or(explicit);
    let login_from = Instant::now();
    c.login(user, password).await?;
    let logged_in = Instant::now();
    protect(&mut c, d.tls).await?;
    Ok(Opened {
        ctrl: c,
        banner,
        phases: Phases {
            connect: connected - start,
            banner: banner_at - banner_from,
            login: logged_in - login_from,
            tls,
            setup: start.elapsed(),
        },
    })
}

/// Implicit FTPS: the handshake at once, before the banner.
pub async fn secure_at_connect(
    c: Control,
    tls: Option<&TlsClient>,
) -> Result<(Control, Option<(Handshake, Duration)>), ProtoError> {
    match tls.filter(|t| t.mode == TlsMode::Implicit) {
        Some(t) => {
            let from = Instant::now();
            let (c, hs) = c.secure(t).await?;
            Ok((c, Some((hs, from.elapsed()))))
        }
        None => Ok((c, None)),
    }
}

/// Explicit FTPS: `AUTH TLS`, its 234, then the handshake (timed from the 234).
pub async fn secure_after_banner(
    mut c: Control,
    tls: Option<&TlsClient>,
) -> Result<(Control, Option<(Handshake, Duration)>), ProtoError> {
    match tls.filter(|t| t.mode == TlsMode::Explicit) {
        Some(t) => {
            c.expect_code(&Command::AuthTls, Step::TlsHandshake, 234)
                .await?;
            let from = Instant::now();
            let (c, hs) = c.secure(t).await?;
            Ok((c, Some((hs, from.elapsed()))))
        }
        None => Ok((c, None)),
    }
}

/// FTPS after the login: `PBSZ 0`, then `PROT P` (or `C`). RFC 4217 9 wants
/// PBSZ before PROT; both after the login, as curl and FileZilla send them.
pub async fn protect(c: &mut Control, tls: Option<&TlsClient>) -> Result<(), ProtoError> {
    if let Some(t) = tls {
        c.expect(&Command::Pbsz0, Step::Login, 2).await?;
        c.expect(&Command::Prot(t.protect_data), Step::Login, 2)
            .await?;
    }
    Ok(())
}
