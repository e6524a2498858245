//! The connector layer: every source of personal data sits behind [`Connector`].
//!
//! A connector describes itself (collections, fields and the GDPR Art. 15(1) information for each
//! collection) and finds every record that belongs to a subject, pushing them one by one into a
//! [`RecordSink`] so that nothing is held whole in memory. Later capabilities (erasure plans,
//! rectification, objection) extend the trait; the rest of Dossier only ever sees `dyn Connector`.

pub mod address;
mod blocking;
pub mod csv;
pub mod kit;
pub mod manual;
pub mod metadata;
pub mod purposes;
pub mod sql;
pub mod webhook;

use std::sync::Arc;

use serde::Deserialize;

use crate::domain::EmailAddress;
use crate::plans::anonymise::Pseudonymiser;
use crate::plans::{Change, Located, Step, StepOutcome};
pub use metadata::{Art15, CollectionInfo, LegalBasis, Recipient, SourceInfo, Text};

/// One record, as ordered field → JSON value (dates ISO 8601, decimals as strings, binary base64).
pub type Record = serde_json::Map<String, serde_json::Value>;

/// The person whose records are looked up. Only a verified identity ever reaches a connector.
#[derive(Debug, Clone)]
pub struct Subject {
    pub email: EmailAddress,
}

/// Where a connector pushes what it finds, collection by collection.
///
/// A connector calls `begin_collection` once per collection it has records for (never for an empty
/// one), then `record` for each of that collection's records, before moving to the next collection.
pub trait RecordSink: Send {
    fn begin_collection(&mut self, collection: &str, fields: &[String]) -> anyhow::Result<()>;
    fn record(&mut self, record: Record) -> anyhow::Result<()>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorErrorKind {
    /// The source could not be reached (network, refused connection, timeout). Worth retrying.
    Unreachable,
    /// The configuration does not match the source (missing table or column, bad credentials).
    Misconfigured,
    /// Anything else the source reported.
    Failed,
}

/// A failure described in words a privacy officer understands ("table llx_socpeople not found in
/// database crm"), with the technical cause kept for the logs.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConnectorError {
    pub kind: ConnectorErrorKind,
    pub message: String,
    #[source]
    pub cause: Option<anyhow::Error>,
}

impl ConnectorError {
    pub fn new(kind: ConnectorErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), cause: None }
    }

    pub fn with_cause(mut self, cause: impl Into<anyhow::Error>) -> Self {
        self.cause = Some(cause.into());
        self
    }
}

/// What `check` found: the source answers and every configured table and column exists.
#[derive(Debug, Clone, Default)]
pub struct HealthReport {
    /// Human-readable observations ("12,408 rows in contacts").
    pub notes: Vec<String>,
}

#[async_trait::async_trait]
pub trait Connector: Send + Sync {
    /// The source's name, collections and their Art. 15 information, as configured.
    fn info(&self) -> &SourceInfo;

    /// Connects and verifies that the configuration matches the source. Changes nothing.
    async fn check(&self) -> Result<HealthReport, ConnectorError>;

    /// Finds every record belonging to `subject` and pushes it into `sink`. Changes nothing.
    async fn collect(&self, subject: &Subject, sink: &mut dyn RecordSink) -> Result<(), ConnectorError>;

    /// Finds the subject's records in every collection that has [`Rules`](crate::plans::Rules)
    /// (through the same matching and references as `collect`), each with its key and the current
    /// values of [`Rules::needed_columns`](crate::plans::Rules::needed_columns), under their source
    /// names. Changes nothing. A source without rules locates nothing.
    async fn locate(&self, subject: &Subject) -> Result<Vec<Located>, ConnectorError> {
        let _ = subject;
        Ok(Vec::new())
    }

    /// Applies `steps` to the source in **one transaction**: all or nothing. Steps that delete run
    /// after the others, children before parents (reverse collection order), so references are
    /// removed before what they point to. Each step is idempotent (see [`crate::plans`]); the
    /// outcomes come back in the order of `steps`.
    async fn execute(&self, steps: &[Step], pseudonymiser: &Pseudonymiser) -> Result<Vec<StepOutcome>, ConnectorError> {
        let _ = (steps, pseudonymiser);
        Err(ConnectorError::new(
            ConnectorErrorKind::Misconfigured,
            format!("source {} cannot change its records; apply the changes by hand", self.info().name),
        ))
    }

