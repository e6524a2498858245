//! The demo: `dossier serve` without a configuration file runs against the sources of a fictional
//! office-supplies shop, one of each connector kind, so a newcomer can follow a request end to end.
//!
//! - [`create_demo_crm`] writes `crm.db` (companies, contacts, orders, order lines, interactions,
//!   quote requests)
//!   and `newsletter.db` (subscribers, campaign opens and clicks), two SQLite databases, and
//!   `fidelite/`, the CSV export of an old loyalty programme (`;`, Windows-1252, a note over two
//!   lines, one broken row), into a folder, once.
//! - [`events`] is the webhook source: `events.db` and an in-process service speaking
//!   `dossier-connector/1` over it, started by `Settings::demo` (not part of [`demo_sources`]).
//! - [`demo_sources`] returns their `[[sources]]` configuration, parsed from `sources.toml` by the
//!   same deserializer as an operator's own file: the demo is configured like a real CRM.
//! - [`DEMO_PEOPLE`] lists the addresses worth trying.
//!
//! All people are fictional; addresses use the reserved `example.*` domains.

pub mod events;
mod loyalty;
mod seed;

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;
use sqlx::{Connection, Executor};

use crate::connectors::SourceConfig;

pub use loyalty::{LOYALTY_DIR, MEMBERS_FILE, POINTS_FILE};
pub use seed::SplitMix64;

/// The people the demo is built around: (email, what the demo shows with it).
pub const DEMO_PEOPLE: &[(&str, &str)] = &[
    (
        "jeanne.martin@example.fr",
        "Jeanne Martin, manager of a Paris bookshop: two contact records (one found through the \
         secondary email column), her company, 4 orders with 7 lines, 4 interactions (one note \
         holds <script> text, which pages must escape), 2 quote requests (one sent as `Jeanne \
         Martin <…>`, one from her bookshop's mailbox with her in a `;` copy list), a newsletter subscription stored as \
         `JEANNE.MARTIN@example.fr  ` (other case, trailing spaces) with 5 opens and clicks, and \
         in the old loyalty-programme CSV export two member rows (the second with her address in \
         capitals and a note over two lines) with 5 points movements, and on the events platform \
         (the webhook source) an attendee record with a dietary requirement and 3 registrations",
    ),
    (
        "jeanne.martin@example.com",
        "Another Jeanne Martin (Lyon): a near-duplicate address that must never be mixed with the \
         first one",
    ),
    ("jeanne.martin2@example.fr", "A third person with a look-alike address; unsubscribed from the newsletter"),
    (
        "oliver.smith@example.co.uk",
        "Oliver Smith, Manchester: an English-speaking customer with orders in GBP, an interaction, \
         newsletter activity, and a trade-fair badge on the events platform (address stored with a \
         leading space and capitals)",
    ),
    ("paul.durand@example.fr", "Jeanne's colleague at the same company: shares her company record, nothing else"),
    ("nobody@example.org", "An address no source knows: the answer says so"),
];

/// The files [`create_demo_crm`] writes.
pub const CRM_FILE: &str = "crm.db";
pub const NEWSLETTER_FILE: &str = "newsletter.db";

const SOURCES_TEMPLATE: &str = include_str!("sources.toml");
/// The demo folder inside an `sqlite://` URL.
const DIR_PLACEHOLDER: &str = "{{DEMO_DIR}}";
/// The demo folder as a plain path (the CSV source's `dir`).
const PATH_PLACEHOLDER: &str = "{{DEMO_PATH}}";

