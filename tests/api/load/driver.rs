//! The load driver shared by `examples/load_bench.rs` (200 clients for a minute, numbers for
//! docs/benchmarks.md) and `tests/api/load.rs` (the same, bounded, with assertions).
//!
//! It starts Dossier as `dossier serve` would (the real server, the real store, background workers
//! delivering the mail) and a bare actix-web handler serving the same two routes, and drives
//! either with N clients speaking HTTP/1.1 over keep-alive connections (a small client written
//! here on tokio's `TcpStream`, so the clients run on every core). Each client submits the real
//! request form as a browser does: `GET /` for the form (the CSRF cookie and token), then
//! `POST /requests`, each submission for a new address, `load.<run>.c<client>.n<seq>@example.org`
//! (the marker the store is checked against), through the reverse-proxy path: Dossier trusts
//! 127.0.0.1 as a proxy and each submission comes `X-Forwarded-For` a new client address, so the
//! per-IP limits apply per person, as behind a real proxy, and are not disabled.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use dossier::app::App;
use dossier::clock::SystemClock;
use dossier::config::{
    ExportSettings, JobSettings, MailSettings, MailTransport, RateLimitSettings, SecuritySettings, Settings,
    demo_controller,
};
use dossier::crypto::SecretKey;
use dossier::startup::Application;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Dossier running for a load test: the server, two job workers, and its state for the checks.
pub struct Dossier {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    server: actix_web::dev::ServerHandle,
    stop_workers: watch::Sender<bool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

/// Starts Dossier on a free loopback port with its data in `data_dir`: SQLite there, or
/// `database_url`; mail to an outbox folder; 127.0.0.1 trusted as a reverse proxy; the default
/// rate limits. `tweak` may change the settings (tests lower limits or change the proxies).
pub async fn start_dossier(
    data_dir: &Path,
    database_url: Option<String>,
    workers: usize,
    tweak: impl FnOnce(&mut Settings),
) -> anyhow::Result<Dossier> {
    let database_url =
        database_url.unwrap_or_else(|| format!("sqlite://{}?mode=rwc", data_dir.join("dossier.db").display()));
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        base_url: None,
        data_dir: data_dir.to_owned(),
        database_url,
        demo: false,
        default_locale: dossier::domain::Locale::En,
        jurisdiction: dossier::deadlines::Policy::EuGdpr,
        policies: vec![dossier::deadlines::Policy::EuGdpr],
        controller: demo_controller(),
        security: SecuritySettings {
            cookie_secure: Some(false),
            trusted_proxies: vec!["127.0.0.1".parse().map_err(anyhow::Error::msg)?],
            ..Default::default()
        },
        exports: ExportSettings::default(),
        mail: MailSettings {
            transport: MailTransport::Outbox { dir: data_dir.join("outbox") },
            from: "Exemple SAS <privacy@exemple.test>".into(),
        },
        jobs: JobSettings { workers, poll_interval_ms: 100, ..Default::default() },
        rate_limits: RateLimitSettings::default(),
        reminders: Default::default(),
        requests: Default::default(),
        metrics: Default::default(),
        sources: Vec::new(),
        secret_key: SecretKey::generate(),
        export_key: SecretKey::generate(),
    };
    tweak(&mut settings);
    let workers = settings.jobs.workers;
    let application = Application::build(settings, Arc::new(SystemClock)).await?;
    let addr: SocketAddr = format!("127.0.0.1:{}", application.port()).parse()?;
    let app = application.app();
    let server = application.into_server();
    let handle = server.handle();
    tokio::spawn(server);
    let (stop_workers, stop) = watch::channel(false);
    let workers = dossier::jobs::spawn_workers(app.clone(), workers, stop);
    Ok(Dossier { addr, app, server: handle, stop_workers, workers })
}

impl Dossier {
    /// Stops the workers (they finish the job in hand) and the server.
    pub async fn stop(self) {
        let _ = self.stop_workers.send(true);
        for w in self.workers {
            let _ = w.await;
        }
        self.server.stop(true).await;
    }
}

