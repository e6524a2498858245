//! Dossier: a self-service portal for data-subject requests.
//!
//! The folder tree is the architecture: `domain` holds pure types and rules, `deadlines` the legal
//! clock, `connectors` the sources of personal data, `export` the portable ZIP, `store` the
//! database, `jobs` the durable background work, `mail` the messages, `web` the pages.

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connectors;
pub mod crypto;
pub mod deadlines;
pub mod demo;
pub mod domain;
pub mod export;
pub mod fsutil;
pub mod i18n;
pub mod jobs;
pub mod mail;
pub mod net;
pub mod plans;
pub mod queue;
pub mod services;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
