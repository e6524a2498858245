//! Executes one source's approved items of a request: every step in one transaction on the
//! source (the connector's `execute`), then the outcomes recorded here. A crash between the two
//! runs the steps again, which changes nothing the second time (every step is idempotent, see
//! `crate::plans`), and records the outcomes then.

use anyhow::Context;

use crate::app::App;
use crate::connectors::Subject;
use crate::domain::EmailAddress;
use crate::domain::RequestStatus;
use crate::domain::audit::Actor;
use crate::plans::anonymise::Pseudonymiser;
use crate::plans::{Change, Step, StepOutcome};
use crate::services::changes;
use crate::services::progress;
use crate::store::jobs::{self as queue, ClaimedJob};
use crate::store::plans::{self, Item, Outcome};
use crate::store::requests;
use std::collections::HashSet;

pub async fn run(app: &App, job: &ClaimedJob, request_id: &str, source: &str) -> anyhow::Result<()> {
    // Approved items run while staff review the rest (an objection to direct marketing is
    // honoured at once) and while another source needs attention.
    // honoured at once) and while another source needs attention. Only items approved by law
    // (Art. 21(3)) can be left when a request is refused or withdrawn: they still run.
    let wanted = [
        RequestStatus::Executing,
        RequestStatus::AwaitingReview,
        RequestStatus::NeedsAttention,
        RequestStatus::Denied,
        RequestStatus::Cancelled,
    ];
    let Some((request, connector)) = progress::start_source_job(app, request_id, source, &wanted).await? else {
        return Ok(());
    };
    if connector.staff_task().is_some() {
        // A manual source is changed by staff: a task asks them to confirm it was done.
        return crate::services::tasks::open_for_execution(app, job, &request, source).await;
    }
    let items = {
        let mut conn = app.store.conn().await?;
        plans::to_execute(&mut conn, request_id, source).await?
    };
    // The plan may be weeks old: a key may since point at another person's record (an id reused,
    // an export renumbered). Only records the person still has are changed; the others were
    // changed by an earlier attempt of this step (a crash after the source committed), or are
    // reported missing.
    let owned: HashSet<(String, String)> = if items.is_empty() {
        HashSet::new()
    } else {
        let email =
            EmailAddress::parse(request.email.as_deref().unwrap_or_default()).context("the request's address")?;
        match connector.locate(&Subject { email }).await {
            Ok(located) => located.into_iter().map(|l| (l.collection, key_text(&l.key))).collect(),
            Err(e) => return Err(progress::source_failed(app, job, request_id, source, e, "executing on").await),
        }
    };
    let (current, gone): (Vec<&Item>, Vec<&Item>) =
        items.iter().partition(|i| owned.contains(&(i.collection.clone(), key_text(&i.record_key))));
    let steps = current.iter().map(|i| step(i)).collect::<anyhow::Result<Vec<_>>>()?;
    {
        let mut tx = app.store.begin().await?;
        let ids: Vec<&str> = current.iter().map(|i| i.id.as_str()).collect();
        plans::mark_attempted(&mut tx, &ids, app.now_ms()).await?;
        tx.commit().await?;
    }

    let pseudonymiser = Pseudonymiser::new(app.keys.pseudonym.clone());
    let outcomes = if steps.is_empty() { Ok(Vec::new()) } else { connector.execute(&steps, &pseudonymiser).await };
    let outcomes = match outcomes {
        Ok(o) if o.len() == steps.len() => o,
        Ok(o) => anyhow::bail!("source {source} reported {} outcomes for {} steps", o.len(), steps.len()),
        Err(e) => return Err(progress::source_failed(app, job, request_id, source, e, "executing on").await),
    };

    let now = app.now_ms();
    let backend = app.store.backend();
    let mut tx = app.store.begin().await?;
    requests::lock(&mut tx, backend, request_id).await?;
    if !queue::still_held(&mut tx, backend, job).await? {
        tx.rollback().await?;
        return Ok(());
    }
    let mut counts = std::collections::BTreeMap::<&str, i64>::new();
    for ((item, step), outcome) in current.iter().zip(&steps).zip(&outcomes) {
        let o = outcome_of(item, &step.change, outcome);
        *counts.entry(o.as_str()).or_default() += 1;
        plans::record_outcome(&mut tx, &item.id, o, now).await?;
    }
    for item in gone {
        let o = if item.attempted_at.is_some() { Outcome::Already } else { Outcome::Missing };
        *counts.entry(o.as_str()).or_default() += 1;
        plans::record_outcome(&mut tx, &item.id, o, now).await?;
    }
    let outcomes = counts.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect();
    progress::source_executed(&mut tx, request_id, source, outcomes, now).await?;
    let request = requests::get(&mut tx, request_id).await?.context("the request is gone")?;
    if counts.contains_key(Outcome::Mismatch.as_str()) {
        // The source did not keep what was written: never a silent "completed".
        if request.status.transition(RequestStatus::NeedsAttention).is_ok() {
            requests::transition(&mut tx, &request, RequestStatus::NeedsAttention, &Actor::System, now).await?;
        }
    } else {
        changes::executed(app, &mut tx, &request, now).await?;
    }
    tx.commit().await?;
    app.jobs_ready.notify_waiters();
    Ok(())
}

/// The step an approved item stands for.
pub fn step(item: &Item) -> anyhow::Result<Step> {
    let change = match item.action.as_str() {
        "delete" | "anonymise" | "pseudonymise" | "shared" => {
            let planned: crate::plans::erasure::Planned =
                serde_json::from_value(item.detail.clone()).context("a stored erasure item")?;
            planned.change().context("an approved item that changes nothing")?
        }
        "rectify" => {
            let field = item.detail["field"].as_str().context("a correction without its field")?;
            let new = item.detail.get("new").cloned().context("a correction without its new value")?;
            Change::Update(vec![(field.to_owned(), crate::plans::FieldWrite::Value(new))])
        }
        "suppress" => {
            let set = item.detail["set"].as_object().context("an objection without its values")?;
            Change::Update(set.iter().map(|(f, v)| (f.clone(), crate::plans::FieldWrite::Value(v.clone()))).collect())
        }
        other => anyhow::bail!("an approved item with action {other:?} cannot be executed"),
    };
    Ok(Step { collection: item.collection.clone(), key: item.record_key.clone(), change })
}

/// A key as compared between a plan and a new search: its JSON text.
fn key_text(key: &crate::plans::Values) -> String {
    serde_json::Value::Object(key.clone()).to_string()
}

/// What a step's outcome means: a delete that finds nothing was applied by an earlier attempt
/// only if there was one.
fn outcome_of(item: &Item, change: &Change, outcome: &StepOutcome) -> Outcome {
    match change {
        Change::Delete if outcome.found => Outcome::Applied,
        Change::Delete if item.attempted_at.is_some() => Outcome::Already,
        Change::Delete => Outcome::Missing,
        Change::Update(_) if !outcome.found => Outcome::Missing,
        Change::Update(_) if outcome.satisfies(change) => Outcome::Applied,
        Change::Update(_) => Outcome::Mismatch,
    }
}
