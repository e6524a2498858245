//! Settings: a TOML file (see `dossier.example.toml` and docs/configuration.md) with secrets
//! taken from the environment. With no file, `dossier serve` runs the demo.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::connectors::{SourceConfig, Text};
use crate::crypto::SecretKey;
use crate::deadlines::Policy;
use crate::domain::Locale;

/// The organisation answering requests, and the authority a person may complain to
/// (GDPR Art. 15(1)(f), Art. 77).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControllerInfo {
    pub name: String,
    #[serde(default)]
    pub address: Option<String>,
    /// Where people write about their data.
    pub contact_email: String,
    /// The data protection officer, when one is designated (Art. 37).
    #[serde(default)]
    pub dpo_email: Option<String>,
    /// ISO 3166 code of the controller's Member State: its public holidays count in deadlines.
    #[serde(default = "default_country")]
    pub country: String,
    /// IANA name of the controller's time zone: a request received at 23:30 local time is
    /// received that day.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// The last day of the controller's financial year, `MM-DD` (default `12-31`): retention
    /// periods with `count_from = "financial-year-end"` start there.
    #[serde(default)]
    pub financial_year_end: crate::plans::erasure::YearEnd,
    pub authority: Authority,
}

/// A supervisory authority (Art. 77); for France, the CNIL.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authority {
    pub name: Text,
    pub address: String,
    pub url: String,
}

impl Authority {
    /// The authority's web address when it is one a page may link to (`http(s)://`); any other
    /// text (a postal note, a `javascript:` URL) is shown as text, never as a link.
    pub fn link(&self) -> Option<&str> {
        let url = self.url.trim();
        let lower = url.to_ascii_lowercase();
        (lower.starts_with("https://") || lower.starts_with("http://")).then_some(url)
    }
}

fn default_country() -> String {
    "FR".into()
}
fn default_timezone() -> String {
    "Europe/Paris".into()
}

