//! The FTP protocol layer: a pure reply codec ([`reply`]), commands
//! ([`command`]), the control connection ([`control`]) and data channels
//! ([`data`]), each apart from what a virtual client does with them.

mod addr;
mod bytes;
pub mod command;
pub mod control;
pub mod data;
pub mod error;
mod listen;
pub mod mode;
pub mod reply;
pub mod session;
pub mod source;
pub mod tls;
mod wait;

pub use addr::{resolve, ResolveError};
pub use command::{Command, Verb};
pub use control::{Control, Exchange, Timeouts};
pub use error::{ErrorClass, ProtoError, Step};
pub use mode::{DataOptions, Mode, PortRange};
pub use reply::{Reply, ReplyLimits};
