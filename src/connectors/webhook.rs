//! The webhook connector: any system, written in any language, that answers a small HTTP/JSON
//! protocol, `dossier-connector/1`, specified in `docs/connector-protocol.md` (a reference service
//! in Python is in `examples/webhook-connector/`).
//!
//! The service's collections and their rules (`key`, `erasure`, `rectifiable`, `objections`,
//! `art15`, `label`) are declared in Dossier's configuration like SQL and CSV collections, so the
//! privacy officer decides what people are told and what erasing does; the service only finds,
//! reads and changes records when asked:
//!
//! | call | Dossier sends | the service answers |
//! | --- | --- | --- |
//! | `GET /health` | | `{"protocol": "dossier-connector/1", "collections": [...]}` |
//! | `POST /access` | `{"email"}` | NDJSON `{"collection", "record"}`, a collection's records together |
//! | `POST /locate` | `{"email", "collections": {name: {"key", "fields"}}}` | NDJSON `{"collection", "key", "values"}` |
//! | `POST /read` | `{"records": [{"collection", "key", "fields"}]}` | `{"records": [{"found", "values"}]}` |
//! | `POST /execute` | `{"request", "steps": [{"collection", "key", "change"}]}` | `{"outcomes": [{"found", "after"}]}` |
//! | `POST /emails` | `{}` | NDJSON `{"email"}` |
//!
//! Every NDJSON answer ends with the line `{"end": true}`: an answer cut short (the service
//! crashed, a proxy timed out) is an error, never a silently partial answer.
//!
//! - **Security.** `base_url` must be `https://`; `http://` is accepted only for a service on the
//!   same machine (`localhost`, `127.0.0.0/8`, `[::1]`). Every call carries
//!   `Authorization: Bearer <token>`, the token read when Dossier starts from the environment
//!   variable named by `token_env` or the file named by `token_file` (never written in the
//!   configuration). Redirects are not followed (they would carry the token elsewhere). HTTPS
//!   calls use the environment's proxy settings (`HTTPS_PROXY`, `NO_PROXY`); plain HTTP to this
//!   machine never goes through a proxy.
//! - **Bounded.** Connecting is limited by `connect_timeout_seconds` (default 5); a JSON answer
//!   must arrive whole within `timeout_seconds` (default 30) and is at most 16 MiB; an NDJSON
//!   answer must start within `timeout_seconds`, may then go on as long as no wait for the next
//!   bytes exceeds it (up to 30 minutes in all), and holds lines of at most 16 MiB.
//! - **Streaming.** `/access` and `/emails` are read line by line on a blocking thread; each record
//!   goes to the [`RecordSink`] through a small bounded channel, so a person with a million
//!   records never sits whole in memory.
//! - **Checked.** Records must be of a declared collection (an undeclared one would reach the
//!   person without its Art. 15 information: the source fails until it is declared), a
//!   collection's records must come together, a located record must carry its configured key and
//!   the fields asked for, and `/read` and `/execute` must answer once per record or step.
//! - **Changes.** `execute` first checks each step against the current configuration (as the SQL
//!   connector does), then computes masks and pseudonyms itself: it reads the current values with
//!   `/read` and applies [`Pseudonymiser::apply`], so the service only ever writes fixed values and
//!   never sees Dossier's key. It sends the updates first, in step order, then the deletes,
//!   collections declared later first (children before parents): the service applies them in
//!   that order, in one transaction. A step whose record `/read` did not find is not sent and
//!   comes back `found: false`. The call's `request` id is a hash of the steps sent; since masks
//!   and pseudonyms are idempotent, a retry after a crash sends the same steps with the same id.
//!   A masked or pseudonymised field that does not read back as written is left out of
//!   [`StepOutcome::after`], so the step is reported as not applied.
//! - **Errors.** An answer other than 2xx becomes a [`ConnectorError`] quoting the service's
//!   `{"error": "…"}` sentence (at most 300 characters, addresses masked): 401/403/404 and
//!   redirects are configuration errors, 5xx, timeouts and refused connections make the source
//!   unreachable (retried), anything that is not the protocol fails the call.
//!
//! # Why `ureq`
//!
//! The [`Connector`] futures must be `Send`; actix's `awc` client is not. `ureq` is a small
//! blocking client over `rustls` and `ring`, which Dossier already builds for `sqlx` and `lettre`:
//! it adds four crates (`ureq`, `ureq-proto`, `utf8-zero` and a second `base64`), no async
//! runtime, and its calls run on `tokio::task::spawn_blocking` like the CSV connector's file reads.
//! It has per-call, per-read and connect timeouts and bounded body reads, which is what a client
//! of someone else's service needs.

