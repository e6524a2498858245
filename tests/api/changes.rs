//! Erasure (GDPR Art. 17), rectification (Art. 16) and objection (Art. 21): from the plan on the
//! person's status page, through their decision and the staff review, to the rows of the demo
//! sources, read back by primary key, and the certificate.
//!
//! The demo people (see `src/demo/seed.rs`): Jeanne Martin (jeanne.martin@example.fr) has CRM
//! contacts 1 and 2 (the second through `email_alt`), orders 1-4 with lines 1-7, interactions 1-4,
//! quote requests 1 and 3 (found inside `Name <address>` and a copy list),
//! newsletter subscriber 1 with campaign events 1-5, and loyalty cards 70001 and 70008. Paul
//! Durand (contact 3) works at her company (company 1); the other Jeanne Martin
//! (jeanne.martin@example.com) is contact 4, order 5, interaction 5, subscriber 2, event 6.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use dossier::domain::Role;
use dossier::plans::anonymise::Pseudonymiser;
use dossier::store::plans::Item;
use serde_json::json;
use sqlx::{Connection, SqliteConnection};

use crate::helpers::{Response, TestApp};
use crate::on_both_backends;

const JEANNE: &str = "jeanne.martin@example.fr";
const OTHER_JEANNE: &str = "jeanne.martin@example.com";
const PAUL: &str = "paul.durand@example.fr";
const AGENT: &str = "agent@exemple.test";
const AUDITOR: &str = "audit@exemple.test";

// ---------------------------------------------------------------------------------------------
// The demo sources, read directly

fn crm_db(app: &TestApp) -> PathBuf {
    app.data_dir().join("crm").join(dossier::demo::CRM_FILE)
}

fn newsletter_db(app: &TestApp) -> PathBuf {
    app.data_dir().join("crm").join(dossier::demo::NEWSLETTER_FILE)
}

fn loyalty_file(app: &TestApp, file: &str) -> PathBuf {
    app.data_dir().join("crm").join(dossier::demo::LOYALTY_DIR).join(file)
}

async fn open(path: &Path) -> SqliteConnection {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).read_only(true);
    SqliteConnection::connect_with(&options).await.unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

/// Every row of every table of an SQLite source: table → rowid → the row's values, each as an SQL
/// literal (`quote()`), so NULL, 1 and '1' stay distinct.
type Dump = BTreeMap<String, BTreeMap<i64, String>>;

async fn dump(path: &Path) -> Dump {
    let mut conn = open(path).await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut out = Dump::new();
    for table in tables {
        let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
            .bind(&table)
            .fetch_all(&mut conn)
            .await
            .unwrap();
        let values = columns.iter().map(|c| format!("quote(\"{c}\")")).collect::<Vec<_>>().join(" || '|' || ");
        let sql = format!("SELECT rowid, {values} FROM \"{table}\" ORDER BY rowid");
        let rows: Vec<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut conn).await.unwrap();
        out.insert(table, rows.into_iter().collect());
    }
    conn.close().await.unwrap();
    out
}

/// What changed from `before` to `after`, per table: the rows changed, and the rows deleted.
fn diff(before: &Dump, after: &Dump) -> BTreeMap<String, (BTreeSet<i64>, BTreeSet<i64>)> {
    let mut out = BTreeMap::new();
    for (table, rows) in before {
        let now = &after[table];
        let changed: BTreeSet<i64> =
            rows.iter().filter(|(id, row)| now.get(id).is_some_and(|r| r != *row)).map(|(id, _)| *id).collect();
        let deleted: BTreeSet<i64> = rows.keys().filter(|id| !now.contains_key(id)).copied().collect();
        assert!(now.keys().all(|id| rows.contains_key(id)), "{table}: no row is added");
        if !changed.is_empty() || !deleted.is_empty() {
            out.insert(table.clone(), (changed, deleted));
        }
    }
    out
}

fn ids(ids: &[i64]) -> BTreeSet<i64> {
    ids.iter().copied().collect()
}

/// `first_name, last_name, email, email_alt, phone, job_title, no_marketing` of a CRM contact.
type Contact = (String, String, Option<String>, Option<String>, Option<String>, Option<String>, bool);

