//! The requester's flow, walked as a browser would.

use crate::helpers::{TestApp, hidden};
use crate::on_both_backends;

async fn home_page_offers_every_right_with_a_labelled_form(app: TestApp) {
    let res = app.get("/").await;
    assert_eq!(res.status, 200);
    let html = res.text();
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("name=\"email\"") && html.contains("<label for=\"email\">"));
    for kind in ["access", "portability", "rectification", "erasure", "objection"] {
        assert!(html.contains(&format!("name=\"kind\" value=\"{kind}\"")), "{kind} missing");
    }
    assert!(hidden(&html, "csrf").is_some());
    assert!(!html.contains("<script"), "no inline script");
    assert!(!html.contains("demo-banner"), "the banner is for the demo only");
}

async fn security_headers_are_set_on_every_page(app: TestApp) {
    for path in ["/", "/no-such-page", "/static/style.css", "/check-inbox?h=zz"] {
        let res = app.get(path).await;
        let csp = res.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(res.header("referrer-policy"), Some("no-referrer"), "{path}");
    }
}

async fn language_follows_accept_language_and_the_switcher(app: TestApp) {
    let fr = app.get_with("/", &[("accept-language", "fr-FR,fr;q=0.9,en;q=0.5")]).await.text();
    assert!(fr.contains("<html lang=\"fr\">"));
    assert!(fr.contains("Vos données personnelles, vos droits"));
    // The switcher sets a cookie that wins over the browser's header from then on.
    let en = app.get_with("/?lang=en", &[("accept-language", "fr")]).await.text();
    assert!(en.contains("<html lang=\"en\">"));
    let still_en = app.get_with("/", &[("accept-language", "fr")]).await.text();
    assert!(still_en.contains("Your personal data, your rights"));
}

/// The whole access request: submit, verify by link, collect, download, check the ZIP.
async fn access_request_by_link(app: TestApp) {
    let (inbox, mail) = app.submit_and_read_mail("Jeanne.Martin@example.fr", "access").await;
    assert!(inbox.starts_with("/check-inbox?h="));
    assert!(mail.to.contains("jeanne.martin@example.fr"));
    assert_eq!(mail.code().len(), 6);

    // Opening the link twice (a mail scanner, then the person) consumes nothing.
    assert_eq!(app.get(&mail.link()).await.status, 200);
    let res = app.verify_by_link(&mail).await;
    assert_eq!(res.status, 303, "{}", res.text());
    let status_path = res.location();
    assert!(status_path.starts_with("/requests/DSR-2026-"), "{status_path}");

    let page = app.get(&status_path).await.text();
    assert!(page.contains("Being prepared"), "{page}");
    // Received 10 March 2026 in Paris: due one month later, 10 April 2026, a Friday.
    assert!(page.contains("April 10, 2026"), "{page}");

    // The link is single use.
    assert_eq!(app.get(&mail.link()).await.status, 410);

    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0, "jobs left in the queue");
    let page = app.get(&status_path).await.text();
    assert!(page.contains("Ready to download"), "{page}");
    assert!(page.contains("Searched"));
    let ready = app.email_with_subject("jeanne.martin@example.fr", "Your data is ready");
    assert!(ready.text.contains(&status_path), "the email links to the request: {}", ready.text);

    let zip = app.get(&format!("{status_path}/export")).await;
    assert_eq!(zip.status, 200);
    assert_eq!(zip.header("content-type"), Some("application/zip"));
    let archive = crate::export::open_zip(&zip.body);
    crate::export::assert_manifest_checksums(&archive);
    let contacts = crate::export::json_records(&archive, "crm", "contacts");
    assert!(!contacts.is_empty());
    for c in &contacts {
        let matches = ["email", "email_alt"]
            .iter()
            .any(|col| c[*col].as_str().is_some_and(|e| e.trim().eq_ignore_ascii_case("jeanne.martin@example.fr")));
        assert!(matches, "another person's row: {c}");
    }
    // Exactly Jeanne's records, collection by collection (the demo CRM is generated from a fixed
    // seed: two contact rows match her address, one through `email_alt`).
    let manifest: serde_json::Value =
        serde_json::from_str(&crate::export::file_text(&archive, "manifest.json")).unwrap();
    let mut counts = Vec::new();
    for source in manifest["sources"].as_array().unwrap() {
        for c in source["collections"].as_array().unwrap() {
            let (name, n) = (c["name"].as_str().unwrap(), c["records"].as_u64().unwrap());
            let rows = crate::export::json_records(&archive, source["name"].as_str().unwrap(), name);
            assert_eq!(rows.len() as u64, n, "{name}: the JSON file holds what the manifest says");
            counts.push((name.to_owned(), n));
        }
    }
    let expected = [
        ("contacts", 2),
        ("companies", 1),
        ("orders", 4),
        ("order_lines", 7),
        ("interactions", 4),
        ("messages", 4),
        ("quote_requests", 2),
        ("subscribers", 1),
        ("campaign_events", 5),
        ("members", 2),
        ("points", 5),
    ];
    assert_eq!(counts, expected.map(|(n, c)| (n.to_owned(), c)).to_vec());
    // The polymorphic reference: the brasserie's message (company 2, the id of her old contact)
    // is not hers; the message she wrote on her own contact is reached by two paths and given once.
    let messages = crate::export::json_records(&archive, "crm", "messages");
    let bodies: Vec<&str> = messages.iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert!(!bodies.iter().any(|b| b.contains("Wholesale contract")), "{bodies:?}");
    assert_eq!(bodies.iter().filter(|b| b.contains("send me the invoice")).count(), 1, "{bodies:?}");
    let all = crate::export::all_text(&archive);
    assert!(
        !all.contains("jeanne.martin@example.com") && !all.contains("jeanne.martin2@example.fr"),
        "near-duplicate leaked"
    );
}
on_both_backends!(access_request_by_link);

