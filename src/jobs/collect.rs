//! Collects one source's records for one request into an encrypted spool file.

use anyhow::Context;

use crate::app::App;
use crate::connectors::Subject;
use crate::domain::{EmailAddress, RequestStatus};
use crate::export::spool::SpoolWriter;
use crate::services::progress;
use crate::store::jobs::{self as queue, ClaimedJob};
use crate::store::requests;

/// Runs the collection as the claim `job` (its id and attempt name the temporary file, and its
/// results are only recorded while it still holds the job).
pub async fn run(app: &App, job: &ClaimedJob, request_id: &str, source: &str) -> anyhow::Result<()> {
    // A request that needs attention because another source failed keeps collecting: every
    // source's result, success or failure, must be visible to staff. Cancelled or denied: stop.
    let wanted = [RequestStatus::Collecting, RequestStatus::NeedsAttention];
    let Some((request, connector)) = progress::start_source_job(app, request_id, source, &wanted).await? else {
        return Ok(());
    };
    let email = EmailAddress::parse(request.email.as_deref().unwrap_or_default()).context("the request's address")?;

    let path = progress::spool_path(app, request_id, source);
    let dir = path.parent().context("spool path has a parent")?.to_owned();
    crate::fsutil::create_private_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    // One temporary file per attempt: an attempt whose lease was taken over, still running, never
    // writes into the file the attempt that holds the job writes.
    let file_name = path.file_name().context("spool path has a file name")?.to_string_lossy();
    let tmp = dir.join(format!("{file_name}.{}-{}.tmp", job.id, job.attempts));
    let mut writer = SpoolWriter::create(&tmp, &app.keys.export)?;
    let started = std::time::Instant::now();
    let collected = connector.collect(&Subject { email }, &mut writer).await;
    if let Err(e) = collected {
        drop(writer);
        let _ = std::fs::remove_file(&tmp);
        return Err(progress::source_failed(app, job, request_id, source, e, "collecting from").await);
    }
    let summary = writer.finish()?;
    std::fs::rename(&tmp, &path).with_context(|| format!("saving {}", path.display()))?;
    let records = summary.total_records() as i64;
    tracing::info!(source, records, ms = started.elapsed().as_millis() as u64, "source collected");

    let now = app.now_ms();
    let backend = app.store.backend();
    let mut tx = app.store.begin().await?;
    // Sources finishing at the same time take turns here, so the last one to finish sees every
    // other one done and queues the export (under READ COMMITTED, without the lock, each could
    // see the other still running, and nobody would).
    requests::lock(&mut tx, backend, request_id).await?;
    if !queue::still_held(&mut tx, backend, job).await? {
        // Taken over by another worker, whose attempt records the source's result.
        tx.rollback().await?;
        return Ok(());
    }
    progress::source_collected(app, &mut tx, request_id, source, records, now).await?;
    tx.commit().await?;
    app.jobs_ready.notify_waiters();
    Ok(())
}
