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
        ["jeanne.martin@example.fr", "Request received", "Email address verified", "Export built", "Source searched"]
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
