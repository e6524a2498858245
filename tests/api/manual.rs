//! Manual sources (`kind = "manual"`): a paper archive searched and changed by staff through
//! tasks. The request waits for them, their uploads go into the export byte for byte, an erasure
//! waits for their confirmation and its certificate says what was done.

use dossier::domain::Role;

use crate::export::{assert_manifest_checksums, file_bytes, file_text, open_zip};
use crate::helpers::{
    Backend, Browser, Options, Response, STAFF_PASSWORD, TestApp, paper_archive, spawn_with_sources,
    staff_password_step,
};

const AGENT: &str = "agent@exemple.test";
const AUDITOR: &str = "auditor@exemple.test";
const JEANNE: &str = "jeanne.martin@example.fr";

/// Runs the scenario with the demo sources and a paper archive (uploads up to 1 MiB), on SQLite
/// and, when configured, PostgreSQL.
macro_rules! with_paper_archive {
    ($scenario:ident) => {
        mod $scenario {
            #[actix_web::test]
            async fn sqlite() {
                let app = super::spawn(super::Backend::Sqlite).await.unwrap();
                super::$scenario(app).await;
            }

            #[actix_web::test]
            async fn postgres() {
                if let Some(app) = super::spawn(super::Backend::Postgres).await {
                    super::$scenario(app).await;
                }
            }
        }
    };
}

async fn spawn(backend: Backend) -> Option<TestApp> {
    spawn_with_sources(Options { backend, ..Default::default() }, vec![paper_archive(1)]).await
}

/// A staff member signed in on their own browser (the person keeps theirs).
async fn staff(app: &TestApp, email: &str, role: Role) -> (Browser, String) {
    let account = app.add_staff(email, role).await;
    let browser = Browser::new(app.address.clone());
    let res = staff_password_step(&browser, email, STAFF_PASSWORD).await;
    assert_eq!(res.status, 303, "{}", res.text());
    (browser, format!("staff:{}", account.id))
}

/// The path of the one task the list links to for `reference`.
async fn task_path(staff: &Browser, reference: &str) -> String {
    let list = staff.get("/staff/tasks").await;
    assert_eq!(list.status, 200);
    let page = list.text();
    let row = page.split("<tr>").find(|r| r.contains(reference)).unwrap_or_else(|| panic!("{reference}: {page}"));
    let start = row.rfind("href=\"/staff/tasks/").expect("a link to the task") + "href=\"".len();
    row[start..].split('"').next().unwrap().to_owned()
}

async fn complete(staff: &Browser, task: &str, outcome: &str, note: &str) -> Response {
    let csrf = staff.csrf(task).await;
    staff.post(&format!("{task}/complete"), &[("csrf", &csrf), ("outcome", outcome), ("note", note)]).await
}

async fn upload(staff: &Browser, task: &str, files: &[(&str, &str, &[u8])]) -> Response {
    let csrf = staff.csrf(task).await;
    staff.post_multipart(&format!("{task}/files"), &[("csrf", &csrf)], files).await
}

fn assert_back(res: &Response, query: &str) {
    assert_eq!(res.status, 303, "{}", res.text());
    assert!(res.location().ends_with(&format!("?{query}")), "{}", res.location());
}

async fn audit_events(app: &TestApp, reference: &str) -> Vec<(String, String, serde_json::Value)> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT a.event, a.actor, a.detail FROM audit_events a JOIN requests r ON r.id = a.request_id \
         WHERE r.reference = $1 ORDER BY a.at, a.seq",
    )
    .bind(reference)
    .fetch_all(app.app.store.pool())
    .await
    .unwrap();
    rows.into_iter().map(|(e, a, d)| (e, a, serde_json::from_str(&d).unwrap())).collect()
}

async fn stored_files(app: &TestApp) -> (i64, usize) {
    let rows: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM manual_task_files").fetch_one(app.app.store.pool()).await.unwrap();
    let on_disk = walk(&app.data_dir().join("uploads"));
    (rows, on_disk)
}

fn walk(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.filter_map(|e| e.ok()).map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum()
}

/// A scanned contract (binary, with NUL bytes and every byte value) and a letter whose name tries
/// to leave the folder and carries characters no file system likes.
fn scans() -> (Vec<u8>, Vec<u8>) {
    let pdf: Vec<u8> = b"%PDF-1.4\n".iter().copied().chain((0..=255u8).cycle().take(70_000)).collect();
    let letter = "Lettre de Mme Martin, reçue le 3 mars 2017.\r\n€ accents: éèà\n".as_bytes().to_vec();
    (pdf, letter)
}
const TRICKY: &str = "..\\../etc/Lettre: \"réclamation\" <2017>?.txt";
const TRICKY_SAFE: &str = "Lettre_ _réclamation_ _2017__.txt";

