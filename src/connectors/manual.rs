//! The manual connector: a system nobody can automate (a paper archive, an old tool without an
//! export). Dossier never reads or writes it. It declares, like every source, the collections it
//! may hold and their GDPR Art. 15(1) information, plus instructions for staff; when a request
//! reaches it, a **task for staff** is opened instead of a search or a write
//! (see [`crate::services::tasks`]):
//!
//! - access and portability: staff search it and upload what they found (the files go into the
//!   export), or confirm there is nothing;
//! - erasure, rectification and objection: the plan holds one item saying staff act by hand; at
//!   execution a task asks staff to confirm it was done (or that nothing was found).
//!
//! ```toml
//! [[sources]]
//! kind = "manual"
//! name = "archives"
//! label = { en = "Paper archive", fr = "Archives papier" }
//! instructions = { en = "Search the archive room under the person's name…", fr = "…" }
//! [[sources.collections]]
//! name = "paper_files"
//! [sources.collections.art15]
//! purposes = ["…"]
//! ```

use serde::Deserialize;

use super::{
    Art15, CollectionInfo, Connector, ConnectorError, ConnectorErrorKind, HealthReport, RecordSink, SourceInfo,
    Subject, Text,
};
use crate::domain::{Locale, RequestKind};
use crate::plans::{Purpose, Rules};

/// Largest file staff may upload for one task when `max_file_mb` is not set.
pub const DEFAULT_MAX_FILE_MB: u64 = 25;

/// `[[sources]]` with `kind = "manual"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualSourceConfig {
    pub name: String,
    #[serde(default)]
    pub label: Option<Text>,
    /// What staff do for an access or portability request ("search the paper archive under the
    /// person's name, scan what you find and upload it").
    pub instructions: Text,
    /// What staff do for an erasure ("find and destroy the paper file"). Default: a generic
    /// sentence from the catalog.
    #[serde(default)]
    pub erasure_instructions: Option<Text>,
    /// What staff do for a rectification.
    #[serde(default)]
    pub rectification_instructions: Option<Text>,
    /// What staff do for an objection.
    #[serde(default)]
    pub objection_instructions: Option<Text>,
    /// Largest file staff may upload, in MiB (default 25, at most 1024).
    #[serde(default)]
    pub max_file_mb: Option<u64>,
    /// Purposes a person may object to for this source; staff apply the suppression by hand.
    #[serde(default)]
    pub objections: Vec<ManualObjection>,
    /// What the source may hold: at least one collection, each with its Art. 15 information.
    #[serde(default)]
    pub collections: Vec<ManualCollectionConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualCollectionConfig {
    pub name: String,
    #[serde(default)]
    pub label: Option<Text>,
    #[serde(default)]
    pub art15: Art15,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ManualObjection {
    pub purpose: Purpose,
    #[serde(default)]
    pub label: Option<Text>,
}

/// What staff are told to do, per right, and the limits of what they may upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffTask {
    pub instructions: Text,
    pub erasure: Option<Text>,
    pub rectification: Option<Text>,
    pub objection: Option<Text>,
    pub max_file_bytes: u64,
    pub objections: Vec<ManualObjection>,
}

impl StaffTask {
    /// The configured instructions for a request of `kind`, if any (else the caller uses the
    /// catalog's generic sentence).
    pub fn instructions_for(&self, kind: RequestKind) -> Option<&Text> {
        match kind {
            RequestKind::Access | RequestKind::Portability => Some(&self.instructions),
            RequestKind::Erasure => self.erasure.as_ref(),
            RequestKind::Rectification => self.rectification.as_ref(),
            RequestKind::Objection => self.objection.as_ref(),
        }
    }

    /// The instructions in `locale`, or `fallback` when none is configured for `kind`.
    pub fn text_for(&self, kind: RequestKind, locale: Locale, fallback: &str) -> String {
        self.instructions_for(kind)
            .map(|t| t.get(locale).to_owned())
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| fallback.to_owned())
    }
}

pub struct ManualConnector {
    info: SourceInfo,
    task: StaffTask,
}

