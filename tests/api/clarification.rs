//! Clarification requests (issue 6) and the legal clock they may stop (issue 4): staff ask, the
//! person answers on their status page, the due date moves where the request's law stops the
//! clock; closure days and the CCPA confirmation of receipt.

use dossier::domain::Role;
use dossier::jobs::reminders;
use time::Duration;

use crate::helpers::{TestApp, hidden};
use crate::on_both_backends;

const AGENT: &str = "agent@exemple.test";
const OLIVER: &str = "oliver.smith@example.co.uk";
const JEANNE: &str = "jeanne.martin@example.fr";
const QUESTION: &str = "Which of your two customer accounts do you mean: the shop or the newsletter?";
const ANSWER: &str = "Only the shop account, please.";

fn reference_of(status: &str) -> String {
    status.rsplit('/').next().unwrap().to_owned()
}

/// A request under `law`, submitted on the home page and verified by its link; the browser keeps
/// the person's session. Returns the status page's path.
async fn request_under(app: &TestApp, email: &str, law: &str) -> String {
    request_of(app, email, law, "access").await
}

/// [`request_under`] for a right other than access.
async fn request_of(app: &TestApp, email: &str, law: &str, kind: &str) -> String {
    let csrf = app.csrf("/").await;
    let form = [("email", email), ("kind", kind), ("jurisdiction", law), ("csrf", &csrf)];
    let res = app.post("/requests", &form).await;
    assert_eq!(res.status, 303, "{}", res.text());
    app.run_pending_jobs().await;
    let res = app.verify_by_link(&app.last_email_to(email)).await;
    assert_eq!(res.status, 303, "{}", res.text());
    app.run_pending_jobs().await;
    res.location()
}

async fn stored(app: &TestApp, reference: &str, column: &str) -> Option<String> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT {column} FROM requests WHERE reference = $1")))
        .bind(reference)
        .fetch_one(app.app.store.pool())
        .await
        .unwrap()
}

async fn count(app: &TestApp, sql: &str, reference: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(reference)
        .fetch_one(app.app.store.pool())
        .await
        .unwrap()
}

const OPEN_QUESTIONS: &str = "SELECT COUNT(*) FROM clarifications c JOIN requests r ON r.id = c.request_id \
                              WHERE r.reference = $1 AND c.closed_at IS NULL";

/// Posts the answer form of the status page with its CSRF token.
async fn answer(app: &TestApp, status: &str, text: &str) -> crate::helpers::Response {
    let csrf = app.csrf(status).await;
    app.post(&format!("{status}/clarification"), &[("answer", text), ("csrf", &csrf)]).await
}

