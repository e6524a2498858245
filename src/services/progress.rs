//! A request's progress through its sources: which work is queued when, where each source's
//! results wait, and what a source finishing or failing records. The jobs (`crate::jobs`) run
//! the work and call these; so do staff completing a manual source's task (`services::tasks`).
//! Work is queued through the typed jobs of [`crate::queue`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use crate::app::App;
use crate::connectors::{Connector, ConnectorError};
use crate::domain::audit::{Actor, Event};
use crate::domain::{RequestStatus, redact_emails};
use crate::queue::{self, Job};
use crate::store::jobs::{self as rows, ClaimedJob};
use crate::store::source_runs::{self, RunStatus};
use crate::store::{Conn, events, requests};

/// Queues `job` about `request_id` (or about none), once.
async fn enqueue<J: Job>(
    app: &App,
    conn: &mut Conn,
    job: &J,
    request_id: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    queue::enqueue(conn, job, request_id, app.settings.jobs.max_attempts, now).await?;
    Ok(())
}

/// Queues the delivery of a stored email.
pub async fn enqueue_email(
    app: &App,
    conn: &mut Conn,
    email_id: &str,
    request_id: &str,
    now: i64,
) -> anyhow::Result<()> {
    enqueue_email_about(app, conn, email_id, Some(request_id), now).await
}

/// Queues the delivery of a stored email about request `request_id`, or about none (a sign-in
/// whose reference and address matched no request).
pub async fn enqueue_email_about(
    app: &App,
    conn: &mut Conn,
    email_id: &str,
    request_id: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    enqueue(app, conn, &queue::SendEmail { email_id: email_id.to_owned() }, request_id, now).await
}

/// Queues one collection job per configured source (or the export directly when there is none).
pub async fn start_collection(app: &App, conn: &mut Conn, request_id: &str, now: i64) -> anyhow::Result<()> {
    for connector in &app.connectors {
        let source = &connector.info().name;
        source_runs::insert_pending(conn, request_id, source, now).await?;
        let job = queue::Collect { request_id: request_id.to_owned(), source: source.clone(), round: None };
        enqueue(app, conn, &job, Some(request_id), now).await?;
    }
    if app.connectors.is_empty() {
        enqueue_export(app, conn, request_id, now).await?;
    }
    Ok(())
}

/// Queues one planning job per configured source (erasure, rectification, objection).
pub async fn start_planning(app: &App, conn: &mut Conn, request_id: &str, now: i64) -> anyhow::Result<()> {
    for connector in &app.connectors {
        let source = &connector.info().name;
        source_runs::insert_pending(conn, request_id, source, now).await?;
        let job = queue::Plan { request_id: request_id.to_owned(), source: source.clone(), round: None };
        enqueue(app, conn, &job, Some(request_id), now).await?;
    }
    Ok(())
}

/// Queues the execution of a source's approved items not executed yet. Each call is a new round
/// (staff approving the rest after an absolute objection ran, a retry after a dead job); a round
/// that finds nothing left to execute changes nothing.
pub async fn enqueue_execution(
    app: &App,
    conn: &mut Conn,
    request_id: &str,
    source: &str,
    now: i64,
) -> anyhow::Result<()> {
    source_runs::mark(conn, request_id, source, RunStatus::Pending, None, now).await?;
    let job =
        queue::Execute { request_id: request_id.to_owned(), source: source.to_owned(), round: crate::crypto::new_id() };
    enqueue(app, conn, &job, Some(request_id), now).await
}

/// Searches `source` again for a request whose search did not finish (a retry by staff): a new
/// round of its collection (access, portability) or planning (the other rights).
pub async fn retry_search(
    app: &App,
    conn: &mut Conn,
    request: &requests::RequestRow,
    source: &str,
    now: i64,
) -> anyhow::Result<()> {
    source_runs::insert_pending(conn, &request.id, source, now).await?;
    let (request_id, source, round) = (request.id.clone(), source.to_owned(), Some(crate::crypto::new_id()));
    if request.kind.produces_export() {
        enqueue(app, conn, &queue::Collect { request_id, source, round }, Some(&request.id), now).await
    } else {
        enqueue(app, conn, &queue::Plan { request_id, source, round }, Some(&request.id), now).await
    }
}

/// Builds the export again after its job died (a retry by staff).
pub async fn retry_export(app: &App, conn: &mut Conn, request_id: &str, now: i64) -> anyhow::Result<()> {
    let job = queue::BuildExport { request_id: request_id.to_owned(), round: Some(crate::crypto::new_id()) };
    enqueue(app, conn, &job, Some(request_id), now).await
}

