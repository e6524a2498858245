//! Bad input gets a clear message in the person's language, changes nothing, and never a 500.

use crate::helpers::TestApp;
use crate::on_both_backends;

async fn count_requests(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM requests").fetch_one(app.app.store.pool()).await.unwrap()
}

async fn malformed_or_missing_fields_are_explained_and_change_nothing(app: TestApp) {
    let csrf = app.csrf("/").await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("email", "not-an-email"), ("kind", "access")], "Enter an email address in the form name@example.com."),
        (&[("email", ""), ("kind", "access")], "Enter your email address."),
        (&[("kind", "access")], "Enter your email address."),
        (&[("email", "a@example.com"), ("kind", "delete-everything")], "Choose one of the options below."),
        (&[("email", "a@example.com")], "Choose what you would like to do."),
        (&[("email", "<script>alert(1)</script>@x.com"), ("kind", "access")], "Enter an email address"),
    ];
    for (fields, message) in cases {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf", &csrf));
        let res = app.post("/requests", &form).await;
        assert_eq!(res.status, 400, "{fields:?}");
        let html = res.text();
        assert!(html.contains(message), "{fields:?}: {html}");
        assert!(!html.contains("<script>alert(1)</script>"), "input is escaped");
    }
    assert_eq!(count_requests(&app).await, 0);
}

async fn errors_speak_french_to_french_browsers(app: TestApp) {
    let fr = [("accept-language", "fr")];
    let csrf = app.csrf("/").await;
    let res =
        app.post_with("/requests", &[("email", "pas-une-adresse"), ("kind", "access"), ("csrf", &csrf)], &fr).await;
    assert_eq!(res.status, 400);
    assert!(res.text().contains("Saisissez une adresse e-mail de la forme nom@exemple.fr."));
    let res = app.get_with("/nulle-part", &fr).await;
    assert_eq!(res.status, 404);
    assert!(res.text().contains("Page introuvable"));
}

async fn a_form_without_its_csrf_token_or_from_another_site_is_refused(app: TestApp) {
    let res = app.post("/requests", &[("email", "a@example.com"), ("kind", "access")]).await;
    assert_eq!(res.status, 403);
    assert!(res.text().contains("This form has expired"));
    let csrf = app.csrf("/").await;
    let res = app
        .post_with(
            "/requests",
            &[("email", "a@example.com"), ("kind", "access"), ("csrf", &csrf)],
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(res.status, 403);
    let cross = [("sec-fetch-site", "cross-site"), ("origin", "null")];
    let form = [("email", "a@example.com"), ("kind", "access"), ("csrf", csrf.as_str())];
    assert_eq!(app.post_with("/requests", &form, &cross).await.status, 403, "Fetch Metadata says another site sent it");
    assert_eq!(count_requests(&app).await, 0);
}

async fn oversized_bodies_are_refused_clearly(app: TestApp) {
    let csrf = app.csrf("/").await;
    let big = "a".repeat(dossier::web::FORM_LIMIT + 1024);
    let res = app.post("/requests", &[("email", &big), ("kind", "access"), ("csrf", &csrf)]).await;
    assert_eq!(res.status, 413);
    assert!(res.text().contains("too large"));
    assert_eq!(count_requests(&app).await, 0);
}

async fn bad_links_codes_and_references_never_give_a_500(app: TestApp) {
    for path in [
        "/verify/not-a-token",
        "/verify/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/check-inbox?h=zz",
        "/check-inbox",
        "/requests/DSR-2026-999999",
        "/requests/../../etc/passwd",
        "/requests/DSR-2026-999999/export",
        "/static/../Cargo.toml",
        "/dev/outbox",
    ] {
        let res = app.get(path).await;
        assert!(res.status < 500, "{path}: {}", res.status);
        assert!(res.header("content-type").unwrap_or("").starts_with("text/html") || res.status == 303, "{path}");
    }
    let csrf = app.csrf("/").await;
    for (path, form) in [
        ("/verify/code", vec![("h", "0123456789abcdef0123456789abcdef"), ("code", "123456")]),
        ("/verify/code", vec![("h", "x"), ("code", "abc")]),
        ("/verify/resend", vec![("h", "0123456789abcdef0123456789abcdef")]),
        ("/requests/DSR-2026-000001/signin", vec![]),
    ] {
        let mut form = form;
        form.push(("csrf", &csrf));
        let res = app.post(path, &form).await;
        assert!(res.status < 500, "{path}: {} {}", res.status, res.text());
    }
}

on_both_backends!(malformed_or_missing_fields_are_explained_and_change_nothing);
on_both_backends!(errors_speak_french_to_french_browsers);
on_both_backends!(a_form_without_its_csrf_token_or_from_another_site_is_refused);
on_both_backends!(oversized_bodies_are_refused_clearly);

/// Under `Referrer-Policy: no-referrer` browsers send `Origin: null` with our own forms; their
/// `Sec-Fetch-Site: same-origin` is what proves the form is ours.
async fn our_own_forms_are_accepted_from_real_browsers(app: TestApp) {
    let csrf = app.csrf("/").await;
    let browser = [("sec-fetch-site", "same-origin"), ("origin", "null")];
    let res =
        app.post_with("/requests", &[("email", "a@example.com"), ("kind", "access"), ("csrf", &csrf)], &browser).await;
    assert_eq!(res.status, 303, "{}", res.text());
}
on_both_backends!(our_own_forms_are_accepted_from_real_browsers);
on_both_backends!(bad_links_codes_and_references_never_give_a_500);
