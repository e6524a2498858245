//! Real-browser end-to-end tests: headless Chromium driven through WebDriver (chromedriver), on
//! the real server, with accessibility checks on every page visited (docs/accessibility.md).
//!
//! Without Chromium these tests say so and pass, unless `DOSSIER_TEST_REQUIRE_BROWSER=1` (CI), which
//! makes a missing browser a failure. Screenshots of every page, at phone and desktop sizes, go to
//! `target/browser-screens/<scenario>/`; a failing scenario also leaves `failure.html` there.

mod a11y;
mod contrast;
mod webdriver;

use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;

use dossier::domain::{EmailAddress, Locale, Role};
use dossier::i18n::Tr;
use futures_util::FutureExt;

use crate::helpers::{Options, TestApp, spawn_with};
use webdriver::{Browser, poll};

const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1366, 900);
const STAFF_PASSWORD: &str = "correct horse battery staple";

/// Chromium and chromedriver, or `None` (said aloud) when this machine has no browser.
fn browser_tools() -> Option<(PathBuf, PathBuf)> {
    let path = |var: &str, default: &str| PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_owned()));
    let chromium = path("DOSSIER_TEST_CHROMIUM", "/usr/bin/chromium");
    let driver = path("DOSSIER_TEST_CHROMEDRIVER", "/usr/bin/chromedriver");
    let missing: Vec<String> =
        [&chromium, &driver].iter().filter(|p| !p.exists()).map(|p| p.display().to_string()).collect();
    if missing.is_empty() {
        return Some((chromium, driver));
    }
    if std::env::var("DOSSIER_TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        panic!(
            "DOSSIER_TEST_REQUIRE_BROWSER=1 but {} missing (apt-get install chromium chromium-driver)",
            missing.join(" and ")
        );
    }
    eprintln!(
        "skipped: {} not found; install chromium and chromium-driver to run the browser tests",
        missing.join(" and ")
    );
    None
}

/// `target/browser-screens/<scenario>/`, emptied for this run.
fn screens_dir(scenario: &str) -> PathBuf {
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = target.parent().unwrap_or(&target).join("browser-screens").join(scenario);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the screenshots folder");
    dir
}

/// One scenario: the app, a browser, and where its pictures go.
struct Session {
    app: TestApp,
    browser: Browser,
    dir: PathBuf,
    shots: Cell<u32>,
}

/// Runs `body` against a fresh demo app in a fresh browser; on failure, keeps the page's HTML and
/// a last screenshot next to the others, then fails with the original panic.
async fn scenario(name: &str, body: impl AsyncFnOnce(&Session)) {
    let Some((chromium, driver)) = browser_tools() else { return };
    let app = spawn_with(Options { demo: true, ..Default::default() }).await.expect("the app starts");
    let browser = Browser::start(&chromium, &driver, DESKTOP.0, DESKTOP.1).await;
    let session = Session { app, browser, dir: screens_dir(name), shots: Cell::new(0) };
    session.browser.set_viewport(DESKTOP.0, DESKTOP.1).await;
    let outcome = AssertUnwindSafe(body(&session)).catch_unwind().await;
    if let Err(panic) = outcome {
        // Best effort: if the browser itself is what failed, the original panic still wins.
        let keep = async {
            let url = session.browser.current_url().await;
            let html = session.browser.page_source().await;
            let _ = std::fs::write(session.dir.join("failure.html"), format!("<!-- {url} -->\n{html}"));
            let _ = std::fs::write(session.dir.join("failure.png"), session.browser.screenshot().await);
            eprintln!("{name} failed on {url}: its page and screenshots are in {}", session.dir.display());
        };
        let _ = AssertUnwindSafe(keep).catch_unwind().await;
        session.browser.quit().await;
        std::panic::resume_unwind(panic);
    }
    assert_eq!(session.app.unfinished_jobs().await, 0, "jobs left in the queue");
    session.browser.quit().await;
}

