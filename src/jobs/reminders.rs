//! Deadline reminders to staff: before an open request's legal due date (at the configured
//! thresholds, `[reminders] days_before`) and once when it is overdue, an email to its assignee,
//! or, when nobody is assigned, to every enabled admin and agent.
//!
//! The worker that runs the purges scans every few minutes ([`run`]); tests call it directly with
//! the clock where they want it. Each reminder happens once per (request, due date, threshold):
//! a `deadline_reminders` row, keyed by exactly that, is written in the same transaction as the
//! emails it queues, so two instances scanning at once, or a scan after a restart, send nothing
//! twice, and a crash between the two writes sends nothing at all (the next scan does). An
//! extension moves the due date, which is a new key: the thresholds apply again before it.
//!
//! After days without a scan (every instance down), only the closest threshold is sent, not one
//! email per threshold passed meanwhile ([`due_threshold`]).
//!
//! "Today" is each request's own: the date in its policy's time zone (a CCPA request counts in
//! California, a UK GDPR one in London), the zone its stored due date was computed in. While a
//! request's clock is stopped (a pause its policy counts is open), no reminder is sent: the due
//! date moves when the pause closes, and the thresholds then apply to the new date.
//!
//! The same scan sends the CCPA confirmation of receipt (Cal. Code Regs. tit. 11 §7021(a)) to
//! every open CCPA request not confirmed yet (normally confirmed at verification, or at a staff
//! intake; this catches anything else, e.g. a crash or an upgrade), exactly once
//! ([`crate::services::requests::confirm_ccpa_receipt`]).

use std::fmt;

use anyhow::Context;
use sqlx::AssertSqlSafe;
use time::{Date, Duration};

use crate::app::App;
use crate::clock::from_ms;
use crate::config::ReminderSettings;
use crate::deadlines::days_left;
use crate::domain::RequestStatus;
use crate::services::notify;
use crate::store::requests::{self, date_to_text};
use crate::store::{Conn, staff};

/// Which reminder: so many days before the due date, or overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    DaysBefore(u32),
    Overdue,
}

/// As stored in `deadline_reminders.threshold`: `7`, `3`, `1`, `overdue`.
impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::DaysBefore(days) => write!(f, "{days}"),
            Threshold::Overdue => f.write_str("overdue"),
        }
    }
}

/// The reminder a request due on `due` calls for on `today`, if any: once overdue, the overdue
/// one (when enabled); before, the closest threshold already reached (the smallest at least as
/// large as the days left). Whether it was sent already is the caller's business.
pub fn due_threshold(today: Date, due: Date, settings: &ReminderSettings) -> Option<Threshold> {
    let left = days_left(today, due);
    if left < 0 {
        return settings.overdue.then_some(Threshold::Overdue);
    }
    settings.days_before.iter().copied().filter(|&days| i64::from(days) >= left).min().map(Threshold::DaysBefore)
}

/// What one scan did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reminded {
    /// Reminders queued (one per request and threshold).
    pub reminders: usize,
    /// Emails queued for them (one per recipient).
    pub emails: usize,
    /// Reminders due that nobody could receive (no enabled admin or agent): tried again next scan.
    pub unaddressed: usize,
    /// CCPA confirmations of receipt sent (§7021(a)).
    pub receipts_confirmed: usize,
}

/// Requests whose legal clock runs: verified, and neither answered nor closed (GDPR Art. 12(3):
/// an access request whose export is ready and emailed has its answer; nothing is due any more).
fn open_statuses() -> impl Iterator<Item = RequestStatus> {
    RequestStatus::ALL.into_iter().filter(|s| s.awaits_answer() && *s != RequestStatus::Submitted)
}

