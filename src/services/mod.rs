//! What people and jobs can do, as functions over the [`App`](crate::app::App). Handlers parse
//! input into domain types and call these; these talk to the store, connectors and mail.

pub mod actions;
pub mod budgets;
pub mod changes;
pub mod notify;
pub mod progress;
pub mod requests;
pub mod staff;
pub mod tasks;
