//! Pure domain types and rules. Nothing here does I/O or knows about actix or sqlx.

pub mod audit;
pub mod condition;
mod denial;
mod email;
mod found;
mod kind;
mod locale;
mod reference;
mod role;
mod status;
mod text;

pub use denial::DenialGround;
pub use email::{EmailAddress, EmailError, redact_emails};
pub use found::Found;
pub use kind::{RequestKind, UnknownKind};
pub use locale::Locale;
pub use reference::Reference;
pub use role::Role;
pub use status::{RequestStatus, TransitionError};
pub use text::Text;