// ---------------------------------------------------------------------------------------------

/// Access: the request waits for staff, who upload two files; the export holds them byte for
/// byte, listed in the manifest with checksums that match.
async fn an_access_request_waits_for_staff_and_exports_their_files(app: TestApp) {
    let status = app.verified_request(JEANNE, "access").await;
    let reference = status.rsplit('/').next().unwrap().to_owned();
    app.run_pending_jobs().await;
    // Nothing polls: the archive's collect job ended by opening the task.
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "collecting");
    let page = app.get(&status).await.text();
    assert!(page.contains("Paper archive"), "{page}");
    assert!(page.contains("Waiting for our staff: this system is searched by hand"), "{page}");
    assert!(!page.contains("Download my data"), "{page}");

    let (agent, agent_id) = staff(&app, AGENT, Role::Agent).await;
    let list = agent.get("/staff/tasks").await.text();
    for expected in [reference.as_str(), "Paper archive", "Search cabinet B under the surname", "April 10, 2026"] {
        assert!(list.contains(expected), "{expected}: {list}");
    }
    let request_page = agent.get(&format!("/staff/requests/{reference}")).await.text();
    assert!(request_page.contains(&format!("/staff/tasks?request={reference}")), "{request_page}");
    // The archive's row says who it waits for; the automated sources are searched.
    assert!(
        request_page.contains("<span class=\"source-name\">Paper archive</span> <span>Waiting for staff</span>"),
        "{request_page}"
    );
    assert!(request_page.contains("<span>Searched</span>"), "{request_page}");
    let task = task_path(&agent, &reference).await;
    let page = agent.get(&task).await.text();
    assert!(page.contains("enctype=\"multipart/form-data\"") && page.contains("Waiting for staff"), "{page}");

    // "Send" with nothing uploaded is refused, and so is the upload without its token.
    assert_back(&complete(&agent, &task, "done", "").await, "refused=no_files");
    let (pdf, letter) = scans();
    let forged =
        agent.post_multipart(&format!("{task}/files"), &[("csrf", "forged")], &[("file", "a.pdf", &pdf)]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(stored_files(&app).await, (0, 0), "nothing stored for a forged form");

    let res = upload(&agent, &task, &[("file", "Contrat signé.pdf", &pdf), ("file", TRICKY, &letter)]).await;
    assert_back(&res, "done=files");
    let page = agent.get(&task).await.text();
    assert!(page.contains("Contrat signé.pdf") && page.contains("70009 bytes"), "{page}");
    assert!(page.contains("Lettre_ _réclamation_ _2017__.txt"), "the name is shown sanitised: {page}");
    // Stored encrypted: neither file's bytes are on disk in clear.
    let uploads = app.data_dir().join("uploads");
    for entry in walkdir(&uploads) {
        let raw = std::fs::read(&entry).unwrap();
        assert!(!raw.windows(9).any(|w| w == b"%PDF-1.4\n"), "{} is encrypted", entry.display());
        assert!(!raw.windows(12).any(|w| w == "Lettre de Mm".as_bytes()), "{} is encrypted", entry.display());
    }
    assert_eq!(stored_files(&app).await, (2, 2));

    assert_back(&complete(&agent, &task, "done", "Found in cabinet B").await, "done=complete");
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "ready");
    let page = app.get(&status).await.text();
    assert!(page.contains("Download my data"), "{page}");

    // The files now live in the encrypted export only; the task keeps their names and sizes.
    assert_eq!(stored_files(&app).await, (2, 0));
    let zip = app.get(&format!("{status}/export")).await;
    assert_eq!(zip.status, 200);
    let archive = open_zip(&zip.body);
    assert_eq!(file_bytes(&archive, "files/archives/Contrat signé.pdf"), pdf);
    assert_eq!(file_bytes(&archive, &format!("files/archives/{TRICKY_SAFE}")), letter);
    let names: Vec<String> = archive.file_names().filter_map(|n| n.ok().map(|c| c.into_owned())).collect();
    assert_eq!(names.iter().filter(|n| n.starts_with("files/")).count(), 2, "{names:?}");
    assert!(names.iter().all(|n| !n.contains("..") && !n.contains('\\')), "{names:?}");
    assert_manifest_checksums(&archive);
    let manifest: serde_json::Value = serde_json::from_str(&file_text(&archive, "manifest.json")).unwrap();
    let archives = manifest["sources"].as_array().unwrap().iter().find(|s| s["name"] == "archives").unwrap();
    let attachments = archives["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 2);
    let sha = |b: &[u8]| dossier::crypto::sha256_hex(b);
    assert_eq!(attachments[0]["sha256"], sha(&pdf));
    assert_eq!(attachments[0]["size"], pdf.len());
    assert_eq!(attachments[1]["sha256"], sha(&letter));
    let index = file_text(&archive, "index.html");
    assert!(index.contains("Files found by our staff"), "{index}");
    assert!(index.contains("href=\"files/archives/Contrat signé.pdf\"") && index.contains(TRICKY_SAFE), "{index}");
    // The records of the other sources are still there.
    assert!(names.iter().any(|n| n.starts_with("data/crm/")), "{names:?}");

    // Audited: opened, uploaded (ids and sizes: the append-only log never holds a file name, which
    // can be personal data), completed, by whom.
    let events = audit_events(&app, &reference).await;
    let find = |name: &str| events.iter().find(|(e, _, _)| e == name).unwrap_or_else(|| panic!("{name}: {events:?}"));
    assert_eq!(find("task_opened").1, "system");
    let (_, by, detail) = find("task_files_uploaded");
    assert_eq!(by, &agent_id);
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM manual_task_files ORDER BY uploaded_at, name")
        .fetch_all(app.app.store.pool())
        .await
        .unwrap();
    let mut sizes: Vec<u64> = detail["files"].as_array().unwrap().iter().map(|f| f["size"].as_u64().unwrap()).collect();
    sizes.sort_unstable();
    let mut expected = vec![pdf.len() as u64, letter.len() as u64];
    expected.sort_unstable();
    assert_eq!(sizes, expected);
    for file in detail["files"].as_array().unwrap() {
        assert!(ids.iter().any(|id| file["id"] == id.as_str()), "{file} names a stored file");
    }
    let log = format!("{events:?}");
    assert!(!log.contains("Contrat") && !log.contains(TRICKY_SAFE), "no file name in the audit log: {log}");
    let (_, by, detail) = find("task_completed");
    assert_eq!((by, detail["outcome"].as_str(), detail["files"].as_i64()), (&agent_id, Some("done"), Some(2)));
    // The task is done: it leaves the list, and cannot be completed twice.
    assert!(!agent.get("/staff/tasks").await.text().contains(&reference));
    assert_back(&complete(&agent, &task, "nothing", "").await, "refused=already_done");
}
with_paper_archive!(an_access_request_waits_for_staff_and_exports_their_files);

fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(|e| e.ok())
        .flat_map(|e| if e.path().is_dir() { walkdir(&e.path()) } else { vec![e.path()] })
        .collect()
}

/// "Nothing found": the source counts as searched with nothing, the export is built without a
/// `files/` folder, and files cannot be claimed afterwards.
async fn nothing_found_lets_the_export_go_on(app: TestApp) {
    let status = app.verified_request("oliver.smith@example.co.uk", "portability").await;
    let reference = status.rsplit('/').next().unwrap().to_owned();
    app.run_pending_jobs().await;
    assert_eq!(app.request_status(&status).await, "collecting");
    let (agent, _) = staff(&app, AGENT, Role::Agent).await;
    let task = task_path(&agent, &reference).await;
    assert_back(&complete(&agent, &task, "nothing", "Cabinet B checked").await, "done=complete");
    let page = agent.get(&task).await.text();
    assert!(page.contains("Nothing found") && page.contains("Cabinet B checked"), "{page}");
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "ready");
    let archive = open_zip(&app.get(&format!("{status}/export")).await.body);
    let names: Vec<String> = archive.file_names().filter_map(|n| n.ok().map(|c| c.into_owned())).collect();
    assert!(names.iter().all(|n| !n.starts_with("files/")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("data/crm/")), "{names:?}");
    assert_manifest_checksums(&archive);
    let (pdf, _) = scans();
    assert_back(&upload(&agent, &task, &[("file", "late.pdf", &pdf)]).await, "refused=already_done");
    assert_eq!(stored_files(&app).await, (0, 0));
}
with_paper_archive!(nothing_found_lets_the_export_go_on);