async fn contact(app: &TestApp, id: i64) -> Contact {
    let mut conn = open(&crm_db(app)).await;
    let row = sqlx::query_as(
        "SELECT first_name, last_name, email, email_alt, phone, job_title, no_marketing FROM contacts WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    row
}

/// `email, first_name` of a newsletter subscriber.
async fn subscriber(app: &TestApp, id: i64) -> (String, Option<String>) {
    let mut conn = open(&newsletter_db(app)).await;
    let row = sqlx::query_as("SELECT email, first_name FROM subscribers WHERE id = $1")
        .bind(id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    row
}

fn pseudonymiser(app: &TestApp) -> Pseudonymiser {
    Pseudonymiser::new(app.app.keys.pseudonym.clone())
}

fn is_pseudonym(s: &str) -> bool {
    s.strip_prefix("anon-").is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The CRM after Jeanne's erasure: her two contacts anonymised by unlinking (names replaced by
/// `—`, addresses, phone, job title and company link cleared), her interactions deleted (except `kept_interactions`), her
/// quote requests deleted (found inside `Name <address>` and a copy list; not the other Jeanne's),
/// nothing else changed: her orders and their lines (retained), her company (shared, now unlinked), Paul, the
/// other Jeanne.
fn assert_jeanne_erased_in_crm(app: &TestApp, before: &Dump, after: &Dump, kept_interactions: &[i64]) {
    let interactions: Vec<i64> = [1, 2, 3, 4].into_iter().filter(|i| !kept_interactions.contains(i)).collect();
    let expected = BTreeMap::from([
        ("contacts".to_owned(), (ids(&[1, 2]), ids(&[]))),
        ("interactions".to_owned(), (ids(&[]), ids(&interactions))),
        // Her messages (on her contacts, on her order, and one she wrote): not the brasserie's
        // message 2, whose company id equals her old contact's.
        ("messages".to_owned(), (ids(&[]), ids(&[1, 3, 4, 6]))),
        ("quote_requests".to_owned(), (ids(&[]), ids(&[1, 3]))),
    ]);
    assert_eq!(
        diff(before, after),
        expected,
        "only Jeanne's contacts, interactions, messages and quote requests change"
    );
    let _ = app;
    for id in [1, 2] {
        // id, company_id, first_name, last_name, email, email_alt, phone, job_title, language,
        // no_marketing, created_at.
        let row: Vec<&str> = after["contacts"][&id].split('|').collect();
        let was: Vec<&str> = before["contacts"][&id].split('|').collect();
        assert_eq!(row[2], "'—'", "contact {id}: first name");
        assert_eq!(row[3], "'—'", "contact {id}: last name, no pseudonym left");
        assert_eq!(row[4..8], ["NULL"; 4], "contact {id}: email, email_alt, phone, job title");
        assert_eq!((row[0], row[1]), (was[0], "NULL"), "contact {id}: id kept, company link cleared");
        assert_eq!(row[8..], was[8..], "contact {id}: language, marketing flag, creation date kept");
    }
}

// ---------------------------------------------------------------------------------------------
// Pages

fn unescape(s: &str) -> String {
    s.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#x22;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in s.chars() {
        match c {
            '<' => inside = true,
            '>' => {
                inside = false;
                out.push(' ');
            }
            c if !inside => out.push(c),
            _ => {}
        }
    }
    unescape(&out).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The lines of a plan or certificate, by collection label, tags stripped, sorted.
fn plan_lines(html: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for part in html.split("<h4>").skip(1) {
        let (label, rest) = part.split_once("</h4>").unwrap();
        let list = rest.split("</ul>").next().unwrap();
        let lines = list.split("<li class=\"plan-line").skip(1).map(|li| {
            let inner = li.split_once('>').unwrap().1;
            strip_tags(inner.split("</li>").next().unwrap())
        });
        out.entry(unescape(label)).or_default().extend(lines);
    }
    for lines in out.values_mut() {
        lines.sort();
    }
    out
}

fn lines(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

/// The text of a page's `<main>`, tags stripped.
fn main_text(html: &str) -> String {
    strip_tags(html.split("<main").nth(1).unwrap_or(html))
}

fn reference_of(status: &str) -> String {
    status.rsplit('/').next().unwrap().to_owned()
}

async fn request_id(app: &TestApp, status: &str) -> String {
    sqlx::query_scalar("SELECT id FROM requests WHERE reference = $1")
        .bind(reference_of(status))
        .fetch_one(app.app.store.pool())
        .await
        .unwrap()
}

async fn items(app: &TestApp, status: &str) -> Vec<Item> {
    let id = request_id(app, status).await;
    let mut conn = app.app.store.conn().await.unwrap();
    dossier::store::plans::for_request(&mut conn, &id).await.unwrap()
}

/// The item of `collection` whose record is `key` (an `id`, or a loyalty card number), and, for a
/// rectification, whose field is `field`.
fn item<'a>(items: &'a [Item], collection: &str, key: serde_json::Value, field: Option<&str>) -> &'a Item {
    items
        .iter()
        .find(|i| {
            i.collection == collection
                && i.record_key.values().next() == Some(&key)
                && field.is_none_or(|f| i.detail["field"] == f)
        })
        .unwrap_or_else(|| panic!("an item for {collection} {key} {field:?}"))
}

/// Each item's decision and outcome, to show that a refused action changed nothing.
fn decisions(items: &[Item]) -> Vec<(String, &'static str, Option<String>, Option<&'static str>)> {
    items
        .iter()
        .map(|i| (i.id.clone(), i.decision.as_str(), i.decision_reason.clone(), i.outcome.map(|o| o.as_str())))
        .collect()
}

async fn count(app: &TestApp, sql: &'static str, request: &str) -> i64 {
    sqlx::query_scalar(sql).bind(request).fetch_one(app.app.store.pool()).await.unwrap()
}

async fn queued_executions(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'execute'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap()
}

/// A request for `email` verified, planned (the jobs run), waiting for the person's decision;
/// the browser keeps the person's session.
async fn planned_request(app: &TestApp, email: &str, kind: &str) -> String {
    let status = app.verified_request(email, kind).await;
    assert_eq!(app.request_status(&status).await, "collecting", "one planning job per source first");
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "awaiting_confirmation");
    status
}

/// Staff review: `form` names the items excluded or rejected; the others are approved.
async fn review(app: &TestApp, status: &str, form: &[(&str, &str)]) -> Response {
    app.staff_act(&reference_of(status), "review", form).await
}

fn assert_done(res: &Response, action: &str) {
    assert_eq!(res.status, 303, "{}", res.text());
    assert!(res.location().ends_with(&format!("?done={action}")), "{}", res.location());
}

fn assert_refused(res: &Response, code: &str) {
    assert_eq!(res.status, 303, "{}", res.text());
    assert!(res.location().ends_with(&format!("?refused={code}")), "{}", res.location());
}

// ---------------------------------------------------------------------------------------------
// Erasure

/// The whole erasure, as Jeanne and the staff see it, and as the sources hold it afterwards.
async fn an_erasure_runs_end_to_end_and_leaves_a_certificate(app: TestApp) {
    let crm_before = dump(&crm_db(&app)).await;
    let newsletter_before = dump(&newsletter_db(&app)).await;
    let members_before = std::fs::read(loyalty_file(&app, dossier::demo::MEMBERS_FILE)).unwrap();
    let points_before = std::fs::read(loyalty_file(&app, dossier::demo::POINTS_FILE)).unwrap();
    let paul_before = contact(&app, 3).await;
    let other_jeanne_before = contact(&app, 4).await;

    let status = planned_request(&app, JEANNE, "erasure").await;
    let reference = reference_of(&status);
    let mail = app.email_with_subject(JEANNE, &format!("Please check what request {reference} would change"));
    assert!(mail.text.contains("Nothing has been changed yet."), "{}", mail.text);
    assert_eq!(mail.link(), status);

    // The plan, in plain words, before anything changes.
    let page = app.get(&status).await.text();
    assert!(page.contains("Waiting for your decision") && page.contains("Confirm the erasure"), "{page}");
    let law = "French Commercial Code, art. L123-22: accounting documents are kept 10 years";
    let basis = "a legal obligation: the law requires us to keep this (GDPR Art. 17(3)(b)).";
    let plan = plan_lines(&page);
    assert_eq!(
        plan["Orders and invoices"],
        [format!(
            "4 records will be kept until a date between December 31, 2029 and December 31, 2035 (each record has its \
             own) — {basis} {law}"
        )],
        "each order is kept ten years from the end of its own financial year: 2019 to 2025"
    );
    // Each line counts from its order's date (`orders.ordered_on`), never from the day of the erasure.
    assert_eq!(
        plan["Order lines"],
        [format!(
            "7 records will be kept until a date between December 31, 2029 and December 31, 2035 (each record has its \
             own) — {basis} {law}"
        )]
    );
    assert_eq!(plan["Calls, emails and meetings with our staff"], ["4 records will be deleted."]);
    assert_eq!(plan["Quote requests sent through our website"], ["2 records will be deleted."]);
    let contacts = &plan["Contact records"];
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    assert!(contacts[0].starts_with("2 records will be anonymised: "), "{contacts:?}");
    for field in ["First name replaced by “—”", "Last name replaced by “—”", "Phone number removed"] {
        assert!(contacts[0].contains(field), "{field}: {contacts:?}");
    }
    assert!(!contacts[0].contains("pseudonym"), "{contacts:?}");
    assert_eq!(
        plan["Your employer's company record"],
        ["1 record also concerns other people: it stays, but will no longer be linked to you."]
    );
    assert_eq!(plan["Newsletter opens and clicks"], ["5 records will be deleted."]);
    // Pseudonymised is said as such, kept with its ground and end date (GDPR Art. 4(5)).
    let subscription = &plan["Newsletter subscription"][0];
    assert!(
        subscription.starts_with(
            "1 record will be pseudonymised (Email address replaced by a pseudonym (a code our key can link back to \
             it), First name removed) and kept until December 31, 2026 — needed to establish, exercise or defend legal \
             claims (GDPR Art. 17(3)(e)). Pseudonymised data is still your personal data."
        ),
        "{subscription}"
    );
    assert_eq!(plan["Loyalty card holder records"], ["2 records will be deleted."]);
    assert_eq!(plan["Loyalty points earned and spent"], ["5 records will be deleted."]);
    assert!(main_text(&page).contains("Searched 24 item(s) found"), "{}", main_text(&page));
    assert_eq!(dump(&crm_db(&app)).await, crm_before, "planning changes nothing");

    // Jeanne confirms; staff review.
    let res = app.decide(&status, "confirm", &[]).await;
    assert_eq!((res.status, res.location()), (303, format!("{status}?said=confirmed")));
    let page = app.get(&res.location()).await.text();
    assert!(page.contains("Thank you: you confirmed the erasure."), "{page}");
    assert!(page.contains("Being reviewed by our team"), "{page}");
    assert_eq!(app.request_status(&status).await, "awaiting_review");
    assert_eq!(dump(&crm_db(&app)).await, crm_before, "nothing is erased before the review");

    let agent = app.add_staff(AGENT, Role::Agent).await;
    app.staff_login(AGENT).await;
    let staff_page = app.get(&format!("/staff/requests/{reference}")).await.text();
    assert!(staff_page.contains("Approve and execute the erasure"), "{staff_page}");
    assert!(staff_page.contains("Keep until December 31, 2033"), "{staff_page}");
    assert!(staff_page.contains("Pseudonymise (Email address replaced by a pseudonym"), "{staff_page}");
    assert_done(&review(&app, &status, &[]).await, "review");
    assert_eq!(app.request_status(&status).await, "executing");
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "completed");

    // The CRM: her contacts anonymised, her interactions gone, nothing else touched.
    let crm_after = dump(&crm_db(&app)).await;
    assert_jeanne_erased_in_crm(&app, &crm_before, &crm_after, &[]);
    assert_eq!(contact(&app, 3).await, paul_before, "Paul is untouched");
    assert_eq!(contact(&app, 4).await, other_jeanne_before, "the other Jeanne is untouched");
    for (table, rows) in [("orders", 1..=4), ("order_lines", 1..=7), ("companies", 1..=1)] {
        for id in rows {
            assert_eq!(crm_after[table][&id], crm_before[table][&id], "{table} {id} is kept as it was");
        }
    }

    // The newsletter: her subscription pseudonymised (the proof of consent stays), her events gone.
    let newsletter_after = dump(&newsletter_db(&app)).await;
    assert_eq!(
        diff(&newsletter_before, &newsletter_after),
        BTreeMap::from([
            ("subscribers".to_owned(), (ids(&[1]), ids(&[]))),
            ("campaign_events".to_owned(), (ids(&[]), ids(&[1, 2, 3, 4, 5]))),
        ])
    );
    let pseudonym = pseudonymiser(&app).pseudonym("JEANNE.MARTIN@example.fr  ");
    assert!(is_pseudonym(&pseudonym));
    assert_eq!(subscriber(&app, 1).await, (pseudonym, None));
    let (consent_before, consent_after) = (&newsletter_before["subscribers"][&1], &newsletter_after["subscribers"][&1]);
    let tail = |row: &str| row.split('|').skip(3).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(tail(consent_after), tail(consent_before), "language and proof of consent kept");

    // The loyalty export: her rows gone, every other byte as it was (the broken line included).
    let members_after = std::fs::read(loyalty_file(&app, dossier::demo::MEMBERS_FILE)).unwrap();
    let decode = |b: &[u8]| encoding_rs::WINDOWS_1252.decode(b).0.into_owned();
    let members = decode(&members_before);
    let card_70001 = "70001;Mme;Martin;Jeanne;jeanne.martin@example.fr;75004;12/03/2016;\r\n";
    let card_70008 = "70008;Mme;Martin;Jeanne;JEANNE.Martin@Example.FR;75004;05/09/2019;\"Carte 70001 perdue le \
                      05/09/2019 ; nouvelle carte émise.\nPoints transférés (voir mouvements).\"\r\n";
    assert!(members.contains(card_70001) && members.contains(card_70008), "{members}");
    let expected = members.replacen(card_70001, "", 1).replacen(card_70008, "", 1);
    assert_eq!(members_after, encoding_rs::WINDOWS_1252.encode(&expected).0.into_owned(), "{}", decode(&members_after));
    let points = decode(&points_before);
    let expected: String =
        points.split_inclusive("\r\n").filter(|l| !l.starts_with("70001;") && !l.starts_with("70008;")).collect();
    assert_eq!(expected.split("\r\n").filter(|l| !l.is_empty()).count(), 1 + 12 - 5, "the header and 7 movements");
    let points_after = std::fs::read(loyalty_file(&app, dossier::demo::POINTS_FILE)).unwrap();
    assert_eq!(points_after, encoding_rs::WINDOWS_1252.encode(&expected).0.into_owned(), "{}", decode(&points_after));

    // Every approved item is recorded as done.
    let all = items(&app, &status).await;
    for i in &all {
        match i.decision.as_str() {
            "approved" => assert!(i.outcome.is_some_and(|o| o.succeeded()) && i.executed_at.is_some(), "{i:?}"),
            "kept" => assert!(i.outcome.is_none() && i.executed_at.is_none(), "{i:?}"),
            other => panic!("{other}: {i:?}"),
        }
    }
    assert_eq!(all.iter().filter(|i| i.decision.as_str() == "kept").count(), 12);

    // Jeanne is told, then her address is forgotten: only its keyed hash stays.
    let done = app.email_with_subject(JEANNE, &format!("Request {reference} is complete"));
    for text in [
        "Changes made in our systems: 25.",
        "Records we must keep, with the reason and until when: 12.",
        "The certificate on your request's page",
    ] {
        assert!(done.text.contains(text), "{text}: {}", done.text);
    }
    assert!(!done.text.contains("Changes not made"), "{}", done.text);
    assert_eq!(done.link(), status);
    let address: Option<String> = sqlx::query_scalar("SELECT email FROM requests WHERE reference = $1")
        .bind(&reference)
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(address, None);

    // Staff: a notice task per recipient of changed data (Art. 19); one is marked as told.
    let staff_page = app.get(&format!("/staff/requests/{reference}")).await.text();
    let id = request_id(&app, &status).await;
    let notices: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT id, source, recipient, status FROM recipient_notices WHERE request_id = $1 ORDER BY source, recipient",
    )
    .bind(&id)
    .fetch_all(app.app.store.pool())
    .await
    .unwrap();
    let who: Vec<(&str, &str, &str)> = notices.iter().map(|n| (n.1.as_str(), n.2.as_str(), n.3.as_str())).collect();
    assert_eq!(
        who,
        [
            ("crm", "OVHcloud (hosting provider, processor)", "pending"),
            ("newsletter", "SendWave Inc. (email delivery, processor)", "pending"),
        ],
        "the processors (`notify = true`) of the erased and anonymised records: not the internal teams, not \
         the accountants of the kept orders"
    );
    assert!(staff_page.contains("Recipients to tell (GDPR Art. 19)"), "{staff_page}");
    for (notice, ..) in &notices {
        assert!(staff_page.contains(&format!("/staff/requests/{reference}/recipients/{notice}")), "{staff_page}");
    }
    let sendwave = &notices[1].0;
    assert_done(&app.staff_act(&reference, &format!("recipients/{sendwave}"), &[]).await, "recipient");
    let (state, by): (String, Option<String>) =
        sqlx::query_as("SELECT status, done_by FROM recipient_notices WHERE id = $1")
            .bind(sendwave)
            .fetch_one(app.app.store.pool())
            .await
            .unwrap();
    assert_eq!((state.as_str(), by), ("done", Some(format!("staff:{}", agent.id))));
    let staff_page = app.get(&format!("/staff/requests/{reference}")).await.text();
    assert!(staff_page.contains("Told — recorded by Test Staff"), "{staff_page}");
    assert!(!staff_page.contains(&format!("/recipients/{sendwave}\"")), "no second mark for the same notice");
    let again = app.staff_act(&reference, &format!("recipients/{sendwave}"), &[]).await;
    assert_refused(&again, "unknown_item");

    // Jeanne comes back, types her address, and reads the certificate.
    app.forget_cookies();
    app.sign_in(&status, JEANNE).await;
    let page = app.get(&status).await.text();
    assert!(page.contains("Completed") && page.contains("Your certificate"), "{page}");
    let certificate = app.get(&format!("{status}/certificate")).await;
    assert_eq!(certificate.status, 200);
    let html = certificate.text();
    let cert = plan_lines(&html);
    assert_eq!(
        cert["Orders and invoices"],
        [format!(
            "4 records kept until a date between December 31, 2029 and December 31, 2035 (each record has its own) — \
             {basis} {law}"
        )]
    );
    assert_eq!(
        cert["Order lines"],
        [format!(
            "7 records kept until a date between December 31, 2029 and December 31, 2035 (each record has its own) — \
             {basis} {law}"
        )]
    );
    assert_eq!(cert["Calls, emails and meetings with our staff"], ["4 records deleted."]);
    assert_eq!(cert["Quote requests sent through our website"], ["2 records deleted."]);
    assert_eq!(cert["Newsletter opens and clicks"], ["5 records deleted."]);
    assert_eq!(cert["Loyalty card holder records"], ["2 records deleted."]);
    assert_eq!(cert["Loyalty points earned and spent"], ["5 records deleted."]);
    // Deleted, anonymised (unlinked) and pseudonymised-and-kept, each said for what it is.
    assert!(cert["Contact records"][0].starts_with("2 records anonymised: "), "{cert:?}");
    assert!(cert["Contact records"][0].contains("Last name replaced by “—”"), "{cert:?}");
    let subscription = &cert["Newsletter subscription"];
    assert_eq!(subscription.len(), 1, "{cert:?}");
    assert!(
        subscription[0].starts_with("1 record pseudonymised (Email address replaced by a pseudonym")
            && subscription[0].contains(
                "and kept until December 31, 2026 — needed to establish, exercise or defend legal claims (GDPR Art. \
                 17(3)(e)). It is still your personal data."
            ),
        "{subscription:?}"
    );
    assert_eq!(
        cert["Your employer's company record"],
        ["1 record that also concerns other people kept, no longer linked to you."]
    );
    let all = format!("{cert:?}");
    assert!(!all.contains("cannot be traced") && !all.contains("does not reveal"), "{all}");
    let text = main_text(&html);
    assert!(text.contains("SendWave Inc. (email delivery, processor) — told on March 10, 2026"), "{text}");
    assert!(text.contains("OVHcloud (hosting provider, processor) — being told"), "{text}");
    assert!(!text.contains("Our marketing team"), "an internal team is no recipient to tell: {text}");
    assert!(text.contains(&reference) && text.contains("Completed on March 10, 2026"), "{text}");

    let file = app.get(&format!("{status}/certificate/download")).await;
    assert_eq!(file.status, 200);
    assert_eq!(
        file.header("content-disposition"),
        Some(format!("attachment; filename=\"certificate-{reference}.html\"").as_str())
    );
    assert_eq!(plan_lines(&file.text()), cert, "the file says what the page says");
    app.run_pending_jobs().await;
    // Queued addresses are sealed (store::emails), so look for any address left on her request's
    // emails: a forgotten one is empty.
    let kept_addresses: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM emails e JOIN requests r ON r.id = e.request_id \
         WHERE r.reference = $1 AND e.to_addr <> ''",
    )
    .bind(&reference)
    .fetch_one(app.app.store.pool())
    .await
    .unwrap();
    assert_eq!(kept_addresses, 0, "no email row keeps her address once delivered");
}
on_both_backends!(an_erasure_runs_end_to_end_and_leaves_a_certificate);

