//! `/staff/register.csv?from=YYYY-MM-DD&to=YYYY-MM-DD`: the register of requests (GDPR Art. 5(2)
//! accountability; CCPA regulations §7101 records), for every role, auditors first.
//!
//! One row per verified request received in the period, with what was done and when (the answer
//! date of every request, access included: migration 0017), and who did it — never the person's address: the register outlives the request's personal data. Streamed a
//! page of requests at a time (keyset on the receipt date), so its size does not matter; cells a
//! spreadsheet would run as a formula are neutralised. Exporting it is itself an audit event.
//!
//! The queries live here rather than in `store/`: they serve this export only.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::{HttpResponse, web};
use anyhow::Context;
use serde::Deserialize;
use sqlx::{AssertSqlSafe, Row};
use time::Date;

use super::{READERS, require};
use crate::app::App;
use crate::clock::from_ms;
use crate::domain::audit::{Actor, Event};
use crate::store::requests::{date_to_text, text_to_date};
use crate::store::{Conn, events};
use crate::web::{Page, PageError};

/// Requests read per query (and per chunk of the response).
const PAGE: usize = 500;

/// The register's address.
pub fn url() -> String {
    "/staff/register.csv".into()
}

/// Column headings, in order, as catalog keys.
const COLUMNS: [&str; 16] = [
    "staff.register.col_reference",
    "staff.register.col_kind",
    "staff.register.col_jurisdiction",
    "staff.register.col_channel",
    "staff.register.col_received",
    "staff.register.col_verified",
    "staff.register.col_due",
    "staff.register.col_extended_to",
    "staff.register.col_extension_reason",
    "staff.register.col_answered",
    "staff.register.col_closed",
    "staff.register.col_outcome",
    "staff.register.col_denial_ground",
    "staff.register.col_sources",
    "staff.register.col_exceptions",
    "staff.register.col_staff",
];

#[derive(Debug, Deserialize)]
pub struct Period {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// The keyset position after a row: receipt date, instant, id.
type After = (String, i64, String);

struct Cursor {
    app: web::Data<App>,
    from: Date,
    to: Date,
    after: Option<After>,
    /// The heading row, sent with the first chunk.
    heading: Option<Vec<u8>>,
    done: bool,
}

pub async fn export(mut page: Page, app: web::Data<App>, q: web::Query<Period>) -> Result<HttpResponse, PageError> {
    let by = require(&app, &mut page, READERS).await?;
    let (from, to) = match (text_to_date(q.from.trim()), text_to_date(q.to.trim())) {
        (Ok(from), Ok(to)) if from <= to => (from, to),
        _ => return Err(PageError::BAD_FORM),
    };
    let (from_text, to_text) = (date_to_text(from), date_to_text(to));
    let mut tx = app.store.begin().await?;
    let event = Event::RegisterExported { from: from_text.clone(), to: to_text.clone() };
    events::record(&mut tx, None, &Actor::staff(&by.id), &event, app.now_ms()).await?;
    tx.commit().await.context("recording the register export")?;

    let heading = csv_line(COLUMNS.iter().map(|k| page.t.get(k).to_owned()))?;
    let cursor = Cursor { app: app.clone(), from, to, after: None, heading: Some(heading), done: false };
    let stream = futures_util::stream::try_unfold(cursor, |mut cursor| async move {
        if cursor.done {
            return Ok(None);
        }
        let mut chunk = cursor.heading.take().unwrap_or_default();
        match next_page(&mut cursor).await {
            Ok(rows) => chunk.extend(rows),
            Err(e) => {
                // The response has started: all that is left is to cut it short, and say why in the log.
                tracing::error!(error = %format!("{e:#}"), "the register export failed");
                return Err(std::io::Error::other("the register export failed"));
            }
        }
        Ok(Some((web::Bytes::from(chunk), cursor)))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"register-{from_text}-{to_text}.csv\"")))
        .insert_header(("Cache-Control", "no-store"))
        .streaming(stream))
}

fn csv_line(cells: impl IntoIterator<Item = String>) -> anyhow::Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(cells.into_iter().map(crate::export::csv_cell)).context("writing a register row")?;
    out.into_inner().map_err(|e| anyhow::anyhow!("writing a register row: {}", e.error()))
}