mod http;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::blocking::{self, Message, send};
use super::{
    Art15, CollectionInfo, Connector, ConnectorError, ConnectorErrorKind, HealthReport, Record, RecordSink, SourceInfo,
    Subject, Text,
};
use crate::plans::anonymise::Pseudonymiser;
use crate::plans::{
    Change, ErasureRule, FieldWrite, Located, ObjectionRule, RectifiableField, Rules, Step, StepOutcome, Values,
    same_value,
};
use http::Client;

/// The protocol this connector speaks, as `/health` must name it.
pub const PROTOCOL: &str = "dossier-connector/1";

/// Default limits, in seconds.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 30;
pub const DEFAULT_CONNECT_TIMEOUT_SECONDS: u64 = 5;
/// The longest timeout accepted in the configuration.
const MAX_TIMEOUT_SECONDS: u64 = 600;

/// Addresses sent together by `emails`.
const EMAIL_BATCH: usize = 256;

/// `[[sources]]` with `kind = "webhook"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSourceConfig {
    pub name: String,
    #[serde(default)]
    pub label: Option<Text>,
    /// Where the service answers, e.g. `https://events.example.com/dossier` (the calls are
    /// `<base_url>/health`, `<base_url>/access`, …).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Name of the environment variable that holds `base_url`.
    #[serde(default)]
    pub base_url_env: Option<String>,
    /// Name of the environment variable that holds the bearer token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// Instead of `token_env`: a file holding the bearer token (a container secret, e.g.
    /// `/run/secrets/events_token`), read when Dossier starts, spaces and line ends around it
    /// ignored.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// How long one call may take (a JSON answer in full; for a stream, each wait). Default 30.
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// How long connecting may take. Default 5.
    #[serde(default)]
    pub connect_timeout_seconds: Option<u64>,
    pub collections: Vec<WebhookCollectionConfig>,
}

/// `[[sources.collections]]`: one kind of record the service holds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookCollectionConfig {
    /// The name the service uses in its answers.
    pub name: String,
    #[serde(default)]
    pub label: Option<Text>,
    #[serde(default)]
    pub art15: Art15,
    /// The fields that identify one record; needed by every rule that changes records.
    #[serde(default)]
    pub key: Vec<String>,
    /// What erasing one of the person's records does.
    #[serde(default)]
    pub erasure: Option<ErasureRule>,
    /// The fields a person may correct.
    #[serde(default)]
    pub rectifiable: Vec<RectifiableField>,
    /// What objecting to a purpose writes into the person's records.
    #[serde(default)]
    pub objections: Vec<ObjectionRule>,
}

/// The webhook connector. Built from [`WebhookSourceConfig`] (validated by
/// [`WebhookConnector::new`]); calls the service on each use.
pub struct WebhookConnector {
    inner: Arc<Inner>,
}

struct Inner {
    info: SourceInfo,
    client: Client,
}

impl std::fmt::Debug for WebhookConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConnector")
            .field("source", &self.inner.info.name)
            .field("base_url", &self.inner.client.base())
            .finish_non_exhaustive()
    }
}

