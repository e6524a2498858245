//! `dossier`: wiring only. Everything else is the library the tests link against.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use dossier::cli::{Cli, Command, Common};
use dossier::clock::SystemClock;
use dossier::config::{Overrides, Settings};
use dossier::startup::Application;

async fn settings(common: &Common, listen: Option<std::net::SocketAddr>) -> anyhow::Result<Settings> {
    let overrides = Overrides { listen, data_dir: common.data_dir.clone() };
    match &common.config {
        Some(path) => Settings::from_file(path, &overrides),
        None => Settings::demo(&overrides).await,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    dossier::telemetry::init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { common, listen } => {
            let settings = settings(&common, listen).await?;
            let demo = settings.demo;
            let app = Application::build(settings, Arc::new(SystemClock)).await?;
            let state = app.app();
            println!("Dossier is listening on {}", state.base_url);
            if demo {
                println!(
                    "Demo mode: sample CRM sources, mail written to {}",
                    state.settings.data_dir.join("outbox").display()
                );
                println!("  try a request for one of the demo people, e.g. {}", dossier::demo::DEMO_PEOPLE[0].0);
                println!("  read the emails at {}/dev/outbox", state.base_url);
                let (email, password) = dossier::services::staff::ensure_demo_account(&state).await?;
                println!("Staff workspace: {}/staff  (demo login: {email} / {password})", state.base_url);
                if let Some(token) = &state.settings.metrics.token {
                    use secrecy::ExposeSecret;
                    println!(
                        "Metrics: curl -H 'Authorization: Bearer {}' {}/metrics  (readiness: {}/ready)",
                        token.expose_secret(),
                        state.base_url,
                        state.base_url
                    );
                }
            }
            app.run_until_stopped().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { common } => {
            let settings = settings(&common, None).await?;
            let store = dossier::store::Store::connect(&settings.database_url).await?;
            store.migrate().await?;
            // The SHA-256 audit chain of earlier versions, verified and resealed once.
            let key = dossier::store::audit::ChainKey::from_secret(&settings.secret_key);
            let now = dossier::clock::Clock::now_ms(&dossier::clock::SystemClock);
            dossier::store::audit::upgrade(&store, &key, &settings.audit_checkpoint(), now, None).await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Connectors { command } => {
            let settings = settings(command.common(), None).await?;
            dossier::cli::connectors::run(command, settings).await
        }
        Command::Deadline(args) => Ok(dossier::cli::deadline::run(args)),
        Command::Staff { command } => {
            let settings = settings(command.common(), None).await?;
            dossier::cli::staff::run(command, settings).await
        }
        Command::Audit { command } => {
            let settings = settings(command.common(), None).await?;
            dossier::cli::audit::run(command, settings).await
        }
        Command::Keygen => {
            println!("{}", dossier::crypto::SecretKey::generate().to_base64());
            Ok(ExitCode::SUCCESS)
        }
    }
}