impl Session {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.address)
    }

    async fn open(&self, path: &str) {
        self.browser.goto(&self.url(path)).await;
    }

    /// One of the app's pages, just reached: every accessibility check, screenshots at desktop
    /// and phone sizes, and the sideways-scrolling check at phone size.
    async fn page(&self, name: &str) {
        self.check(name, true).await;
    }

    /// A document that is not one of the app's pages (the export's `index.html`): it carries its
    /// own small stylesheet, so the focus-style checks are left out; the structural ones apply.
    async fn document(&self, name: &str) {
        self.check(name, false).await;
    }

    async fn check(&self, name: &str, focus_styles: bool) {
        let url = self.browser.current_url().await;
        let mut problems = a11y::structure(&self.browser).await;
        if focus_styles {
            problems.extend(a11y::keyboard_focus(&self.browser).await);
        } else {
            problems.retain(|p| !p.contains(":focus-visible"));
        }
        let n = self.shots.get() + 1;
        self.shots.set(n);
        self.save(&format!("{n:02}-{name}-desktop.png")).await;
        self.browser.set_viewport(PHONE.0, PHONE.1).await;
        problems.extend(a11y::no_sideways_scroll(&self.browser).await);
        self.save(&format!("{n:02}-{name}-phone.png")).await;
        self.browser.set_viewport(DESKTOP.0, DESKTOP.1).await;
        assert!(problems.is_empty(), "accessibility problems on {name} ({url}):\n  {}", problems.join("\n  "));
    }

    async fn save(&self, file: &str) {
        let png = self.browser.screenshot().await;
        std::fs::write(self.dir.join(file), png).expect("a screenshot written");
    }

    async fn text(&self, css: &str) -> String {
        let el = self.browser.find(css).await;
        self.browser.text(&el).await
    }

    async fn click_to(&self, css: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let el = self.browser.find(css).await;
        self.browser.click_to(&el, what, pred).await
    }

    async fn click(&self, css: &str) {
        let el = self.browser.find(css).await;
        self.browser.click(&el).await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.browser.find(css).await;
        self.browser.send_keys(&el, text).await;
    }

    async fn html_lang(&self) -> String {
        let v = self.browser.script("return document.documentElement.lang;", vec![]).await;
        v.as_str().unwrap_or_default().to_owned()
    }

    /// Waits until the page's status badge says `expected`. One script finds and reads the badge:
    /// the status page may replace it (refreshing in place) between a lookup and a read.
    async fn wait_badge(&self, expected: &str) {
        let read = "var b = document.querySelector('.status-badge'); return b ? b.textContent : '';";
        poll(&format!("the status badge to say {expected:?}"), || async {
            let badge = self.browser.script(read, vec![]).await;
            badge.as_str().is_some_and(|b| b.contains(expected)).then_some(())
        })
        .await;
    }
}

/// Home page → form → check your inbox → the demo mailbox → the link → confirm → the status page.
/// Returns the status page's path (`/requests/DSR-…`).
async fn submit_and_confirm_by_email(s: &Session, t: Tr, email: &str, kind: &str) -> String {
    assert_eq!(s.html_lang().await, t.lang());
    assert_eq!(s.text("h1").await, t.get("portal.home.title"));
    s.type_into("#email", email).await;
    s.click(&format!("input[name=kind][value={kind}]")).await;
    s.click_to("form[action=\"/requests\"] button[type=submit]", "the check-your-inbox page", |u| {
        u.contains("/check-inbox?h=")
    })
    .await;
    assert_eq!(s.text("h1").await, t.get("portal.verify.inbox_title"));
    s.page("check-inbox").await;

    s.app.run_pending_jobs().await;
    let mail = s.app.last_email_to(email);
    // The person reads the email in the demo mailbox, reached from the demo banner.
    s.click_to(".demo-banner a", "the demo mailbox", |u| u.ends_with("/dev/outbox")).await;
    s.page("mailbox").await;
    let subject = t.get("mail.verify.subject");
    let (items, links) = (s.browser.find_all("ul.outbox li").await, s.browser.find_all("ul.outbox li a").await);
    assert_eq!(items.len(), links.len(), "one link per message");
    let mut ours = Vec::new();
    for (item, link) in items.iter().zip(&links) {
        let line = s.browser.text(item).await;
        if line.contains(email) && line.contains(subject) {
            ours.push(link.clone());
        }
    }
    assert_eq!(ours.len(), 1, "the mailbox lists one {subject:?} for {email}");
    s.browser.click_to(&ours[0], "the email", |u| u.contains("/dev/outbox/")).await;
    assert_eq!(s.text("h1").await, subject);
    s.page("email").await;
    let link = s.browser.find(".mail-body a[href*=\"/verify/\"]").await;
    let href = s.browser.attribute(&link, "href").await.unwrap_or_default();
    assert!(href.ends_with(&mail.link()), "the mailbox shows the emailed link: {href} vs {}", mail.link());
    s.browser.click_to(&link, "the confirm page", |u| u.contains("/verify/")).await;
    assert_eq!(s.text("h1").await, t.get("portal.verify.confirm_title"));
    s.page("confirm").await;
    let status =
        s.click_to("main form button[type=submit]", "the status page", |u| u.contains("/requests/DSR-2026-")).await;
    status.split_once(&s.app.address).map(|(_, p)| p.to_owned()).expect("a page of the app")
}

