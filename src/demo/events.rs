//! The demo's webhook source: the shop's events platform (webinars, and badges printed at the
//! trade fairs it exhibited at), reached through the webhook connector like any system written in
//! another language, but served in-process so the demo needs nothing else running.
//!
//! - [`create_database`] writes `events.db` (attendees and their registrations) next to the other
//!   demo databases, once, under a temporary name renamed into place.
//! - [`start`] serves `dossier-connector/1` (docs/connector-protocol.md) over it on a free
//!   loopback port, on the current runtime, until the process ends (or [`EventsService::stop`]).
//! - [`start_demo`] does both, writes a new random token to `events.token` (owner-only), and
//!   returns the `[[sources]]` entry, parsed from `events.toml` with the operator's deserializer.
//!
//! The service is deliberately plain: a list of each collection's fields (the only names ever put
//! into SQL), SQLite's `json_object` to turn rows into JSON with their types, every value bound.
//! The demo's answers are small, so NDJSON answers are built whole before they are sent (the
//! protocol allows it); a service over a large system would stream them as it reads.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, ResponseError, web};
use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Connection, Executor, Row, Sqlite, SqliteConnection};

use super::seed::{self, SplitMix64};
use crate::connectors::SourceConfig;
use crate::connectors::webhook::PROTOCOL;

/// The files [`start_demo`] writes in the demo folder.
pub const EVENTS_FILE: &str = "events.db";
pub const TOKEN_FILE: &str = "events.token";

const SOURCE_TEMPLATE: &str = include_str!("events.toml");

/// Dossier's calls are small (`/execute` carries one person's steps).
const MAX_CALL_BYTES: usize = 1024 * 1024;

