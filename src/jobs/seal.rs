//! The audit sealer: every [`audit::SEAL_EVERY`] it chains the events recorded since its last
//! round (see [`crate::store::audit`] for the chain, the checkpoint and the window this bounds).
//! Several instances may run it; one seals at a time, the others find the lock taken and skip.

use std::sync::Arc;

use tokio::sync::watch;

use crate::app::App;
use crate::store::audit::{self, ChainKey, Report, Sealing};

/// Seals what is waiting now (tests call it before checking the chain).
pub async fn run(app: &App) -> anyhow::Result<Sealing> {
    audit::seal(&app.store, &app.keys.audit, &app.settings.audit_checkpoint(), app.now_ms()).await
}

/// Seals what is waiting (a refusal is logged, not returned: the check then says why), and
/// verifies the chain with the current key and `previous` ones against the checkpoint.
pub async fn seal_and_verify(app: &App, previous: &[ChainKey]) -> anyhow::Result<Report> {
    if let Err(e) = run(app).await {
        tracing::error!(error = %super::describe(&e), "sealing the audit chain failed");
    }
    let mut keys = vec![app.keys.audit.clone()];
    keys.extend_from_slice(previous);
    let anchored = audit::Checkpoint::read(&app.settings.audit_checkpoint())?;
    let mut conn = app.store.conn().await?;
    audit::verify(&mut conn, &keys, anchored.as_ref()).await
}

/// Seals every [`audit::SEAL_EVERY`] until `shutdown` turns true, then once more.
pub async fn run_periodically(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(audit::SEAL_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = every.tick() => false,
            _ = shutdown.changed() => true,
        } || *shutdown.borrow();
        if let Err(e) = run(&app).await {
            // A refusal here is a tamper alarm (the chain lost its anchored end): loud, every round.
            tracing::error!(error = %super::describe(&e), "sealing the audit chain failed");
        }
        if stopping {
            return;
        }
    }
}
