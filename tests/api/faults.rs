//! Faults a deployment meets, with real processes where it matters: the server killed with
//! SIGKILL mid-request and started again, an SMTP server down then back, two instances sharing one
//! PostgreSQL queue, and a source that refuses connections or answers garbage. Nothing is lost,
//! nothing runs twice.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dossier::app::App;
use dossier::clock::ManualClock;
use dossier::config::MailTransport;
use dossier::jobs::{Turn, run_once};
use dossier::store::audit::{self, ChainCheck};
use sqlx::Connection;
use tokio::io::AsyncWriteExt;

use crate::export::{assert_manifest_checksums, json_records, open_zip};
use crate::helpers::{Backend, Browser, Email, Options, TempDir, TestApp, parse_eml, spawn_with};
use crate::smtp::SmtpServer;

const BIN: &str = env!("CARGO_BIN_EXE_dossier");
const JEANNE: &str = "jeanne.martin@example.fr";

/// A loopback port nothing listens on (the listener that found it is closed at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `probe` every 20 ms until it returns `Some`, failing after `timeout` with `what`.
async fn wait_for<T, F, Fut>(timeout: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every `.eml` in an outbox folder, in delivery order.
fn outbox(dir: &Path) -> Vec<Email> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files.iter().map(|p| parse_eml(&std::fs::read(p).unwrap())).collect()
}

/// `<id@host>` and `id@host` name the same message.
fn bare_id(message_id: &str) -> String {
    message_id.trim().trim_matches(['<', '>']).to_owned()
}

/// How many times each Message-ID was delivered.
fn count_by_message_id<'a>(ids: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for id in ids {
        *counts.entry(bare_id(id)).or_default() += 1;
    }
    counts
}

// ---------------------------------------------------------------------------------------------
// SIGKILL mid-request, with the real binary.

/// `dossier serve` as a child process, killed (SIGKILL) when dropped so a failing test leaves
/// nothing running.
struct Server {
    child: Child,
    address: String,
    log: PathBuf,
}