impl WebhookConnector {
    /// Validates the configuration (address, token, collections and rules) without calling the
    /// service. `base_url_env`, `token_env` and `token_file` are read here: a missing variable or
    /// file is a configuration error reported at start, not at the first request.
    pub fn new(config: WebhookSourceConfig) -> anyhow::Result<Self> {
        Self::with_env(config, |var| std::env::var(var).ok())
    }

    /// [`WebhookConnector::new`], with the environment variables read through `env`.
    pub fn with_env(config: WebhookSourceConfig, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let source = config.name.as_str();
        anyhow::ensure!(!source.trim().is_empty(), "a webhook source has an empty `name`");
        let raw_url = match (&config.base_url, &config.base_url_env) {
            (Some(url), None) => url.clone(),
            (None, Some(var)) => env(var).ok_or_else(|| {
                anyhow::anyhow!(
                    "source `{source}`: the environment variable `{var}` named by `base_url_env` is not set \
                     (or not valid UTF-8)"
                )
            })?,
            (Some(_), Some(_)) => {
                anyhow::bail!("source `{source}`: give either `base_url` or `base_url_env`, not both")
            }
            (None, None) => anyhow::bail!(
                "source `{source}`: set `base_url` to the address of the service, e.g. \
                 \"https://events.example.com/dossier\" (or `base_url_env`)"
            ),
        };
        let base = parse_base_url(&raw_url).map_err(|e| anyhow::anyhow!("source `{source}`: {e}"))?;

        let (token, origin) = match (config.token_env.as_deref(), config.token_file.as_deref()) {
            (Some(var), None) => {
                let var = var.trim();
                anyhow::ensure!(
                    !var.is_empty(),
                    "source `{source}`: `token_env` is empty; set it to the name of the environment variable \
                     holding the token"
                );
                let token = env(var).ok_or_else(|| {
                    anyhow::anyhow!(
                        "source `{source}`: the environment variable `{var}` named by `token_env` is not set \
                         (or not valid UTF-8); it must hold the token the service expects"
                    )
                })?;
                (token, format!("the environment variable {var}"))
            }
            (None, Some(path)) => (read_token_file(source, path)?, format!("the file {}", path.display())),
            (Some(_), Some(_)) => {
                anyhow::bail!("source `{source}`: give either `token_env` or `token_file`, not both")
            }
            (None, None) => anyhow::bail!(
                "source `{source}`: set `token_env` to the name of the environment variable holding the token \
                 the service expects, or `token_file` to a file holding it (the token itself never goes in the \
                 configuration file)"
            ),
        };
        let token = token.trim();
        anyhow::ensure!(!token.is_empty(), "source `{source}`: {origin} is empty; it must hold the token");
        anyhow::ensure!(
            token.bytes().all(|b| b.is_ascii_graphic()),
            "source `{source}`: the token in {origin} holds spaces or characters that cannot be sent in an HTTP \
             header"
        );
        let timeout = seconds(source, "timeout_seconds", config.timeout_seconds, DEFAULT_TIMEOUT_SECONDS)?;
        let connect_timeout = seconds(
            source,
            "connect_timeout_seconds",
            config.connect_timeout_seconds,
            DEFAULT_CONNECT_TIMEOUT_SECONDS,
        )?;

        anyhow::ensure!(!config.collections.is_empty(), "source `{source}` has no `[[sources.collections]]`");
        let mut collections: Vec<CollectionInfo> = Vec::with_capacity(config.collections.len());
        for c in &config.collections {
            let name = c.name.as_str();
            anyhow::ensure!(!name.trim().is_empty(), "source `{source}`: a collection has an empty `name`");
            anyhow::ensure!(
                name.trim() == name,
                "source `{source}`: collection `{name}` has spaces around its name; write it as the service does"
            );
            anyhow::ensure!(
                collections.iter().all(|o| o.name != name),
                "source `{source}`: two collections are named `{name}`"
            );
            let rules = Self::rules(c).map_err(|e| anyhow::anyhow!("source `{source}`: {e}"))?;
            collections.push(CollectionInfo {
                name: name.to_string(),
                label: c.label.clone().unwrap_or_else(|| Text::Plain(name.to_string())),
                art15: c.art15.clone(),
                rules,
            });
        }
        for c in &collections {
            crate::plans::ensure_unlinked(source, &c.name, &c.rules, |name| {
                collections.iter().find(|o| o.name == name).map(|o| &o.rules)
            })?;
        }
        let client =
            Client::new(source, base, SecretString::from(token.to_string()), &origin, timeout, connect_timeout);
        Ok(Self {
            inner: Arc::new(Inner {
                info: SourceInfo {
                    name: source.to_string(),
                    label: config.label.clone().unwrap_or_else(|| Text::Plain(source.to_string())),
                    kind: "webhook",
                    collections,
                },
                client,
            }),
        })
    }

