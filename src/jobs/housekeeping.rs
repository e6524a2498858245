//! Scheduled purges: expired exports (the file goes, the record stays), requests never verified
//! (and every copy of their address), closed requests' personal data once their retention ends
//! (the register row and the audit trail stay), spent sessions, verifications and rate-limit
//! windows, and spools no collection needs any more. Safe to run on several instances at once: every step
//! changes only rows still in the state it expects, and counts only what it changed.

use anyhow::Context;

use crate::app::App;
use crate::domain::RequestStatus;
use crate::domain::audit::{Actor, Event};
use crate::store::{
    Conn, clarifications, emails, events, exports, inbox_handles, pauses, plans, rate_limits, requests, tasks,
};

/// Unverified requests are marked expired after this long (their links lasted minutes).
const UNVERIFIED_AFTER_MS: i64 = 7 * 86_400_000;
/// Spent verifications are kept a day, so a late click still says "expired" rather than "invalid".
const VERIFICATIONS_KEPT_MS: i64 = 86_400_000;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub exports: usize,
    pub unverified: usize,
    pub sessions: usize,
    pub verifications: usize,
    pub spools: usize,
    pub closed: usize,
    /// Folders of files uploaded for manual sources, of requests that no longer need them.
    pub uploads: usize,
}

pub async fn run(app: &App) -> anyhow::Result<Purged> {
    let now = app.now_ms();
    let mut purged = Purged::default();
    let mut conn = app.store.conn().await?;
    for (id, file_name) in exports::expired(&mut conn, now).await? {
        app.exports.delete(&file_name).with_context(|| format!("deleting the export {file_name}"))?;
        let mut tx = app.store.begin().await?;
        exports::mark_deleted(&mut tx, &id, now).await?;
        let request_id: Option<String> = sqlx::query_scalar("SELECT request_id FROM exports WHERE id = $1")
            .bind(&id)
            .fetch_optional(&mut *tx)
            .await?;
        let event = Event::ExportDeleted { export: id.clone() };
        events::record(&mut tx, request_id.as_deref(), &Actor::System, &event, now).await?;
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
        if expire_unverified(&mut tx, &id, now).await? {
            tx.commit().await?;
            purged.unverified += 1;
        } else {
            // Verified meanwhile, or expired by another instance: nothing to do.
            tx.rollback().await?;
        }
    }
    let closed: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM requests WHERE status IN ('completed', 'denied', 'cancelled') AND completed_at < $1 \
         AND purged_at IS NULL",
    )
    .bind(now - app.settings.requests.personal_data_days * 86_400_000)
    .fetch_all(&mut *conn)
    .await
    .context("listing closed requests past their retention")?;
    for id in closed {
        let mut tx = app.store.begin().await?;
        forget_closed(&mut tx, &id, now).await?;
        tx.commit().await?;
        purged.closed += 1;
    }
    purged.sessions = sqlx::query("DELETE FROM requester_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *conn)
        .await
        .context("purging expired sessions")?
        .rows_affected() as usize;
    purged.verifications = sqlx::query("DELETE FROM verifications WHERE expires_at < $1")
        .bind(now - VERIFICATIONS_KEPT_MS)
        .execute(&mut *conn)
        .await
        .context("purging spent verifications")?
        .rows_affected() as usize;
    // Staff sessions past their absolute end, and failed-login counters with no lock in force that
    // have been quiet for a day (password spraying must not grow the table for ever).
    purged.sessions += sqlx::query("DELETE FROM staff_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *conn)
        .await
        .context("purging expired staff sessions")?
        .rows_affected() as usize;
    sqlx::query("DELETE FROM login_failures WHERE locked_until < $1 AND updated_at < $2")
        .bind(now)
        .bind(now - 86_400_000)
        .execute(&mut *conn)
        .await
        .context("purging failed-login counters")?;
    // The longest window is a day (emails and code attempts per address): keep two.
    rate_limits::purge(&mut conn, now - 2 * 86_400_000).await?;
    // "Check your inbox" pages ask for another email for a day; their sealed address goes after two.
    inbox_handles::purge(&mut conn, now - 2 * 86_400_000).await?;
    purged.spools = remove_stale_spools(app, &mut conn).await?;
    purged.uploads = remove_stale_uploads(app, &mut conn).await?;
    remove_stale_temp_files(&app.settings.export_dir());
    if purged != Purged::default() {
        tracing::info!(
            exports = purged.exports,
            unverified = purged.unverified,
            sessions = purged.sessions,
            verifications = purged.verifications,
            spools = purged.spools,
            closed = purged.closed,
            uploads = purged.uploads,
            "housekeeping"
        );
    }
    Ok(purged)
}

/// Expires a request still unverified, forgetting its address everywhere: it was never proven to
/// be the person's. False (changing nothing) when the request is no longer `submitted`.
async fn expire_unverified(tx: &mut Conn, id: &str, now: i64) -> anyhow::Result<bool> {
    let (from, to) = (RequestStatus::Submitted, RequestStatus::Expired);
    from.transition(to)?;
    let done = sqlx::query(
        "UPDATE requests SET status = $1, email = NULL, updated_at = $2, completed_at = $2 \
         WHERE id = $3 AND status = $4",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .execute(&mut *tx)
    .await
    .context("expiring an unverified request")?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    let event = Event::StatusChanged { from, to };
    events::record(tx, Some(id), &Actor::System, &event, now).await?;
    // The wait for proof of identity ends with the request (docs/legal.md, "Clock pauses": every pause an interval).
    let closed = pauses::event_id(tx, id, &event, now).await?;
    pauses::close(tx, id, crate::deadlines::PauseReason::Identity, closed.as_deref(), now).await?;
    emails::forget_for_request(tx, id).await?;
    sqlx::query("DELETE FROM verifications WHERE request_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("deleting an expired request's verifications")?;
    Ok(true)
}

/// Forgets a closed request's personal data (`requests.personal_data_days` after it closed): the
/// address (its keyed hash stays, to find the person's requests), the person's statement, the
/// values of proposed corrections, staff notes and the emails' addresses and bodies. What was
/// asked, when, by which channel, what was done and why stays, for the register (Art. 5(2)).
async fn forget_closed(tx: &mut Conn, id: &str, now: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE requests SET email = NULL, statement = NULL, purged_at = $1, updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("forgetting a closed request's address")?;
    sqlx::query("DELETE FROM request_notes WHERE request_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("deleting a closed request's notes")?;
    plans::forget_values(tx, id).await?;
    clarifications::purge_texts(tx, id).await?;
    // Notes staff left on manual tasks and the uploaded files' names (the files themselves are
    // deleted by `remove_stale_uploads`, in this same run: the request is closed).
    tasks::forget_for_request(tx, id).await?;
    emails::forget_for_request(tx, id).await?;
    events::record(tx, Some(id), &Actor::System, &Event::PersonalDataPurged {}, now).await
}

/// Deletes the spool directories (`<spool_dir>/<request id>`) no collection needs any more. A
/// request in `needs_attention` keeps its spools: it may go back to `collecting`, and its export
/// is then built from the sources already collected.
async fn remove_stale_spools(app: &App, conn: &mut Conn) -> anyhow::Result<usize> {
    let root = app.settings.spool_dir();
    let entries = match std::fs::read_dir(&root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("listing {}", root.display())),
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Some(request_id) = entry.file_name().to_str().map(str::to_owned) else { continue };
        let status = requests::get(conn, &request_id).await?.map(|r| r.status);
        if matches!(status, Some(RequestStatus::Collecting | RequestStatus::NeedsAttention)) {
            continue;
        }
        let path = entry.path();
        match tokio::fs::remove_dir_all(&path).await {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            // The next run tries again; the other purges go on.
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "could not delete a spool"),
        }
    }
    Ok(removed)
}

/// Deletes the folders of uploaded files (`<data_dir>/uploads/<request id>`) of requests that no
/// longer need them: closed (completed, denied, cancelled, expired — GDPR Art. 5(1)(e), nothing
/// kept longer than needed; their personal data is purged, or will never be sent), ready (the
/// export holds the files), or gone. A sweep rather than a step of each transition: a crash
/// between a request's closing and the deletion is caught by the next run.
async fn remove_stale_uploads(app: &App, conn: &mut Conn) -> anyhow::Result<usize> {
    let root = app.settings.data_dir.join("uploads");
    let entries = match std::fs::read_dir(&root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).context("listing the uploads folder"),
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Some(request_id) = entry.file_name().to_str().map(str::to_owned) else { continue };
        let status = requests::get(conn, &request_id).await?.map(|r| r.status);
        let needed = status.is_some_and(|s| !s.is_terminal() && s != RequestStatus::Ready);
        if needed {
            continue;
        }
        let path = entry.path();
        match tokio::fs::remove_dir_all(&path).await {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            // The next run tries again; the other purges go on. (The path names a request id.)
            Err(e) => tracing::warn!(request = %request_id, error = %e, "could not delete uploaded files"),
        }
    }
    Ok(removed)
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