/// Staff exclude one record with a reason: exactly that row stays, and the certificate says why.
/// Without a reason the review is refused and nothing changes.
async fn an_excluded_record_is_kept_with_its_reason(app: TestApp) {
    let crm_before = dump(&crm_db(&app)).await;
    let status = app.request_awaiting_review(JEANNE, "erasure").await;
    let reference = reference_of(&status);
    let disputed = item(&items(&app, &status).await, "interactions", json!(2), None).id.clone();
    app.add_staff(AGENT, Role::Agent).await;
    app.staff_login(AGENT).await;

    let before = decisions(&items(&app, &status).await);
    let exclude = format!("exclude.{disputed}");
    let reason = format!("reason.{disputed}");
    let res = review(&app, &status, &[(&exclude, "1"), (&reason, "   ")]).await;
    assert_refused(&res, "reason_required");
    let page = app.get(&res.location()).await.text();
    assert!(page.contains("Write a reason: it is required for this action."), "{page}");
    assert_eq!(decisions(&items(&app, &status).await), before, "nothing decided");
    assert_eq!(app.request_status(&status).await, "awaiting_review");
    assert_eq!(queued_executions(&app).await, 0);

    let why = "Open dispute about a damaged parcel: kept for the legal claim.";
    assert_done(&review(&app, &status, &[(&exclude, "1"), (&reason, why)]).await, "review");
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "completed");
    let crm_after = dump(&crm_db(&app)).await;
    assert_jeanne_erased_in_crm(&app, &crm_before, &crm_after, &[2]);
    assert_eq!(crm_after["interactions"][&2], crm_before["interactions"][&2], "the excluded row, exactly as it was");
    let excluded = item(&items(&app, &status).await, "interactions", json!(2), None).clone();
    assert_eq!(
        (excluded.decision.as_str(), excluded.decision_reason.as_deref(), excluded.outcome),
        ("excluded", Some(why), None)
    );

    let done = app.email_with_subject(JEANNE, &format!("Request {reference} is complete"));
    assert!(done.text.contains("Changes made in our systems: 24."), "{}", done.text);
    assert!(done.text.contains("Changes not made, with the reason: 1."), "{}", done.text);
    app.forget_cookies();
    app.sign_in(&status, JEANNE).await;
    let cert = plan_lines(&app.get(&format!("{status}/certificate")).await.text());
    assert_eq!(
        cert["Calls, emails and meetings with our staff"],
        lines(&["3 records deleted.", &format!("1 record not erased: our team excluded it. Reason: {why}")])
    );
}
on_both_backends!(an_excluded_record_is_kept_with_its_reason);

