//! Builds the request's export from its sources' spools, then tells the requester it is ready.

use anyhow::Context;
use time::Duration;

use crate::app::App;
use crate::clock::from_ms;
use crate::domain::RequestStatus;
use crate::domain::audit::{Actor, Event};
use crate::export::{ExportInput, ExportSource, build_export};
use crate::services::notify;
use crate::store::{events, exports, requests};

pub async fn run(app: &App, request_id: &str) -> anyhow::Result<()> {
    let mut conn = app.store.conn().await?;
    let request = requests::get(&mut conn, request_id).await?.context("the request is gone")?;
    if request.status != RequestStatus::Collecting {
        return Ok(());
    }
    let reference = request.reference.clone().context("a collecting request without a reference")?;
    drop(conn);

    // A source that reported records must have its spool here: never a silent partial export
    // (several instances must share the whole data directory, see docs/deployment.md).
    let mut conn = app.store.conn().await?;
    let runs = crate::store::source_runs::for_request(&mut conn, request_id).await?;
    drop(conn);
    let mut sources = Vec::new();
    for c in &app.connectors {
        let name = &c.info().name;
        let path = crate::services::progress::spool_path(app, request_id, name);
        let reported = runs.iter().find(|r| &r.source == name).map_or(0, |r| r.records);
        let restored = !path.exists()
            && reported > 0
            && c.staff_task().is_some()
            && crate::services::tasks::restore_spool(app, request_id, name).await?;
        let spool = if path.exists() || restored {
            Some(path)
        } else if reported > 0 {
            anyhow::bail!("the collected records of source {name} are missing from this instance's data directory");
        } else {
            None
        };
        sources.push(ExportSource { info: c.info().clone(), spool });
    }
    let now = app.now_ms();
    // Dates in the report are the controller's local time, as the deadline is.
    let local = |ms: i64| {
        let at = from_ms(ms);
        app.zone.offset_at(at).map(|offset| at.to_offset(offset)).unwrap_or(at)
    };
    let input = ExportInput {
        reference: reference.to_string(),
        kind: request.kind,
        locale: request.locale,
        received_at: local(request.received_at),
        generated_at: local(now),
        due_date: request.due_on,
        // GDPR Art. 15(1)(f): the authority the person may complain to is the one of the law
        // their request falls under (the ICO for a UK GDPR request), not always the controller's.
        controller: crate::config::ControllerInfo {
            authority: app.settings.authority_for_code(&request.jurisdiction).clone(),
            ..app.settings.controller.clone()
        },
        sources,
    };
    let export_id = crate::crypto::new_id();
    let file_name = format!("{export_id}.zip.enc");
    // Built into a local file next to the stored exports (a `.tmp` name housekeeping sweeps if this
    // instance dies), then published whole under its final name.
    let local = app.settings.export_dir().join(format!("{file_name}.building.tmp"));
    let key = app.keys.export.clone();
    let storage = app.exports.clone();
    let name = file_name.clone();
    let summary = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let summary = build_export(&input, &key, &local)?;
        storage.publish(&name, &local).with_context(|| format!("publishing the export {name}"))?;
        Ok(summary)
    })
    .await
    .context("the export builder stopped")??;

    let now = app.now_ms();
    let expires_at = now + app.settings.exports.retention_days * 86_400_000;
    let mut tx = app.store.begin().await?;
    // Re-read under the transaction: the request may have been cancelled while the ZIP was built.
    let request = requests::get(&mut tx, request_id).await?.context("the request is gone")?;
    if request.status != RequestStatus::Collecting {
        tx.rollback().await?;
        let _ = app.exports.delete(&file_name);
        return Ok(());
    }
    exports::insert(
        &mut tx,
        &exports::ExportRow {
            id: export_id.clone(),
            request_id: request_id.to_owned(),
            file_name,
            size_bytes: summary.zip_bytes as i64,
            sha256: summary.sha256.clone(),
            records: summary.total_records as i64,
            created_at: now,
            expires_at,
            deleted_at: None,
        },
    )
    .await?;
    let event = Event::ExportBuilt {
        export: export_id.clone(),
        records: summary.total_records,
        files: summary.files as u64,
        sha256: summary.sha256.clone(),
    };
    events::record(&mut tx, Some(request_id), &Actor::System, &event, now).await?;
    requests::transition(&mut tx, &request, RequestStatus::Ready, &Actor::System, now).await?;
    let email = request.email.as_deref().context("a request without its address")?;
    let expires_on = app.zone.local_date(from_ms(expires_at) - Duration::milliseconds(1)).context("expiry date")?;
    let to = notify::To { request_id, email, locale: request.locale };
    let found = crate::domain::Found::from_count(summary.total_records as i64);
    notify::export_ready(app, &mut tx, to, &reference, found, expires_on, now).await?;
    tx.commit().await?;
    app.jobs_ready.notify_waiters();
    // The spools held the same data, encrypted; the export replaces them.
    let _ = std::fs::remove_dir_all(app.settings.spool_dir().join(request_id));
    Ok(())
}
