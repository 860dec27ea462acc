//! The target's address: its host name resolved once, before any session,
//! to the one address every session connects to.

use std::net::{SocketAddr, ToSocketAddrs};

/// A host name that resolves to no address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot resolve target host {host:?}: {message}")]
pub struct ResolveError {
    pub host: String,
    pub message: String,
}

/// The first address `host` resolves to (`run` and `probe` resolve the same way).
pub fn resolve(host: &str, port: u16) -> Result<SocketAddr, ResolveError> {
    let fail = |message: String| ResolveError {
        host: host.into(),
        message,
    };
    // RFC 6761 §6.4: names under .invalid never resolve, and resolvers
    // should say so at once. glibc asks DNS anyway; we do not.
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    if name == "invalid" || name.ends_with(".invalid") {
        return Err(fail(
            "names under .invalid never resolve (RFC 6761); DNS was not asked".into(),
        ));
    }
    (host, port)
        .to_socket_addrs()
        .map_err(|e| fail(e.to_string()))?
        .next()
        .ok_or_else(|| fail("no address".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_addresses_resolve_to_themselves() {
        assert_eq!(
            resolve("127.0.0.1", 2121).unwrap(),
            "127.0.0.1:2121".parse().unwrap()
        );
        assert_eq!(resolve("::1", 21).unwrap(), "[::1]:21".parse().unwrap());
    }

    #[test]
    fn invalid_names_fail_without_asking_dns() {
        let e = resolve("nowhere.INVALID.", 21).unwrap_err();
        assert_eq!(e.host, "nowhere.INVALID.");
        assert!(e.message.contains("RFC 6761"), "{e}");
    }

    #[test]
    fn the_error_names_the_host() {
        let e = ResolveError {
            host: "nowhere.invalid".into(),
            message: "no address".into(),
        };
        assert_eq!(
            e.to_string(),
            "cannot resolve target host \"nowhere.invalid\": no address"
        );
    }
}
