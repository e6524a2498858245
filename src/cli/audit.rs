//! `dossier audit verify`: seals what is waiting, walks the keyed audit chain, compares its end
//! with the checkpoint, says what it checked and names the first break. `dossier audit reseal`:
//! the upgrade from the SHA-256 chain, with an operator's explicit acceptance of a known break.
//! `dossier audit prune`: deletes whole closed segments once the chain verifies.

use std::process::ExitCode;

use clap::Subcommand;

use super::Common;
use crate::clock::Clock;
use crate::config::Settings;
use crate::crypto::SecretKey;
use crate::store::Store;
use crate::store::audit::{self, ChainKey, Checkpoint, Sealing};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Seal the events waiting, then check that no sealed event was changed, deleted or inserted,
    /// and that none was removed from the end (against the checkpoint in the data directory);
    /// exit status 1 at the first break.
    Verify {
        #[command(flatten)]
        common: Common,
        /// Earlier values of DOSSIER_SECRET_KEY (comma-separated): the chain's segments sealed
        /// before a key rotation are checked with them.
        #[arg(long, env = "DOSSIER_PREVIOUS_SECRET_KEYS", value_delimiter = ',', hide_env_values = true)]
        previous_keys: Vec<String>,
    },
    /// Delete the oldest sealed segments of the chain (1 to N), once it verifies: whole segments
    /// closed by a key rotation only. The checkpoint records what was pruned.
    Prune {
        #[command(flatten)]
        common: Common,
        /// The last segment to delete (as `dossier audit verify` lists them).
        #[arg(long)]
        through_segment: i64,
        /// Earlier values of DOSSIER_SECRET_KEY (comma-separated), to verify the older segments.
        #[arg(long, env = "DOSSIER_PREVIOUS_SECRET_KEYS", value_delimiter = ',', hide_env_values = true)]
        previous_keys: Vec<String>,
    },
    /// Verify the SHA-256 audit chain of an earlier version and reseal it under the keyed rule
    /// (done at start; this form accepts a break the operator has investigated). With
    /// `--reanchor`: re-establish a lost checkpoint at the end of the verified chain.
    Reseal {
        #[command(flatten)]
        common: Common,
        /// The id of the first broken event, as the refusal named it: reseal anyway, recording it.
        #[arg(long, conflicts_with = "reanchor")]
        accept_broken: Option<String>,
        /// The checkpoint file is lost: verify the chain from its start and anchor it anew at its
        /// end, recording that in the chain (deletions from the end before now go undetected).
        #[arg(long)]
        reanchor: bool,
        /// Earlier values of DOSSIER_SECRET_KEY (comma-separated), to verify the older segments
        /// before re-anchoring.
        #[arg(long, env = "DOSSIER_PREVIOUS_SECRET_KEYS", value_delimiter = ',', hide_env_values = true)]
        previous_keys: Vec<String>,
    },
}

impl AuditCommand {
    pub fn common(&self) -> &Common {
        match self {
            AuditCommand::Verify { common, .. }
            | AuditCommand::Prune { common, .. }
            | AuditCommand::Reseal { common, .. } => common,
        }
    }
}

pub async fn run(command: AuditCommand, settings: Settings) -> anyhow::Result<ExitCode> {
    let now = crate::clock::SystemClock.now_ms();
    let key = ChainKey::from_secret(&settings.secret_key);
    let checkpoint = settings.audit_checkpoint();
    match command {
        AuditCommand::Verify { previous_keys, .. } => {
            let keys = keyring(&key, &previous_keys)?;
            let store = Store::connect(&settings.database_url).await?;
            // Sealing first shortens the window to now. A read-only role cannot seal: the check
            // still covers everything sealed so far.
            match audit::seal(&store, &key, &checkpoint, now).await {
                Ok(Sealing::Done { sealed, .. }) if sealed > 0 => println!("sealed {sealed} waiting events"),
                Ok(Sealing::Done { .. }) => {}
                Ok(Sealing::Busy) => println!("another instance is sealing; checking what is sealed"),
                Err(e) => eprintln!("could not seal the waiting events: {e:#}"),
            }
            let anchored = Checkpoint::read(&checkpoint)?;
            let mut conn = store.conn().await?;
            let report = audit::verify(&mut conn, &keys, anchored.as_ref()).await?;
            println!("checkpoint file: {}", checkpoint.display());
            println!("{report}");
            Ok(if report.is_intact() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        AuditCommand::Prune { through_segment, previous_keys, .. } => {
            let keys = keyring(&key, &previous_keys)?;
            let store = Store::connect(&settings.database_url).await?;
            let pruned = audit::prune(&store, &keys, &checkpoint, through_segment, now).await?;
            println!(
                "pruned segments 1 to {} (events #1 to #{}); the chain goes on from MAC {}",
                pruned.segment, pruned.count, pruned.mac
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Reseal { reanchor: true, previous_keys, .. } => {
            let keys = keyring(&key, &previous_keys)?;
            let store = Store::connect(&settings.database_url).await?;
            store.migrate().await?;
            let point = audit::reanchor(&store, &keys, &checkpoint, now).await?;
            println!(
                "re-anchored the audit chain at event #{} (MAC {}, key id {}) in {}; recorded as \
                 audit_checkpoint_reestablished",
                point.count,
                point.mac,
                point.key_id,
                checkpoint.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Reseal { accept_broken, .. } => {
            let store = Store::connect(&settings.database_url).await?;
            store.migrate().await?;
            let resealed = audit::upgrade(&store, &key, &checkpoint, now, accept_broken.as_deref()).await?;
            if resealed == 0 {
                println!("nothing to reseal: the audit chain is already keyed");
            } else {
                println!("resealed {resealed} events of the SHA-256 chain under key id {}", key.id());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The current key first, then the previous ones.
fn keyring(current: &ChainKey, previous: &[String]) -> anyhow::Result<Vec<ChainKey>> {
    let mut keys = vec![current.clone()];
    for (n, previous) in previous.iter().filter(|k| !k.trim().is_empty()).enumerate() {
        let previous = SecretKey::from_base64(previous)
            .map_err(|e| anyhow::anyhow!("DOSSIER_PREVIOUS_SECRET_KEYS, key {}: {e}", n + 1))?;
        keys.push(ChainKey::from_secret(&previous));
    }
    Ok(keys)
}
