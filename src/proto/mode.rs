//! Transfer modes and the run-wide choices about data channels.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How the data connection is opened: who connects to whom, and with which command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// PASV: the client connects to a port the server opened (RFC 959).
    Passive,
    /// EPSV: as PASV, but the reply carries only a port (RFC 2428).
    Epsv,
    /// PORT: the server connects back to a port the client opened (RFC 959).
    Active,
    /// EPRT: as PORT, with an address family (RFC 2428).
    Eprt,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Passive, Mode::Epsv, Mode::Active, Mode::Eprt];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Passive => "passive",
            Mode::Epsv => "epsv",
            Mode::Active => "active",
            Mode::Eprt => "eprt",
        }
    }

    pub fn is_active(self) -> bool {
        matches!(self, Mode::Active | Mode::Eprt)
    }

    /// The command that opens a data channel in this mode.
    pub fn verb(self) -> super::Verb {
        match self {
            Mode::Passive => super::Verb::Pasv,
            Mode::Epsv => super::Verb::Epsv,
            Mode::Active => super::Verb::Port,
            Mode::Eprt => super::Verb::Eprt,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown mode {s:?}: expected passive, epsv, active or eprt"))
    }
}

/// Read as `--mode` reads it ([`FromStr`]), so a scenario's unknown mode is
/// told in the same words as the flag's.
impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An inclusive port range, written "first-last".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    /// Number of ports in the range (never zero).
    pub fn size(&self) -> u32 {
        u32::from(self.last) - u32::from(self.first) + 1
    }

    pub fn contains(&self, p: u16) -> bool {
        (self.first..=self.last).contains(&p)
    }
}

impl FromStr for PortRange {
    type Err = String;
    fn from_str(s: &str) -> Result<PortRange, String> {
        let bad = || format!("bad port range {s:?}: expected FIRST-LAST, e.g. 40000-40999");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let first: u16 = a.trim().parse().map_err(|_| bad())?;
        let last: u16 = b.trim().parse().map_err(|_| bad())?;
        if first == 0 || first > last {
            return Err(bad());
        }
        Ok(PortRange { first, last })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

impl Serialize for PortRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Choices about data channels that hold for a whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DataOptions {
    /// Connect to the address a 227 names even when it is not the control
    /// connection's peer. Off by default: NAT'd servers name addresses that do not
    /// work, and following another host's address is the FTP bounce attack.
    pub follow_pasv_address: bool,
    /// Ports for active-mode listeners; `None` lets the kernel pick.
    pub active_ports: Option<PortRange>,
}