/// Everything Dossier needs to run, resolved from the file, the environment and the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// The address people reach Dossier at, used in email links. Defaults to `http://<listen>`.
    pub base_url: Option<String>,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// Demo mode: demo banner, `/dev/outbox`, insecure cookies on plain HTTP.
    pub demo: bool,
    pub default_locale: Locale,
    /// The deadline policy requests get by default (`eu-gdpr`).
    pub jurisdiction: Policy,
    /// The policies a person may choose from on the request form (the default among them); with
    /// one, the form asks nothing.
    pub policies: Vec<Policy>,
    pub controller: ControllerInfo,
    pub security: SecuritySettings,
    pub exports: ExportSettings,
    pub mail: MailSettings,
    pub jobs: JobSettings,
    pub rate_limits: RateLimitSettings,
    /// Deadline reminders to staff.
    pub reminders: ReminderSettings,
    /// Repeated requests (GDPR Art. 12(5)).
    pub requests: RequestSettings,
    /// The Prometheus endpoint for operators (off by default).
    pub metrics: MetricsSettings,
    pub sources: Vec<SourceConfig>,
    /// Keys for hashes, sessions and CSRF tokens (`DOSSIER_SECRET_KEY`).
    pub secret_key: SecretKey,
    /// Key that encrypts exports at rest (`DOSSIER_EXPORT_KEY`).
    pub export_key: SecretKey,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecuritySettings {
    /// How long a verification link and code stay valid.
    pub verification_ttl_minutes: i64,
    /// Wrong codes before a verification is locked.
    pub max_code_attempts: i64,
    /// How long a verified requester's session lasts.
    pub session_ttl_minutes: i64,
    /// Send cookies with `Secure`. Forced on outside demo mode unless explicitly disabled.
    pub cookie_secure: Option<bool>,
    /// Reverse proxies (addresses or networks, `10.0.0.0/8`) whose `proxy_header` names the
    /// client's address for per-IP rate limits. Empty (default): the TCP peer is the client and
    /// forwarding headers are ignored. See `net` and `web::proxy`.
    pub trusted_proxies: Vec<crate::net::Cidr>,
    /// The header those proxies write: `x-forwarded-for` (default) or `forwarded` (RFC 7239).
    pub proxy_header: crate::net::ProxyHeader,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        Self {
            verification_ttl_minutes: 30,
            max_code_attempts: 5,
            session_ttl_minutes: 60,
            cookie_secure: None,
            trusted_proxies: Vec::new(),
            proxy_header: Default::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportSettings {
    /// Days an export can be downloaded before it is deleted.
    pub retention_days: i64,
    /// Where encrypted exports are kept; default `<data_dir>/exports`.
    pub dir: Option<PathBuf>,
}

impl Default for ExportSettings {
    fn default() -> Self {
        Self { retention_days: 14, dir: None }
    }
}

#[derive(Debug, Clone)]
pub enum MailTransport {
    /// `smtp://host:25`, `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://host:465`.
    Smtp { url: String },
    /// `.eml` files in a folder, listed at `/dev/outbox` in demo mode.
    Outbox { dir: PathBuf },
}

#[derive(Debug, Clone)]
pub struct MailSettings {
    pub transport: MailTransport,
    pub from: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobSettings {
    /// Background workers in this process (0: this instance only serves pages).
    pub workers: usize,
    pub max_attempts: i32,
    /// How long a claimed job is reserved before another worker may take it over.
    pub lease_seconds: i64,
    /// First retry delay; each retry doubles it (with jitter).
    pub backoff_base_seconds: i64,
    pub poll_interval_ms: u64,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self { workers: 2, max_attempts: 5, lease_seconds: 300, backoff_base_seconds: 30, poll_interval_ms: 1000 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// New requests accepted from one IP address per hour.
    pub submissions_per_ip_per_hour: i64,
    /// Verification and sign-in emails sent to one address per hour, asked from one client
    /// network (IPv4 /24, IPv6 /64): first sends and resends together. Per network, so that a
    /// stranger's submissions never spend the person's own (see docs/security.md).
    pub emails_per_address_per_hour: i64,
    /// Ceiling on those emails to one address per day, whatever the networks; beyond it a network
    /// still gets its first email of the day for the address, with the link and no code.
    pub emails_per_address_per_day: i64,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self { submissions_per_ip_per_hour: 30, emails_per_address_per_hour: 5, emails_per_address_per_day: 20 }
    }
}

/// When staff are reminded of an open request's due date (see `jobs::reminders`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReminderSettings {
    /// Days before the due date at which the assignee (or, when unassigned, every admin and agent)
    /// is reminded, once each; `0` is the due day itself. Empty: no reminder before the due date.
    pub days_before: Vec<u32>,
    /// Also remind once when the request becomes overdue.
    pub overdue: bool,
}

impl Default for ReminderSettings {
    fn default() -> Self {
        Self { days_before: vec![7, 3, 1], overdue: true }
    }
}

/// `[metrics]`: the Prometheus text endpoint `/metrics` (see docs/deployment.md). Off by default.
/// On a separate `listen` address (kept off the public network by the operator) a bearer token is
/// optional; on the public address it is mandatory.
#[derive(Clone, Default)]
pub struct MetricsSettings {
    pub enabled: bool,
    /// Serve `/metrics`, `/health` and `/ready` on this address instead of the public one.
    pub listen: Option<SocketAddr>,
    /// The bearer token scrapers must send (`Authorization: Bearer …`), read from `token_env`.
    pub token: Option<secrecy::SecretString>,
}

/// The token is a secret: `Debug` shows only whether one is set.
impl fmt::Debug for MetricsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsSettings")
            .field("enabled", &self.enabled)
            .field("listen", &self.listen)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileMetrics {
    enabled: bool,
    listen: Option<SocketAddr>,
    /// The environment variable holding the bearer token.
    token_env: Option<String>,
}

impl FileMetrics {
    fn resolve(self) -> anyhow::Result<MetricsSettings> {
        let token = match &self.token_env {
            None => None,
            Some(var) => Some(env(var).with_context(|| {
                format!("metrics.token_env names the environment variable {var}, which is not set")
            })?),
        };
        if let Some(t) = &token {
            anyhow::ensure!(
                t.trim().len() >= 16,
                "the metrics token (metrics.token_env) must be at least 16 characters"
            );
        }
        if self.enabled && self.listen.is_none() && token.is_none() {
            bail!(
                "metrics on the public address need a token: set metrics.token_env to an environment variable \
                 holding one, or serve them on a separate address with metrics.listen"
            );
        }
        Ok(MetricsSettings { enabled: self.enabled, listen: self.listen, token: token.map(Into::into) })
    }
}

/// How repeated requests by one person are shown to staff (GDPR Art. 12(5): a manifestly
/// excessive request, "in particular because of its repetitive character", may be refused, and the
/// controller must be able to prove it).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestSettings {
    /// Other requests by the same person received within this many days are listed on a request's
    /// page, with a warning.
    pub repeat_window_days: i64,
    /// A closed request's personal data (address, the person's statement, proposed values, notes,
    /// emails) is purged this many days after it closed; its register row and audit trail stay.
    pub personal_data_days: i64,
    /// The deadline rules resolved from the file's `[deadlines]` and `[authorities.<policy>]`
    /// sections (not keys of `[requests]`).
    #[serde(skip)]
    pub deadlines: DeadlineSettings,
}

impl Default for RequestSettings {
    fn default() -> Self {
        // CCPA §7101: records of requests kept at least 24 months.
        Self { repeat_window_days: 365, personal_data_days: 730, deadlines: DeadlineSettings::default() }
    }
}

/// Per-jurisdiction deadline rules: extra closure days, when the clock starts and what pauses it,
/// and the supervisory authority a person may complain to (see docs/deadlines.md).
#[derive(Debug, Clone)]
pub struct DeadlineSettings {
    /// Extra public holidays, each scoped to the calendar it belongs to: `[deadlines]
    /// closure_days` to the controller's own calendar (its country, in which its default
    /// `jurisdiction` is counted), `[deadlines.clock.<policy>] closure_days` to the calendar that
    /// policy is counted in. Regulation 1182/71 Art. 3(4) and the ICO count only the holidays of
    /// the relevant country, so a day never moves another country's dates.
    pub closure_days: Vec<crate::deadlines::ExtraClosure>,
    /// `[deadlines.clock.<policy>]`; a policy not listed has [`ClockPolicy::default_for`].
    pub clocks: std::collections::BTreeMap<&'static str, crate::deadlines::ClockPolicy>,
    /// `[authorities.<policy>]`; a policy not listed falls back to `[controller.authority]`.
    pub authorities: std::collections::BTreeMap<&'static str, Authority>,
}

impl Default for DeadlineSettings {
    /// No closure day, the lawful default clocks, and the one supervisory authority of the
    /// jurisdictions that have a single one (UK GDPR: the ICO; CCPA: the California Privacy
    /// Protection Agency; LGPD: the ANPD). The EU GDPR's depends on the Member State: the
    /// controller's `[controller.authority]`.
    fn default() -> Self {
        let authorities = [(Policy::UkGdpr, ico()), (Policy::Ccpa, cppa()), (Policy::Lgpd, anpd())]
            .into_iter()
            .map(|(p, a)| (p.code(), a))
            .collect();
        Self { closure_days: Vec::new(), clocks: Default::default(), authorities }
    }
}

impl DeadlineSettings {
    pub fn clock(&self, policy: Policy) -> crate::deadlines::ClockPolicy {
        self.clocks.get(policy.code()).copied().unwrap_or_else(|| crate::deadlines::ClockPolicy::default_for(policy))
    }
}

/// `[deadlines]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDeadlines {
    #[serde(default)]
    closure_days: Vec<String>,
    #[serde(default)]
    clock: std::collections::BTreeMap<String, FileClock>,
}

