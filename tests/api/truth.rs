//! Truthful states (issue 14): an answer that found nothing says so before any download; the
//! clock stops at the answer or the closure, and the page shows the outcome (refusal ground and
//! explanation, extension and its reason); no extension after the answer.

use dossier::domain::Role;

use crate::helpers::{
    Backend, Browser, Options, STAFF_PASSWORD, TestApp, paper_archive, spawn_with_sources, staff_password_step,
};
use crate::on_both_backends;

const AGENT: &str = "agent@exemple.test";
const JEANNE: &str = "jeanne.martin@example.fr";

/// The countdown's words in both languages: none may show once the request is answered.
fn assert_no_countdown(page: &str) {
    for words in ["day(s)", "(today)", "jour(s)", "(aujourd’hui)"] {
        assert!(!page.contains(words), "{words:?} on an answered or closed request: {page}");
    }
}

fn reference_of(status: &str) -> String {
    status.rsplit('/').next().unwrap().to_owned()
}

async fn stored_due(app: &TestApp, reference: &str) -> (String, Option<i64>, Option<i64>) {
    sqlx::query_as("SELECT due_on, extended_at, answered_at FROM requests WHERE reference = $1")
        .bind(reference)
        .fetch_one(app.app.store.pool())
        .await
        .unwrap()
}

/// An agent signed in on their own browser (the person keeps theirs).
async fn agent(app: &TestApp) -> Browser {
    app.add_staff(AGENT, Role::Agent).await;
    let browser = Browser::new(app.address.clone());
    assert_eq!(staff_password_step(&browser, AGENT, STAFF_PASSWORD).await.status, 303);
    browser
}

/// Sends one of the staff request page's forms; returns where it led.
async fn act(agent: &Browser, reference: &str, action: &str, form: &[(&str, &str)]) -> String {
    let page = format!("/staff/requests/{reference}");
    let csrf = agent.csrf(&page).await;
    let mut fields = form.to_vec();
    fields.push(("csrf", &csrf));
    let res = agent.post(&format!("{page}/{action}"), &fields).await;
    assert_eq!(res.status, 303, "{}", res.text());
    res.location()
}

// ---------------------------------------------------------------------------------------------

/// An address no source knows is told so on the page and in the email, before any download; the
/// ZIP (the Art. 15(1) information and the confirmation) is still offered, as what it is. A known
/// address is still told its data is ready. Neither page counts days down.
async fn an_unknown_address_is_told_nothing_was_found_before_any_download(app: TestApp) {
    let nobody = "nobody.known@example.org";
    let status = app.verified_request(nobody, "access").await;
    let page = app.get(&status).await.text();
    assert!(page.contains("day(s) left"), "the clock runs while we search: {page}");
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "ready");

    let mail = app.email_with_subject(nobody, "no data found");
    assert!(!app.emails().iter().any(|m| m.subject.contains("Your data is ready")), "never told of data");
    let said = format!("found no data linked to {nobody}");
    assert!(mail.text.contains(&said), "{}", mail.text);
    assert!(mail.text.contains("GDPR Article 15(1)"), "{}", mail.text);
    assert!(mail.text.contains(&status), "the email links to the request: {}", mail.text);

    let page = app.get(&status).await.text();
    assert!(page.contains("Answered: no data found"), "{page}");
    assert!(page.contains(&said), "{page}");
    assert!(page.contains("The information we must give you"), "{page}");
    assert!(page.contains("Download the information"), "{page}");
    for false_words in ["Your data is ready", "Download my data", "Ready to download"] {
        assert!(!page.contains(false_words), "{false_words:?}: {page}");
    }
    assert!(page.contains("Answered on"), "{page}");
    assert_no_countdown(&page);
    let (_, _, answered) = stored_due(&app, &reference_of(&status)).await;
    assert_eq!(answered, Some(app.app.now_ms()), "answered when the person was told");

    // The ZIP is still there: the confirmation and the Art. 15(1) information.
    let zip = app.get(&format!("{status}/export")).await;
    assert_eq!(zip.status, 200);
    let archive = crate::export::open_zip(&zip.body);
    crate::export::assert_manifest_checksums(&archive);

    // Someone the sources know is told their data is ready, and the clock stops too.
    app.forget_cookies();
    let status = app.verified_request(JEANNE, "access").await;
    app.run_pending_jobs().await;
    let mail = app.email_with_subject(JEANNE, "Your data is ready");
    assert!(!mail.text.contains("found no data"), "{}", mail.text);
    assert!(!app.emails().iter().any(|m| m.to.contains(JEANNE) && m.subject.contains("no data found")));
    let page = app.get(&status).await.text();
    assert!(page.contains("Ready to download") && page.contains("Download my data"), "{page}");
    assert!(!page.contains("found no data"), "{page}");
    assert!(page.contains("Answered on"), "{page}");
    assert_no_countdown(&page);
}
on_both_backends!(an_unknown_address_is_told_nothing_was_found_before_any_download);