async fn a_uk_clarification_stops_the_clock_until_the_answer(app: TestApp) {
    let status = request_under(&app, OLIVER, "uk-gdpr").await;
    let reference = reference_of(&status);
    // Verified on Tuesday 10 March 2026 (the UK clock starts then): due Friday 10 April.
    assert_eq!(stored(&app, &reference, "due_on").await.as_deref(), Some("2026-04-10"));
    app.add_staff(AGENT, Role::Agent).await;
    app.staff_login(AGENT).await;
    let page = app.get(&format!("/staff/requests/{reference}")).await.text();
    assert!(page.contains("Ask the person for clarification"), "{page}");
    assert!(page.contains("in English") && page.contains("(uk-gdpr) the deadline stops until they answer"), "{page}");

    // An empty question changes nothing.
    let res = app.staff_act(&reference, "clarify", &[("reason", "  ")]).await;
    assert!(res.location().ends_with("refused=question_required"), "{}", res.location());
    let page = app.get(&res.location()).await.text();
    assert!(page.contains("Write the question: it is required."), "{page}");
    assert_eq!(count(&app, OPEN_QUESTIONS, &reference).await, 0);

    // Asked on Thursday 12 March (a new staff session: the last one timed out).
    app.clock.advance(Duration::days(2));
    app.staff_login(AGENT).await;
    let res = app.staff_act(&reference, "clarify", &[("reason", QUESTION)]).await;
    assert!(res.location().ends_with("done=clarify"), "{}", res.location());
    let page = app.get(&res.location()).await.text();
    assert!(page.contains("The question was emailed to the person.") && page.contains("Waiting for the person"));
    assert!(page.contains("Stopped since"), "the staff page says the clock is stopped: {page}");
    // A second question while one waits is refused.
    let res = app.staff_act(&reference, "clarify", &[("reason", "Another one?")]).await;
    assert!(res.location().ends_with("refused=question_open"), "{}", res.location());
    app.run_pending_jobs().await;
    let mail = app.email_with_subject(OLIVER, "A question about your request");
    assert!(mail.text.contains(QUESTION) && mail.text.contains("paused until you reply"), "{}", mail.text);
    assert!(mail.text.contains(&status), "the email links to the status page: {}", mail.text);

    // Five days later, the person signs in as usual and answers.
    app.clock.advance(Duration::days(5));
    app.forget_cookies();
    app.sign_in(&status, OLIVER).await;
    let page = app.get(&status).await.text();
    assert!(page.contains(QUESTION) && page.contains("name=\"answer\""), "{page}");
    assert!(page.contains("the time we have to reply is paused"), "{page}");
    let res = answer(&app, &status, "   ").await;
    assert_eq!(res.status, 422);
    assert!(res.text().contains("Write your answer before sending it."), "{}", res.text());
    let too_long = "a".repeat(4001);
    let res = answer(&app, &status, &too_long).await;
    assert_eq!(res.status, 422);
    assert!(res.text().contains("Your answer is too long"), "{}", res.text());
    assert_eq!(count(&app, OPEN_QUESTIONS, &reference).await, 1, "refused answers change nothing");
    assert_eq!(stored(&app, &reference, "due_on").await.as_deref(), Some("2026-04-10"));

    let res = answer(&app, &status, ANSWER).await;
    assert_eq!(res.status, 303, "{}", res.text());
    let page = app.get(&res.location()).await.text();
    assert!(page.contains("Thank you: your answer was sent") && page.contains(ANSWER), "{page}");
    assert!(!page.contains("name=\"answer\""), "nothing left to answer");
    // Stopped from 12 to 17 March: 10 April + 5 days is Wednesday 15 April.
    assert_eq!(stored(&app, &reference, "due_on").await.as_deref(), Some("2026-04-15"));
    assert!(page.contains("April 15, 2026"), "{page}");
    // Answering twice is refused.
    let res = answer(&app, &status, "And again").await;
    assert_eq!(res.status, 422);
    assert!(res.text().contains("There is no question waiting"), "{}", res.text());

    // The interval is recorded with the events that opened and closed it.
    let (reason, opened, closed): (String, String, String) = sqlx::query_as(
        "SELECT p.reason, a.event, b.event FROM clock_pauses p JOIN requests r ON r.id = p.request_id \
         JOIN audit_events a ON a.id = p.opened_event JOIN audit_events b ON b.id = p.closed_event \
         WHERE r.reference = $1 AND p.reason = 'clarification'",
    )
    .bind(&reference)
    .fetch_one(app.app.store.pool())
    .await
    .unwrap();
    assert_eq!(
        (reason.as_str(), opened.as_str(), closed.as_str()),
        ("clarification", "clarification_asked", "clarification_answered")
    );

    app.staff_login(AGENT).await;
    let page = app.get(&format!("/staff/requests/{reference}")).await.text();
    assert!(page.contains(ANSWER) && page.contains("Answered on"), "{page}");
    assert!(
        page.contains("The person answered the question") && page.contains("The clock moved the due date"),
        "{page}"
    );
    assert!(page.contains("April 15, 2026"), "{page}");
    // The identity wait does not stop a UK clock (it starts at verification); the clarification did.
    assert!(page.contains("waiting for proof of identity") && page.contains("clock keeps running"), "{page}");
    assert!(page.contains("waiting for the person&#39;s clarification"), "{page}");
    assert!(page.contains("the clock is stopped under this request&#39;s law"), "{page}");
}
on_both_backends!(
    a_uk_clarification_stops_the_clock_until_the_answer,
    crate::helpers::Options {
        policies: Some(vec![dossier::deadlines::Policy::EuGdpr, dossier::deadlines::Policy::UkGdpr]),
        ..Default::default()
    }
);