    /// Calls `found` with every address held in the email columns of the source's root
    /// collections, normalised as matching compares them (trimmed, lower-cased). Used by
    /// `dossier connectors check --suppressed` to find people erased earlier and imported again.
    async fn emails(&self, found: &mut (dyn for<'a> FnMut(&'a str) + Send)) -> Result<(), ConnectorError> {
        let _ = found;
        Ok(())
    }

    /// A source handled by staff (`kind = "manual"`): what they are told to do. The jobs open a
    /// task for it instead of calling `collect` or `execute` (see [`crate::services::tasks`]).
    fn staff_task(&self) -> Option<&manual::StaffTask> {
        None
    }
}

/// A source as written in the configuration file, `[[sources]]`, tagged by `kind`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceConfig {
    Sql(sql::SqlSourceConfig),
    Csv(csv::CsvSourceConfig),
    Webhook(webhook::WebhookSourceConfig),
    Manual(manual::ManualSourceConfig),
}

impl SourceConfig {
    pub fn name(&self) -> &str {
        match self {
            SourceConfig::Sql(c) => &c.name,
            SourceConfig::Csv(c) => &c.name,
            SourceConfig::Webhook(c) => &c.name,
            SourceConfig::Manual(c) => &c.name,
        }
    }
}

/// The collection (index in `info.collections`) a step changes, after checking that the current
/// configuration still allows it: the step may have been planned under an older one. `field` is
/// what the source calls a field in messages (`column`, `field`).
pub(crate) fn step_target(info: &SourceInfo, step: &Step, field: &str) -> Result<usize, ConnectorError> {
    let src = &info.name;
    let refuse = |message: String| ConnectorError::new(ConnectorErrorKind::Misconfigured, message);
    let name = &step.collection;
    let i = info.collections.iter().position(|c| &c.name == name).ok_or_else(|| {
        refuse(format!(
            "source {src} has no collection {name}: the configuration changed since the plan was made; \
             make the plan again"
        ))
    })?;
    let rules = &info.collections[i].rules;
    let key = &rules.key;
    if key.is_empty() {
        return Err(refuse(format!(
            "collection {name} of source {src} has no `key`, so Dossier cannot change its records; \
             add the {field}s that identify one record, e.g. `key = [\"id\"]`"
        )));
    }
    if step.key.len() != key.len() || !key.iter().all(|k| step.key.contains_key(k)) {
        return Err(refuse(format!(
            "collection {name} of source {src}: the record to change is identified by other {field}s \
             than its `key` ({}): the configuration changed since the plan was made; make the plan again",
            key.join(", ")
        )));
    }
    if let Change::Update(fields) = &step.change {
        let allowed = rules.columns();
        for (n, (f, _)) in fields.iter().enumerate() {
            let ok =
                allowed.contains(&f.as_str()) && !key.contains(f) && fields[..n].iter().all(|(other, _)| other != f);
            if !ok {
                return Err(refuse(format!(
                    "collection {name} of source {src}: its rules do not allow changing {field} {f} \
                     (or the step names it twice); make the plan again"
                )));
            }
        }
        if fields.is_empty() {
            return Err(ConnectorError::new(
                ConnectorErrorKind::Failed,
                format!("a step for collection {name} of source {src} changes no {field}"),
            ));
        }
    }
    Ok(i)
}

pub use kit::ensure_nothing_changed_below_shared;

/// Builds the connectors for the configured sources. Connecting is lazy: a source that is down
/// at start does not stop Dossier; it fails (and is retried) when a request needs it.
pub fn build(sources: &[SourceConfig]) -> anyhow::Result<Vec<Arc<dyn Connector>>> {
    let connectors = sources
        .iter()
        .map(|s| match s {
            SourceConfig::Sql(c) => Ok(Arc::new(sql::SqlConnector::new(c.clone())?) as Arc<dyn Connector>),
            SourceConfig::Csv(c) => Ok(Arc::new(csv::CsvConnector::new(c.clone())?) as Arc<dyn Connector>),
            SourceConfig::Webhook(c) => Ok(Arc::new(webhook::WebhookConnector::new(c.clone())?) as Arc<dyn Connector>),
            SourceConfig::Manual(c) => Ok(Arc::new(manual::ManualConnector::new(c.clone())?) as Arc<dyn Connector>),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // GDPR Art. 21(3), 7(3): every marketing or consent-based collection, of every kind, can be
    // suppressed.
    for c in &connectors {
        purposes::check(c.info(), by_hand(c.as_ref()).as_deref())?;
    }
    Ok(connectors)
}

/// The purposes a manual source's staff apply by hand (`None` for the others).
pub fn by_hand(connector: &dyn Connector) -> Option<Vec<crate::plans::Purpose>> {
    connector.staff_task().map(|t| t.objections.iter().map(|o| o.purpose).collect())
}
