//! The staff timeline reads every audited event as a sentence, in French and in English: requests
//! walked through manual tasks (upload, removal, completion), the export and its download,
//! assignment, notes, a question and its answer, an extension, completion and the purge; an
//! erasure planned, confirmed, reviewed, executed by hand, its recipients told and its
//! certificate downloaded; a rectification, a refusal and a withdrawal. No page shows the generic
//! "Event", a raw actor id or a raw status code.

use dossier::domain::{Locale, Role};
use dossier::i18n::Tr;

use crate::helpers::{Backend, Browser, Options, Response, STAFF_PASSWORD, TestApp, paper_archive, spawn_with_sources};

const JEANNE: &str = "jeanne.martin@example.fr";
const PAUL: &str = "paul.durand@example.fr";
const AGENT: &str = "agent@exemple.test";

#[actix_web::test]
async fn every_event_reads_as_a_sentence_sqlite() {
    let app = spawn_with_sources(Options::default(), vec![paper_archive(1)]).await.unwrap();
    every_event_reads_as_a_sentence(app).await;
}

#[actix_web::test]
async fn every_event_reads_as_a_sentence_postgres() {
    let options = Options { backend: Backend::Postgres, ..Default::default() };
    if let Some(app) = spawn_with_sources(options, vec![paper_archive(1)]).await {
        every_event_reads_as_a_sentence(app).await;
    }
}

/// A form of the staff page of `reference`, sent by `staff` with the page's token.
async fn act(staff: &Browser, reference: &str, action: &str, form: &[(&str, &str)]) -> Response {
    let page = format!("/staff/requests/{reference}");
    let csrf = staff.csrf(&page).await;
    let mut fields = form.to_vec();
    fields.push(("csrf", &csrf));
    let res = staff.post(&format!("{page}/{action}"), &fields).await;
    assert_eq!(res.status, 303, "{action}: {}", res.text());
    assert!(res.location().contains("done="), "{action}: {}", res.location());
    res
}

async fn task_path(staff: &Browser, reference: &str) -> String {
    let page = staff.get(&format!("/staff/tasks?request={reference}")).await.text();
    let start = page.find("href=\"/staff/tasks/").unwrap_or_else(|| panic!("{page}")) + "href=\"".len();
    page[start..].split('"').next().unwrap().to_owned()
}

async fn complete_task(staff: &Browser, task: &str) {
    let csrf = staff.csrf(task).await;
    let res = staff.post(&format!("{task}/complete"), &[("csrf", &csrf), ("outcome", "done"), ("note", "ok")]).await;
    assert_eq!(res.status, 303, "{}", res.text());
}

fn reference_of(status: &str) -> String {
    status.rsplit('/').next().unwrap().to_owned()
}

/// The timeline section of a staff request page, in `lang`.
async fn timeline(staff: &Browser, reference: &str, lang: &str) -> String {
    let page = staff.get(&format!("/staff/requests/{reference}?lang={lang}")).await;
    assert_eq!(page.status, 200);
    let page = page.text();
    let start = page.find("<ol class=\"timeline\">").unwrap_or_else(|| panic!("{page}"));
    let end = start + page[start..].find("</ol>").unwrap();
    page[start..end].to_owned()
}

/// Every line of both languages is a sentence with its actor in words.
async fn assert_in_words(staff: &Browser, reference: &str) -> String {
    let mut english = String::new();
    for (lang, locale) in [("en", Locale::En), ("fr", Locale::Fr)] {
        let t = Tr::new(locale);
        let lines = timeline(staff, reference, lang).await;
        let generic = format!("<strong>{}</strong>", t.get("staff.events.other"));
        assert!(!lines.contains(&generic), "{reference} {lang}: a generic event: {lines}");
        // A stored actor is `staff:<id>`, no space after the colon.
        let raw_actor = lines.match_indices("staff:").any(|(at, _)| !lines[at + 6..].starts_with(' '));
        assert!(!raw_actor, "{reference} {lang}: a raw actor: {lines}");
        assert!(!lines.contains('→'), "{reference} {lang}: a raw transition: {lines}");
        assert!(!lines.contains(t.get("staff.timeline.unknown").split('{').next().unwrap()), "{lines}");
        for line in lines.split("<li>").skip(1) {
            let by = t.get("staff.timeline.by").split('{').next().unwrap();
            assert!(line.contains(&format!("<span class=\"actor\">{by}")), "{reference} {lang}: {line}");
            // Codes (`awaiting_review`, `email_link`, `task_opened`…) never show.
            let text = line.split("<strong>").nth(1).unwrap().split("</strong>").next().unwrap();
            assert!(!text.contains('_'), "{reference} {lang}: a code in {text:?}");
        }
        if lang == "en" {
            english = lines;
        }
    }
    english
}

