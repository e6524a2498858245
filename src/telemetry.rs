//! Logs through `tracing`: human-readable by default, JSON with `DOSSIER_LOG_FORMAT=json`,
//! filtered by `RUST_LOG` (default `info`). Personal data never reaches a log line: code logs
//! masked emails or request references only.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,actix_server=warn"));
    let json = std::env::var("DOSSIER_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
