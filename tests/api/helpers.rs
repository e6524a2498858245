//! `spawn_with()`: the real server on port 0 with a fresh store (SQLite file, or a fresh
//! PostgreSQL database), the demo CRM as sources, a manual clock, and a mail outbox the test reads.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use dossier::app::App;
use dossier::clock::ManualClock;
use dossier::config::{
    ExportSettings, JobSettings, MailSettings, MailTransport, RateLimitSettings, SecuritySettings, Settings,
    demo_controller,
};
use dossier::crypto::SecretKey;
use dossier::startup::Application;
use sqlx::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        let p = std::env::temp_dir().join(format!("dossier-test-{prefix}-{}", dossier::crypto::new_id()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The PostgreSQL server URL for tests, or `None` (with a message) when it is not configured.
/// With `DOSSIER_TEST_REQUIRE_SERVICES=1` a missing server fails the test instead.
pub fn postgres_url() -> Option<String> {
    match std::env::var("DOSSIER_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("DOSSIER_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
                panic!("DOSSIER_TEST_POSTGRES_URL is not set but DOSSIER_TEST_REQUIRE_SERVICES=1");
            }
            eprintln!("skipped: set DOSSIER_TEST_POSTGRES_URL to run the PostgreSQL variant");
            None
        }
    }
}

/// A fresh, randomly named database on the test server, dropped when the test ends.
pub struct PgDb {
    server: String,
    name: String,
}

impl PgDb {
    async fn create(server: &str) -> Self {
        let name = format!("dossier_test_{}", &dossier::crypto::new_id()[..16]);
        let mut conn = sqlx::PgConnection::connect(server).await.expect("connect to the PostgreSQL test server");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
        Self { server: server.to_owned(), name }
    }

    fn url(&self) -> String {
        let (base, _) = self.server.rsplit_once('/').expect("a URL with a database name");
        format!("{base}/{}", self.name)
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop cannot await: a short-lived runtime on its own thread removes the database.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&server).await.ok()?;
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.ok()
            })
        })
        .join();
    }
}

pub struct Response {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
    pub fn location(&self) -> String {
        self.header("location").expect("a redirect").to_owned()
    }
}

/// An email as the requester receives it, read back from the outbox's `.eml` file.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub message_id: String,
}

impl Email {
    /// The first link in the text, as a path on the test server.
    pub fn link(&self) -> String {
        let url = self.text.lines().find(|l| l.starts_with("http://")).expect("a link in the email").trim();
        url.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned())).unwrap()
    }

    pub fn code(&self) -> String {
        let line = self.text.lines().find(|l| {
            l.contains(':') && l.trim_end().len() >= 6 && l.trim_end().chars().rev().take(6).all(|c| c.is_ascii_digit())
        });
        let line = line.expect("a 6-digit code in the email").trim_end();
        line[line.len() - 6..].to_owned()
    }
}

pub struct TestApp {
    pub address: String,
    pub app: Arc<App>,
    pub clock: ManualClock,
    pub outbox: PathBuf,
    pub data: TempDir,
    _pg: Option<PgDb>,
    pub browser: Browser,
}

pub struct Options {
    pub backend: Backend,
    pub mail: Option<MailTransport>,
    /// Adds a source whose database does not exist, after the demo ones.
    pub broken_source: bool,
    /// Demo mode: banner and `/dev/outbox`.
    pub demo: bool,
    /// The laws offered on the request form (default: EU GDPR alone).
    pub policies: Option<Vec<dossier::deadlines::Policy>>,
}

impl Default for Options {
    fn default() -> Self {
        Self { backend: Backend::Sqlite, mail: None, broken_source: false, demo: false, policies: None }
    }
}