    fn rules(c: &WebhookCollectionConfig) -> anyhow::Result<Rules> {
        let name = c.name.as_str();
        let named = |what: &str, field: &str| -> anyhow::Result<()> {
            anyhow::ensure!(
                !field.trim().is_empty() && field.trim() == field,
                "collection `{name}`: `{what}` holds an empty name or one with spaces around it"
            );
            Ok(())
        };
        for k in &c.key {
            named("key", k)?;
        }
        for rule in c.erasure.iter().flat_map(|e| e.actions()) {
            for field in rule.fields.keys() {
                named("erasure.fields", field)?;
            }
            if let Some(from) = &rule.from_column {
                named("erasure.from_column", from)?;
            }
        }
        for r in &c.rectifiable {
            named("rectifiable", &r.field)?;
        }
        for o in &c.objections {
            for field in o.set.keys() {
                named("objections.set", field)?;
            }
        }
        let rules = Rules {
            key: c.key.clone(),
            erasure: c.erasure.clone(),
            rectifiable: c.rectifiable.clone(),
            objections: c.objections.clone(),
        };
        rules.validate(name)?;
        Ok(rules)
    }
}

/// The token in `token_file`: the whole file, trimmed (emptiness is checked by the caller).
fn read_token_file(source: &str, path: &Path) -> anyhow::Result<String> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| {
            anyhow::anyhow!(
                "source `{source}`: the file {} named by `token_file` is not text (UTF-8); it must hold the token \
                 alone",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
            "source `{source}`: the file {} named by `token_file` does not exist; it must hold the token the \
             service expects",
            path.display()
        ),
        Err(e) => Err(e).with_context(|| {
            format!("source `{source}`: cannot read the file {} named by `token_file`", path.display())
        }),
    }
}

/// A timeout from the configuration, in whole seconds, 1 to 600.
fn seconds(source: &str, what: &str, configured: Option<u64>, default: u64) -> anyhow::Result<Duration> {
    let s = configured.unwrap_or(default);
    anyhow::ensure!(
        (1..=MAX_TIMEOUT_SECONDS).contains(&s),
        "source `{source}`: `{what}` must be between 1 and {MAX_TIMEOUT_SECONDS} seconds"
    );
    Ok(Duration::from_secs(s))
}