/// `[deadlines.clock.<policy>]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileClock {
    /// `receipt` or `verification`.
    start: Option<String>,
    /// `identity`, `clarification`; absent: the policy's default.
    pauses: Option<Vec<String>>,
    /// Extra public holidays of the calendar this policy is counted in.
    #[serde(default)]
    closure_days: Vec<String>,
}

/// The country whose calendar `policy` is counted in: the controller's for its default
/// `jurisdiction`, the policy's home country's for the others (as `App::clock_for` counts).
fn calendar_country(
    policy: Policy,
    jurisdiction: Policy,
    controller_country: &str,
) -> anyhow::Result<crate::deadlines::Country> {
    if policy != jurisdiction {
        return Ok(policy.default_country());
    }
    controller_country.parse().map_err(|e: crate::deadlines::UnknownCountry| anyhow::anyhow!("controller.country: {e}"))
}

fn resolve_deadlines(
    file: FileDeadlines,
    authorities: std::collections::BTreeMap<String, Authority>,
    jurisdiction: Policy,
    controller_country: &str,
) -> anyhow::Result<DeadlineSettings> {
    use crate::deadlines::{ClockPolicy, ClockStart, ExtraClosure, PauseReason};
    let mut resolved = DeadlineSettings::default();
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let dates = |days: &[String], key: &str| -> anyhow::Result<Vec<time::Date>> {
        days.iter()
            .map(|day| {
                time::Date::parse(day.trim(), format)
                    .map_err(|_| anyhow::anyhow!("{key}: {day:?} is not a date such as 2026-12-24"))
            })
            .collect()
    };
    let top = dates(&file.closure_days, "deadlines.closure_days")?;
    if !top.is_empty() {
        // The controller's own calendar: the one its default jurisdiction is counted in.
        let country = calendar_country(jurisdiction, jurisdiction, controller_country)?;
        resolved.closure_days.extend(top.into_iter().map(|d| ExtraClosure::of(country, d)));
    }
    let policy = |code: &str, key: &str| -> anyhow::Result<Policy> {
        code.parse()
            .map_err(|_| anyhow::anyhow!("{key}.{code}: unknown deadline policy (known: eu-gdpr, uk-gdpr, ccpa, lgpd)"))
    };
    for (code, clock) in file.clock {
        let p = policy(&code, "deadlines.clock")?;
        let days = dates(&clock.closure_days, &format!("deadlines.clock.{code}.closure_days"))?;
        if !days.is_empty() {
            let country = calendar_country(p, jurisdiction, controller_country)?;
            resolved.closure_days.extend(days.into_iter().map(|d| ExtraClosure::of(country, d)));
        }
        if clock.start.is_none() && clock.pauses.is_none() {
            continue; // only closure days: the policy keeps its default clock
        }
        let default = ClockPolicy::default_for(p);
        let start = match &clock.start {
            Some(s) => s.parse::<ClockStart>().map_err(|e| anyhow::anyhow!("deadlines.clock.{code}.start: {e}"))?,
            None => default.start(),
        };
        let pauses = match &clock.pauses {
            Some(reasons) => reasons
                .iter()
                .map(|r| r.parse::<PauseReason>().map_err(|e| anyhow::anyhow!("deadlines.clock.{code}.pauses: {e}")))
                .collect::<anyhow::Result<Vec<_>>>()?,
            None => [PauseReason::Identity, PauseReason::Clarification]
                .into_iter()
                .filter(|r| default.pauses_for(*r))
                .collect(),
        };
        let built = ClockPolicy::new(p, start, &pauses).map_err(|e| anyhow::anyhow!("deadlines.clock.{code}: {e}"))?;
        resolved.clocks.insert(p.code(), built);
    }
    for (code, authority) in authorities {
        resolved.authorities.insert(policy(&code, "authorities")?.code(), authority);
    }
    Ok(resolved)
}