/// Queues every reminder due now and not sent yet. Safe to run on several instances at once.
pub async fn run(app: &App) -> anyhow::Result<Reminded> {
    let settings = &app.settings.reminders;
    let mut done = Reminded::default();
    let now = app.now_ms();
    done.receipts_confirmed = confirm_ccpa_receipts(app, now).await?;
    if settings.days_before.is_empty() && !settings.overdue {
        return Ok(done);
    }
    let today = app.zone.local_date(from_ms(now)).context("today's date in the controller's time zone")?;
    let furthest = settings.days_before.iter().copied().max().map_or(-1, i64::from);
    // Each request's own "today" is at most a day from the controller's: one day of slack.
    let horizon = today.checked_add(Duration::days(furthest + 1)).unwrap_or(Date::MAX);

    let candidates = {
        let mut conn = app.store.conn().await?;
        let mut due = Vec::new();
        for (id, due_on, jurisdiction) in open_due_by(&mut conn, horizon).await? {
            let due_on = requests::text_to_date(&due_on)?;
            let today = app.today_for(&jurisdiction)?;
            if let Some(threshold) = due_threshold(today, due_on, settings)
                && !already_sent(&mut conn, &id, due_on, threshold).await?
            {
                due.push(id);
            }
        }
        due
    };

    let mut failed = 0;
    for id in candidates {
        match remind(app, &id, now).await {
            Ok(Outcome::Sent { emails }) => {
                done.reminders += 1;
                done.emails += emails;
            }
            Ok(Outcome::NoRecipient) => done.unaddressed += 1,
            Ok(Outcome::Nothing) => {}
            Err(e) => {
                failed += 1;
                tracing::warn!(request = %id, error = %super::describe(&e), "could not queue a deadline reminder");
            }
        }
    }
    if done.reminders > 0 {
        app.jobs_ready.notify_waiters();
        tracing::info!(reminders = done.reminders, emails = done.emails, "deadline reminders queued");
    }
    if done.unaddressed > 0 {
        tracing::warn!(
            reminders = done.unaddressed,
            "deadline reminders are due but no enabled admin or agent can receive them"
        );
    }
    if failed > 0 {
        anyhow::bail!("{failed} deadline reminders could not be queued; the next scan tries again");
    }
    Ok(done)
}

enum Outcome {
    Sent {
        emails: usize,
    },
    NoRecipient,
    /// Sent meanwhile (by another instance), closed, or its due date moved.
    Nothing,
}

/// CCPA §7021(a): confirms the receipt of every open CCPA request not confirmed yet, each in its
/// own transaction; returns how many were sent.
async fn confirm_ccpa_receipts(app: &App, now: i64) -> anyhow::Result<usize> {
    let ids = requests::unconfirmed_ccpa(&mut *app.store.conn().await?).await?;
    let mut sent = 0;
    for id in ids {
        let mut tx = app.store.begin().await?;
        if crate::services::requests::confirm_ccpa_receipt(app, &mut tx, &id, now).await? {
            tx.commit().await?;
            sent += 1;
        }
    }
    if sent > 0 {
        app.jobs_ready.notify_waiters();
        tracing::info!(requests = sent, "CCPA confirmations of receipt queued");
    }
    Ok(sent)
}

/// `(id, due_on, jurisdiction)` of the open requests due on or before `horizon`, less those
/// already reminded as overdue (nothing more is due for them: they would otherwise pile up in
/// every scan).
async fn open_due_by(conn: &mut Conn, horizon: Date) -> anyhow::Result<Vec<(String, String, String)>> {
    let open = open_statuses().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT id, due_on, jurisdiction FROM requests r WHERE reference IS NOT NULL AND status IN ({open}) AND due_on <= $1 \
         AND NOT EXISTS (SELECT 1 FROM deadline_reminders d \
         WHERE d.request_id = r.id AND d.due_on = r.due_on AND d.threshold = 'overdue')"
    );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(date_to_text(horizon))
        .fetch_all(&mut *conn)
        .await
        .context("listing requests due for a reminder")
}

async fn already_sent(conn: &mut Conn, request_id: &str, due_on: Date, threshold: Threshold) -> anyhow::Result<bool> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT request_id FROM deadline_reminders WHERE request_id = $1 AND due_on = $2 AND threshold = $3",
    )
    .bind(request_id)
    .bind(date_to_text(due_on))
    .bind(threshold.to_string())
    .fetch_optional(&mut *conn)
    .await
    .context("checking a deadline reminder")?;
    Ok(found.is_some())
}