async fn in_french_an_unknown_address_is_told_nothing_was_found(app: TestApp) {
    let nobody = "personne.inconnue@example.fr";
    let csrf = app.csrf("/?lang=fr").await;
    let res = app.post("/requests", &[("email", nobody), ("kind", "access"), ("csrf", &csrf)]).await;
    assert_eq!(res.status, 303);
    app.run_pending_jobs().await;
    let status = app.verify_by_link(&app.last_email_to(nobody)).await.location();
    app.run_pending_jobs().await;

    let mail = app.email_with_subject(nobody, "Réponse à votre demande");
    assert!(mail.subject.contains("\u{a0}: aucune donnée trouvée"), "French typography: {}", mail.subject);
    let said = format!("aucune donnée liée à {nobody}");
    assert!(mail.text.contains(&said), "{}", mail.text);
    assert!(!mail.text.contains("Vos données sont prêtes"), "{}", mail.text);

    let page = app.get(&status).await.text();
    assert!(page.contains("Répondue\u{a0}: aucune donnée trouvée"), "{page}");
    assert!(page.contains(&said), "{page}");
    assert!(page.contains("Les informations que nous devons vous donner"), "{page}");
    assert!(page.contains("Réponse donnée le"), "{page}");
    for false_words in ["Vos données sont prêtes", "Télécharger mes données", "Prête à télécharger"] {
        assert!(!page.contains(false_words), "{false_words:?}: {page}");
    }
    assert_no_countdown(&page);
}
on_both_backends!(in_french_an_unknown_address_is_told_nothing_was_found);