/// The configuration file as written. Every key is documented in docs/configuration.md.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<SocketAddr>,
    base_url: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    #[serde(default)]
    demo: bool,
    default_locale: Option<String>,
    jurisdiction: Option<String>,
    policies: Option<Vec<String>>,
    controller: ControllerInfo,
    #[serde(default)]
    security: SecuritySettings,
    #[serde(default)]
    exports: ExportSettings,
    mail: FileMail,
    #[serde(default)]
    jobs: JobSettings,
    #[serde(default)]
    rate_limits: RateLimitSettings,
    #[serde(default)]
    reminders: ReminderSettings,
    #[serde(default)]
    requests: RequestSettings,
    #[serde(default)]
    deadlines: FileDeadlines,
    #[serde(default)]
    authorities: std::collections::BTreeMap<String, Authority>,
    #[serde(default)]
    metrics: FileMetrics,
    #[serde(default)]
    sources: Vec<SourceConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMail {
    /// `smtp` or `outbox`.
    transport: String,
    from: String,
    /// For `smtp`; better given as `DOSSIER_SMTP_URL`.
    smtp_url: Option<String>,
    /// For `outbox`; default `<data_dir>/outbox`.
    outbox_dir: Option<PathBuf>,
}

/// What the command line may override.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
}

/// The demo's privacy officer (an admin); its password is printed at every demo start.
pub const DEMO_STAFF_EMAIL: &str = "dpo@exemple.test";

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./dossier-data";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_key(name: &str) -> anyhow::Result<Option<SecretKey>> {
    env(name)
        .map(|v| {
            SecretKey::from_base64(&v)
                .with_context(|| format!("{name} is not a valid key (32 bytes, base64; `dossier keygen` makes one)"))
        })
        .transpose()
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

