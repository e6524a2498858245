//! The register (`/staff/register.csv`): the verified requests received in a period, with their
//! accountability fields, parsed back with the csv crate.

use dossier::domain::{EmailAddress, Role};

use crate::helpers::{TestApp, hidden};
use crate::on_both_backends;

const PASSWORD: &str = "correct horse battery staple";

async fn add_staff(app: &TestApp, email: &str, name: &str, role: Role) {
    let email = EmailAddress::parse(email).unwrap();
    dossier::services::staff::create(&app.app.store, &email, name, role, PASSWORD, app.app.now_ms()).await.unwrap();
}

async fn login(app: &TestApp, email: &str) {
    app.forget_cookies();
    let csrf = app.csrf("/staff/login").await;
    let res = app.post("/staff/login", &[("email", email), ("password", PASSWORD), ("csrf", &csrf)]).await;
    assert_eq!(res.status, 303, "{}", res.text());
}

/// A verified request received on the app's current day; returns its reference.
async fn verified_request(app: &TestApp, email: &str, kind: &str) -> String {
    let (_, mail) = app.submit_and_read_mail(email, kind).await;
    let status = app.verify_by_link(&mail).await.location();
    app.forget_cookies();
    status.rsplit('/').next().unwrap().to_owned()
}

async fn act(app: &TestApp, reference: &str, action: &str, form: &[(&str, &str)]) {
    let page = format!("/staff/requests/{reference}");
    let shown = app.get(&page).await;
    let csrf = hidden(&shown.text(), "csrf").unwrap_or_else(|| panic!("{page}: {} {}", shown.status, shown.text()));
    let mut fields = form.to_vec();
    fields.push(("csrf", &csrf));
    let res = app.post(&format!("{page}/{action}"), &fields).await;
    assert!(res.location().contains("done="), "{action}: {}", res.location());
}

fn parse(body: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(body);
    let headers = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    (headers, rows)
}

const HEADERS: [&str; 16] = [
    "Reference",
    "Right",
    "Deadline policy",
    "Received through",
    "Received",
    "Verified",
    "Due",
    "Extended to",
    "Reason for the extension",
    "Answered",
    "Closed",
    "Outcome",
    "Ground for refusal",
    "Sources searched (records found)",
    "Exceptions applied",
    "Staff involved",
];