/// Erasure: the plan shows the archive, execution opens a task, an auditor may look but not
/// complete it, and the agent's confirmation completes the request; the certificate lists it.
async fn an_erasure_waits_for_the_staff_confirmation(app: TestApp) {
    let status = app.request_awaiting_review(JEANNE, "erasure").await;
    let reference = status.rsplit('/').next().unwrap().to_owned();
    let plan = app.get(&status).await.text();
    assert!(plan.contains("Paper archive") && plan.contains("Paper customer files"), "{plan}");

    app.add_staff(AGENT, Role::Agent).await;
    app.staff_login(AGENT).await;
    let res = app.staff_act(&reference, "review", &[]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    // Every automated source executed; the archive waits for staff.
    assert_eq!(app.request_status(&status).await, "executing");
    let outcome: Option<String> = sqlx::query_scalar("SELECT outcome FROM plan_items WHERE source = 'archives'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(outcome, None, "nothing is recorded before staff confirm");
    // Jeanne follows it: the archive waits for staff.
    app.forget_cookies();
    app.sign_in(&status, JEANNE).await;
    let page = app.get(&status).await.text();
    assert!(page.contains("Waiting for our staff: this system is searched by hand"), "{page}");

    let (auditor, _) = staff(&app, AUDITOR, Role::Auditor).await;
    let task = task_path(&auditor, &reference).await;
    let page = auditor.get(&task).await.text();
    assert!(page.contains("Shred the paper file"), "the auditor reads the instructions: {page}");
    assert!(!page.contains("/complete\""), "but gets no form: {page}");
    let csrf = auditor.csrf(&task).await;
    let res = auditor.post(&format!("{task}/complete"), &[("csrf", &csrf), ("outcome", "done"), ("note", "")]).await;
    assert_eq!(res.status, 403);
    assert_eq!(app.request_status(&status).await, "executing");

    let (agent, agent_id) = staff(&app, "agent2@exemple.test", Role::Agent).await;
    assert_back(&complete(&agent, &task, "done", "Shredded on 10 March").await, "done=complete");
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "completed");
    let events = audit_events(&app, &reference).await;
    assert!(
        events.iter().any(|(e, by, d)| e == "task_completed" && by == &agent_id && d["kind"] == "execute"),
        "{events:?}"
    );

    // Jeanne signs in again (her address was forgotten; she types it) and reads the certificate.
    app.forget_cookies();
    app.sign_in(&status, JEANNE).await;
    let certificate = app.get(&format!("{status}/certificate")).await.text();
    let section = certificate.split("<h3>Paper archive</h3>").nth(1).unwrap_or_else(|| panic!("{certificate}"));
    let section = section.split("</div>").next().unwrap();
    assert!(section.contains("Paper customer files") && section.contains("1 record deleted."), "{section}");
}
with_paper_archive!(an_erasure_waits_for_the_staff_confirmation);

/// A file over the source's limit is refused with a clear message, and nothing is stored (not
/// even the files of the same upload that fitted).
async fn an_upload_over_the_limit_stores_nothing(app: TestApp) {
    let status = app.verified_request(JEANNE, "access").await;
    let reference = status.rsplit('/').next().unwrap().to_owned();
    app.run_pending_jobs().await;
    let (agent, _) = staff(&app, AGENT, Role::Agent).await;
    let task = task_path(&agent, &reference).await;
    let small = b"fits".to_vec();
    let big = vec![7u8; 1024 * 1024 + 1];
    let res = upload(&agent, &task, &[("file", "small.txt", &small), ("file", "big.tif", &big)]).await;
    assert_back(&res, "refused=too_large");
    let page = agent.get(&format!("{task}?refused=too_large")).await.text();
    assert!(page.contains("A file is larger than the limit of this source (1 MB): nothing was stored."), "{page}");
    assert_eq!(stored_files(&app).await, (0, 0));
    // Exactly at the limit is accepted.
    let res = upload(&agent, &task, &[("file", "edge.tif", &vec![7u8; 1024 * 1024])]).await;
    assert_back(&res, "done=files");
    assert_eq!(stored_files(&app).await, (1, 1));
    assert_eq!(app.request_status(&status).await, "collecting");
}
with_paper_archive!(an_upload_over_the_limit_stores_nothing);

/// Once the request is cancelled, its task leaves the list and cannot be completed.
async fn a_cancelled_requests_task_cannot_be_completed(app: TestApp) {
    let status = app.verified_request(JEANNE, "access").await;
    let reference = status.rsplit('/').next().unwrap().to_owned();
    app.run_pending_jobs().await;
    let (agent, _) = staff(&app, AGENT, Role::Agent).await;
    let task = task_path(&agent, &reference).await;
    let csrf = agent.csrf(&format!("/staff/requests/{reference}")).await;
    let res = agent
        .post(&format!("/staff/requests/{reference}/cancel"), &[("csrf", &csrf), ("reason", "Asked by phone")])
        .await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert_eq!(app.request_status(&status).await, "cancelled");
    assert!(!agent.get("/staff/tasks").await.text().contains(&reference), "a closed request's task is nobody's work");
    let page = agent.get(&task).await.text();
    assert!(page.contains("Not needed any more") && !page.contains("/complete\""), "{page}");
    assert_back(&complete(&agent, &task, "nothing", "").await, "refused=closed");
    let (pdf, _) = scans();
    assert_back(&upload(&agent, &task, &[("file", "late.pdf", &pdf)]).await, "refused=closed");
    assert_eq!(stored_files(&app).await, (0, 0));
    let open: String =
        sqlx::query_scalar("SELECT status FROM manual_tasks").fetch_one(app.app.store.pool()).await.unwrap();
    assert_eq!(open, "open");
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "cancelled");
}
with_paper_archive!(a_cancelled_requests_task_cannot_be_completed);