async fn an_eu_clarification_leaves_the_due_date_and_staff_may_close_it(app: TestApp) {
    let status = app.verified_request(JEANNE, "access").await;
    let reference = reference_of(&status);
    app.run_pending_jobs().await;
    let due = stored(&app, &reference, "due_on").await;
    assert_eq!(due.as_deref(), Some("2026-04-10"));
    app.add_staff(AGENT, Role::Agent).await;
    app.staff_login(AGENT).await;
    let page = app.get(&format!("/staff/requests/{reference}")).await.text();
    assert!(page.contains("(eu-gdpr) the deadline keeps running"), "{page}");
    assert!(!page.contains("Close the question"), "nothing to close yet");
    let res = app.staff_act(&reference, "close_question", &[]).await;
    assert!(res.location().ends_with("refused=no_question"), "{}", res.location());

    assert!(app.staff_act(&reference, "clarify", &[("reason", QUESTION)]).await.location().ends_with("done=clarify"));
    app.run_pending_jobs().await;
    let mail = app.email_with_subject(JEANNE, "A question about your request");
    assert!(mail.text.contains("does not change the date"), "{}", mail.text);

    // Someone else, signed in to their own request, cannot answer it.
    app.forget_cookies();
    let other = app.verified_request(OLIVER, "access").await;
    app.run_pending_jobs().await;
    let csrf = app.csrf(&other).await;
    let res = app.post(&format!("{status}/clarification"), &[("answer", "Not mine"), ("csrf", &csrf)]).await;
    assert_eq!(res.status, 303);
    assert!(res.location().ends_with(&reference), "{}", res.location());
    assert_eq!(count(&app, OPEN_QUESTIONS, &reference).await, 1);

    // Ten days later, staff close it without an answer: the date does not move (EU default).
    app.clock.advance(Duration::days(10));
    app.staff_login(AGENT).await;
    let page = app.get(&format!("/staff/requests/{reference}")).await.text();
    assert!(page.contains("Close the question without an answer") && !page.contains("Stopped since"), "{page}");
    let res = app.staff_act(&reference, "close_question", &[]).await;
    assert!(res.location().ends_with("done=close_question"), "{}", res.location());
    assert_eq!(count(&app, OPEN_QUESTIONS, &reference).await, 0);
    assert_eq!(stored(&app, &reference, "due_on").await, due);
    let page = app.get(&format!("/staff/requests/{reference}")).await.text();
    assert!(page.contains("Closed without an answer") && page.contains("the clock keeps running"), "{page}");
    assert!(!page.contains("the clock is stopped under"), "no wait stops an EU clock by default: {page}");

    // The person sees it closed, and cannot answer.
    app.forget_cookies();
    app.sign_in(&status, JEANNE).await;
    let page = app.get(&status).await.text();
    assert!(page.contains("This question was closed") && !page.contains("name=\"answer\""), "{page}");
    let res = answer(&app, &status, ANSWER).await;
    assert_eq!(res.status, 422);

    // A question on a refused request: the refusal closes it, and an answer is refused.
    app.staff_login(AGENT).await;
    app.staff_act(&reference, "clarify", &[("reason", QUESTION)]).await;
    let res =
        app.staff_act(&reference, "deny", &[("ground", "excessive"), ("reason", "Third identical request.")]).await;
    assert!(res.location().ends_with("done=deny"), "{}", res.location());
    assert_eq!(count(&app, OPEN_QUESTIONS, &reference).await, 0);
    app.forget_cookies();
    app.sign_in(&status, JEANNE).await;
    let page = app.get(&status).await.text();
    // The refused request names the authority of its own law (EU GDPR: the controller's, the CNIL).
    assert!(page.contains("complain to the supervisory authority: CNIL"), "{page}");
    let csrf = hidden(&page, "csrf").unwrap();
    let res = app.post(&format!("{status}/clarification"), &[("answer", ANSWER), ("csrf", &csrf)]).await;
    assert_eq!(res.status, 422);
    assert!(res.text().contains("This request is closed"), "{}", res.text());
}
on_both_backends!(an_eu_clarification_leaves_the_due_date_and_staff_may_close_it);

