//! Issue 16, items 2 and 4, on the real server: the sign-in form is no handle oracle, and nobody
//! can spend a person's email and code budgets. Forwarded addresses go through
//! `security.trusted_proxies` (the test's connections come from 127.0.0.1, trusted here).

use crate::helpers::{Browser, Response, TestApp};
use crate::on_both_backends;

const PERSON: &str = "jeanne.martin@example.fr";
const STRANGER: &str = "mallory@example.org";

/// The handle in a "check your inbox" address (`/check-inbox?h=…[&…]`).
fn handle_of(location: &str) -> String {
    let h = location.split("h=").nth(1).expect("a handle in the address");
    h.split('&').next().unwrap().to_owned()
}

/// A page with every occurrence of `handle` replaced, so two pages can be compared but for it.
fn without(page: &str, handle: &str) -> String {
    page.replace(handle, "HANDLE")
}

/// Rows in the tables a submission, a code or a resend writes to.
async fn rows(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for table in ["inbox_handles", "emails", "jobs", "audit_events"] {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(app.app.store.pool())
            .await
            .unwrap();
        counts.push((table, n));
    }
    counts
}

fn delta(before: &[(&'static str, i64)], after: &[(&'static str, i64)]) -> Vec<(&'static str, i64)> {
    before.iter().zip(after).map(|((t, a), (_, b))| (*t, b - a)).collect()
}

/// The sum of `code_attempts` on the page rows: how many codes were counted.
async fn attempts_counted(app: &TestApp) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT CAST(COALESCE(SUM(code_attempts), 0) AS BIGINT) FROM inbox_handles")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap()
}

async fn signin(browser: &Browser, status: &str, email: &str) -> Response {
    let csrf = browser.csrf(status).await;
    browser.post(&format!("{status}/signin"), &[("csrf", &csrf), ("email", email)]).await
}

async fn type_code(browser: &Browser, handle: &str, code: &str) -> Response {
    let csrf = browser.csrf("/").await;
    browser.post("/verify/code", &[("h", handle), ("code", code), ("csrf", &csrf)]).await
}

async fn resend(browser: &Browser, handle: &str) -> Response {
    let csrf = browser.csrf("/").await;
    browser.post("/verify/resend", &[("h", handle), ("csrf", &csrf)]).await
}

/// A 6-digit code that none of the emails sent so far carries.
fn a_wrong_code(app: &TestApp) -> String {
    let codes: Vec<String> = app.emails().iter().filter(|m| m.text.contains("Your code:")).map(|m| m.code()).collect();
    (0..1000).map(|i| format!("{:06}", 123_000 + i)).find(|c| !codes.contains(c)).unwrap()
}

