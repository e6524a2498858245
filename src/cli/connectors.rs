//! `dossier connectors …`: for connector authors.
//!
//! `dossier connectors check [--email E]` is a dry run: it validates each source's configuration,
//! connects, checks every configured table, file and column, and with `--email` shows what an
//! access request for that person would return (counts per collection and one sample record
//! each, values truncated). With `--suppressed`, it also looks in every source for the people
//! whose erasure Dossier completed (their addresses are kept only as keyed hashes): an address
//! found again means the person was imported again after their erasure. It only reads, and says
//! so.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::Value;

use super::Common;
use crate::config::Settings;
use crate::connectors::{Art15, Connector, Record, RecordSink, SourceConfig, Subject, sql};
use crate::domain::EmailAddress;

#[derive(Debug, Subcommand)]
pub enum ConnectorsCommand {
    /// Validate the configuration and connect to every source; with --email, show what an access
    /// request would return for that person. Changes nothing.
    Check {
        #[command(flatten)]
        common: Common,
        /// Show what an access request for this address would return: counts per collection and
        /// one sample record each (values truncated).
        #[arg(long, value_name = "EMAIL")]
        email: Option<String>,
        /// Also look for people erased earlier (GDPR Art. 17) who are back in a source; exits with
        /// status 1 when one is found.
        #[arg(long)]
        suppressed: bool,
    },
}

/// Longest value shown in a sample record, in characters.
pub const SAMPLE_VALUE_CHARS: usize = 40;
/// Most fields shown per sample record.
pub const SAMPLE_FIELDS: usize = 12;