/// Decisions nobody may take: on someone else's plan, twice, on an item the review does not
/// offer, before the person confirmed, or by an auditor. Each is refused and changes nothing.
async fn decisions_out_of_turn_change_nothing(app: TestApp) {
    let crm_before = dump(&crm_db(&app)).await;
    let status = planned_request(&app, JEANNE, "erasure").await;
    let reference = reference_of(&status);
    let proposed = decisions(&items(&app, &status).await);

    // Paul, signed in for his own request, tries to confirm (or withdraw) Jeanne's plan: the
    // answer is the one for a request that does not exist.
    app.forget_cookies();
    let paul = app.verified_request(PAUL, "access").await;
    let csrf = app.csrf(&paul).await;
    let res = app.post("/requests/DSR-2026-999999/confirm", &[("csrf", &csrf)]).await;
    assert_eq!((res.status, res.location()), (303, "/requests/DSR-2026-999999".to_owned()));
    for action in ["confirm", "withdraw"] {
        let res = app.post(&format!("{status}/{action}"), &[("csrf", &csrf)]).await;
        assert_eq!((res.status, res.location()), (303, status.clone()), "{action}: as for no request");
    }
    let page = app.get(&status).await.text();
    assert!(page.contains("Show that it is you") && !page.contains("Confirm the erasure"), "{page}");
    assert_eq!(app.request_status(&status).await, "awaiting_confirmation");
    assert_eq!(decisions(&items(&app, &status).await), proposed);

    // Staff cannot approve a plan the person has not confirmed.
    app.add_staff(AGENT, Role::Agent).await;
    app.add_staff(AUDITOR, Role::Auditor).await;
    app.staff_login(AGENT).await;
    assert_refused(&review(&app, &status, &[]).await, "not_in_this_state");
    assert_eq!(decisions(&items(&app, &status).await), proposed);

    // Jeanne confirms twice (a second tab): the second is told the request has moved on.
    app.forget_cookies();
    app.sign_in(&status, JEANNE).await;
    let page = app.get(&status).await.text();
    let csrf = crate::helpers::hidden(&page, "csrf").unwrap();
    let first = app.post(&format!("{status}/confirm"), &[("csrf", &csrf)]).await;
    assert_eq!(first.location(), format!("{status}?said=confirmed"));
    let pending = decisions(&items(&app, &status).await);
    let second = app.post(&format!("{status}/confirm"), &[("csrf", &csrf)]).await;
    assert_eq!((second.status, second.location()), (303, format!("{status}?said=not_now")));
    let page = app.get(&second.location()).await.text();
    assert!(page.contains("This request is no longer waiting for your decision"), "{page}");
    assert_eq!(decisions(&items(&app, &status).await), pending);
    let id = request_id(&app, &status).await;
    let confirmed =
        count(&app, "SELECT COUNT(*) FROM audit_events WHERE request_id = $1 AND event = 'plan_confirmed'", &id).await;
    assert_eq!(confirmed, 1);
    let withdraw = app.post(&format!("{status}/withdraw"), &[("csrf", &csrf)]).await;
    assert_eq!(withdraw.location(), format!("{status}?said=not_now"), "too late to withdraw");
    assert_eq!(app.request_status(&status).await, "awaiting_review");

    // A crafted review: an item that does not exist, one that is not waiting for review (a kept
    // order), an item of another request, a decision the form never offers.
    app.staff_login(AGENT).await;
    let order = item(&items(&app, &status).await, "orders", json!(1), None).id.clone();
    let other = planned_request(&app, OTHER_JEANNE, "erasure").await;
    app.decide(&other, "confirm", &[]).await;
    let foreign = items(&app, &other).await.into_iter().find(|i| i.decision.as_str() == "pending").unwrap().id;
    app.staff_login(AGENT).await;
    for id in ["0123456789abcdef", order.as_str(), foreign.as_str()] {
        let exclude = format!("exclude.{id}");
        let reason = format!("reason.{id}");
        let res = review(&app, &status, &[(&exclude, "1"), (&reason, "Crafted")]).await;
        assert_refused(&res, "unknown_item");
    }
    let interaction = item(&items(&app, &status).await, "interactions", json!(1), None).id.clone();
    let res = review(&app, &status, &[(&format!("decision.{interaction}"), "maybe")]).await;
    assert_refused(&res, "unknown_item");
    let page = app.get(&res.location()).await.text();
    assert!(page.contains("That item is not waiting for a decision on this request."), "{page}");
    assert_eq!(decisions(&items(&app, &status).await), pending);
    assert_eq!(app.request_status(&status).await, "awaiting_review");
    assert_eq!(queued_executions(&app).await, 0);

    // An auditor reads the plan but cannot review it, retry it, or mark a recipient.
    app.staff_login(AUDITOR).await;
    let page = app.get(&format!("/staff/requests/{reference}")).await.text();
    assert!(page.contains("Waiting for review") && !page.contains("name=\"exclude."), "no review form: {page}");
    let csrf = app.csrf(&format!("/staff/requests/{reference}")).await;
    for action in ["review", "retry", "recipients/0123456789abcdef"] {
        let res = app.post(&format!("/staff/requests/{reference}/{action}"), &[("csrf", &csrf)]).await;
        assert_eq!(res.status, 403, "{action}");
    }
    assert_eq!(decisions(&items(&app, &status).await), pending);
    assert_eq!(app.request_status(&status).await, "awaiting_review");
    assert_eq!(queued_executions(&app).await, 0);
    assert_eq!(dump(&crm_db(&app)).await, crm_before);
}
on_both_backends!(decisions_out_of_turn_change_nothing);

// ---------------------------------------------------------------------------------------------
// Rectification

async fn a_correction_is_checked_reviewed_and_written_exactly(app: TestApp) {
    let crm_before = dump(&crm_db(&app)).await;
    let newsletter_before = dump(&newsletter_db(&app)).await;
    let members_before = std::fs::read(loyalty_file(&app, dossier::demo::MEMBERS_FILE)).unwrap();
    let status = planned_request(&app, JEANNE, "rectification").await;
    let reference = reference_of(&status);
    let all = items(&app, &status).await;
    let phone = item(&all, "contacts", json!(1), Some("phone")).id.clone();
    let job = item(&all, "contacts", json!(1), Some("job_title")).id.clone();
    let postcode = item(&all, "members", json!("70001"), Some("Code postal")).id.clone();

    // The form shows what the sources hold now.
    let page = app.get(&status).await.text();
    assert!(page.contains("Your corrections"), "{page}");
    let current = |id: &str| -> String {
        let marker = format!("id=\"f-{id}-current\">");
        strip_tags(page.split(&marker).nth(1).unwrap().split("</p>").next().unwrap())
    };
    assert_eq!(current(&phone), "We have: +33 6 12 34 56 78");
    assert_eq!(current(&job), "We have: Gérante");
    assert_eq!(current(&postcode), "We have: 75004");
    let phone_2 = item(&all, "contacts", json!(2), Some("phone")).id.clone();
    assert_eq!(current(&phone_2), "We have: nothing", "her older contact has no phone");
    for id in [&phone, &job, &postcode, &phone_2] {
        assert!(page.contains(&format!("name=\"v.{id}\"")), "{id}");
    }
    let proposed = decisions(&all);

    // A malformed phone number: the form comes back with the message beside the field.
    let v_phone = format!("v.{phone}");
    let v_job = format!("v.{job}");
    let res = app.decide(&status, "corrections", &[(&v_phone, "06 12 34"), (&v_job, "Libraire en chef")]).await;
    assert_eq!(res.status, 422);
    let page = res.text();
    let error = page.split(&format!("id=\"f-{phone}-error\">")).nth(1).expect("an error beside the phone field");
    assert!(
        error.starts_with("Enter the number in international format, starting with + and the country code"),
        "{error}"
    );
    assert!(page.contains("value=\"06 12 34\"") && page.contains("value=\"Libraire en chef\""), "typed values kept");
    assert!(page.contains("Nothing was changed"), "{page}");
    assert_eq!(decisions(&items(&app, &status).await), proposed);
    assert!(items(&app, &status).await.iter().all(|i| i.detail.get("new").is_none()), "nothing stored");
    assert_eq!(app.request_status(&status).await, "awaiting_confirmation");

    // A field the form never offered: another request's item, or no item at all.
    let another = planned_request(&app, "jeanne.martin2@example.fr", "rectification").await;
    let foreign = items(&app, &another).await[0].id.clone();
    app.forget_cookies();
    app.sign_in(&status, JEANNE).await;
    for bogus in [format!("v.{foreign}"), "v.0123456789abcdef".to_owned()] {
        let res = app.decide(&status, "corrections", &[(&v_phone, "+33 6 12 34 56 78"), (&bogus, "Dupont")]).await;
        assert_eq!(res.status, 422, "{bogus}");
        assert!(res.text().contains("This form asked to correct a detail we did not offer."), "{}", res.text());
    }
    assert_eq!(decisions(&items(&app, &status).await), proposed);
    assert_eq!(app.request_status(&status).await, "awaiting_confirmation");

    // A valid proposal: the phone in international format, and a job title.
    let res =
        app.decide(&status, "corrections", &[(&v_phone, "+33 6 12 34 56 78"), (&v_job, "Libraire en chef")]).await;
    assert_eq!((res.status, res.location()), (303, format!("{status}?said=corrections")));
    let chosen = items(&app, &status).await;
    assert_eq!(chosen.len(), 2, "what she did not correct is dropped");
    assert_eq!(item(&chosen, "contacts", json!(1), Some("phone")).detail["new"], "+33612345678");
    let page = app.get(&status).await.text();
    assert!(page.contains("Phone number: +33 6 12 34 56 78 → +33612345678"), "{page}");

    // Staff accept the phone and reject the job title.
    app.add_staff(AGENT, Role::Agent).await;
    app.staff_login(AGENT).await;
    let decision_phone = format!("decision.{phone}");
    let decision_job = format!("decision.{job}");
    let reason_job = format!("reason.{job}");
    assert_refused(
        &review(&app, &status, &[(&decision_phone, "accept"), (&decision_job, "reject")]).await,
        "reason_required",
    );
    let why = "Our records show you as the manager; please send us a document if this changed.";
    let res =
        review(&app, &status, &[(&decision_phone, "accept"), (&decision_job, "reject"), (&reason_job, why)]).await;
    assert_done(&res, "review");
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "completed");

    let crm_after = dump(&crm_db(&app)).await;
    assert_eq!(diff(&crm_before, &crm_after), BTreeMap::from([("contacts".to_owned(), (ids(&[1]), ids(&[])))]));
    let jeanne = contact(&app, 1).await;
    assert_eq!(jeanne.4.as_deref(), Some("+33612345678"), "the phone, exactly as normalised");
    assert_eq!(jeanne.5.as_deref(), Some("Gérante"), "the rejected job title is unchanged");
    let mut expected: Vec<String> = crm_before["contacts"][&1].split('|').map(str::to_owned).collect();
    expected[6] = "'+33612345678'".into();
    assert_eq!(crm_after["contacts"][&1], expected.join("|"), "no other field of her contact changed");
    assert_eq!(dump(&newsletter_db(&app)).await, newsletter_before);
    assert_eq!(std::fs::read(loyalty_file(&app, dossier::demo::MEMBERS_FILE)).unwrap(), members_before);

    // She is told what was corrected, and why the rest was not.
    let done = app.email_with_subject(JEANNE, &format!("Request {reference} is complete"));
    assert!(done.text.contains("Changes made in our systems: 1."), "{}", done.text);
    assert!(done.text.contains("Changes not made, with the reason: 1."), "{}", done.text);
    app.forget_cookies();
    app.sign_in(&status, JEANNE).await;
    let cert = plan_lines(&app.get(&format!("{status}/certificate")).await.text());
    assert_eq!(
        cert["Contact records"],
        lines(&[
            "Phone number: +33 6 12 34 56 78 → +33612345678 (corrected)",
            &format!("Job title: not changed to Libraire en chef. Reason: {why}"),
        ])
    );
}
on_both_backends!(a_correction_is_checked_reviewed_and_written_exactly);

// ---------------------------------------------------------------------------------------------
// Objection