/// The access request from start to download, in the browser's language `lang` (after the
/// switcher when French).
async fn access_request(s: &Session, lang: Locale) {
    let t = Tr::new(lang);
    s.open("/").await;
    if lang == Locale::Fr {
        assert_eq!(s.html_lang().await, "en", "English before the switch");
        s.click("a.lang").await;
        poll("the French home page", || async { (s.html_lang().await == "fr").then_some(()) }).await;
    }
    s.page("home").await;
    let status = submit_and_confirm_by_email(s, t, "jeanne.martin@example.fr", "access").await;
    s.wait_badge(t.get("portal.status.states.collecting")).await;
    assert!(s.browser.try_find("a[href$=\"/export\"]").await.is_none(), "no download before the export exists");
    s.page("status-collecting").await;

    // Without a reload: the page's script refreshes the progress in place (a plain link does it
    // without JavaScript). A mark left on the page shows no navigation happened.
    assert!(s.browser.try_find("[data-refresh] a").await.is_some(), "a refresh link for pages without scripts");
    s.browser.script("window.stillHere = true;", vec![]).await;
    s.app.run_pending_jobs().await;
    let ready = t.get("portal.status.states.ready");
    poll("the progress to refresh in place", || async {
        let badge = s
            .browser
            .script("var b = document.querySelector('.status-badge'); return b ? b.textContent : '';", vec![])
            .await;
        badge.as_str().is_some_and(|b| b.contains(ready)).then_some(())
    })
    .await;
    assert_eq!(s.browser.script("return window.stillHere === true;", vec![]).await, serde_json::Value::Bool(true));
    s.wait_badge(ready).await;
    let button = s.browser.find("a.button[href$=\"/export\"]").await;
    assert_eq!(s.browser.text(&button).await, t.get("portal.status.download_button"));
    s.page("status-ready").await;

    // The link points at this request's export, and with the browser's own cookies (HttpOnly
    // session included) it downloads a complete, intact archive.
    let button = s.browser.find("a.button[href$=\"/export\"]").await;
    let href = s.browser.attribute(&button, "href").await.expect("an href");
    assert_eq!(href, format!("{status}/export"));
    let cookies = s.browser.cookie_header().await;
    let mut res = awc::Client::new()
        .get(s.url(&href))
        .insert_header(("cookie", cookies))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(res.status().as_u16(), 200);
    let header = |n: &str| res.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(header("content-type"), "application/zip");
    assert!(header("content-disposition").starts_with("attachment"), "{}", header("content-disposition"));
    let body = res.body().limit(512 * 1024 * 1024).await.expect("the ZIP");
    let archive = crate::export::open_zip(&body);
    crate::export::assert_manifest_checksums(&archive);
    let contacts = crate::export::json_records(&archive, "crm", "contacts");
    assert_eq!(contacts.len(), 2, "Jeanne's two contact rows");

    // The person opens index.html from the ZIP: it is a page like the others.
    let index = s.dir.join("export-index.html");
    std::fs::write(&index, crate::export::file_text(&archive, "index.html")).expect("index.html extracted");
    s.browser.goto(&format!("file://{}", index.display())).await;
    s.document("export-index").await;
}

#[actix_web::test]
async fn an_access_request_in_english_from_the_form_to_the_zip() {
    scenario("access-en", async |s| access_request(s, Locale::En).await).await;
}

#[actix_web::test]
async fn an_access_request_in_french_from_the_form_to_the_zip() {
    scenario("access-fr", async |s| access_request(s, Locale::Fr).await).await;
}