/// A bare actix-web server answering the same two routes with no work behind them: the form page
/// (a cookie and a token) and a redirect for the post. What the HTTP stack alone costs.
pub async fn start_bare() -> anyhow::Result<(SocketAddr, actix_web::dev::ServerHandle)> {
    use actix_web::{App as ActixApp, HttpResponse, HttpServer, web};

    #[derive(serde::Deserialize)]
    struct Form {
        email: String,
        csrf: String,
    }
    async fn form() -> HttpResponse {
        HttpResponse::Ok()
            .insert_header(("set-cookie", "bare_csrf=seed; Path=/; HttpOnly; SameSite=Lax"))
            .content_type("text/html; charset=utf-8")
            .body(r#"<form method="post" action="/requests"><input type="hidden" name="csrf" value="token"></form>"#)
    }
    async fn submit(form: web::Form<Form>) -> HttpResponse {
        if form.csrf != "token" || form.email.is_empty() {
            return HttpResponse::BadRequest().finish();
        }
        let handle = dossier::crypto::new_id();
        HttpResponse::SeeOther().insert_header(("location", format!("/check-inbox?h={handle}"))).finish()
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server =
        HttpServer::new(|| ActixApp::new().route("/", web::get().to(form)).route("/requests", web::post().to(submit)))
            .listen(listener)?
            .disable_signals()
            .run();
    let handle = server.handle();
    tokio::spawn(server);
    Ok((addr, handle))
}

/// One HTTP response, as much as the driver needs of it.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The server will close the connection after this response.
    pub close: bool,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A keep-alive HTTP/1.1 connection with a cookie jar: one simulated browser.
pub struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
    cookies: BTreeMap<String, String>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr, conn: None, cookies: BTreeMap::new() }
    }

    /// Sends one request (`body`: a urlencoded form, for a POST) and reads the whole response.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> anyhow::Result<Reply> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: dossier-load\r\n", self.addr);
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            head.push_str(&format!("Cookie: {}\r\n", jar.join("; ")));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = body {
            head.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        head.push_str(body.unwrap_or(""));
        if self.conn.is_none() {
            let stream = TcpStream::connect(self.addr).await.context("connecting")?;
            stream.set_nodelay(true)?;
            self.conn = Some(BufReader::new(stream));
        }
        let conn = self.conn.as_mut().context("no connection")?;
        let result = async {
            conn.get_mut().write_all(head.as_bytes()).await.context("sending the request")?;
            read_reply(conn).await
        }
        .await;
        match result {
            Ok(reply) => {
                for (name, value) in &reply.headers {
                    if name.eq_ignore_ascii_case("set-cookie") {
                        let pair = value.split(';').next().unwrap_or("");
                        if let Some((k, v)) = pair.split_once('=') {
                            self.cookies.insert(k.trim().to_owned(), v.trim().to_owned());
                        }
                    }
                }
                if reply.close {
                    self.conn = None;
                }
                Ok(reply)
            }
            Err(e) => {
                self.conn = None;
                Err(e)
            }
        }
    }
}

async fn read_reply(conn: &mut BufReader<TcpStream>) -> anyhow::Result<Reply> {
    let mut line = String::new();
    if conn.read_line(&mut line).await? == 0 {
        bail!("the server closed the connection");
    }
    let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("a status line")?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if conn.read_line(&mut line).await? == 0 {
            bail!("the connection closed in the headers");
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (name, value) = l.split_once(':').context("a header line")?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let get = |n: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.to_ascii_lowercase());
    let close = get("connection").is_some_and(|v| v == "close");
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            line.clear();
            conn.read_line(&mut line).await?;
            let size =
                usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16).context("a chunk size")?;
            let mut chunk = vec![0; size + 2];
            conn.read_exact(&mut chunk).await?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(len) = get("content-length") {
        let len: usize = len.parse().context("a content length")?;
        body.resize(len, 0);
        conn.read_exact(&mut body).await?;
    }
    Ok(Reply { status, headers, body, close })
}

/// The hidden CSRF token of a form page.
fn csrf_token(html: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker)? + marker.len();
    Some(html[start..].split('"').next()?.to_owned())
}

/// One accepted submission: the handle Dossier redirected to and the address submitted.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub handle: String,
    pub email: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub elapsed: Duration,
    /// Submissions (form fetched and posted) finished, whatever their status.
    pub submissions: u64,
    /// Responses to the POSTs, by status.
    pub statuses: BTreeMap<u16, u64>,
    /// Responses to the form GETs, by status.
    pub form_statuses: BTreeMap<u16, u64>,
    /// Connection errors, time-outs, unparsable responses.
    pub errors: u64,
    pub error_samples: Vec<String>,
    pub accepted: Vec<Accepted>,
    /// Milliseconds, for each POST and each whole submission (GET + POST).
    pub post_ms: Vec<f64>,
    pub submission_ms: Vec<f64>,
}