async fn the_sign_in_form_is_no_handle_oracle(app: TestApp) {
    let status = app.verified_request(PERSON, "access").await;
    app.run_pending_jobs().await;
    let reference = status.rsplit('/').next().unwrap().to_owned();
    app.forget_cookies();
    let browser = &app.browser;

    // The matching pair, and two that match nothing: another address, a reference nobody has.
    let matching = (status.clone(), PERSON);
    let other_address = (status.clone(), STRANGER);
    let no_such_reference = ("/requests/DSR-2026-999999".to_owned(), PERSON);
    let mut handles = Vec::new();
    let mut answers = Vec::new();
    let mut writes = Vec::new();
    for (path, email) in [&matching, &other_address, &no_such_reference, &matching, &other_address] {
        let before = rows(&app).await;
        let res = signin(browser, path, email).await;
        writes.push(delta(&before, &rows(&app).await));
        assert_eq!(res.status, 303, "{}", res.text());
        let handle = handle_of(&res.location());
        let page = browser.get(&res.location()).await;
        answers.push((res.status, without(&res.location(), &handle), page.status, without(&page.text(), &handle)));
        handles.push(handle);
    }
    let mut distinct = handles.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), handles.len(), "a fresh handle for every submission: {handles:?}");
    let stored_request_id: String = sqlx::query_scalar("SELECT id FROM requests WHERE reference = $1")
        .bind(&reference)
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert!(!handles.contains(&stored_request_id), "the handle is not the request's id");
    for (i, answer) in answers.iter().enumerate().skip(1) {
        assert_eq!(answer, &answers[0], "submission {i} answers as the matching pair does, but for the handle");
    }
    for (i, w) in writes.iter().enumerate().skip(1) {
        assert_eq!(w, &writes[0], "submission {i} writes as the matching pair does");
    }

    // Wrong codes: the same answers and writes on a matching and a non-matching page, up to the
    // lock, which falls after the same number of codes.
    let (mine, theirs) = (handles[0].clone(), handles[1].clone());
    let wrong = a_wrong_code(&app);
    for attempt in 0..6 {
        let mut seen = Vec::new();
        for handle in [&mine, &theirs] {
            let before = rows(&app).await;
            let res = type_code(browser, handle, &wrong).await;
            seen.push((res.status, without(&res.text(), handle), delta(&before, &rows(&app).await)));
        }
        assert_eq!(seen[0], seen[1], "wrong code {attempt}: the same answer and writes");
        let expected = if attempt < 5 { "This code is not the right one" } else { "Too many wrong codes" };
        assert!(seen[0].1.contains(expected), "attempt {attempt}: {}", seen[0].1);
    }

    // Resend: the same answer and writes; "sent again" because an email was queued for both.
    app.run_pending_jobs().await;
    let mut seen = Vec::new();
    for handle in [&mine, &theirs] {
        let before = rows(&app).await;
        let res = resend(browser, handle).await;
        assert_eq!(res.status, 303, "{}", res.text());
        let page = browser.get(&res.location()).await;
        seen.push((without(&res.location(), handle), without(&page.text(), handle), delta(&before, &rows(&app).await)));
    }
    assert_eq!(seen[0], seen[1], "resend answers and writes the same");
    assert!(seen[0].1.contains("We have sent a new email"), "{}", seen[0].1);
    app.run_pending_jobs().await;

    // The stranger's address was told nothing about the request, and got no code.
    let told = app.email_with_subject(STRANGER, "About request");
    assert!(told.text.contains(&reference) && told.text.contains("No request with this reference"), "{}", told.text);
    assert!(!told.text.contains("/verify/"), "no link: {}", told.text);

    // The person still gets their email (the newest, after the resend) and signs in with its code.
    let code = app.email_with_subject(PERSON, "see request").code();
    let before = attempts_counted(&app).await;
    let res = type_code(browser, &mine, &code).await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert_eq!(res.location(), status);
    assert_eq!(attempts_counted(&app).await, before + 1, "the right code is counted too");
    let page = browser.get(&status).await.text();
    assert!(page.contains(&reference) && !page.contains("Show that it is you"), "{page}");
    // The same code on the other page opens nothing.
    let res = type_code(browser, &theirs, &code).await;
    assert_eq!(res.status, 422, "{}", res.text());
}
on_both_backends!(the_sign_in_form_is_no_handle_oracle);

/// Every form of the home page gets a fresh handle too, known address or not.
async fn the_request_form_gives_a_fresh_handle_each_time(app: TestApp) {
    let mut handles = Vec::new();
    for email in [PERSON, PERSON, "nobody.at.all@example.org", "nobody.at.all@example.org"] {
        let res = app.submit_request(email, "access").await;
        assert_eq!(res.status, 303, "{}", res.text());
        handles.push(handle_of(&res.location()));
    }
    let mut distinct = handles.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "{handles:?}");
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM requests").fetch_all(app.app.store.pool()).await.unwrap();
    assert!(handles.iter().all(|h| !ids.contains(h)), "no handle is a request's id");
}
on_both_backends!(the_request_form_gives_a_fresh_handle_each_time);

/// A browser behind the trusted proxy, as the client at `ip`.
struct Client {
    browser: Browser,
    ip: &'static str,
}

impl Client {
    fn headers(&self) -> [(&'static str, &'static str); 1] {
        [("x-forwarded-for", self.ip)]
    }

    async fn submit(&self, email: &str) -> Response {
        let csrf = self.browser.csrf("/").await;
        self.browser
            .post_with("/requests", &[("email", email), ("kind", "access"), ("csrf", &csrf)], &self.headers())
            .await
    }