impl Settings {
    /// Reads `path`, then the environment (`DOSSIER_DATABASE_URL`, `DOSSIER_SMTP_URL`,
    /// `DOSSIER_SECRET_KEY`, `DOSSIER_EXPORT_KEY`, `DOSSIER_BASE_URL`), then the command line.
    pub fn from_file(path: &Path, overrides: &Overrides) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        let file: FileSettings =
            toml::from_str(&text).with_context(|| format!("the configuration file {} is not valid", path.display()))?;
        let base_url = env("DOSSIER_BASE_URL").or(file.base_url);
        if !file.demo && base_url.is_none() {
            bail!("set base_url (or DOSSIER_BASE_URL): the address people reach Dossier at, used in email links");
        }
        let data_dir = overrides.data_dir.clone().or(file.data_dir).unwrap_or_else(|| DEFAULT_DATA_DIR.into());
        let database_url = env("DOSSIER_DATABASE_URL")
            .or(file.database_url)
            .unwrap_or_else(|| sqlite_url(&data_dir.join("dossier.db")));
        let transport = match file.mail.transport.as_str() {
            "smtp" => MailTransport::Smtp {
                url: env("DOSSIER_SMTP_URL")
                    .or(file.mail.smtp_url)
                    .context("mail.transport is smtp: set DOSSIER_SMTP_URL (or mail.smtp_url)")?,
            },
            "outbox" => MailTransport::Outbox { dir: file.mail.outbox_dir.unwrap_or_else(|| data_dir.join("outbox")) },
            other => bail!("mail.transport must be \"smtp\" or \"outbox\", not {other:?}"),
        };
        let (secret_key, export_key) = if file.demo {
            demo_keys(&data_dir)?
        } else {
            (
                env_key("DOSSIER_SECRET_KEY")?
                    .context("set DOSSIER_SECRET_KEY (32 bytes in base64; `dossier keygen` prints one)")?,
                env_key("DOSSIER_EXPORT_KEY")?
                    .context("set DOSSIER_EXPORT_KEY (32 bytes in base64; `dossier keygen` prints one)")?,
            )
        };
        let default_locale = match file.default_locale.as_deref() {
            None => Locale::Fr,
            Some(tag) => Locale::from_tag(tag)
                .with_context(|| format!("default_locale must be \"en\" or \"fr\", not {tag:?}"))?,
        };
        let listen = overrides.listen.or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default"));
        let parse_policy = |code: &str| -> anyhow::Result<Policy> {
            code.parse().map_err(|_| {
                let known: Vec<&str> = Policy::ALL.iter().map(|p| p.code()).collect();
                anyhow::anyhow!("unknown deadline policy {code:?} (known: {})", known.join(", "))
            })
        };
        let jurisdiction = parse_policy(file.jurisdiction.as_deref().unwrap_or("eu-gdpr"))?;
        let policies = match &file.policies {
            Some(codes) => codes.iter().map(|c| parse_policy(c)).collect::<anyhow::Result<Vec<_>>>()?,
            None => vec![jurisdiction],
        };
        let mut requests = file.requests;
        requests.deadlines =
            resolve_deadlines(file.deadlines, file.authorities, jurisdiction, &file.controller.country)?;
        let settings = Settings {
            listen,
            base_url,
            data_dir,
            database_url,
            demo: file.demo,
            default_locale,
            jurisdiction,
            policies,
            controller: file.controller,
            security: file.security,
            exports: file.exports,
            mail: MailSettings { transport, from: file.mail.from },
            jobs: file.jobs,
            rate_limits: file.rate_limits,
            reminders: file.reminders,
            requests,
            metrics: file.metrics.resolve()?,
            sources: file.sources,
            secret_key,
            export_key,
        };
        settings.validate()?;
        Ok(settings)
    }

    /// The demo: no file, everything under the data directory, demo CRM sources (SQL, CSV, and
    /// the events platform over the webhook protocol, started here on a free loopback port).
    pub async fn demo(overrides: &Overrides) -> anyhow::Result<Self> {
        let listen = overrides.listen.unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default"));
        demo_listen_check(listen)?;
        let data_dir = overrides.data_dir.clone().unwrap_or_else(|| DEFAULT_DATA_DIR.into());
        crate::fsutil::create_private_dir_all(&data_dir)
            .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
        let (secret_key, export_key) = demo_keys(&data_dir)?;
        let demo_dir = data_dir.join("demo-crm");
        crate::demo::create_demo_crm(&demo_dir).await?;
        let mut sources = crate::demo::demo_sources(&demo_dir)?;
        // The webhook kind: the events platform, served in-process for the life of the process.
        sources.push(crate::demo::events::start_demo(&demo_dir).await?);
        // The manual kind: a paper archive searched by staff through tasks.
        sources.push(crate::demo::paper_archive_source()?);
        Ok(Settings {
            listen,
            base_url: None,
            database_url: sqlite_url(&data_dir.join("dossier.db")),
            demo: true,
            default_locale: Locale::Fr,
            jurisdiction: Policy::EuGdpr,
            // The demo shows the choice a multi-jurisdiction operator offers.
            policies: Policy::ALL.to_vec(),
            controller: demo_controller(),
            security: SecuritySettings { cookie_secure: Some(false), ..Default::default() },
            exports: ExportSettings::default(),
            mail: MailSettings {
                transport: MailTransport::Outbox { dir: data_dir.join("outbox") },
                from: "Exemple SAS — Vos données <privacy@exemple.test>".into(),
            },
            jobs: JobSettings { poll_interval_ms: 250, ..Default::default() },
            rate_limits: RateLimitSettings::default(),
            reminders: ReminderSettings::default(),
            requests: RequestSettings::default(),
            // On the public address, with a token made at every start and printed with the login.
            metrics: MetricsSettings {
                enabled: true,
                listen: None,
                token: Some(crate::crypto::random_token(24).into()),
            },
            sources,
            secret_key,
            export_key,
            data_dir,
        })
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.demo {
            demo_listen_check(self.listen)?;
        }
        if let Some(url) = &self.base_url
            && !(url.starts_with("https://") || (url.starts_with("http://") && !self.cookie_secure()))
        {
            bail!("base_url must start with https:// (or http:// with security.cookie_secure = false), not {url:?}");
        }
        let at_least_one = [
            ("security.session_ttl_minutes", self.security.session_ttl_minutes),
            ("jobs.max_attempts", self.jobs.max_attempts as i64),
            ("jobs.lease_seconds", self.jobs.lease_seconds),
            ("jobs.backoff_base_seconds", self.jobs.backoff_base_seconds),
            ("rate_limits.submissions_per_ip_per_hour", self.rate_limits.submissions_per_ip_per_hour),
            ("rate_limits.emails_per_address_per_hour", self.rate_limits.emails_per_address_per_hour),
            ("rate_limits.emails_per_address_per_day", self.rate_limits.emails_per_address_per_day),
        ];
        if let Some((name, _)) = at_least_one.iter().find(|(_, v)| *v < 1) {
            bail!("{name} must be at least 1");
        }
        if !self.policies.contains(&self.jurisdiction) {
            bail!("policies must include the default jurisdiction {:?}", self.jurisdiction.code());
        }
        if self.security.verification_ttl_minutes < 1 || self.security.max_code_attempts < 1 {
            bail!("security.verification_ttl_minutes and security.max_code_attempts must be at least 1");
        }
        if !(1..=3650).contains(&self.exports.retention_days) {
            bail!("exports.retention_days must be between 1 and 3650");
        }
        if !(1..=3660).contains(&self.requests.repeat_window_days) {
            bail!("requests.repeat_window_days must be between 1 and 3660");
        }
        if !(1..=3660).contains(&self.requests.personal_data_days) {
            bail!("requests.personal_data_days must be between 1 and 3660");
        }
        if self.reminders.days_before.iter().any(|&d| d > 366) {
            bail!("reminders.days_before must hold days between 0 and 366");
        }
        let mut names = std::collections::HashSet::new();
        for s in &self.sources {
            if !names.insert(s.name()) {
                bail!("two sources are named {:?}; source names must be unique", s.name());
            }
        }
        Ok(())
    }

    pub fn export_dir(&self) -> PathBuf {
        self.exports.dir.clone().unwrap_or_else(|| self.data_dir.join("exports"))
    }

    /// Where the audit chain's end is anchored (see [`crate::store::audit::Checkpoint`]).
    pub fn audit_checkpoint(&self) -> PathBuf {
        crate::store::audit::Checkpoint::path(&self.data_dir)
    }

    pub fn spool_dir(&self) -> PathBuf {
        self.data_dir.join("spool")
    }

    pub fn cookie_secure(&self) -> bool {
        self.security.cookie_secure.unwrap_or(!self.demo)
    }

    /// The supervisory authority a person whose request falls under `policy` may complain to
    /// (GDPR Art. 77; `[authorities.<policy>]`, else `[controller.authority]`).
    pub fn authority_for(&self, policy: Policy) -> &Authority {
        self.requests.deadlines.authorities.get(policy.code()).unwrap_or(&self.controller.authority)
    }

    /// [`Settings::authority_for`] a request's stored jurisdiction code.
    pub fn authority_for_code(&self, jurisdiction: &str) -> &Authority {
        match jurisdiction.parse::<Policy>() {
            Ok(policy) => self.authority_for(policy),
            Err(_) => &self.controller.authority,
        }
    }
}

