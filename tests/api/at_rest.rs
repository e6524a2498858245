//! Files at rest (issue 16, attack 7): under umask 022 the database and the outbox's emails (live
//! codes and links) were readable by every account on the machine. Whatever the umask, every
//! folder Dossier creates is `0700` and every file `0600`.
//!
//! The scenario is the demo as `dossier serve` runs it (`Settings::demo`: generated keys, the demo
//! CRM databases, the events service and its token, the outbox, the paper archive's uploads),
//! through a whole access request, with the data directory walked at two points: while the
//! uploads and spools exist, and once the export is built.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dossier::app::App;
use dossier::clock::ManualClock;
use dossier::config::{Overrides, Settings};
use dossier::domain::Role;
use dossier::startup::Application;

use crate::export::{file_text, open_zip};
use crate::helpers::{Browser, STAFF_PASSWORD, TempDir, fresh_postgres_database, parse_eml, staff_password_step};

const JEANNE: &str = "jeanne.martin@example.fr";
const AGENT: &str = "agent@exemple.test";

/// Every file and folder under `root`, with its permission bits.
fn walk(root: &Path, out: &mut Vec<(PathBuf, u32, bool)>) {
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        out.push((path.clone(), meta.permissions().mode() & 0o777, meta.is_dir()));
        if meta.is_dir() {
            walk(&path, out);
        }
    }
}

/// Fails with the list of everything another account may read or enter; returns what was seen
/// (paths relative to `root`).
fn assert_private(root: &Path) -> Vec<String> {
    let mut entries = vec![(root.to_owned(), std::fs::metadata(root).unwrap().permissions().mode() & 0o777, true)];
    walk(root, &mut entries);
    let name = |p: &Path| p.strip_prefix(root).unwrap().display().to_string();
    let open: Vec<String> = entries
        .iter()
        .filter(|(_, mode, dir)| if *dir { *mode != 0o700 } else { mode & 0o077 != 0 })
        .map(|(p, mode, _)| format!("{:?} {mode:o}", name(p)))
        .collect();
    assert!(open.is_empty(), "open to other accounts: {open:#?}");
    entries.iter().map(|(p, _, _)| name(p)).collect()
}

/// The demo as `dossier serve` builds it, in a data directory it creates itself, on SQLite (its
/// default) or a fresh PostgreSQL database; `None` when PostgreSQL is not configured.
async fn spawn_demo(data: &Path, postgres: bool) -> Option<(Arc<App>, Browser, Option<crate::helpers::PgDb>)> {
    let overrides = Overrides { listen: Some("127.0.0.1:0".parse().unwrap()), data_dir: Some(data.to_owned()) };
    let pg = if postgres { Some(fresh_postgres_database().await?) } else { None };
    let mut settings = Settings::demo(&overrides).await.expect("the demo settings");
    if let Some(db) = &pg {
        settings.database_url = db.database_url();
    }
    settings.jobs.workers = 0;
    let clock = ManualClock::new(time::macros::datetime!(2026-03-10 09:00 UTC));
    let application = Application::build(settings, Arc::new(clock)).await.expect("the demo starts");
    let address = format!("http://127.0.0.1:{}", application.port());
    let app = application.app();
    actix_web::rt::spawn(application.into_server());
    Some((app, Browser::new(address), pg))
}

