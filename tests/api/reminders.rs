//! Deadline reminders to staff: each threshold once, to the assignee or to every admin and agent,
//! however many scans run, and again before the new date after an extension.

use dossier::domain::{EmailAddress, Reference, Role};
use dossier::jobs::reminders::{self, Reminded};
use dossier::services::actions;
use dossier::store::staff::StaffRow;
use time::Date;
use time::macros::date;

use crate::helpers::TestApp;
use crate::on_both_backends;

const PASSWORD: &str = "correct horse battery staple";
const ADMIN: &str = "admin@exemple.test";
const AGENT: &str = "agent@exemple.test";
const AUDITOR: &str = "audit@exemple.test";
const FORMER: &str = "former.agent@exemple.test";

async fn add_staff(app: &TestApp, email: &str, role: Role) -> StaffRow {
    let address = EmailAddress::parse(email).unwrap();
    dossier::services::staff::create(&app.app.store, &address, "Test Staff", role, PASSWORD, app.app.now_ms())
        .await
        .unwrap();
    let mut conn = app.app.store.conn().await.unwrap();
    dossier::store::staff::by_email(&mut conn, email).await.unwrap().unwrap()
}

/// A request verified by its requester on the app's current day.
async fn verified_request(app: &TestApp, email: &str, kind: &str) -> Reference {
    let (_, mail) = app.submit_and_read_mail(email, kind).await;
    let status = app.verify_by_link(&mail).await.location();
    app.forget_cookies();
    status.rsplit('/').next().unwrap().parse().unwrap()
}

/// A request taken through the real pages up to staff review, on the app's current day.
async fn awaiting_review(app: &TestApp, email: &str, kind: &str) -> Reference {
    let status = app.request_awaiting_review(email, kind).await;
    app.forget_cookies();
    status.rsplit('/').next().unwrap().parse().unwrap()
}

fn today(app: &TestApp) -> Date {
    app.app.zone.local_date(dossier::clock::from_ms(app.app.now_ms())).unwrap()
}

fn is_reminder(subject: &str) -> bool {
    subject.starts_with("Reminder:") || subject.starts_with("Overdue:")
}

/// One reminder as a staff member receives it: the day, to whom, about which request, and the
/// line that counts the days.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Received {
    on: Date,
    to: String,
    reference: String,
    days: String,
}

/// The day's scans, as several instances would run them: two at once, then one more, which finds
/// nothing left to do. Then the emails go out. Returns the reminders delivered that day.
async fn scan_and_deliver(app: &TestApp, seen: &mut usize) -> Vec<Received> {
    let (a, b) = tokio::join!(reminders::run(&app.app), reminders::run(&app.app));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.unaddressed + b.unaddressed, 0);
    let again = reminders::run(&app.app).await.unwrap();
    assert_eq!(again, Reminded::default(), "a later scan the same day sends nothing more");
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0, "no job left behind");
    let emails = app.emails();
    let new = emails[*seen..].to_vec();
    *seen = emails.len();
    let received: Vec<Received> = new
        .into_iter()
        .filter(|m| is_reminder(&m.subject))
        .map(|m| Received {
            on: today(app),
            to: m.to.trim_matches(['<', '>']).to_owned(),
            reference: m.subject.split_whitespace().find(|w| w.starts_with("DSR-")).unwrap().to_owned(),
            days: m
                .text
                .lines()
                .find(|l| l.ends_with("left.") || l.ends_with("late.") || l.ends_with("today."))
                .unwrap_or_else(|| panic!("a line counting the days in {}", m.text))
                .to_owned(),
        })
        .collect();
    assert_eq!(received.len(), a.emails + b.emails, "every email queued was delivered, and only those");
    received
}

fn expect(to: &str, reference: &Reference, days: &[(Date, &str)]) -> Vec<Received> {
    days.iter()
        .map(|(on, line)| Received {
            on: *on,
            to: to.to_owned(),
            reference: reference.to_string(),
            days: (*line).to_owned(),
        })
        .collect()
}

/// Received on 10 March 2026, every request is due on Friday 10 April 2026.
const THRESHOLDS: [(Date, &str); 4] = [
    (date!(2026 - 04 - 03), "7 days left."),
    (date!(2026 - 04 - 07), "3 days left."),
    (date!(2026 - 04 - 09), "1 day left."),
    (date!(2026 - 04 - 11), "It is 1 day late."),
];