async fn a_refusal_names_the_authority_of_the_request_s_law(app: TestApp) {
    let status = request_under(&app, OLIVER, "uk-gdpr").await;
    let reference = reference_of(&status);
    app.add_staff(AGENT, Role::Agent).await;
    app.staff_login(AGENT).await;
    let res = app.staff_act(&reference, "deny", &[("ground", "excessive"), ("reason", "Repeated.")]).await;
    assert!(res.location().ends_with("done=deny"), "{}", res.location());
    app.run_pending_jobs().await;
    let mail = app.last_email_to(OLIVER);
    assert!(
        mail.text.contains("Information Commissioner's Office") && mail.text.contains("ico.org.uk"),
        "{}",
        mail.text
    );
    assert!(!mail.text.contains("CNIL"), "{}", mail.text);
    app.forget_cookies();
    app.sign_in(&status, OLIVER).await;
    let page = app.get(&status).await.text();
    assert!(
        page.contains("Information Commissioner") && page.contains("https://ico.org.uk/make-a-complaint/"),
        "{page}"
    );
}
on_both_backends!(
    a_refusal_names_the_authority_of_the_request_s_law,
    crate::helpers::Options {
        policies: Some(vec![dossier::deadlines::Policy::EuGdpr, dossier::deadlines::Policy::UkGdpr]),
        ..Default::default()
    }
);

async fn a_closure_day_moves_a_request_s_due_date(app: TestApp) {
    // 10 March 2026: one month is Friday 10 April. Closed that day, then the weekend: Monday 13.
    // The day is a holiday of the EU policy's calendar (France, the controller's), as
    // `[deadlines.clock.eu-gdpr] closure_days` or `[deadlines] closure_days` make it.
    let closed =
        dossier::deadlines::ExtraClosure::of(dossier::deadlines::Country::France, time::macros::date!(2026 - 04 - 10));
    let (_, browser) = app
        .instance_with(|s| {
            s.requests.deadlines.closure_days = vec![closed];
            s.policies = vec![dossier::deadlines::Policy::EuGdpr, dossier::deadlines::Policy::UkGdpr];
        })
        .await;
    let res = browser.submit_request(JEANNE, "access").await;
    assert_eq!(res.status, 303, "{}", res.text());
    app.run_pending_jobs().await;
    let status = browser.verify_by_link(&app.last_email_to(JEANNE)).await.location();
    let reference = reference_of(&status);
    assert_eq!(stored(&app, &reference, "due_on").await.as_deref(), Some("2026-04-13"));
    let page = browser.get(&status).await.text();
    assert!(page.contains("April 13, 2026"), "{page}");
    app.run_pending_jobs().await;
    let mail = app.email_with_subject(JEANNE, "confirmed");
    assert!(mail.text.contains("April 13, 2026"), "{}", mail.text);
    // The same request on an instance without the closure day is due that Friday.
    let status = app.verified_request(OLIVER, "access").await;
    assert_eq!(stored(&app, &reference_of(&status), "due_on").await.as_deref(), Some("2026-04-10"));
    // A UK GDPR request on the instance with the French closure day: the ICO counts only the UK's
    // bank holidays (and 1182/71 Art. 3(4) the relevant Member State's), so it stays due Friday.
    app.run_pending_jobs().await; // the last email to Oliver is then the new request's link
    let csrf = browser.csrf("/").await;
    let form = [("email", OLIVER), ("kind", "erasure"), ("jurisdiction", "uk-gdpr"), ("csrf", csrf.as_str())];
    let res = browser.post("/requests", &form).await;
    assert_eq!(res.status, 303, "{}", res.text());
    app.run_pending_jobs().await;
    let uk = browser.verify_by_link(&app.last_email_to(OLIVER)).await.location();
    assert_eq!(stored(&app, &reference_of(&uk), "jurisdiction").await.as_deref(), Some("uk-gdpr"));
    assert_eq!(stored(&app, &reference_of(&uk), "due_on").await.as_deref(), Some("2026-04-10"));
}
on_both_backends!(a_closure_day_moves_a_request_s_due_date);

