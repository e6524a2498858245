//! The staff workspace: login, roles, sessions, the queue and one request's page.

use dossier::domain::{EmailAddress, Role};

use crate::helpers::TestApp;
use crate::on_both_backends;

const PASSWORD: &str = "correct horse battery staple";

async fn add_staff(app: &TestApp, email: &str, role: Role) {
    let email = EmailAddress::parse(email).unwrap();
    dossier::services::staff::create(&app.app.store, &email, "Test Staff", role, PASSWORD, app.app.now_ms())
        .await
        .unwrap();
}

async fn login(app: &TestApp, email: &str, password: &str) -> crate::helpers::Response {
    let csrf = app.csrf("/staff/login").await;
    app.post("/staff/login", &[("email", email), ("password", password), ("csrf", &csrf)]).await
}

/// A verified access request for `email`, received on the app's current day; returns its reference.
async fn verified_request(app: &TestApp, email: &str, kind: &str) -> String {
    let (_, mail) = app.submit_and_read_mail(email, kind).await;
    let status = app.verify_by_link(&mail).await.location();
    app.forget_cookies();
    status.rsplit('/').next().unwrap().to_owned()
}

async fn anonymous_visitors_are_sent_to_the_login(app: TestApp) {
    for path in ["/staff", "/staff/requests/DSR-2026-000001", "/staff?status=ready"] {
        let res = app.get(path).await;
        assert_eq!(res.status, 303, "{path}");
        assert_eq!(res.location(), "/staff/login", "{path}");
    }
    let page = app.get("/staff/login").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("autocomplete=\"current-password\""));
}
on_both_backends!(anonymous_visitors_are_sent_to_the_login);