/// `unsubscribed_at` of a newsletter subscriber.
async fn unsubscribed_at(app: &TestApp, id: i64) -> Option<String> {
    let mut conn = open(&newsletter_db(app)).await;
    let at = sqlx::query_scalar("SELECT unsubscribed_at FROM subscribers WHERE id = $1")
        .bind(id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    at
}

/// `no_surveys, restricted` of a CRM contact.
async fn contact_markers(app: &TestApp, id: i64) -> (i64, i64) {
    let mut conn = open(&crm_db(app)).await;
    let row = sqlx::query_as("SELECT no_surveys, restricted FROM contacts WHERE id = $1")
        .bind(id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    row
}

/// The purposes the objection form offers, in order.
fn offered(page: &str) -> Vec<String> {
    page.match_indices("name=\"purpose\" value=\"")
        .map(|(at, m)| page[at + m.len()..].split('"').next().unwrap().to_owned())
        .collect()
}

async fn notices_of(app: &TestApp, status: &str) -> Vec<(String, String)> {
    let id = request_id(app, status).await;
    sqlx::query_as("SELECT source, recipient FROM recipient_notices WHERE request_id = $1 ORDER BY source, recipient")
        .bind(&id)
        .fetch_all(app.app.store.pool())
        .await
        .unwrap()
}

/// An objection to direct marketing is honoured at once (Art. 21(3)), without review, in every
/// collection that serves it: the CRM flag and the newsletter subscription alike, and nowhere
/// else; the certificate lists each, and cites no Art. 19 (no recipient is told of an objection).
async fn an_objection_to_direct_marketing_needs_no_review(app: TestApp) {
    let crm_before = dump(&crm_db(&app)).await;
    let newsletter_before = dump(&newsletter_db(&app)).await;
    let status = planned_request(&app, JEANNE, "objection").await;
    let reference = reference_of(&status);
    let page = app.get(&status).await.text();
    assert_eq!(
        offered(&page),
        ["direct-marketing", "consent-withdrawal", "legitimate-interests", "restriction"],
        "every choice the demo configures, once each"
    );
    assert!(page.contains("Stopped at once, no review needed"), "{page}");
    assert!(
        page.contains(
            "Concerns: Contact records (Customer relationship management (CRM)), Newsletter subscription (Newsletter)"
        ),
        "the marketing choice names both places it stops: {page}"
    );

    let res = app.decide(&status, "objections", &[]).await;
    assert_eq!(res.status, 422, "nothing ticked");
    assert!(res.text().contains("Tick at least one use of your data"), "{}", res.text());
    let res = app.decide(&status, "objections", &[("purpose", "profiling")]).await;
    assert_eq!(res.status, 422, "a purpose the form does not offer");
    assert_eq!(app.request_status(&status).await, "awaiting_confirmation");

    let res = app.decide(&status, "objections", &[("purpose", "direct-marketing")]).await;
    assert_eq!((res.status, res.location()), (303, format!("{status}?said=objections")));
    assert_eq!(app.request_status(&status).await, "executing", "no staff review");
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "completed");
    let id = request_id(&app, &status).await;
    let reviewed = count(
        &app,
        "SELECT COUNT(*) FROM audit_events WHERE request_id = $1 AND (event = 'reviewed' OR detail LIKE '%awaiting_review%')",
        &id,
    )
    .await;
    assert_eq!(reviewed, 0, "never waited for staff");

    let crm_after = dump(&crm_db(&app)).await;
    assert_eq!(
        diff(&crm_before, &crm_after),
        BTreeMap::from([("contacts".to_owned(), (ids(&[1]), ids(&[])))]),
        "contact 2 had objected already; no one else is touched"
    );
    assert!(contact(&app, 1).await.6 && contact(&app, 2).await.6);
    assert!(!contact(&app, 3).await.6 && !contact(&app, 4).await.6, "Paul and the other Jeanne still get news");
    let mut expected: Vec<String> = crm_before["contacts"][&1].split('|').map(str::to_owned).collect();
    expected[9] = "1".into();
    assert_eq!(crm_after["contacts"][&1], expected.join("|"));
    assert_eq!(contact_markers(&app, 1).await, (0, 0), "surveys and restriction were not chosen");
    // The newsletter: her subscription ends at the moment she objected; the other Jeanne's stays.
    assert_eq!(
        diff(&newsletter_before, &dump(&newsletter_db(&app)).await),
        BTreeMap::from([("subscribers".to_owned(), (ids(&[1]), ids(&[])))])
    );
    assert_eq!(unsubscribed_at(&app, 1).await.as_deref(), Some("2026-03-10T09:00:00Z"));
    assert_eq!(unsubscribed_at(&app, 2).await, None);

    let done = app.email_with_subject(JEANNE, &format!("Request {reference} is complete"));
    assert!(done.text.contains("Changes made in our systems: 3."), "{}", done.text);
    let html = app.get(&format!("{status}/certificate")).await.text();
    let cert = plan_lines(&html);
    assert_eq!(
        cert["Contact records"],
        ["Information about our products by email or phone: applied to 2 records — your data is no longer used for \
             direct marketing."]
    );
    assert_eq!(
        cert["Newsletter subscription"],
        ["Our newsletter and offers by email: applied to 1 record — your data is no longer used for direct marketing."]
    );
    assert!(!html.contains("GDPR Art. 19"), "Art. 19 covers rectification, erasure and restriction, not objection");
    assert!(notices_of(&app, &status).await.is_empty(), "no recipient is told of an objection");
}
on_both_backends!(an_objection_to_direct_marketing_needs_no_review);

/// Withdrawing consent (Art. 7(3)) is honoured at once in every consent-based collection (the
/// newsletter), and only there: the CRM rests on the contract and legitimate interests.
async fn a_withdrawal_of_consent_unsubscribes_the_newsletter_only(app: TestApp) {
    let crm_before = dump(&crm_db(&app)).await;
    let status = planned_request(&app, JEANNE, "objection").await;
    let page = app.get(&status).await.text();
    assert!(page.contains("you may withdraw your consent at any time"), "{page}");
    assert!(page.contains("Concerns: Newsletter subscription (Newsletter)<"), "{page}");
    let res = app.decide(&status, "objections", &[("purpose", "consent-withdrawal")]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert_eq!(app.request_status(&status).await, "executing", "no staff review (Art. 7(3))");
    app.run_pending_jobs().await;
    assert_eq!(app.request_status(&status).await, "completed");
    assert_eq!(unsubscribed_at(&app, 1).await.as_deref(), Some("2026-03-10T09:00:00Z"));
    assert_eq!(unsubscribed_at(&app, 2).await, None);
    assert_eq!(dump(&crm_db(&app)).await, crm_before, "nothing in the CRM rests on consent");
    let by: Vec<Option<String>> = sqlx::query_scalar("SELECT decided_by FROM plan_items WHERE request_id = $1")
        .bind(request_id(&app, &status).await)
        .fetch_all(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(by, [Some("law:gdpr-art-7-3".to_owned())]);
    app.add_staff(AUDITOR, Role::Auditor).await;
    app.staff_login(AUDITOR).await;
    let staff_page = app.get(&format!("/staff/requests/{}", reference_of(&status))).await.text();
    assert!(staff_page.contains("Approved by law: consent withdrawn (GDPR Art. 7(3))"), "{staff_page}");
    assert!(!staff_page.contains("Art. 21(3)"), "not an objection to direct marketing: {staff_page}");
    app.forget_cookies();
    app.sign_in(&status, JEANNE).await;
    let cert = plan_lines(&app.get(&format!("{status}/certificate")).await.text());
    assert_eq!(
        cert["Newsletter subscription"],
        ["Withdraw the consent you gave us (newsletters and other uses that rest on your consent): applied to 1 \
          record — what rested on your consent has stopped."]
    );
    assert_eq!(cert.len(), 1, "{cert:?}");
}
on_both_backends!(a_withdrawal_of_consent_unsubscribes_the_newsletter_only);

/// An objection to processing on legitimate interests (Art. 21(1)) and a restriction (Art. 18)
/// wait for staff; once approved, the markers are written, and the processors are told of the
/// restriction (Art. 19).
async fn legitimate_interests_and_restriction_go_to_staff(app: TestApp) {
    app.add_staff(AGENT, Role::Agent).await;
    let status = planned_request(&app, JEANNE, "objection").await;
    let page = app.get(&status).await.text();
    assert!(
        page.contains("while you contest its accuracy, when its use is unlawful and you prefer this to erasure"),
        "the cases of Art. 18(1) in plain words: {page}"
    );
    let form = [("purpose", "legitimate-interests"), ("purpose", "restriction")];
    assert_eq!(app.decide(&status, "objections", &form).await.status, 303);
    assert_eq!(app.request_status(&status).await, "awaiting_review", "Art. 21(1): the controller may show grounds");
    app.run_pending_jobs().await;
    assert_eq!(contact_markers(&app, 1).await, (0, 0), "nothing is written before staff decide");

    app.forget_cookies();
    app.staff_login(AGENT).await;
    assert_done(&review(&app, &status, &[]).await, "review");
    app.run_pending_jobs().await;
    assert_eq!(app.request_status(&status).await, "completed");
    assert_eq!(contact_markers(&app, 1).await, (1, 1));
    assert_eq!(contact_markers(&app, 2).await, (1, 1));
    assert_eq!(contact_markers(&app, 3).await, (0, 0), "Paul is not touched");
    assert!(!contact(&app, 1).await.6, "direct marketing was not chosen");
    assert_eq!(unsubscribed_at(&app, 1).await, None);
    assert_eq!(
        notices_of(&app, &status).await,
        [("crm".to_owned(), "OVHcloud (hosting provider, processor)".to_owned())],
        "Art. 19: the processor of the restricted records, once; not the internal teams"
    );
}
on_both_backends!(legitimate_interests_and_restriction_go_to_staff);

/// Startup refuses a collection that serves direct marketing, or rests on consent, without the
/// suppression an objection or a withdrawal must run: one sentence naming source, collection
/// and key.
async fn a_marketing_collection_without_suppression_is_refused_at_startup(app: TestApp) {
    let extra = |art15: &str| -> dossier::connectors::SourceConfig {
        toml::from_str(&format!(
            "kind = 'sql'\nname = 'shop'\nurl = 'sqlite://{}/shop.db?mode=ro'\n[[collections]]\nname = 'buyers'\n\
             table = 'buyers'\nemail_columns = ['email']\nkey = ['id']\n[collections.art15]\n{art15}\n",
            app.data_dir().display()
        ))
        .unwrap()
    };
    for (art15, key) in
        [("direct_marketing = true", "`art15.direct_marketing = true`"), ("basis = 'consent'", "`art15.basis`")]
    {
        let mut settings = app.app.settings.clone();
        settings.sources.push(extra(art15));
        let Err(e) = dossier::startup::Application::build(settings, std::sync::Arc::new(app.clock.clone())).await
        else {
            panic!("{art15}: the server started");
        };
        let message = format!("{e:#}");
        assert!(message.contains(&format!("source `shop`, collection `buyers`: {key}")), "{message}");
        assert!(message.contains("suppression rule"), "{message}");
    }
}
on_both_backends!(a_marketing_collection_without_suppression_is_refused_at_startup);

/// The home page promises exactly the objection choices the configuration implements.
async fn the_portal_offers_the_objection_choices_the_configuration_makes_true(app: TestApp) {
    let home = main_text(&app.get("/").await.text());
    assert!(
        home.contains(
            "You can ask us to stop direct marketing, withdraw your consent, stop a use based on our legitimate \
             interests (our team reviews it), limit the use of your data while a question is examined."
        ),
        "{home}"
    );
    // Only the newsletter: marketing and consent, no "limit use".
    let (_, browser) = app
        .instance_with(|s| {
            s.sources.retain(|c| c.name() == "newsletter");
        })
        .await;
    let home = main_text(&browser.get("/").await.text());
    assert!(home.contains("You can ask us to stop direct marketing, withdraw your consent."), "{home}");
    assert!(!home.contains("limit") && !home.contains("legitimate"), "{home}");
    // Nothing that suppresses: no promise.
    let (_, browser) = app.instance_with(|s| s.sources.retain(|c| c.name() == "loyalty")).await;
    let home = main_text(&browser.get("/").await.text());
    assert!(home.contains("Tell us which use of your data you object to; our team will answer you."), "{home}");
    assert!(!home.contains("You can ask us to"), "{home}");
}
on_both_backends!(the_portal_offers_the_objection_choices_the_configuration_makes_true);

// ---------------------------------------------------------------------------------------------
// Failures

/// Makes every deletion of newsletter events fail, as a source failing mid-transaction would.
async fn break_newsletter(app: &TestApp) {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(newsletter_db(app));
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql(
        "CREATE TRIGGER outage BEFORE DELETE ON campaign_events BEGIN SELECT RAISE(ABORT, 'simulated outage'); END",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
}

async fn repair_newsletter(app: &TestApp) {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(newsletter_db(app));
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql("DROP TRIGGER outage").execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

/// `(source, outcome, executed_at)` of every approved item, to show what ran when.
async fn executions(app: &TestApp, status: &str) -> Vec<(String, Option<&'static str>, Option<i64>)> {
    items(app, status)
        .await
        .into_iter()
        .filter(|i| i.decision.as_str() == "approved")
        .map(|i| (i.source, i.outcome.map(|o| o.as_str()), i.executed_at))
        .collect()
}

/// The newsletter fails on every attempt: the job is retried with backoff, then the request needs
/// attention, with the CRM and loyalty changes kept. Once the cause is fixed, staff retry: only
/// the newsletter runs, and the request completes.
async fn a_failing_source_is_retried_then_staff_retry_it_once_fixed(app: TestApp) {
    let crm_before = dump(&crm_db(&app)).await;
    let newsletter_before = dump(&newsletter_db(&app)).await;
    let status = app.request_awaiting_review(JEANNE, "erasure").await;
    let reference = reference_of(&status);
    app.add_staff(AGENT, Role::Agent).await;
    app.staff_login(AGENT).await;
    break_newsletter(&app).await;
    assert_done(&review(&app, &status, &[]).await, "review");
    app.run_pending_jobs().await;
    assert_eq!(app.request_status(&status).await, "executing", "a first failure is retried");
    assert_eq!(dump(&newsletter_db(&app)).await, newsletter_before, "the failed transaction left nothing behind");

    for _ in 0..10 {
        if app.unfinished_jobs().await == 0 {
            break;
        }
        app.clock.advance(time::Duration::hours(7));
        app.run_pending_jobs().await;
    }
    assert_eq!(app.unfinished_jobs().await, 0);
    let (state, attempts, error): (String, i32, String) =
        sqlx::query_as("SELECT status, attempts, last_error FROM jobs WHERE kind = 'execute' AND status <> 'done'")
            .fetch_one(app.app.store.pool())
            .await
            .unwrap();
    assert_eq!((state.as_str(), attempts), ("dead", app.app.settings.jobs.max_attempts));
    // Only the connector's sentence is kept (the database's own message may quote values).
    assert!(error.contains("executing on newsletter") && !error.contains("simulated outage"), "{error}");
    assert_eq!(app.request_status(&status).await, "needs_attention");
    assert_eq!(dump(&newsletter_db(&app)).await, newsletter_before);

    // The other sources' changes are kept, and recorded.
    let crm_done = dump(&crm_db(&app)).await;
    assert_jeanne_erased_in_crm(&app, &crm_before, &crm_done, &[]);
    let members_done = std::fs::read(loyalty_file(&app, dossier::demo::MEMBERS_FILE)).unwrap();
    let points_done = std::fs::read(loyalty_file(&app, dossier::demo::POINTS_FILE)).unwrap();
    let ran = executions(&app, &status).await;
    for (source, outcome, at) in &ran {
        match source.as_str() {
            "newsletter" => assert_eq!((*outcome, *at), (None, None)),
            _ => assert!(outcome.is_some() && at.is_some(), "{source}"),
        }
    }

    // Staff see which source failed and why; the person sees a delay, not a failure of theirs.
    app.staff_login(AGENT).await;
    let page = app.get(&format!("/staff/requests/{reference}")).await.text();
    let text = main_text(&page);
    assert!(text.contains("Needs attention"), "{text}");
    let newsletter = text.split("Newsletter").nth(1).unwrap_or_default();
    // The connector's sentence, not the database's own message (which may quote values).
    assert!(
        newsletter.trim_start().starts_with("Failed") && newsletter.contains("changing table campaign_events"),
        "{text}"
    );
    assert!(page.contains(&format!("action=\"/staff/requests/{reference}/retry\"")), "{page}");
    app.forget_cookies();
    app.sign_in(&status, JEANNE).await;
    let page = app.get(&status).await.text();
    assert!(page.contains("Delayed") && page.contains("One of our systems did not complete the change."), "{page}");

    // Some sources changed already: refusing or cancelling now would hide it; both are refused.
    app.staff_login(AGENT).await;
    let deny = [("ground", "excessive"), ("reason", "Too many requests.")];
    assert_refused(&app.staff_act(&reference, "deny", &deny).await, "already_changed");
    assert_refused(&app.staff_act(&reference, "cancel", &[("reason", "She called.")]).await, "already_changed");
    assert_eq!(app.request_status(&status).await, "needs_attention");

    // Fixed: staff retry; only the newsletter runs.
    repair_newsletter(&app).await;
    assert_done(&app.staff_act(&reference, "retry", &[]).await, "retry");
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "completed");
    assert_eq!(dump(&crm_db(&app)).await, crm_done, "nothing applied twice in the CRM");
    assert_eq!(std::fs::read(loyalty_file(&app, dossier::demo::MEMBERS_FILE)).unwrap(), members_done);
    assert_eq!(std::fs::read(loyalty_file(&app, dossier::demo::POINTS_FILE)).unwrap(), points_done);
    let after = executions(&app, &status).await;
    for (before, now) in ran.iter().zip(&after) {
        if before.0 != "newsletter" {
            assert_eq!(before, now, "the CRM and loyalty items were not executed again");
        }
    }
    assert!(after.iter().all(|(_, outcome, _)| *outcome == Some("applied") || *outcome == Some("already")));
    let id = request_id(&app, &status).await;
    let executed: Vec<String> = sqlx::query_scalar(
        "SELECT detail FROM audit_events WHERE request_id = $1 AND event = 'source_executed' ORDER BY ord",
    )
    .bind(&id)
    .fetch_all(app.app.store.pool())
    .await
    .unwrap();
    let sources: Vec<String> = executed
        .iter()
        .map(|d| serde_json::from_str::<serde_json::Value>(d).unwrap()["source"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = sources.clone();
    sorted.sort();
    assert_eq!(sorted, ["crm", "loyalty", "newsletter"], "each source executed once: {sources:?}");
    assert_eq!(subscriber(&app, 1).await, (pseudonymiser(&app).pseudonym("JEANNE.MARTIN@example.fr  "), None));
    let events = dump(&newsletter_db(&app)).await["campaign_events"].clone();
    assert!((1..=5).all(|id| !events.contains_key(&id)) && events.contains_key(&6), "hers gone, others kept");
}
on_both_backends!(a_failing_source_is_retried_then_staff_retry_it_once_fixed);

/// Runs `sql` on the demo CRM, as another program writing to it would.
async fn on_crm(app: &TestApp, sql: &'static str) {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(crm_db(app));
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

/// The CRM does not keep what was written (a synchronisation puts the old flag back): the
/// request needs attention instead of completing. Once staff fixed the cause and retry, the
/// suppression is written again and the request completes with the flag set.
async fn a_change_the_source_did_not_keep_is_applied_again_after_a_retry(app: TestApp) {
    let status = planned_request(&app, JEANNE, "objection").await;
    let reference = reference_of(&status);
    on_crm(
        &app,
        "CREATE TRIGGER resync AFTER UPDATE OF no_marketing ON contacts \
         BEGIN UPDATE contacts SET no_marketing = 0 WHERE id = NEW.id; END",
    )
    .await;
    let res = app.decide(&status, "objections", &[("purpose", "direct-marketing")]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "needs_attention", "never a silent \"completed\"");
    assert!(!contact(&app, 1).await.6, "the source did not keep it");
    let outcomes: Vec<(String, Option<&str>)> =
        items(&app, &status).await.iter().map(|i| (i.source.clone(), i.outcome.map(|o| o.as_str()))).collect();
    let crm = |s: &str| (s.to_owned(), Some("mismatch"));
    assert_eq!(
        outcomes,
        [crm("crm"), crm("crm"), ("newsletter".to_owned(), Some("applied"))],
        "the newsletter kept its unsubscription"
    );
    assert!(app.emails().iter().all(|m| !m.subject.contains("is complete")));

    app.add_staff(AGENT, Role::Agent).await;
    app.staff_login(AGENT).await;
    let page = app.get(&format!("/staff/requests/{reference}")).await.text();
    assert!(page.contains("Mismatch: the source did not keep the change"), "{page}");
    on_crm(&app, "DROP TRIGGER resync").await;
    assert_done(&app.staff_act(&reference, "retry", &[]).await, "retry");
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(
        (contact(&app, 1).await.6, contact(&app, 2).await.6),
        (true, true),
        "the objection to direct marketing is honoured once the cause is fixed (the request is now {})",
        app.request_status(&status).await
    );
    let outcomes: Vec<Option<&str>> =
        items(&app, &status).await.iter().map(|i| i.outcome.map(|o| o.as_str())).collect();
    assert_eq!(outcomes, [Some("applied"); 3]);
    assert_eq!(app.request_status(&status).await, "completed");
}
on_both_backends!(a_change_the_source_did_not_keep_is_applied_again_after_a_retry);

/// Everything a source holds: every table of an SQLite source, or the bytes of every file of the
/// CSV one.
async fn source_state(app: &TestApp, source: &str) -> Dump {
    match source {
        "crm" => dump(&crm_db(app)).await,
        "newsletter" => dump(&newsletter_db(app)).await,
        "loyalty" => [dossier::demo::MEMBERS_FILE, dossier::demo::POINTS_FILE]
            .into_iter()
            .map(|f| {
                let bytes = std::fs::read(loyalty_file(app, f)).unwrap();
                (f.to_owned(), BTreeMap::from([(0, format!("{bytes:?}"))]))
            })
            .collect(),
        other => panic!("{other}"),
    }
}

/// A crash after a source committed and before Dossier recorded it: the execution runs again,
/// and the sources end exactly as after one run. Every source but `last` goes through the crash;
/// `last` waits an hour, so that the request is still executing meanwhile.
async fn crash_window(app: &TestApp, last: &str) {
    let status = app.request_awaiting_review(JEANNE, "erasure").await;
    let id = request_id(app, &status).await;
    app.add_staff(AGENT, Role::Agent).await;
    app.staff_login(AGENT).await;
    assert_done(&review(app, &status, &[]).await, "review");
    sqlx::query("UPDATE jobs SET run_at = run_at + 3600000 WHERE kind = 'execute' AND idempotency_key LIKE $1")
        .bind(format!("execute:{id}:{last}:%"))
        .execute(app.app.store.pool())
        .await
        .unwrap();
    app.run_pending_jobs().await;
    assert_eq!(app.request_status(&status).await, "executing");
    let crashed: Vec<&str> = ["crm", "loyalty", "newsletter"].into_iter().filter(|s| *s != last).collect();
    let mut once = BTreeMap::new();
    for source in &crashed {
        once.insert(*source, source_state(app, source).await);
    }
    let outcomes_once: Vec<_> = items(app, &status).await.into_iter().map(|i| (i.id, i.outcome)).collect();

    // The crash: the sources committed, Dossier never recorded it; the execution is queued again.
    for source in &crashed {
        let reset = sqlx::query(
            "UPDATE plan_items SET executed_at = NULL, outcome = NULL WHERE request_id = $1 AND source = $2 \
             AND decision = 'approved'",
        )
        .bind(&id)
        .bind(*source)
        .execute(app.app.store.pool())
        .await
        .unwrap();
        assert!(reset.rows_affected() > 0, "{source}");
        let mut tx = app.app.store.begin().await.unwrap();
        dossier::services::progress::enqueue_execution(&app.app, &mut tx, &id, source, app.app.now_ms()).await.unwrap();
        tx.commit().await.unwrap();
    }
    app.run_pending_jobs().await;
    for source in &crashed {
        assert_eq!(source_state(app, source).await, once[source], "{source}: everything as after one run");
    }
    // The second attempt no longer finds the person's records (deleted, anonymised or
    // pseudonymised down to their address): the first attempt applied them ("already").
    for i in items(app, &status).await.iter().filter(|i| crashed.contains(&i.source.as_str())) {
        let expected = match i.action.as_str() {
            "anonymise" | "pseudonymise" | "delete" => Some("already"),
            _ => None,
        };
        assert_eq!(i.outcome.map(|o| o.as_str()), expected, "{} {:?}", i.collection, i.record_key);
    }
    assert_eq!(app.request_status(&status).await, "executing", "{last} is still to run");

    app.clock.advance(time::Duration::hours(2));
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "completed");
    let recorded = |sql: &'static str| count(app, sql, &id);
    assert_eq!(
        recorded("SELECT COUNT(*) FROM audit_events WHERE request_id = $1 AND event = 'source_executed'").await,
        5,
        "two runs of each crashed source, one of the last"
    );
    assert_eq!(
        recorded("SELECT COUNT(*) FROM recipient_notices WHERE request_id = $1").await,
        2,
        "each processor's notice once (OVHcloud, SendWave)"
    );
    assert_eq!(outcomes_once.len(), items(app, &status).await.len());
    app.forget_cookies();
    app.sign_in(&status, JEANNE).await;
    let cert = plan_lines(&app.get(&format!("{status}/certificate")).await.text());
    assert_eq!(
        cert["Calls, emails and meetings with our staff"],
        ["4 records deleted."],
        "already done counts as done"
    );
    assert_eq!(cert["Newsletter opens and clicks"], ["5 records deleted."]);
    assert_eq!(cert["Loyalty points earned and spent"], ["5 records deleted."]);
}

async fn a_crm_and_loyalty_execution_run_twice_after_a_crash_changes_nothing_more(app: TestApp) {
    let crm_before = dump(&crm_db(&app)).await;
    crash_window(&app, "newsletter").await;
    assert_jeanne_erased_in_crm(&app, &crm_before, &dump(&crm_db(&app)).await, &[]);
}
on_both_backends!(a_crm_and_loyalty_execution_run_twice_after_a_crash_changes_nothing_more);

async fn a_newsletter_and_loyalty_execution_run_twice_after_a_crash_changes_nothing_more(app: TestApp) {
    let newsletter_before = dump(&newsletter_db(&app)).await;
    crash_window(&app, "crm").await;
    let after = dump(&newsletter_db(&app)).await;
    assert_eq!(
        diff(&newsletter_before, &after),
        BTreeMap::from([
            ("subscribers".to_owned(), (ids(&[1]), ids(&[]))),
            ("campaign_events".to_owned(), (ids(&[]), ids(&[1, 2, 3, 4, 5]))),
        ])
    );
    let pseudonym = pseudonymiser(&app).pseudonym("JEANNE.MARTIN@example.fr  ");
    assert_eq!(subscriber(&app, 1).await, (pseudonym, None), "the pseudonym of the pseudonym is itself");
}
on_both_backends!(a_newsletter_and_loyalty_execution_run_twice_after_a_crash_changes_nothing_more);

// ---------------------------------------------------------------------------------------------
// Repeats

/// GDPR Art. 12(5): staff see the same person's other requests, whatever the address's case;
/// another person's are not listed.
async fn staff_see_the_same_person_s_earlier_requests(app: TestApp) {
    let first = reference_of(&app.verified_request(JEANNE, "access").await);
    app.forget_cookies();
    let other = reference_of(&app.verified_request(OTHER_JEANNE, "access").await);
    app.forget_cookies();
    let second = reference_of(&app.verified_request("Jeanne.Martin@Example.FR", "erasure").await);
    app.run_pending_jobs().await;
    app.add_staff(AUDITOR, Role::Auditor).await;
    app.staff_login(AUDITOR).await;
    let repeats = |page: String| -> Vec<String> {
        let section = page.split("id=\"repeats-title\"").nth(1).unwrap().split("</section>").next().unwrap().to_owned();
        section.split("class=\"reference\">").skip(1).map(|s| s.split('<').next().unwrap().to_owned()).collect()
    };
    let page = app.get(&format!("/staff/requests/{second}")).await.text();
    assert!(page.contains("Other requests from the same person in the last 365 days"), "{page}");
    assert_eq!(repeats(page), std::slice::from_ref(&first));
    assert_eq!(repeats(app.get(&format!("/staff/requests/{first}")).await.text()), std::slice::from_ref(&second));
    let page = app.get(&format!("/staff/requests/{other}")).await.text();
    assert_eq!(repeats(page.clone()), Vec::<String>::new());
    assert!(page.split("id=\"repeats-title\"").nth(1).unwrap().contains("None."));
}
on_both_backends!(staff_see_the_same_person_s_earlier_requests);

/// GDPR Art. 77 (UK GDPR: the ICO): the certificate of a UK GDPR erasure tells the person they may
/// complain to the authority of that law, not to the controller's own (the CNIL in the demo).
async fn a_uk_erasure_s_certificate_names_the_ico(app: TestApp) {
    let csrf = app.csrf("/").await;
    let form = [("email", JEANNE), ("kind", "erasure"), ("jurisdiction", "uk-gdpr"), ("csrf", csrf.as_str())];
    let res = app.post("/requests", &form).await;
    assert_eq!(res.status, 303, "{}", res.text());
    app.run_pending_jobs().await;
    let status = app.verify_by_link(&app.last_email_to(JEANNE)).await.location();
    app.run_pending_jobs().await;
    assert_eq!(app.decide(&status, "confirm", &[]).await.status, 303);
    assert_eq!(app.request_status(&status).await, "awaiting_review");
    app.add_staff(AGENT, Role::Agent).await;
    app.staff_login(AGENT).await;
    assert_done(&review(&app, &status, &[]).await, "review");
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "completed");

    app.forget_cookies();
    app.sign_in(&status, JEANNE).await;
    for path in [format!("{status}/certificate"), format!("{status}/certificate/download")] {
        let html = app.get(&path).await.text();
        assert!(html.contains("you may complain to the supervisory authority: Information Commissioner"), "{html}");
        assert!(html.contains("href=\"https://ico.org.uk/make-a-complaint/\""), "{html}");
        assert!(!html.contains("CNIL"), "not the controller's authority: {html}");
    }
}
on_both_backends!(
    a_uk_erasure_s_certificate_names_the_ico,
    crate::helpers::Options {
        policies: Some(vec![dossier::deadlines::Policy::EuGdpr, dossier::deadlines::Policy::UkGdpr]),
        ..Default::default()
    }
);

/// A manual source's items on the person's plan (`detail.by_hand`, `jobs::plan::manual_items`):
/// nobody knows yet how many records it holds, and staff change it themselves, so the plan says
/// so instead of "1 record will be deleted"; a correction reads as made by hand there.
async fn a_manual_source_s_plan_says_staff_act_by_hand(app: TestApp) {
    const BY_HAND_ERASE: &str = "This system is not changed automatically: our staff will find what it holds about you \
                                 and delete or destroy it by hand.";
    const BY_HAND_RECTIFY: &str =
        "This system is not changed automatically: our staff will make your corrections in it by hand.";
    let status = app.verified_request(JEANNE, "erasure").await;
    app.run_pending_jobs().await;
    let page = app.get(&status).await.text();
    assert!(page.contains("Waiting for your decision"), "{page}");
    let plan = plan_lines(&page);
    assert_eq!(plan["Paper customer files"], lines(&[BY_HAND_ERASE]), "{page}");
    // The automated sources still count their records.
    assert_eq!(plan["Calls, emails and meetings with our staff"], ["4 records will be deleted."]);

    app.forget_cookies();
    let status = app.request_awaiting_review(PAUL, "rectification").await;
    let plan = plan_lines(&app.get(&status).await.text());
    assert_eq!(plan["Paper customer files"], lines(&[BY_HAND_RECTIFY]), "{plan:?}");
}

mod a_manual_source_s_plan_says_staff_act_by_hand {
    use crate::helpers::{Backend, Options, paper_archive, spawn_with_sources};

    #[actix_web::test]
    async fn sqlite() {
        let app = spawn_with_sources(Options::default(), vec![paper_archive(1)]).await.unwrap();
        super::a_manual_source_s_plan_says_staff_act_by_hand(app).await;
    }

    #[actix_web::test]
    async fn postgres() {
        let options = Options { backend: Backend::Postgres, ..Default::default() };
        if let Some(app) = spawn_with_sources(options, vec![paper_archive(1)]).await {
            super::a_manual_source_s_plan_says_staff_act_by_hand(app).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Per-row rules: one collection, a different action per row

/// Someone known only to a billing system whose rules depend on the row.
const NORA: &str = "nora.petit@example.org";

/// A billing database beside the demo sources: posted invoices are kept under the accounting
/// law from the end of their financial year, drafts deleted (`when` … `default`); the customer
/// account is anonymised by clearing; the proof of consent is pseudonymised and kept.
async fn billing() -> (PathBuf, dossier::connectors::SourceConfig) {
    let dir = std::env::temp_dir().join(format!("dossier-billing-{}", dossier::crypto::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("billing.db");
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display())).await.unwrap();
    for sql in [
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT)",
        "CREATE TABLE invoices (id INTEGER PRIMARY KEY, email TEXT NOT NULL, status TEXT NOT NULL, issued_on TEXT, amount TEXT NOT NULL)",
        "CREATE TABLE consents (id INTEGER PRIMARY KEY, email TEXT, given_on TEXT NOT NULL, source TEXT NOT NULL)",
        "INSERT INTO customers VALUES (1, 'Nora Petit', 'nora.petit@example.org'), (2, 'Paul Autre', 'paul.autre@example.org')",
        "INSERT INTO invoices VALUES (1, 'nora.petit@example.org', 'posted', '2024-05-02', '120.00'), \
         (2, 'nora.petit@example.org', 'draft', '2026-02-01', '80.00'), \
         (3, 'nora.petit@example.org', 'posted', '2014-03-01', '40.00'), \
         (4, 'paul.autre@example.org', 'draft', '2026-01-05', '10.00'), \
         (5, 'nora.petit@example.org', 'posted', NULL, '55.00')",
        "INSERT INTO consents VALUES (1, 'nora.petit@example.org', '2025-06-01', 'checkout')",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();
    let config = toml::from_str(&format!(
        r#"kind = "sql"
name = "billing"
label = {{ en = "Billing", fr = "Facturation" }}
url = "sqlite://{}?mode=rw"

[[collections]]
name = "customers"
label = {{ en = "Customer accounts", fr = "Comptes clients" }}
table = "customers"
email_columns = ["email"]
key = ["id"]
erasure = {{ action = "anonymise", fields = {{ name = {{ value = "—" }}, email = "null" }} }}

[[collections]]
name = "invoices"
label = {{ en = "Invoices", fr = "Factures" }}
table = "invoices"
email_columns = ["email"]
key = ["id"]
[collections.erasure]
when = [{{ where = "status <> 'draft'", action = "retain", basis = "legal-obligation", years = 10, from_column = "issued_on", count_from = "financial-year-end", law = "Code de commerce, art. L123-22" }}]
default = {{ action = "delete" }}

[[collections]]
name = "consents"
label = {{ en = "Proof of consent", fr = "Preuves de consentement" }}
table = "consents"
email_columns = ["email"]
key = ["id"]
erasure = {{ action = "pseudonymise", fields = {{ email = "hash" }}, basis = "legal-claims", years = 5, from_column = "given_on" }}
"#,
        path.display()
    ))
    .unwrap();
    (path, config)
}

/// A posted invoice is kept with its ground and the end of its financial year plus ten years; a
/// draft, and a posted invoice whose period is over, are deleted; a posted invoice without a date
/// goes to staff; the certificate tells deleted, anonymised and pseudonymised-and-kept records
/// apart, each in its own words.
async fn per_row_rules_keep_a_posted_invoice_and_delete_a_draft(app: TestApp, billing: PathBuf) {
    let before = dump(&billing).await;
    let status = planned_request(&app, NORA, "erasure").await;
    let plan = plan_lines(&app.get(&status).await.text());
    let kept =
        "— a legal obligation: the law requires us to keep this (GDPR Art. 17(3)(b)). Code de commerce, art. L123-22";
    assert_eq!(
        plan["Invoices"],
        [
            "1 record must be kept for a time, but the date that time counts from is missing: our team will decide \
             by hand."
                .to_owned(),
            format!("1 record will be kept until December 31, 2034 {kept}"),
            "2 records will be deleted.".to_owned()
        ],
        "the first matching `when` or the default, row by row: {plan:?}"
    );
    assert_eq!(
        plan["Customer accounts"],
        [
            "1 record will be anonymised: email removed, name replaced by “—”. The rest of it stays, no longer linked to \
          you by these details."
        ]
    );
    assert_eq!(
        plan["Proof of consent"],
        [
            "1 record will be pseudonymised (email replaced by a pseudonym (a code our key can link back to it)) and kept \
          until June 1, 2030 — needed to establish, exercise or defend legal claims (GDPR Art. 17(3)(e)). \
          Pseudonymised data is still your personal data."
        ]
    );
    assert_eq!(dump(&billing).await, before, "planning changes nothing");

    let res = app.decide(&status, "confirm", &[]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    app.add_staff(AGENT, Role::Agent).await;
    app.staff_login(AGENT).await;
    let staff_page = app.get(&format!("/staff/requests/{}", reference_of(&status))).await.text();
    assert!(
        staff_page.contains("Needs a decision: its retention counts from issued_on, which is empty or not a date"),
        "{staff_page}"
    );
    // Never erased or kept silently: staff say what they did with it.
    assert_refused(&review(&app, &status, &[]).await, "unruled_needs_reason");
    let undated = item(&items(&app, &status).await, "invoices", json!(5), None).id.clone();
    let why = "Posted in 2023 (paper ledger): kept 10 years from the end of 2023.";
    let (exclude, reason) = (format!("exclude.{undated}"), format!("reason.{undated}"));
    assert_done(&review(&app, &status, &[(&exclude, "1"), (&reason, why)]).await, "review");
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "completed");

    // The draft and the invoice past its period are gone; the posted ones and Paul's are kept.
    let after = dump(&billing).await;
    assert_eq!(diff(&before, &after)["invoices"], (ids(&[]), ids(&[2, 3])));
    assert_eq!(after["customers"][&1], "1|'—'|NULL", "anonymised by clearing");
    assert_eq!(after["customers"][&2], before["customers"][&2]);
    let pseudonym = pseudonymiser(&app).pseudonym(NORA);
    assert_eq!(after["consents"][&1], format!("1|'{pseudonym}'|'2025-06-01'|'checkout'"), "pseudonymised, kept");

    app.forget_cookies();
    app.sign_in(&status, NORA).await;
    let cert = plan_lines(&app.get(&format!("{status}/certificate")).await.text());
    assert_eq!(
        cert["Invoices"],
        [
            format!("1 record kept until December 31, 2034 {kept}"),
            format!("1 record not erased: our team excluded it. Reason: {why}"),
            "2 records deleted.".to_owned()
        ]
    );
    assert_eq!(cert["Customer accounts"], ["1 record anonymised: email removed, name replaced by “—”."]);
    assert_eq!(
        cert["Proof of consent"],
        ["1 record pseudonymised (email replaced by a pseudonym (a code our key can link back to it)) and kept until \
          June 1, 2030 — needed to establish, exercise or defend legal claims (GDPR Art. 17(3)(e)). It is still your \
          personal data."]
    );
    if let Some(dir) = billing.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

mod per_row_rules_keep_a_posted_invoice_and_delete_a_draft {
    use crate::helpers::{Backend, Options, spawn_with_sources};

    #[actix_web::test]
    async fn sqlite() {
        let (path, billing) = super::billing().await;
        let app = spawn_with_sources(Options::default(), vec![billing]).await.unwrap();
        super::per_row_rules_keep_a_posted_invoice_and_delete_a_draft(app, path).await;
    }

    #[actix_web::test]
    async fn postgres() {
        let options = Options { backend: Backend::Postgres, ..Default::default() };
        let (path, billing) = super::billing().await;
        if let Some(app) = spawn_with_sources(options, vec![billing]).await {
            super::per_row_rules_keep_a_posted_invoice_and_delete_a_draft(app, path).await;
        }
    }
}