/// An extended erasure shows the extension and its reason while its clock runs; once refused, the
/// page shows the refusal's ground and explanation, keeps the extension, and counts nothing down;
/// the staff page likewise. In French, the same outcome in French words.
async fn extended_then_refused_requests_show_their_outcome_and_no_countdown(app: TestApp) {
    let status = app.request_awaiting_review("oliver.smith@example.co.uk", "erasure").await;
    let reference = reference_of(&status);
    let person = &app.browser;
    let agent = agent(&app).await;
    let reason = "Twelve archived systems must be searched by hand.";
    assert!(act(&agent, &reference, "extend", &[("reason", reason)]).await.contains("done=extend"));
    app.run_pending_jobs().await;

    let page = person.get(&status).await.text();
    assert!(page.contains("More time to answer"), "{page}");
    assert!(page.contains("we extended the time to answer from April 10, 2026 to June 10, 2026"), "{page}");
    assert!(page.contains(reason), "{page}");
    assert!(page.contains("day(s) left"), "still waiting for its answer: {page}");

    let explanation = "This is the fifth identical request this month.";
    let form = [("ground", "excessive"), ("reason", explanation)];
    assert!(act(&agent, &reference, "deny", &form).await.contains("done=deny"));
    app.run_pending_jobs().await;
    let page = person.get(&status).await.text();
    assert!(page.contains("Refused"), "{page}");
    assert!(page.contains("Why we refused"), "{page}");
    assert!(page.contains("Legal ground: the request is excessive"), "{page}");
    assert!(page.contains(explanation), "{page}");
    assert!(page.contains(reason), "the extension is still told: {page}");
    assert!(page.contains("The answer was due by") && page.contains("Answered on"), "{page}");
    assert!(!page.contains("We must answer by"), "{page}");
    assert_no_countdown(&page);

    let staff_page = agent.get(&format!("/staff/requests/{reference}")).await.text();
    assert!(staff_page.contains("id=\"answered\""), "{staff_page}");
    assert!(!staff_page.contains("day(s) left") && !staff_page.contains("day(s) late"), "{staff_page}");

    let fr = person.get(&format!("{status}?lang=fr")).await.text();
    assert!(fr.contains("Pourquoi nous avons refusé"), "{fr}");
    assert!(fr.contains("Fondement juridique\u{a0}: la demande est excessive"), "{fr}");
    assert!(fr.contains("Délai de réponse prolongé") && fr.contains(reason), "{fr}");
    assert_no_countdown(&fr);
}
on_both_backends!(extended_then_refused_requests_show_their_outcome_and_no_countdown);