impl Server {
    /// Starts the binary on a free port and waits until `/health` answers.
    async fn start(config: &Path, keys: &(String, String), log: PathBuf) -> Self {
        let port = free_port();
        let address = format!("http://127.0.0.1:{port}");
        let log_file = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("DOSSIER_SECRET_KEY", &keys.0)
            .env("DOSSIER_EXPORT_KEY", &keys.1)
            .env("DOSSIER_BASE_URL", &address)
            .env("RUST_LOG", "info")
            .env_remove("DOSSIER_DATABASE_URL")
            .env_remove("DOSSIER_SMTP_URL")
            .env_remove("DOSSIER_LOG_FORMAT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("dossier serve starts");
        let mut server = Self { child, address, log };
        let client = awc::Client::default();
        let health = format!("{}/health", server.address);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(res) = client.get(&health).send().await
                && res.status().is_success()
            {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("dossier serve exited with {status} before answering:\n{}", server.logs());
            }
            assert!(Instant::now() < deadline, "dossier serve did not answer within 20 s:\n{}", server.logs());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown handler runs, leases stay on the jobs in hand.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("the killed server is reaped");
    }

    /// SIGTERM, then waits for the graceful shutdown to end.
    async fn terminate(mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill -TERM");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "no exit within 20 s of SIGTERM:\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A configuration file with the demo's sources, exactly as `dossier serve` configures them
/// without a file, outbox mail, and a one-second lease so a crashed worker's jobs come back fast.
fn write_config(dir: &Path, crm: &Path) -> PathBuf {
    let crm = crm.to_str().expect("a UTF-8 temporary path");
    assert!(!crm.contains(['%', '?', '#', '"', '\\']), "a plain temporary path: {crm}");
    let sources =
        include_str!("../../src/demo/sources.toml").replace("{{DEMO_DIR}}", crm).replace("{{DEMO_PATH}}", crm);
    let text = format!(
        r#"base_url = "http://127.0.0.1:1"
data_dir = {data}
default_locale = "en"

[controller]
name = "Exemple SAS"
contact_email = "privacy@exemple.test"

[controller.authority]
name = "CNIL"
address = "3 place de Fontenoy, 75007 Paris"
url = "https://www.cnil.fr/fr/plaintes"

[security]
cookie_secure = false

[mail]
transport = "outbox"
from = "Exemple SAS <privacy@exemple.test>"

[jobs]
workers = 2
lease_seconds = 1
backoff_base_seconds = 1
poll_interval_ms = 50

{sources}"#,
        data = crate::helpers::toml_str(&dir.join("data").display().to_string()),
    );
    let path = dir.join("dossier.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Takes an exclusive lock on a source's SQLite file (in rollback-journal mode, as the demo
/// writes it, readers wait for it): a collection from it hangs until [`release`] is called.
async fn lock_exclusively(path: &Path) -> sqlx::SqliteConnection {
    let options =
        sqlx::sqlite::SqliteConnectOptions::new().filename(path).journal_mode(sqlx::sqlite::SqliteJournalMode::Delete);
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await.expect("open the source");
    sqlx::raw_sql("BEGIN EXCLUSIVE").execute(&mut conn).await.expect("lock the source");
    conn
}

async fn release(mut lock: sqlx::SqliteConnection) {
    sqlx::raw_sql("ROLLBACK").execute(&mut lock).await.unwrap();
    lock.close().await.unwrap();
}

/// The server's store, read from the test while the server runs (or after it died).
async fn open_store(path: &Path) -> sqlx::SqlitePool {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).busy_timeout(Duration::from_secs(10));
    sqlx::sqlite::SqlitePoolOptions::new().max_connections(2).connect_with(options).await.expect("open the store")
}

/// The server is killed while a collection job is running (and others are queued or running):
/// the restarted server takes the job over once its lease expires, and the request completes
/// with an export whose every file matches its manifest.
#[actix_web::test]
async fn a_server_killed_mid_request_finishes_it_after_a_restart() {
    let tmp = TempDir::new("fault-sigkill");
    let crm = tmp.0.join("crm");
    dossier::demo::create_demo_crm(&crm).await.unwrap();
    let config = write_config(&tmp.0, &crm);
    let data = tmp.0.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let keys = (dossier::crypto::SecretKey::generate().to_base64(), dossier::crypto::SecretKey::generate().to_base64());
    let log = tmp.0.join("serve.log");

    let first = Server::start(&config, &keys, log.clone()).await;
    let mut browser = Browser::new(first.address.clone());
    let res = browser.submit_request(JEANNE, "access").await;
    assert_eq!(res.status, 303, "{}", res.text());
    let outbox_dir = data.join("outbox");
    let mail = wait_for(Duration::from_secs(10), "the verification email", || async {
        outbox(&outbox_dir).into_iter().find(|m| m.to.contains(JEANNE))
    })
    .await;

    // Hold the CRM database with an exclusive lock: its collection job, once claimed, waits on the
    // lock, so the kill finds it running, deterministically.
    let crm_lock = lock_exclusively(&crm.join(dossier::demo::CRM_FILE)).await;

    let status_path = browser.verify_by_link(&mail).await.location();
    let db = open_store(&data.join("dossier.db")).await;
    let crm_job = r#"SELECT status, attempts FROM jobs WHERE kind = 'collect' AND payload LIKE '%"source":"crm"%'"#;
    wait_for(Duration::from_secs(10), "the CRM collection to be claimed", || async {
        let row: Option<(String, i32)> = sqlx::query_as(crm_job).fetch_optional(&db).await.unwrap();
        row.filter(|(status, _)| status == "running")
    })
    .await;
    first.kill();
    release(crm_lock).await;

    // What the crash left: a job still leased to a dead worker, the request collecting, no export.
    let (status, attempts): (String, i32) = sqlx::query_as(crm_job).fetch_one(&db).await.unwrap();
    assert_eq!((status.as_str(), attempts), ("running", 1), "the CRM job was in hand when the server died");
    let request: String = sqlx::query_scalar("SELECT status FROM requests").fetch_one(&db).await.unwrap();
    assert_eq!(request, "collecting");
    let exports: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM exports").fetch_one(&db).await.unwrap();
    assert_eq!(exports, 0, "no export before the restart");

    let second = Server::start(&config, &keys, log.clone()).await;
    browser.address = second.address.clone();
    let unfinished = "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')";
    wait_for(Duration::from_secs(30), "the request to be ready with no job left", || async {
        let status: String = sqlx::query_scalar("SELECT status FROM requests").fetch_one(&db).await.unwrap();
        assert_ne!(status, "needs_attention", "the request failed after the restart");
        let left: i64 = sqlx::query_scalar(unfinished).fetch_one(&db).await.unwrap();
        (status == "ready" && left == 0).then_some(())
    })
    .await;

    let (status, attempts): (String, i32) = sqlx::query_as(crm_job).fetch_one(&db).await.unwrap();
    assert_eq!((status.as_str(), attempts), ("done", 2), "taken over once after the lease expired");
    let not_done: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status <> 'done'").fetch_one(&db).await.unwrap();
    assert_eq!(not_done, 0);
    let exports: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM exports").fetch_one(&db).await.unwrap();
    assert_eq!(exports, 1, "one export");
    assert_eq!(std::fs::read_dir(data.join("exports")).unwrap().count(), 1, "one export file, no leftover");

    // The session from before the crash still opens the request (it lives in the database).
    let download = browser.get(&format!("{status_path}/export")).await;
    assert_eq!(download.status, 200, "{}", download.text());
    let archive = open_zip(&download.body);
    assert_manifest_checksums(&archive);
    assert_eq!(json_records(&archive, "crm", "contacts").len(), 2, "both of Jeanne's CRM contacts");
    assert_eq!(json_records(&archive, "loyalty", "members").len(), 2);
    assert_eq!(json_records(&archive, "newsletter", "subscribers").len(), 1);
    assert!(
        outbox(&outbox_dir).iter().any(|m| m.to.contains(JEANNE) && m.text.contains(&status_path)),
        "the export-ready email links to the request"
    );

    // A graceful stop (SIGTERM) ends cleanly.
    let exit = second.terminate().await;
    assert!(exit.success(), "{exit}: {}", std::fs::read_to_string(&log).unwrap_or_default());
    db.close().await;
}

// ---------------------------------------------------------------------------------------------
// SMTP down, then back.

async fn scalar(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(app.app.store.pool()).await.unwrap()
}

/// Every stored email, by Message-ID, delivered or not.
async fn stored_message_ids(app: &TestApp) -> BTreeSet<String> {
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT message_id FROM emails").fetch_all(app.app.store.pool()).await.unwrap();
    ids.iter().map(|id| bare_id(id)).collect()
}

/// Every email reaches the SMTP server once it is back, none twice, whether the server was down
/// from the start or went down between requests.
#[actix_web::test]
async fn emails_written_while_smtp_is_down_all_arrive_once_it_is_back() {
    let port = free_port();
    let mail = Some(MailTransport::Smtp { url: format!("smtp://127.0.0.1:{port}") });
    let app = spawn_with(Options { mail, ..Default::default() }).await.unwrap();
    let people = ["ana@example.org", "bo@example.org", "cy@example.org"];
    for email in people {
        assert_eq!(app.submit_request(email, "access").await.status, 303);
    }

    // Nothing listens: every delivery fails and is queued again, with its error.
    assert_eq!(app.run_pending_jobs().await, 3);
    let retried = scalar(
        &app,
        "SELECT COUNT(*) FROM jobs WHERE kind = 'send_email' AND status = 'queued' AND attempts = 1 \
         AND last_error IS NOT NULL",
    )
    .await;
    assert_eq!(retried, 3, "three deliveries waiting for their retry");

    let server = SmtpServer::start_on(port).await;
    assert_eq!(app.run_pending_jobs().await, 0, "the retries wait for their backoff");
    assert!(server.received().is_empty());
    app.clock.advance(time::Duration::minutes(1));
    assert_eq!(app.run_pending_jobs().await, 3);
    let received = server.received();
    let recipients: BTreeSet<&str> = received.iter().map(|(rcpt, _)| rcpt.as_str()).collect();
    assert_eq!(recipients, people.into_iter().collect());

    // The server goes down again; the three people confirm meanwhile, their collections run and
    // their exports are built, and every email about it waits.
    let mails: Vec<Email> = received.iter().map(|(_, raw)| parse_eml(raw)).collect();
    server.stop().await;
    for mail in &mails {
        let res = app.verify_by_link(mail).await;
        assert_eq!(res.status, 303, "{}", res.text());
    }
    app.run_pending_jobs().await;
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM requests WHERE status = 'ready'").await, 3);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM emails WHERE sent_at IS NULL").await, 6, "confirmed + ready, each");

    let server = SmtpServer::start_on(port).await;
    for _ in 0..10 {
        if app.unfinished_jobs().await == 0 {
            break;
        }
        app.clock.advance(time::Duration::minutes(10));
        app.run_pending_jobs().await;
    }
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM jobs WHERE status <> 'done'").await, 0, "no delivery gave up");

    let mut all = received;
    all.extend(server.received());
    let messages: Vec<Email> = all.iter().map(|(_, raw)| parse_eml(raw)).collect();
    let counts = count_by_message_id(messages.iter().map(|m| m.message_id.as_str()));
    assert!(counts.values().all(|&n| n == 1), "an email arrived twice: {counts:?}");
    assert_eq!(counts.keys().cloned().collect::<BTreeSet<_>>(), stored_message_ids(&app).await, "none lost");
    assert_eq!(counts.len(), 9, "per person: verification, confirmation, export ready");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM emails WHERE sent_at IS NULL").await, 0);
}

// ---------------------------------------------------------------------------------------------
// Two instances, one PostgreSQL database.

/// One worker of one instance: runs jobs until none is left in the whole queue (other workers may
/// still hold some; it waits for them). Every job must succeed at its first attempt.
async fn drain(app: &App, worker: &str) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut ran = 0;
    loop {
        match run_once(app, worker).await.expect("a worker turn") {
            Turn::Done => ran += 1,
            Turn::Idle => {
                let mut conn = app.store.conn().await.unwrap();
                if dossier::store::jobs::unfinished(&mut conn).await.unwrap() == 0 {
                    return ran;
                }
                assert!(Instant::now() < deadline, "{worker}: jobs still unfinished after 60 s");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            other => {
                let errors: Vec<Option<String>> =
                    sqlx::query_scalar("SELECT last_error FROM jobs WHERE last_error IS NOT NULL")
                        .fetch_all(app.store.pool())
                        .await
                        .unwrap();
                panic!("{worker}: a job turned {other:?}: {errors:?}");
            }
        }
    }
}

/// Two workers on each of two instances, all at once, until the queue is empty.
async fn drain_both(a: &App, b: &App) -> (usize, usize) {
    let (a0, a1, b0, b1) = tokio::join!(drain(a, "a-0"), drain(a, "a-1"), drain(b, "b-0"), drain(b, "b-1"));
    (a0 + a1, b0 + b1)
}

/// Many requests in flight on two instances sharing one PostgreSQL database (and one data
/// folder): every job runs exactly once, each request gets one export, each email goes out once.
#[actix_web::test]
async fn two_instances_on_one_postgres_database_run_each_job_once() {
    let Some(app) = spawn_with(Options { backend: Backend::Postgres, ..Default::default() }).await else { return };
    // The second instance: same settings (database, data folder, keys), its own pool and workers.
    let other =
        App::new(app.app.settings.clone(), Arc::new(app.clock.clone()), app.app.base_url.clone()).await.unwrap();
    let a = &*app.app;
    let b = &other;

    let mut people: Vec<String> = dossier::demo::DEMO_PEOPLE.iter().map(|(email, _)| (*email).to_owned()).collect();
    people.extend((1..=4).map(|i| format!("someone.{i}@example.org")));
    for email in &people {
        assert_eq!(app.submit_request(email, "access").await.status, 303);
    }
    let (by_a, by_b) = drain_both(a, b).await;
    assert_eq!(by_a + by_b, people.len(), "one verification email each");

    for email in &people {
        let mail = app.last_email_to(email);
        let res = app.verify_by_link(&mail).await;
        assert_eq!(res.status, 303, "{}", res.text());
    }
    let (by_a, by_b) = drain_both(a, b).await;
    assert!(by_a > 0 && by_b > 0, "both instances ran jobs: {by_a} and {by_b}");

    let pool = app.app.store.pool();
    let not_once: Vec<(String, String, i32)> =
        sqlx::query_as("SELECT kind, status, attempts FROM jobs WHERE status <> 'done' OR attempts <> 1")
            .fetch_all(pool)
            .await
            .unwrap();
    assert!(not_once.is_empty(), "every job done at its first attempt: {not_once:?}");
    let jobs = scalar(&app, "SELECT COUNT(*) FROM jobs").await as usize;
    // Per request: verification, 3 collections, export, confirmation and export-ready emails.
    assert_eq!(jobs, people.len() * 7);
    let instances: i64 =
        sqlx::query_scalar("SELECT COUNT(DISTINCT SUBSTR(locked_by, 1, 1)) FROM jobs").fetch_one(pool).await.unwrap();
    assert_eq!(instances, 2, "jobs were claimed by both instances");

    let exports: Vec<(String, i64)> =
        sqlx::query_as("SELECT r.status, COUNT(e.id) FROM requests r LEFT JOIN exports e ON e.request_id = r.id GROUP BY r.id, r.status")
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(exports.len(), people.len());
    assert!(exports.iter().all(|(status, n)| status == "ready" && *n == 1), "{exports:?}");
    let files = std::fs::read_dir(app.app.settings.export_dir()).unwrap().count();
    assert_eq!(files, people.len(), "one export file per request in the shared folder");
    let runs = scalar(&app, "SELECT COUNT(*) FROM source_runs WHERE status = 'done'").await as usize;
    assert_eq!(runs, people.len() * 3);

    let delivered = app.emails();
    let counts = count_by_message_id(delivered.iter().map(|m| m.message_id.as_str()));
    assert!(counts.values().all(|&n| n == 1), "an email went out twice: {counts:?}");
    assert_eq!(counts.keys().cloned().collect::<BTreeSet<_>>(), stored_message_ids(&app).await, "none lost");

    let mut conn = app.app.store.conn().await.unwrap();
    let chain = audit::verify(&mut conn).await.unwrap();
    assert!(matches!(chain, ChainCheck::Intact { .. }), "{chain}");
}

// ---------------------------------------------------------------------------------------------
// A source that refuses connections, and one that answers garbage.

/// A TCP server that answers every connection with bytes no database speaks, then hangs up.
async fn garbage_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 7\r\n\r\ngarbage").await;
            let _ = stream.shutdown().await;
        }
    });
    port
}

