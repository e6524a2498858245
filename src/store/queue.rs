//! The staff queue's reads: one page of verified requests by legal due date (keyset pagination on
//! `(due_on, id)`), and the counts per status under the same filters.
//!
//! Every filter is a plain equality or range on an indexed column (migrations 0001, 0002 and
//! 0012 index `(status, due_on)`, `(due_on, id)`, `(kind, due_on, id)`, `(jurisdiction, due_on,
//! id)`, `(assignee_id, due_on, id)` and, for requests awaiting their answer only, `(assignee_id,
//! due_on, id)`), so a page reads about as many index entries as it shows; the counts per status
//! read partial indexes of verified requests without touching the table
//! (`examples/queue_bench.rs` measures both with 100,000 requests). The deadline states also ask,
//! per candidate row, whether a counted pause stops the request's clock now: one lookup in the
//! partial index of open counted pauses (migration 0013), which holds a handful of rows.

use anyhow::{Context, anyhow};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use time::Date;

use super::Conn;
use super::pauses::STOPPED_SQL;
use super::requests::{DUE_SOON_DAYS, DeadlineState, date_to_text, text_to_date};
use crate::domain::{Reference, RequestKind, RequestStatus};

/// Whose requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    /// Nobody works them yet.
    Nobody,
    /// This staff member's (by id).
    Staff(String),
}

/// The staff queue's filters. Only verified requests (with a reference) are listed.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub status: Option<RequestStatus>,
    pub kind: Option<RequestKind>,
    /// Applies to requests still awaiting their answer only ([`awaiting_answer`]).
    pub deadline: Option<(DeadlineState, Date)>,
    pub reference: Option<Reference>,
    pub email_hash: Option<String>,
    /// The deadline policy's code (`eu-gdpr`, `uk-gdpr`…).
    pub jurisdiction: Option<String>,
    pub assignee: Option<Assignee>,
}

/// What one line of the queue shows.
#[derive(Debug, Clone)]
pub struct QueueRow {
    pub id: String,
    pub reference: Reference,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub jurisdiction: String,
    pub received_on: Date,
    pub due_on: Date,
    pub assignee_id: Option<String>,
    /// A counted pause stops the request's clock now: it is neither overdue nor due soon
    /// (its `due_on` moves when the pause closes).
    pub clock_stopped: bool,
}

/// A WHERE clause and its bound values (`$1`, `$2`… in order).
struct Clause {
    conditions: Vec<String>,
    binds: Vec<String>,
}

impl Clause {
    fn new() -> Self {
        Self { conditions: vec!["reference IS NOT NULL".to_owned()], binds: Vec::new() }
    }

    /// Adds a condition on one new bound value; `sql` gets its placeholder number.
    fn bind(&mut self, value: String, sql: impl Fn(usize) -> String) {
        self.binds.push(value);
        self.conditions.push(sql(self.binds.len()));
    }

    fn sql(&self) -> String {
        self.conditions.join(" AND ")
    }

    fn query<'q>(&'q self, sql: String) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for b in &self.binds {
            query = query.bind(b.as_str());
        }
        query
    }
}

/// The conditions every filter but the status and the deadline state add (the counts per status
/// use these alone, so each count says what picking that status would show).
fn scope(filter: &QueueFilter) -> Clause {
    let mut c = Clause::new();
    if let Some(k) = filter.kind {
        c.bind(k.as_str().to_owned(), |n| format!("kind = ${n}"));
    }
    if let Some(j) = &filter.jurisdiction {
        c.bind(j.clone(), |n| format!("jurisdiction = ${n}"));
    }
    match &filter.assignee {
        Some(Assignee::Nobody) => c.conditions.push("assignee_id IS NULL".to_owned()),
        Some(Assignee::Staff(id)) => c.bind(id.clone(), |n| format!("assignee_id = ${n}")),
        None => {}
    }
    if let Some(r) = &filter.reference {
        c.bind(r.as_str().to_owned(), |n| format!("reference = ${n}"));
    }
    if let Some(h) = &filter.email_hash {
        c.bind(h.clone(), |n| format!("email_hash = ${n}"));
    }
    c
}

/// Whether a request still waits for its answer, so that its due date matters: not closed, and
/// not `ready` (an access or portability request whose export the person was told they can
/// download has been answered, GDPR Art. 12(3)).
pub fn awaiting_answer(s: RequestStatus) -> bool {
    s.awaits_answer()
}

/// The statuses of [`awaiting_answer`], as an SQL list of literals (codes, never input).
pub fn awaiting_answer_sql() -> String {
    let open = RequestStatus::ALL.iter().filter(|s| awaiting_answer(**s)).map(|s| format!("'{}'", s.as_str()));
    open.collect::<Vec<_>>().join(", ")
}