/// Presses Tab from the top of the page until the element matching `css` has the focus, as a
/// keyboard user reaches a button; fails if it is not reached within `max` presses.
async fn tab_to(s: &Session, css: &str, max: usize) {
    s.browser.script("if (document.activeElement) document.activeElement.blur(); window.scrollTo(0, 0);", vec![]).await;
    let focused = "return !!document.activeElement && document.activeElement.matches(arguments[0]);";
    for _ in 0..max {
        s.browser.press("\u{E004}").await;
        if s.browser.script(focused, vec![css.into()]).await == serde_json::Value::Bool(true) {
            return;
        }
    }
    panic!("{css} was not reached with {max} presses of Tab");
}

/// A catalog text as WebDriver reads it from the page: no-break spaces (before French `:` and
/// `;`) come back as plain spaces.
fn seen(text: &str) -> String {
    text.replace('\u{a0}', " ")
}

/// The text of every element matching `css`, in page order.
async fn texts(s: &Session, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for el in s.browser.find_all(css).await {
        out.push(s.browser.text(&el).await);
    }
    out
}

/// Jeanne's contact records that still carry her address, read from the demo CRM itself.
async fn jeanne_in_crm(app: &TestApp) -> i64 {
    use sqlx::Connection;
    let crm = app.data_dir().join("crm").join(dossier::demo::CRM_FILE);
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", crm.display())).await.unwrap();
    let n = sqlx::query_scalar(
        "SELECT COUNT(*) FROM contacts WHERE LOWER(TRIM(email)) = ?1 OR LOWER(TRIM(email_alt)) = ?1",
    )
    .bind(JEANNE)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    n
}

const JEANNE: &str = "jeanne.martin@example.fr";

/// In French: the erasure is asked for and verified by email; once the sources are searched the
/// status page shows what the erasure would do, and the person confirms it with the keyboard.
/// Nothing is erased before staff review it.
#[actix_web::test]
async fn a_requester_asks_for_erasure_and_confirms_the_plan() {
    scenario("erasure-confirm-fr", async |s| {
        let t = Tr::new(Locale::Fr);
        s.open("/").await;
        s.click("a.lang").await;
        poll("the French home page", || async { (s.html_lang().await == "fr").then_some(()) }).await;
        s.page("home").await;
        let status = submit_and_confirm_by_email(s, t, JEANNE, "erasure").await;
        let reference = status.rsplit('/').next().unwrap_or_default().to_owned();
        assert!(
            s.browser.try_find("form[action$=\"/confirm\"]").await.is_none(),
            "no plan before the sources are searched"
        );

        // The sources are searched; the page refreshes in place and shows the plan.
        s.app.run_pending_jobs().await;
        s.wait_badge(t.get("portal.status.states.awaiting_confirmation")).await;
        assert!(
            s.browser.try_find("[data-refresh]").await.is_none(),
            "the page stops refreshing once it waits for the person"
        );
        assert_eq!(s.text("#plan-title").await, t.get("portal.plan.title"));
        // Per source and collection: in the CRM, contacts anonymised (cleared and unlinked), the
        // company shared, orders and their lines kept by law, interactions, messages and quote
        // requests deleted; in the loyalty export, members and their points deleted; at the
        // newsletter, the subscription pseudonymised and kept (a proof of consent), its events
        // deleted.
        let mut classes = Vec::new();
        for el in s.browser.find_all(".plan-line").await {
            classes.push(
                s.browser.attribute(&el, "class").await.unwrap_or_default().replace("plan-line", "").trim().to_owned(),
            );
        }
        let lines = texts(s, ".plan-line").await;
        assert_eq!(
            classes,
            [
                "anonymise",
                "shared",
                "retain",
                "retain",
                "delete",
                "delete",
                "delete",
                "delete",
                "delete",
                "retain",
                "delete"
            ],
            "{lines:#?}"
        );
        let deleted = |n: &str| seen(&t.fmt("portal.plan.delete_other", &[("n", n)]));
        assert_eq!(
            [&lines[4], &lines[5], &lines[6], &lines[7], &lines[8], &lines[10]],
            [&deleted("4"), &deleted("4"), &deleted("2"), &deleted("2"), &deleted("5"), &deleted("5")],
            "{lines:#?}"
        );
        assert_eq!(lines[1], seen(&t.fmt("portal.plan.shared_unlinked_one", &[("n", "1")])));
        assert!(lines[2].contains("art. 17(3)(b)") && lines[2].contains("L123-22"), "the law cited: {}", lines[2]);
        // Found by its subject: it and the "confirmed" email are delivered in either order.
        let subject = t.fmt("mail.plan_ready.subject", &[("reference", &reference)]);
        let mail = s.app.email_with_subject(JEANNE, &subject);
        assert_eq!(mail.subject, subject);
        assert!(mail.text.contains(&status), "the email links to the status page: {}", mail.text);
        let confirm = s.browser.find("form[action$=\"/confirm\"] button[type=submit]").await;
        assert_eq!(s.browser.text(&confirm).await, t.get("portal.plan.confirm"));
        s.page("status-plan").await;

        // With the keyboard alone: Tab to the button, Enter.
        tab_to(s, "form[action$=\"/confirm\"] button[type=submit]", 80).await;
        s.browser.script("window.__dossierBeforeClick = true;", vec![]).await;
        s.browser.press("\u{E007}").await;
        s.browser
            .wait_url("the status page after confirming", |u| u.ends_with(&format!("{status}?said=confirmed")))
            .await;
        assert_eq!(s.text(".notice").await, seen(t.get("portal.changes.said.confirmed")));
        s.wait_badge(t.get("portal.status.states.awaiting_review")).await;
        assert!(seen(&s.text("main").await).contains(&seen(t.get("portal.changes.next.erasure_review"))));
        assert_eq!(s.text("#plan-title").await, t.get("portal.plan.title_chosen"));
        assert!(s.browser.try_find("form[action$=\"/confirm\"]").await.is_none(), "confirmed once");
        assert!(s.browser.try_find("form[action$=\"/withdraw\"]").await.is_none(), "no withdrawal after confirming");
        assert!(s.browser.try_find("a[href$=\"/export\"]").await.is_none(), "nothing to download for an erasure");
        s.page("status-being-reviewed").await;

        assert_eq!(s.app.request_status(&status).await, "awaiting_review");
        assert_eq!(jeanne_in_crm(&s.app).await, 2, "nothing is erased before the review");
        s.app.run_pending_jobs().await;
    })
    .await;
}