const SCHEMA: &str = "
CREATE TABLE attendees (
    id INTEGER PRIMARY KEY,
    email TEXT,
    full_name TEXT,
    company TEXT,
    dietary_requirements TEXT,
    badge_printed_at TEXT,
    marketing_opt_out INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE registrations (
    id INTEGER PRIMARY KEY,
    attendee_id INTEGER NOT NULL REFERENCES attendees (id),
    event TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    attended INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX attendees_email ON attendees (lower(trim(email)));
CREATE INDEX registrations_attendee ON registrations (attendee_id);
";

// ---------------------------------------------------------------------------------------------
// The data

/// (event, date, a trade fair where badges are printed)
#[rustfmt::skip]
const EVENTS: &[(&str, &str, bool)] = &[
    ("Salon Bureaux & Espaces de travail 2024, Paris Porte de Versailles", "2024-03-19", true),
    ("Webinaire : aménager un bureau ergonomique", "2024-05-16", false),
    ("The Office Show 2024, London ExCeL", "2024-10-08", true),
    ("Webinar: the hybrid office, one year on", "2025-02-06", false),
    ("Salon Bureaux & Espaces de travail 2025, Paris Porte de Versailles", "2025-03-18", true),
    ("Webinaire : la papeterie éco-responsable", "2025-06-12", false),
];

const DIETS: &[&str] = &["Végétarien", "Vegan", "Sans gluten", "Halal", "Casher", "Allergie aux fruits à coque"];

/// The number of generated attendees besides the fixed ones.
const GENERATED: i64 = 40;

struct Attendee<'a> {
    email: &'a str,
    name: &'a str,
    company: Option<&'a str>,
    diet: Option<&'a str>,
    /// (index in [`EVENTS`], days registered before it, attended)
    registrations: &'a [(usize, i64, bool)],
}

/// The fixed people of [`super::DEMO_PEOPLE`] (ids 1 to 3).
const FIXED: &[Attendee<'static>] = &[
    Attendee {
        email: "jeanne.martin@example.fr",
        name: "Jeanne Martin",
        company: Some("Librairie du Marais SARL"),
        diet: Some("Végétarienne"),
        registrations: &[(0, 21, true), (1, 6, false), (4, 30, true)],
    },
    Attendee {
        // As typed at a fair's reception desk.
        email: " Oliver.Smith@example.co.uk",
        name: "Oliver Smith",
        company: Some("Smith & Daughters Ltd"),
        diet: Some("Nut allergy"),
        registrations: &[(2, 14, true)],
    },
    Attendee {
        email: "jeanne.martin@example.com",
        name: "Jeanne Martin",
        company: Some("Atelier Martin"),
        diet: None,
        registrations: &[(3, 3, true)],
    },
];

/// Creates `dir/events.db` unless it is already there, written under a temporary name and
/// renamed into place once complete. The content is the same on every run (fixed seed).
pub async fn create_database(dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join(EVENTS_FILE);
    if path.exists() {
        return Ok(path);
    }
    crate::fsutil::create_private_dir_all_async(dir)
        .await
        .with_context(|| format!("cannot create the demo folder {}", dir.display()))?;
    let tmp = dir.join(format!("{EVENTS_FILE}.{}.tmp", std::process::id()));
    super::remove_if_present(&tmp).await?;
    // A private file (see crate::fsutil): SQLite would create it with the umask's mode.
    crate::fsutil::create_private_file_if_missing(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let options = SqliteConnectOptions::new()
        .filename(&tmp)
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Delete);
    let mut conn =
        SqliteConnection::connect_with(&options).await.with_context(|| format!("cannot create {}", tmp.display()))?;
    conn.execute(sqlx::raw_sql(SCHEMA)).await.context("creating the demo events tables")?;
    let mut tx = conn.begin().await?;
    fill(&mut tx).await.context("filling the demo events database")?;
    tx.commit().await?;
    conn.close().await?;
    if path.exists() {
        // Another process finished first; keep its copy.
        super::remove_if_present(&tmp).await?;
    } else {
        tokio::fs::rename(&tmp, &path)
            .await
            .with_context(|| format!("cannot move the demo events database to {}", path.display()))?;
    }
    Ok(path)
}

async fn fill(tx: &mut SqliteConnection) -> anyhow::Result<()> {
    let mut rng = SplitMix64::new(seed::SEED ^ 0xE7E7);
    let mut emails = std::collections::HashSet::new();
    let mut generated = Vec::new();
    for _ in 0..GENERATED {
        let english = rng.chance(30);
        let (firsts, lasts, tld) = if english {
            (seed::ENGLISH_FIRST, seed::ENGLISH_LAST, "co.uk")
        } else {
            (seed::FRENCH_FIRST, seed::FRENCH_LAST, "fr")
        };
        let (first, last) = (*rng.pick(firsts), *rng.pick(lasts));
        let mut email = format!("{}.{}@example.{tld}", seed::ascii_fold(first), seed::ascii_fold(last));
        while !emails.insert(email.clone()) {
            email = email.replacen('@', &rng.below(10).to_string(), 1);
        }
        let company = rng.chance(75).then(|| {
            let suffixes = if english { seed::COMPANY_SUFFIX_UK } else { seed::COMPANY_SUFFIX_FR };
            format!("{} {} {}", rng.pick(seed::COMPANY_WORDS), last, rng.pick(suffixes))
        });
        let diet = rng.chance(20).then(|| *rng.pick(DIETS));
        let mut registrations = Vec::new();
        for (i, _) in EVENTS.iter().enumerate() {
            if rng.chance(35) {
                registrations.push((i, rng.range(2, 40), rng.chance(70)));
            }
        }
        if registrations.is_empty() {
            let i = usize::try_from(rng.below(EVENTS.len() as u64)).unwrap_or(0);
            registrations.push((i, rng.range(2, 40), rng.chance(70)));
        }
        generated.push((email, format!("{first} {last}"), company, diet, registrations));
    }

    let people = FIXED
        .iter()
        .map(|a| (a.email, a.name, a.company, a.diet, a.registrations))
        .chain(generated.iter().map(|(e, n, c, d, r)| (e.as_str(), n.as_str(), c.as_deref(), *d, r.as_slice())));
    let mut registration_id = 100;
    for (id, (email, name, company, diet, registrations)) in (1_i64..).zip(people) {
        // The badge of the last fair attended, printed on the morning of its first day.
        let badge = registrations
            .iter()
            .filter(|(e, _, attended)| *attended && EVENTS[*e].2)
            .map(|(e, _, _)| format!("{}T08:{:02}:00Z", EVENTS[*e].1, 5 + id % 50))
            .next_back();
        sqlx::query(
            "INSERT INTO attendees (id, email, full_name, company, dietary_requirements, badge_printed_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(email)
        .bind(name)
        .bind(company)
        .bind(diet)
        .bind(badge)
        .execute(&mut *tx)
        .await?;
        for &(event, days_before, attended) in registrations {
            let (title, date, _) = EVENTS[event];
            let day = time::Date::parse(date, time::macros::format_description!("[year]-[month]-[day]"))?;
            let registered = day.checked_sub(time::Duration::days(days_before)).unwrap_or(day);
            registration_id += 1;
            sqlx::query(
                "INSERT INTO registrations (id, attendee_id, event, registered_at, attended) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(registration_id)
            .bind(id)
            .bind(title)
            .bind(format!("{registered}T{:02}:{:02}:00Z", 8 + id % 10, (id * 7) % 60))
            .bind(i64::from(attended))
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The demo source

/// Creates the database if needed, writes a new token to `dir/events.token` (owner-only), starts
/// the service for the life of the process, and returns its `[[sources]]` entry.
pub async fn start_demo(dir: &Path) -> anyhow::Result<SourceConfig> {
    let db = create_database(dir).await?;
    let token = crate::crypto::random_token(32);
    let token_file = dir.join(TOKEN_FILE);
    write_secret(&token_file, &token).await?;
    let service = start(&db, SecretString::from(token)).await?;
    source(&service.base_url(), &token_file)
}

/// Writes `secret` to `path`, readable by this user only, replacing what was there.
async fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    super::remove_if_present(&tmp).await?;
    let mut options = tokio::fs::OpenOptions::from(crate::fsutil::private_options());
    let mut file =
        options.create_new(true).open(&tmp).await.with_context(|| format!("cannot create {}", tmp.display()))?;
    tokio::io::AsyncWriteExt::write_all(&mut file, format!("{secret}\n").as_bytes())
        .await
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.sync_all().await?;
    drop(file);
    tokio::fs::rename(&tmp, path).await.with_context(|| format!("cannot write {}", path.display()))
}

/// The events source as an operator would write it, for a service at `base_url` whose token is
/// in `token_file`.
pub fn source(base_url: &str, token_file: &Path) -> anyhow::Result<SourceConfig> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sources {
        sources: Vec<SourceConfig>,
    }
    let token_file =
        token_file.to_str().with_context(|| format!("the demo folder {} is not valid UTF-8", token_file.display()))?;
    let text = SOURCE_TEMPLATE
        .replace("{{BASE_URL}}", &toml_escape(base_url)?)
        .replace("{{TOKEN_FILE}}", &toml_escape(token_file)?);
    let mut parsed: Sources = toml::from_str(&text).context("the demo events source template is not valid")?;
    anyhow::ensure!(parsed.sources.len() == 1, "the demo events template holds one source");
    Ok(parsed.sources.remove(0))
}

/// `s` inside a TOML basic string.
fn toml_escape(s: &str) -> anyhow::Result<String> {
    anyhow::ensure!(!s.chars().any(char::is_control), "the demo folder path contains a control character");
    Ok(s.replace('\\', "\\\\").replace('"', "\\\""))
}

// ---------------------------------------------------------------------------------------------
// The service

/// A running events service.
#[derive(Debug, Clone)]
pub struct EventsService {
    pub addr: SocketAddr,
    handle: ServerHandle,
}

impl EventsService {
    /// `http://127.0.0.1:<port>`: the calls are `<base_url>/health`, `<base_url>/access`, …
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting calls (tests; the demo's service lives as long as the process).
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

/// Serves `dossier-connector/1` over the database at `db` on a free loopback port, on the
/// current Tokio runtime, expecting `token` as bearer token on every call.
pub async fn start(db: &Path, token: SecretString) -> anyhow::Result<EventsService> {
    let options =
        SqliteConnectOptions::new().filename(db).foreign_keys(true).busy_timeout(std::time::Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .with_context(|| format!("cannot open the demo events database {}", db.display()))?;
    let state = web::Data::new(State { pool, token });
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen for the demo events service")?;
    let addr = listener.local_addr()?;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(MAX_CALL_BYTES))
            .route("/health", web::get().to(health))
            .route("/access", web::post().to(access))
            .route("/locate", web::post().to(locate))
            .route("/read", web::post().to(read))
            .route("/execute", web::post().to(execute))
            .route("/emails", web::post().to(emails))
            .default_service(web::to(not_found))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    tracing::info!(%addr, "demo events service (dossier-connector/1) listening");
    Ok(EventsService { addr, handle })
}

struct State {
    pool: SqlitePool,
    token: SecretString,
}

impl State {
    /// Every call, `/health` included, carries the token, compared in constant time.
    fn authorise(&self, req: &HttpRequest) -> Result<(), Refusal> {
        let given = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        let given = given.strip_prefix("Bearer ").unwrap_or("");
        if crate::crypto::constant_time_eq(given.as_bytes(), self.token.expose_secret().as_bytes()) {
            Ok(())
        } else {
            Err(Refusal::new(StatusCode::UNAUTHORIZED, "missing or wrong token"))
        }
    }
}

/// One collection: its table and the only field names ever put into SQL.
struct Collection {
    name: &'static str,
    fields: &'static [&'static str],
    /// The person's records, `$1` being their normalised address.
    person: &'static str,
}

const COLLECTIONS: &[Collection] = &[
    Collection {
        name: "attendees",
        fields: &[
            "id",
            "email",
            "full_name",
            "company",
            "dietary_requirements",
            "badge_printed_at",
            "marketing_opt_out",
        ],
        person: "lower(trim(email)) = $1",
    },
    Collection {
        name: "registrations",
        fields: &["id", "attendee_id", "event", "registered_at", "attended"],
        person: "attendee_id IN (SELECT id FROM attendees WHERE lower(trim(email)) = $1)",
    },
];

fn collection(name: &str) -> Result<&'static Collection, Refusal> {
    COLLECTIONS.iter().find(|c| c.name == name).ok_or_else(|| {
        Refusal::bad(format!("this service has no collection {}", name.chars().take(60).collect::<String>()))
    })
}

impl Collection {
    fn check<'a>(&self, names: impl IntoIterator<Item = &'a String>) -> Result<(), Refusal> {
        match names.into_iter().find(|n| !self.fields.contains(&n.as_str())) {
            Some(n) => Err(Refusal::bad(format!(
                "collection {} has no field {}",
                self.name,
                n.chars().take(60).collect::<String>()
            ))),
            None => Ok(()),
        }
    }

    /// `WHERE` clause and values selecting the record with `key`, starting at placeholder `$from`.
    fn where_key(&self, key: &Map<String, Value>, from: usize) -> Result<(String, Vec<Value>), Refusal> {
        if key.is_empty() {
            return Err(Refusal::bad("a record is identified by a non-empty key"));
        }
        self.check(key.keys())?;
        let clause = key.keys().enumerate().map(|(i, k)| format!("\"{k}\" = ${}", from + i)).collect::<Vec<_>>();
        let values = key.values().map(scalar).collect::<Result<_, _>>()?;
        Ok((clause.join(" AND "), values))
    }
}

/// A value that can be bound: JSON scalars only.
fn scalar(v: &Value) -> Result<Value, Refusal> {
    match v {
        Value::Array(_) | Value::Object(_) => Err(Refusal::bad("keys and written values are single values")),
        v => Ok(v.clone()),
    }
}

/// `json_object('a', "a", …)`: a row as a JSON object, types kept (fields checked beforehand).
fn json_object<S: AsRef<str>>(fields: &[S]) -> String {
    let pairs: Vec<String> = fields.iter().map(|f| format!("'{0}', \"{0}\"", f.as_ref())).collect();
    format!("json_object({})", pairs.join(", "))
}

/// The JSON objects `sql` (one `json_object` column) returns, `binds` bound in order.
async fn objects(
    conn: &mut SqliteConnection,
    sql: String,
    binds: &[Value],
) -> Result<Vec<Map<String, Value>>, Refusal> {
    let rows = query(sql, binds).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| {
            let text: String = row.try_get(0)?;
            serde_json::from_str(&text).map_err(|_| Refusal::internal())
        })
        .collect()
}

fn query(sql: String, binds: &[Value]) -> sqlx::query::Query<'static, Sqlite, <Sqlite as sqlx::Database>::Arguments> {
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for v in binds {
        q = match v {
            Value::Null => q.bind(None::<String>),
            Value::Bool(b) => q.bind(i64::from(*b)),
            Value::Number(n) => match n.as_i64() {
                Some(i) => q.bind(i),
                None => q.bind(n.as_f64()),
            },
            Value::String(s) => q.bind(s.clone()),
            // Refused by `scalar` before.
            other => q.bind(other.to_string()),
        };
    }
    q
}

/// An NDJSON answer, closed by `{"end": true}`.
#[derive(Default)]
struct Ndjson(Vec<u8>);

impl Ndjson {
    fn line(&mut self, document: &Value) {
        // Serialising a `Value` cannot fail.
        let _ = serde_json::to_writer(&mut self.0, document);
        self.0.push(b'\n');
    }

    fn end(mut self) -> HttpResponse {
        self.line(&json!({"end": true}));
        HttpResponse::Ok().content_type("application/x-ndjson").body(self.0)
    }
}

/// A call's body, or a 400 that quotes nothing of it.
fn parse<T: DeserializeOwned>(body: &[u8], path: &str) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|_| Refusal::bad(format!("the call to {path} is not what the protocol sends")))
}