/// An instance like `spawn_with`'s (SQLite, manual clock, outbox mail, the demo's sources) with
/// `extra` sources after the demo ones, in its own folder inside `base`'s.
async fn spawn_with_sources(base: &TestApp, extra: &[&str]) -> (PathBuf, Arc<App>, ManualClock, Browser) {
    let mut settings = base.app.settings.clone();
    let data = base.data_dir().join("with-sources");
    std::fs::create_dir_all(&data).unwrap();
    settings.database_url = format!("sqlite://{}?mode=rwc", data.join("dossier.db").display());
    settings.mail.transport = MailTransport::Outbox { dir: data.join("outbox") };
    settings.data_dir = data.clone();
    for source in extra {
        settings.sources.push(toml::from_str(source).expect("a source configuration"));
    }
    let clock = ManualClock::new(time::macros::datetime!(2026-03-10 09:00 UTC));
    let application = dossier::startup::Application::build(settings, Arc::new(clock.clone())).await.unwrap();
    let browser = Browser::new(format!("http://127.0.0.1:{}", application.port()));
    let app = application.app();
    actix_web::rt::spawn(application.into_server());
    (data, app, clock, browser)
}

fn postgres_source(name: &str, url: &str) -> String {
    format!(
        "kind = 'sql'\nname = '{name}'\nurl = '{url}'\n\
         [[collections]]\nname = 'customers'\ntable = 'customers'\nemail_columns = ['email']\n"
    )
}

