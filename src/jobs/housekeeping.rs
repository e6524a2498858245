//! Scheduled purges: expired exports (the file goes, the record stays), requests never verified,
//! and spent rate-limit windows. Safe to run on several instances at once.

use anyhow::Context;

use crate::app::App;
use crate::domain::RequestStatus;
use crate::store::{audit, exports, rate_limits, requests};

/// Unverified requests are marked expired after this long (their links lasted minutes).
const UNVERIFIED_AFTER_MS: i64 = 7 * 86_400_000;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub exports: usize,
    pub unverified: usize,
}

pub async fn run(app: &App) -> anyhow::Result<Purged> {
    let now = app.now_ms();
    let mut purged = Purged::default();
    let mut conn = app.store.conn().await?;
    for (id, file_name) in exports::expired(&mut conn, now).await? {
        let path = app.settings.export_dir().join(&file_name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("deleting {}", path.display())),
        }
        let mut tx = app.store.begin().await?;
        exports::mark_deleted(&mut tx, &id, now).await?;
        let request_id: Option<String> = sqlx::query_scalar("SELECT request_id FROM exports WHERE id = $1")
            .bind(&id)
            .fetch_optional(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            request_id.as_deref(),
            "system",
            "export_deleted",
            &serde_json::json!({ "export": id }),
            now,
        )
        .await?;
        tx.commit().await?;
        purged.exports += 1;
    }
    let stale: Vec<String> = sqlx::query_scalar("SELECT id FROM requests WHERE status = $1 AND received_at < $2")
        .bind(RequestStatus::Submitted.as_str())
        .bind(now - UNVERIFIED_AFTER_MS)
        .fetch_all(&mut *conn)
        .await
        .context("listing unverified requests")?;
    for id in stale {
        let mut tx = app.store.begin().await?;
        if let Some(r) = requests::get(&mut tx, &id).await? {
            requests::transition(&mut tx, &r, RequestStatus::Expired, "system", now).await?;
            // Never verified: the address was never proven to be the person's; forget it.
            sqlx::query("UPDATE requests SET email = NULL WHERE id = $1").bind(&id).execute(&mut *tx).await?;
            purged.unverified += 1;
        }
        tx.commit().await?;
    }
    rate_limits::purge(&mut conn, now - 2 * 3_600_000).await?;
    remove_stale_temp_files(&app.settings.export_dir());
    if purged != Purged::default() {
        tracing::info!(exports = purged.exports, unverified = purged.unverified, "housekeeping");
    }
    Ok(purged)
}

/// A crash while an export is written leaves `*.tmp` files behind; they are never served.
fn remove_stale_temp_files(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > std::time::Duration::from_secs(3600)));
        if old && path.extension().is_some_and(|e| e == "tmp") {
            let _ = std::fs::remove_file(&path);
        }
    }
}