/// Creates the demo databases and the CSV export in `dir` (created if needed) unless they are
/// already there.
///
/// Async because it writes through sqlx. Each file (and the CSV folder) is written under a
/// temporary name and renamed into place once complete, so an interrupted start never leaves a
/// half-filled demo behind; an existing one is left untouched. The content is the same on every
/// run (fixed seed).
pub async fn create_demo_crm(dir: &Path) -> anyhow::Result<()> {
    crate::fsutil::create_private_dir_all_async(dir)
        .await
        .with_context(|| format!("cannot create the demo folder {}", dir.display()))?;
    let crm = dir.join(CRM_FILE);
    let newsletter = dir.join(NEWSLETTER_FILE);
    if !(crm.exists() && newsletter.exists()) {
        create_databases(dir).await?;
    } else {
        upgrade_old_demo_crm(&crm).await?;
    }
    loyalty::write(dir).await
}

/// Gives a demo CRM created before the quote requests, the contacts' survey and restriction
/// markers or the messages existed their tables and rows (or columns), so that its configuration
/// (`sources.toml`) finds them; a CRM that has them all is not touched.
async fn upgrade_old_demo_crm(crm: &Path) -> anyhow::Result<()> {
    // Looked at read-only first: a demo that has everything is not even opened for writing.
    let options = |read_only: bool| {
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(crm)
            .read_only(read_only)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Delete)
    };
    let mut conn = sqlx::SqliteConnection::connect_with(&options(true))
        .await
        .with_context(|| format!("cannot open {}", crm.display()))?;
    let quotes = seed::has_quote_requests(&mut conn).await?;
    let markers = seed::has_contact_markers(&mut conn).await?;
    let messages = seed::has_messages(&mut conn).await?;
    conn.close().await?;
    if quotes && markers && messages {
        return Ok(());
    }
    let mut conn = sqlx::SqliteConnection::connect_with(&options(false))
        .await
        .with_context(|| format!("cannot open {}", crm.display()))?;
    let mut tx = conn.begin().await?;
    if !quotes {
        tx.execute(sqlx::raw_sql(seed::QUOTE_REQUESTS_SCHEMA)).await.context("adding the demo quote requests")?;
        seed::quote_requests(&mut tx).await.context("adding the demo quote requests")?;
    }
    if !markers {
        tx.execute(sqlx::raw_sql(seed::CONTACT_MARKERS)).await.context("adding the demo contacts' markers")?;
    }
    if !messages {
        tx.execute(sqlx::raw_sql(seed::MESSAGES_SCHEMA)).await.context("adding the demo messages")?;
        seed::messages(&mut tx).await.context("adding the demo messages")?;
    }
    tx.commit().await?;
    conn.close().await?;
    Ok(())
}

async fn create_databases(dir: &Path) -> anyhow::Result<()> {
    let crm = dir.join(CRM_FILE);
    let newsletter = dir.join(NEWSLETTER_FILE);
    let pid = std::process::id();
    let crm_tmp = dir.join(format!("{CRM_FILE}.{pid}.tmp"));
    let newsletter_tmp = dir.join(format!("{NEWSLETTER_FILE}.{pid}.tmp"));
    for f in [&crm_tmp, &newsletter_tmp] {
        remove_if_present(f).await?;
    }

    // Private files (see crate::fsutil): SQLite would create them with the umask's mode.
    for f in [&crm_tmp, &newsletter_tmp] {
        crate::fsutil::create_private_file_if_missing(f).with_context(|| format!("cannot create {}", f.display()))?;
    }
    let open = |path: &Path| {
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Delete)
    };
    let mut crm_conn = sqlx::SqliteConnection::connect_with(&open(&crm_tmp))
        .await
        .with_context(|| format!("cannot create {}", crm_tmp.display()))?;
    let mut newsletter_conn = sqlx::SqliteConnection::connect_with(&open(&newsletter_tmp))
        .await
        .with_context(|| format!("cannot create {}", newsletter_tmp.display()))?;
    crm_conn.execute(sqlx::raw_sql(seed::CRM_SCHEMA)).await.context("creating the demo CRM tables")?;
    crm_conn.execute(sqlx::raw_sql(seed::QUOTE_REQUESTS_SCHEMA)).await.context("creating the demo CRM tables")?;
    crm_conn.execute(sqlx::raw_sql(seed::MESSAGES_SCHEMA)).await.context("creating the demo CRM tables")?;
    newsletter_conn
        .execute(sqlx::raw_sql(seed::NEWSLETTER_SCHEMA))
        .await
        .context("creating the demo newsletter tables")?;
    {
        let mut crm_tx = crm_conn.begin().await?;
        let mut newsletter_tx = newsletter_conn.begin().await?;
        seed::fill(&mut crm_tx, &mut newsletter_tx).await.context("filling the demo databases")?;
        crm_tx.commit().await?;
        newsletter_tx.commit().await?;
    }
    crm_conn.close().await?;
    newsletter_conn.close().await?;

    for (tmp, path) in [(&crm_tmp, &crm), (&newsletter_tmp, &newsletter)] {
        if path.exists() {
            // Another process finished first; keep its copy.
            remove_if_present(tmp).await?;
        } else {
            tokio::fs::rename(tmp, path)
                .await
                .with_context(|| format!("cannot move the demo database to {}", path.display()))?;
        }
    }
    Ok(())
}

async fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

/// The demo's `[[sources]]`, pointing at the databases in `dir`, parsed with the same
/// deserializer as a user's configuration (`SourceConfig`).
pub fn demo_sources(dir: &Path) -> anyhow::Result<Vec<SourceConfig>> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sources {
        sources: Vec<SourceConfig>,
    }
    let dir = dir.to_str().with_context(|| format!("the demo folder {} is not valid UTF-8", dir.display()))?;
    let dir = dir.trim_end_matches('/');
    // The folder goes into an `sqlite://` URL (percent-decoded by the driver) inside a TOML basic
    // string: encode what either would misread. As a plain path, only TOML needs escaping.
    let mut escaped = String::with_capacity(dir.len());
    let mut path = String::with_capacity(dir.len());
    for c in dir.chars() {
        match c {
            '%' => escaped.push_str("%25"),
            '?' => escaped.push_str("%3F"),
            '#' => escaped.push_str("%23"),
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            c if c.is_control() => {
                anyhow::bail!("the demo folder path contains a control character")
            }
            c => escaped.push(c),
        }
        match c {
            '\\' => path.push_str("\\\\"),
            '"' => path.push_str("\\\""),
            c => path.push(c),
        }
    }
    let text = SOURCES_TEMPLATE.replace(DIR_PLACEHOLDER, &escaped).replace(PATH_PLACEHOLDER, &path);
    let parsed: Sources = toml::from_str(&text).context("the demo sources template is not valid")?;
    Ok(parsed.sources)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use serde_json::Value;

    use super::*;
    use crate::connectors::{Record, RecordSink, Subject, build};
    use crate::domain::EmailAddress;

    /// Keeps every record a connector hands over, per collection (also used by the demo events
    /// service's tests).
    #[derive(Default)]
    pub(crate) struct Sink {
        current: String,
        pub(crate) records: BTreeMap<String, Vec<Record>>,
    }

    impl RecordSink for Sink {
        fn begin_collection(&mut self, collection: &str, _fields: &[String]) -> anyhow::Result<()> {
            assert!(!self.records.contains_key(collection), "{collection} begun twice");
            self.current = collection.to_string();
            self.records.insert(collection.to_string(), Vec::new());
            Ok(())
        }
        fn record(&mut self, record: Record) -> anyhow::Result<()> {
            self.records.entry(self.current.clone()).or_default().push(record);
            Ok(())
        }
    }

    struct TempDir(PathBuf);
    impl TempDir {
        fn new() -> Self {
            let p = std::env::temp_dir().join(format!("dossier_demo_{:016x}", rand::random::<u64>()));
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Collects `email` from every demo source: "source/collection" → records.
    async fn collect_all(dir: &Path, email: &str) -> BTreeMap<String, Vec<Record>> {
        let connectors = build(&demo_sources(dir).unwrap()).unwrap();
        let subject = Subject { email: EmailAddress::parse(email).unwrap() };
        let mut out = BTreeMap::new();
        for c in connectors {
            let mut sink = Sink::default();
            c.collect(&subject, &mut sink).await.unwrap();
            for (collection, records) in sink.records {
                out.insert(format!("{}/{collection}", c.info().name), records);
            }
        }
        out
    }

    fn counts(found: &BTreeMap<String, Vec<Record>>) -> Vec<(&str, usize)> {
        found.iter().map(|(k, v)| (k.as_str(), v.len())).collect()
    }

    #[tokio::test]
    async fn jeanne_martin_gets_exactly_her_records() {
        let dir = TempDir::new();
        create_demo_crm(&dir.0).await.unwrap();
        let found = collect_all(&dir.0, "  Jeanne.Martin@EXAMPLE.fr").await;
        assert_eq!(
            counts(&found),
            [
                ("crm/companies", 1),
                ("crm/contacts", 2),
                ("crm/interactions", 4),
                ("crm/messages", 4),
                ("crm/order_lines", 7),
                ("crm/orders", 4),
                ("crm/quote_requests", 2),
                ("loyalty/members", 2),
                ("loyalty/points", 5),
                ("newsletter/campaign_events", 5),
                ("newsletter/subscribers", 1),
            ]
        );
        let all = serde_json::to_string(&found).unwrap();
        for other in ["jeanne.martin@example.com", "jeanne.martin2@example.fr", "paul.durand@example.fr", "Paul"] {
            assert!(!all.contains(other), "{other} leaked into Jeanne's data");
        }
        assert_eq!(found["newsletter/subscribers"][0]["email"], Value::from("JEANNE.MARTIN@example.fr  "));
        assert_eq!(found["crm/companies"][0]["name"], Value::from("Librairie du Marais SARL"));
        // An address inside `Name <…>` and inside a `;` copy list; not the look-alikes.
        let quotes: Vec<&str> = found["crm/quote_requests"].iter().map(|q| q["subject"].as_str().unwrap()).collect();
        assert_eq!(quotes, ["Devis : 40 exemplaires, rentrée littéraire", "Devis : commande de Noël"]);
        // A polymorphic reference: her messages on her contacts and her order, and the one she
        // wrote (two paths) once; not the brasserie's, on company 2 (= her old contact's id).
        let mut messages: Vec<&str> = found["crm/messages"].iter().map(|m| m["body"].as_str().unwrap()).collect();
        messages.sort_unstable();
        assert_eq!(
            messages,
            [
                "Could you send me the invoice for order CMD-2023-00001 again?",
                "Delivery delayed by the carrier; customer informed by phone.",
                "Old personal account, kept for its 2019 order.",
                "Prefers deliveries on Tuesday mornings.",
            ]
        );
        assert!(all.contains("<script>alert(1)</script>"), "the escaping test case is present");
        let mut totals: Vec<&str> = found["crm/orders"].iter().map(|o| o["total"].as_str().unwrap()).collect();
        totals.sort_unstable();
        assert_eq!(totals, ["129.50", "394.70", "529.50", "549.00"]);
        let mut flags: Vec<bool> = found["crm/contacts"].iter().map(|c| c["no_marketing"].as_bool().unwrap()).collect();
        flags.sort_unstable();
        assert_eq!(flags, [false, true], "BOOLEAN columns read as booleans");
        // The CSV export: decoded from Windows-1252, renamed columns, the note over two lines.
        let members = &found["loyalty/members"];
        assert_eq!(members[0]["first_name"], Value::from("Jeanne"));
        assert_eq!(members[1]["email"], Value::from("JEANNE.Martin@Example.FR"));
        assert_eq!(members[0]["note"], Value::Null);
        assert_eq!(
            members[1]["note"],
            Value::from(
                "Carte 70001 perdue le 05/09/2019 ; nouvelle carte émise.\nPoints transférés (voir mouvements)."
            )
        );
        let points: Vec<&str> = found["loyalty/points"].iter().map(|p| p["points"].as_str().unwrap()).collect();
        assert_eq!(points, ["45", "130", "-175", "175", "-100"]);
    }

    #[tokio::test]
    async fn the_other_demo_people_are_found_and_the_unknown_one_is_not() {
        let dir = TempDir::new();
        create_demo_crm(&dir.0).await.unwrap();
        let oliver = collect_all(&dir.0, "oliver.smith@example.co.uk").await;
        assert_eq!(
            counts(&oliver),
            [
                ("crm/companies", 1),
                ("crm/contacts", 1),
                ("crm/interactions", 1),
                ("crm/order_lines", 3),
                ("crm/orders", 2),
                ("crm/quote_requests", 1),
                ("newsletter/campaign_events", 2),
                ("newsletter/subscribers", 1),
            ]
        );
        let other = collect_all(&dir.0, "jeanne.martin@example.com").await;
        assert_eq!(other["crm/contacts"].len(), 1);
        assert_eq!(other["crm/contacts"][0]["company_id"], Value::from(2));
        assert_eq!(other["crm/quote_requests"].len(), 1, "the quoted display name `\"Martin, Jeanne\"`");
        assert_eq!(other["crm/quote_requests"][0]["subject"], Value::from("Devis : présentoir"));
        let paul = collect_all(&dir.0, "paul.durand@example.fr").await;
        // Paul: his company, his contact, and the message on his contact record.
        assert_eq!(counts(&paul), [("crm/companies", 1), ("crm/contacts", 1), ("crm/messages", 1)]);
        // The brasserie's message is on company 2, not on any contact: nobody's export holds it.
        assert!(!other.contains_key("crm/messages"));
        assert!(collect_all(&dir.0, "nobody@example.org").await.is_empty());
        for (email, _) in DEMO_PEOPLE {
            assert!(EmailAddress::parse(email).is_ok());
        }
    }

    #[tokio::test]
    async fn the_demo_is_deterministic_checked_and_created_once() {
        let (a, b) = (TempDir::new(), TempDir::new());
        create_demo_crm(&a.0).await.unwrap();
        create_demo_crm(&b.0).await.unwrap();
        let crm = std::fs::read(a.0.join(CRM_FILE)).unwrap();
        assert_eq!(crm, std::fs::read(b.0.join(CRM_FILE)).unwrap(), "same seed, same bytes");
        let newsletter = std::fs::read(a.0.join(NEWSLETTER_FILE)).unwrap();
        assert_eq!(newsletter, std::fs::read(b.0.join(NEWSLETTER_FILE)).unwrap());
        let members = std::fs::read(a.0.join(LOYALTY_DIR).join(MEMBERS_FILE)).unwrap();
        assert_eq!(members, std::fs::read(b.0.join(LOYALTY_DIR).join(MEMBERS_FILE)).unwrap());
        assert!(members.windows(4).any(|w| w == b"No\xebl"), "written in Windows-1252");
        // A second call leaves the files alone.
        create_demo_crm(&a.0).await.unwrap();
        assert_eq!(crm, std::fs::read(a.0.join(CRM_FILE)).unwrap());
        let leftovers: Vec<_> = std::fs::read_dir(&a.0).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers.len(), 3, "{leftovers:?}");
        // A demo folder from before the CSV source gets it added.
        std::fs::remove_dir_all(a.0.join(LOYALTY_DIR)).unwrap();
        create_demo_crm(&a.0).await.unwrap();
        assert_eq!(members, std::fs::read(a.0.join(LOYALTY_DIR).join(MEMBERS_FILE)).unwrap());
        assert_eq!(crm, std::fs::read(a.0.join(CRM_FILE)).unwrap());
        // A demo CRM from before the quote requests gets them added, with the same rows.
        let before = collect_all(&a.0, "jeanne.martin@example.fr").await;
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(a.0.join(CRM_FILE));
        let mut conn = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
        conn.execute(sqlx::raw_sql("DROP TABLE quote_requests")).await.unwrap();
        conn.close().await.unwrap();
        create_demo_crm(&a.0).await.unwrap();
        assert_eq!(collect_all(&a.0, "jeanne.martin@example.fr").await, before);
        // One from before the contacts' survey and restriction markers gets the columns back, empty.
        let mut conn = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
        conn.execute(sqlx::raw_sql(
            "ALTER TABLE contacts DROP COLUMN no_surveys; ALTER TABLE contacts DROP COLUMN restricted",
        ))
        .await
        .unwrap();
        conn.close().await.unwrap();
        create_demo_crm(&a.0).await.unwrap();
        assert_eq!(collect_all(&a.0, "jeanne.martin@example.fr").await, before);

        let mut notes = Vec::new();
        for c in build(&demo_sources(&a.0).unwrap()).unwrap() {
            notes.extend(c.check().await.unwrap().notes);
            for info in &c.info().collections {
                let art15 = &info.art15;
                assert!(!art15.purposes.is_empty() && art15.legal_basis.is_some(), "{}", info.name);
                assert!(art15.retention.is_some() && !art15.recipients.is_empty(), "{}", info.name);
                // Every collection of the demo says on what basis, except the newsletter's opens and
                // clicks (no column to suppress: they end with the subscription).
                assert!(!art15.basis.is_empty() || info.name == "campaign_events", "{}", info.name);
            }
        }
        assert!(notes.contains(&"326 rows in table contacts (collection contacts)".to_string()), "{notes:?}");
        assert!(notes.contains(&"4 rows in table quote_requests (collection quote_requests)".to_string()), "{notes:?}");
        assert!(notes.contains(&"6 rows in table messages (collection messages)".to_string()), "{notes:?}");
        assert_eq!(
            notes[9..],
            [
                "10 rows in adherents.csv (collection members), 1 broken row skipped",
                "warning: adherents.csv line 11: 6 fields where the header has 8; the row is skipped",
                "12 rows in mouvements_points.csv (collection points)",
            ]
        );
    }

    #[test]
    fn the_template_parses_for_awkward_folders() {
        let sources = demo_sources(Path::new("/tmp/a \"quoted\" dir?#%/demo")).unwrap();
        let crate::connectors::SourceConfig::Sql(crm) = &sources[0] else { panic!("the CRM is an SQL source") };
        assert_eq!(crm.url.as_deref(), Some("sqlite:///tmp/a \"quoted\" dir%3F%23%25/demo/crm.db?mode=rw"));
        let crate::connectors::SourceConfig::Csv(loyalty) = &sources[2] else { panic!("the loyalty export is CSV") };
        assert_eq!(loyalty.dir, Path::new("/tmp/a \"quoted\" dir?#%/demo/fidelite"));
        assert_eq!(sources.len(), 3);
        let newsletter = build(&sources).unwrap().remove(1);
        let recipients = &newsletter.info().collections[0].art15.recipients;
        assert!(
            recipients.iter().any(|r| r.third_country && r.country.as_deref() == Some("US") && r.safeguards.is_some())
        );
    }
}

const PAPER_ARCHIVE: &str = include_str!("paper_archive.toml");

/// The demo's manual source, "Archives papier / Paper archive": a system searched and changed by
/// staff through tasks. Added by `Settings::demo` only (like the events platform), so the test
/// suite's demo sources stay as they are.
pub fn paper_archive_source() -> anyhow::Result<SourceConfig> {
    toml::from_str(PAPER_ARCHIVE).context("the demo paper archive configuration is not valid")
}

#[cfg(test)]
mod paper_archive_tests {
    #[test]
    fn the_demo_paper_archive_is_a_valid_manual_source() {
        let source = super::paper_archive_source().unwrap();
        let connector = crate::connectors::build(&[source]).unwrap().remove(0);
        assert_eq!(connector.info().kind, "manual");
        assert_eq!(connector.info().label.get(crate::domain::Locale::Fr), "Archives papier");
        assert!(connector.staff_task().is_some());
    }
}