fn normalised(email: &str) -> Result<String, Refusal> {
    let email = email.trim().to_lowercase();
    if email.contains('@') { Ok(email) } else { Err(Refusal::bad("the call needs the person's email address")) }
}

// ---------------------------------------------------------------------------------------------
// The calls

#[derive(Deserialize)]
struct EmailCall {
    email: String,
}

#[derive(Deserialize)]
struct LocateCall {
    email: String,
    collections: Map<String, Value>,
}

#[derive(Deserialize)]
struct LocateWhat {
    key: Vec<String>,
    #[serde(default)]
    fields: Vec<String>,
}

#[derive(Deserialize)]
struct ReadCall {
    records: Vec<ReadWhat>,
}

#[derive(Deserialize)]
struct ReadWhat {
    collection: String,
    key: Map<String, Value>,
    #[serde(default)]
    fields: Vec<String>,
}

#[derive(Deserialize)]
struct ExecuteCall {
    request: String,
    steps: Vec<ExecuteStep>,
}

#[derive(Deserialize)]
struct ExecuteStep {
    collection: String,
    key: Map<String, Value>,
    change: Change,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Change {
    Delete(bool),
    Update(Map<String, Value>),
}

async fn health(req: HttpRequest, state: web::Data<State>) -> Result<HttpResponse, Refusal> {
    state.authorise(&req)?;
    state.pool.execute("SELECT 1").await?;
    let collections: Vec<&str> = COLLECTIONS.iter().map(|c| c.name).collect();
    Ok(HttpResponse::Ok().json(json!({"protocol": PROTOCOL, "collections": collections})))
}

/// Attendees by address, then their registrations, in one read transaction (one snapshot).
async fn access(req: HttpRequest, state: web::Data<State>, body: web::Bytes) -> Result<HttpResponse, Refusal> {
    state.authorise(&req)?;
    let call: EmailCall = parse(&body, "/access")?;
    let email = Value::from(normalised(&call.email)?);
    let mut tx = state.pool.begin().await?;
    let mut answer = Ndjson::default();
    for c in COLLECTIONS {
        let sql = format!("SELECT {} FROM {} WHERE {} ORDER BY id", json_object(c.fields), c.name, c.person);
        for record in objects(&mut tx, sql, std::slice::from_ref(&email)).await? {
            answer.line(&json!({"collection": c.name, "record": record}));
        }
    }
    Ok(answer.end())
}

async fn locate(req: HttpRequest, state: web::Data<State>, body: web::Bytes) -> Result<HttpResponse, Refusal> {
    state.authorise(&req)?;
    let call: LocateCall = parse(&body, "/locate")?;
    let email = Value::from(normalised(&call.email)?);
    let mut asked = Vec::new();
    for (name, what) in &call.collections {
        let c = collection(name)?;
        let what: LocateWhat = serde_json::from_value(what.clone())
            .map_err(|_| Refusal::bad("each collection asked for has a `key` and `fields`"))?;
        if what.key.is_empty() {
            return Err(Refusal::bad("a record is identified by a non-empty key"));
        }
        c.check(&what.key)?;
        c.check(&what.fields)?;
        asked.push((c, what));
    }
    // A collection's records together, in the service's order.
    asked.sort_by_key(|(c, _)| COLLECTIONS.iter().position(|o| o.name == c.name));
    let mut tx = state.pool.begin().await?;
    let mut answer = Ndjson::default();
    for (c, what) in asked {
        let sql = format!(
            "SELECT json_object('key', {}, 'values', {}) FROM {} WHERE {} ORDER BY id",
            json_object(&what.key),
            json_object(&what.fields),
            c.name,
            c.person
        );
        for found in objects(&mut tx, sql, std::slice::from_ref(&email)).await? {
            answer.line(&json!({"collection": c.name, "key": found["key"], "values": found["values"]}));
        }
    }
    Ok(answer.end())
}

async fn read(req: HttpRequest, state: web::Data<State>, body: web::Bytes) -> Result<HttpResponse, Refusal> {
    state.authorise(&req)?;
    let call: ReadCall = parse(&body, "/read")?;
    let mut tx = state.pool.begin().await?;
    let mut records = Vec::with_capacity(call.records.len());
    for r in &call.records {
        let c = collection(&r.collection)?;
        c.check(&r.fields)?;
        let (clause, binds) = c.where_key(&r.key, 1)?;
        let sql = format!("SELECT {} FROM {} WHERE {clause} LIMIT 2", json_object(&r.fields), c.name);
        let mut found = objects(&mut tx, sql, &binds).await?;
        if found.len() > 1 {
            return Err(several(c));
        }
        records.push(match found.pop() {
            Some(values) => json!({"found": true, "values": values}),
            None => json!({"found": false, "values": {}}),
        });
    }
    Ok(HttpResponse::Ok().json(json!({"records": records})))
}

/// Every step in one transaction, taking the write lock at once: all or nothing. A delete that
/// finds nothing was already applied; an update writes the values given: a retry changes nothing.
async fn execute(req: HttpRequest, state: web::Data<State>, body: web::Bytes) -> Result<HttpResponse, Refusal> {
    state.authorise(&req)?;
    let call: ExecuteCall = parse(&body, "/execute")?;
    let mut tx = state.pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut outcomes = Vec::with_capacity(call.steps.len());
    for step in &call.steps {
        let c = collection(&step.collection)?;
        let (clause, key) = c.where_key(&step.key, 1)?;
        let count: i64 = query(format!("SELECT count(*) FROM {} WHERE {clause}", c.name), &key)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if count > 1 {
            return Err(several(c));
        }
        match &step.change {
            Change::Delete(true) => {
                query(format!("DELETE FROM {} WHERE {clause}", c.name), &key).execute(&mut *tx).await?;
                outcomes.push(json!({"found": count == 1, "after": null}));
            }
            Change::Update(values) if !values.is_empty() => {
                c.check(values.keys())?;
                if let Some(k) = values.keys().find(|f| step.key.contains_key(*f)) {
                    return Err(Refusal::bad(format!("a step of collection {} writes its key field {k}", c.name)));
                }
                if count == 0 {
                    outcomes.push(json!({"found": false, "after": null}));
                    continue;
                }
                let n = values.len();
                let sets: Vec<String> =
                    values.keys().enumerate().map(|(i, f)| format!("\"{f}\" = ${}", i + 1)).collect();
                let (clause, _) = c.where_key(&step.key, n + 1)?;
                let mut binds = values.values().map(scalar).collect::<Result<Vec<_>, _>>()?;
                binds.extend(key.iter().cloned());
                query(format!("UPDATE {} SET {} WHERE {clause}", c.name, sets.join(", ")), &binds)
                    .execute(&mut *tx)
                    .await?;
                // Read back inside the transaction: what was really written.
                let fields: Vec<&String> = values.keys().collect();
                let (clause, _) = c.where_key(&step.key, 1)?;
                let sql = format!("SELECT {} FROM {} WHERE {clause}", json_object(&fields), c.name);
                let after = objects(&mut tx, sql, &key).await?.pop();
                outcomes.push(json!({"found": true, "after": after}));
            }
            _ => return Err(Refusal::bad("a change is {\"delete\": true} or {\"update\": {field: value, …}}")),
        }
    }
    tx.commit().await?;
    // The request id is a hash of the steps: safe to log.
    let request: String = call.request.chars().take(64).collect();
    tracing::info!(request, steps = call.steps.len(), "demo events service: changes applied");
    Ok(HttpResponse::Ok().json(json!({"outcomes": outcomes})))
}

/// Every address held, as stored: Dossier trims and lower-cases them.
async fn emails(req: HttpRequest, state: web::Data<State>) -> Result<HttpResponse, Refusal> {
    state.authorise(&req)?;
    let rows = sqlx::query("SELECT email FROM attendees WHERE trim(coalesce(email, '')) <> '' ORDER BY id")
        .fetch_all(&state.pool)
        .await?;
    let mut answer = Ndjson::default();
    for row in rows {
        let email: String = row.try_get(0)?;
        answer.line(&json!({"email": email}));
    }
    Ok(answer.end())
}

async fn not_found(req: HttpRequest, state: web::Data<State>) -> Result<HttpResponse, Refusal> {
    state.authorise(&req)?;
    Err(Refusal::new(StatusCode::NOT_FOUND, format!("nothing at {} {}", req.method(), req.path())))
}

fn several(c: &Collection) -> Refusal {
    Refusal::new(
        StatusCode::CONFLICT,
        format!("a key of collection {} matches several records; nothing was changed", c.name),
    )
}

// ---------------------------------------------------------------------------------------------
// Errors

/// A refused or failed call: its status and one sentence, answered as `{"error": "…"}`. Never
/// quotes an address or a record.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }

    fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "the events database failed; try again later")
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl ResponseError for Refusal {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(json!({"error": self.message}))
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Self {
        // SQLite's messages name tables and columns, not values.
        tracing::warn!(error = %e, "demo events service: database error");
        Self::internal()
    }
}

#[cfg(test)]
mod tests;
