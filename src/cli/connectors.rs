//! `dossier connectors …`: for connector authors.

use std::process::ExitCode;

use clap::Subcommand;

use super::Common;
use crate::config::Settings;

#[derive(Debug, Subcommand)]
pub enum ConnectorsCommand {
    /// Connect to every source and check the configuration against it. Changes nothing.
    Check {
        #[command(flatten)]
        common: Common,
    },
}

pub async fn run(command: ConnectorsCommand, settings: Settings) -> anyhow::Result<ExitCode> {
    match command {
        ConnectorsCommand::Check { .. } => {
            let connectors = crate::connectors::build(&settings.sources)?;
            let mut failed = false;
            for c in &connectors {
                match c.check().await {
                    Ok(report) => {
                        println!("ok    {}", c.info().name);
                        for note in report.notes {
                            println!("      {note}");
                        }
                    }
                    Err(e) => {
                        failed = true;
                        println!("FAIL  {}: {e}", c.info().name);
                    }
                }
            }
            Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
    }
}

impl ConnectorsCommand {
    pub fn common(&self) -> &Common {
        match self {
            ConnectorsCommand::Check { common } => common,
        }
    }
}