/// `https://host[:port][/path]`, or `http://` for a loopback host; returned without a trailing `/`.
pub fn parse_base_url(raw: &str) -> anyhow::Result<String> {
    let url = raw.trim();
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        anyhow::anyhow!("`base_url` {url:?} must start with https:// (or http:// for a service on this machine)")
    })?;
    let scheme = scheme.to_ascii_lowercase();
    anyhow::ensure!(
        scheme == "https" || scheme == "http",
        "`base_url` {url:?} must start with https:// (or http:// for a service on this machine)"
    );
    anyhow::ensure!(
        !rest.contains(['?', '#']) && !rest.chars().any(char::is_whitespace),
        "`base_url` {url:?} must be a plain address, without `?`, `#` or spaces"
    );
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    anyhow::ensure!(
        !authority.contains('@'),
        "`base_url` must not hold a user name or password: the service is authenticated with the token named \
         by `token_env` or `token_file`"
    );
    let host = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| anyhow::anyhow!("`base_url` {url:?} has an unclosed `[` in its address"))?;
            anyhow::ensure!(
                after.is_empty() || after.strip_prefix(':').is_some_and(is_port),
                "`base_url` {url:?} has a bad port"
            );
            host
        }
        None => {
            let (host, port) = authority.split_once(':').map_or((authority, None), |(h, p)| (h, Some(p)));
            anyhow::ensure!(port.is_none_or(is_port), "`base_url` {url:?} has a bad port");
            host
        }
    };
    anyhow::ensure!(!host.is_empty(), "`base_url` {url:?} has no host name");
    if scheme == "http" {
        anyhow::ensure!(
            is_loopback(host),
            "`base_url` {url:?} is refused: over http:// the token and people's data would cross the network \
             unencrypted; use https:// (http:// is accepted only for a service on this machine: localhost, \
             127.0.0.1 or [::1])"
        );
    }
    Ok(format!("{scheme}://{authority}{}", path.trim_end_matches('/')))
}

fn is_port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok()
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || host.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback())
}

// ---------------------------------------------------------------------------------------------
// The wire format (docs/connector-protocol.md)

#[derive(Deserialize)]
struct Health {
    protocol: String,
    #[serde(default)]
    collections: Vec<String>,
}

#[derive(Serialize)]
struct EmailCall<'a> {
    email: &'a str,
}

#[derive(Deserialize)]
struct AccessLine {
    collection: String,
    record: Record,
}

#[derive(Serialize)]
struct LocateCall<'a> {
    email: &'a str,
    collections: BTreeMap<&'a str, LocateWhat<'a>>,
}

#[derive(Serialize)]
struct LocateWhat<'a> {
    key: &'a [String],
    fields: Vec<&'a str>,
}

#[derive(Deserialize)]
struct LocateLine {
    collection: String,
    key: Values,
    #[serde(default)]
    values: Values,
}

#[derive(Serialize)]
struct ReadCall<'a> {
    records: Vec<ReadWhat<'a>>,
}

#[derive(Serialize)]
struct ReadWhat<'a> {
    collection: &'a str,
    key: &'a Values,
    fields: Vec<&'a str>,
}

#[derive(Deserialize)]
struct ReadAnswer {
    records: Vec<ReadRecord>,
}

#[derive(Deserialize)]
struct ReadRecord {
    found: bool,
    #[serde(default)]
    values: Values,
}

#[derive(Serialize)]
struct ExecuteCall<'a> {
    request: String,
    steps: &'a [WireStep<'a>],
}

#[derive(Serialize)]
struct WireStep<'a> {
    collection: &'a str,
    key: &'a Values,
    change: WireChange,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum WireChange {
    Delete(bool),
    Update(Values),
}

#[derive(Deserialize)]
struct ExecuteAnswer {
    outcomes: Vec<WireOutcome>,
}

#[derive(Deserialize)]
struct WireOutcome {
    found: bool,
    #[serde(default)]
    after: Option<Values>,
}

#[derive(Deserialize)]
struct EmailLine {
    email: String,
}

// ---------------------------------------------------------------------------------------------
// The calls, on a blocking thread

impl Inner {
    fn source(&self) -> &str {
        &self.info.name
    }