async fn a_wrong_password_and_an_unknown_address_get_the_same_answer(app: TestApp) {
    add_staff(&app, "dpo@exemple.test", Role::Admin).await;
    let wrong = login(&app, "dpo@exemple.test", "not the password").await;
    let unknown = login(&app, "nobody@exemple.test", "not the password").await;
    assert_eq!((wrong.status, unknown.status), (401, 401));
    let message = "do not match an active account";
    assert!(wrong.text().contains(message) && unknown.text().contains(message));
    let ok = login(&app, "DPO@exemple.test ", PASSWORD).await;
    assert_eq!(ok.status, 303, "{}", ok.text());
    assert_eq!(ok.location(), "/staff");
    let cookie = ok.header("set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert_eq!(app.get("/staff").await.status, 200);
}
on_both_backends!(a_wrong_password_and_an_unknown_address_get_the_same_answer);

async fn repeated_failures_lock_the_address_with_backoff(app: TestApp) {
    add_staff(&app, "agent@exemple.test", Role::Agent).await;
    for _ in 0..5 {
        assert_eq!(login(&app, "agent@exemple.test", "guess").await.status, 401);
    }
    let locked = login(&app, "agent@exemple.test", PASSWORD).await;
    assert_eq!(locked.status, 401);
    assert!(locked.text().contains("Try again in 1 minute"), "{}", locked.text());
    // An unknown address is throttled exactly the same way.
    for _ in 0..5 {
        login(&app, "ghost@exemple.test", "guess").await;
    }
    assert!(login(&app, "ghost@exemple.test", "guess").await.text().contains("Try again in 1 minute"));
    app.clock.advance(time::Duration::minutes(2));
    assert_eq!(login(&app, "agent@exemple.test", PASSWORD).await.status, 303);
}
on_both_backends!(repeated_failures_lock_the_address_with_backoff);

async fn every_role_reads_the_queue_and_a_request(app: TestApp) {
    let reference = verified_request(&app, "jeanne.martin@example.fr", "erasure").await;
    for (email, role) in [
        ("admin@exemple.test", Role::Admin),
        ("agent@exemple.test", Role::Agent),
        ("audit@exemple.test", Role::Auditor),
    ] {
        add_staff(&app, email, role).await;
        app.forget_cookies();
        assert_eq!(login(&app, email, PASSWORD).await.status, 303);
        assert_eq!(app.get("/staff").await.status, 200, "{role}");
        assert_eq!(app.get(&format!("/staff/requests/{reference}")).await.status, 200, "{role}");
    }
    assert_eq!(app.get("/staff/requests/DSR-2026-999999").await.status, 404);
}
on_both_backends!(every_role_reads_the_queue_and_a_request);

async fn a_disabled_account_or_an_idle_session_stops_at_once(app: TestApp) {
    add_staff(&app, "agent@exemple.test", Role::Agent).await;
    login(&app, "agent@exemple.test", PASSWORD).await;
    assert_eq!(app.get("/staff").await.status, 200);
    app.clock.advance(time::Duration::minutes(31));
    assert_eq!(app.get("/staff").await.status, 303, "idle for more than 30 minutes");

    login(&app, "agent@exemple.test", PASSWORD).await;
    assert_eq!(app.get("/staff").await.status, 200);
    let email = EmailAddress::parse("agent@exemple.test").unwrap();
    dossier::services::staff::disable(&app.app.store, &email, app.app.now_ms()).await.unwrap();
    assert_eq!(app.get("/staff").await.status, 303, "disabled: the session ends");
    assert_eq!(login(&app, "agent@exemple.test", PASSWORD).await.status, 401);
}
on_both_backends!(a_disabled_account_or_an_idle_session_stops_at_once);

async fn the_queue_is_ordered_by_due_date_and_filters_exactly(app: TestApp) {
    let first = request_awaiting_review(&app, "jeanne.martin@example.fr", "erasure").await;
    app.clock.advance(time::Duration::days(3));
    let second = verified_request(&app, "oliver.smith@example.co.uk", "access").await;
    app.clock.advance(time::Duration::days(3));
    let third = request_awaiting_review(&app, "someone@example.org", "rectification").await;
    add_staff(&app, "agent@exemple.test", Role::Agent).await;
    login(&app, "agent@exemple.test", PASSWORD).await;

    let refs_in = |html: &str| -> Vec<String> {
        html.split("class=\"reference\">").skip(1).map(|s| s.split('<').next().unwrap().to_owned()).collect()
    };
    assert_eq!(refs_in(&app.get("/staff").await.text()), [first.as_str(), second.as_str(), third.as_str()]);
    assert_eq!(refs_in(&app.get("/staff?kind=rectification").await.text()), [third.as_str()]);
    assert_eq!(refs_in(&app.get("/staff?q=Oliver.Smith%40example.co.uk").await.text()), [second.as_str()]);
    assert_eq!(refs_in(&app.get(&format!("/staff?q={first}")).await.text()), [first.as_str()]);
    assert_eq!(refs_in(&app.get("/staff?status=awaiting_review").await.text()), [first.as_str(), third.as_str()]);
    // 10 March + 6 days: the first is due 10 April, 25 days away: on track; none overdue.
    assert_eq!(refs_in(&app.get("/staff?deadline=overdue").await.text()), Vec::<String>::new());
    app.clock.advance(time::Duration::days(28));
    login(&app, "agent@exemple.test", PASSWORD).await;
    assert_eq!(refs_in(&app.get("/staff?deadline=overdue").await.text()), [first.as_str()]);
    let bad = app.get("/staff?q=not%20a%20thing").await;
    assert_eq!(bad.status, 200);
    assert!(bad.text().contains("Search by reference"));
}
on_both_backends!(the_queue_is_ordered_by_due_date_and_filters_exactly);

async fn opening_a_request_is_recorded_and_shows_its_timeline(app: TestApp) {
    let reference = verified_request(&app, "jeanne.martin@example.fr", "access").await;
    app.run_pending_jobs().await;
    add_staff(&app, "audit@exemple.test", Role::Auditor).await;
    login(&app, "audit@exemple.test", PASSWORD).await;
    let page = app.get(&format!("/staff/requests/{reference}")).await.text();
    for text in
        ["jeanne.martin@example.fr", "Request received", "Email address proven", "Export built", "record(s) found"]
    {
        assert!(page.contains(text), "{text}: {page}");
    }
    let views: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE event = 'staff_viewed'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(views, 1);
}
on_both_backends!(opening_a_request_is_recorded_and_shows_its_timeline);

async fn the_login_form_needs_its_csrf_token(app: TestApp) {
    add_staff(&app, "dpo@exemple.test", Role::Admin).await;
    let res = app.post("/staff/login", &[("email", "dpo@exemple.test"), ("password", PASSWORD)]).await;
    assert_eq!(res.status, 403);
}
on_both_backends!(the_login_form_needs_its_csrf_token);

async fn act(app: &TestApp, reference: &str, action: &str, form: &[(&str, &str)]) -> crate::helpers::Response {
    let page = format!("/staff/requests/{reference}");
    let csrf = crate::helpers::hidden(&app.get(&page).await.text(), "csrf").expect("a CSRF token");
    let mut fields = form.to_vec();
    fields.push(("csrf", &csrf));
    app.post(&format!("{page}/{action}"), &fields).await
}

/// A request that waits for staff: an erasure whose plan the person confirmed.
async fn request_awaiting_review(app: &TestApp, email: &str, kind: &str) -> String {
    let status = app.request_awaiting_review(email, kind).await;
    app.forget_cookies();
    status.rsplit('/').next().unwrap().to_owned()
}

async fn auditors_read_but_cannot_act(app: TestApp) {
    let reference = request_awaiting_review(&app, "jeanne.martin@example.fr", "erasure").await;
    add_staff(&app, "audit@exemple.test", Role::Auditor).await;
    login(&app, "audit@exemple.test", PASSWORD).await;
    let page = app.get(&format!("/staff/requests/{reference}")).await.text();
    assert!(!page.contains("/deny\""), "no action forms for an auditor");
    for action in ["assign", "note", "extend", "deny", "complete", "cancel"] {
        let res = act(&app, &reference, action, &[("reason", "x"), ("ground", "excessive")]).await;
        assert_eq!(res.status, 403, "{action}");
    }
    let status: String =
        sqlx::query_scalar("SELECT status FROM requests").fetch_one(app.app.store.pool()).await.unwrap();
    assert_eq!(status, "awaiting_review", "nothing changed");
    app.forget_cookies();
    let csrf = app.csrf("/").await;
    let res = app.post(&format!("/staff/requests/{reference}/cancel"), &[("csrf", &csrf)]).await;
    assert_eq!((res.status, res.location()), (303, "/staff/login".to_owned()));
}
on_both_backends!(auditors_read_but_cannot_act);

async fn an_extension_needs_a_reason_is_told_to_the_person_and_happens_once(app: TestApp) {
    let reference = verified_request(&app, "jeanne.martin@example.fr", "access").await;
    add_staff(&app, "agent@exemple.test", Role::Agent).await;
    login(&app, "agent@exemple.test", PASSWORD).await;
    let res = act(&app, &reference, "extend", &[("reason", "  ")]).await;
    assert!(res.location().ends_with("refused=reason_required"), "{}", res.location());
    let res = act(&app, &reference, "extend", &[("reason", "Your data is spread over twelve archived systems.")]).await;
    assert!(res.location().ends_with("done=extend"), "{}", res.location());
    let page = app.get(&res.location()).await.text();
    // Received 10 March 2026: three months later, 10 June 2026 (a Wednesday).
    assert!(page.contains("June 10, 2026"), "{page}");
    app.run_pending_jobs().await;
    let mail = app.email_with_subject("jeanne.martin@example.fr", "More time is needed");
    assert!(mail.text.contains("June 10, 2026") && mail.text.contains("twelve archived systems"), "{}", mail.text);
    let again = act(&app, &reference, "extend", &[("reason", "Still more time")]).await;
    assert!(again.location().ends_with("refused=already_extended"));
    let due: String = sqlx::query_scalar("SELECT due_on FROM requests").fetch_one(app.app.store.pool()).await.unwrap();
    assert_eq!(due, "2026-06-10");
}
on_both_backends!(an_extension_needs_a_reason_is_told_to_the_person_and_happens_once);

async fn an_extension_after_the_first_month_is_refused(app: TestApp) {
    let reference = verified_request(&app, "jeanne.martin@example.fr", "erasure").await;
    add_staff(&app, "agent@exemple.test", Role::Agent).await;
    app.clock.advance(time::Duration::days(32));
    login(&app, "agent@exemple.test", PASSWORD).await;
    let res = act(&app, &reference, "extend", &[("reason", "We were slow")]).await;
    assert!(res.location().ends_with("refused=extension_too_late"), "{}", res.location());
    let page = app.get(&res.location()).await.text();
    assert!(page.contains("Too late to extend"));
}
on_both_backends!(an_extension_after_the_first_month_is_refused);

async fn a_refusal_tells_the_person_why_and_where_to_complain(app: TestApp) {
    let csrf = app.csrf("/?lang=fr").await;
    app.post("/requests", &[("email", "jeanne.martin@example.fr"), ("kind", "erasure"), ("csrf", &csrf)]).await;
    app.run_pending_jobs().await;
    let status = app.verify_by_link(&app.last_email_to("jeanne.martin@example.fr")).await.location();
    let reference = status.rsplit('/').next().unwrap().to_owned();
    app.forget_cookies();
    add_staff(&app, "agent@exemple.test", Role::Agent).await;
    login(&app, "agent@exemple.test", PASSWORD).await;
    let res = act(&app, &reference, "deny", &[("ground", "legal_obligation"), ("reason", "")]).await;
    assert!(res.location().ends_with("refused=reason_required"));
    let res = act(
        &app,
        &reference,
        "deny",
        &[("ground", "legal_obligation"), ("reason", "Vos factures sont conservées 10 ans.")],
    )
    .await;
    assert!(res.location().ends_with("done=deny"), "{}", res.location());
    app.run_pending_jobs().await;
    let mail = app.email_with_subject("jeanne.martin@example.fr", "ne peut pas aboutir");
    for text in
        ["17(3)(b)", "Vos factures sont conservées 10 ans.", "CNIL", "3 place de Fontenoy", "recours juridictionnel"]
    {
        assert!(mail.text.contains(text), "{text}: {}", mail.text);
    }
    let status: String =
        sqlx::query_scalar("SELECT status FROM requests").fetch_one(app.app.store.pool()).await.unwrap();
    assert_eq!(status, "denied");
    assert!(act(&app, &reference, "cancel", &[]).await.location().ends_with("refused=closed"));
}
on_both_backends!(a_refusal_tells_the_person_why_and_where_to_complain);

async fn assignments_and_notes_stay_with_staff(app: TestApp) {
    let (_, mail) = app.submit_and_read_mail("jeanne.martin@example.fr", "rectification").await;
    let status = app.verify_by_link(&mail).await.location();
    let reference = status.rsplit('/').next().unwrap().to_owned();
    app.forget_cookies();
    add_staff(&app, "agent@exemple.test", Role::Agent).await;
    login(&app, "agent@exemple.test", PASSWORD).await;
    let staff_id: String = sqlx::query_scalar("SELECT id FROM staff").fetch_one(app.app.store.pool()).await.unwrap();
    assert!(act(&app, &reference, "assign", &[("assignee", &staff_id)]).await.location().ends_with("done=assign"));
    assert!(
        act(&app, &reference, "assign", &[("assignee", "0000")]).await.location().ends_with("refused=unknown_assignee")
    );
    act(&app, &reference, "note", &[("reason", "Called her back: the postcode is wrong.")]).await;
    let page = app.get(&format!("/staff/requests/{reference}")).await.text();
    assert!(page.contains("Called her back") && page.contains("Test Staff"), "{page}");
    // Nothing was corrected yet: a rectification cannot simply be marked completed.
    assert!(act(&app, &reference, "complete", &[]).await.location().ends_with("refused=not_in_this_state"));
    assert!(act(&app, &reference, "cancel", &[]).await.location().ends_with("refused=reason_required"));
    let res = act(&app, &reference, "cancel", &[("reason", "She withdrew it by phone on 10 March.")]).await;
    assert!(res.location().ends_with("done=cancel"));
    app.run_pending_jobs().await;
    assert!(app.email_with_subject("jeanne.martin@example.fr", "is closed").text.contains(&reference));

    app.forget_cookies();
    app.sign_in(&status, "jeanne.martin@example.fr").await;
    let requester_view = app.get(&status).await.text();
    assert!(requester_view.contains("Cancelled"), "{requester_view}");
    assert!(!requester_view.contains("Called her back") && !requester_view.contains("withdrew"), "notes are internal");
}
on_both_backends!(assignments_and_notes_stay_with_staff);

async fn intake(app: &TestApp, fields: &[(&str, &str)]) -> crate::helpers::Response {
    let csrf = crate::helpers::hidden(&app.get("/staff/intake").await.text(), "csrf").expect("the intake form");
    let mut form = fields.to_vec();
    form.push(("csrf", &csrf));
    app.post("/staff/intake", &form).await
}

async fn a_letter_entered_by_staff_starts_the_clock_on_its_received_date(app: TestApp) {
    add_staff(&app, "agent@exemple.test", Role::Agent).await;
    login(&app, "agent@exemple.test", PASSWORD).await;
    // Today is 10 March 2026; the letter arrived on 5 March: due 5 April, a Sunday, then Monday
    // 6 April is Easter Monday: due Tuesday 7 April (Regulation 1182/71 Art. 3(4)).
    let res = intake(
        &app,
        &[
            ("email", "Jeanne.Martin@example.fr"),
            ("kind", "access"),
            ("channel", "letter"),
            ("received", "2026-03-05"),
            ("language", "fr"),
            ("verification", "email"),
        ],
    )
    .await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert!(res.location().ends_with("?done=intake"));
    let page = app.get(&res.location()).await.text();
    assert!(page.contains("April 7, 2026") && page.contains("Letter"), "{page}");
    assert!(page.contains("Waiting for verification"), "{page}");
    let reference = res.location().split('/').next_back().unwrap().split('?').next().unwrap().to_owned();

    // The person still proves the address before any data is released.
    app.run_pending_jobs().await;
    let mail = app.email_with_subject("jeanne.martin@example.fr", "Confirmez votre demande");
    app.forget_cookies();
    let status = app.verify_by_link(&mail).await.location();
    assert_eq!(status, format!("/requests/{reference}"), "the reference given at intake is kept");
    app.run_pending_jobs().await;
    assert!(app.get(&status).await.text().contains("Ready to download"));
    let actor: String = sqlx::query_scalar("SELECT actor FROM audit_events WHERE event = 'received'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert!(actor.starts_with("staff:"), "the timeline shows who entered it: {actor}");
}
on_both_backends!(a_letter_entered_by_staff_starts_the_clock_on_its_received_date);

async fn another_verification_needs_a_justification_and_bad_input_changes_nothing(app: TestApp) {
    add_staff(&app, "agent@exemple.test", Role::Agent).await;
    login(&app, "agent@exemple.test", PASSWORD).await;
    let base = [("email", "oliver.smith@example.co.uk"), ("kind", "erasure"), ("channel", "phone"), ("language", "en")];
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("received", "2026-03-09"), ("verification", "recorded"), ("justification", " ")],
            "Explain how the identity",
        ),
        (&[("received", "2026-03-11"), ("verification", "email")], "today or earlier"),
        (&[("received", "not a date"), ("verification", "email")], "today or earlier"),
        (&[("received", "2026-03-09"), ("verification", "email"), ("email", "nope")], "valid email"),
    ];
    for (extra, message) in cases {
        let mut fields: Vec<(&str, &str)> = base.to_vec();
        for (k, v) in extra {
            fields.retain(|(bk, _)| bk != k);
            fields.push((k, v));
        }
        let res = intake(&app, &fields).await;
        assert_eq!(res.status, 400, "{extra:?}");
        assert!(res.text().contains(message), "{message}: {}", res.text());
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests").fetch_one(app.app.store.pool()).await.unwrap();
    assert_eq!(n, 0);
    let mut fields = base.to_vec();
    fields.extend([
        ("received", "2026-03-09"),
        ("verification", "recorded"),
        ("justification", "Signed letter, address on file"),
    ]);
    let res = intake(&app, &fields).await;
    assert_eq!(res.status, 303);
    let page = app.get(&res.location()).await.text();
    assert!(page.contains("Collecting"), "verified at once, its sources being planned: {page}");
    app.run_pending_jobs().await;
    let page = app.get(&res.location()).await.text();
    assert!(page.contains("Awaiting the person’s confirmation"), "{page}");
    let mut subjects: Vec<String> = app.emails().into_iter().map(|m| m.subject).collect();
    subjects.sort();
    let reference = res.location().rsplit('/').next().unwrap().split('?').next().unwrap().to_owned();
    assert_eq!(
        subjects,
        [format!("Please check what request {reference} would change"), format!("Request {reference} confirmed")],
        "no verification email"
    );
}
on_both_backends!(another_verification_needs_a_justification_and_bad_input_changes_nothing);

