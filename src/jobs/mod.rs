//! Durable background work. Each step of a request (collect one source, build the export, send
//! one email) is a job row: claimed with a lease, retried with exponential backoff and jitter,
//! and dead after its last attempt, which puts the request in `needs_attention` for staff.
//!
//! `dossier serve` runs workers in-process ([`spawn_workers`]); tests drive the queue explicitly
//! with [`run_pending`].

pub mod collect;
mod email;
pub(crate) mod execute;
mod export;
pub mod housekeeping;
mod plan;
pub mod reminders;
pub mod seal;

use std::sync::Arc;
use std::time::Duration;

use rand::RngExt;
use tokio::sync::watch;
use tracing::Instrument;

use crate::app::App;
use crate::domain::audit::{Actor, Event};
use crate::domain::{RequestStatus, redact_emails};
use crate::queue::{self, BuildExport, Collect, Execute, Job, SendEmail};
use crate::store::jobs::{self as rows, ClaimedJob};
use crate::store::{Conn, emails, events, requests, source_runs};

/// What one turn of a worker did.
#[derive(Debug, PartialEq, Eq)]
pub enum Turn {
    Idle,
    Done,
    Retried,
    Dead,
    /// The job ran, but its lease had been taken over by another worker meanwhile: its outcome
    /// was discarded and the job left to the worker that holds it now.
    LeaseLost,
}

/// An error's cause chain as it may be stored and logged: SMTP replies and database messages can
/// quote an email address, so anything shaped like one is masked.
pub(crate) fn describe(error: &anyhow::Error) -> String {
    redact_emails(&format!("{error:#}"))
}

/// Claims and runs one due job. While it runs, its lease is renewed every third of the lease, so
/// a slow job is not taken over by another worker; a worker that lost its lease anyway (it could
/// not reach the database for a whole lease) changes nothing when it finishes.
pub async fn run_once(app: &App, worker: &str) -> anyhow::Result<Turn> {
    let now = app.now_ms();
    let lease = app.settings.jobs.lease_seconds * 1000;
    let claimed = {
        let mut conn = app.store.conn().await?;
        rows::claim(&mut conn, app.store.backend(), worker, now, lease).await?
    };
    let Some(job) = claimed else { return Ok(Turn::Idle) };
    let span = tracing::info_span!("job", kind = %job.kind, id = %job.id, attempt = job.attempts);
    run_claimed(app, &job, lease).instrument(span).await
}

async fn run_claimed(app: &App, job: &ClaimedJob, lease_ms: i64) -> anyhow::Result<Turn> {
    let result = if job.attempts > job.max_attempts {
        Err(anyhow::anyhow!("the job's lease expired on its last attempt"))
    } else {
        let mut work = std::pin::pin!(execute(app, job));
        let mut beat = std::pin::pin!(heartbeat(app, job, lease_ms));
        // The heartbeat stops when the job ends (its future is dropped); if it stops first (the
        // lease is lost), the job still runs to its end, and its outcome is then discarded.
        tokio::select! {
            biased;
            result = &mut work => result,
            () = &mut beat => work.await,
        }
    };
    let now = app.now_ms();
    match result {
        Ok(()) => {
            let mut conn = app.store.conn().await?;
            if !rows::complete(&mut conn, job, now).await? {
                return Ok(lease_lost());
            }
            Ok(Turn::Done)
        }
        Err(e) if job.attempts < job.max_attempts => {
            let error = describe(&e);
            tracing::warn!(error = %error, "job failed; will retry");
            let retry_at = now + backoff_ms(app.settings.jobs.backoff_base_seconds, job.attempts);
            let mut conn = app.store.conn().await?;
            if !rows::fail(&mut conn, job, &error, Some(retry_at), now).await? {
                return Ok(lease_lost());
            }
            Ok(Turn::Retried)
        }
        Err(e) => {
            let error = describe(&e);
            tracing::error!(error = %error, "job failed on its last attempt");
            let mut tx = app.store.begin().await?;
            if !rows::fail(&mut tx, job, &error, None, now).await? {
                tx.rollback().await?;
                return Ok(lease_lost());
            }
            dead_letter(&mut tx, job, &error, now).await?;
            tx.commit().await?;
            Ok(Turn::Dead)
        }
    }
}

fn lease_lost() -> Turn {
    tracing::warn!("the job's lease was taken over by another worker; this attempt's outcome is discarded");
    Turn::LeaseLost
}

/// Renews the job's lease every third of it, for as long as it is polled. Returns only when the
/// lease is lost; a failed renewal (the database unreachable) is logged and tried again.
async fn heartbeat(app: &App, job: &ClaimedJob, lease_ms: i64) {
    let every = Duration::from_millis(u64::try_from(lease_ms / 3).unwrap_or(0).max(100));
    loop {
        tokio::time::sleep(every).await;
        let now = app.now_ms();
        let renewed = async {
            let mut conn = app.store.conn().await?;
            rows::renew(&mut conn, job, now + lease_ms, now).await
        }
        .await;
        match renewed {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("the job's lease was lost while it ran: another worker may be running it");
                return;
            }
            Err(e) => tracing::warn!(error = %describe(&e), "could not renew the job's lease; will try again"),
        }
    }
}