    async fn code(&self, handle: &str, code: &str) -> Response {
        let csrf = self.browser.csrf("/").await;
        self.browser.post_with("/verify/code", &[("h", handle), ("code", code), ("csrf", &csrf)], &self.headers()).await
    }

    async fn resend(&self, handle: &str) -> Response {
        let csrf = self.browser.csrf("/").await;
        self.browser.post_with("/verify/resend", &[("h", handle), ("csrf", &csrf)], &self.headers()).await
    }
}

/// The server again, trusting the test's own connections as a proxy; returns a client for `ip`.
async fn behind_proxy(app: &TestApp) -> impl Fn(&'static str) -> Client {
    let (_, browser) = app
        .instance_with(|s| s.security.trusted_proxies = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()])
        .await;
    let address = browser.address.clone();
    move |ip| Client { browser: Browser::new(address.clone()), ip }
}

/// Verification emails sent to `to` ("Confirm your request…").
fn emails_to(app: &TestApp, to: &str) -> usize {
    app.emails().iter().filter(|m| m.to.contains(to) && m.subject.starts_with("Confirm your request")).count()
}

async fn a_stranger_cannot_spend_the_persons_budgets(app: TestApp) {
    let client = behind_proxy(&app).await;
    // Network A (198.51.100.0/24): five submissions for the person's address, then ten wrong codes
    // on those pages.
    let attacker = client("198.51.100.7");
    let mut pages = Vec::new();
    for _ in 0..5 {
        let res = attacker.submit(PERSON).await;
        assert_eq!(res.status, 303, "{}", res.text());
        pages.push(handle_of(&res.location()));
    }
    app.run_pending_jobs().await;
    assert_eq!(emails_to(&app, PERSON), 5);
    // Another address on the same /24 shares the network's budget: nothing sent, and said so.
    let neighbour = client("198.51.100.200");
    let res = neighbour.submit(PERSON).await;
    assert_eq!(res.status, 429, "{}", res.text());
    assert!(res.text().contains("We did not send an email"), "{}", res.text());
    let wrong = a_wrong_code(&app);
    for handle in &pages[..2] {
        for _ in 0..5 {
            let res = attacker.code(handle, &wrong).await;
            assert_eq!(res.status, 422);
            assert!(res.text().contains("This code is not the right one"), "{}", res.text());
        }
    }
    let res = attacker.code(&pages[2], &wrong).await;
    assert!(res.text().contains("from your connection today"), "network A has typed its day's codes: {}", res.text());
    // "Sent again" only when an email was queued: network A's budget for the address is spent.
    let res = attacker.resend(&pages[2]).await;
    assert_eq!(res.status, 303);
    assert!(res.location().contains("resent=limited"), "{}", res.location());
    let page = attacker.browser.get(&res.location()).await.text();
    assert!(page.contains("We did not send another email") && !page.contains("We have sent a new email"), "{page}");
    app.run_pending_jobs().await;
    assert_eq!(emails_to(&app, PERSON), 5, "nothing queued");

    // The person, from network B, is untouched: the email goes out, the code works.
    let person = client("203.0.113.45");
    let res = person.submit(PERSON).await;
    assert_eq!(res.status, 303, "{}", res.text());
    let handle = handle_of(&res.location());
    app.run_pending_jobs().await;
    assert_eq!(emails_to(&app, PERSON), 6, "the person's own email was sent");
    // They ask again: really sent, and said so.
    let res = person.resend(&handle).await;
    assert!(res.location().contains("resent=1"), "{}", res.location());
    let page = person.browser.get(&res.location()).await.text();
    assert!(page.contains("We have sent a new email"), "{page}");
    app.run_pending_jobs().await;
    assert_eq!(emails_to(&app, PERSON), 7);
    let code = app.last_email_to(PERSON).code();
    let res = person.code(&handle, &code).await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert!(res.location().starts_with("/requests/DSR-"), "{}", res.location());
    assert_eq!(app.request_status(&res.location()).await, "collecting", "verified, and the work started");
}
on_both_backends!(a_stranger_cannot_spend_the_persons_budgets);