async fn auditors_cannot_enter_requests(app: TestApp) {
    add_staff(&app, "audit@exemple.test", Role::Auditor).await;
    login(&app, "audit@exemple.test", PASSWORD).await;
    assert_eq!(app.get("/staff/intake").await.status, 403);
}
on_both_backends!(auditors_cannot_enter_requests);

async fn a_refused_request_s_export_is_withdrawn(app: TestApp) {
    let (_, mail) = app.submit_and_read_mail("jeanne.martin@example.fr", "access").await;
    let status = app.verify_by_link(&mail).await.location();
    app.run_pending_jobs().await;
    assert_eq!(app.get(&format!("{status}/export")).await.status, 200);
    let reference = status.rsplit('/').next().unwrap().to_owned();
    add_staff(&app, "agent@exemple.test", Role::Agent).await;
    login(&app, "agent@exemple.test", PASSWORD).await;
    let res =
        act(&app, &reference, "deny", &[("ground", "rights_of_others"), ("reason", "The notes name other people.")])
            .await;
    assert!(res.location().ends_with("done=deny"));
    assert_eq!(std::fs::read_dir(app.data_dir().join("exports")).unwrap().count(), 0, "the file is deleted");
    app.sign_in(&status, "jeanne.martin@example.fr").await;
    assert_eq!(app.get(&format!("{status}/export")).await.status, 303, "the export is no longer released");
}
on_both_backends!(a_refused_request_s_export_is_withdrawn);