async fn each_reminder_is_sent_once_to_the_right_people(app: TestApp) {
    let admin = add_staff(&app, ADMIN, Role::Admin).await;
    let agent = add_staff(&app, AGENT, Role::Agent).await;
    add_staff(&app, AUDITOR, Role::Auditor).await;
    let former = add_staff(&app, FORMER, Role::Agent).await;

    let assigned = awaiting_review(&app, "jeanne.martin@example.fr", "erasure").await;
    assert_eq!(actions::assign(&app.app, &admin, &assigned, Some(&agent.id)).await.unwrap(), Ok(()));
    // Answered: its export is ready and the person was emailed; nothing is due any more.
    let answered = verified_request(&app, "oliver.smith@example.co.uk", "access").await;
    // Waiting for staff: an erasure the person confirmed, a rectification they sent.
    let unassigned = awaiting_review(&app, "paul.durand@example.fr", "erasure").await;
    // Assigned to an account disabled since: as if unassigned.
    let orphaned = awaiting_review(&app, "lea.petit@example.org", "rectification").await;
    assert_eq!(actions::assign(&app.app, &admin, &orphaned, Some(&former.id)).await.unwrap(), Ok(()));
    dossier::services::staff::disable(&app.app.store, &EmailAddress::parse(FORMER).unwrap(), app.app.now_ms())
        .await
        .unwrap();
    let closed = verified_request(&app, "marc.leroy@example.org", "erasure").await;
    assert_eq!(actions::cancel(&app.app, &admin, &closed, "Withdrawn by phone").await.unwrap(), Ok(()));
    // Never verified: no legal clock yet.
    assert_eq!(app.submit_request("nobody@example.org", "access").await.status, 303);
    app.run_pending_jobs().await;
    assert_eq!(app.request_status(answered.as_str()).await, "ready");
    let due: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT due_on FROM requests").fetch_all(app.app.store.pool()).await.unwrap();
    assert_eq!(due, vec!["2026-04-10".to_owned()]);

    let mut seen = app.emails().len();
    let mut received = Vec::new();
    assert_eq!(today(&app), date!(2026 - 03 - 10));
    while today(&app) <= date!(2026 - 04 - 14) {
        received.extend(scan_and_deliver(&app, &mut seen).await);
        app.clock.advance(time::Duration::days(1));
    }

    let mut expected = expect(AGENT, &assigned, &THRESHOLDS);
    for reference in [&unassigned, &orphaned] {
        expected.extend(expect(ADMIN, reference, &THRESHOLDS));
        expected.extend(expect(AGENT, reference, &THRESHOLDS));
    }
    expected.sort();
    received.sort();
    assert_eq!(received, expected, "one email per threshold and recipient, on its day");

    // What the assignee reads.
    let mail = app.email_with_subject(AGENT, &format!("Reminder: request {assigned} is due on April 10, 2026"));
    for line in ["1 day left.", "Right exercised: Erasure of your data.", "It is assigned to you."] {
        assert!(mail.text.contains(line), "{line:?} in {}", mail.text);
    }
    assert_eq!(mail.link(), format!("/staff/requests/{assigned}"));
    let late = app.email_with_subject(ADMIN, &format!("Overdue: request {unassigned} was due on April 10, 2026"));
    assert!(late.text.contains("It is 1 day late."), "{}", late.text);
    assert!(late.text.contains("not assigned to anyone"), "{}", late.text);
    assert!(late.text.contains("The legal deadline has passed"), "{}", late.text);
    assert_eq!(late.link(), format!("/staff/requests/{unassigned}"));

    let rows: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM deadline_reminders").fetch_one(app.app.store.pool()).await.unwrap();
    assert_eq!(rows, 3 * 4, "one record per request and threshold");
    let never: Vec<String> = app
        .emails()
        .into_iter()
        .filter(|m| {
            [AUDITOR, FORMER].iter().any(|a| m.to.contains(a))
                || (is_reminder(&m.subject)
                    && (m.subject.contains(closed.as_str()) || m.subject.contains(answered.as_str())))
        })
        .map(|m| m.subject)
        .collect();
    assert!(
        never.is_empty(),
        "nothing to auditors, disabled accounts, or about answered or closed requests: {never:?}"
    );
}
on_both_backends!(each_reminder_is_sent_once_to_the_right_people);