/// In English: a staff member opens an erasure the person confirmed, excludes one record with a
/// reason and approves the rest; once the sources have executed it the request is completed, and
/// the person, signing in again with the address (which Dossier no longer keeps in clear), reads
/// the certificate.
#[actix_web::test]
async fn a_staff_member_approves_an_erasure_and_the_requester_reads_the_certificate() {
    scenario("erasure-approve-en", async |s| {
        let t = Tr::new(Locale::En);
        let oliver = "oliver.smith@example.co.uk";
        let status = s.app.request_awaiting_review(oliver, "erasure").await;
        s.app.forget_cookies();
        let reference = status.rsplit('/').next().unwrap_or_default().to_owned();
        let email = EmailAddress::parse("agent@exemple.test").expect("an address");
        dossier::services::staff::create(
            &s.app.app.store,
            &email,
            "Agnès Agent",
            Role::Agent,
            STAFF_PASSWORD,
            s.app.app.now_ms(),
        )
        .await
        .expect("the staff account");

        s.open("/staff").await;
        s.browser.wait_url("the login page", |u| u.ends_with("/staff/login")).await;
        s.type_into("#email", "agent@exemple.test").await;
        s.type_into("#password", STAFF_PASSWORD).await;
        s.click_to("main form button[type=submit]", "the queue", |u| u.ends_with("/staff")).await;
        s.click_to("a.reference", "the request page", |u| u.ends_with(&format!("/staff/requests/{reference}"))).await;
        assert_eq!(s.text("#plan-title").await, t.get("staff.plan.title"));
        let submit = s.browser.find("form.review button[type=submit]").await;
        assert_eq!(s.browser.text(&submit).await, t.get("staff.review.submit_erasure"));
        s.page("request-review").await;

        // Exclude Oliver's interaction record, with the reason the person will read.
        let interactions = "Calls, emails and meetings with our staff";
        let find_box = "const row = [...document.querySelectorAll('table.plan tbody tr')].find(r => \
            r.cells[0].textContent.includes(arguments[0]) && r.querySelector('input[type=checkbox]')); \
            return row ? row.querySelector('input[type=checkbox]').id : null;";
        let id = s.browser.script(find_box, vec![interactions.into()]).await;
        let id = id.as_str().unwrap_or_else(|| panic!("no exclude box for {interactions}")).to_owned();
        let item = id.strip_prefix("x-").expect("the box's id names the item").to_owned();
        let reason = "A complaint about this call is still being investigated.";
        s.click(&format!("#{id}")).await;
        s.type_into(&format!("#r-{item}"), reason).await;
        s.click_to("form.review button[type=submit]", "the reviewed request", |u| u.contains("done=review")).await;
        assert_eq!(s.text(".notice").await, t.get("staff.done.review"));
        assert!(s.text("dl.facts").await.contains(t.get("staff.status.executing")), "{}", s.text("dl.facts").await);
        s.page("request-executing").await;

        s.app.run_pending_jobs().await;
        s.open(&format!("/staff/requests/{reference}")).await;
        let facts = s.text("dl.facts").await;
        assert!(facts.contains(t.get("staff.status.completed")), "{facts}");
        let plan = s.text("table.plan").await;
        assert!(plan.contains(&t.fmt("staff.plan.decision.excluded", &[("reason", reason)])), "{plan}");
        assert!(plan.contains(t.get("staff.plan.outcome.applied")), "{plan}");
        assert!(!plan.contains(t.get("staff.plan.outcome.not_yet")), "everything approved was executed: {plan}");
        s.page("request-completed").await;
        let done = s.app.last_email_to(oliver);
        assert_eq!(done.subject, t.fmt("mail.done.subject", &[("reference", &reference)]));

        // The person comes back: Dossier kept only a keyed hash of the address, so they type it.
        s.open(&status).await;
        assert_eq!(s.text("h1").await, t.get("portal.signin.title"));
        s.type_into("#email", oliver).await;
        s.click_to("main form button[type=submit]", "the check-your-inbox page", |u| u.contains("/check-inbox?h="))
            .await;
        s.app.run_pending_jobs().await;
        let mail = s.app.email_with_subject(oliver, "see request");
        s.open(&mail.link()).await;
        s.click_to("main form button[type=submit]", "the status page", |u| u.ends_with(&status)).await;
        s.wait_badge(t.get("portal.status.states.completed")).await;
        assert_eq!(s.text("#certificate-title").await, t.get("portal.certificate.section_title"));
        s.page("status-completed").await;

        s.click_to("a.button[href$=\"/certificate\"]", "the certificate", |u| {
            u.ends_with(&format!("{status}/certificate"))
        })
        .await;
        let certificate = s.text("main").await;
        // Order lines: ten years from the end of the financial year of their order's date.
        let until = t.fmt("portal.plan.until_range", &[("first", "December 31, 2032"), ("last", "December 31, 2034")]);
        for expected in [
            t.fmt("portal.certificate.erasure.excluded_one", &[("reason", reason)]),
            t.fmt("portal.certificate.erasure.deleted_other", &[("n", "2")]),
            t.fmt(
                "portal.certificate.erasure.kept_other",
                &[
                    ("n", "3"),
                    ("until", &until),
                    ("basis", t.get("portal.plan.basis.legal_obligation")),
                    ("article", "Art. 17(3)(b)"),
                ],
            ),
            reference.clone(),
        ] {
            assert!(certificate.contains(&expected), "{expected:?} not in the certificate:\n{certificate}");
        }
        assert!(!certificate.contains(oliver), "the certificate does not need the address: {certificate}");
        s.page("certificate").await;
    })
    .await;
}