async fn a_burst_of_parallel_guesses_cannot_beat_the_lockout(app: TestApp) {
    add_staff(&app, "dpo@exemple.test", Role::Admin).await;
    let csrf = app.csrf("/staff/login").await;
    let forms: Vec<[(&str, &str); 3]> = (0..20)
        .map(|_| [("email", "dpo@exemple.test"), ("password", "a wrong guess"), ("csrf", csrf.as_str())])
        .collect();
    let results = futures_util::future::join_all(forms.iter().map(|f| app.post("/staff/login", f))).await;
    let checked = results.iter().filter(|r| r.text().contains("do not match an active account")).count();
    assert!(checked <= 5, "{checked} passwords were checked in one burst");
    assert!(results.iter().all(|r| r.status == 401));
}
on_both_backends!(a_burst_of_parallel_guesses_cannot_beat_the_lockout);

async fn a_new_password_ends_every_open_session(app: TestApp) {
    add_staff(&app, "agent@exemple.test", Role::Agent).await;
    login(&app, "agent@exemple.test", PASSWORD).await;
    assert_eq!(app.get("/staff").await.status, 200);
    let email = EmailAddress::parse("agent@exemple.test").unwrap();
    dossier::services::staff::set_password(&app.app.store, &email, "a brand new passphrase", app.app.now_ms())
        .await
        .unwrap();
    assert_eq!(app.get("/staff").await.status, 303);
}
on_both_backends!(a_new_password_ends_every_open_session);

async fn a_refusal_ground_must_fit_the_right(app: TestApp) {
    let reference = verified_request(&app, "jeanne.martin@example.fr", "access").await;
    add_staff(&app, "agent@exemple.test", Role::Agent).await;
    login(&app, "agent@exemple.test", PASSWORD).await;
    let page = app.get(&format!("/staff/requests/{reference}")).await.text();
    assert!(!page.contains("value=\"legal_obligation\""), "Art. 17(3) is not offered for an access request");
    assert!(page.contains("value=\"rights_of_others\""));
    let res = act(&app, &reference, "deny", &[("ground", "legal_obligation"), ("reason", "Invoices")]).await;
    assert!(res.location().ends_with("refused=ground_not_applicable"), "{}", res.location());
    let status: String =
        sqlx::query_scalar("SELECT status FROM requests").fetch_one(app.app.store.pool()).await.unwrap();
    assert_ne!(status, "denied");
}
on_both_backends!(a_refusal_ground_must_fit_the_right);