/// The next page of rows as CSV; marks the cursor done after the last one.
async fn next_page(cursor: &mut Cursor) -> anyhow::Result<Vec<u8>> {
    let app = &cursor.app;
    let mut conn = app.store.conn().await?;
    let requests = requests_page(&mut conn, cursor.from, cursor.to, cursor.after.as_ref()).await?;
    cursor.done = requests.len() < PAGE;
    let Some(last) = requests.last() else { return Ok(Vec::new()) };
    cursor.after = Some((last.received_on.clone(), last.received_at, last.id.clone()));
    let ids: Vec<&str> = requests.iter().map(|r| r.id.as_str()).collect();
    let mut sources = sources_searched(&mut conn, &ids).await?;
    let mut staff = staff_involved(&mut conn, &ids).await?;
    let mut exceptions = exceptions_applied(&mut conn, &ids).await?;
    drop(conn);
    let local_date = |ms: Option<i64>| -> anyhow::Result<String> {
        ms.map(|ms| app.zone.local_date(from_ms(ms)).map(date_to_text).context("a date in the register"))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let mut out = Vec::new();
    for r in requests {
        let (due, extended_to) = match r.original_due_on {
            Some(original) => (original, r.due_on),
            None => (r.due_on, String::new()),
        };
        out.extend(csv_line([
            r.reference,
            r.kind,
            r.jurisdiction,
            r.channel,
            r.received_on,
            local_date(r.verified_at)?,
            due,
            extended_to,
            r.extension_reason.unwrap_or_default(),
            // GDPR Art. 12(3): when the person was given the answer, access requests included.
            local_date(r.answered_at)?,
            local_date(r.completed_at)?,
            r.status,
            r.denial_ground.unwrap_or_default(),
            sources.remove(&r.id).unwrap_or_default().join("; "),
            exceptions
                .remove(&r.id)
                .unwrap_or_default()
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect::<Vec<_>>()
                .join("; "),
            staff.remove(&r.id).unwrap_or_default().into_iter().collect::<Vec<_>>().join("; "),
        ])?);
    }
    Ok(out)
}

struct RegisterRow {
    id: String,
    reference: String,
    kind: String,
    jurisdiction: String,
    channel: String,
    received_on: String,
    received_at: i64,
    verified_at: Option<i64>,
    due_on: String,
    original_due_on: Option<String>,
    extension_reason: Option<String>,
    answered_at: Option<i64>,
    completed_at: Option<i64>,
    status: String,
    denial_ground: Option<String>,
}

async fn requests_page(
    conn: &mut Conn,
    from: Date,
    to: Date,
    after: Option<&After>,
) -> anyhow::Result<Vec<RegisterRow>> {
    let keyset = if after.is_some() { " AND (received_on, received_at, id) > ($3, $4, $5)" } else { "" };
    let sql = format!(
        "SELECT id, reference, kind, jurisdiction, channel, received_on, received_at, verified_at, due_on, \
         original_due_on, extension_reason, answered_at, completed_at, status, denial_ground FROM requests \
         WHERE verified_at IS NOT NULL AND reference IS NOT NULL AND received_on >= $1 AND received_on <= $2{keyset} \
         ORDER BY received_on, received_at, id LIMIT {PAGE}"
    );
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(date_to_text(from)).bind(date_to_text(to));
    if let Some((on, at, id)) = after {
        query = query.bind(on.clone()).bind(*at).bind(id.clone());
    }
    let rows = query.fetch_all(&mut *conn).await.context("reading the register")?;
    rows.iter()
        .map(|r| {
            Ok(RegisterRow {
                id: r.try_get("id")?,
                reference: r.try_get("reference")?,
                kind: r.try_get("kind")?,
                jurisdiction: r.try_get("jurisdiction")?,
                channel: r.try_get("channel")?,
                received_on: r.try_get("received_on")?,
                received_at: r.try_get("received_at")?,
                verified_at: r.try_get("verified_at")?,
                due_on: r.try_get("due_on")?,
                original_due_on: r.try_get("original_due_on")?,
                extension_reason: r.try_get("extension_reason")?,
                answered_at: r.try_get("answered_at")?,
                completed_at: r.try_get("completed_at")?,
                status: r.try_get("status")?,
                denial_ground: r.try_get("denial_ground")?,
            })
        })
        .collect()
}

/// `$1, $2, …, $n`.
fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Each request's sources, by name: `crm: 12` (records found) or `billing: failed`.
async fn sources_searched(conn: &mut Conn, ids: &[&str]) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    let sql = format!(
        "SELECT request_id, source, status, records FROM source_runs WHERE request_id IN ({}) \
         ORDER BY request_id, source",
        placeholders(ids.len())
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in query.fetch_all(&mut *conn).await.context("reading the sources searched")? {
        let (source, status): (String, String) = (r.try_get("source")?, r.try_get("status")?);
        let result = if status == "done" { r.try_get::<i64, _>("records")?.to_string() } else { status };
        out.entry(r.try_get("request_id")?).or_default().push(format!("{source}: {result}"));
    }
    Ok(out)
}

/// Per completed request, what was not erased and why, as codes with counts: records kept (as they
/// are, or pseudonymised) under an Art. 17(3) basis (`legal-obligation: 2`), shared with other people (`shared: 1`), without an
/// erasure rule (`unruled: 1`), and items staff excluded or rejected (`excluded: 1`).
async fn exceptions_applied(
    conn: &mut Conn,
    ids: &[&str],
) -> anyhow::Result<BTreeMap<String, BTreeMap<String, usize>>> {
    let sql = format!(
        "SELECT p.request_id, p.action, p.detail, p.decision FROM plan_items p \
         JOIN requests r ON r.id = p.request_id AND r.status = 'completed' \
         WHERE p.request_id IN ({}) AND (p.decision IN ('kept', 'excluded') \
         OR (p.action = 'pseudonymise' AND p.decision = 'approved'))",
        placeholders(ids.len())
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    let mut out: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for r in query.fetch_all(&mut *conn).await.context("reading the exceptions applied")? {
        let (action, detail, decision): (String, String, String) =
            (r.try_get("action")?, r.try_get("detail")?, r.try_get("decision")?);
        let code = if decision == "excluded" {
            "excluded".to_owned()
        } else if matches!(action.as_str(), "retain" | "pseudonymise" | "shared") {
            // Kept (pseudonymised or not) under an Art. 17(3) ground: the ground is the reason.
            serde_json::from_str::<serde_json::Value>(&detail)
                .ok()
                .and_then(|d| d["basis"].as_str().or(d["kept"]["basis"].as_str()).map(str::to_owned))
                .unwrap_or(action)
        } else {
            action
        };
        *out.entry(r.try_get("request_id")?).or_default().entry(code).or_default() += 1;
    }
    Ok(out)
}

/// The display names of the staff who appear in each request's audit trail, sorted.
async fn staff_involved(conn: &mut Conn, ids: &[&str]) -> anyhow::Result<BTreeMap<String, BTreeSet<String>>> {
    let sql = format!(
        "SELECT DISTINCT a.request_id, s.display_name FROM audit_events a JOIN staff s ON a.actor = 'staff:' || s.id \
         WHERE a.request_id IN ({})",
        placeholders(ids.len())
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in query.fetch_all(&mut *conn).await.context("reading the staff involved")? {
        out.entry(r.try_get("request_id")?).or_default().insert(r.try_get("display_name")?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Tr;

    #[test]
    fn formulas_are_neutralised_and_plain_text_is_not() {
        for risky in ["=HYPERLINK(\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(crate::export::csv_cell(risky.to_owned()), format!("'{risky}"));
        }
        for plain in ["DSR-2026-000001", "2026-03-10", "crm: 12", "", "Camille Durand"] {
            assert_eq!(crate::export::csv_cell(plain.to_owned()), plain);
        }
    }

    #[test]
    fn every_heading_is_in_both_catalogs() {
        for locale in [crate::domain::Locale::En, crate::domain::Locale::Fr] {
            for key in COLUMNS {
                assert_ne!(key, Tr::new(locale).get(key), "{key} is missing in {locale}");
            }
        }
    }
}
