//! The application's shared state: what every handler and job needs, built once at start.

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::Settings;
use crate::connectors::Connector;
use crate::crypto::SecretKey;
use crate::deadlines::{Country, HolidayCalendar, Policy, Zone};
use crate::export::{ExportStorage, LocalDir};
use crate::mail::Mailer;
use crate::store::Store;

/// Keys derived from the configured secret, one per purpose.
pub struct Keys {
    /// Keyed hash of email addresses (find a person's requests and rate-limit them without the address).
    pub email: SecretKey,
    /// Keyed hash of verification codes.
    pub code: SecretKey,
    /// CSRF tokens.
    pub csrf: SecretKey,
    /// Encrypts exports and spools at rest.
    pub export: SecretKey,
    /// Pseudonyms written into sources by an erasure (`hash` anonymisation).
    pub pseudonym: SecretKey,
    /// MACs of the audit chain (see [`crate::store::audit`]).
    pub audit: crate::store::audit::ChainKey,
}

pub struct App {
    pub settings: Settings,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub connectors: Vec<Arc<dyn Connector>>,
    pub mailer: Mailer,
    pub keys: Keys,
    /// Where finished exports are kept, shared by every instance (see [`crate::export::storage`]).
    pub exports: Arc<dyn ExportStorage>,
    /// Where people reach Dossier (for links in emails), without a trailing slash.
    pub base_url: String,
    pub calendar: HolidayCalendar,
    pub zone: Zone,
    /// Woken when a job is queued, so an idle worker starts at once.
    pub jobs_ready: Notify,
    /// Every staff password hash and check runs here: bounded slots, reused buffers.
    pub passwords: crate::crypto::password::Passwords,
}

impl App {
    pub async fn new(settings: Settings, clock: Arc<dyn Clock>, base_url: String) -> anyhow::Result<Self> {
        let country: Country = settings
            .controller
            .country
            .parse()
            .map_err(|e: crate::deadlines::UnknownCountry| anyhow::anyhow!("controller.country: {e}"))?;
        let zone: Zone = settings
            .controller
            .timezone
            .parse()
            .map_err(|e: crate::deadlines::TimeZoneError| anyhow::anyhow!("controller.timezone: {e}"))?;
        // The current year and the next, where this year's requests fall due.
        if let Some(notice) = country.decree_notice(clock.now().year()) {
            tracing::warn!("{notice}");
        }
        // Folders that already exist keep their mode: say so when it lets other accounts in.
        crate::fsutil::warn_if_not_private(&settings.data_dir, "data directory");
        for dir in [&settings.data_dir, &settings.export_dir(), &settings.spool_dir()] {
            crate::fsutil::create_private_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        crate::fsutil::warn_if_not_private(&settings.export_dir(), "export directory");
        let store = Store::connect(&settings.database_url).await?;
        store.migrate().await?;
        let connectors = crate::connectors::build(&settings.sources)?;
        let mailer = Mailer::new(&settings.mail)?;
        let keys = Keys {
            email: settings.secret_key.derive("email-hash"),
            code: settings.secret_key.derive("verification-code"),
            csrf: settings.secret_key.derive("csrf"),
            export: settings.export_key.derive("exports-v1"),
            pseudonym: settings.secret_key.derive("pseudonym-v1"),
            audit: crate::store::audit::ChainKey::from_secret(&settings.secret_key),
        };
        // The SHA-256 chain of earlier versions, verified and resealed once; a broken one stops
        // the start with the first broken event named (docs/deployment.md).
        crate::store::audit::upgrade(&store, &keys.audit, &settings.audit_checkpoint(), clock.now_ms(), None).await?;
        let exports: Arc<dyn ExportStorage> = Arc::new(LocalDir::new(settings.export_dir()));
        Ok(Self {
            store,
            clock,
            connectors,
            mailer,
            keys,
            exports,
            base_url: base_url.trim_end_matches('/').to_owned(),
            calendar: HolidayCalendar::new(country),
            zone,
            jobs_ready: Notify::new(),
            passwords: crate::crypto::password::Passwords::for_this_machine(),
            settings,
        })
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn email_hash(&self, email: &crate::domain::EmailAddress) -> String {
        crate::crypto::keyed_hash(&self.keys.email, email.as_str().as_bytes())
    }

    /// The holiday calendar and time zone a policy's deadlines are counted in: the controller's
    /// own for its default policy, the policy's home country's for the others (a UK GDPR request
    /// counts UK bank holidays).
    pub fn clock_for(&self, policy: Policy) -> anyhow::Result<(HolidayCalendar, Zone)> {
        if policy == self.settings.jurisdiction {
            return Ok((self.calendar.clone(), self.zone));
        }
        let country = policy.default_country();
        let zone = country.default_time_zone().parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok((HolidayCalendar::new(country), zone))
    }

    /// Today's date where a request's deadline is counted (its policy's time zone), so "days
    /// left" and "overdue" agree with the due date stored for it.
    pub fn today_for(&self, jurisdiction: &str) -> anyhow::Result<time::Date> {
        let zone = match jurisdiction.parse::<Policy>() {
            Ok(policy) => self.clock_for(policy)?.1,
            Err(_) => self.zone,
        };
        zone.local_date(self.clock.now()).context("today's date")
    }

    pub fn connector(&self, name: &str) -> Option<&Arc<dyn Connector>> {
        self.connectors.iter().find(|c| c.info().name == name)
    }
}
