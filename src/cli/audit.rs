//! `dossier audit verify`: walks the audit chain and names the first broken link.

use std::process::ExitCode;

use clap::Subcommand;

use super::Common;
use crate::config::Settings;
use crate::store::Store;
use crate::store::audit::{self, ChainCheck};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that no audit event was changed, deleted or inserted since it was written; exit
    /// status 1 at the first broken link.
    Verify {
        #[command(flatten)]
        common: Common,
    },
}

impl AuditCommand {
    pub fn common(&self) -> &Common {
        match self {
            AuditCommand::Verify { common } => common,
        }
    }
}

pub async fn run(command: AuditCommand, settings: Settings) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify { .. } => {
            // A check changes nothing: no migrations here (a read-only database role suffices).
            let store = Store::connect(&settings.database_url).await?;
            let mut conn = store.conn().await?;
            let check = audit::verify(&mut conn).await?;
            println!("{check}");
            match check {
                ChainCheck::Intact { events, head } => {
                    if events > 0 {
                        println!("last event: #{events}, hash {head}");
                    }
                    Ok(ExitCode::SUCCESS)
                }
                ChainCheck::Broken { .. } => Ok(ExitCode::FAILURE),
            }
        }
    }
}