/// A verified request made through the HTTP client (not the browser); returns its reference.
async fn verified_request(app: &TestApp, email: &str, kind: &str) -> String {
    let (_, mail) = app.submit_and_read_mail(email, kind).await;
    let status = app.verify_by_link(&mail).await.location();
    app.forget_cookies();
    status.rsplit('/').next().unwrap_or_default().to_owned()
}

#[actix_web::test]
async fn a_staff_member_filters_the_queue_and_extends_a_request() {
    scenario("staff-en", async |s| {
        let t = Tr::new(Locale::En);
        let access = verified_request(&s.app, "oliver.smith@example.co.uk", "access").await;
        let erasure = verified_request(&s.app, "jeanne.martin@example.fr", "erasure").await;
        let email = EmailAddress::parse("agent@exemple.test").expect("an address");
        dossier::services::staff::create(
            &s.app.app.store,
            &email,
            "Agnès Agent",
            Role::Agent,
            STAFF_PASSWORD,
            s.app.app.now_ms(),
        )
        .await
        .expect("the staff account");

        s.open("/staff").await;
        s.browser.wait_url("the login page", |u| u.ends_with("/staff/login")).await;
        assert_eq!(s.text("h1").await, t.get("staff.login.title"));
        s.page("login").await;
        s.type_into("#email", "agent@exemple.test").await;
        s.type_into("#password", STAFF_PASSWORD).await;
        s.click_to("main form button[type=submit]", "the queue", |u| u.ends_with("/staff")).await;
        let references = async || {
            let mut out = Vec::new();
            for el in s.browser.find_all("a.reference").await {
                out.push(s.browser.text(&el).await);
            }
            out.sort();
            out
        };
        let mut both = [access.clone(), erasure.clone()];
        both.sort();
        assert_eq!(references().await, both, "every open request is in the queue");
        s.page("queue").await;

        s.click("#kind option[value=erasure]").await;
        s.click_to("form[action=\"/staff/search\"] button[type=submit]", "the filtered queue", |u| {
            u.contains("kind=erasure")
        })
        .await;
        assert_eq!(references().await, vec![erasure.clone()], "only the erasure request");
        s.page("queue-erasure").await;

        s.click_to("a.reference", "the request page", |u| u.ends_with(&format!("/staff/requests/{erasure}"))).await;
        s.page("request").await;
        let reason = "Your records are spread over twelve archived systems.";
        s.type_into("#extend-reason", reason).await;
        s.click_to("form[action$=\"/extend\"] button[type=submit]", "the extended request", |u| {
            u.contains("done=extend")
        })
        .await;
        assert_eq!(s.text(".notice").await, t.get("staff.done.extend"));
        let main = s.text("main").await;
        // Received 10 March 2026: three months later, 10 June 2026.
        assert!(main.contains("June 10, 2026") && main.contains(reason), "{main}");
        s.page("request-extended").await;

        s.app.run_pending_jobs().await;
        let mail = s.app.email_with_subject("jeanne.martin@example.fr", "More time is needed");
        assert!(mail.text.contains(reason), "{}", mail.text);
    })
    .await;
}

