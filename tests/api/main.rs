//! The one integration-test binary: it links once, which matters on two cores.

mod helpers;

mod audit;
mod bad_input;
mod browser;
mod changes;
mod cli_connectors;
mod cli_deadline;
mod export;
mod faults;
mod jobs;
mod portal;
mod register;
mod reminders;
mod smtp;
mod staff;