fn receipts(app: &TestApp, to: &str) -> usize {
    app.emails().iter().filter(|m| m.to.contains(to) && m.subject.starts_with("We received your request")).count()
}

async fn the_ccpa_receipt_is_confirmed_exactly_once(app: TestApp) {
    // Received and verified on the portal: the confirmation of receipt is the verification's email.
    let status = request_under(&app, JEANNE, "ccpa").await;
    let reference = reference_of(&status);
    assert!(stored(&app, &reference, "CAST(receipt_confirmed_at AS TEXT)").await.is_some());
    let mail = app.email_with_subject(JEANNE, "We received your request");
    // Received 10 March 2026 in California: 45 calendar days, 24 April.
    assert!(mail.text.contains("April 24, 2026") && mail.text.contains("45 days"), "{}", mail.text);
    assert!(mail.text.contains("1. You have confirmed") && mail.text.contains("2. We search"), "{}", mail.text);
    assert_eq!(receipts(&app, JEANNE), 1);

    // A request confirmed before this feature existed (an upgrade): the sweep sends it, once,
    // however many instances sweep at the same time, and never again on later days.
    let old = request_under(&app, OLIVER, "ccpa").await;
    let old = reference_of(&old);
    sqlx::query("UPDATE requests SET receipt_confirmed_at = NULL WHERE reference = $1")
        .bind(&old)
        .execute(app.app.store.pool())
        .await
        .unwrap();
    let before = receipts(&app, OLIVER);
    app.clock.advance(Duration::days(1));
    let (a, b) = tokio::join!(reminders::run(&app.app), reminders::run(&app.app));
    assert_eq!(a.unwrap().receipts_confirmed + b.unwrap().receipts_confirmed, 1);
    for _ in 0..3 {
        app.clock.advance(Duration::days(2));
        assert_eq!(reminders::run(&app.app).await.unwrap().receipts_confirmed, 0);
    }
    app.run_pending_jobs().await;
    assert_eq!(receipts(&app, OLIVER), before + 1);
    assert_eq!(receipts(&app, JEANNE), 1, "the first request was never confirmed twice");
    let events = count(
        &app,
        "SELECT COUNT(*) FROM audit_events a JOIN requests r ON r.id = a.request_id \
         WHERE r.reference = $1 AND a.event = 'receipt_confirmed'",
        &old,
    )
    .await;
    assert_eq!(events, 2, "once at verification, once after the reset, never more");
    assert_eq!(app.unfinished_jobs().await, 0);
}
on_both_backends!(
    the_ccpa_receipt_is_confirmed_exactly_once,
    crate::helpers::Options {
        policies: Some(vec![dossier::deadlines::Policy::EuGdpr, dossier::deadlines::Policy::Ccpa]),
        ..Default::default()
    }
);