impl ManualConnector {
    pub fn new(config: ManualSourceConfig) -> anyhow::Result<Self> {
        let source = &config.name;
        anyhow::ensure!(!source.trim().is_empty(), "a manual source needs a `name`");
        anyhow::ensure!(
            !config.collections.is_empty(),
            "source `{source}`: a manual source declares what it may hold: add at least one \
             `[[sources.collections]]` with its `art15` information"
        );
        anyhow::ensure!(
            !config.instructions.get(Locale::En).trim().is_empty(),
            "source `{source}`: `instructions` tells staff what to search and how; it cannot be empty"
        );
        let mb = config.max_file_mb.unwrap_or(DEFAULT_MAX_FILE_MB);
        anyhow::ensure!((1..=1024).contains(&mb), "source `{source}`: `max_file_mb` must be between 1 and 1024");
        let mut collections: Vec<CollectionInfo> = Vec::new();
        for c in &config.collections {
            let name = c.name.trim();
            anyhow::ensure!(!name.is_empty(), "source `{source}`: a collection has an empty `name`");
            anyhow::ensure!(
                collections.iter().all(|o| o.name != name),
                "source `{source}`: two collections are named `{name}`"
            );
            collections.push(CollectionInfo {
                name: name.to_owned(),
                label: c.label.clone().unwrap_or_else(|| Text::Plain(name.to_owned())),
                art15: c.art15.clone(),
                rules: Rules::default(),
            });
        }
        let mut purposes = std::collections::BTreeSet::new();
        for o in &config.objections {
            anyhow::ensure!(
                purposes.insert(o.purpose),
                "source `{source}`: the objection purpose `{}` is listed twice",
                o.purpose.as_str()
            );
        }
        Ok(Self {
            info: SourceInfo {
                name: source.clone(),
                label: config.label.clone().unwrap_or_else(|| Text::Plain(source.clone())),
                kind: "manual",
                collections,
            },
            task: StaffTask {
                instructions: config.instructions,
                erasure: config.erasure_instructions,
                rectification: config.rectification_instructions,
                objection: config.objection_instructions,
                max_file_bytes: mb * 1024 * 1024,
                objections: config.objections,
            },
        })
    }
}

fn by_staff(source: &str) -> ConnectorError {
    ConnectorError::new(
        ConnectorErrorKind::Misconfigured,
        format!("source {source} is handled by staff (a manual source): Dossier opens a task instead of searching it"),
    )
}

#[async_trait::async_trait]
impl Connector for ManualConnector {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn staff_task(&self) -> Option<&StaffTask> {
        Some(&self.task)
    }

    /// Nothing to connect to: the report says so.
    async fn check(&self) -> Result<HealthReport, ConnectorError> {
        Ok(HealthReport {
            notes: vec![format!(
                "handled by staff (manual source): no connection to test; a request opens a task \
                 (uploads up to {} MiB per file)",
                self.task.max_file_bytes / (1024 * 1024)
            )],
        })
    }

    /// Never called by the jobs (they open a task instead); refuses rather than pretending the
    /// source is empty.
    async fn collect(&self, _subject: &Subject, _sink: &mut dyn RecordSink) -> Result<(), ConnectorError> {
        Err(by_staff(&self.info.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> anyhow::Result<ManualConnector> {
        let config: super::super::SourceConfig = toml::from_str(toml_text)?;
        let super::super::SourceConfig::Manual(c) = config else { anyhow::bail!("not a manual source") };
        ManualConnector::new(c)
    }

    const OK: &str = r#"
kind = "manual"
name = "archives"
label = { en = "Paper archive", fr = "Archives papier" }
instructions = { en = "Search the archive", fr = "Cherchez dans les archives" }
erasure_instructions = { en = "Destroy the paper file", fr = "Détruisez le dossier papier" }
max_file_mb = 2
objections = [{ purpose = "direct-marketing" }]
[[collections]]
name = "paper_files"
label = { en = "Paper files", fr = "Dossiers papier" }
[collections.art15]
purposes = [{ en = "Contracts", fr = "Contrats" }]
"#;

    #[test]
    fn a_manual_source_declares_its_collections_and_instructions() {
        let c = parse(OK).unwrap();
        assert_eq!(c.info().kind, "manual");
        assert_eq!(c.info().collections[0].name, "paper_files");
        assert_eq!(c.info().collections[0].art15.purposes[0].get(Locale::Fr), "Contrats");
        let task = c.staff_task().unwrap();
        assert_eq!(task.max_file_bytes, 2 * 1024 * 1024);
        assert_eq!(task.text_for(RequestKind::Access, Locale::Fr, "x"), "Cherchez dans les archives");
        assert_eq!(task.text_for(RequestKind::Erasure, Locale::En, "x"), "Destroy the paper file");
        assert_eq!(task.text_for(RequestKind::Rectification, Locale::En, "generic"), "generic");
        assert_eq!(task.objections[0].purpose, Purpose::DirectMarketing);
    }

    #[test]
    fn bad_manual_sources_are_refused_with_what_to_fix() {
        let no_collection = OK.split("[[collections]]").next().unwrap();
        let err = parse(no_collection).err().unwrap().to_string();
        assert!(err.contains("at least one"), "{err}");
        let err = parse(&OK.replace("max_file_mb = 2", "max_file_mb = 0")).err().unwrap().to_string();
        assert!(err.contains("max_file_mb"), "{err}");
        let err = parse(&OK.replace("max_file_mb = 2", "url = 'x'")).err().unwrap().to_string();
        assert!(err.contains("url"), "{err}");
    }

    #[tokio::test]
    async fn collecting_is_refused_and_check_says_staff_handle_it() {
        let c = parse(OK).unwrap();
        let report = c.check().await.unwrap();
        assert!(report.notes[0].contains("handled by staff"), "{:?}", report.notes);
        assert!(
            c.locate(&Subject { email: crate::domain::EmailAddress::parse("a@example.org").unwrap() })
                .await
                .unwrap()
                .is_empty()
        );
    }
}