async fn past_the_daily_ceiling_a_new_network_still_gets_its_link(app: TestApp) {
    let client = behind_proxy(&app).await;
    // Four networks, five emails each: the address's 20 for the day.
    for ip in ["198.51.100.1", "198.51.101.1", "198.51.102.1", "2001:db8:1:2::1"] {
        let c = client(ip);
        for _ in 0..5 {
            assert_eq!(c.submit(PERSON).await.status, 303);
        }
    }
    // A fifth network that never asked today: one email, with the link and no code.
    let c = client("2001:db8:1:3::1");
    let res = c.submit(PERSON).await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert!(res.location().ends_with("&link=1"), "{}", res.location());
    let page = c.browser.get(&res.location()).await.text();
    assert!(page.contains("this one contains only the link"), "{page}");
    app.run_pending_jobs().await;
    assert_eq!(emails_to(&app, PERSON), 21);
    let without_code: Vec<_> =
        app.emails().into_iter().filter(|m| m.to.contains(PERSON) && !m.text.contains("Your code:")).collect();
    assert_eq!(without_code.len(), 1, "only the email past the ceiling has no code");
    let mail = without_code[0].clone();
    assert!(mail.text.contains("this one has no code") && mail.text.contains("ignore this email"), "{}", mail.text);
    // No code opens that page; the link does.
    let res = c.code(&handle_of(&res.location()), "123456").await;
    assert_eq!(res.status, 422);
    let res = c.browser.verify_by_link(&mail).await;
    assert_eq!(res.status, 303, "{}", res.text());
    // Review r2, item 2: that site gets one link-only email per half hour (the link's lifetime),
    // four in the day, whatever it asks in between; then is refused, and told.
    for i in 1..4 {
        let res = c.submit(PERSON).await;
        assert_eq!(res.status, 429, "{i}: too soon after the last link: {}", res.text());
        assert!(res.text().contains("We did not send an email"), "{}", res.text());
        app.clock.advance(time::Duration::minutes(30));
        let res = c.submit(PERSON).await;
        assert!(res.location().ends_with("&link=1"), "{i}: {}", res.location());
    }
    app.clock.advance(time::Duration::minutes(30));
    let res = c.submit(PERSON).await;
    assert_eq!(res.status, 429, "four a day: {}", res.text());
    app.run_pending_jobs().await;
    assert_eq!(emails_to(&app, PERSON), 24);
    // Tomorrow the ceiling is new again.
    app.clock.advance(time::Duration::days(1));
    let res = client("198.51.100.1").submit(PERSON).await;
    assert_eq!(res.status, 303);
    assert!(!res.location().contains("link=1"), "{}", res.location());
}
on_both_backends!(past_the_daily_ceiling_a_new_network_still_gets_its_link);

/// A page asks for another email for a day; its row, with the sealed address, goes after two.
async fn check_inbox_pages_are_forgotten(app: TestApp) {
    let res = app.submit_request(PERSON, "access").await;
    let handle = handle_of(&res.location());
    app.run_pending_jobs().await;
    app.clock.advance(time::Duration::hours(25));
    let res = resend(&app.browser, &handle).await;
    assert!(res.location().contains("resent=gone"), "{}", res.location());
    let page = app.get(&res.location()).await.text();
    assert!(page.contains("This page is too old") && !page.contains("We have sent a new email"), "{page}");
    assert_eq!(rows(&app).await[0], ("inbox_handles", 1));
    app.clock.advance(time::Duration::hours(24));
    dossier::jobs::housekeeping::run(&app.app).await.unwrap();
    assert_eq!(rows(&app).await[0], ("inbox_handles", 0), "purged after two days");
}
on_both_backends!(check_inbox_pages_are_forgotten);