/// `None` when the backend's server is not configured (the test then skips, loudly).
pub async fn spawn_with(options: Options) -> Option<TestApp> {
    let data = TempDir::new("app");
    let pg = match options.backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(PgDb::create(&postgres_url()?).await),
    };
    let database_url = match &pg {
        None => format!("sqlite://{}?mode=rwc", data.0.join("dossier.db").display()),
        Some(db) => db.url(),
    };
    let crm = data.0.join("crm");
    dossier::demo::create_demo_crm(&crm).await.expect("demo CRM");
    let mut sources = dossier::demo::demo_sources(&crm).expect("demo sources");
    if options.broken_source {
        let broken: dossier::connectors::SourceConfig = toml::from_str(&format!(
            "kind = 'sql'\nname = 'billing'\nlabel = 'Billing'\nurl = 'sqlite://{}/missing/billing.db?mode=ro'\n\
             [[collections]]\nname = 'invoices'\ntable = 'invoices'\nemail_columns = ['email']\n",
            data.0.display()
        ))
        .expect("broken source config");
        sources.push(broken);
    }
    let outbox = data.0.join("outbox");
    let settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        base_url: None,
        data_dir: data.0.clone(),
        database_url,
        demo: options.demo,
        default_locale: dossier::domain::Locale::En,
        jurisdiction: dossier::deadlines::Policy::EuGdpr,
        policies: options.policies.clone().unwrap_or_else(|| vec![dossier::deadlines::Policy::EuGdpr]),
        controller: demo_controller(),
        security: SecuritySettings { cookie_secure: Some(false), ..Default::default() },
        exports: ExportSettings::default(),
        mail: MailSettings {
            transport: options.mail.unwrap_or(MailTransport::Outbox { dir: outbox.clone() }),
            from: "Exemple SAS <privacy@exemple.test>".into(),
        },
        jobs: JobSettings { workers: 0, ..Default::default() },
        rate_limits: RateLimitSettings::default(),
        reminders: Default::default(),
        requests: Default::default(),
        metrics: Default::default(),
        sources,
        secret_key: SecretKey::generate(),
        export_key: SecretKey::generate(),
    };
    // A fixed instant: 2026-03-10 10:00 Paris time.
    let clock = ManualClock::new(time::macros::datetime!(2026-03-10 09:00 UTC));
    let application = Application::build(settings, Arc::new(clock.clone())).await.expect("the application starts");
    let address = format!("http://127.0.0.1:{}", application.port());
    let app = application.app();
    actix_web::rt::spawn(application.into_server());
    Some(TestApp {
        address: address.clone(),
        app,
        clock,
        outbox,
        data,
        _pg: pg,
        browser: Browser::new(address.clone()),
    })
}

/// An HTTP client that keeps cookies like a browser, for one server address (which may change:
/// a restarted server listens elsewhere, its sessions live in the database).
pub struct Browser {
    pub address: String,
    cookies: RefCell<BTreeMap<String, String>>,
    client: awc::Client,
}

