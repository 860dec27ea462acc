//! Running the checks over the protocol layer: the first session (banner,
//! FEAT, passive port samples), then one fresh session per mode. Each mode
//! gets a control connection of its own because a failed data channel leaves
//! its session in a state nobody knows: a late 425 or 226, or a server still
//! stuck connecting back (pyftpdlib hangs on LIST after a refused PORT), would
//! be read as the next mode's reply. A login per mode is cheap next to that.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::classify::failure;
use super::findings::{
    ms, Cause, ControlFindings, Failure, Feat, ModeFindings, PortSamples, TlsFindings, Transfer,
};
use super::Options;
use crate::metrics::Step;
use crate::proto::data::Channel;
use crate::proto::session;
use crate::proto::{Command, Control, Mode, ProtoError, Timeouts};

/// What the first session found; the modes are checked after it.
pub(super) struct First {
    pub control: ControlFindings,
    pub banner: Option<String>,
    pub feat: Option<Feat>,
    pub passive_ports: Option<PortSamples>,
}

fn timeouts(o: &Options) -> Timeouts {
    let t = o.timeout;
    Timeouts {
        connect: t,
        banner: t,
        reply: t,
        data_connect: t,
        accept: t,
        transfer_idle: t,
        tls_handshake: t,
    }
}

/// A logged-in session and its banner's text.
struct Session {
    ctrl: Control,
    banner: String,
}

/// Connect, banner, login, each timed into `partial`; the transcript starts
/// at the banner. A failure comes with how long its step ran.
async fn open_session(
    o: &Options,
    addr: SocketAddr,
    partial: &mut ControlFindings,
) -> Result<Session, (ProtoError, Duration)> {
    let t0 = Instant::now();
    let mut ctrl = Control::connect(addr, timeouts(o))
        .await
        .map_err(|e| (e, t0.elapsed()))?;
    partial.connected = true;
    partial.local = Some(ctrl.local_addr());
    partial.connect_ms = Some(ms(t0.elapsed()));
    ctrl.keep_transcript();
    let tls = o.tls.as_ref();
    let t = Instant::now();
    let (mut ctrl, implicit) = session::secure_at_connect(ctrl, tls)
        .await
        .map_err(|e| (e, t.elapsed()))?;
    let t1 = Instant::now();
    let banner = ctrl.banner().await;
    partial.transcript = ctrl.take_transcript();
    let banner = banner.map_err(|e| (e, t1.elapsed()))?;
    partial.banner_ms = Some(ms(t1.elapsed()));
    let t = Instant::now();
    let explicit = session::secure_after_banner(ctrl, tls).await;
    let (mut ctrl, explicit) = explicit.map_err(|e| (e, t.elapsed()))?;
    partial.tls = implicit.or(explicit).map(|(h, took)| TlsFindings {
        negotiated: h.name(),
        handshake_ms: ms(took),
        resumed: h.resumed,
    });
    let t2 = Instant::now();
    let login = ctrl.login(&o.user, &o.password).await;
    partial.transcript.append(&mut ctrl.take_transcript());
    login.map_err(|e| (e, t2.elapsed()))?;
    partial.logged_in = true;
    partial.login_ms = Some(ms(t2.elapsed()));
    let t = Instant::now();
    let protected = session::protect(&mut ctrl, tls).await;
    partial.transcript.append(&mut ctrl.take_transcript());
    protected.map_err(|e| (e, t.elapsed()))?;
    Ok(Session {
        ctrl,
        banner: banner.text,
    })
}

/// The first session: can we get in at all, what does the server announce,
/// and which passive ports does it hand out.
pub(super) async fn first_session(o: &Options, addr: SocketAddr) -> First {
    let mut control = ControlFindings::new(addr);
    let mut s = match open_session(o, addr, &mut control).await {
        Ok(s) => s,
        Err((e, after)) => {
            let banner = control
                .transcript
                .iter()
                .find_map(|x| match x {
                    // A 421 in its place is no banner.
                    crate::proto::Exchange::Received { code: 220, text } => Some(text.clone()),
                    _ => None,
                })
                .filter(|_| control.connected);
            control.failure = Some(failure(None, &e, after, None));
            return First {
                control,
                banner,
                feat: None,
                passive_ports: None,
            };
        }
    };
    let feat = s
        .ctrl
        .command(&Command::Feat, Step::Command)
        .await
        .ok()
        .map(|r| Feat::from_reply(r.code, &r.text));
    let passive_ports = sample_ports(o, &mut s.ctrl).await;
    control.transcript.append(&mut s.ctrl.take_transcript());
    quit(s.ctrl).await;
    First {
        control,
        banner: Some(s.banner),
        feat,
        passive_ports,
    }
}