/// The checks above are only worth something if they catch what they claim to: this page breaks
/// every rule once, and each break must be reported.
#[actix_web::test]
async fn the_accessibility_checks_catch_a_broken_page() {
    let Some((chromium, driver)) = browser_tools() else { return };
    let browser = Browser::start(&chromium, &driver, DESKTOP.0, DESKTOP.1).await;
    let dir = crate::helpers::TempDir::new("a11y-broken");
    let page = dir.0.join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><title>Broken</title>\
         <style>a:focus, a:focus-visible { outline: none; } .wide { width: 2000px; }</style></head><body>\
         <a href=\"#x\">first link</a><h2>Starts at two</h2><h4>Skips three</h4>\
         <input type=\"text\" name=\"unlabelled\"><select id=\"s\"></select><textarea></textarea>\
         <img src=\"data:,\"><button type=\"submit\"></button><p id=\"dup\" class=\"wide\">x</p><p id=\"dup\">y</p>\
         </body></html>",
    )
    .expect("the broken page");
    browser.goto(&format!("file://{}", page.display())).await;
    let structure = a11y::structure(&browser).await.join("\n");
    for expected in [
        "<html> has no valid lang",
        "form field without a label: <input",
        "form field without a label: <select",
        "form field without a label: <textarea",
        "0 <h1> elements",
        "the first heading is <h2>",
        "heading level skipped: <h2> then <h4>",
        "image without alt",
        "button without an accessible name",
        "id \"dup\" is used 2 times",
        "no :focus-visible rule with an outline",
    ] {
        assert!(structure.contains(expected), "not caught: {expected}\nreported:\n{structure}");
    }
    let focus = a11y::keyboard_focus(&browser).await.join("\n");
    assert!(focus.contains("focus is not visible: outline none"), "{focus}");
    browser.set_viewport(PHONE.0, PHONE.1).await;
    let wide = a11y::no_sideways_scroll(&browser).await.join("\n");
    assert!(wide.contains("px wide in a 390px viewport"), "{wide}");
    browser.quit().await;
}