/// A source that cannot be collected: its name, URL, and what its failure must say.
struct Broken<'a> {
    name: &'a str,
    url: String,
    reason: &'a str,
}

/// Each broken source is retried to its last attempt, then the request needs attention with
/// every broken source shown failed and its reason kept for staff; the demo sources' results
/// (their spools) are kept, and no partial export is ever built.
async fn broken_sources_need_attention(broken: &[Broken<'_>]) {
    let extra: Vec<String> = broken.iter().map(|b| postgres_source(b.name, &b.url)).collect();
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let base = spawn_with(Options::default()).await.unwrap();
    let (data, app, clock, browser) = spawn_with_sources(&base, &extra).await;
    let pool = app.store.pool();
    let run_all = || async { dossier::jobs::run_pending(&app).await.expect("jobs run") };

    assert_eq!(browser.submit_request(JEANNE, "access").await.status, 303);
    run_all().await;
    let mail = outbox(&data.join("outbox")).pop().expect("the verification email");
    browser.verify_by_link(&mail).await.location();
    run_all().await;
    let retrying: Vec<i32> =
        sqlx::query_scalar("SELECT attempts FROM jobs WHERE kind = 'collect' AND status = 'queued'")
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(retrying, vec![1; broken.len()], "each broken source waits for a retry");

    // Move the clock past each backoff (capped at 6 hours) until nothing is left.
    for _ in 0..10 {
        clock.advance(time::Duration::hours(7));
        run_all().await;
    }
    let mut conn = app.store.conn().await.unwrap();
    assert_eq!(dossier::store::jobs::unfinished(&mut conn).await.unwrap(), 0);
    drop(conn);

    let jobs: Vec<(String, String, i32, Option<String>)> =
        sqlx::query_as("SELECT payload, status, attempts, last_error FROM jobs WHERE kind = 'collect'")
            .fetch_all(pool)
            .await
            .unwrap();
    let runs: Vec<(String, String, i64, Option<String>)> =
        sqlx::query_as("SELECT source, status, records, error FROM source_runs ORDER BY source")
            .fetch_all(pool)
            .await
            .unwrap();
    let max = app.settings.jobs.max_attempts;
    for b in broken {
        let source = format!("\"source\":\"{}\"", b.name);
        let job = jobs.iter().find(|j| j.0.contains(&source)).expect("the source's job");
        assert_eq!((job.1.as_str(), job.2), ("dead", max), "{}: every attempt used, then dead: {jobs:?}", b.name);
        let error = job.3.as_deref().unwrap_or_default();
        assert!(error.contains(b.reason), "{}: the job's last error says why: {error}", b.name);
        let run = runs.iter().find(|r| r.0 == b.name).expect("the source's run");
        assert_eq!(run.1, "failed", "{}: shown failed: {runs:?}", b.name);
        assert!(run.3.as_deref().unwrap_or_default().contains(b.reason), "{}: staff see why: {runs:?}", b.name);
    }
    for demo in ["crm", "loyalty", "newsletter"] {
        let run = runs.iter().find(|r| r.0 == demo).expect("a demo source's run");
        assert!(run.1 == "done" && run.2 > 0, "{demo}'s records are kept: {runs:?}");
    }
    let request: String = sqlx::query_scalar("SELECT status FROM requests").fetch_one(pool).await.unwrap();
    assert_eq!(request, "needs_attention");
    let exports: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM exports").fetch_one(pool).await.unwrap();
    assert_eq!(exports, 0, "never a silent partial export");
    let request_id: String = sqlx::query_scalar("SELECT id FROM requests").fetch_one(pool).await.unwrap();
    let spools = std::fs::read_dir(app.settings.spool_dir().join(request_id))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "spool"))
        .count();
    assert_eq!(spools, 3, "the collected sources' spools wait for staff");
}