    fn check(&self) -> Result<HealthReport, ConnectorError> {
        let health: Health = self.client.get_json("/health")?;
        let source = self.source();
        if health.protocol != PROTOCOL {
            return Err(ConnectorError::new(
                ConnectorErrorKind::Misconfigured,
                format!(
                    "source {source} speaks protocol \"{}\", but this Dossier speaks {PROTOCOL}",
                    health.protocol.chars().take(60).collect::<String>()
                ),
            ));
        }
        let served: HashSet<&str> = health.collections.iter().map(String::as_str).collect();
        let missing: Vec<&str> =
            self.info.collections.iter().map(|c| c.name.as_str()).filter(|c| !served.contains(c)).collect();
        if !missing.is_empty() {
            return Err(ConnectorError::new(
                ConnectorErrorKind::Misconfigured,
                format!(
                    "source {source} does not serve the configured collection{} {}; it serves: {}",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", "),
                    if health.collections.is_empty() { "nothing".to_string() } else { health.collections.join(", ") }
                ),
            ));
        }
        let mut notes = vec![format!(
            "{} answers {PROTOCOL} and serves {}",
            self.client.base(),
            self.info.collections.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
        )];
        for extra in health.collections.iter().filter(|c| self.info.collection(c).is_none()) {
            notes.push(format!(
                "warning: the service also serves collection {extra}, which the configuration does not declare; \
                 a person with records there cannot be answered until it is declared (with its Art. 15 information)"
            ));
        }
        Ok(HealthReport { notes })
    }

    /// `/access`, each record checked and sent on as it arrives.
    fn collect(&self, email: &str, tx: &tokio::sync::mpsc::Sender<Message>) -> Result<(), ConnectorError> {
        let mut done: HashSet<String> = HashSet::new();
        let mut current: Option<String> = None;
        let mut count = 0u64;
        self.client.post_stream("/access", &EmailCall { email }, |line: AccessLine| {
            count += 1;
            if current.as_deref() != Some(line.collection.as_str()) {
                self.declared(&line.collection)?;
                if let Some(previous) = current.take() {
                    done.insert(previous);
                }
                if done.contains(&line.collection) {
                    return Err(self.client.not_the_protocol(format!(
                        "the records of collection {} are not all together in its answer to /access (record {count})",
                        line.collection
                    )));
                }
                let fields = line.record.keys().cloned().collect();
                send(tx, Message::Begin(line.collection.clone(), fields))?;
                current = Some(line.collection);
            }
            send(tx, Message::Record(line.record))
        })
    }

    fn declared(&self, collection: &str) -> Result<&CollectionInfo, ConnectorError> {
        self.info.collection(collection).ok_or_else(|| {
            ConnectorError::new(
                ConnectorErrorKind::Misconfigured,
                format!(
                    "source {} sent records of collection {}, which the configuration does not declare; declare it \
                     under [[sources.collections]] with its Art. 15 information, so the person is told what it is",
                    self.source(),
                    collection.chars().take(60).collect::<String>()
                ),
            )
        })
    }

    fn locate(&self, email: &str) -> Result<Vec<Located>, ConnectorError> {
        let collections: BTreeMap<&str, LocateWhat<'_>> = self
            .info
            .collections
            .iter()
            .filter(|c| !c.rules.is_empty())
            .map(|c| (c.name.as_str(), LocateWhat { key: &c.rules.key, fields: c.rules.needed_columns() }))
            .collect();
        if collections.is_empty() {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        let call = LocateCall { email, collections };
        self.client.post_stream("/locate", &call, |line: LocateLine| {
            let Some(asked) = call.collections.get(line.collection.as_str()) else {
                return Err(self.client.not_the_protocol(format!(
                    "its answer to /locate holds a record of collection {}, which was not asked for",
                    line.collection.chars().take(60).collect::<String>()
                )));
            };
            let key_ok = line.key.len() == asked.key.len()
                && asked
                    .key
                    .iter()
                    .all(|k| line.key.get(k).is_some_and(|v| !v.is_null() && !v.is_array() && !v.is_object()));
            if !key_ok {
                return Err(self.client.not_the_protocol(format!(
                    "a record of collection {} in its answer to /locate does not have exactly its key ({}), each a \
                     single value",
                    line.collection,
                    asked.key.join(", ")
                )));
            }
            if let Some(missing) = asked.fields.iter().find(|f| !line.values.contains_key(**f)) {
                return Err(self.client.not_the_protocol(format!(
                    "a record of collection {} in its answer to /locate lacks field {missing} (null when empty)",
                    line.collection
                )));
            }
            let values = asked.fields.iter().map(|f| (f.to_string(), line.values[*f].clone())).collect();
            found.push(Located { collection: line.collection, key: line.key, values });
            Ok(())
        })?;
        Ok(found)
    }

    fn emails(&self, tx: &tokio::sync::mpsc::Sender<Vec<String>>) -> Result<(), ConnectorError> {
        let mut batch = Vec::with_capacity(EMAIL_BATCH);
        self.client.post_stream("/emails", &serde_json::json!({}), |line: EmailLine| {
            let email = line.email.trim().to_lowercase();
            if !email.is_empty() {
                batch.push(email);
            }
            if batch.len() >= EMAIL_BATCH {
                send(tx, std::mem::take(&mut batch))?;
            }
            Ok(())
        })?;
        if !batch.is_empty() {
            send(tx, batch)?;
        }
        Ok(())
    }

    fn execute(&self, steps: &[Step], pseudonymiser: &Pseudonymiser) -> Result<Vec<StepOutcome>, ConnectorError> {
        let targets =
            steps.iter().map(|s| super::step_target(&self.info, s, "field")).collect::<Result<Vec<usize>, _>>()?;
        if steps.is_empty() {
            return Ok(Vec::new());
        }

        // Masks and pseudonyms are computed here, from the current values.
        fn computed(fields: &[(String, FieldWrite)]) -> Vec<&str> {
            fields
                .iter()
                .filter(|(_, w)| matches!(w, FieldWrite::Mask | FieldWrite::Hash))
                .map(|(f, _)| f.as_str())
                .collect()
        }
        let mut reads: Vec<(usize, ReadWhat<'_>)> = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            if let Change::Update(fields) = &step.change {
                let fields = computed(fields);
                if !fields.is_empty() {
                    reads.push((i, ReadWhat { collection: &step.collection, key: &step.key, fields }));
                }
            }
        }
        let mut current: HashMap<usize, Option<Values>> = HashMap::new();
        if !reads.is_empty() {
            let (indexes, records): (Vec<usize>, Vec<ReadWhat<'_>>) = reads.into_iter().unzip();
            let call = ReadCall { records };
            let answer: ReadAnswer = self.client.post_json("/read", &call)?;
            if answer.records.len() != call.records.len() {
                return Err(self.client.not_the_protocol(format!(
                    "its answer to /read holds {} records for {} asked",
                    answer.records.len(),
                    call.records.len()
                )));
            }
            for ((i, asked), got) in indexes.into_iter().zip(&call.records).zip(answer.records) {
                if got.found
                    && let Some(missing) = asked.fields.iter().find(|f| !got.values.contains_key(**f))
                {
                    return Err(self.client.not_the_protocol(format!(
                        "a record of collection {} in its answer to /read lacks field {missing} (null when empty)",
                        asked.collection
                    )));
                }
                current.insert(i, got.found.then_some(got.values));
            }
        }

        // Updates in step order, then deletes, later collections first (children before parents).
        let (mut deletes, updates): (Vec<usize>, Vec<usize>) =
            (0..steps.len()).partition(|&i| steps[i].change == Change::Delete);
        deletes.sort_by_key(|&i| std::cmp::Reverse(targets[i]));
        let mut outcomes: Vec<Option<StepOutcome>> = vec![None; steps.len()];
        let mut sent: Vec<usize> = Vec::new();
        let mut wire: Vec<WireStep<'_>> = Vec::new();
        for i in updates.into_iter().chain(deletes) {
            let step = &steps[i];
            let change = match &step.change {
                Change::Delete => WireChange::Delete(true),
                Change::Update(fields) => {
                    let now = match current.get(&i) {
                        // The record is gone: nothing to write.
                        Some(None) => {
                            outcomes[i] = Some(StepOutcome { found: false, after: None });
                            continue;
                        }
                        Some(Some(values)) => Some(values),
                        None => None,
                    };
                    let null = Value::Null;
                    WireChange::Update(
                        fields
                            .iter()
                            .map(|(field, write)| {
                                let was = now.and_then(|v| v.get(field)).unwrap_or(&null);
                                (field.clone(), pseudonymiser.apply(write, was))
                            })
                            .collect(),
                    )
                }
            };
            sent.push(i);
            wire.push(WireStep { collection: &step.collection, key: &step.key, change });
        }
        if wire.is_empty() {
            return Ok(outcomes.into_iter().map(|o| o.unwrap_or(StepOutcome { found: false, after: None })).collect());
        }
        let request = request_id(&wire);
        let answer: ExecuteAnswer = self.client.post_json("/execute", &ExecuteCall { request, steps: &wire })?;
        if answer.outcomes.len() != wire.len() {
            return Err(self.client.not_the_protocol(format!(
                "its answer to /execute holds {} outcomes for {} steps",
                answer.outcomes.len(),
                wire.len()
            )));
        }
        for ((i, sent_step), got) in sent.into_iter().zip(&wire).zip(answer.outcomes) {
            let mut after = got.after;
            if let (Change::Update(fields), WireChange::Update(written), Some(after)) =
                (&steps[i].change, &sent_step.change, after.as_mut())
            {
                // A computed value that does not read back as written is left out: the step is
                // then not reported as applied.
                for (field, write) in fields {
                    if matches!(write, FieldWrite::Mask | FieldWrite::Hash)
                        && !after.get(field).zip(written.get(field)).is_some_and(|(got, want)| same_value(got, want))
                    {
                        after.remove(field);
                    }
                }
            }
            outcomes[i] = Some(StepOutcome { found: got.found, after });
        }
        Ok(outcomes.into_iter().map(|o| o.unwrap_or(StepOutcome { found: false, after: None })).collect())
    }
}