/// An extension moves the due date: the reminders count down to the new date, and none of the
/// old date's remaining ones is sent.
async fn an_extension_brings_the_reminders_back_before_the_new_date(app: TestApp) {
    let agent = add_staff(&app, AGENT, Role::Agent).await;
    let reference = verified_request(&app, "jeanne.martin@example.fr", "erasure").await;
    assert_eq!(actions::assign(&app.app, &agent, &reference, Some(&agent.id)).await.unwrap(), Ok(()));

    let mut seen = app.emails().len();
    let mut received = Vec::new();
    while today(&app) <= date!(2026 - 06 - 12) {
        if today(&app) == date!(2026 - 04 - 04) {
            let extended = actions::extend(&app.app, &agent, &reference, "Twelve archived systems to search.").await;
            assert_eq!(extended.unwrap(), Ok(()));
        }
        received.extend(scan_and_deliver(&app, &mut seen).await);
        app.clock.advance(time::Duration::days(1));
    }
    let mut expected = expect(AGENT, &reference, &THRESHOLDS[..1]);
    expected.extend(expect(
        AGENT,
        &reference,
        &[
            (date!(2026 - 06 - 03), "7 days left."),
            (date!(2026 - 06 - 07), "3 days left."),
            (date!(2026 - 06 - 09), "1 day left."),
            (date!(2026 - 06 - 11), "It is 1 day late."),
        ],
    ));
    received.sort();
    assert_eq!(received, expected);
    app.email_with_subject(AGENT, &format!("Overdue: request {reference} was due on June 10, 2026"));
}
on_both_backends!(an_extension_brings_the_reminders_back_before_the_new_date);

/// A reminder due while no admin or agent exists is not lost: it goes to the first one created.
async fn a_reminder_waits_for_someone_to_receive_it(app: TestApp) {
    let reference = verified_request(&app, "jeanne.martin@example.fr", "erasure").await;
    add_staff(&app, AUDITOR, Role::Auditor).await;
    app.clock.set(time::macros::datetime!(2026-04-03 08:00 UTC));
    let nobody = reminders::run(&app.app).await.unwrap();
    assert_eq!(nobody, Reminded { reminders: 0, emails: 0, unaddressed: 1, ..Default::default() });
    add_staff(&app, ADMIN, Role::Admin).await;
    let sent = reminders::run(&app.app).await.unwrap();
    assert_eq!(sent, Reminded { reminders: 1, emails: 1, unaddressed: 0, ..Default::default() });
    app.run_pending_jobs().await;
    let mail = app.email_with_subject(ADMIN, &format!("Reminder: request {reference}"));
    assert!(mail.text.contains("7 days left."), "{}", mail.text);
    assert_eq!(reminders::run(&app.app).await.unwrap(), Reminded::default());
}
on_both_backends!(a_reminder_waits_for_someone_to_receive_it);

/// "Today" is the request's own, in its policy's time zone: at 23:30 in London on a UK request's
/// due day it is already the next day in Paris (the controller's zone), but the request is due
/// today, not late.
async fn a_request_s_day_is_counted_in_its_own_time_zone(app: TestApp) {
    add_staff(&app, ADMIN, Role::Admin).await;
    let csrf = app.csrf("/").await;
    let form =
        [("email", "oliver.smith@example.co.uk"), ("kind", "erasure"), ("jurisdiction", "uk-gdpr"), ("csrf", &csrf)];
    assert_eq!(app.post("/requests", &form).await.status, 303);
    app.run_pending_jobs().await;
    let status = app.verify_by_link(&app.last_email_to("oliver.smith@example.co.uk")).await.location();
    app.forget_cookies();
    let reference = status.rsplit('/').next().unwrap().to_owned();
    // Verified on 10 March 2026: due Friday 10 April. 22:30 UTC is 23:30 in London, 00:30 in Paris.
    app.clock.set(time::macros::datetime!(2026-04-10 22:30 UTC));
    let sent = reminders::run(&app.app).await.unwrap();
    assert_eq!((sent.reminders, sent.emails), (1, 1));
    app.run_pending_jobs().await;
    let mail = app.email_with_subject(ADMIN, &reference);
    assert!(mail.subject.starts_with("Reminder:"), "not overdue yet in London: {}", mail.subject);
    assert!(mail.text.contains("It is due today."), "{}", mail.text);
    // An hour later it is the 11th in London too: overdue, once.
    app.clock.set(time::macros::datetime!(2026-04-10 23:30 UTC));
    assert_eq!(reminders::run(&app.app).await.unwrap().reminders, 1);
    app.run_pending_jobs().await;
    let mail = app.email_with_subject(ADMIN, &reference);
    assert!(mail.subject.starts_with("Overdue:") && mail.text.contains("It is 1 day late."), "{}", mail.text);
    assert_eq!(reminders::run(&app.app).await.unwrap(), Reminded::default());
}
on_both_backends!(
    a_request_s_day_is_counted_in_its_own_time_zone,
    crate::helpers::Options {
        policies: Some(vec![dossier::deadlines::Policy::EuGdpr, dossier::deadlines::Policy::UkGdpr]),
        ..Default::default()
    }
);