pub async fn run(command: ConnectorsCommand, settings: Settings) -> anyhow::Result<ExitCode> {
    match command {
        ConnectorsCommand::Check { email, suppressed, .. } => {
            let subject = match email {
                Some(raw) => match EmailAddress::parse(&raw) {
                    Ok(email) => Some(Subject { email }),
                    Err(e) => anyhow::bail!("--email {raw:?}: {e}"),
                },
                None => None,
            };
            let checked = check(&settings.sources, subject.as_ref()).await;
            if !suppressed {
                return Ok(checked);
            }
            let found = check_suppressed(&settings).await?;
            Ok(if checked == ExitCode::SUCCESS && found == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}

/// Checks every source in turn, printing as it goes; `FAILURE` if any source failed.
pub async fn check(sources: &[SourceConfig], subject: Option<&Subject>) -> ExitCode {
    let plural = if sources.len() == 1 { "" } else { "s" };
    match subject {
        Some(s) => println!(
            "Checking {} source{plural}, and what an access request for {} would return.",
            sources.len(),
            s.email.as_str()
        ),
        None => println!("Checking {} source{plural}.", sources.len()),
    }
    let mut failed = 0usize;
    for source in sources {
        println!();
        if !check_source(source, subject).await {
            failed += 1;
        }
    }
    println!();
    match failed {
        0 => println!("All {} source{plural} answered.", sources.len()),
        n => println!("{n} of {} source{plural} failed.", sources.len()),
    }
    println!("Nothing was changed: this check only reads from the sources.");
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn kind(source: &SourceConfig) -> &'static str {
    match source {
        SourceConfig::Sql(_) => "sql",
        SourceConfig::Csv(_) => "csv",
        SourceConfig::Webhook(_) => "webhook",
        SourceConfig::Manual(_) => "manual",
    }
}

/// One source: `true` when it answered everything asked.
async fn check_source(source: &SourceConfig, subject: Option<&Subject>) -> bool {
    let title = format!("{} ({})", source.name(), kind(source));
    let connector = match crate::connectors::build(std::slice::from_ref(source)) {
        Ok(mut built) if built.len() == 1 => built.remove(0),
        Ok(_) => {
            println!("FAIL  {title}: the configuration did not give one connector");
            return false;
        }
        Err(e) => {
            println!("FAIL  {title}: the configuration is not valid: {e:#}");
            return false;
        }
    };
    let report = match connector.check().await {
        Ok(report) => report,
        Err(e) => {
            println!("FAIL  {title}: {e}");
            return false;
        }
    };
    println!("ok    {title}");
    for note in &report.notes {
        println!("      {note}");
    }
    for warning in metadata_warnings(connector.as_ref()) {
        println!("      warning: {warning}");
    }
    if let SourceConfig::Sql(config) = source {
        for warning in index_warnings(config).await {
            println!("      warning: {warning}");
        }
    }
    let Some(subject) = subject else { return true };
    if connector.staff_task().is_some() {
        // A manual source is never searched by Dossier: a request opens a task for staff.
        println!("      access for {}: searched by staff (a request opens a task for them)", subject.email.as_str());
        return true;
    }
    let mut preview = Preview::default();
    if let Err(e) = connector.collect(subject, &mut preview).await {
        println!("FAIL  {title}: collecting for {}: {e}", subject.email.as_str());
        return false;
    }
    println!("      access for {}:", subject.email.as_str());
    let info = connector.info();
    // Every declared collection, in order, with what was found (none for most of them, usually).
    let mut shown: Vec<&str> = Vec::new();
    for c in &info.collections {
        shown.push(&c.name);
        match preview.collections.iter().find(|p| p.name == c.name) {
            Some(p) => print_collection(p),
            None => println!("        {}: 0 records", c.name),
        }
    }
    for p in preview.collections.iter().filter(|p| !shown.contains(&p.name.as_str())) {
        print_collection(p);
    }
    true
}

fn print_collection(p: &Collected) {
    println!("        {}: {} record{}", p.name, p.count, if p.count == 1 { "" } else { "s" });
    if let Some(sample) = &p.sample {
        println!("          sample:");
        for (field, value) in sample.iter().take(SAMPLE_FIELDS) {
            println!("            {field}: {}", truncated(value));
        }
        if sample.len() > SAMPLE_FIELDS {
            println!("            … {} more fields", sample.len() - SAMPLE_FIELDS);
        }
    }
}

/// A value on one line, at most [`SAMPLE_VALUE_CHARS`] characters of it (`…` marks a cut).
fn truncated(value: &Value) -> String {
    let text = match value {
        Value::String(s) if s.chars().count() > SAMPLE_VALUE_CHARS => {
            let cut: String = s.chars().take(SAMPLE_VALUE_CHARS).collect();
            return format!("{}…", Value::String(cut));
        }
        other => other.to_string(),
    };
    if text.chars().count() > SAMPLE_VALUE_CHARS + 2 {
        let cut: String = text.chars().take(SAMPLE_VALUE_CHARS).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// What the person would be told about each collection (GDPR Art. 15(1)): what is missing.
fn metadata_warnings(connector: &dyn Connector) -> Vec<String> {
    let mut out = Vec::new();
    for c in &connector.info().collections {
        let a = &c.art15;
        if *a == Art15::default() {
            out.push(format!(
                "collection {} has no Art. 15 information (purposes, legal basis, categories, retention): \
                 the person's export and /privacy will say nothing about it",
                c.name
            ));
            continue;
        }
        let missing: Vec<&str> = [
            ("purposes", a.purposes.is_empty()),
            ("legal_basis", a.legal_basis.is_none()),
            ("categories", a.categories.is_empty()),
            ("retention", a.retention.is_none()),
        ]
        .into_iter()
        .filter_map(|(key, missing)| missing.then_some(key))
        .collect();
        if !missing.is_empty() {
            out.push(format!("collection {}: its Art. 15 information lacks {}", c.name, missing.join(", ")));
        }
    }
    out
}

/// Asks the database's own planner whether the search the connector runs for each email column
/// can use an index (see [`sql::SqlConnector::unindexed_email_columns`]), and says how to add one.
/// Problems reaching the database are already reported by `check`.
async fn index_warnings(config: &sql::SqlSourceConfig) -> Vec<String> {
    let Ok(connector) = sql::SqlConnector::new(config.clone()) else { return Vec::new() };
    let table = |collection: &str| {
        config.collections.iter().find(|c| c.name == collection).map_or(String::new(), |c| c.table.clone())
    };
    let Ok(unindexed) = connector.unindexed_email_columns().await else { return Vec::new() };
    let mut out: Vec<String> = unindexed
        .into_iter()
        .map(|(collection, column)| {
            let table = table(&collection);
            let fix = connector.index_advice(&collection, &column);
            format!(
                "collection {collection}: no index serves the email column {column} of table {table}, so every \
                 request reads the whole table; {fix}"
            )
        })
        .collect();
    // A reference (and its conditions) without an index reads the whole table for each request.
    if let Ok(references) = connector.unindexed_references().await {
        out.extend(references.into_iter().map(|(collection, column)| {
            let table = table(&collection);
            format!(
                "collection {collection}: no index serves the reference column {column} of table {table} (`via`), \
                 so every request reads the whole table; add one: CREATE INDEX {}_{column} ON {table} ({column}) \
                 (with a polymorphic reference, index the type column too: ({column}, <type column>))",
                table.replace('.', "_")
            )
        }));
    }
    out
}

/// What one collection returned: how many records, and the first.
#[derive(Debug)]
struct Collected {
    name: String,
    count: u64,
    sample: Option<Record>,
}

/// A sink that counts and keeps one sample per collection; everything else is dropped at once.
#[derive(Debug, Default)]
struct Preview {
    collections: Vec<Collected>,
}

impl RecordSink for Preview {
    fn begin_collection(&mut self, collection: &str, _fields: &[String]) -> anyhow::Result<()> {
        self.collections.push(Collected { name: collection.to_string(), count: 0, sample: None });
        Ok(())
    }

    fn record(&mut self, record: Record) -> anyhow::Result<()> {
        let Some(current) = self.collections.last_mut() else {
            anyhow::bail!("a record arrived before its collection");
        };
        current.count += 1;
        if current.sample.is_none() {
            current.sample = Some(record);
        }
        Ok(())
    }
}

impl ConnectorsCommand {
    pub fn common(&self) -> &Common {
        match self {
            ConnectorsCommand::Check { common, .. } => common,
        }
    }
}

/// Looks in every source for an address whose erasure was completed; prints each one found (the
/// address masked, with the erasure request's reference) and returns how many.
pub async fn check_suppressed(settings: &Settings) -> anyhow::Result<usize> {
    let store = crate::store::Store::connect(&settings.database_url).await?;
    let erased: std::collections::HashMap<String, String> = {
        let mut conn = store.conn().await?;
        crate::store::requests::erased_email_hashes(&mut conn).await?.into_iter().collect()
    };
    println!();
    match erased.len() {
        1 => println!("Looking for the 1 person erased earlier in every source."),
        n => println!("Looking for the {n} people erased earlier in every source."),
    }
    // The same key as the server's `Keys::email`, so the hashes compare.
    let key = settings.secret_key.derive("email-hash");
    let connectors = crate::connectors::build(&settings.sources)?;
    let mut total = 0usize;
    for connector in &connectors {
        let name = &connector.info().name;
        let mut found: Vec<(String, String)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let scanned = connector
            .emails(&mut |address: &str| {
                let hash = crate::crypto::keyed_hash(&key, address.as_bytes());
                if let Some(reference) = erased.get(&hash)
                    && seen.insert(hash.clone())
                {
                    found.push((crate::plans::anonymise::mask(address), reference.clone()));
                }
            })
            .await;
        match scanned {
            Err(e) => println!("FAIL  {name}: {e}"),
            Ok(()) if found.is_empty() => println!("ok    {name}: none of them is in this source"),
            Ok(()) => {
                println!(
                    "FOUND {name}: {} erased {} back in this source:",
                    found.len(),
                    if found.len() == 1 { "person is" } else { "people are" }
                );
                for (masked, reference) in &found {
                    println!("      {masked} (erased by request {reference})");
                }
                total += found.len();
            }
        }
    }
    if total > 0 {
        println!("Erase them again, and stop the import that brought them back.");
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_values_are_cut_on_one_line() {
        assert_eq!(truncated(&Value::from("Jeanne")), "\"Jeanne\"");
        assert_eq!(truncated(&Value::from(42)), "42");
        assert_eq!(truncated(&Value::Null), "null");
        assert_eq!(truncated(&Value::from("a\nb")), "\"a\\nb\"");
        let long = "é".repeat(50);
        assert_eq!(truncated(&Value::from(long)), format!("\"{}\"…", "é".repeat(SAMPLE_VALUE_CHARS)));
        let json = serde_json::json!({ "items": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16] });
        assert!(truncated(&json).ends_with('…'));
    }
}