/// The id of an `/execute` call: a hash of the steps sent, the same for a retry of the same steps.
fn request_id(steps: &[WireStep<'_>]) -> String {
    let bytes = serde_json::to_vec(steps).unwrap_or_default();
    let hash = Sha256::digest(&bytes);
    let hex: String = hash.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("dossier-{hex}")
}

#[async_trait::async_trait]
impl Connector for WebhookConnector {
    fn info(&self) -> &SourceInfo {
        &self.inner.info
    }

    /// Calls `/health`: the service answers with the token, speaks this protocol and serves every
    /// configured collection.
    async fn check(&self) -> Result<HealthReport, ConnectorError> {
        let inner = Arc::clone(&self.inner);
        blocking::run(&self.inner.info.name, move || inner.check()).await
    }

    async fn collect(&self, subject: &Subject, sink: &mut dyn RecordSink) -> Result<(), ConnectorError> {
        let inner = Arc::clone(&self.inner);
        let email = subject.email.as_str().to_string();
        blocking::collect(&self.inner.info.name, sink, move |tx| inner.collect(&email, tx)).await
    }

    async fn locate(&self, subject: &Subject) -> Result<Vec<Located>, ConnectorError> {
        let inner = Arc::clone(&self.inner);
        let email = subject.email.as_str().to_string();
        blocking::run(&self.inner.info.name, move || inner.locate(&email)).await
    }

    /// Resolves masks and pseudonyms through `/read`, then sends every step in one `/execute`
    /// (see the module documentation, "Changes").
    async fn execute(&self, steps: &[Step], pseudonymiser: &Pseudonymiser) -> Result<Vec<StepOutcome>, ConnectorError> {
        let inner = Arc::clone(&self.inner);
        let steps = steps.to_vec();
        let pseudonymiser = pseudonymiser.clone();
        blocking::run(&self.inner.info.name, move || inner.execute(&steps, &pseudonymiser)).await
    }

    /// Every address `/emails` lists, trimmed and lower-cased.
    async fn emails(&self, found: &mut (dyn for<'a> FnMut(&'a str) + Send)) -> Result<(), ConnectorError> {
        let inner = Arc::clone(&self.inner);
        blocking::emails(&self.inner.info.name, found, move |tx| inner.emails(tx)).await
    }
}

#[cfg(test)]
mod tests;
