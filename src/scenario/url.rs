//! Target URLs, `ftp://user[:password]@host[:port]`, and the external target
//! one names. A hand parser: FTP URLs here carry no path or query, so a URL
//! crate would add nothing.

use super::TargetPlan;
use crate::proto::tls::TlsMode;

/// What is wrong with a target URL, or with the credentials it leaves out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("bad target {url:?}: {problem} (expected ftp://user@host:port)")]
    Malformed { url: String, problem: Malformed },
    #[error("no password for {user}@{host}: give it with --password-file, FTPLOAD_PASSWORD or in the URL")]
    NoPassword { user: String, host: String },
}

/// The part of a URL that is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("must start with ftp://, ftpes:// (explicit FTPS) or ftps:// (implicit FTPS)")]
    Scheme,
    #[error("empty user")]
    EmptyUser,
    #[error("unclosed '['")]
    UnclosedBracket,
    #[error("empty host")]
    NoHost,
    #[error("a path (ftpload takes none)")]
    Path,
    #[error("the port must be a number from 1 to 65535")]
    Port,
}

/// An external target from its URL, the password from the URL or else
/// `password` (from --password-file or FTPLOAD_PASSWORD); anonymous users get
/// the customary e-mail-like one. `run`, `capacity` and `probe` all read a
/// target this way.
pub fn external_target(url: &str, password: Option<String>) -> Result<TargetPlan, UrlError> {
    let u = FtpUrl::parse(url)?;
    let password = u
        .password
        .or(password)
        .or_else(|| (u.user == "anonymous" || u.user == "ftp").then(|| "ftpload@".to_string()))
        .ok_or_else(|| UrlError::NoPassword {
            user: u.user.clone(),
            host: u.host.clone(),
        })?;
    Ok(TargetPlan::External {
        host: u.host,
        port: u.port,
        user: u.user,
        password,
        tls: u.tls,
    })
}

/// `url` with its password, if it holds one, as `****`: a malformed URL is
/// quoted back in its error, which ends up in terminals and CI logs. The
/// user info ends at the last `@`, as [`FtpUrl::parse`] reads it.
pub(super) fn redacted(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    let Some(at) = rest.rfind('@') else {
        return url.to_string();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{}{user}:****{}", &url[..start], &rest[at..]),
        None => url.to_string(),
    }
}

struct FtpUrl {
    /// `ftpes://`: explicit FTPS; `ftps://`: implicit (port 990 by default).
    tls: Option<TlsMode>,
    user: String,
    password: Option<String>,
    host: String,
    port: u16,
}

impl FtpUrl {
    /// `ftp://user[:password]@host[:port]` (or `ftpes://`, `ftps://`);
    /// IPv6 hosts in brackets.
    fn parse(url: &str) -> Result<FtpUrl, UrlError> {
        let bad = |problem| UrlError::Malformed {
            url: redacted(url),
            problem,
        };
        let (tls, rest) = [
            ("ftp://", None),
            ("ftpes://", Some(TlsMode::Explicit)),
            ("ftps://", Some(TlsMode::Implicit)),
        ]
        .into_iter()
        .find_map(|(scheme, tls)| url.strip_prefix(scheme).map(|rest| (tls, rest)))
        .ok_or_else(|| bad(Malformed::Scheme))?;
        let rest = rest.trim_end_matches('/');
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            None => ("anonymous".to_string(), None),
            Some(u) => match u.split_once(':') {
                Some((u, p)) => (u.to_string(), Some(p.to_string())),
                None => (u.to_string(), None),
            },
        };
        if user.is_empty() {
            return Err(bad(Malformed::EmptyUser));
        }
        let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
            let (h, p) = h
                .split_once(']')
                .ok_or_else(|| bad(Malformed::UnclosedBracket))?;
            (h.to_string(), p.strip_prefix(':'))
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        if host.contains('/') || port.is_some_and(|p| p.contains('/')) {
            return Err(bad(Malformed::Path));
        }
        if host.is_empty() {
            return Err(bad(Malformed::NoHost));
        }
        let port = match port {
            None if tls == Some(TlsMode::Implicit) => 990,
            None => 21,
            Some(p) => p
                .parse()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| bad(Malformed::Port))?,
        };
        Ok(FtpUrl {
            tls,
            user,
            password,
            host,
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = FtpUrl::parse("ftp://a:b@[::1]:2121").unwrap();
        assert_eq!(
            (
                u.user.as_str(),
                u.password.as_deref(),
                u.host.as_str(),
                u.port
            ),
            ("a", Some("b"), "::1", 2121)
        );
        let u = FtpUrl::parse("ftp://127.0.0.1").unwrap();
        assert_eq!((u.user.as_str(), u.port), ("anonymous", 21));
        assert!(FtpUrl::parse("http://x").is_err());
        let u = FtpUrl::parse("ftps://a@h").unwrap();
        assert_eq!((u.tls, u.port), (Some(TlsMode::Implicit), 990));
        let u = FtpUrl::parse("ftpes://a@h").unwrap();
        assert_eq!((u.tls, u.port), (Some(TlsMode::Explicit), 21));
        assert_eq!(FtpUrl::parse("ftp://a@h").unwrap().tls, None);
        assert!(FtpUrl::parse("ftp://u@h:0").is_err());
    }

    #[test]
    fn errors_name_the_problem_in_the_words_users_see() {
        let e = |url: &str| external_target(url, None).unwrap_err();
        assert_eq!(
            e("http://x").to_string(),
            "bad target \"http://x\": must start with ftp://, ftpes:// (explicit FTPS) or ftps:// (implicit FTPS) (expected ftp://user@host:port)"
        );
        for (url, problem) in [
            ("ftp://@h", Malformed::EmptyUser),
            ("ftp://a:b@[::1", Malformed::UnclosedBracket),
            ("ftp://a:b@h/path", Malformed::Path),
            ("ftp://a:b@h:21/path", Malformed::Path),
            ("ftp://a:b@h:70000", Malformed::Port),
            ("ftp://a:b@:21", Malformed::NoHost),
            ("ftp://a:b@h:x", Malformed::Port),
        ] {
            let want = UrlError::Malformed {
                url: url.replace(":b@", ":****@"),
                problem,
            };
            assert_eq!(e(url), want, "{url}");
        }
        // The password is never quoted back, wherever the URL breaks.
        for url in [
            "ftp://u:pw@x@h:x",
            "http://u:pw@h",
            "u:pw@h/path",
            "ftp://u:p:w@h/p",
        ] {
            let said = e(url).to_string();
            assert!(!said.contains("pw") && !said.contains("p:w"), "{said}");
            assert!(said.contains(":****@h"), "{said}");
        }
        assert_eq!(
            e("ftp://bob@127.0.0.1:1").to_string(),
            "no password for bob@127.0.0.1: give it with --password-file, FTPLOAD_PASSWORD or in the URL"
        );
        assert!(external_target("ftp://ftp@h", None).is_ok());
    }
}