async fn verification_by_code(app: TestApp) {
    let (inbox, mail) = app.submit_and_read_mail("oliver.smith@example.co.uk", "portability").await;
    let handle = inbox.split("h=").nth(1).unwrap().to_owned();
    let csrf = app.csrf(&inbox).await;
    let wrong = if mail.code() == "000000" { "111111" } else { "000000" };
    let res = app.post("/verify/code", &[("h", &handle), ("code", wrong), ("csrf", &csrf)]).await;
    assert_eq!(res.status, 422);
    assert!(res.text().contains("This code is not the right one"), "{}", res.text());
    let res =
        app.post("/verify/code", &[("h", &handle), ("code", &format!(" {} ", mail.code())), ("csrf", &csrf)]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    let page = app.get(&res.location()).await.text();
    assert!(page.contains("Copy of your data to take elsewhere"), "{page}");
}
on_both_backends!(verification_by_code);

async fn five_wrong_codes_lock_the_verification(app: TestApp) {
    let (inbox, mail) = app.submit_and_read_mail("jeanne.martin@example.fr", "access").await;
    let handle = inbox.split("h=").nth(1).unwrap().to_owned();
    let csrf = app.csrf(&inbox).await;
    let wrong = if mail.code() == "123456" { "654321" } else { "123456" };
    for _ in 0..5 {
        assert_eq!(app.post("/verify/code", &[("h", &handle), ("code", wrong), ("csrf", &csrf)]).await.status, 422);
    }
    let res = app.post("/verify/code", &[("h", &handle), ("code", &mail.code()), ("csrf", &csrf)]).await;
    assert_eq!(res.status, 422, "the right code after the lock must fail");
    assert!(res.text().contains("Too many wrong codes"));
    // The link is locked too.
    assert_eq!(app.get(&mail.link()).await.status, 410);
}

async fn codes_and_links_expire_after_thirty_minutes(app: TestApp) {
    let (inbox, mail) = app.submit_and_read_mail("jeanne.martin@example.fr", "access").await;
    app.clock.advance(time::Duration::minutes(31));
    let handle = inbox.split("h=").nth(1).unwrap().to_owned();
    let csrf = app.csrf(&inbox).await;
    let res = app.post("/verify/code", &[("h", &handle), ("code", &mail.code()), ("csrf", &csrf)]).await;
    assert!(res.text().contains("has expired"), "{}", res.text());
    let page = app.get(&mail.link()).await;
    assert_eq!(page.status, 410);
    // Asking for a new email gives a working code.
    let res = app.post("/verify/resend", &[("h", &handle), ("csrf", &csrf)]).await;
    assert_eq!(res.status, 303);
    app.run_pending_jobs().await;
    let fresh = app.last_email_to("jeanne.martin@example.fr");
    assert_ne!(fresh.code(), "");
    let res = app.post("/verify/code", &[("h", &handle), ("code", &fresh.code()), ("csrf", &csrf)]).await;
    assert_eq!(res.status, 303, "{}", res.text());
}

async fn known_and_unknown_addresses_look_the_same_and_both_get_an_answer(app: TestApp) {
    let rows = || async {
        let mut counts = Vec::new();
        for table in ["requests", "verifications", "emails", "jobs", "audit_events"] {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(app.app.store.pool())
                .await
                .unwrap();
            counts.push(n);
        }
        counts
    };
    let before = rows().await;
    let known = app.submit_request("jeanne.martin@example.fr", "access").await;
    let after_known = rows().await;
    let unknown = app.submit_request("nobody.at.all@example.org", "access").await;
    let after_unknown = rows().await;
    let delta = |a: &[i64], b: &[i64]| a.iter().zip(b).map(|(x, y)| y - x).collect::<Vec<_>>();
    assert_eq!(delta(&before, &after_known), delta(&after_known, &after_unknown), "the same writes for both");
    assert_eq!(known.status, unknown.status);
    let strip = |s: String| s.split("h=").next().unwrap().to_owned();
    assert_eq!(strip(known.location()), strip(unknown.location()));
    let page_known = app.get(&known.location()).await.text();
    let page_unknown = app.get(&unknown.location()).await.text();
    let without_handle = |s: &str| s.lines().filter(|l| !l.contains("name=\"h\"")).collect::<Vec<_>>().join("\n");
    assert_eq!(without_handle(&page_known), without_handle(&page_unknown));

    app.run_pending_jobs().await;
    let mail = app.last_email_to("nobody.at.all@example.org");
    let res = app.verify_by_link(&mail).await;
    let status = res.location();
    app.run_pending_jobs().await;
    let zip = app.get(&format!("{status}/export")).await;
    assert_eq!(zip.status, 200);
    let archive = crate::export::open_zip(&zip.body);
    crate::export::assert_manifest_checksums(&archive);
    let index = crate::export::file_text(&archive, "index.html");
    assert!(index.contains("No personal data"), "the no-data answer must say so");
    assert!(index.contains("CNIL"), "Art. 15(1)(f): the complaint authority");
}

async fn someone_elses_export_cannot_be_downloaded(app: TestApp) {
    let (_, mail) = app.submit_and_read_mail("jeanne.martin@example.fr", "access").await;
    let status = app.verify_by_link(&mail).await.location();
    app.run_pending_jobs().await;
    assert_eq!(app.get(&format!("{status}/export")).await.status, 200);

    // Another person, verified for their own address, tries Jeanne's reference.
    app.forget_cookies();
    let (_, other) = app.submit_and_read_mail("oliver.smith@example.co.uk", "access").await;
    app.verify_by_link(&other).await;
    let res = app.get(&format!("{status}/export")).await;
    assert_eq!(res.status, 303, "redirected to the sign-in page, not the file");
    let page = app.get(&status).await.text();
    assert!(page.contains("Show that it is you"), "{page}");
    assert!(!page.contains("Download my data"));

    // Without any session: the same.
    app.forget_cookies();
    assert_eq!(app.get(&format!("{status}/export")).await.status, 303);
}

async fn coming_back_later_means_a_fresh_email_link(app: TestApp) {
    let status = app.request_awaiting_review("jeanne.martin@example.fr", "erasure").await;
    let page = app.get(&status).await.text();
    assert!(page.contains("Being reviewed by our team"), "{page}");
    app.forget_cookies();
    let csrf = app.csrf(&status).await;
    let res = app.post(&format!("{status}/signin"), &[("csrf", &csrf), ("email", "jeanne.martin@example.fr")]).await;
    assert_eq!(res.status, 303);
    app.run_pending_jobs().await;
    let signin = app.email_with_subject("jeanne.martin@example.fr", "see request");
    assert!(signin.subject.contains("see request"), "{}", signin.subject);
    let res = app.verify_by_link(&signin).await;
    assert_eq!(res.location(), status);
    assert!(app.get(&status).await.text().contains("Erasure of your data"));
}

async fn french_requesters_get_french_emails_and_pages(app: TestApp) {
    let csrf = app.csrf("/?lang=fr").await;
    let res =
        app.post("/requests", &[("email", "jeanne.martin@example.fr"), ("kind", "access"), ("csrf", &csrf)]).await;
    assert_eq!(res.status, 303);
    app.run_pending_jobs().await;
    let mail = app.last_email_to("jeanne.martin@example.fr");
    assert!(mail.subject.starts_with("Confirmez votre demande"), "{}", mail.subject);
    assert!(mail.text.contains("Votre code\u{a0}:"), "French typography: {}", mail.text);
    let status = app.verify_by_link(&mail).await.location();
    let page = app.get(&status).await.text();
    assert!(page.contains("10 avril 2026"), "{page}");
}

async fn a_failing_source_is_retried_then_needs_attention_while_others_are_kept(app: TestApp) {
    let (_, mail) = app.submit_and_read_mail("jeanne.martin@example.fr", "access").await;
    let status = app.verify_by_link(&mail).await.location();
    app.run_pending_jobs().await;
    // Retries are scheduled with backoff: drive the clock through them.
    for _ in 0..10 {
        app.clock.advance(time::Duration::hours(7));
        app.run_pending_jobs().await;
    }
    assert_eq!(app.unfinished_jobs().await, 0);
    // Days have passed: the session is long gone, so the person signs in again.
    app.sign_in(&status, "jeanne.martin@example.fr").await;
    let page = app.get(&status).await.text();
    let main = page.split("<main").nth(1).unwrap_or_default();
    assert!(page.contains("Delayed"), "{main}");
    assert!(page.contains("Problem: our team has been told"));
    assert!(page.contains("Searched"), "the working sources' results are kept");
    assert!(!page.contains("Download my data"), "never a silent partial answer");
}

on_both_backends!(home_page_offers_every_right_with_a_labelled_form);
on_both_backends!(security_headers_are_set_on_every_page);
on_both_backends!(language_follows_accept_language_and_the_switcher);
on_both_backends!(five_wrong_codes_lock_the_verification);
on_both_backends!(codes_and_links_expire_after_thirty_minutes);
on_both_backends!(known_and_unknown_addresses_look_the_same_and_both_get_an_answer);
on_both_backends!(someone_elses_export_cannot_be_downloaded);
on_both_backends!(coming_back_later_means_a_fresh_email_link);
on_both_backends!(french_requesters_get_french_emails_and_pages);
on_both_backends!(
    a_failing_source_is_retried_then_needs_attention_while_others_are_kept,
    crate::helpers::Options { broken_source: true, ..Default::default() }
);

async fn exports_are_deleted_when_they_expire(app: TestApp) {
    let (_, mail) = app.submit_and_read_mail("jeanne.martin@example.fr", "access").await;
    let status = app.verify_by_link(&mail).await.location();
    app.run_pending_jobs().await;
    let page = app.get(&status).await.text();
    assert!(page.contains("March 24, 2026"), "14 days from 10 March: {page}");
    let files = || std::fs::read_dir(app.data_dir().join("exports")).unwrap().count();
    assert_eq!(files(), 1);

    app.clock.advance(time::Duration::days(15));
    let purged = dossier::jobs::housekeeping::run(&app.app).await.unwrap();
    assert_eq!(purged.exports, 1);
    assert_eq!(files(), 0, "the file is gone");
    app.sign_in(&status, "jeanne.martin@example.fr").await;
    let page = app.get(&status).await.text();
    assert!(page.contains("Your file has been deleted"), "{page}");
    assert_eq!(app.get(&format!("{status}/export")).await.status, 303);
}
on_both_backends!(exports_are_deleted_when_they_expire);

async fn unverified_requests_expire_and_forget_the_address(app: TestApp) {
    app.submit_and_read_mail("someone@example.org", "access").await;
    app.clock.advance(time::Duration::days(8));
    let purged = dossier::jobs::housekeeping::run(&app.app).await.unwrap();
    assert_eq!(purged.unverified, 1);
    let (status, email): (String, Option<String>) =
        sqlx::query_as("SELECT status, email FROM requests").fetch_one(app.app.store.pool()).await.unwrap();
    assert_eq!((status.as_str(), email), ("expired", None));
}
on_both_backends!(unverified_requests_expire_and_forget_the_address);

async fn verification_emails_are_rate_limited_per_address_and_the_page_says_so(app: TestApp) {
    for i in 0..7 {
        let res = app.submit_request("jeanne.martin@example.fr", "access").await;
        if i < 5 {
            assert_eq!(res.status, 303, "{}", res.text());
        } else {
            // Issue 16: never "check your inbox" when nothing was sent.
            assert_eq!(res.status, 429, "{}", res.text());
            assert!(res.text().contains("We did not send an email"), "{}", res.text());
        }
    }
    app.run_pending_jobs().await;
    let sent = app.emails().iter().filter(|m| m.to.contains("jeanne.martin@example.fr")).count();
    assert_eq!(sent, 5, "emails_per_address_per_hour");
    app.clock.advance(time::Duration::hours(1));
    app.submit_request("jeanne.martin@example.fr", "access").await;
    app.run_pending_jobs().await;
    assert_eq!(app.emails().iter().filter(|m| m.to.contains("jeanne.martin@example.fr")).count(), 6);
}
on_both_backends!(verification_emails_are_rate_limited_per_address_and_the_page_says_so);

async fn cookies_are_http_only_and_same_site(app: TestApp) {
    let res = app.get("/").await;
    let cookie = res.header("set-cookie").expect("a CSRF cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let (_, mail) = app.submit_and_read_mail("jeanne.martin@example.fr", "access").await;
    let res = app.verify_by_link(&mail).await;
    let session = res.header("set-cookie").expect("a session cookie");
    assert!(session.starts_with("dossier_session=") && session.contains("HttpOnly"), "{session}");
}
on_both_backends!(cookies_are_http_only_and_same_site);

async fn the_demo_shows_its_banner_and_mailbox(app: TestApp) {
    let home = app.get("/").await.text();
    assert!(home.contains("demo-banner") && home.contains("/dev/outbox"));
    app.submit_and_read_mail("jeanne.martin@example.fr", "access").await;
    let outbox = app.get("/dev/outbox").await.text();
    assert!(outbox.contains("Confirm your request about your personal data"), "{outbox}");
    let message_path = outbox.split("href=\"/dev/outbox/").nth(1).unwrap().split('"').next().unwrap();
    let message = app.get(&format!("/dev/outbox/{message_path}")).await.text();
    assert!(message.contains("<a href=\"http://127.0.0.1:"), "the link is clickable: {message}");
}
on_both_backends!(the_demo_shows_its_banner_and_mailbox, crate::helpers::Options { demo: true, ..Default::default() });

async fn the_demo_mailbox_does_not_exist_outside_the_demo(app: TestApp) {
    app.submit_and_read_mail("jeanne.martin@example.fr", "access").await;
    assert_eq!(app.get("/dev/outbox").await.status, 404);
}
on_both_backends!(the_demo_mailbox_does_not_exist_outside_the_demo);

async fn a_double_click_on_confirm_never_fails(app: TestApp) {
    let (_, mail) = app.submit_and_read_mail("jeanne.martin@example.fr", "access").await;
    let link = mail.link();
    let csrf = crate::helpers::hidden(&app.get(&link).await.text(), "csrf").unwrap();
    let form = [("csrf", csrf.as_str())];
    let (a, b) = futures_util::future::join(app.post(&link, &form), app.post(&link, &form)).await;
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [303, 303], "both clicks land on the request: {}", b.text());
    assert!(a.location().starts_with("/requests/DSR-") && a.location() == b.location());
}
on_both_backends!(a_double_click_on_confirm_never_fails);

async fn parallel_code_guesses_cannot_exceed_the_limit(app: TestApp) {
    let (inbox, mail) = app.submit_and_read_mail("jeanne.martin@example.fr", "access").await;
    let handle = inbox.split("h=").nth(1).unwrap().to_owned();
    let csrf = app.csrf(&inbox).await;
    let wrong: Vec<String> = (0..12).map(|i| format!("{:06}", i)).filter(|c| *c != mail.code()).take(10).collect();
    let forms: Vec<[(&str, &str); 3]> =
        wrong.iter().map(|c| [("h", handle.as_str()), ("code", c.as_str()), ("csrf", csrf.as_str())]).collect();
    let guesses = forms.iter().map(|form| app.post("/verify/code", form));
    for res in futures_util::future::join_all(guesses).await {
        assert_eq!(res.status, 422, "a guess is refused, never a 500: {}", res.text());
    }
    let attempts: i32 =
        sqlx::query_scalar("SELECT code_attempts FROM verifications").fetch_one(app.app.store.pool()).await.unwrap();
    assert_eq!(attempts, 5, "no more codes compared than allowed");
    let res = app.post("/verify/code", &[("h", &handle), ("code", &mail.code()), ("csrf", &csrf)]).await;
    assert!(res.text().contains("Too many wrong codes"), "{}", res.text());
}
on_both_backends!(parallel_code_guesses_cannot_exceed_the_limit);

async fn codes_for_one_address_from_one_network_are_limited_per_day_but_the_link_still_works(app: TestApp) {
    let (inbox, _) = app.submit_and_read_mail("jeanne.martin@example.fr", "access").await;
    let handle = inbox.split("h=").nth(1).unwrap().to_owned();
    let csrf = app.csrf(&inbox).await;
    // Two emails' worth of wrong codes: 5 + 5 attempts, the address's budget for the day.
    for round in 0..2 {
        if round > 0 {
            app.post("/verify/resend", &[("h", &handle), ("csrf", &csrf)]).await;
            app.run_pending_jobs().await;
        }
        let code = app.last_email_to("jeanne.martin@example.fr").code();
        let wrong = if code == "999999" { "999998" } else { "999999" };
        for _ in 0..5 {
            app.post("/verify/code", &[("h", &handle), ("code", wrong), ("csrf", &csrf)]).await;
        }
    }
    app.post("/verify/resend", &[("h", &handle), ("csrf", &csrf)]).await;
    app.run_pending_jobs().await;
    let fresh = app.last_email_to("jeanne.martin@example.fr");
    let res = app.post("/verify/code", &[("h", &handle), ("code", &fresh.code()), ("csrf", &csrf)]).await;
    assert!(res.text().contains("from your connection today"), "even the right code waits a day: {}", res.text());
    let res = app.verify_by_link(&fresh).await;
    assert_eq!(res.status, 303, "the 256-bit link is not a guessable secret and still works");
}
on_both_backends!(codes_for_one_address_from_one_network_are_limited_per_day_but_the_link_still_works);

async fn a_code_for_a_page_that_does_not_exist_reads_like_a_wrong_code(app: TestApp) {
    let csrf = app.csrf("/").await;
    let res = app
        .post("/verify/code", &[("h", "0123456789abcdef0123456789abcdef"), ("code", "123456"), ("csrf", &csrf)])
        .await;
    assert_eq!(res.status, 422);
    assert!(res.text().contains("This code is not the right one"));
}
on_both_backends!(a_code_for_a_page_that_does_not_exist_reads_like_a_wrong_code);

async fn links_on_error_pages_stay_on_this_site(app: TestApp) {
    let res = app.get("//evil.example").await;
    assert_eq!(res.status, 404);
    let html = res.text();
    assert!(!html.contains("href=\"//evil.example"), "{html}");
    assert!(html.contains("href=\"?lang=fr\""));
}
on_both_backends!(links_on_error_pages_stay_on_this_site);

async fn a_person_chooses_the_law_when_several_are_offered(app: TestApp) {
    let home = app.get("/").await.text();
    assert!(home.contains("name=\"jurisdiction\"") && home.contains("California — CCPA"), "{home}");
    let csrf = app.csrf("/").await;
    let form = [("email", "jeanne.martin@example.fr"), ("kind", "access"), ("jurisdiction", "ccpa"), ("csrf", &csrf)];
    let res = app.post("/requests", &form).await;
    assert_eq!(res.status, 303);
    app.run_pending_jobs().await;
    let status = app.verify_by_link(&app.last_email_to("jeanne.martin@example.fr")).await.location();
    // Received 10 March 2026 at 02:00 in Los Angeles, + 45 calendar days, no working-day roll.
    let page = app.get(&status).await.text();
    assert!(page.contains("April 24, 2026") && page.contains("45 day(s) left"), "{page}");
    let form = [("email", "jeanne.martin@example.fr"), ("kind", "access"), ("jurisdiction", "pipeda"), ("csrf", &csrf)];
    let bad = app.post("/requests", &form).await;
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("Choose one of the laws offered"));
}
on_both_backends!(
    a_person_chooses_the_law_when_several_are_offered,
    crate::helpers::Options {
        policies: Some(vec![dossier::deadlines::Policy::EuGdpr, dossier::deadlines::Policy::Ccpa]),
        ..Default::default()
    }
);

async fn one_law_means_no_question(app: TestApp) {
    assert!(!app.get("/").await.text().contains("name=\"jurisdiction\""));
}
on_both_backends!(one_law_means_no_question);