/// `dossier connectors check` lists a manual source and says staff handle it: nothing to connect
/// to, nothing searched.
#[test]
fn connectors_check_says_a_manual_source_is_handled_by_staff() {
    let dir = crate::helpers::TempDir::new("manual-cli");
    let source = r#"
[[sources]]
kind = "manual"
name = "archives"
label = "Paper archive"
instructions = "Search cabinet B"
max_file_mb = 5
[[sources.collections]]
name = "paper_files"
[sources.collections.art15]
purposes = ["Contracts signed on paper"]
legal_basis = "Contract (Art. 6(1)(b))"
categories = ["Identity"]
retention = "5 years"
"#;
    let path = dir.0.join("dossier.toml");
    std::fs::write(&path, crate::helpers::base_config(&dir.0.join("data")) + source).unwrap();
    let key = || dossier::crypto::SecretKey::generate().to_base64();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dossier"))
        .args(["connectors", "check", "--email", "jeanne.martin@example.fr", "--config"])
        .arg(&path)
        .env("DOSSIER_SECRET_KEY", key())
        .env("DOSSIER_EXPORT_KEY", key())
        .env("RUST_LOG", "off")
        .env_remove("DOSSIER_DATABASE_URL")
        .env_remove("DOSSIER_BASE_URL")
        .output()
        .expect("dossier runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("ok    archives (manual)"), "{stdout}");
    assert!(stdout.contains("handled by staff (manual source): no connection to test"), "{stdout}");
    assert!(stdout.contains("uploads up to 5 MiB per file"), "{stdout}");
    assert!(stdout.contains("searched by staff (a request opens a task for them)"), "{stdout}");
    assert!(stdout.contains("Nothing was changed"), "{stdout}");
}

/// Rectification: the archive's item waits for staff with the others, and the request completes
/// only once they confirm the correction was made by hand.
async fn a_rectification_is_applied_by_hand_too(app: TestApp) {
    let status = app.request_awaiting_review(JEANNE, "rectification").await;
    let reference = status.rsplit('/').next().unwrap().to_owned();
    app.add_staff(AGENT, Role::Agent).await;
    app.staff_login(AGENT).await;
    // The staff plan says the archive's item is done by hand there, not that a rule is missing.
    let plan = app.get(&format!("/staff/requests/{reference}")).await.text();
    assert!(plan.contains("Done by hand in Paper archive"), "{plan}");
    assert!(!plan.contains("No erasure rule configured"), "{plan}");
    let res = app.staff_act(&reference, "review", &[]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    app.run_pending_jobs().await;
    assert_eq!(app.request_status(&status).await, "executing");
    let (agent, _) = staff(&app, "agent2@exemple.test", Role::Agent).await;
    let task = task_path(&agent, &reference).await;
    let page = agent.get(&task).await.text();
    assert!(page.contains("Make the change by hand and confirm it"), "{page}");
    assert_back(&complete(&agent, &task, "done", "Annotated").await, "done=complete");
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "completed");
    let outcome: Option<String> = sqlx::query_scalar("SELECT outcome FROM plan_items WHERE source = 'archives'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    assert_eq!(outcome.as_deref(), Some("applied"));
}
with_paper_archive!(a_rectification_is_applied_by_hand_too);

/// The task's id, from its page's path.
fn task_id(task: &str) -> String {
    task.rsplit('/').next().unwrap().to_owned()
}

/// Two completions of the same task at once (a double click): exactly one goes through, the
/// other is refused with a clear message, and the export still builds with every file (the
/// refused one must not delete the spool the other put in place).
async fn completing_a_task_twice_at_once_keeps_the_export_whole(app: TestApp) {
    use dossier::services::tasks::{self as service, Completion, TaskRefused};
    let status = app.verified_request(JEANNE, "access").await;
    let reference = status.rsplit('/').next().unwrap().to_owned();
    app.run_pending_jobs().await;
    let (agent, _) = staff(&app, AGENT, Role::Agent).await;
    let task = task_path(&agent, &reference).await;
    let (pdf, letter) = scans();
    assert_back(&upload(&agent, &task, &[("file", "a.pdf", &pdf), ("file", "b.txt", &letter)]).await, "done=files");

    let account = app.add_staff("agent2@exemple.test", Role::Agent).await;
    let id = task_id(&task);
    let (first, second) = tokio::join!(
        service::complete(&app.app, &account, &id, Completion::Done, "first click"),
        service::complete(&app.app, &account, &id, Completion::Done, "second click"),
    );
    let mut outcomes = vec![first.unwrap(), second.unwrap()];
    outcomes.sort_by_key(|o| o.is_err());
    assert_eq!(outcomes, vec![Ok(()), Err(TaskRefused::AlreadyDone)]);
    // And a third, through the page, says so.
    assert_back(&complete(&agent, &task, "done", "").await, "refused=already_done");
    let page = agent.get(&format!("{task}?refused=already_done")).await.text();
    assert!(page.contains("This task was already completed."), "{page}");

    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "ready");
    let archive = open_zip(&app.get(&format!("{status}/export")).await.body);
    assert_eq!(file_bytes(&archive, "files/archives/a.pdf"), pdf);
    assert_eq!(file_bytes(&archive, "files/archives/b.txt"), letter);
    assert_manifest_checksums(&archive);
    let completed = audit_events(&app, &reference).await.into_iter().filter(|(e, _, _)| e == "task_completed").count();
    assert_eq!(completed, 1);
}
with_paper_archive!(completing_a_task_twice_at_once_keeps_the_export_whole);

/// A file uploaded by mistake (someone else's letter, GDPR Art. 15(4)) is removed from the open
/// task: deleted, audited with its name and size only, and absent from the export; an auditor
/// cannot remove one, and nothing can be removed once the task is completed.
async fn a_wrong_upload_is_removed_before_it_reaches_the_person(app: TestApp) {
    let status = app.verified_request(JEANNE, "access").await;
    let reference = status.rsplit('/').next().unwrap().to_owned();
    app.run_pending_jobs().await;
    let (agent, agent_id) = staff(&app, AGENT, Role::Agent).await;
    let task = task_path(&agent, &reference).await;
    let (pdf, letter) = scans();
    let res =
        upload(&agent, &task, &[("file", "Contrat.pdf", &pdf), ("file", "Lettre de M. Durand.txt", &letter)]).await;
    assert_back(&res, "done=files");
    assert_eq!(stored_files(&app).await, (2, 2));
    let page = agent.get(&task).await.text();
    let wrong: String = sqlx::query_scalar("SELECT id FROM manual_task_files WHERE name = 'Lettre de M. Durand.txt'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    let remove = format!("{task}/files/{wrong}/remove");
    assert!(page.contains(&format!("action=\"{remove}\"")), "{page}");

    // An auditor reads but cannot remove; a forged form removes nothing.
    let (auditor, _) = staff(&app, AUDITOR, Role::Auditor).await;
    assert!(!auditor.get(&task).await.text().contains("/remove\""));
    let csrf = auditor.csrf(&task).await;
    assert_eq!(auditor.post(&remove, &[("csrf", &csrf)]).await.status, 403);
    assert_eq!(agent.post(&remove, &[("csrf", "forged")]).await.status, 403);
    assert_eq!(stored_files(&app).await, (2, 2));

    let csrf = agent.csrf(&task).await;
    assert_back(&agent.post(&remove, &[("csrf", &csrf)]).await, "done=removed");
    let page = agent.get(&format!("{task}?done=removed")).await.text();
    assert!(page.contains("The file was removed") && !page.contains("Durand"), "{page}");
    assert_eq!(stored_files(&app).await, (1, 1));
    // Twice: it is not the task's any more.
    assert_back(&agent.post(&remove, &[("csrf", &csrf)]).await, "refused=file_not_found");
    let events = audit_events(&app, &reference).await;
    let (_, by, detail) = events.iter().find(|(e, _, _)| e == "task_file_removed").expect("audited");
    assert_eq!(by, &agent_id);
    assert_eq!(detail["file"]["size"], letter.len());
    assert!(detail["file"]["id"].is_string() && detail["file"].get("name").is_none(), "{detail}");

    assert_back(&complete(&agent, &task, "done", "").await, "done=complete");
    let kept: String =
        sqlx::query_scalar("SELECT id FROM manual_task_files").fetch_one(app.app.store.pool()).await.unwrap();
    let res = agent.post(&format!("{task}/files/{kept}/remove"), &[("csrf", &csrf)]).await;
    assert_back(&res, "refused=already_done");
    app.run_pending_jobs().await;
    assert_eq!(app.request_status(&status).await, "ready");
    let archive = open_zip(&app.get(&format!("{status}/export")).await.body);
    let names: Vec<String> = archive.file_names().filter_map(|n| n.ok().map(|c| c.into_owned())).collect();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("files/")).collect::<Vec<_>>(),
        vec!["files/archives/Contrat.pdf"]
    );
    assert!(!crate::export::all_text(&archive).contains("Lettre de Mme Martin"), "the removed file is not exported");
}
with_paper_archive!(a_wrong_upload_is_removed_before_it_reaches_the_person);

