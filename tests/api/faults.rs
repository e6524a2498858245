//! Faults a deployment meets, with real processes where it matters: the server killed with
//! SIGKILL mid-request or mid-erasure and started again, an SMTP server down then back, two
//! instances sharing one PostgreSQL queue, and a source that refuses connections or answers
//! garbage. Nothing is lost, nothing runs twice.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dossier::app::App;
use dossier::clock::ManualClock;
use dossier::config::MailTransport;
use dossier::jobs::{Turn, run_once};
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
pub(crate) struct Server {
    child: Child,
    pub(crate) address: String,
    log: PathBuf,
}

impl Server {
    /// Starts the binary on a free port and waits until `/health` answers.
    pub(crate) async fn start(config: &Path, keys: &(String, String), log: PathBuf) -> Self {
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

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
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

/// Takes a source's SQLite file's write lock (RESERVED, in rollback-journal mode): it can still be
/// read, so an erasure's step locates the person, then waits to write.
async fn lock_writes(path: &Path) -> sqlx::SqliteConnection {
    let options =
        sqlx::sqlite::SqliteConnectOptions::new().filename(path).journal_mode(sqlx::sqlite::SqliteJournalMode::Delete);
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await.expect("open the source");
    sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut conn).await.expect("lock the source");
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
// SIGKILL mid-erasure, with the real binary.

const STAFF: &str = "agent@exemple.test";
const STAFF_PASSWORD: &str = "correct horse battery staple";

/// `dossier staff add`, the password on standard input, as an operator creates an account.
fn add_staff(config: &Path, keys: &(String, String)) {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(["staff", "add", "--config"])
        .arg(config)
        .args(["--email", STAFF, "--role", "agent"])
        .env("DOSSIER_SECRET_KEY", &keys.0)
        .env("DOSSIER_EXPORT_KEY", &keys.1)
        .env("RUST_LOG", "off")
        .env_remove("DOSSIER_DATABASE_URL")
        .env_remove("DOSSIER_BASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dossier staff add starts");
    child.stdin.take().expect("its standard input").write_all(format!("{STAFF_PASSWORD}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().expect("dossier staff add ends");
    assert!(out.status.success(), "dossier staff add: {}", String::from_utf8_lossy(&out.stderr));
}

/// Everything the demo sources hold: every row of every table of the CRM and newsletter
/// databases (each value as SQLite quotes it, rows sorted), and the bytes of every file of the
/// loyalty export.
#[derive(PartialEq, Eq)]
struct DemoData {
    tables: BTreeMap<String, Vec<String>>,
    files: BTreeMap<String, Vec<u8>>,
}

impl DemoData {
    async fn read(demo: &Path) -> Self {
        let mut tables = BTreeMap::new();
        for file in [dossier::demo::CRM_FILE, dossier::demo::NEWSLETTER_FILE] {
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(demo.join(file))
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Delete)
                .busy_timeout(Duration::from_secs(10));
            let mut conn = sqlx::SqliteConnection::connect_with(&options).await.expect("open a demo database");
            let names: Vec<String> =
                sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            for table in names {
                let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?) ORDER BY cid")
                    .bind(&table)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                let quoted = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
                let row =
                    columns.iter().map(|c| format!("quote({})", quoted(c))).collect::<Vec<_>>().join(" || ',' || ");
                let sql = format!("SELECT {row} FROM {}", quoted(&table));
                let mut rows: Vec<String> =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(&mut conn).await.unwrap();
                rows.sort();
                rows.insert(0, columns.join(","));
                tables.insert(format!("{file}/{table}"), rows);
            }
            conn.close().await.unwrap();
        }
        let mut files = BTreeMap::new();
        for entry in std::fs::read_dir(demo.join(dossier::demo::LOYALTY_DIR)).expect("the loyalty export") {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            files.insert(name, std::fs::read(&path).unwrap());
        }
        Self { tables, files }
    }

    /// What differs from `other`, one line per table or file, with the first differing row.
    fn differences(&self, other: &Self) -> Vec<String> {
        let mut out = Vec::new();
        let names: BTreeSet<&String> = self.tables.keys().chain(other.tables.keys()).collect();
        for name in names {
            let (a, b) = (self.tables.get(name), other.tables.get(name));
            if a == b {
                continue;
            }
            let (a, b) = (a.cloned().unwrap_or_default(), b.cloned().unwrap_or_default());
            let first = a.iter().zip(&b).find(|(x, y)| x != y);
            out.push(format!("{name}: {} rows vs {}; first difference: {first:?}", a.len(), b.len()));
        }
        let names: BTreeSet<&String> = self.files.keys().chain(other.files.keys()).collect();
        for name in names {
            if self.files.get(name) != other.files.get(name) {
                out.push(format!("{name}: the bytes differ"));
            }
        }
        out
    }

    /// Every value and byte, lower-cased, to look for an address in.
    fn text(&self) -> String {
        let mut text: String = self.tables.values().flatten().map(|r| format!("{r}\n")).collect();
        for bytes in self.files.values() {
            text.push_str(&String::from_utf8_lossy(bytes));
        }
        text.to_lowercase()
    }
}

/// A fresh copy of the demo data, its configuration, an empty data folder, and a staff account in
/// the store.
struct ErasureSetup {
    tmp: TempDir,
    demo: PathBuf,
    config: PathBuf,
    data: PathBuf,
}

impl ErasureSetup {
    async fn new(name: &str, keys: &(String, String)) -> Self {
        let tmp = TempDir::new(name);
        let demo = tmp.0.join("crm");
        dossier::demo::create_demo_crm(&demo).await.unwrap();
        let config = write_config(&tmp.0, &demo);
        let data = tmp.0.join("data");
        std::fs::create_dir_all(&data).unwrap();
        add_staff(&config, keys);
        Self { tmp, demo, config, data }
    }

    fn log(&self) -> PathBuf {
        self.tmp.0.join("serve.log")
    }

    async fn store(&self) -> sqlx::SqlitePool {
        open_store(&self.data.join("dossier.db")).await
    }
}

async fn request_status(db: &sqlx::SqlitePool) -> String {
    sqlx::query_scalar("SELECT status FROM requests").fetch_one(db).await.unwrap()
}

/// Jeanne's erasure through the pages of a real server, to `awaiting_review`: asked for,
/// verified by the emailed link, planned by the workers, the plan confirmed; then a staff member
/// signs in with the same client. Returns the client and the request's reference.
async fn erasure_awaiting_review(server: &Server, db: &sqlx::SqlitePool, outbox_dir: &Path) -> (Browser, String) {
    let browser = Browser::new(server.address.clone());
    let res = browser.submit_request(JEANNE, "erasure").await;
    assert_eq!(res.status, 303, "{}", res.text());
    let mail = wait_for(Duration::from_secs(10), "the verification email", || async {
        outbox(outbox_dir).into_iter().find(|m| m.to.contains(JEANNE))
    })
    .await;
    let status_path = browser.verify_by_link(&mail).await.location();
    let reference = status_path.rsplit('/').next().unwrap_or_default().to_owned();
    wait_for(Duration::from_secs(30), "the plan", || async {
        let status = request_status(db).await;
        assert_ne!(status, "needs_attention", "planning failed:\n{}", server.logs());
        (status == "awaiting_confirmation").then_some(())
    })
    .await;
    let csrf = browser.csrf(&status_path).await;
    let res = browser.post(&format!("{status_path}/confirm"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert!(res.location().ends_with("said=confirmed"), "{}", res.location());
    assert_eq!(request_status(db).await, "awaiting_review");

    let csrf = browser.csrf("/staff/login").await;
    let res = browser.post("/staff/login", &[("email", STAFF), ("password", STAFF_PASSWORD), ("csrf", &csrf)]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    (browser, reference)
}

/// The staff member approves every item ("approve all": the review form sent with no exclusion).
async fn approve_all(browser: &Browser, reference: &str) {
    let page = format!("/staff/requests/{reference}");
    let csrf = browser.csrf(&page).await;
    let res = browser.post(&format!("{page}/review"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert!(res.location().ends_with("done=review"), "{}", res.location());
}

/// Waits for the request to be completed with no job left.
async fn completed(server: &Server, db: &sqlx::SqlitePool) {
    let unfinished = "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')";
    wait_for(Duration::from_secs(60), "the erasure to complete with no job left", || async {
        let status = request_status(db).await;
        assert_ne!(status, "needs_attention", "the erasure failed:\n{}", server.logs());
        let left: i64 = sqlx::query_scalar(unfinished).fetch_one(db).await.unwrap();
        (status == "completed" && left == 0).then_some(())
    })
    .await;
}

/// The status and attempts of the request's `execute` job for `source`, once it exists.
async fn execute_job(db: &sqlx::SqlitePool, source: &str) -> Option<(String, i32)> {
    sqlx::query_as("SELECT status, attempts FROM jobs WHERE kind = 'execute' AND payload LIKE ?")
        .bind(format!("%\"source\":\"{source}\"%"))
        .fetch_optional(db)
        .await
        .unwrap()
}

/// Jeanne's contact records still carrying her address, read from the CRM itself.
async fn jeanne_in_crm(demo: &Path) -> i64 {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(demo.join(dossier::demo::CRM_FILE))
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Delete)
        .busy_timeout(Duration::from_secs(10));
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await.expect("open the CRM");
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

/// The server is killed in the worst place an erasure can be interrupted: the newsletter and the
/// loyalty export are executed and recorded, and the CRM has committed its changes but Dossier
/// has not recorded them (the CRM was held locked until the other sources were done, then the
/// store was held so the outcome could not be written). After a restart the CRM's steps run again
/// and change nothing more, the other sources are not touched again, and the sources end exactly
/// as after the same erasure run without interruption on a fresh copy of the demo data.
#[actix_web::test]
async fn a_server_killed_mid_erasure_finishes_it_exactly_once_after_a_restart() {
    let keys = (dossier::crypto::SecretKey::generate().to_base64(), dossier::crypto::SecretKey::generate().to_base64());

    // The same erasure, uninterrupted, on its own copy of the demo data and with the same keys
    // (pseudonyms depend on the key).
    let reference_run = ErasureSetup::new("fault-erasure-reference", &keys).await;
    let pristine = DemoData::read(&reference_run.demo).await;
    let server = Server::start(&reference_run.config, &keys, reference_run.log()).await;
    let db = reference_run.store().await;
    let (browser, reference) = erasure_awaiting_review(&server, &db, &reference_run.data.join("outbox")).await;
    approve_all(&browser, &reference).await;
    completed(&server, &db).await;
    let exit = server.terminate().await;
    assert!(exit.success(), "{exit}");
    db.close().await;
    let expected = DemoData::read(&reference_run.demo).await;
    assert!(!expected.differences(&pristine).is_empty(), "the erasure changed nothing");
    assert!(!expected.text().contains(JEANNE), "Jeanne's address is still in a source after her erasure");

    // The interrupted run.
    let run = ErasureSetup::new("fault-erasure", &keys).await;
    assert!(DemoData::read(&run.demo).await == pristine, "the demo data is the same on every copy");
    let first = Server::start(&run.config, &keys, run.log()).await;
    let db = run.store().await;
    let (mut browser, reference) = erasure_awaiting_review(&first, &db, &run.data.join("outbox")).await;

    let crm_lock = lock_writes(&run.demo.join(dossier::demo::CRM_FILE)).await;
    approve_all(&browser, &reference).await;
    wait_for(Duration::from_secs(20), "the newsletter and loyalty executed while the CRM waits to write", || async {
        let (crm, newsletter, loyalty) =
            (execute_job(&db, "crm").await?, execute_job(&db, "newsletter").await?, execute_job(&db, "loyalty").await?);
        // The CRM's step found Jeanne's records again and noted its attempt, then waits to write.
        let attempted: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM plan_items WHERE source = 'crm' AND decision = 'approved' AND attempted_at IS NULL",
        )
        .fetch_one(&db)
        .await
        .ok()?;
        (crm.0 == "running" && newsletter.0 == "done" && loyalty.0 == "done" && attempted == 0).then_some(())
    })
    .await;
    // Hold the store, then let the CRM go: it commits, and its job cannot record what it did.
    let store_lock = {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(run.data.join("dossier.db"))
            .busy_timeout(Duration::from_secs(10));
        let mut conn = sqlx::SqliteConnection::connect_with(&options).await.expect("open the store");
        sqlx::raw_sql("BEGIN EXCLUSIVE").execute(&mut conn).await.expect("lock the store");
        conn
    };
    release(crm_lock).await;
    wait_for(Duration::from_secs(10), "the CRM to commit Jeanne's erasure", || async {
        (jeanne_in_crm(&run.demo).await == 0).then_some(())
    })
    .await;
    first.kill();
    release(store_lock).await;

    // What the crash left: the CRM changed, its job still leased to a dead worker, nothing
    // recorded for it; the other two sources executed and recorded.
    // Its first attempt, unless it outwaited the lock (5 s) on a very slow machine and was retried.
    let crm_attempts = match execute_job(&db, "crm").await {
        Some((status, attempts)) if status == "running" => attempts,
        other => panic!("the CRM job was not in hand when the server died: {other:?}"),
    };
    assert_eq!(request_status(&db).await, "executing");
    let unrecorded = |source: &'static str| {
        let db = db.clone();
        async move {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM plan_items WHERE source = ? AND decision = 'approved' AND executed_at IS NULL",
            )
            .bind(source)
            .fetch_one(&db)
            .await
            .unwrap();
            n
        }
    };
    assert!(unrecorded("crm").await > 0, "the CRM's outcomes were not recorded before the crash");
    assert_eq!((unrecorded("newsletter").await, unrecorded("loyalty").await), (0, 0));

    let second = Server::start(&run.config, &keys, run.log()).await;
    browser.address = second.address.clone();
    completed(&second, &db).await;

    let done = |attempts: i32| Some(("done".to_owned(), attempts));
    assert_eq!(
        execute_job(&db, "crm").await,
        done(crm_attempts + 1),
        "the CRM step taken over once after the lease expired"
    );
    assert_eq!(execute_job(&db, "newsletter").await, done(1), "the newsletter was not executed again");
    assert_eq!(execute_job(&db, "loyalty").await, done(1), "the loyalty export was not executed again");
    let outcomes: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT source, action, outcome FROM plan_items WHERE decision = 'approved' ORDER BY source, position",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert!(!outcomes.is_empty());
    for (source, action, outcome) in &outcomes {
        let outcome = outcome.as_deref().unwrap_or("not recorded");
        let expected: &[&str] = match (source.as_str(), action.as_str()) {
            // Run again after its commit: the CRM no longer holds Jeanne's records (deleted, or
            // anonymised down to their address), and the step had been attempted: applied before.
            ("crm", _) => &["already"],
            _ => &["applied"],
        };
        assert!(expected.contains(&outcome), "{source} {action}: {outcome}: {outcomes:?}");
    }
    let exit = second.terminate().await;
    assert!(exit.success(), "{exit}");
    db.close().await;

    // The person is told once, and the audit chain survived the crash.
    let t = dossier::i18n::Tr::new(dossier::domain::Locale::En);
    let subject = t.fmt("mail.done.subject", &[("reference", &reference)]);
    let told =
        outbox(&run.data.join("outbox")).iter().filter(|m| m.to.contains(JEANNE) && m.subject == subject).count();
    assert_eq!(told, 1, "one completion email");
    let audit = Command::new(BIN)
        .args(["audit", "verify", "--config"])
        .arg(&run.config)
        .env("DOSSIER_SECRET_KEY", &keys.0)
        .env("DOSSIER_EXPORT_KEY", &keys.1)
        .env("RUST_LOG", "off")
        .env_remove("DOSSIER_DATABASE_URL")
        .env_remove("DOSSIER_BASE_URL")
        .output()
        .expect("dossier audit verify runs");
    assert!(audit.status.success(), "{}", String::from_utf8_lossy(&audit.stdout));

    let after = DemoData::read(&run.demo).await;
    let differences = after.differences(&expected);
    assert!(differences.is_empty(), "the sources differ from the uninterrupted run:\n  {}", differences.join("\n  "));
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

    let chain = dossier::jobs::seal::seal_and_verify(&app.app, &[]).await.unwrap();
    assert!(chain.is_intact(), "{chain}");
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