async fn an_extension_cites_the_request_s_own_law(app: TestApp) {
    let csrf = app.csrf("/").await;
    let form =
        [("email", "oliver.smith@example.co.uk"), ("kind", "erasure"), ("jurisdiction", "ccpa"), ("csrf", &csrf)];
    assert_eq!(app.post("/requests", &form).await.status, 303);
    app.run_pending_jobs().await;
    let status = app.verify_by_link(&app.last_email_to("oliver.smith@example.co.uk")).await.location();
    let reference = status.rsplit('/').next().unwrap().to_owned();
    app.forget_cookies();
    add_staff(&app, "agent@exemple.test", Role::Agent).await;
    login(&app, "agent@exemple.test", PASSWORD).await;
    let res = act(&app, &reference, "extend", &[("reason", "Several archived systems")]).await;
    assert!(res.location().ends_with("done=extend"), "{}", res.location());
    app.run_pending_jobs().await;
    let mail = app.email_with_subject("oliver.smith@example.co.uk", "More time is needed");
    // Received 10 March 2026 in California: 45 days, extended once by 45 more: 8 June 2026.
    assert!(mail.text.contains("June 8, 2026") && mail.text.contains("§7021(b)"), "{}", mail.text);
    assert!(!mail.text.contains("GDPR"), "{}", mail.text);
}
on_both_backends!(
    an_extension_cites_the_request_s_own_law,
    crate::helpers::Options {
        policies: Some(vec![dossier::deadlines::Policy::EuGdpr, dossier::deadlines::Policy::Ccpa]),
        ..Default::default()
    }
);

async fn searching_by_email_keeps_the_address_out_of_urls_and_is_recorded(app: TestApp) {
    verified_request(&app, "jeanne.martin@example.fr", "erasure").await;
    let oliver = verified_request(&app, "oliver.smith@example.co.uk", "access").await;
    add_staff(&app, "audit@exemple.test", Role::Auditor).await;
    login(&app, "audit@exemple.test", PASSWORD).await;
    let csrf = app.csrf("/staff").await;
    let res =
        app.post("/staff/search", &[("q", " Oliver.Smith@example.co.uk "), ("status", ""), ("csrf", &csrf)]).await;
    assert_eq!(res.status, 303);
    let location = res.location();
    assert!(
        location.contains("person=") && !location.contains('@') && !location.to_lowercase().contains("oliver"),
        "{location}"
    );
    let page = app.get(&location).await.text();
    let refs: Vec<&str> = page.split("class=\"reference\">").skip(1).map(|s| s.split('<').next().unwrap()).collect();
    assert_eq!(refs, [oliver.as_str()]);
    assert!(!page.contains("oliver.smith@example.co.uk"), "the page does not echo the address back");
    let searches: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE event = 'staff_searched'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(searches, 1);
    // A reference is not personal data: it stays a plain query.
    let res = app.post("/staff/search", &[("q", &oliver), ("csrf", &csrf)]).await;
    assert!(res.location().contains(&format!("q={oliver}")), "{}", res.location());
}
on_both_backends!(searching_by_email_keeps_the_address_out_of_urls_and_is_recorded);

async fn staff_record_the_law_a_letter_invokes(app: TestApp) {
    add_staff(&app, "agent@exemple.test", Role::Agent).await;
    login(&app, "agent@exemple.test", PASSWORD).await;
    assert!(app.get("/staff/intake").await.text().contains("name=\"jurisdiction\""));
    let base = [
        ("email", "oliver.smith@example.co.uk"),
        ("kind", "access"),
        ("channel", "letter"),
        ("received", "2026-03-05"),
        ("language", "en"),
        ("verification", "email"),
    ];
    let mut bad = base.to_vec();
    bad.push(("jurisdiction", "lgpd"));
    assert_eq!(intake(&app, &bad).await.status, 400, "a law the operator does not offer");
    let mut fields = base.to_vec();
    fields.push(("jurisdiction", "ccpa"));
    let res = intake(&app, &fields).await;
    assert_eq!(res.status, 303, "{}", res.text());
    // 5 March + 45 calendar days under the CCPA: 19 April 2026, a Sunday, not rolled.
    let page = app.get(&res.location()).await.text();
    assert!(page.contains("April 19, 2026") && page.contains("ccpa"), "{page}");
}
on_both_backends!(
    staff_record_the_law_a_letter_invokes,
    crate::helpers::Options {
        policies: Some(vec![dossier::deadlines::Policy::EuGdpr, dossier::deadlines::Policy::Ccpa]),
        ..Default::default()
    }
);

// ---- Second factor (TOTP), the account page, staff management ----

use crate::helpers::{Browser, enrol_totp, staff_password_step, totp_code};

async fn audit_count(app: &TestApp, event: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE event = $1")
        .bind(event)
        .fetch_one(app.app.store.pool())
        .await
        .unwrap()
}

async fn code_step(browser: &Browser, code: &str) -> crate::helpers::Response {
    let csrf = browser.csrf("/staff/login/code").await;
    browser.post("/staff/login/code", &[("code", code), ("csrf", &csrf)]).await
}