/// Claims the request's due reminder and queues its emails, in one transaction. The request is
/// read again under its lock: a scan that lost the race, or a request closed or extended since
/// the listing, changes nothing.
async fn remind(app: &App, id: &str, now: i64) -> anyhow::Result<Outcome> {
    let mut tx = app.store.begin().await?;
    requests::lock(&mut tx, app.store.backend(), id).await?;
    let request = match requests::get(&mut tx, id).await? {
        Some(r) if open_statuses().any(|s| s == r.status) => r,
        _ => return Ok(Outcome::Nothing),
    };
    // The request's own day, in its policy's time zone.
    let today = app.today_for(&request.jurisdiction)?;
    if crate::services::requests::clock_stopped(app, &mut tx, &request, now).await? {
        return Ok(Outcome::Nothing);
    }
    let (Some(reference), Some(threshold)) =
        (request.reference.as_ref(), due_threshold(today, request.due_on, &app.settings.reminders))
    else {
        return Ok(Outcome::Nothing);
    };
    // The assignee, while their account may work requests; otherwise every admin and agent.
    let workers = staff::workers(&mut tx).await?;
    let assignee: Vec<_> = workers.iter().filter(|s| request.assignee_id.as_deref() == Some(s.id.as_str())).collect();
    let assigned = !assignee.is_empty();
    let recipients = if assigned { assignee } else { workers.iter().collect() };
    if recipients.is_empty() {
        return Ok(Outcome::NoRecipient);
    }
    let claimed = sqlx::query(
        "INSERT INTO deadline_reminders (request_id, due_on, threshold, recipients, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id, due_on, threshold) DO NOTHING",
    )
    .bind(&request.id)
    .bind(date_to_text(request.due_on))
    .bind(threshold.to_string())
    .bind(i64::try_from(recipients.len()).unwrap_or(i64::MAX))
    .bind(now)
    .execute(&mut *tx)
    .await
    .context("recording a deadline reminder")?;
    if claimed.rows_affected() != 1 {
        return Ok(Outcome::Nothing);
    }
    let reminder = notify::Reminder {
        reference,
        kind: request.kind,
        due: request.due_on,
        days_left: days_left(today, request.due_on),
        assigned,
    };
    for member in &recipients {
        let to = notify::To { request_id: &request.id, email: &member.email, locale: app.settings.default_locale };
        notify::deadline_reminder(app, &mut tx, to, &reminder, now).await?;
    }
    tx.commit().await?;
    tracing::info!(reference = %reference, %threshold, recipients = recipients.len(), "deadline reminder queued");
    Ok(Outcome::Sent { emails: recipients.len() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Locale, Reference, RequestKind};
    use crate::i18n::Tr;
    use time::macros::date;

    fn settings(days_before: &[u32], overdue: bool) -> ReminderSettings {
        ReminderSettings { days_before: days_before.to_vec(), overdue }
    }

    /// Day by day towards a due date: each threshold on its own day, then overdue from the day after.
    #[test]
    fn the_closest_threshold_reached_applies() {
        let due = date!(2026 - 04 - 10);
        let s = settings(&[7, 3, 1], true);
        let on = |today: Date| due_threshold(today, due, &s);
        assert_eq!(on(date!(2026 - 03 - 10)), None);
        assert_eq!(on(date!(2026 - 04 - 02)), None, "8 days left");
        assert_eq!(on(date!(2026 - 04 - 03)), Some(Threshold::DaysBefore(7)));
        assert_eq!(on(date!(2026 - 04 - 06)), Some(Threshold::DaysBefore(7)), "4 days left: still the 7-day one");
        assert_eq!(on(date!(2026 - 04 - 07)), Some(Threshold::DaysBefore(3)));
        assert_eq!(on(date!(2026 - 04 - 09)), Some(Threshold::DaysBefore(1)));
        assert_eq!(on(due), Some(Threshold::DaysBefore(1)), "the due day is still the 1-day one");
        assert_eq!(on(date!(2026 - 04 - 11)), Some(Threshold::Overdue));
        assert_eq!(on(date!(2027 - 04 - 11)), Some(Threshold::Overdue));
    }

    #[test]
    fn settings_change_what_is_due() {
        let due = date!(2026 - 04 - 10);
        // Unsorted, duplicated, with the due day itself.
        let s = settings(&[1, 0, 14, 1], false);
        assert_eq!(due_threshold(date!(2026 - 03 - 27), due, &s), Some(Threshold::DaysBefore(14)));
        assert_eq!(due_threshold(date!(2026 - 04 - 08), due, &s), Some(Threshold::DaysBefore(14)));
        assert_eq!(due_threshold(date!(2026 - 04 - 09), due, &s), Some(Threshold::DaysBefore(1)));
        assert_eq!(due_threshold(due, due, &s), Some(Threshold::DaysBefore(0)));
        assert_eq!(due_threshold(date!(2026 - 04 - 11), due, &s), None, "overdue reminders are off");
        let only_overdue = settings(&[], true);
        assert_eq!(due_threshold(date!(2026 - 04 - 09), due, &only_overdue), None);
        assert_eq!(due_threshold(date!(2026 - 04 - 11), due, &only_overdue), Some(Threshold::Overdue));
    }

    #[test]
    fn thresholds_are_stored_as_short_keys() {
        assert_eq!(Threshold::DaysBefore(7).to_string(), "7");
        assert_eq!(Threshold::Overdue.to_string(), "overdue");
    }

    #[test]
    fn the_french_reminder_says_vous_with_non_breaking_spaces() {
        let reference = Reference::new(2026, 12);
        let reminder = |days_left, assigned| notify::Reminder {
            reference: &reference,
            kind: RequestKind::Erasure,
            due: date!(2026 - 04 - 01),
            days_left,
            assigned,
        };
        let fr = Tr::new(Locale::Fr);
        let c = notify::reminder_content(fr, "https://privacy.example.com", &reminder(3, true));
        assert_eq!(
            c.subject,
            "Rappel\u{a0}: la demande DSR-2026-000012 doit recevoir une réponse au plus tard le 1er avril 2026"
        );
        assert_eq!(c.paragraphs[1], "Il reste 3 jours.");
        assert_eq!(c.paragraphs[2], "Droit exercé\u{a0}: Effacement de vos données.");
        assert_eq!(c.paragraphs[3], "Elle vous est attribuée.");
        assert_eq!(
            c.action,
            Some((
                "Ouvrir la demande".to_owned(),
                "https://privacy.example.com/staff/requests/DSR-2026-000012".to_owned()
            ))
        );
        let late = notify::reminder_content(fr, "", &reminder(-1, false));
        assert!(late.subject.starts_with("En retard\u{a0}: "), "{}", late.subject);
        assert_eq!(late.paragraphs[1], "Elle a 1 jour de retard.");
        assert!(late.paragraphs[3].contains("compte désactivé)\u{a0}:"), "{}", late.paragraphs[3]);
        assert!(late.paragraphs[4].contains("répondez"), "{}", late.paragraphs[4]);
        for text in [&c.subject, &late.subject].into_iter().chain(&c.paragraphs).chain(&late.paragraphs) {
            for mark in [':', ';', '?', '!'] {
                assert!(!text.contains(&format!(" {mark}")), "a breaking space before {mark:?} in {text:?}");
            }
        }
        let en = notify::reminder_content(Tr::new(Locale::En), "", &reminder(0, true));
        assert_eq!(en.paragraphs[1], "It is due today.");
        let en = notify::reminder_content(Tr::new(Locale::En), "", &reminder(-12, true));
        assert_eq!(en.paragraphs[1], "It is 12 days late.");
    }
}