impl Browser {
    pub fn new(address: String) -> Self {
        Self {
            address,
            cookies: RefCell::new(BTreeMap::new()),
            client: awc::Client::builder().disable_redirects().finish(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies.borrow().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn finish(
        &self,
        mut res: awc::ClientResponse<
            impl futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>> + Unpin,
        >,
    ) -> Response {
        let mut headers = BTreeMap::new();
        for (name, value) in res.headers() {
            let value = value.to_str().unwrap_or("").to_owned();
            if name == "set-cookie" {
                let pair = value.split(';').next().unwrap_or("");
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let removal = value.to_ascii_lowercase().contains("max-age=0") || v.is_empty();
                if removal {
                    self.cookies.borrow_mut().remove(k);
                } else {
                    self.cookies.borrow_mut().insert(k.to_owned(), v.to_owned());
                }
            }
            headers
                .entry(name.as_str().to_owned())
                .and_modify(|v: &mut String| {
                    v.push('\n');
                    v.push_str(&value)
                })
                .or_insert(value);
        }
        let body = res.body().limit(512 * 1024 * 1024).await.expect("a response body").to_vec();
        Response { status: res.status().as_u16(), headers, body }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.get_with(path, &[]).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut req =
            self.client.get(format!("{}{path}", self.address)).insert_header(("cookie", self.cookie_header()));
        for h in headers {
            req = req.insert_header(*h);
        }
        let res = req.send().await.expect("the server answers");
        self.finish(res).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.post_with(path, form, &[]).await
    }

    pub async fn post_with(&self, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Response {
        let mut req =
            self.client.post(format!("{}{path}", self.address)).insert_header(("cookie", self.cookie_header()));
        for h in headers {
            req = req.insert_header(*h);
        }
        let res = req.send_form(&form).await.expect("the server answers");
        self.finish(res).await
    }

    pub fn forget_cookies(&self) {
        self.cookies.borrow_mut().clear();
    }

    /// Sets a cookie as another site or a shared computer could have left it.
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies.borrow_mut().insert(name.to_owned(), value.to_owned());
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.borrow().get(name).cloned()
    }

    /// The CSRF token of the page at `path`, as a browser would submit it.
    pub async fn csrf(&self, path: &str) -> String {
        let page = self.get(path).await.text();
        hidden(&page, "csrf").expect("a CSRF token in the page")
    }

    /// Fills and sends the home page form, as a browser would.
    pub async fn submit_request(&self, email: &str, kind: &str) -> Response {
        let csrf = self.csrf("/").await;
        self.post("/requests", &[("email", email), ("kind", kind), ("csrf", &csrf)]).await
    }

    /// Verifies through the emailed link: open it (a GET consumes nothing), then confirm.
    pub async fn verify_by_link(&self, mail: &Email) -> Response {
        let link = mail.link();
        let page = self.get(&link).await;
        assert_eq!(page.status, 200, "{}", page.text());
        let csrf = hidden(&page.text(), "csrf").unwrap();
        self.post(&link, &[("csrf", &csrf)]).await
    }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> Response {
        self.browser.get(path).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        self.browser.get_with(path, headers).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.browser.post(path, form).await
    }

    pub async fn post_with(&self, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Response {
        self.browser.post_with(path, form, headers).await
    }

    pub async fn csrf(&self, path: &str) -> String {
        self.browser.csrf(path).await
    }

    pub async fn submit_request(&self, email: &str, kind: &str) -> Response {
        self.browser.submit_request(email, kind).await
    }

    pub async fn verify_by_link(&self, mail: &Email) -> Response {
        self.browser.verify_by_link(mail).await
    }

    /// Submits a request and returns the "check your inbox" path and the email it produced.
    pub async fn submit_and_read_mail(&self, email: &str, kind: &str) -> (String, Email) {
        let res = self.submit_request(email, kind).await;
        assert_eq!(res.status, 303, "{}", res.text());
        self.run_pending_jobs().await;
        let mail = self.last_email_to(email);
        (res.location(), mail)
    }

    /// Reopens a verified request later: ask for a sign-in link, then follow it.
    pub async fn sign_in(&self, status_path: &str, email: &str) -> Response {
        let csrf = self.csrf(status_path).await;
        let res = self.post(&format!("{status_path}/signin"), &[("csrf", &csrf), ("email", email)]).await;
        assert_eq!(res.status, 303, "{}", res.text());
        self.run_pending_jobs().await;
        let mail = self.email_with_subject(email, "see request");
        self.verify_by_link(&mail).await
    }

    /// Runs every due job, as the workers of `dossier serve` would.
    pub async fn run_pending_jobs(&self) -> usize {
        dossier::jobs::run_pending(&self.app).await.expect("jobs run")
    }

    pub async fn unfinished_jobs(&self) -> i64 {
        let mut conn = self.app.store.conn().await.unwrap();
        dossier::store::jobs::unfinished(&mut conn).await.unwrap()
    }

    /// Every email written to the outbox, in delivery order (the file names sort that way).
    pub fn emails(&self) -> Vec<Email> {
        let Ok(dir) = std::fs::read_dir(&self.outbox) else { return Vec::new() };
        let mut files: Vec<_> = dir
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files.into_iter().map(|p| parse_eml(&std::fs::read(p).unwrap())).collect()
    }

    pub fn last_email_to(&self, to: &str) -> Email {
        self.emails()
            .into_iter()
            .rev()
            .find(|m| m.to.to_lowercase().contains(&to.trim().to_lowercase()))
            .expect("an email to that address")
    }

    pub fn email_with_subject(&self, to: &str, needle: &str) -> Email {
        self.emails()
            .into_iter()
            .rev()
            .find(|m| m.to.contains(to) && m.subject.contains(needle))
            .unwrap_or_else(|| panic!("an email to {to} about {needle:?}"))
    }

    pub fn forget_cookies(&self) {
        self.browser.forget_cookies();
    }

    pub fn data_dir(&self) -> &Path {
        &self.data.0
    }

    /// A new request for `email`, verified through its emailed link; the browser keeps the
    /// requester's session. Returns the path of the request's status page.
    pub async fn verified_request(&self, email: &str, kind: &str) -> String {
        let (_, mail) = self.submit_and_read_mail(email, kind).await;
        let res = self.verify_by_link(&mail).await;
        assert_eq!(res.status, 303, "{}", res.text());
        res.location()
    }

    /// Sends one of the forms of the status page at `status` (`confirm`, `withdraw`,
    /// `corrections`, `objections`) with the page's CSRF token, as the person's browser would.
    pub async fn decide(&self, status: &str, action: &str, form: &[(&str, &str)]) -> Response {
        let csrf = self.csrf(status).await;
        let mut fields = form.to_vec();
        fields.push(("csrf", &csrf));
        self.post(&format!("{status}/{action}"), &fields).await
    }

    /// A new erasure or rectification request taken through the real pages up to staff review:
    /// verified by its link, its sources planned (the jobs run), then the person's decision on
    /// the status page: the erasure plan confirmed, or a rectification sent with a statement
    /// ([`RECTIFICATION_STATEMENT`]; the person need not be known to the sources). Returns the
    /// status page's path; the browser keeps the person's session.
    pub async fn request_awaiting_review(&self, email: &str, kind: &str) -> String {
        let status = self.verified_request(email, kind).await;
        self.run_pending_jobs().await;
        let page = self.get(&status).await.text();
        assert!(page.contains("Waiting for your decision"), "{email} {kind}: the plan waits for the person: {page}");
        let res = match kind {
            "erasure" => self.decide(&status, "confirm", &[]).await,
            "rectification" => self.decide(&status, "corrections", &[("statement", RECTIFICATION_STATEMENT)]).await,
            // The demo sources offer direct marketing alone, which needs no review (Art. 21(3)).
            other => panic!("a {other} request does not wait for review with the demo sources"),
        };
        assert_eq!(res.status, 303, "{}", res.text());
        assert_eq!(self.request_status(&status).await, "awaiting_review");
        status
    }

    /// The stored status of the request whose status page (or reference) is `status`.
    pub async fn request_status(&self, status: &str) -> String {
        let reference = status.rsplit('/').next().unwrap();
        sqlx::query_scalar("SELECT status FROM requests WHERE reference = $1")
            .bind(reference)
            .fetch_one(self.app.store.pool())
            .await
            .unwrap()
    }

    /// Creates a staff account (password [`STAFF_PASSWORD`], name "Test Staff").
    pub async fn add_staff(&self, email: &str, role: dossier::domain::Role) -> dossier::store::staff::StaffRow {
        let address = dossier::domain::EmailAddress::parse(email).unwrap();
        dossier::services::staff::create(
            &self.app.store,
            &address,
            "Test Staff",
            role,
            STAFF_PASSWORD,
            self.app.now_ms(),
        )
        .await
        .unwrap();
        let mut conn = self.app.store.conn().await.unwrap();
        dossier::store::staff::by_email(&mut conn, email).await.unwrap().unwrap()
    }

    /// Signs in to the staff workspace in a fresh browser session (the requester's is dropped).
    pub async fn staff_login(&self, email: &str) {
        self.forget_cookies();
        let csrf = self.csrf("/staff/login").await;
        let res = self.post("/staff/login", &[("email", email), ("password", STAFF_PASSWORD), ("csrf", &csrf)]).await;
        assert_eq!(res.status, 303, "{}", res.text());
    }

    /// Sends a form of the staff page of request `reference` (`review`, `retry`, `deny`…, or
    /// `recipients/<id>`) with the page's CSRF token.
    pub async fn staff_act(&self, reference: &str, action: &str, form: &[(&str, &str)]) -> Response {
        let page = format!("/staff/requests/{reference}");
        let csrf = self.csrf(&page).await;
        let mut fields = form.to_vec();
        fields.push(("csrf", &csrf));
        self.post(&format!("{page}/{action}"), &fields).await
    }
}

/// What [`TestApp::request_awaiting_review`] tells about a rectification.
pub const RECTIFICATION_STATEMENT: &str = "My postcode changed when I moved.";

/// The password of the staff accounts [`TestApp::add_staff`] creates.
pub const STAFF_PASSWORD: &str = "correct horse battery staple";

/// A string as a TOML value (quoted and escaped).
pub fn toml_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The smallest real configuration file for the `dossier` binary: a controller, the outbox,
/// `data_dir`. Tests append sources or sections.
pub fn base_config(data_dir: &Path) -> String {
    format!(
        r#"base_url = "https://privacy.example.com"
data_dir = {data}

[controller]
name = "Exemple SAS"
contact_email = "privacy@exemple.test"

[controller.authority]
name = "CNIL"
address = "3 place de Fontenoy, 75007 Paris"
url = "https://www.cnil.fr/fr/plaintes"

[mail]
transport = "outbox"
from = "privacy@exemple.test"
"#,
        data = toml_str(&data_dir.display().to_string())
    )
}

/// The value of `<input type="hidden" name="NAME" value="…">` in a page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split('"').next()?.to_owned())
}

/// Parses the parts of an RFC 5322 message Dossier writes: headers, and the text/plain part
/// (quoted-printable, base64, 7bit or 8bit).
pub fn parse_eml(raw: &[u8]) -> Email {
    let raw = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap();
    let header = |name: &str| -> String {
        let mut out = String::new();
        let mut inside = false;
        for line in head.lines() {
            if inside && (line.starts_with(' ') || line.starts_with('\t')) {
                // Unfolding keeps the whitespace that separated the words (RFC 5322 2.2.3).
                out.push(' ');
                out.push_str(line.trim_start());
            } else if line.to_ascii_lowercase().starts_with(&format!("{}:", name.to_ascii_lowercase())) {
                inside = true;
                out.push_str(line[name.len() + 1..].trim());
            } else {
                inside = false;
            }
        }
        decode_words(&out)
    };
    let text = text_part(body).unwrap_or_default();
    Email { to: header("To"), subject: header("Subject"), text, message_id: header("Message-ID") }
}

fn text_part(body: &str) -> Option<String> {
    let idx = body.find("Content-Type: text/plain")?;
    let part = &body[idx..];
    let (part_head, rest) = part.split_once("\n\n")?;
    let content = rest.split("\n--").next()?;
    let encoding = part_head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Transfer-Encoding: "))
        .unwrap_or("7bit")
        .trim()
        .to_ascii_lowercase();
    Some(match encoding.as_str() {
        "quoted-printable" => decode_qp(content),
        "base64" => {
            let joined: String = content.lines().collect();
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(joined.trim()).unwrap()).unwrap()
        }
        _ => content.to_owned(),
    })
}

fn decode_qp(s: &str) -> String {
    let s = s.replace("=\n", "");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 3 <= bytes.len()
            && let Ok(b) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or(""), 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// RFC 2047 encoded words (`=?utf-8?b?…?=` / `?q?`), as lettre writes non-ASCII subjects.
fn decode_words(s: &str) -> String {
    let mut out = String::new();
    let mut previous_encoded = false;
    for word in s.split_whitespace() {
        let encoded = word.strip_prefix("=?").and_then(|w| w.strip_suffix("?="));
        // Whitespace between two encoded words is not part of the text (RFC 2047 6.2).
        if !out.is_empty() && (!previous_encoded || encoded.is_none()) {
            out.push(' ');
        }
        previous_encoded = encoded.is_some();
        let Some(inner) = encoded else {
            out.push_str(word);
            continue;
        };
        let mut parts = inner.splitn(3, '?');
        let (_charset, enc, text) =
            (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if enc.eq_ignore_ascii_case("b") {
            let bytes = base64::engine::general_purpose::STANDARD.decode(text).unwrap_or_default();
            out.push_str(&String::from_utf8_lossy(&bytes));
        } else {
            out.push_str(&decode_qp(&text.replace('_', " ")));
        }
    }
    out
}

/// Runs the scenario against SQLite, and against PostgreSQL when the test server is configured.
#[macro_export]
macro_rules! on_both_backends {
    ($scenario:ident) => {
        $crate::on_both_backends!($scenario, $crate::helpers::Options::default());
    };
    ($scenario:ident, $options:expr) => {
        mod $scenario {
            #[actix_web::test]
            async fn sqlite() {
                let app = $crate::helpers::spawn_with($options).await.unwrap();
                super::$scenario(app).await;
            }

            #[actix_web::test]
            async fn postgres() {
                let options = $crate::helpers::Options { backend: $crate::helpers::Backend::Postgres, ..$options };
                if let Some(app) = $crate::helpers::spawn_with(options).await {
                    super::$scenario(app).await;
                }
            }
        }
    };
}

/// Signs in to the staff workspace with `browser` (the password step only); returns the answer.
pub async fn staff_password_step(browser: &Browser, email: &str, password: &str) -> Response {
    let csrf = browser.csrf("/staff/login").await;
    browser.post("/staff/login", &[("email", email), ("password", password), ("csrf", &csrf)]).await
}

/// The current TOTP code of `secret` on the test app's clock, `offset` steps away.
pub fn totp_code(app: &TestApp, secret: &[u8], offset: i64) -> String {
    use dossier::crypto::totp;
    totp::code(secret, totp::step_at(app.app.now_ms()) + offset)
}

/// Sets up a second factor from the account page of the staff member signed in with `browser`,
/// as they would with their authenticator app: start, read the secret from the page, type the
/// current code. Returns the secret. The clock moves one step on, so the enrolment's code is not
/// the next login's.
pub async fn enrol_totp(app: &TestApp, browser: &Browser) -> Vec<u8> {
    let csrf = browser.csrf("/").await;
    let res = browser.post("/staff/account/totp/start", &[("csrf", &csrf)]).await;
    assert_eq!(res.status, 303, "{}", res.text());
    let page = browser.get("/staff/account").await.text();
    let secret = page
        .split("id=\"totp-secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_else(|| panic!("the secret on the account page: {page}"));
    let secret = dossier::crypto::totp::base32_decode(secret).unwrap();
    let code = totp_code(app, &secret, 0);
    let res = browser
        .post("/staff/account/totp/confirm", &[("csrf", &csrf), ("code", &code), ("current", STAFF_PASSWORD)])
        .await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert!(res.location().ends_with("done=totp"), "{}", res.location());
    app.clock.advance(time::Duration::seconds(30));
    secret
}

/// A verified request written straight into the store, for tests of the queue and the dashboard
/// that need many requests with chosen dates, statuses and assignees.
#[derive(Clone, Copy)]
pub struct Seed<'a> {
    /// `DSR-YYYY-NNNNNN`.
    pub reference: &'a str,
    pub kind: &'a str,
    pub status: &'a str,
    pub jurisdiction: &'a str,
    /// `YYYY-MM-DD`; the request is received at 10:00 UTC that day.
    pub received_on: &'a str,
    pub due_on: &'a str,
    pub assignee: Option<&'a str>,
    /// When it was closed (completed, denied, cancelled), unix ms.
    pub completed_at: Option<i64>,
    /// When the person was given the answer (export ready and emailed, certificate, refusal).
    pub answered_at: Option<i64>,
}

impl Default for Seed<'_> {
    fn default() -> Self {
        Seed {
            reference: "DSR-2026-000001",
            kind: "access",
            status: "verified",
            jurisdiction: "eu-gdpr",
            received_on: "2026-03-01",
            due_on: "2026-04-01",
            assignee: None,
            completed_at: None,
            answered_at: None,
        }
    }
}

/// Unix milliseconds of `day` (`YYYY-MM-DD`) at `hour`:00 UTC.
pub fn ms_at(day: &str, hour: u8) -> i64 {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(day, format).expect("a YYYY-MM-DD date");
    let at = date.with_hms(hour, 0, 0).unwrap().assume_utc();
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

impl TestApp {
    /// Writes `seed` into the store and returns the request's id.
    pub async fn seed_request(&self, seed: Seed<'_>) -> String {
        let id = dossier::crypto::new_id();
        let received_at = ms_at(seed.received_on, 10);
        sqlx::query(
            "INSERT INTO requests (id, reference, kind, status, email, email_hash, locale, jurisdiction, channel, \
             received_at, received_on, due_on, extension_notice_by, verified_at, completed_at, assignee_id, \
             created_at, updated_at, answered_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'en', $7, 'web', $8, $9, $10, $10, $8, $11, $12, $8, $8, $13)",
        )
        .bind(&id)
        .bind(seed.reference)
        .bind(seed.kind)
        .bind(seed.status)
        .bind(format!("{}@example.org", seed.reference.to_lowercase()))
        .bind(dossier::crypto::sha256_hex(seed.reference.as_bytes()))
        .bind(seed.jurisdiction)
        .bind(received_at)
        .bind(seed.received_on)
        .bind(seed.due_on)
        .bind(seed.completed_at)
        .bind(seed.assignee)
        .bind(seed.answered_at)
        .execute(self.app.store.pool())
        .await
        .expect("seeding a request");
        id
    }
}

impl TestApp {
    /// Another instance of the server over the same store, outbox and clock, with its settings
    /// changed by `change` (e.g. `[deadlines]` rules): what an operator restarting with a new
    /// configuration gets. Returns its application and a browser pointed at it.
    pub async fn instance_with(&self, change: impl FnOnce(&mut Settings)) -> (Arc<App>, Browser) {
        let mut settings = self.app.settings.clone();
        change(&mut settings);
        let application =
            Application::build(settings, Arc::new(self.clock.clone())).await.expect("the second instance starts");
        let address = format!("http://127.0.0.1:{}", application.port());
        let app = application.app();
        actix_web::rt::spawn(application.into_server());
        (app, Browser::new(address))
    }
}

/// A fresh database on the PostgreSQL test server (dropped with the value), or `None` when the
/// server is not configured (the test then skips, loudly).
pub async fn fresh_postgres_database() -> Option<PgDb> {
    Some(PgDb::create(&postgres_url()?).await)
}

impl PgDb {
    /// The URL of this database.
    pub fn database_url(&self) -> String {
        self.url()
    }
}

/// A manual source for tests (`kind = "manual"`): a paper archive searched by staff, uploads up to
/// `max_file_mb` MiB per file.
pub fn paper_archive(max_file_mb: u64) -> dossier::connectors::SourceConfig {
    toml::from_str(&format!(
        r#"kind = "manual"
name = "archives"
label = {{ en = "Paper archive", fr = "Archives papier" }}
instructions = {{ en = "Search cabinet B under the surname", fr = "Cherchez dans l'armoire B au nom de famille" }}
erasure_instructions = {{ en = "Shred the paper file", fr = "Détruisez le dossier papier" }}
max_file_mb = {max_file_mb}
[[collections]]
name = "paper_files"
label = {{ en = "Paper customer files", fr = "Dossiers clients papier" }}
[collections.art15]
purposes = [{{ en = "Contracts signed on paper", fr = "Contrats signés sur papier" }}]
retention = {{ en = "5 years after the contract", fr = "5 ans après le contrat" }}
"#
    ))
    .expect("the test paper archive")
}

/// `spawn_with(options)`, served again with `extra` sources after the demo ones (same store,
/// outbox, clock and data directory); `None` when the backend is not configured.
pub async fn spawn_with_sources(options: Options, extra: Vec<dossier::connectors::SourceConfig>) -> Option<TestApp> {
    let first = spawn_with(options).await?;
    let (app, browser) = first.instance_with(|s| s.sources.extend(extra)).await;
    Some(TestApp { address: browser.address.clone(), app, browser, ..first })
}

impl Browser {
    /// Sends a `multipart/form-data` form as a browser would: `fields` first (in order), then
    /// `files` as (field, file name, bytes).
    pub async fn post_multipart(&self, path: &str, fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Response {
        let boundary = format!("----dossier{}", &dossier::crypto::new_id()[..16]);
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        for (name, file_name, bytes) in files {
            let escaped = file_name.replace('"', "%22");
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{escaped}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let res = self
            .client
            .post(format!("{}{path}", self.address))
            .insert_header(("cookie", self.cookie_header()))
            .insert_header(("content-type", format!("multipart/form-data; boundary={boundary}")))
            .send_body(body)
            .await
            .expect("the server answers");
        self.finish(res).await
    }
}

impl Browser {
    /// Posts `body` as it is, with this content type (a malformed or truncated upload).
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Response {
        let res = self
            .client
            .post(format!("{}{path}", self.address))
            .insert_header(("cookie", self.cookie_header()))
            .insert_header(("content-type", content_type.to_owned()))
            .send_body(body)
            .await
            .expect("the server answers");
        self.finish(res).await
    }
}
