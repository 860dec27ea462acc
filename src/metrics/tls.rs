//! FTPS per mode: what the handshakes negotiated and whether data channels
//! resumed their control connection's session. Resumption is what vsftpd's
//! `require_ssl_reuse` demands and what spares a data channel the full
//! handshake's round trips and signatures, so a run shows how often it
//! happened, beside the handshakes' times in the mode's histograms.

use std::collections::BTreeMap;
use std::ops::AddAssign;

use serde::{Deserialize, Serialize};

use crate::proto::tls::Handshake;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsStats {
    /// Control connections secured.
    pub control_handshakes: u64,
    /// Data channels secured (`PROT P`).
    pub data_handshakes: u64,
    /// Of those, the ones that resumed a session instead of a full handshake.
    pub data_resumed: u64,
    /// Downloads whose channel closed without a TLS close_notify.
    pub data_unclean_close: u64,
    /// Control connections by negotiated version and cipher suite,
    /// "TLSv1.3 TLS13_AES_256_GCM_SHA384".
    pub negotiated: BTreeMap<String, u64>,
}

impl TlsStats {
    pub fn is_empty(&self) -> bool {
        self.control_handshakes == 0 && self.data_handshakes == 0
    }

    pub fn control(&mut self, h: &Handshake) {
        self.control_handshakes += 1;
        let name = h.name();
        match self.negotiated.get_mut(&name) {
            Some(n) => *n += 1,
            None => {
                self.negotiated.insert(name, 1);
            }
        }
    }

    pub fn data(&mut self, h: &Handshake, unclean: bool) {
        self.data_handshakes += 1;
        self.data_resumed += u64::from(h.resumed);
        self.data_unclean_close += u64::from(unclean);
    }
}

impl AddAssign<&TlsStats> for TlsStats {
    fn add_assign(&mut self, o: &TlsStats) {
        self.control_handshakes += o.control_handshakes;
        self.data_handshakes += o.data_handshakes;
        self.data_resumed += o.data_resumed;
        self.data_unclean_close += o.data_unclean_close;
        for (k, v) in &o.negotiated {
            *self.negotiated.entry(k.clone()).or_default() += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::{CipherSuite, ProtocolVersion};

    #[test]
    fn counts_add_up_and_merge_by_suite() {
        let full = Handshake {
            version: ProtocolVersion::TLSv1_3,
            suite: CipherSuite::TLS13_AES_256_GCM_SHA384,
            resumed: false,
        };
        let resumed = Handshake {
            resumed: true,
            ..full
        };
        let mut a = TlsStats::default();
        a.control(&full);
        a.data(&resumed, false);
        a.data(&full, true);
        let mut b = TlsStats::default();
        b.control(&full);
        b += &a;
        assert_eq!(b.control_handshakes, 2);
        assert_eq!(
            (b.data_handshakes, b.data_resumed, b.data_unclean_close),
            (2, 1, 1)
        );
        assert_eq!(
            b.negotiated.get("TLSv1.3 TLS13_AES_256_GCM_SHA384"),
            Some(&2)
        );
    }
}