/// A cancelled request's uploads are deleted by housekeeping; once its personal data is purged,
/// the task's note and the files' names go too (sizes, checksums and who did what stay).
async fn a_closed_requests_uploads_notes_and_file_names_are_purged(app: TestApp) {
    let status = app.verified_request(JEANNE, "access").await;
    let reference = status.rsplit('/').next().unwrap().to_owned();
    app.run_pending_jobs().await;
    let (agent, _) = staff(&app, AGENT, Role::Agent).await;
    let task = task_path(&agent, &reference).await;
    let (pdf, _) = scans();
    assert_back(&upload(&agent, &task, &[("file", "Contrat de Mme Martin.pdf", &pdf)]).await, "done=files");
    // A note is only written on completion: put one there as a completed task would have.
    sqlx::query("UPDATE manual_tasks SET note = 'Mme Martin, cabinet B'").execute(app.app.store.pool()).await.unwrap();
    let csrf = agent.csrf(&format!("/staff/requests/{reference}")).await;
    let res = agent
        .post(&format!("/staff/requests/{reference}/cancel"), &[("csrf", &csrf), ("reason", "Asked by phone")])
        .await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert_eq!(stored_files(&app).await, (1, 1));

    let purged = dossier::jobs::housekeeping::run(&app.app).await.unwrap();
    assert_eq!(purged.uploads, 1);
    assert_eq!(stored_files(&app).await, (1, 0), "the file is deleted at once: nobody will send it");
    assert!(!app.data_dir().join("uploads").read_dir().unwrap().any(|_| true));

    app.clock.advance(time::Duration::days(app.app.settings.requests.personal_data_days + 1));
    let purged = dossier::jobs::housekeeping::run(&app.app).await.unwrap();
    assert_eq!(purged.closed, 1);
    let (note, name, size): (Option<String>, String, i64) = sqlx::query_as(
        "SELECT t.note, f.name, f.size FROM manual_tasks t JOIN manual_task_files f ON f.task_id = t.id",
    )
    .fetch_one(app.app.store.pool())
    .await
    .unwrap();
    assert_eq!((note, name.as_str(), size), (None, "", pdf.len() as i64));
    // Months later: signed in again.
    let (agent, _) = staff(&app, "agent2@exemple.test", Role::Agent).await;
    let page = agent.get(&task).await;
    assert_eq!(page.status, 200);
    let page = page.text();
    assert!(page.contains("(name deleted with the request") && !page.contains("Martin"), "{page}");
}
with_paper_archive!(a_closed_requests_uploads_notes_and_file_names_are_purged);