async fn a_second_factor_is_confirmed_before_it_counts_then_asked_at_every_login(app: TestApp) {
    add_staff(&app, "agent@exemple.test", Role::Agent).await;
    let browser = Browser::new(app.address.clone());
    assert_eq!(staff_password_step(&browser, "agent@exemple.test", PASSWORD).await.location(), "/staff");
    let page = browser.get("/staff/account").await.text();
    assert!(page.contains("Off: signing in asks only for your password"), "{page}");

    // A fresh secret, not active until a code from it is typed.
    let csrf = browser.csrf("/").await;
    browser.post("/staff/account/totp/start", &[("csrf", &csrf)]).await;
    let page = browser.get("/staff/account").await.text();
    let shown = page.split("id=\"totp-secret\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let secret = dossier::crypto::totp::base32_decode(&shown).unwrap();
    assert_eq!(secret.len(), 20, "160 bits");
    assert!(page.contains("otpauth://totp/Dossier%20"), "{page}");
    assert!(page.contains("<div class=\"qr\" role=\"img\"") && page.contains("<svg xmlns="), "a QR code drawn inline");
    let wrong_code = if totp_code(&app, &secret, 0) == "000000" { "111111" } else { "000000" };
    let wrong = browser
        .post("/staff/account/totp/confirm", &[("csrf", &csrf), ("code", wrong_code), ("current", PASSWORD)])
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.text().contains("This code does not match"));
    let sealed: Option<String> =
        sqlx::query_scalar("SELECT totp_secret FROM staff").fetch_one(app.app.store.pool()).await.unwrap();
    assert_eq!(sealed, None, "not active before a right code");

    let enrol_code = totp_code(&app, &secret, 0);
    let res = browser
        .post("/staff/account/totp/confirm", &[("csrf", &csrf), ("code", &enrol_code), ("current", PASSWORD)])
        .await;
    assert_eq!(res.status, 303, "{}", res.text());
    let page = browser.get(&res.location()).await.text();
    assert!(page.contains("Two-step sign-in is on"), "{page}");
    assert!(!page.contains(&shown[..8]), "the secret is never shown again");
    let sealed: String =
        sqlx::query_scalar("SELECT totp_secret FROM staff").fetch_one(app.app.store.pool()).await.unwrap();
    let b32 = dossier::crypto::totp::base32_encode(&secret);
    assert!(!sealed.contains(&b32) && !sealed.contains(&dossier::crypto::hex(&secret)), "stored sealed: {sealed}");
    assert_eq!(audit_count(&app, "staff_totp_enabled").await, 1);

    // The password alone opens no session: only the code form, for a few minutes.
    let other = Browser::new(app.address.clone());
    let res = staff_password_step(&other, "agent@exemple.test", PASSWORD).await;
    assert_eq!((res.status, res.location()), (303, "/staff/login/code".to_owned()));
    assert!(!res.header("set-cookie").unwrap_or("").contains("dossier_staff="), "no session yet");
    assert_eq!(other.get("/staff").await.location(), "/staff/login", "half signed in opens nothing");
    assert!(other.get("/staff/login/code").await.text().contains("autocomplete=\"one-time-code\""));
    // The code used to enrol cannot be used again (same 30-second step).
    let replay = code_step(&other, &enrol_code).await;
    assert_eq!(replay.status, 401);
    assert!(replay.text().contains("already used"), "{}", replay.text());
    app.clock.advance(time::Duration::seconds(30));
    let ok = code_step(&other, &totp_code(&app, &secret, 0)).await;
    assert_eq!((ok.status, ok.location()), (303, "/staff".to_owned()), "{}", ok.text());
    assert_eq!(other.get("/staff").await.status, 200);
    // That code is spent too: a second login in the same step is refused.
    let third = Browser::new(app.address.clone());
    staff_password_step(&third, "agent@exemple.test", PASSWORD).await;
    assert_eq!(code_step(&third, &totp_code(&app, &secret, 0)).await.status, 401);
    let factors: Vec<String> =
        sqlx::query_scalar("SELECT detail FROM audit_events WHERE event = 'staff_login' ORDER BY ord")
            .fetch_all(app.app.store.pool())
            .await
            .unwrap();
    assert!(factors.last().unwrap().contains("password+totp"), "{factors:?}");
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM staff_login_challenges")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(pending, 1, "only the third browser's login is still waiting");
}
on_both_backends!(a_second_factor_is_confirmed_before_it_counts_then_asked_at_every_login);

async fn wrong_codes_count_toward_the_lockout_and_a_pending_login_expires(app: TestApp) {
    add_staff(&app, "agent@exemple.test", Role::Agent).await;
    let browser = Browser::new(app.address.clone());
    staff_password_step(&browser, "agent@exemple.test", PASSWORD).await;
    let secret = enrol_totp(&app, &browser).await;
    let right = || totp_code(&app, &secret, 0);
    let wrong = || if right() == "123456" { "654321".to_owned() } else { "123456".to_owned() };

    let login = Browser::new(app.address.clone());
    // The password step counts as one attempt until its code is accepted; then 4 wrong codes.
    staff_password_step(&login, "agent@exemple.test", PASSWORD).await;
    for _ in 0..4 {
        let res = code_step(&login, &wrong()).await;
        assert_eq!(res.status, 401);
    }
    let locked = code_step(&login, &right()).await;
    assert!(locked.text().contains("Try again in 1 minute"), "{}", locked.text());
    assert_eq!(login.get("/staff").await.location(), "/staff/login");
    app.clock.advance(time::Duration::minutes(2));

    // A pending login lasts five minutes.
    let res = staff_password_step(&login, "agent@exemple.test", PASSWORD).await;
    assert_eq!(res.location(), "/staff/login/code");
    app.clock.advance(time::Duration::minutes(6));
    let late = code_step(&login, &right()).await;
    assert_eq!(late.status, 401);
    assert!(late.text().contains("took too long"), "{}", late.text());
    assert_eq!(login.get("/staff").await.location(), "/staff/login");

    staff_password_step(&login, "agent@exemple.test", PASSWORD).await;
    assert_eq!(code_step(&login, &right()).await.location(), "/staff");
    assert_eq!(login.get("/staff").await.status, 200);
}
on_both_backends!(wrong_codes_count_toward_the_lockout_and_a_pending_login_expires);

async fn a_member_changes_their_own_password_and_their_other_sessions_end(app: TestApp) {
    add_staff(&app, "agent@exemple.test", Role::Agent).await;
    let (here, elsewhere) = (Browser::new(app.address.clone()), Browser::new(app.address.clone()));
    staff_password_step(&here, "agent@exemple.test", PASSWORD).await;
    staff_password_step(&elsewhere, "agent@exemple.test", PASSWORD).await;
    let csrf = here.csrf("/").await;
    let change = |current: &'static str, new: &'static str, confirm: &'static str| {
        let csrf = csrf.clone();
        let here = &here;
        async move {
            here.post(
                "/staff/account/password",
                &[("csrf", &csrf), ("current", current), ("new", new), ("confirm", confirm)],
            )
            .await
        }
    };
    let cases = [
        (
            change("not my password", "a brand new passphrase", "a brand new passphrase").await,
            "current password is not right",
        ),
        (change(PASSWORD, "short", "short").await, "at least 12 characters"),
        (change(PASSWORD, "a brand new passphrase", "a brand new passphrasf").await, "are not the same"),
    ];
    for (res, message) in cases {
        assert_eq!(res.status, 400, "{message}");
        assert!(res.text().contains(message), "{message}: {}", res.text());
    }
    assert_eq!(elsewhere.get("/staff").await.status, 200, "nothing changed");
    let res = change(PASSWORD, "a brand new passphrase", "a brand new passphrase").await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert!(here.get(&res.location()).await.text().contains("Your password was changed"));
    assert_eq!(here.get("/staff").await.status, 200, "this session stays");
    assert_eq!(elsewhere.get("/staff").await.location(), "/staff/login", "the other one ended");
    assert_eq!(staff_password_step(&elsewhere, "agent@exemple.test", PASSWORD).await.status, 401);
    assert_eq!(staff_password_step(&elsewhere, "agent@exemple.test", "a brand new passphrase").await.status, 303);
}
on_both_backends!(a_member_changes_their_own_password_and_their_other_sessions_end);