async fn execute(app: &App, job: &ClaimedJob) -> anyhow::Result<()> {
    let payload = &job.payload;
    match job.kind.as_str() {
        SendEmail::KIND => email::run(app, &SendEmail::read(payload)?.email_id).await,
        Collect::KIND => {
            let Collect { request_id, source, .. } = Collect::read(payload)?;
            // A manual source is searched by staff: its collect job opens their task and ends.
            if app.connector(&source).is_some_and(|c| c.staff_task().is_some()) {
                crate::services::tasks::open_for_collection(app, job, &request_id, &source).await
            } else {
                collect::run(app, job, &request_id, &source).await
            }
        }
        BuildExport::KIND => {
            let request_id = BuildExport::read(payload)?.request_id;
            export::run(app, &request_id).await?;
            // Files staff uploaded for manual sources now live in the (encrypted) export alone.
            crate::services::tasks::forget_uploads_once_exported(app, &request_id).await
        }
        queue::Plan::KIND => {
            let queue::Plan { request_id, source, .. } = queue::Plan::read(payload)?;
            plan::run(app, job, &request_id, &source).await
        }
        Execute::KIND => {
            let Execute { request_id, source, .. } = Execute::read(payload)?;
            execute::run(app, job, &request_id, &source).await
        }
        other => anyhow::bail!("unknown job kind {other:?}"),
    }
}

/// A step failed for good: make it visible on the request, never a silent partial answer.
/// `error` is already redacted.
async fn dead_letter(tx: &mut Conn, job: &ClaimedJob, error: &str, now: i64) -> anyhow::Result<()> {
    if job.kind == SendEmail::KIND
        && let Some(email_id) = job.payload["email_id"].as_str()
    {
        // Never delivered, never will be: its bodies may hold a verification link.
        emails::clear_bodies(tx, email_id).await?;
    }
    let Some(request_id) = &job.request_id else { return Ok(()) };
    let event = Event::JobFailed { kind: job.kind.clone(), error: error.to_owned() };
    events::record(tx, Some(request_id), &Actor::System, &event, now).await?;
    if matches!(job.kind.as_str(), Collect::KIND | queue::Plan::KIND | Execute::KIND)
        && let Some(source) = job.payload["source"].as_str()
    {
        source_runs::mark(tx, request_id, source, source_runs::RunStatus::Failed, Some(error), now).await?;
    }
    if job.kind == SendEmail::KIND {
        return Ok(());
    }
    if let Some(request) = requests::get(tx, request_id).await?
        && request.status.transition(RequestStatus::NeedsAttention).is_ok()
    {
        requests::transition(tx, &request, RequestStatus::NeedsAttention, &Actor::System, now).await?;
    }
    Ok(())
}

/// Exponential backoff from `base` seconds, doubling per attempt, capped at six hours, with up to
/// 25% random jitter so retries from many requests do not arrive together.
fn backoff_ms(base_seconds: i64, attempt: i32) -> i64 {
    let exp = base_seconds.max(1).saturating_mul(1_i64 << (attempt - 1).clamp(0, 20)).min(6 * 3600) * 1000;
    exp + rand::rng().random_range(0..=exp / 4)
}

/// Runs every job that is due now, until none is left, and returns how many ran. Tests drive the
/// queue with it: jobs scheduled in the future (retries) wait for the clock to reach them.
pub async fn run_pending(app: &App) -> anyhow::Result<usize> {
    let mut ran = 0;
    while run_once(app, "inline").await? != Turn::Idle {
        ran += 1;
        if ran > 100_000 {
            anyhow::bail!("jobs keep coming: stopped after 100000");
        }
    }
    Ok(ran)
}

const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(300);

/// Starts `n` workers that run jobs until `shutdown` turns true; they finish the job in hand first.
/// With at least one worker, the audit sealer runs beside them ([`seal::run_periodically`]).
pub fn spawn_workers(app: Arc<App>, n: usize, shutdown: watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
    let sealer = (n > 0).then(|| tokio::spawn(seal::run_periodically(app.clone(), shutdown.clone())));
    (0..n)
        .map(|i| {
            let app = app.clone();
            let mut shutdown = shutdown.clone();
            let name = format!("{}-{i}", crate::crypto::new_id().get(..8).unwrap_or("worker"));
            tokio::spawn(async move {
                let poll = Duration::from_millis(app.settings.jobs.poll_interval_ms.max(50));
                let mut last_housekeeping = std::time::Instant::now() - HOUSEKEEPING_EVERY;
                while !*shutdown.borrow() {
                    // The first worker also runs the purges and the deadline reminders, every few minutes.
                    if i == 0 && last_housekeeping.elapsed() >= HOUSEKEEPING_EVERY {
                        last_housekeeping = std::time::Instant::now();
                        if let Err(e) = housekeeping::run(&app).await {
                            tracing::error!(error = %describe(&e), "housekeeping failed");
                        }
                        if let Err(e) = reminders::run(&app).await {
                            tracing::error!(error = %describe(&e), "deadline reminders failed");
                        }
                    }
                    match run_once(&app, &name).await {
                        Ok(Turn::Idle) => {
                            tokio::select! {
                                _ = app.jobs_ready.notified() => {}
                                _ = tokio::time::sleep(poll) => {}
                                _ = shutdown.changed() => {}
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::error!(error = %describe(&e), "job worker error");
                            tokio::time::sleep(poll).await;
                        }
                    }
                }
            })
        })
        .chain(sealer)
        .collect()
}