/// One page of the queue, by due date then id, starting after `after` (keyset pagination).
pub async fn page(
    conn: &mut Conn,
    filter: &QueueFilter,
    after: Option<(Date, String)>,
    limit: u32,
) -> anyhow::Result<Vec<QueueRow>> {
    let mut c = scope(filter);
    if let Some(s) = filter.status {
        c.bind(s.as_str().to_owned(), |n| format!("status = ${n}"));
    }
    // Implied by a status awaiting its answer, and by a deadline state; written out so that the
    // partial index of requests awaiting their answer (migration 0012) can serve the page.
    if filter.status.is_some_and(awaiting_answer) || filter.deadline.is_some() {
        c.conditions.push(format!("status IN ({})", awaiting_answer_sql()));
    }
    if let Some((state, today)) = filter.deadline {
        let soon = today + time::Duration::days(DUE_SOON_DAYS);
        match state {
            // A request whose clock is stopped (UK GDPR clarification…) is not late nor due soon
            // while it waits for the person: it is on track. One lookup per candidate row in the
            // tiny partial index of open counted pauses (migration 0013).
            DeadlineState::Overdue => c.bind(date_to_text(today), |n| format!("due_on < ${n} AND NOT {STOPPED_SQL}")),
            DeadlineState::DueSoon => {
                c.bind(date_to_text(today), |n| format!("due_on >= ${n}"));
                c.bind(date_to_text(soon), |n| format!("due_on <= ${n} AND NOT {STOPPED_SQL}"));
            }
            DeadlineState::OnTrack => c.bind(date_to_text(soon), |n| format!("(due_on > ${n} OR {STOPPED_SQL})")),
        }
    }
    if let Some((due, id)) = after {
        c.binds.push(date_to_text(due));
        c.binds.push(id);
        let (d, i) = (c.binds.len() - 1, c.binds.len());
        // `due_on >= d` alone is the index range; the rest skips the rows of the same day already shown.
        c.conditions.push(format!("due_on >= ${d} AND (due_on > ${d} OR id > ${i})"));
    }
    let sql = format!(
        "SELECT id, reference, kind, status, jurisdiction, received_on, due_on, assignee_id, \
         CAST(CASE WHEN {STOPPED_SQL} THEN 1 ELSE 0 END AS BIGINT) AS clock_stopped FROM requests \
         WHERE {} ORDER BY due_on, id LIMIT {limit}",
        c.sql()
    );
    let rows = c.query(sql).fetch_all(&mut *conn).await.context("listing the queue")?;
    rows.iter().map(from_row).collect()
}

fn from_row(row: &AnyRow) -> anyhow::Result<QueueRow> {
    let reference: String = row.try_get("reference")?;
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    Ok(QueueRow {
        id: row.try_get("id")?,
        reference: reference.parse().map_err(|_| anyhow!("bad reference in store"))?,
        kind: kind.parse().map_err(|_| anyhow!("bad kind in store: {kind}"))?,
        status: status.parse().map_err(|_| anyhow!("bad status in store: {status}"))?,
        jurisdiction: row.try_get("jurisdiction")?,
        received_on: text_to_date(&row.try_get::<String, _>("received_on")?)?,
        due_on: text_to_date(&row.try_get::<String, _>("due_on")?)?,
        assignee_id: row.try_get("assignee_id")?,
        clock_stopped: row.try_get::<i64, _>("clock_stopped")? != 0,
    })
}

/// How many verified requests are in each status, under the filter's right, policy, assignee
/// and search (not its status or deadline state), in lifecycle order.
pub async fn counts_by_status(conn: &mut Conn, filter: &QueueFilter) -> anyhow::Result<Vec<(RequestStatus, i64)>> {
    let c = scope(filter);
    let sql = format!("SELECT status, COUNT(*) AS n FROM requests WHERE {} GROUP BY status", c.sql());
    let rows = c.query(sql).fetch_all(&mut *conn).await.context("counting requests")?;
    let mut counts = Vec::new();
    for r in rows {
        let status: String = r.try_get("status")?;
        if let Ok(s) = status.parse() {
            counts.push((s, r.try_get::<i64, _>("n")?));
        }
    }
    counts.sort_by_key(|(s, _)| RequestStatus::ALL.iter().position(|x| x == s));
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The partial index of requests awaiting their answer is only used when the query's status
    /// list is the index's, to the letter.
    #[test]
    fn the_awaiting_answer_list_is_the_partial_index_s() {
        let migration = include_str!("../../migrations/0012_queue_indexes.sql");
        let expected = format!("WHERE status IN ({});", awaiting_answer_sql());
        assert!(migration.contains(&expected), "{expected}");
        assert!(!awaiting_answer(RequestStatus::Ready));
        assert!(awaiting_answer(RequestStatus::NeedsAttention));
        assert!(!awaiting_answer(RequestStatus::Completed));
    }
}