async fn admins_manage_staff_and_never_leave_the_workspace_without_an_admin(app: TestApp) {
    add_staff(&app, "dpo@exemple.test", Role::Admin).await;
    let admin = Browser::new(app.address.clone());
    staff_password_step(&admin, "dpo@exemple.test", PASSWORD).await;
    let page = admin.get("/staff/admin/staff").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("dpo@exemple.test"));
    let csrf = admin.csrf("/").await;

    // Bad input: a clear message, nothing created.
    let res = admin.post("/staff/admin/staff", &[("csrf", &csrf), ("email", "nope"), ("role", "root")]).await;
    assert_eq!(res.status, 400);
    assert!(res.text().contains("valid email address") && res.text().contains("Choose a role"), "{}", res.text());
    let res = admin
        .post(
            "/staff/admin/staff",
            &[("csrf", &csrf), ("email", "DPO@exemple.test"), ("role", "agent"), ("current", PASSWORD)],
        )
        .await;
    assert!(res.text().contains("already has this address"));
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM staff").fetch_one(app.app.store.pool()).await.unwrap();
    assert_eq!(n, 1);

    // A new member, with an initial password shown once.
    let res = admin
        .post(
            "/staff/admin/staff",
            &[
                ("csrf", &csrf),
                ("email", "new@exemple.test"),
                ("name", "Nour"),
                ("role", "agent"),
                ("current", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let text = res.text();
    let password = text.split("id=\"initial-password\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert!(password.len() >= 16, "{password}");
    assert!(!admin.get("/staff/admin/staff").await.text().contains(&password), "shown once");
    let member = Browser::new(app.address.clone());
    assert_eq!(staff_password_step(&member, "new@exemple.test", &password).await.location(), "/staff");
    assert_eq!(member.get("/staff/intake").await.status, 200);
    assert_eq!(member.get("/staff/admin/staff").await.status, 403, "agents do not manage staff");
    let id: String = sqlx::query_scalar("SELECT id FROM staff WHERE email = 'new@exemple.test'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    let admin_page = admin.get("/staff/admin/staff").await.text();
    assert!(admin_page.contains(&format!("/staff/admin/staff/{id}/disable")), "{admin_page}");

    // Role: takes effect on the member's next page.
    let res = admin
        .post(&format!("/staff/admin/staff/{id}/role"), &[("csrf", &csrf), ("role", "auditor"), ("current", PASSWORD)])
        .await;
    assert!(res.location().ends_with("done=role"), "{}", res.location());
    assert_eq!(member.get("/staff/intake").await.status, 403);
    let res = admin.post(&format!("/staff/admin/staff/{id}/role"), &[("csrf", &csrf), ("role", "root")]).await;
    assert!(res.location().ends_with("refused=role"));
    // Disable: the session ends at once; enable: they can sign in again.
    let res = admin.post(&format!("/staff/admin/staff/{id}/disable"), &[("csrf", &csrf)]).await;
    assert!(res.location().ends_with("done=disable"));
    assert!(admin.get(&res.location()).await.text().contains("The account was disabled"));
    assert_eq!(member.get("/staff").await.location(), "/staff/login");
    assert_eq!(staff_password_step(&member, "new@exemple.test", &password).await.status, 401);
    let res = admin.post(&format!("/staff/admin/staff/{id}/enable"), &[("csrf", &csrf), ("current", PASSWORD)]).await;
    assert!(res.location().ends_with("done=enable"), "{}", res.location());
    assert_eq!(staff_password_step(&member, "new@exemple.test", &password).await.status, 303);

    // The last active admin can neither disable nor demote themselves.
    let me: String = sqlx::query_scalar("SELECT id FROM staff WHERE email = 'dpo@exemple.test'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    for (change, form) in [
        ("disable", vec![("csrf", csrf.as_str())]),
        ("role", vec![("csrf", csrf.as_str()), ("role", "agent"), ("current", PASSWORD)]),
    ] {
        let res = admin.post(&format!("/staff/admin/staff/{me}/{change}"), &form).await;
        assert!(res.location().ends_with("refused=last_admin"), "{change}: {}", res.location());
        assert!(admin.get(&res.location()).await.text().contains("without an active admin"));
    }
    let (role, disabled): (String, i32) = sqlx::query_as("SELECT role, disabled FROM staff WHERE id = $1")
        .bind(&me)
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!((role.as_str(), disabled), ("admin", 0));
    // With a second admin, demoting oneself is fine.
    admin
        .post(&format!("/staff/admin/staff/{id}/role"), &[("csrf", &csrf), ("role", "admin"), ("current", PASSWORD)])
        .await;
    let res = admin
        .post(&format!("/staff/admin/staff/{me}/role"), &[("csrf", &csrf), ("role", "agent"), ("current", PASSWORD)])
        .await;
    assert!(res.location().ends_with("done=role"));
    assert_eq!(admin.get("/staff/admin/staff").await.status, 403);

    for (event, n) in [("staff_created", 2), ("staff_role_changed", 3), ("staff_disabled", 1), ("staff_enabled", 1)] {
        assert_eq!(audit_count(&app, event).await, n, "{event}");
    }
    let actor: String = sqlx::query_scalar("SELECT actor FROM audit_events WHERE event = 'staff_disabled'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(actor, format!("staff:{me}"), "the audit trail names the admin");
}
on_both_backends!(admins_manage_staff_and_never_leave_the_workspace_without_an_admin);

async fn an_admin_resets_a_lost_second_factor(app: TestApp) {
    add_staff(&app, "dpo@exemple.test", Role::Admin).await;
    let agent = add_staff_row(&app, "agent@exemple.test", Role::Agent).await;
    let member = Browser::new(app.address.clone());
    staff_password_step(&member, "agent@exemple.test", PASSWORD).await;
    enrol_totp(&app, &member).await;
    // A secret the server can no longer open (its secret key changed): a clear answer, no 500.
    sqlx::query("UPDATE staff SET totp_secret = 'v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' WHERE id = $1")
        .bind(&agent.id)
        .execute(app.app.store.pool())
        .await
        .unwrap();
    let other = Browser::new(app.address.clone());
    assert_eq!(staff_password_step(&other, "agent@exemple.test", PASSWORD).await.location(), "/staff/login/code");
    let res = code_step(&other, "123456").await;
    assert_eq!(res.status, 401);
    assert!(res.text().contains("can no longer be checked"), "{}", res.text());
    let admin = Browser::new(app.address.clone());
    staff_password_step(&admin, "dpo@exemple.test", PASSWORD).await;
    let page = admin.get("/staff/admin/staff").await.text();
    assert!(page.contains(&format!("/staff/admin/staff/{}/reset-totp", agent.id)), "{page}");
    let csrf = admin.csrf("/").await;
    // Removing a factor takes the admin's own password: a session alone changes nothing.
    for password in ["", "not my password"] {
        let res = admin
            .post(&format!("/staff/admin/staff/{}/reset-totp", agent.id), &[("csrf", &csrf), ("current", password)])
            .await;
        assert!(res.location().ends_with("refused=password"), "{}", res.location());
        let page = admin.get(&res.location()).await.text();
        assert!(page.contains("your own password is not right"), "{page}");
    }
    assert_eq!(audit_count(&app, "staff_totp_reset").await, 0);
    let res = admin
        .post(&format!("/staff/admin/staff/{}/reset-totp", agent.id), &[("csrf", &csrf), ("current", PASSWORD)])
        .await;
    assert!(res.location().ends_with("done=reset-totp"), "{}", res.location());
    assert_eq!(member.get("/staff").await.location(), "/staff/login", "their sessions ended");
    assert_eq!(
        staff_password_step(&member, "agent@exemple.test", PASSWORD).await.location(),
        "/staff",
        "no code asked"
    );
    assert_eq!(audit_count(&app, "staff_totp_reset").await, 1);
}
on_both_backends!(an_admin_resets_a_lost_second_factor);

async fn add_staff_row(app: &TestApp, email: &str, role: Role) -> dossier::store::staff::StaffRow {
    app.add_staff(email, role).await
}

#[tokio::test]
async fn the_cli_removes_the_second_factor_of_a_locked_out_admin() {
    use std::process::{Command, Stdio};
    let tmp = crate::helpers::TempDir::new("cli-totp");
    let data = tmp.0.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let config = tmp.0.join("dossier.toml");
    std::fs::write(&config, crate::helpers::base_config(&data)).unwrap();
    let run = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dossier"))
            .args(args)
            .arg("--config")
            .arg(&config)
            .env("DOSSIER_SECRET_KEY", dossier::crypto::SecretKey::generate().to_base64())
            .env("DOSSIER_EXPORT_KEY", dossier::crypto::SecretKey::generate().to_base64())
            .env("RUST_LOG", "off")
            .env_remove("DOSSIER_DATABASE_URL")
            .env_remove("DOSSIER_BASE_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run(&["staff", "add", "--email", "dpo@exemple.test", "--role", "admin"], "a long passphrase\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let db = format!("sqlite://{}", data.join("dossier.db").display());
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    sqlx::query("UPDATE staff SET totp_secret = 'v1:sealed', totp_last_step = 42").execute(&pool).await.unwrap();
    let out = run(&["staff", "reset-totp", "--email", "nobody@exemple.test"], "");
    assert!(!out.status.success(), "an unknown address fails");
    let out = run(&["staff", "reset-totp", "--email", "dpo@exemple.test"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("second factor removed"));
    let (secret, step): (Option<String>, Option<i64>) =
        sqlx::query_as("SELECT totp_secret, totp_last_step FROM staff").fetch_one(&pool).await.unwrap();
    assert_eq!((secret, step), (None, None));
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE event = 'staff_totp_reset'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events, 1);
}

async fn moving_the_second_factor_to_another_app_takes_the_password(app: TestApp) {
    add_staff(&app, "agent@exemple.test", Role::Agent).await;
    let (here, elsewhere) = (Browser::new(app.address.clone()), Browser::new(app.address.clone()));
    staff_password_step(&here, "agent@exemple.test", PASSWORD).await;
    let old = enrol_totp(&app, &here).await;
    staff_password_step(&elsewhere, "agent@exemple.test", PASSWORD).await;
    assert_eq!(code_step(&elsewhere, &totp_code(&app, &old, 0)).await.location(), "/staff");
    app.clock.advance(time::Duration::seconds(30));

    // A new secret, confirmed with its code, but without the password: refused, the old app
    // still works and the other session stays.
    let csrf = here.csrf("/").await;
    assert_eq!(here.post("/staff/account/totp/start", &[("csrf", &csrf)]).await.status, 303);
    let page = here.get("/staff/account").await.text();
    assert!(page.contains("name=\"current\""), "the form asks for the password: {page}");
    let secret = page.split("id=\"totp-secret\">").nth(1).and_then(|s| s.split('<').next()).unwrap();
    let new = dossier::crypto::totp::base32_decode(secret).unwrap();
    for password in ["", "not my password"] {
        let res = here
            .post(
                "/staff/account/totp/confirm",
                &[("csrf", &csrf), ("code", &totp_code(&app, &new, 0)), ("current", password)],
            )
            .await;
        assert_eq!(res.status, 400);
        assert!(res.text().contains("current password is not right"), "{}", res.text());
    }
    assert_eq!(elsewhere.get("/staff").await.status, 200);

    let res = here
        .post(
            "/staff/account/totp/confirm",
            &[("csrf", &csrf), ("code", &totp_code(&app, &new, 0)), ("current", PASSWORD)],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert_eq!(here.get("/staff").await.status, 200, "this session stays");
    assert_eq!(elsewhere.get("/staff").await.location(), "/staff/login", "the other one ended");
    let replaced: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE event = 'staff_totp_replaced'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(replaced, 1);

    // Only the new app's codes sign in now.
    app.clock.advance(time::Duration::seconds(30));
    staff_password_step(&elsewhere, "agent@exemple.test", PASSWORD).await;
    assert_eq!(code_step(&elsewhere, &totp_code(&app, &old, 0)).await.status, 401);
    assert_eq!(code_step(&elsewhere, &totp_code(&app, &new, 0)).await.location(), "/staff");
}
on_both_backends!(moving_the_second_factor_to_another_app_takes_the_password);