/// The demo shows every email, links and codes included, at `/dev/outbox`: it must only be
/// reachable from this machine.
fn demo_listen_check(listen: SocketAddr) -> anyhow::Result<()> {
    if !listen.ip().is_loopback() {
        bail!(
            "the demo shows every email it sends, verification links included, at /dev/outbox: it only listens on \
             a loopback address (127.0.0.1 or ::1), not {listen}. Use a configuration file to serve real requests."
        );
    }
    Ok(())
}

/// Demo and `demo = true` keep generated keys in the data directory (never in a real deployment).
fn demo_keys(data_dir: &Path) -> anyhow::Result<(SecretKey, SecretKey)> {
    let keys = data_dir.join("keys");
    crate::fsutil::create_private_dir_all(&keys).with_context(|| format!("cannot create {}", keys.display()))?;
    Ok((
        match env_key("DOSSIER_SECRET_KEY")? {
            Some(k) => k,
            None => SecretKey::load_or_create(&keys.join("secret.key"))?,
        },
        match env_key("DOSSIER_EXPORT_KEY")? {
            Some(k) => k,
            None => SecretKey::load_or_create(&keys.join("export.key"))?,
        },
    ))
}

/// The demo is a French controller (EU GDPR, French holidays, Europe/Paris, the CNIL).
pub fn demo_controller() -> ControllerInfo {
    ControllerInfo {
        name: "Exemple SAS".into(),
        address: Some("12 rue de l'Exemple, 75011 Paris, France".into()),
        contact_email: "privacy@exemple.test".into(),
        dpo_email: Some("dpo@exemple.test".into()),
        country: "FR".into(),
        timezone: "Europe/Paris".into(),
        financial_year_end: crate::plans::erasure::YearEnd::DECEMBER_31,
        authority: cnil(),
    }
}