/// A crash between the completion's commit and the spool's rename leaves no spool: the export
/// job writes it again from the task's recorded files rather than failing for ever.
async fn a_lost_manual_spool_is_restored_from_the_task(app: TestApp) {
    let status = app.verified_request(JEANNE, "access").await;
    let reference = status.rsplit('/').next().unwrap().to_owned();
    app.run_pending_jobs().await;
    let (agent, _) = staff(&app, AGENT, Role::Agent).await;
    let task = task_path(&agent, &reference).await;
    let (pdf, _) = scans();
    assert_back(&upload(&agent, &task, &[("file", "a.pdf", &pdf)]).await, "done=files");
    assert_back(&complete(&agent, &task, "done", "").await, "done=complete");
    let request_id: String = sqlx::query_scalar("SELECT id FROM requests WHERE reference = $1")
        .bind(&reference)
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    let spool = dossier::services::progress::spool_path(&app.app, &request_id, "archives");
    std::fs::remove_file(&spool).expect("the completion put the spool in place");
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "ready");
    let archive = open_zip(&app.get(&format!("{status}/export")).await.body);
    assert_eq!(file_bytes(&archive, "files/archives/a.pdf"), pdf);
}
with_paper_archive!(a_lost_manual_spool_is_restored_from_the_task);