/// An answered access request (export ready, the person emailed) cannot be extended: the staff
/// page offers no extension and the action is refused with a clear sentence; completing it keeps
/// its answer date and shows no countdown.
async fn no_extension_after_the_answer_and_completed_shows_no_countdown(app: TestApp) {
    let status = app.verified_request(JEANNE, "access").await;
    let reference = reference_of(&status);
    app.run_pending_jobs().await;
    assert_eq!(app.request_status(&status).await, "ready");
    let (due_before, _, answered) = stored_due(&app, &reference).await;
    assert!(answered.is_some());

    let person = &app.browser;
    let agent = agent(&app).await;
    let page_path = format!("/staff/requests/{reference}");
    let page = agent.get(&page_path).await.text();
    assert!(!page.contains(&format!("{page_path}/extend")), "no extension offered: {page}");
    assert!(!page.contains("day(s) left"), "{page}");
    assert!(page.contains("id=\"answered\""), "{page}");

    let csrf = agent.csrf(&page_path).await;
    let res = agent.post(&format!("{page_path}/extend"), &[("reason", "Too busy"), ("csrf", &csrf)]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert!(res.location().contains("refused=answered"), "{}", res.location());
    let page = agent.get(&res.location()).await.text();
    assert!(page.contains("no extension can be granted after the answer was given"), "{page}");
    let (due_after, extended, answered_after) = stored_due(&app, &reference).await;
    assert_eq!((due_after, extended, answered_after), (due_before, None, answered), "nothing changed");
    let mails = app.emails().into_iter().filter(|m| m.subject.contains("More time")).count();
    assert_eq!(mails, 0, "the person is not told of an extension that was refused");

    // Completed by staff: the answer date stays the export's.
    app.clock.advance(time::Duration::days(3));
    assert_eq!(staff_password_step(&agent, AGENT, STAFF_PASSWORD).await.status, 303);
    let csrf = agent.csrf(&page_path).await;
    let res = agent.post(&format!("{page_path}/complete"), &[("csrf", &csrf)]).await;
    assert!(res.location().contains("done=complete"), "{}", res.location());
    assert_eq!(stored_due(&app, &reference).await.2, answered, "the first answer counts");
    let res = app.sign_in(&status, JEANNE).await;
    assert_eq!(res.location(), status);
    let page = person.get(&status).await.text();
    assert!(page.contains("Completed") && page.contains("Answered on"), "{page}");
    assert_no_countdown(&page);
}
on_both_backends!(no_extension_after_the_answer_and_completed_shows_no_countdown);

macro_rules! with_paper_archive {
    ($scenario:ident) => {
        mod $scenario {
            #[actix_web::test]
            async fn sqlite() {
                let app = super::spawn_archive(super::Backend::Sqlite).await.unwrap();
                super::$scenario(app).await;
            }

            #[actix_web::test]
            async fn postgres() {
                if let Some(app) = super::spawn_archive(super::Backend::Postgres).await {
                    super::$scenario(app).await;
                }
            }
        }
    };
}

async fn spawn_archive(backend: Backend) -> Option<TestApp> {
    spawn_with_sources(Options { backend, ..Default::default() }, vec![paper_archive(1)]).await
}

/// The path of the one task the list links to for `reference`.
async fn task_path(staff: &Browser, reference: &str) -> String {
    let page = staff.get("/staff/tasks").await.text();
    let row = page.split("<tr>").find(|r| r.contains(reference)).unwrap_or_else(|| panic!("{reference}: {page}"));
    let start = row.rfind("href=\"/staff/tasks/").expect("a link to the task") + "href=\"".len();
    row[start..].split('"').next().unwrap().to_owned()
}

/// A file staff found in a manual source counts as found, although no automatic source knows the
/// address; a refused request's manual source no longer says it waits for staff.
async fn a_manual_source_s_file_counts_as_found_and_a_refusal_stops_the_wait(app: TestApp) {
    let nobody = "only.on.paper@example.org";
    let status = app.verified_request(nobody, "access").await;
    let reference = reference_of(&status);
    app.run_pending_jobs().await;
    let person = &app.browser;
    let agent = agent(&app).await;
    let task = task_path(&agent, &reference).await;
    let csrf = agent.csrf(&task).await;
    let letter: &[u8] = b"A letter signed by the person, 2017.";
    let res =
        agent.post_multipart(&format!("{task}/files"), &[("csrf", &csrf)], &[("file", "letter.txt", letter)]).await;
    assert!(res.location().ends_with("?done=files"), "{}", res.location());
    let csrf = agent.csrf(&task).await;
    let res = agent.post(&format!("{task}/complete"), &[("csrf", &csrf), ("outcome", "done"), ("note", "")]).await;
    assert!(res.location().ends_with("?done=complete"), "{}", res.location());
    app.run_pending_jobs().await;
    assert_eq!(app.request_status(&status).await, "ready");
    let page = person.get(&status).await.text();
    assert!(page.contains("Download my data"), "{page}");
    assert!(!page.contains("found no data"), "{page}");
    app.email_with_subject(nobody, "Your data is ready");

    // A second request, refused while the archive waits for staff.
    app.forget_cookies();
    let status = app.verified_request(JEANNE, "access").await;
    app.run_pending_jobs().await;
    let page = app.get(&status).await.text();
    assert!(page.contains("Waiting for our staff"), "{page}");
    let form = [("ground", "manifestly_unfounded"), ("reason", "Sent by a robot.")];
    assert!(act(&agent, &reference_of(&status), "deny", &form).await.contains("done=deny"));
    let page = app.get(&status).await.text();
    assert!(page.contains("Refused") && page.contains("Sent by a robot."), "{page}");
    assert!(!page.contains("Waiting for our staff"), "{page}");
    assert!(page.contains("Not searched: the request no longer needs it"), "{page}");
    assert_no_countdown(&page);
}
with_paper_archive!(a_manual_source_s_file_counts_as_found_and_a_refusal_stops_the_wait);

/// The answer date of requests answered before migration 0017, as an older instance left them
/// (no `answered_at`): the migration's backfill reads the first export, else the closure of a
/// completed or refused request; cancelled and unanswered requests keep none. The register
/// then shows it.
async fn the_migration_backfills_the_answer_date_and_the_register_shows_it(app: TestApp) {
    use crate::helpers::{Seed, ms_at};
    let seeds = [
        ("DSR-2026-000001", "access", "ready", None),
        ("DSR-2026-000002", "access", "completed", Some(ms_at("2026-03-20", 12))),
        ("DSR-2026-000003", "erasure", "completed", Some(ms_at("2026-03-18", 9))),
        ("DSR-2026-000004", "objection", "denied", Some(ms_at("2026-03-06", 9))),
        ("DSR-2026-000005", "access", "cancelled", Some(ms_at("2026-03-04", 9))),
        ("DSR-2026-000006", "erasure", "awaiting_review", None),
    ];
    let mut ids = Vec::new();
    for (reference, kind, status, completed_at) in seeds {
        let seed = Seed { reference, kind, status, received_on: "2026-03-02", completed_at, ..Seed::default() };
        ids.push(app.seed_request(seed).await);
    }
    // Both access requests were answered by their export (two for the completed one: the first counts).
    for (id, day) in [(&ids[0], "2026-03-09"), (&ids[1], "2026-03-12"), (&ids[1], "2026-03-15")] {
        sqlx::query(
            "INSERT INTO exports (id, request_id, file_name, size_bytes, sha256, records, created_at, expires_at) \
             VALUES ($1, $2, 'x.zip.enc', 1, 'x', 0, $3, $4)",
        )
        .bind(dossier::crypto::new_id())
        .bind(id)
        .bind(ms_at(day, 12))
        .bind(ms_at(day, 12) + 30 * 86_400_000)
        .execute(app.app.store.pool())
        .await
        .unwrap();
    }
    // The migration's statements, but the column it adds (already there: the store is migrated).
    let migration = include_str!("../../migrations/0017_answered_at.sql");
    let sql: String = migration.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
    let updates: Vec<&str> = sql.split(';').map(str::trim).filter(|s| s.starts_with("UPDATE")).collect();
    assert_eq!(updates.len(), 2, "{sql}");
    for update in updates {
        sqlx::query(sqlx::AssertSqlSafe(update.to_owned())).execute(app.app.store.pool()).await.unwrap();
    }
    let mut answered = Vec::new();
    for id in &ids {
        let at: Option<i64> = sqlx::query_scalar("SELECT answered_at FROM requests WHERE id = $1")
            .bind(id)
            .fetch_one(app.app.store.pool())
            .await
            .unwrap();
        answered.push(at);
    }
    let expected = [
        Some(ms_at("2026-03-09", 12)),
        Some(ms_at("2026-03-12", 12)),
        Some(ms_at("2026-03-18", 9)),
        Some(ms_at("2026-03-06", 9)),
        None,
        None,
    ];
    assert_eq!(answered, expected);

    app.add_staff("audit@exemple.test", Role::Auditor).await;
    let auditor = Browser::new(app.address.clone());
    assert_eq!(staff_password_step(&auditor, "audit@exemple.test", STAFF_PASSWORD).await.status, 303);
    let res = auditor.get("/staff/register.csv?from=2026-03-01&to=2026-03-31").await;
    assert_eq!(res.status, 200);
    let mut reader = csv::Reader::from_reader(res.body.as_slice());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let col = headers.iter().position(|h| h == "Answered").expect("an Answered column");
    let mut cells: Vec<(String, String)> =
        reader.records().map(|r| r.unwrap()).map(|r| (r[0].to_owned(), r[col].to_owned())).collect();
    cells.sort();
    let expected = [
        ("DSR-2026-000001", "2026-03-09"),
        ("DSR-2026-000002", "2026-03-12"),
        ("DSR-2026-000003", "2026-03-18"),
        ("DSR-2026-000004", "2026-03-06"),
        ("DSR-2026-000005", ""),
        ("DSR-2026-000006", ""),
    ];
    assert_eq!(cells, expected.map(|(r, d)| (r.to_owned(), d.to_owned())));
}
on_both_backends!(the_migration_backfills_the_answer_date_and_the_register_shows_it);