impl Report {
    pub fn server_errors(&self) -> u64 {
        self.statuses.iter().chain(&self.form_statuses).filter(|(s, _)| **s >= 500).map(|(_, n)| n).sum()
    }

    pub fn per_second(&self, n: u64) -> f64 {
        n as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// A one-line summary for the terminal and docs/benchmarks.md.
    pub fn summary(&mut self, name: &str) -> String {
        let http = self.statuses.values().sum::<u64>() + self.form_statuses.values().sum::<u64>();
        format!(
            "{name}: {} submissions in {:.1} s = {:.0} submissions/s ({:.0} HTTP requests/s); POST latency p50 {:.1} ms, \
             p95 {:.1} ms, p99 {:.1} ms; whole submission (GET + POST) p50 {:.1} ms, p99 {:.1} ms; POST statuses {:?}, \
             form statuses {:?}, connection errors {}",
            self.submissions,
            self.elapsed.as_secs_f64(),
            self.per_second(self.submissions),
            self.per_second(http),
            percentile(&mut self.post_ms, 50.0),
            percentile(&mut self.post_ms, 95.0),
            percentile(&mut self.post_ms, 99.0),
            percentile(&mut self.submission_ms, 50.0),
            percentile(&mut self.submission_ms, 99.0),
            self.statuses,
            self.form_statuses,
            self.errors,
        )
    }
}

/// The `p`th percentile (nearest rank) of `values`, sorting them.
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_unstable_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// What one client saw.
#[derive(Default)]
struct ClientLog {
    submissions: u64,
    statuses: BTreeMap<u16, u64>,
    form_statuses: BTreeMap<u16, u64>,
    errors: u64,
    error_samples: Vec<String>,
    accepted: Vec<Accepted>,
    post_ms: Vec<f64>,
    submission_ms: Vec<f64>,
}

/// Runs `clients` simulated browsers against `addr` for `duration`, each submitting requests one
/// after another. `run` makes the addresses unique to this run. Forwarded client addresses come
/// from one counter, so no two submissions share one.
pub async fn drive(addr: SocketAddr, clients: usize, duration: Duration, run: &str) -> Report {
    let forwarded = Arc::new(AtomicU32::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let forwarded = forwarded.clone();
            let run = run.to_owned();
            tokio::spawn(async move { client(addr, c, &run, deadline, &forwarded).await })
        })
        .collect();
    let mut report = Report::default();
    for task in tasks {
        let log = match task.await {
            Ok(log) => log,
            Err(e) => {
                report.errors += 1;
                report.error_samples.push(format!("a client task failed: {e}"));
                continue;
            }
        };
        report.submissions += log.submissions;
        for (s, n) in log.statuses {
            *report.statuses.entry(s).or_default() += n;
        }
        for (s, n) in log.form_statuses {
            *report.form_statuses.entry(s).or_default() += n;
        }
        report.errors += log.errors;
        report.error_samples.extend(log.error_samples.into_iter().take(3));
        report.accepted.extend(log.accepted);
        report.post_ms.extend(log.post_ms);
        report.submission_ms.extend(log.submission_ms);
    }
    report.elapsed = started.elapsed();
    report
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

async fn client(addr: SocketAddr, c: usize, run: &str, deadline: Instant, forwarded: &AtomicU32) -> ClientLog {
    let mut log = ClientLog::default();
    let mut browser = Client::new(addr);
    let mut seq = 0u64;
    while Instant::now() < deadline {
        seq += 1;
        // A new person behind the proxy: 10.0.0.1, 10.0.0.2, … (16 million before wrapping).
        let n = forwarded.fetch_add(1, Ordering::Relaxed) % 0x00ff_ffff + 1;
        let xff = format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
        let email = format!("load.{run}.c{c}.n{seq}@example.org");
        let headers = [("X-Forwarded-For", xff.as_str()), ("Sec-Fetch-Site", "same-origin")];
        let start = Instant::now();
        let form = match tokio::time::timeout(REQUEST_TIMEOUT, browser.send("GET", "/", &headers, None)).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => {
                log.errors += 1;
                log.error_samples.push(format!("GET /: {e:#}"));
                continue;
            }
            Err(_) => {
                log.errors += 1;
                log.error_samples.push("GET /: no answer in 30 s".into());
                browser.conn = None;
                continue;
            }
        };
        *log.form_statuses.entry(form.status).or_default() += 1;
        let Some(csrf) = (form.status == 200).then(|| csrf_token(&String::from_utf8_lossy(&form.body))).flatten()
        else {
            log.submissions += 1;
            continue;
        };
        let body = format!("email={}&kind=access&csrf={}", email.replace('@', "%40"), csrf);
        let posted = Instant::now();
        let reply =
            match tokio::time::timeout(REQUEST_TIMEOUT, browser.send("POST", "/requests", &headers, Some(&body))).await
            {
                Ok(Ok(reply)) => reply,
                Ok(Err(e)) => {
                    log.errors += 1;
                    log.error_samples.push(format!("POST /requests: {e:#}"));
                    continue;
                }
                Err(_) => {
                    log.errors += 1;
                    log.error_samples.push("POST /requests: no answer in 30 s".into());
                    browser.conn = None;
                    continue;
                }
            };
        log.post_ms.push(posted.elapsed().as_secs_f64() * 1000.0);
        log.submission_ms.push(start.elapsed().as_secs_f64() * 1000.0);
        log.submissions += 1;
        *log.statuses.entry(reply.status).or_default() += 1;
        if reply.status == 303
            && let Some(handle) =
                reply.header("location").and_then(|l| l.split("h=").nth(1)).and_then(|h| h.split('&').next())
        {
            log.accepted.push(Accepted { handle: handle.to_owned(), email });
        }
    }
    log
}

