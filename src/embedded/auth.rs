//! Who may log in to the embedded target.
//!
//! libunftp asks an `Authenticator` for every `USER`/`PASS`; this is the one
//! we give it, kept apart from the server's start-up and accept loop because it
//! is the only code here that checks a password.

use async_trait::async_trait;
use unftp_core::auth::{AuthenticationError, Authenticator, Credentials, Principal};

/// One fixed account: the target exists to be loaded, not to model a user base.
pub(super) struct FixedUser {
    pub(super) user: String,
    pub(super) password: String,
    /// Waited before answering, right or wrong: a deliberately slow target.
    pub(super) delay: Option<std::time::Duration>,
}

// Manual so the password never lands in a log or a panic message.
impl std::fmt::Debug for FixedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedUser")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Authenticator for FixedUser {
    async fn authenticate(
        &self,
        username: &str,
        creds: &Credentials,
    ) -> Result<Principal, AuthenticationError> {
        if let Some(d) = self.delay {
            // libunftp awaits this before its 230 (or 530).
            tokio::time::sleep(d).await;
        }
        if username == self.user && creds.password.as_deref() == Some(self.password.as_str()) {
            Ok(Principal {
                username: username.to_string(),
            })
        } else {
            Err(AuthenticationError::BadPassword)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::tests::{start, Ctl};

    #[test]
    fn wrong_password_gets_530() {
        let srv = start(&[], None);
        let mut c = Ctl::connect(srv.addr());
        assert_eq!(c.login("ftpload", "nope"), 530);
        let mut c = Ctl::connect(srv.addr());
        assert_eq!(c.login("someone", "ftpload"), 530);
    }

    #[test]
    fn login_delay_comes_before_the_reply() {
        let srv = crate::embedded::EmbeddedServer::start(crate::embedded::EmbeddedConfig {
            login_delay: Some(std::time::Duration::from_millis(80)),
            ..crate::embedded::EmbeddedConfig::default()
        })
        .expect("start embedded target");
        let mut c = Ctl::connect(srv.addr());
        let t = std::time::Instant::now();
        assert_eq!(c.login("ftpload", "ftpload"), 230);
        // A lower bound only: the delay is what this code controls.
        assert!(t.elapsed() >= std::time::Duration::from_millis(80));
    }

    #[test]
    fn debug_hides_the_password() {
        let u = FixedUser {
            user: "bob".to_string(),
            password: "s3cret".to_string(),
            delay: None,
        };
        let shown = format!("{u:?}");
        assert!(
            shown.contains("bob") && !shown.contains("s3cret"),
            "{shown}"
        );
    }
}