/// Review r1, item 6: strangers spending the day's ceiling from elsewhere do not stop the person's
/// own emails: past it, their network still gets link-only emails within its hourly budget.
async fn past_the_ceiling_the_persons_own_network_still_gets_emails(app: TestApp) {
    let client = behind_proxy(&app).await;
    let person = client("203.0.113.45");
    let res = person.submit(PERSON).await;
    assert_eq!(res.status, 303, "{}", res.text());
    // Four other networks, five emails each: the ceiling of 20 is passed.
    for ip in ["198.51.100.1", "198.51.101.1", "198.51.102.1", "198.51.103.1"] {
        let c = client(ip);
        for _ in 0..5 {
            assert_eq!(c.submit(PERSON).await.status, 303);
        }
    }
    app.run_pending_jobs().await;
    assert_eq!(emails_to(&app, PERSON), 21);
    // The person asks again (their first link lasts 30 minutes), twice: each time a link is sent.
    let res = person.submit(PERSON).await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert!(res.location().ends_with("&link=1"), "{}", res.location());
    let handle = handle_of(&res.location());
    app.run_pending_jobs().await;
    assert_eq!(emails_to(&app, PERSON), 22, "sent");
    // Review r2, item 2: one link per half hour past the ceiling, the link's lifetime.
    let res = person.resend(&handle).await;
    assert!(res.location().contains("resent=limited"), "too soon: {}", res.location());
    app.run_pending_jobs().await;
    assert_eq!(emails_to(&app, PERSON), 22, "not sent");
    app.clock.advance(time::Duration::minutes(30));
    let res = person.resend(&handle).await;
    assert!(res.location().contains("resent=1"), "{}", res.location());
    app.run_pending_jobs().await;
    assert_eq!(emails_to(&app, PERSON), 23, "sent again");
    let mail = app.last_email_to(PERSON);
    assert!(!mail.text.contains("Your code:"), "past the ceiling, the link only: {}", mail.text);
    let res = person.browser.verify_by_link(&mail).await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert!(res.location().starts_with("/requests/DSR-"), "{}", res.location());
}
on_both_backends!(past_the_ceiling_the_persons_own_network_still_gets_emails);

/// Review r1, item 7: past the ceiling, link-only emails are counted per IPv6 /48 too, so many
/// /64s of one site get no more than one /64 would.
async fn past_the_ceiling_many_slash_64s_of_one_site_count_once(app: TestApp) {
    let client = behind_proxy(&app).await;
    for ip in ["198.51.100.1", "198.51.101.1", "198.51.102.1", "198.51.103.1"] {
        let c = client(ip);
        for _ in 0..5 {
            assert_eq!(c.submit(PERSON).await.status, 303);
        }
    }
    // Many /64s of one /48: the first gets its link, the others in the same half hour nothing.
    let res = client("2001:db8:5:1::1").submit(PERSON).await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert!(res.location().ends_with("&link=1"), "{}", res.location());
    for ip in ["2001:db8:5:2::1", "2001:db8:5:3::1", "2001:db8:5:6::1"] {
        let res = client(ip).submit(PERSON).await;
        assert_eq!(res.status, 429, "{ip}: {}", res.text());
        assert!(res.text().contains("We did not send an email"), "{}", res.text());
    }
    // Another site still gets its link.
    let res = client("2001:db8:6:1::1").submit(PERSON).await;
    assert_eq!(res.status, 303, "{}", res.text());
    app.run_pending_jobs().await;
    assert_eq!(emails_to(&app, PERSON), 22);
}
on_both_backends!(past_the_ceiling_many_slash_64s_of_one_site_count_once);

/// Review r1, item 5: the portal's hourly submissions per client count an IPv6 /64 once (and an
/// IPv4 address alone: its neighbours are other households).
async fn the_hourly_submission_limit_counts_a_slash_64_once(app: TestApp) {
    let client = behind_proxy(&app).await;
    let limit = app.app.settings.rate_limits.submissions_per_ip_per_hour;
    let addresses: Vec<&'static str> =
        (1..=limit + 1).map(|i| &*Box::leak(format!("2001:db8:7:8::{i:x}").into_boxed_str())).collect();
    for (i, ip) in addresses.iter().enumerate() {
        let email = format!("person{i}@example.fr");
        let res = client(ip).submit(&email).await;
        let expected = if (i as i64) < limit { 303 } else { 429 };
        assert_eq!(res.status, expected, "submission {i} from {ip}: {}", res.text());
    }
    // Another /64, and IPv4 neighbours, are other clients.
    assert_eq!(client("2001:db8:7:9::1").submit("someone@example.fr").await.status, 303);
    for ip in ["198.51.100.1", "198.51.100.2"] {
        assert_eq!(client(ip).submit("someone.else@example.fr").await.status, 303);
    }
}
on_both_backends!(the_hourly_submission_limit_counts_a_slash_64_once);