/// The UK's supervisory authority (UK GDPR Art. 77, Data Protection Act 2018 s. 165).
pub fn ico() -> Authority {
    Authority {
        name: Text::Localized {
            en: "Information Commissioner's Office (ICO)".into(),
            fr: Some("Information Commissioner's Office (ICO, autorité britannique)".into()),
        },
        address: "Wycliffe House, Water Lane, Wilmslow, Cheshire SK9 5AF, United Kingdom".into(),
        url: "https://ico.org.uk/make-a-complaint/".into(),
    }
}

/// California's (Cal. Civ. Code 1798.199.10; complaints under 1798.199.45).
pub fn cppa() -> Authority {
    Authority {
        name: Text::Localized {
            en: "California Privacy Protection Agency".into(),
            fr: Some("California Privacy Protection Agency (autorité californienne)".into()),
        },
        address: "2101 Arena Blvd, Sacramento, CA 95834, United States".into(),
        url: "https://cppa.ca.gov/webapplications/complaint".into(),
    }
}

/// Brazil's (LGPD Art. 55-J, V: complaints of data subjects).
pub fn anpd() -> Authority {
    Authority {
        name: Text::Localized {
            en: "ANPD (Autoridade Nacional de Proteção de Dados)".into(),
            fr: Some("ANPD (Autoridade Nacional de Proteção de Dados, autorité brésilienne)".into()),
        },
        address: "SCN Quadra 6, Conjunto A, Edifício Venâncio 3000, Brasília – DF, 70716-900, Brazil".into(),
        url: "https://www.gov.br/anpd/pt-br/canais_atendimento/cidadao-titular-de-dados".into(),
    }
}