/// `--pasv-samples` PASV (or EPSV) commands without connecting: every real
/// server replaces a session's unused listener at its next PASV or QUIT
/// (libunftp keeps it up to 15 s), so this holds at most one port at a time.
async fn sample_ports(o: &Options, ctrl: &mut Control) -> Option<PortSamples> {
    let candidates: Vec<Mode> = [Mode::Passive, Mode::Epsv]
        .into_iter()
        .filter(|m| o.modes.contains(m))
        .collect();
    let mut last = None;
    for (i, &mode) in candidates.iter().enumerate() {
        let mut s = PortSamples::new(mode.verb(), o.pasv_samples);
        for _ in 0..o.pasv_samples {
            let mut ch = Channel::new(mode, &o.data, &());
            let t0 = Instant::now();
            match ch.hold(ctrl, Duration::ZERO).await {
                Ok(()) => {
                    if let Some(a) = ch.info.announced {
                        s.push(a);
                    }
                }
                Err(e) => {
                    s.failure = Some(failure(Some(mode), &e, t0.elapsed(), Some(&ch.info)));
                    break;
                }
            }
        }
        let try_next = s.ports.is_empty() && i + 1 < candidates.len();
        last = Some(s);
        if !try_next {
            break;
        }
    }
    last
}

/// One mode on a session of its own: LIST, then RETR of `--path`.
pub(super) async fn check_mode(o: &Options, addr: SocketAddr, mode: Mode) -> ModeFindings {
    let mut f = ModeFindings::new(mode);
    let mut partial = ControlFindings::new(addr);
    let mut s = match open_session(o, addr, &mut partial).await {
        Ok(s) => s,
        Err((e, after)) => {
            let mut fail = failure(None, &e, after, None);
            fail.cause = Cause::SessionFailed;
            f.cause = Some(Cause::SessionFailed);
            f.failure = Some(fail);
            f.transcript = partial.transcript;
            return f;
        }
    };
    f.control_peer = Some(s.ctrl.peer_addr());
    let ctrl = &mut s.ctrl;
    let t0 = Instant::now();
    let typed = ctrl.expect(&Command::TypeImage, Step::Command, 2).await;
    let mut result = typed
        .map(|_| ())
        .map_err(|e| failure(None, &e, t0.elapsed(), None));
    if result.is_ok() {
        result = transfer(o, ctrl, mode, Command::List(None), &mut f)
            .await
            .map(|t| f.list = Some(t));
    }
    if let (Ok(()), Some(path)) = (&result, &o.path) {
        result = transfer(o, ctrl, mode, Command::Retr(path), &mut f)
            .await
            .map(|t| f.retr = Some(t));
    }
    f.transcript = partial.transcript;
    f.transcript.append(&mut ctrl.take_transcript());
    match result {
        Ok(()) => {
            f.works = true;
            if f.address_replaced {
                f.cause = Some(Cause::NatReplaced);
            }
            quit(s.ctrl).await;
        }
        Err(fail) => {
            f.cause = Some(fail.cause);
            f.failure = Some(fail);
        }
    }
    f
}

/// One transfer over a fresh channel; what the channel learned goes into `f`
/// whether it worked or not.
async fn transfer(
    o: &Options,
    ctrl: &mut Control,
    mode: Mode,
    cmd: Command<'_>,
    f: &mut ModeFindings,
) -> Result<Transfer, Failure> {
    let mut ch = Channel::new(mode, &o.data, &());
    let t0 = Instant::now();
    let r = ch.transfer(ctrl, cmd, None).await;
    let info = ch.info;
    if info.announced.is_some() {
        f.announced = info.announced;
        f.data_target = info.data_target;
        f.address_mismatch = info.mismatch;
        f.address_replaced = info.mismatch && !o.data.follow_pasv_address;
    }
    if mode.is_active() && info.client_port != 0 {
        f.listener = Some(SocketAddr::new(ctrl.local_addr().ip(), info.client_port));
    }
    if info.server_source_port.is_some() {
        f.server_source_port = info.server_source_port;
    }
    match r {
        Ok(t) => Ok(Transfer {
            bytes: t.bytes,
            data_setup_ms: ms(t.edges.data_ready - t.edges.setup_start),
            total_ms: ms(t.edges.complete - t.edges.setup_start),
            tls: t.tls.map(|d| TlsFindings {
                negotiated: d.handshake.name(),
                handshake_ms: ms(d.took),
                resumed: d.handshake.resumed,
            }),
        }),
        Err(e) => Err(failure(Some(mode), &e, t0.elapsed(), Some(&info))),
    }
}

/// FTPS: each mode whose data connection was filtered is tried again in
/// plain FTP, on a session of its own. Working there means a firewall opens
/// data ports through an FTP helper reading the control connection, which
/// TLS hides from it: the probe names that, not a closed range.
pub(super) async fn against_plain(
    o: &Options,
    addr: SocketAddr,
    modes: &mut std::collections::BTreeMap<Mode, ModeFindings>,
) {
    let plain = Options {
        tls: None,
        path: None,
        ..o.clone()
    };
    for (m, f) in modes.iter_mut() {
        let filtered = matches!(
            f.cause,
            Some(Cause::DataConnectTimeout | Cause::AcceptTimeout | Cause::PortReplyTimeout)
        );
        if !filtered {
            continue;
        }
        let works = check_mode(&plain, addr, *m).await.works;
        f.plain_works = Some(works);
        if works {
            f.cause = Some(Cause::TlsHidesFromHelper);
        }
    }
}

/// QUIT within the timeout; a server slow to say goodbye changes no finding.
async fn quit(mut ctrl: Control) {
    let _ = ctrl.quit().await;
}