async fn every_event_reads_as_a_sentence(app: TestApp) {
    let account = app.add_staff(AGENT, Role::Agent).await;
    let agent = Browser::new(app.address.clone());
    let res = crate::helpers::staff_password_step(&agent, AGENT, STAFF_PASSWORD).await;
    assert_eq!(res.status, 303, "{}", res.text());

    // --- Access with a manual source --------------------------------------------------------
    let access = app.verified_request(JEANNE, "access").await;
    let access_ref = reference_of(&access);
    app.run_pending_jobs().await;
    let task = task_path(&agent, &access_ref).await;
    // Extended while the archive is searched: no extension once the answer is given (Art. 12(3)).
    act(&agent, &access_ref, "extend", &[("reason", "Many archives to search.")]).await;
    let csrf = agent.csrf(&task).await;
    let res = agent
        .post_multipart(
            &format!("{task}/files"),
            &[("csrf", &csrf)],
            &[("file", "Contrat.pdf", b"%PDF-1.4 contract"), ("file", "Autre.txt", b"someone else")],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.text());
    let wrong: String = sqlx::query_scalar("SELECT id FROM manual_task_files WHERE name = 'Autre.txt'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    let csrf = agent.csrf(&task).await;
    assert_eq!(agent.post(&format!("{task}/files/{wrong}/remove"), &[("csrf", &csrf)]).await.status, 303);
    complete_task(&agent, &task).await;
    app.run_pending_jobs().await;
    assert_eq!(app.request_status(&access).await, "ready");
    assert_eq!(app.get(&format!("{access}/export")).await.status, 200);
    act(&agent, &access_ref, "assign", &[("assignee", &account.id)]).await;
    act(&agent, &access_ref, "note", &[("reason", "Called her back.")]).await;
    act(&agent, &access_ref, "clarify", &[("reason", "Which account number?")]).await;
    let csrf = app.csrf(&access).await;
    let res = app.post(&format!("{access}/clarification"), &[("answer", "12345"), ("csrf", &csrf)]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    act(&agent, &access_ref, "complete", &[]).await;
    app.run_pending_jobs().await;

    // --- Erasure executed by hand, recipients told, certificate downloaded ------------------
    let erasure = app.request_awaiting_review(JEANNE, "erasure").await;
    let erasure_ref = reference_of(&erasure);
    act(&agent, &erasure_ref, "review", &[]).await;
    app.run_pending_jobs().await;
    let task = task_path(&agent, &erasure_ref).await;
    complete_task(&agent, &task).await;
    app.run_pending_jobs().await;
    assert_eq!(app.request_status(&erasure).await, "completed");
    let page = agent.get(&format!("/staff/requests/{erasure_ref}")).await.text();
    let marker = format!("/staff/requests/{erasure_ref}/recipients/");
    if let Some(at) = page.find(&marker) {
        let notice = page[at + marker.len()..].split('"').next().unwrap().to_owned();
        act(&agent, &erasure_ref, &format!("recipients/{notice}"), &[]).await;
    }
    app.forget_cookies();
    app.sign_in(&erasure, JEANNE).await;
    assert_eq!(app.get(&format!("{erasure}/certificate/download")).await.status, 200);

    // --- Rectification, refusal, withdrawal --------------------------------------------------
    let rectification = app.request_awaiting_review(JEANNE, "rectification").await;
    let rectification_ref = reference_of(&rectification);
    let refused = app.verified_request(PAUL, "access").await;
    let refused_ref = reference_of(&refused);
    act(&agent, &refused_ref, "deny", &[("ground", "excessive"), ("reason", "Third identical request.")]).await;
    let withdrawn = app.verified_request(JEANNE, "erasure").await;
    let withdrawn_ref = reference_of(&withdrawn);
    app.run_pending_jobs().await;
    let res = app.decide(&withdrawn, "withdraw", &[]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    app.run_pending_jobs().await;

    // --- An objection; a letter entered by staff -----------------------------------------------
    let objection = app.verified_request(PAUL, "objection").await;
    let objection_ref = reference_of(&objection);
    app.run_pending_jobs().await;
    let res = app.decide(&objection, "objections", &[("purpose", "direct-marketing")]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    app.run_pending_jobs().await;
    let csrf = crate::helpers::hidden(&agent.get("/staff/intake").await.text(), "csrf").expect("the intake form");
    let letter = [
        ("email", "oliver.smith@example.co.uk"),
        ("kind", "access"),
        ("channel", "letter"),
        ("received", "2026-03-05"),
        ("language", "en"),
        ("verification", "email"),
        ("csrf", &csrf),
    ];
    let res = agent.post("/staff/intake", &letter).await;
    assert_eq!(res.status, 303, "{}", res.text());
    let letter_ref = res.location().split('/').next_back().unwrap().split('?').next().unwrap().to_owned();
    app.run_pending_jobs().await;

    // --- Two years on: the export file and the closed requests' personal data are purged -----
    app.clock.advance(time::Duration::days(800));
    dossier::jobs::housekeeping::run(&app.app).await.unwrap();
    app.run_pending_jobs().await;
    // The agent's session did not last two years.
    let agent = Browser::new(app.address.clone());
    assert_eq!(crate::helpers::staff_password_step(&agent, AGENT, STAFF_PASSWORD).await.status, 303);

    let access_lines = assert_in_words(&agent, &access_ref).await;
    for expected in [
        "Request received on the portal: Access",
        "Email address proven by the emailed link",
        "Task opened for staff to search Paper archive by hand",
        "2 file(s) uploaded for Paper archive.",
        "An uploaded file was removed from the task for Paper archive.",
        "Task for Paper archive completed: 1 file(s) sent. A note was left.",
        "Export built:",
        "The person downloaded the export.",
        "Assigned to Test Staff.",
        "An internal note was added.",
        "A question was emailed to the person",
        "The person answered the question (5 characters).",
        "Deadline extended: the due date moved from",
        "The export file was deleted.",
        "personal data was purged",
        "by the requester",
        "by Dossier",
        "by Test Staff",
    ] {
        assert!(access_lines.contains(expected), "{expected}: {access_lines}");
    }
    // Statuses in their words, never their codes.
    let t = Tr::new(Locale::En);
    let verified = t.get("staff.status.verified");
    assert!(access_lines.contains(&format!("to {verified}.")), "{access_lines}");

    let erasure_lines = assert_in_words(&agent, &erasure_ref).await;
    for expected in [
        "Plan computed for",
        "The person confirmed the erasure plan.",
        "Plan reviewed:",
        "Task opened for staff to make",
        "Task for Paper archive completed: the changes were made by hand.",
        "Changes applied in",
        "Changes completed:",
        "Email address forgotten",
        "The person downloaded the certificate (in English).",
    ] {
        assert!(erasure_lines.contains(expected), "{expected}: {erasure_lines}");
    }
    let rectification_lines = assert_in_words(&agent, &rectification_ref).await;
    assert!(rectification_lines.contains("with a statement"), "{rectification_lines}");
    let refused_lines = assert_in_words(&agent, &refused_ref).await;
    assert!(refused_lines.contains("Request refused: "), "{refused_lines}");
    let withdrawn_lines = assert_in_words(&agent, &withdrawn_ref).await;
    assert!(withdrawn_lines.contains("The person withdrew the request."), "{withdrawn_lines}");

    let objection_lines = assert_in_words(&agent, &objection_ref).await;
    assert!(objection_lines.contains("The person objected to: "), "{objection_lines}");
    assert!(!objection_lines.contains("direct-marketing"), "the purpose in words: {objection_lines}");
    let letter_lines = assert_in_words(&agent, &letter_ref).await;
    assert!(letter_lines.contains("Request entered by staff: Access"), "{letter_lines}");
    assert!(letter_lines.contains("received by Letter on March 5, 2026"), "{letter_lines}");

    // The walk went through every kind of event a request's page can show here.
    let names: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT event FROM audit_events WHERE request_id IS NOT NULL ORDER BY event")
            .fetch_all(app.app.store.pool())
            .await
            .unwrap();
    let expected = [
        "address_forgotten",
        "assigned",
        "certificate_downloaded",
        "changes_completed",
        "clarification_answered",
        "clarification_asked",
        "corrections_proposed",
        "denied",
        "email_queued",
        "email_sent",
        "export_built",
        "export_deleted",
        "export_downloaded",
        "extended",
        "note_added",
        "objections_chosen",
        "personal_data_purged",
        "plan_confirmed",
        "received",
        "recipient_told",
        "reviewed",
        "signed_in",
        "source_collected",
        "source_executed",
        "source_planned",
        "staff_viewed",
        "status_changed",
        "task_completed",
        "task_file_removed",
        "task_files_uploaded",
        "task_opened",
        "verified",
        "withdrawn",
    ];
    for name in expected {
        assert!(names.iter().any(|n| n == name), "{name} never happened: {names:?}");
    }

    // The French page has its own words.
    let fr = timeline(&agent, &access_ref, "fr").await;
    assert!(fr.contains("Tâche ouverte pour") && fr.contains("par la personne concernée"), "{fr}");
}