pub fn cnil() -> Authority {
    Authority {
        name: Text::Localized {
            en: "CNIL (Commission nationale de l'informatique et des libertés)".into(),
            fr: Some("CNIL (Commission nationale de l'informatique et des libertés)".into()),
        },
        address: "3 place de Fontenoy, TSA 80715, 75334 Paris Cedex 07, France".into(),
        url: "https://www.cnil.fr/fr/plaintes".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod proptests {
        use proptest::prelude::*;

        use super::*;

        const EXAMPLE: &str = include_str!("../dossier.example.toml");

        proptest! {
            /// The example configuration with any stretch of it replaced by anything: read or
            /// refused with a message, never a panic (every value type's own parser included:
            /// addresses, networks, policies, dates, sources).
            #[test]
            fn any_edit_of_a_configuration_is_read_or_refused(at in any::<prop::sample::Index>(), len in 0usize..40, text in "\\PC{0,30}|[0-9a-z./:\\[\\]\" =-]{0,30}") {
                let start = EXAMPLE.floor_char_boundary(at.index(EXAMPLE.len()));
                let end = EXAMPLE.floor_char_boundary((start + len).min(EXAMPLE.len()));
                let edited = format!("{}{text}{}", &EXAMPLE[..start], &EXAMPLE[end..]);
                if let Err(e) = toml::from_str::<FileSettings>(&edited) {
                    prop_assert!(!e.to_string().trim().is_empty());
                }
            }
        }
    }

    /// The shipped example is a valid configuration (secrets aside, which come from the environment).
    #[test]
    fn example_configuration_parses() {
        let file: FileSettings = toml::from_str(include_str!("../dossier.example.toml")).expect("dossier.example.toml");
        assert_eq!(file.sources.len(), 1);
        assert_eq!(file.controller.country, "FR");
        assert_eq!((file.reminders.days_before, file.reminders.overdue), (vec![7, 3, 1], true));
    }

    #[tokio::test]
    async fn the_demo_refuses_to_listen_beyond_this_machine() {
        let dir = std::env::temp_dir().join(format!("dossier-demo-{}", crate::crypto::new_id()));
        let overrides = Overrides { listen: Some("0.0.0.0:8080".parse().unwrap()), data_dir: Some(dir.clone()) };
        let err = Settings::demo(&overrides).await.unwrap_err().to_string();
        assert!(err.contains("loopback"), "{err}");
        assert!(!dir.exists(), "nothing was created");
    }

    #[test]
    fn a_real_configuration_needs_its_public_address() {
        let dir = std::env::temp_dir().join(format!("dossier-cfg-{}", crate::crypto::new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = include_str!("../dossier.example.toml").replace("base_url = \"https://privacy.example.com\"", "");
        let path = dir.join("dossier.toml");
        std::fs::write(&path, text).unwrap();
        let err = Settings::from_file(&path, &Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("base_url"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn deadline_rules_are_read_and_checked_at_start() {
        let file = |extra: &str| -> anyhow::Result<DeadlineSettings> {
            let f: FileSettings = toml::from_str(&format!("{}\n{extra}", include_str!("../dossier.example.toml")))?;
            resolve_deadlines(f.deadlines, f.authorities, Policy::EuGdpr, &f.controller.country)
        };
        let ok = file(
            "[deadlines]\nclosure_days = [\"2026-12-24\"]\n[deadlines.clock.eu-gdpr]\npauses = [\"clarification\"]\n\
             closure_days = [\"2026-05-14\"]\n\
             [deadlines.clock.uk-gdpr]\nclosure_days = [\"2026-06-01\"]\n\
             [authorities.eu-gdpr]\nname = \"APD\"\naddress = \"Bruxelles\"\nurl = \"https://apd.example\"\n",
        )
        .unwrap();
        // 1182/71 Art. 3(4): each day belongs to one calendar — the top-level list to the
        // controller's (France, counting its default eu-gdpr), a policy's to that policy's.
        use crate::deadlines::{Country, ExtraClosure};
        assert_eq!(
            ok.closure_days,
            [
                ExtraClosure::of(Country::France, time::macros::date!(2026 - 12 - 24)),
                ExtraClosure::of(Country::France, time::macros::date!(2026 - 05 - 14)),
                ExtraClosure::of(Country::UnitedKingdomEnglandWales, time::macros::date!(2026 - 06 - 01)),
            ]
        );
        // A section with closure days only keeps the policy's default clock.
        assert!(ok.clock(Policy::UkGdpr).pauses_for(crate::deadlines::PauseReason::Clarification));
        assert!(ok.clock(Policy::EuGdpr).pauses_for(crate::deadlines::PauseReason::Clarification));
        assert!(!ok.clock(Policy::Lgpd).pauses_for(crate::deadlines::PauseReason::Clarification));
        assert_eq!(ok.authorities["eu-gdpr"].url, "https://apd.example");
        assert_eq!(ok.authorities["uk-gdpr"].url, ico().url, "the built-in ICO stays");
        for (extra, says) in [
            ("[deadlines]\nclosure_days = [\"2026-02-30\"]\n", "2026-02-30"),
            ("[deadlines]\nclosure_days = [\"24/12/2026\"]\n", "24/12/2026"),
            ("[deadlines.clock.lgpd]\nclosure_days = [\"2026-13-01\"]\n", "deadlines.clock.lgpd.closure_days"),
            ("[deadlines.clock.ccpa]\npauses = [\"identity\"]\n", "never pauses"),
            ("[deadlines.clock.ccpa]\nstart = \"verification\"\n", "receipt"),
            ("[deadlines.clock.eu-gdpr]\npauses = [\"fee\"]\n", "fee"),
            ("[deadlines.clock.gdpr]\n", "gdpr"),
        ] {
            let err = format!("{:#}", file(extra).unwrap_err());
            assert!(err.contains(says), "{extra}: {err}");
        }
    }

    #[test]
    fn trusted_proxies_parse_and_a_bad_entry_stops_the_start_with_its_reason() {
        let ok: SecuritySettings = toml::from_str(
            "trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\", \"fd00::/8\"]\nproxy_header = \"forwarded\"",
        )
        .unwrap();
        assert_eq!(ok.trusted_proxies.len(), 3);
        assert_eq!(ok.proxy_header, crate::net::ProxyHeader::Forwarded);
        assert!(SecuritySettings::default().trusted_proxies.is_empty(), "no proxy is trusted by default");
        let dir = std::env::temp_dir().join(format!("dossier-cfg-{}", crate::crypto::new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dossier.toml");
        for (entry, says) in [
            ("trusted_proxies = [\"10.0.0.1/8\"]", "did you mean \"10.0.0.0/8\""),
            ("trusted_proxies = [\"proxy.local\"]", "not an IP address"),
            ("proxy_header = \"x-real-ip\"", "x-forwarded-for"),
        ] {
            let text =
                include_str!("../dossier.example.toml").replace("[security]\n", &format!("[security]\n{entry}\n"));
            std::fs::write(&path, text).unwrap();
            let err = format!("{:#}", Settings::from_file(&path, &Overrides::default()).unwrap_err());
            // The error quotes the line and says what is wrong with it.
            assert!(err.contains(says) && err.contains(entry), "{entry}: {err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let err = toml::from_str::<FileSettings>("listn = '127.0.0.1:1'\n").unwrap_err().to_string();
        assert!(err.contains("listn"), "{err}");
    }
}