/// A file removed while the task is being completed: whichever comes first, the export holds
/// exactly the task's files (never a file that was removed, never a failed export).
async fn a_removal_during_completion_never_breaks_the_export(app: TestApp) {
    use dossier::services::tasks::{self as service, Completion, TaskRefused};
    let status = app.verified_request(JEANNE, "access").await;
    let reference = status.rsplit('/').next().unwrap().to_owned();
    app.run_pending_jobs().await;
    let (agent, _) = staff(&app, AGENT, Role::Agent).await;
    let task = task_path(&agent, &reference).await;
    let (pdf, letter) = scans();
    assert_back(&upload(&agent, &task, &[("file", "a.pdf", &pdf), ("file", "b.txt", &letter)]).await, "done=files");
    let wrong: String = sqlx::query_scalar("SELECT id FROM manual_task_files WHERE name = 'b.txt'")
        .fetch_one(app.app.store.pool())
        .await
        .unwrap();
    let account = app.add_staff("agent2@exemple.test", Role::Agent).await;
    let id = task_id(&task);
    let (completed, removed) = tokio::join!(
        service::complete(&app.app, &account, &id, Completion::Done, ""),
        service::remove_file(&app.app, &account, &id, &wrong),
    );
    match (completed.unwrap(), removed.unwrap()) {
        // Completed first: the removal is refused, both files go.
        (Ok(()), Err(TaskRefused::AlreadyDone)) => {}
        // Removed first (before or after the completion listed the files).
        (Ok(()), Ok(())) => {}
        (Err(TaskRefused::FilesChanged), Ok(())) => {
            assert_back(&complete(&agent, &task, "done", "").await, "done=complete");
        }
        other => panic!("{other:?}"),
    }
    let rows: Vec<String> = sqlx::query_scalar("SELECT name FROM manual_task_files ORDER BY name")
        .fetch_all(app.app.store.pool())
        .await
        .unwrap();
    app.run_pending_jobs().await;
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(app.request_status(&status).await, "ready");
    let archive = open_zip(&app.get(&format!("{status}/export")).await.body);
    let names: Vec<String> = archive
        .file_names()
        .filter_map(|n| n.ok().map(|c| c.into_owned()))
        .filter_map(|n| n.strip_prefix("files/archives/").map(str::to_owned))
        .collect();
    assert_eq!(names, rows);
    assert_manifest_checksums(&archive);
}
with_paper_archive!(a_removal_during_completion_never_breaks_the_export);

/// An upload cut off half-way (the body ends inside the second file) is refused, and the first
/// file, already stored, is deleted with it: no orphan file.
async fn a_cut_off_upload_leaves_no_file(app: TestApp) {
    let status = app.verified_request(JEANNE, "access").await;
    let reference = status.rsplit('/').next().unwrap().to_owned();
    app.run_pending_jobs().await;
    let (agent, _) = staff(&app, AGENT, Role::Agent).await;
    let task = task_path(&agent, &reference).await;
    let csrf = agent.csrf(&task).await;
    let b = "----dossiercut";
    let part = |name: &str| {
        format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
    };
    let mut body = format!("--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n").into_bytes();
    body.extend_from_slice(part("whole.pdf").as_bytes());
    body.extend_from_slice(&[1u8; 5000]);
    body.extend_from_slice(b"\r\n");
    body.extend_from_slice(part("cut.pdf").as_bytes());
    body.extend_from_slice(&[2u8; 5000]);
    let res = agent.post_raw(&format!("{task}/files"), &format!("multipart/form-data; boundary={b}"), body).await;
    assert_eq!(res.status, 400, "{}", res.text());
    assert_eq!(stored_files(&app).await, (0, 0), "nothing recorded, nothing left on disk");
    // The task still takes a proper upload.
    assert_back(&upload(&agent, &task, &[("file", "whole.pdf", &[1u8; 5000])]).await, "done=files");
    assert_eq!(stored_files(&app).await, (1, 1));
}
with_paper_archive!(a_cut_off_upload_leaves_no_file);