/// Queues the export of a request whose every source is collected.
pub async fn enqueue_export(app: &App, conn: &mut Conn, request_id: &str, now: i64) -> anyhow::Result<()> {
    let job = queue::BuildExport { request_id: request_id.to_owned(), round: None };
    enqueue(app, conn, &job, Some(request_id), now).await
}

/// The start of a job that works on one source of one request (collect, plan, execute): the
/// request, if it is still in one of the `wanted` states, and the source's connector; the source
/// is marked running.
pub async fn start_source_job(
    app: &App,
    request_id: &str,
    source: &str,
    wanted: &[RequestStatus],
) -> anyhow::Result<Option<(requests::RequestRow, Arc<dyn Connector>)>> {
    let mut conn = app.store.conn().await?;
    let request = requests::get(&mut conn, request_id).await?.context("the request is gone")?;
    if !wanted.contains(&request.status) {
        return Ok(None);
    }
    let connector =
        app.connector(source).with_context(|| format!("source {source:?} is no longer configured"))?.clone();
    source_runs::mark(&mut conn, request_id, source, RunStatus::Running, None, app.now_ms()).await?;
    Ok(Some((request, connector)))
}

/// A source failed this attempt: its progress shows the reason (addresses masked: a database
/// error may quote one) while the job still holds its lease, and the job fails, to be retried.
pub async fn source_failed(
    app: &App,
    job: &ClaimedJob,
    request_id: &str,
    source: &str,
    error: ConnectorError,
    doing: &str,
) -> anyhow::Error {
    let recorded = async {
        let backend = app.store.backend();
        let message = redact_emails(&error.message);
        let mut tx = app.store.begin().await?;
        requests::lock(&mut tx, backend, request_id).await?;
        if rows::still_held(&mut tx, backend, job).await? {
            source_runs::mark(&mut tx, request_id, source, RunStatus::Pending, Some(&message), app.now_ms()).await?;
        }
        tx.commit().await?;
        anyhow::Ok(())
    }
    .await;
    // Only the connector's own sentence is kept: the database's message behind it (its cause) can
    // quote a value (`Duplicate entry '+33612345678'`), and this error is stored and logged.
    let failed = anyhow::anyhow!("{doing} {source}: {}", redact_emails(&error.message));
    match recorded {
        Ok(()) => failed,
        Err(e) => failed.context(format!("(its progress could not be recorded: {e:#})")),
    }
}

/// Where a source's spool for a request lives. Names come from configuration, so the file name
/// is derived from a hash rather than trusted as a path.
pub fn spool_path(app: &App, request_id: &str, source: &str) -> PathBuf {
    app.settings
        .spool_dir()
        .join(request_id)
        .join(format!("{}.spool", &crate::crypto::sha256_hex(source.as_bytes())[..16]))
}

/// Records that `source` finished collecting (`records` found), and, if it was the last source
/// of the request still running, queues the export. Called under the request's lock, by the
/// collect job and by a staff member completing a manual source's task.
pub async fn source_collected(
    app: &App,
    tx: &mut Conn,
    request_id: &str,
    source: &str,
    records: i64,
    now: i64,
) -> anyhow::Result<()> {
    source_runs::update(tx, request_id, source, RunStatus::Done, records, None, now).await?;
    let event = Event::SourceCollected { source: source.to_owned(), records };
    events::record(tx, Some(request_id), &Actor::System, &event, now).await?;
    let runs = source_runs::for_request(tx, request_id).await?;
    if runs.iter().all(|r| r.status == RunStatus::Done) {
        enqueue_export(app, tx, request_id, now).await?;
    }
    Ok(())
}

/// Records that `source` finished executing, with its outcome counts (`{"applied": 3, …}`).
/// Called under the request's lock, by the execute job and by a staff member confirming a manual
/// source's task.
pub async fn source_executed(
    tx: &mut Conn,
    request_id: &str,
    source: &str,
    outcomes: BTreeMap<String, i64>,
    now: i64,
) -> anyhow::Result<()> {
    source_runs::mark(tx, request_id, source, RunStatus::Done, None, now).await?;
    let event = Event::SourceExecuted { source: source.to_owned(), outcomes };
    events::record(tx, Some(request_id), &Actor::System, &event, now).await
}
