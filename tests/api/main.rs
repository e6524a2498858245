//! The one integration-test binary: it links once, which matters on two cores.

mod helpers;

mod at_rest;
mod audit;
mod bad_input;
mod browser;
mod changes;
mod clarification;
mod cli_connectors;
mod cli_deadline;
mod dashboard;
mod export;
mod faults;
mod hardening;
mod jobs;
mod load;
mod manual;
mod metrics;
mod portal;
mod portal_security;
mod privacy;
mod queue;
mod register;
mod regressions;
mod reminders;
mod smtp;
mod staff;
mod staff_data;
mod staff_routes;
mod staff_security;
mod timeline;
mod truth;