async fn the_register_lists_exactly_the_period_and_neutralises_formulas(app: TestApp) {
    add_staff(&app, "agent@exemple.test", "Camille Durand", Role::Agent).await;
    add_staff(&app, "audit@exemple.test", "=cmd|' /C calc'!A0", Role::Auditor).await;

    // 10 March: an access request, collected and ready; the agent opens it.
    let access = verified_request(&app, "jeanne.martin@example.fr", "access").await;
    app.run_pending_jobs().await;
    login(&app, "agent@exemple.test").await;
    assert_eq!(app.get(&format!("/staff/requests/{access}")).await.status, 200);

    // 12 March: an erasure request, planned and confirmed by the person, extended (with a reason
    // that looks like a formula), then refused the next day; the auditor reads it.
    app.clock.advance(time::Duration::days(2));
    let status = app.request_awaiting_review("oliver.smith@example.co.uk", "erasure").await;
    let erasure = status.rsplit('/').next().unwrap().to_owned();
    login(&app, "agent@exemple.test").await;
    act(&app, &erasure, "extend", &[("reason", "=1+1 twelve archived systems")]).await;
    app.clock.advance(time::Duration::days(1));
    login(&app, "agent@exemple.test").await;
    act(&app, &erasure, "deny", &[("ground", "excessive"), ("reason", "The fifth request this month.")]).await;
    login(&app, "audit@exemple.test").await;
    assert_eq!(app.get(&format!("/staff/requests/{erasure}")).await.status, 200);

    // Not in the register: one never verified (in the period), one received in April.
    app.submit_and_read_mail("someone@example.org", "access").await;
    app.forget_cookies();
    app.clock.advance(time::Duration::days(30));
    let april = verified_request(&app, "paul.durand@example.fr", "objection").await;
    app.run_pending_jobs().await;

    login(&app, "audit@exemple.test").await;
    let queue = app.get("/staff").await.text();
    assert!(queue.contains("action=\"/staff/register.csv\""), "the queue offers the register");
    let res = app.get("/staff/register.csv?from=2026-03-01&to=2026-03-31").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(res.header("content-disposition"), Some("attachment; filename=\"register-2026-03-01-2026-03-31.csv\""));
    let (headers, rows) = parse(&res.body);
    assert_eq!(headers, HEADERS);
    let expected: Vec<Vec<String>> = vec![
        vec![
            &access,
            "access",
            "eu-gdpr",
            "web",
            "2026-03-10",
            "2026-03-10",
            "2026-04-10",
            "",
            "",
            // GDPR Art. 12(3): answered when the export was ready and the person emailed.
            "2026-03-10",
            "",
            "ready",
            "",
            "crm: 24; loyalty: 7; newsletter: 6",
            "",
            "Camille Durand",
        ],
        vec![
            &erasure,
            "erasure",
            "eu-gdpr",
            "web",
            "2026-03-12",
            "2026-03-12",
            "2026-04-13",
            "2026-06-12",
            "'=1+1 twelve archived systems",
            // The refusal was the answer.
            "2026-03-13",
            "2026-03-13",
            "denied",
            "excessive",
            // Oliver's plan: his contact, company, 2 orders with 3 lines, a call and a quote request
            // in the CRM; his subscription and 2 events in the newsletter; no loyalty card.
            "crm: 9; loyalty: 0; newsletter: 3",
            // Refused: no exception was applied (what the plan would have kept is not one).
            "",
            "'=cmd|' /C calc'!A0; Camille Durand",
        ],
    ]
    .into_iter()
    .map(|r| r.into_iter().map(str::to_owned).collect())
    .collect();
    assert_eq!(rows, expected);
    let exported: i64 =
        sqlx::query_scalar("SELECT records FROM exports").fetch_one(app.app.store.pool()).await.unwrap();
    assert_eq!(exported, 24 + 7 + 6, "the register counts what the export holds");
    assert!(!res.text().contains("@example"), "no email address in the register");

    // April alone: only the objection.
    let (_, rows) = parse(&app.get("/staff/register.csv?from=2026-04-01&to=2026-04-30").await.body);
    assert_eq!(rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), [april.as_str()]);

    // Each export is in the audit trail, by whom and for which period.
    let exports: Vec<(String, String)> =
        sqlx::query_as("SELECT actor, detail FROM audit_events WHERE event = 'register_exported' ORDER BY ord")
            .fetch_all(app.app.store.pool())
            .await
            .unwrap();
    assert_eq!(exports.len(), 2);
    assert!(exports[0].0.starts_with("staff:"));
    assert_eq!(exports[0].1, r#"{"from":"2026-03-01","to":"2026-03-31"}"#);
}
on_both_backends!(the_register_lists_exactly_the_period_and_neutralises_formulas);

async fn every_role_may_export_and_anonymous_visitors_may_not(app: TestApp) {
    let path = "/staff/register.csv?from=2026-01-01&to=2026-12-31";
    let res = app.get(path).await;
    assert_eq!((res.status, res.location()), (303, "/staff/login".to_owned()));
    for (email, role) in [
        ("admin@exemple.test", Role::Admin),
        ("agent@exemple.test", Role::Agent),
        ("audit@exemple.test", Role::Auditor),
    ] {
        add_staff(&app, email, "Staff", role).await;
        login(&app, email).await;
        let res = app.get(path).await;
        assert_eq!(res.status, 200, "{role}");
        let (headers, rows) = parse(&res.body);
        assert_eq!((headers.len(), rows.len()), (HEADERS.len(), 0), "{role}");
    }
    for bad in ["", "?from=2026-01-01", "?from=2026-02-01&to=2026-01-01", "?from=yesterday&to=2026-01-01"] {
        assert_eq!(app.get(&format!("/staff/register.csv{bad}")).await.status, 400, "{bad}");
    }
}
on_both_backends!(every_role_may_export_and_anonymous_visitors_may_not);