/// While the clock is stopped no reminder is sent (the date is not the due date any more); once
/// the answer comes, the date has moved by the days waited and the reminders follow it.
async fn reminders_wait_while_the_clock_is_stopped(app: TestApp) {
    // An erasure waiting for the person's decision: still awaiting its answer (an access request
    // whose export is ready is answered, and is reminded of nothing).
    let status = request_of(&app, OLIVER, "uk-gdpr", "erasure").await;
    assert_eq!(app.request_status(&status).await, "awaiting_confirmation");
    let reference = reference_of(&status);
    app.add_staff(AGENT, Role::Agent).await;
    app.staff_login(AGENT).await;
    app.staff_act(&reference, "clarify", &[("reason", QUESTION)]).await;
    app.run_pending_jobs().await;
    // 9 April: one day before the date stored when the question was asked.
    app.clock.set(time::macros::datetime!(2026-04-09 09:00 UTC));
    assert_eq!(reminders::run(&app.app).await.unwrap().reminders, 0, "the clock is stopped");
    app.forget_cookies();
    app.sign_in(&status, OLIVER).await;
    assert_eq!(answer(&app, &status, ANSWER).await.status, 303);
    // Stopped from 10 March to 9 April: 30 days; 10 April + 30 is Sunday 10 May, then Monday 11.
    assert_eq!(stored(&app, &reference, "due_on").await.as_deref(), Some("2026-05-11"));
    assert_eq!(reminders::run(&app.app).await.unwrap().reminders, 0, "a month left");
    app.clock.set(time::macros::datetime!(2026-05-04 09:00 UTC));
    assert_eq!(reminders::run(&app.app).await.unwrap().reminders, 1, "7 days before the new date");
}
on_both_backends!(
    reminders_wait_while_the_clock_is_stopped,
    crate::helpers::Options {
        policies: Some(vec![dossier::deadlines::Policy::EuGdpr, dossier::deadlines::Policy::UkGdpr]),
        ..Default::default()
    }
);

/// How many requests the dashboard counts as overdue today (the queue's "overdue" filter).
async fn overdue_count(app: &TestApp, today: time::Date) -> i64 {
    let mut conn = app.app.store.conn().await.unwrap();
    dossier::store::dashboard::overdue(&mut conn, today).await.unwrap()
}