/// What the store holds for a run, checked against what the clients were told.
#[derive(Debug, Default)]
pub struct StoreCheck {
    /// Requests stored with this run's addresses.
    pub stored: i64,
    /// Accepted submissions missing from the store, or stored under another id.
    pub missing: Vec<String>,
    /// Addresses stored more than once.
    pub duplicated: i64,
    /// Stored requests of this run that no client was told about.
    pub unannounced: i64,
    /// Stored requests without exactly one verification email queued.
    pub without_one_email: i64,
    /// References held by more than one request.
    pub duplicate_references: i64,
}

impl StoreCheck {
    pub fn ok(&self) -> bool {
        self.missing.is_empty()
            && self.duplicated == 0
            && self.unannounced == 0
            && self.without_one_email == 0
            && self.duplicate_references == 0
    }
}

/// Checks that every accepted submission of `run` is stored exactly once, under the id the client
/// was redirected with, with one verification email, and nothing else was stored.
pub async fn check_store(app: &App, run: &str, accepted: &[Accepted]) -> anyhow::Result<StoreCheck> {
    let pool = app.store.pool();
    let pattern = format!("load.{run}.%");
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, email FROM requests WHERE email LIKE $1")
        .bind(&pattern)
        .fetch_all(pool)
        .await
        .context("reading the stored requests")?;
    let mut by_email: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, email) in &rows {
        by_email.entry(email.as_str()).or_default().push(id.as_str());
    }
    // The page's handle is random and stored hashed, mapped to its request (migration 0015).
    let pages: Vec<(String, String)> = sqlx::query_as(
        "SELECT h.handle_hash, h.request_id FROM inbox_handles h JOIN requests r ON r.id = h.request_id \
         WHERE r.email LIKE $1",
    )
    .bind(&pattern)
    .fetch_all(pool)
    .await
    .context("reading the check-inbox pages")?;
    let request_of: BTreeMap<&str, &str> = pages.iter().map(|(h, r)| (h.as_str(), r.as_str())).collect();
    let mut check = StoreCheck { stored: rows.len() as i64, ..Default::default() };
    check.duplicated = by_email.values().filter(|ids| ids.len() > 1).count() as i64;
    for a in accepted {
        let request = request_of.get(dossier::crypto::sha256_hex(a.handle.as_bytes()).as_str()).copied();
        if by_email
            .get(a.email.as_str())
            .is_none_or(|ids| request.is_none() || ids.as_slice() != [request.unwrap_or("")])
        {
            check.missing.push(a.email.clone());
        }
    }
    check.unannounced = rows.len() as i64 - (accepted.len() as i64 - check.missing.len() as i64);
    check.without_one_email = sqlx::query_scalar(
        "SELECT COUNT(*) FROM requests r \
         LEFT JOIN (SELECT request_id, COUNT(*) AS n FROM emails GROUP BY request_id) e ON e.request_id = r.id \
         WHERE r.email LIKE $1 AND (e.n IS NULL OR e.n <> 1)",
    )
    .bind(&pattern)
    .fetch_one(pool)
    .await
    .context("counting the queued emails")?;
    check.duplicate_references = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT reference FROM requests WHERE reference IS NOT NULL \
         GROUP BY reference HAVING COUNT(*) > 1) d",
    )
    .fetch_one(pool)
    .await
    .context("counting duplicate references")?;
    Ok(check)
}
