//! Settings: a TOML file (see `dossier.example.toml` and docs/configuration.md) with secrets
//! taken from the environment. With no file, `dossier serve` runs the demo.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::connectors::{SourceConfig, Text};
use crate::crypto::SecretKey;
use crate::domain::Locale;

/// The organisation answering requests, and the authority a person may complain to
/// (GDPR Art. 15(1)(f), Art. 77).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControllerInfo {
    pub name: String,
    #[serde(default)]
    pub address: Option<String>,
    /// Where people write about their data.
    pub contact_email: String,
    /// The data protection officer, when one is designated (Art. 37).
    #[serde(default)]
    pub dpo_email: Option<String>,
    /// ISO 3166 code of the controller's Member State: its public holidays count in deadlines.
    #[serde(default = "default_country")]
    pub country: String,
    /// IANA name of the controller's time zone: a request received at 23:30 local time is
    /// received that day.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    pub authority: Authority,
}

/// A supervisory authority (Art. 77); for France, the CNIL.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authority {
    pub name: Text,
    pub address: String,
    pub url: String,
}

fn default_country() -> String {
    "FR".into()
}
fn default_timezone() -> String {
    "Europe/Paris".into()
}