/// While a counted pause is open the stored due date is the one before the pause (it moves when
/// the pause closes), so the UK request below is past its stored date although its clock is
/// stopped: it must not read as overdue in the queue or on the dashboard, and staff may still
/// extend it, since the effective deadline has not passed. A request without a question, due the
/// same day, is overdue and too late to extend.
async fn a_stopped_clock_is_not_overdue_and_may_be_extended(app: TestApp) {
    // Both verified on Tuesday 10 March 2026: due Friday 10 April.
    // Erasures: their plans wait for the person's decision, so both still await their answer.
    let waiting = reference_of(&request_of(&app, OLIVER, "uk-gdpr", "erasure").await);
    app.forget_cookies();
    let late = reference_of(&request_of(&app, JEANNE, "uk-gdpr", "erasure").await);
    assert_eq!(app.request_status(&late).await, "awaiting_confirmation");
    assert_eq!(stored(&app, &waiting, "due_on").await.as_deref(), Some("2026-04-10"));
    assert_eq!(stored(&app, &late, "due_on").await.as_deref(), Some("2026-04-10"));
    app.add_staff(AGENT, Role::Agent).await;
    // A question on Thursday 12 March stops the clock of the first one (UK GDPR, ICO).
    app.clock.advance(Duration::days(2));
    app.staff_login(AGENT).await;
    let res = app.staff_act(&waiting, "clarify", &[("reason", QUESTION)]).await;
    assert!(res.location().ends_with("done=clarify"), "{}", res.location());
    app.run_pending_jobs().await;

    // Wednesday 15 April, no answer yet: both are past their stored date.
    app.clock.advance(Duration::days(34));
    let today = time::macros::date!(2026 - 04 - 15);
    assert_eq!(stored(&app, &waiting, "due_on").await.as_deref(), Some("2026-04-10"), "moved only at the answer");
    app.staff_login(AGENT).await;
    let overdue = app.get("/staff?deadline=overdue").await.text();
    assert!(overdue.contains(&late), "{overdue}");
    assert!(!overdue.contains(&waiting), "a stopped clock is not overdue: {overdue}");
    let due_soon = app.get("/staff?deadline=due_soon").await.text();
    assert!(!due_soon.contains(&waiting), "{due_soon}");
    let on_track = app.get("/staff?deadline=on_track").await.text();
    assert!(on_track.contains(&waiting) && !on_track.contains(&late), "{on_track}");
    assert!(on_track.contains("<span class=\"sla stopped\">Clock stopped</span>"), "its row says so: {on_track}");
    assert!(!on_track.contains("sla overdue"), "{on_track}");
    assert_eq!(overdue_count(&app, today).await, 1, "the dashboard counts the late one only");

    // The late one cannot be extended any more (GDPR Art. 12(3): within the first period)...
    let res = app.staff_act(&late, "extend", &[("reason", "Twelve archived systems.")]).await;
    assert!(res.location().ends_with("refused=extension_too_late"), "{}", res.location());
    assert_eq!(stored(&app, &late, "CAST(extended_at AS TEXT)").await, None);
    // ...the stopped one can: its period, with the 34 days paused so far, runs until 14 May.
    let res = app.staff_act(&waiting, "extend", &[("reason", "Twelve archived systems.")]).await;
    assert!(res.location().ends_with("done=extend"), "{}", res.location());
    assert!(stored(&app, &waiting, "CAST(extended_at AS TEXT)").await.is_some());

    // Once the person answers, the clock runs again and the stored date has moved past today.
    app.forget_cookies();
    let status = format!("/requests/{waiting}");
    app.sign_in(&status, OLIVER).await;
    let res = answer(&app, &status, ANSWER).await;
    assert_eq!(res.status, 303, "{}", res.text());
    let due = stored(&app, &waiting, "due_on").await.unwrap();
    assert!(due.as_str() > "2026-04-15", "{due}");
    assert_eq!(overdue_count(&app, today).await, 1);
}
on_both_backends!(
    a_stopped_clock_is_not_overdue_and_may_be_extended,
    crate::helpers::Options {
        policies: Some(vec![dossier::deadlines::Policy::EuGdpr, dossier::deadlines::Policy::UkGdpr]),
        ..Default::default()
    }
);

/// Where a law counts the wait for identity (`pauses = ["identity"]`), the pause opened at receipt
/// stops the clock, so the queue never calls an unverified request overdue; by default it does not.
async fn an_identity_pause_stops_the_clock_only_where_the_law_counts_it(app: TestApp) {
    use dossier::deadlines::{ClockPolicy, ClockStart, PauseReason, Policy};
    let counted = ClockPolicy::new(Policy::EuGdpr, ClockStart::Receipt, &[PauseReason::Identity]).unwrap();
    let (_, counting) = app
        .instance_with(|s| {
            s.requests.deadlines.clocks.insert("eu-gdpr", counted);
        })
        .await;
    assert_eq!(counting.submit_request(JEANNE, "access").await.status, 303);
    assert_eq!(app.submit_request(OLIVER, "access").await.status, 303);
    let flags: Vec<(String, i64)> = sqlx::query_as(
        "SELECT r.email, p.stops_clock FROM clock_pauses p JOIN requests r ON r.id = p.request_id \
         WHERE p.reason = 'identity' AND p.closed_at IS NULL ORDER BY r.email",
    )
    .fetch_all(app.app.store.pool())
    .await
    .unwrap();
    assert_eq!(flags, vec![(JEANNE.to_owned(), 1), (OLIVER.to_owned(), 0)]);
}
on_both_backends!(an_identity_pause_stops_the_clock_only_where_the_law_counts_it);