/// The newest email in the outbox.
fn last_email(outbox: &Path) -> crate::helpers::Email {
    let mut files: Vec<PathBuf> = std::fs::read_dir(outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    parse_eml(&std::fs::read(files.last().expect("an email in the outbox")).unwrap())
}

async fn status_of(app: &App, reference: &str) -> String {
    sqlx::query_scalar("SELECT status FROM requests WHERE reference = $1")
        .bind(reference)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

async fn files_stay_private_whatever_the_umask(postgres: bool) {
    // The umask most systems start services with: without explicit modes, everything Dossier
    // creates would be readable by every account (0644, 0755). It is the process's, so it is
    // set for every test of this binary: none relies on a narrower one.
    // SAFETY: umask(2) cannot fail and touches no memory.
    unsafe { libc::umask(0o022) };
    let root = TempDir::new("at-rest");
    let data = root.0.join("data");
    let Some((app, person, _pg)) = spawn_demo(&data, postgres).await else { return };

    // The person asks, verifies through the emailed link; the automated sources are searched
    // and the paper archive waits for staff.
    let res = person.submit_request(JEANNE, "access").await;
    assert_eq!(res.status, 303, "{}", res.text());
    dossier::jobs::run_pending(&app).await.expect("jobs run");
    let res = person.verify_by_link(&last_email(&data.join("outbox"))).await;
    assert_eq!(res.status, 303, "{}", res.text());
    let status = res.location();
    let reference = status.rsplit('/').next().unwrap().to_owned();
    dossier::jobs::run_pending(&app).await.expect("jobs run");
    assert_eq!(status_of(&app, &reference).await, "collecting");

    // Staff upload what they found (a page with a script in it, as a person might send).
    let address = dossier::domain::EmailAddress::parse(AGENT).unwrap();
    dossier::services::staff::create(&app.store, &address, "Agent", Role::Agent, STAFF_PASSWORD, app.now_ms())
        .await
        .unwrap();
    let staff = Browser::new(person.address.clone());
    assert_eq!(staff_password_step(&staff, AGENT, STAFF_PASSWORD).await.status, 303);
    let list = staff.get("/staff/tasks").await.text();
    let row = list.split("<tr>").find(|r| r.contains(&reference)).unwrap_or_else(|| panic!("{list}"));
    let start = row.rfind("href=\"/staff/tasks/").expect("a link to the task") + "href=\"".len();
    let task = row[start..].split('"').next().unwrap().to_owned();
    let csrf = staff.csrf(&task).await;
    let letter = b"<html><body><script>alert(document.cookie)</script></body></html>".as_slice();
    let res =
        staff.post_multipart(&format!("{task}/files"), &[("csrf", &csrf)], &[("file", "lettre.html", letter)]).await;
    assert_eq!(res.status, 303, "{}", res.text());

    let seen = assert_private(&data);
    let has = |seen: &[String], prefix: &str| seen.iter().any(|p| p.starts_with(prefix));
    for expected in ["uploads/", "spool/", "outbox/", "keys/secret.key", "keys/export.key", "demo-crm/crm.db"] {
        assert!(has(&seen, expected), "{expected} was checked: {seen:#?}");
    }

    let csrf = staff.csrf(&task).await;
    let res = staff.post(&format!("{task}/complete"), &[("csrf", &csrf), ("outcome", "done"), ("note", "")]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    dossier::jobs::run_pending(&app).await.expect("jobs run");
    assert_eq!(status_of(&app, &reference).await, "ready");

    let seen = assert_private(&data);
    let mut expected = vec![
        "exports/",
        "keys/secret.key",
        "demo-crm/newsletter.db",
        "demo-crm/events.db",
        "demo-crm/events.token",
        "demo-crm/fidelite/adherents.csv",
    ];
    if !postgres {
        // SQLite's own files, the write-ahead log included, while the server holds the database.
        expected.extend(["dossier.db", "dossier.db-wal", "dossier.db-shm"]);
    }
    for expected in expected {
        assert!(has(&seen, expected), "{expected} was checked: {seen:#?}");
    }
    let outbox: Vec<&String> = seen.iter().filter(|p| p.starts_with("outbox/")).collect();
    assert!(outbox.iter().any(|p| p.ends_with(".eml")) && outbox.iter().any(|p| p.ends_with(".json")), "{outbox:?}");

    // The upload reached the export, linked from index.html as a download under a policy that
    // runs no script.
    let zip = person.get(&format!("{status}/export")).await;
    assert_eq!(zip.status, 200);
    let index = file_text(&open_zip(&zip.body), "index.html");
    assert!(index.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"), "{index}");
    assert!(index.contains("href=\"files/archives/lettre.html.txt\" download"), "{index}");
}

#[actix_web::test]
async fn files_stay_private_whatever_the_umask_sqlite() {
    files_stay_private_whatever_the_umask(false).await;
}

#[actix_web::test]
async fn files_stay_private_whatever_the_umask_postgres() {
    files_stay_private_whatever_the_umask(true).await;
}