fn refusing() -> Broken<'static> {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    Broken { name: "billing", url: "postgres://postgres@127.0.0.1:1/x".into(), reason: "refused the connection" }
}

async fn answering_garbage() -> Broken<'static> {
    let port = garbage_server().await;
    Broken {
        name: "ledger",
        url: format!("postgres://postgres@127.0.0.1:{port}/x"),
        reason: "connecting to database x (source ledger) failed",
    }
}

/// A PostgreSQL source whose port refuses connections.
#[actix_web::test]
async fn a_source_refusing_connections_is_retried_then_needs_attention() {
    broken_sources_need_attention(&[refusing()]).await;
}

/// A "PostgreSQL" source that answers bytes no database speaks.
#[actix_web::test]
async fn a_source_answering_garbage_is_retried_then_needs_attention() {
    broken_sources_need_attention(&[answering_garbage().await]).await;
}

/// Both at once: the first to exhaust its retries puts the request in `needs_attention`; the other
/// keeps being retried and is shown failed too.
#[actix_web::test]
async fn two_broken_sources_are_both_shown_failed() {
    broken_sources_need_attention(&[refusing(), answering_garbage().await]).await;
}

/// Two instances whose data folders are not shared (only the export folder is): one collects the
/// sources into its spools, the other builds the export and finds no spool. A spool missing for a
/// source that reported records must fail the export (retried, then `needs_attention`), never
/// produce a ZIP without that source's data.
#[actix_web::test]
async fn an_export_built_without_the_collected_spools_is_refused() {
    let app = spawn_with(Options::default()).await.unwrap();
    let mut settings = app.app.settings.clone();
    settings.exports.dir = Some(app.app.settings.export_dir());
    settings.data_dir = app.data_dir().join("other-instance");
    let other = App::new(settings, Arc::new(app.clock.clone()), app.app.base_url.clone()).await.unwrap();

    let (_, mail) = app.submit_and_read_mail(JEANNE, "access").await;
    let status = app.verify_by_link(&mail).await.location();
    // Hold the emails back, so the first instance's next three turns are the three collections.
    sqlx::query("UPDATE jobs SET run_at = run_at + 60000 WHERE status = 'queued' AND kind = 'send_email'")
        .execute(app.app.store.pool())
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(run_once(&app.app, "first").await.unwrap(), Turn::Done);
    }
    // The other instance cannot see the spools: it refuses to build, and the job is retried.
    assert_eq!(run_once(&other, "other").await.unwrap(), Turn::Retried);
    let exports: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM exports").fetch_one(app.app.store.pool()).await.unwrap();
    assert_eq!(exports, 0, "no partial export");
    // The retry lands on the instance that holds them.
    app.clock.advance(time::Duration::minutes(1));
    app.run_pending_jobs().await;
    let request: String =
        sqlx::query_scalar("SELECT status FROM requests").fetch_one(app.app.store.pool()).await.unwrap();
    assert_eq!(request, "ready");
    let download = app.get(&format!("{status}/export")).await;
    let archive = open_zip(&download.body);
    assert_eq!(json_records(&archive, "crm", "contacts").len(), 2, "the collected CRM records are in the export");
}
