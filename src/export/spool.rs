//! The per-source spool: what one source returned for one person, encrypted on disk, waiting for
//! the export to be built.
//!
//! Collection runs in one background job per source, before the ZIP is built; each job pushes its
//! records into a [`SpoolWriter`]. The file is JSON lines inside an [`EncryptingWriter`]:
//!
//! ```text
//! {"collection":{"name":"contacts","fields":["id","email"]}}
//! {"record":{"id":1,"email":"ana@example.org"}}
//! ```
//!
//! [`SpoolReader`] gives the lines back one at a time as [`SpoolEvent`]s. A spool whose writer was
//! never finished (a crashed job) fails to read instead of looking complete.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::connectors::{Record, RecordSink};
use crate::crypto::SecretKey;
use crate::crypto::stream::{DecryptingReader, EncryptingWriter};

const BUFFER: usize = 64 * 1024;

/// One spool line as written (borrowed, so records are not copied).
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum LineRef<'a> {
    Collection { name: &'a str, fields: &'a [String] },
    Record(&'a Record),
}

/// One spool line as read back.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpoolEvent {
    /// The records that follow, up to the next `Collection`, belong to this collection.
    Collection {
        name: String,
        fields: Vec<String>,
    },
    Record(Record),
}

/// How many records each collection received, in the order the source sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpoolSummary {
    pub collections: Vec<CollectionCount>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionCount {
    pub name: String,
    pub records: u64,
}

impl SpoolSummary {
    pub fn total_records(&self) -> u64 {
        self.collections.iter().map(|c| c.records).sum()
    }
}

/// Receives one source's records and spools them, encrypted, to a file.
pub struct SpoolWriter {
    out: EncryptingWriter<BufWriter<File>>,
    summary: SpoolSummary,
    seen: HashSet<String>,
    line: Vec<u8>,
}

impl SpoolWriter {
    /// Creates (or truncates) the spool at `path`, readable by the owner only.
    pub fn create(path: &Path, key: &SecretKey) -> anyhow::Result<Self> {
        let file = crate::fsutil::create_private_truncate(path)
            .with_context(|| format!("creating spool {}", path.display()))?;
        let out = EncryptingWriter::new(BufWriter::with_capacity(BUFFER, file), key)
            .with_context(|| format!("writing spool {}", path.display()))?;
        Ok(Self { out, summary: SpoolSummary::default(), seen: HashSet::new(), line: Vec::new() })
    }

    fn write_line(&mut self, line: &LineRef<'_>) -> anyhow::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, line).context("serialising a spool line")?;
        self.line.push(b'\n');
        self.out.write_all(&self.line).context("writing the spool")?;
        Ok(())
    }

    /// Seals the spool, makes it durable and says what it holds.
    pub fn finish(self) -> anyhow::Result<SpoolSummary> {
        let buffered = self.out.finish().context("sealing the spool")?;
        let file = buffered.into_inner().map_err(|e| e.into_error()).context("flushing the spool")?;
        file.sync_all().context("syncing the spool")?;
        Ok(self.summary)
    }
}

impl RecordSink for SpoolWriter {
    fn begin_collection(&mut self, collection: &str, fields: &[String]) -> anyhow::Result<()> {
        if !self.seen.insert(collection.to_owned()) {
            bail!("the connector sent collection {collection:?} twice");
        }
        self.write_line(&LineRef::Collection { name: collection, fields })?;
        self.summary.collections.push(CollectionCount { name: collection.to_owned(), records: 0 });
        Ok(())
    }

    fn record(&mut self, record: Record) -> anyhow::Result<()> {
        let Some(current) = self.summary.collections.last_mut() else {
            bail!("the connector sent a record before naming its collection");
        };
        current.records += 1;
        self.write_line(&LineRef::Record(&record))
    }
}

/// Reads a spool back, one event at a time.
pub struct SpoolReader {
    input: BufReader<DecryptingReader<File>>,
    line: String,
    seen: HashSet<String>,
    in_collection: bool,
    line_no: u64,
    /// Set after the end or an error: the iterator then yields nothing more.
    fused: bool,
}

impl SpoolReader {
    pub fn open(path: &Path, key: &SecretKey) -> anyhow::Result<Self> {
        let file = File::open(path).with_context(|| format!("opening spool {}", path.display()))?;
        let dec = DecryptingReader::new(file, key).with_context(|| format!("reading spool {}", path.display()))?;
        Ok(Self {
            input: BufReader::with_capacity(BUFFER, dec),
            line: String::new(),
            seen: HashSet::new(),
            in_collection: false,
            line_no: 0,
            fused: false,
        })
    }

    /// The next event, or `None` at the (authenticated) end of the spool.
    pub fn next_event(&mut self) -> anyhow::Result<Option<SpoolEvent>> {
        self.line.clear();
        let n = self.input.read_line(&mut self.line).context("reading the spool")?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        let event: SpoolEvent = serde_json::from_str(self.line.trim_end_matches('\n'))
            .with_context(|| format!("spool line {} is malformed", self.line_no))?;
        match &event {
            SpoolEvent::Collection { name, .. } => {
                if !self.seen.insert(name.clone()) {
                    bail!("spool line {}: collection {name:?} appears twice", self.line_no);
                }
                self.in_collection = true;
            }
            SpoolEvent::Record(_) if !self.in_collection => {
                bail!("spool line {}: a record comes before any collection", self.line_no)
            }
            SpoolEvent::Record(_) => {}
        }
        Ok(Some(event))
    }
}

impl Iterator for SpoolReader {
    type Item = anyhow::Result<SpoolEvent>;

    /// Yields each event, then `None` after the end or after the first error.
    fn next(&mut self) -> Option<Self::Item> {
        if self.fused {
            return None;
        }
        let item = self.next_event().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.fused = true;
        }
        item
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;

    fn rec(v: serde_json::Value) -> Record {
        match v {
            serde_json::Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn fields(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn round_trips_events_in_order() {
        let dir = TestDir::new();
        let path = dir.join("s.spool");
        let key = SecretKey::generate();
        let mut w = SpoolWriter::create(&path, &key).unwrap();
        w.begin_collection("contacts", &fields(&["id", "email"])).unwrap();
        w.record(rec(json!({"id": 1, "email": "a@example.org"}))).unwrap();
        w.record(rec(json!({"id": 2, "email": "line\nbreak \u{e9}"}))).unwrap();
        w.begin_collection("orders", &fields(&["z", "a"])).unwrap();
        w.record(rec(json!({"z": null, "a": {"nested": [1, 2]}}))).unwrap();
        let summary = w.finish().unwrap();
        assert_eq!(
            summary.collections,
            vec![
                CollectionCount { name: "contacts".into(), records: 2 },
                CollectionCount { name: "orders".into(), records: 1 }
            ]
        );
        assert_eq!(summary.total_records(), 3);

        // Encrypted at rest: no plaintext in the file.
        let raw = std::fs::read(&path).unwrap();
        assert!(!raw.windows(7).any(|w| w == b"example"));

        let events: Vec<_> = SpoolReader::open(&path, &key).unwrap().collect::<anyhow::Result<_>>().unwrap();
        assert_eq!(events.len(), 5);
        assert_eq!(events[0], SpoolEvent::Collection { name: "contacts".into(), fields: fields(&["id", "email"]) });
        assert_eq!(events[2], SpoolEvent::Record(rec(json!({"id": 2, "email": "line\nbreak \u{e9}"}))));
        // Field order is preserved.
        let SpoolEvent::Record(r) = &events[4] else { panic!() };
        assert_eq!(r.keys().collect::<Vec<_>>(), ["z", "a"]);
    }

    #[test]
    fn empty_spool_reads_as_empty() {
        let dir = TestDir::new();
        let path = dir.join("s.spool");
        let key = SecretKey::generate();
        let summary = SpoolWriter::create(&path, &key).unwrap().finish().unwrap();
        assert!(summary.collections.is_empty());
        assert_eq!(SpoolReader::open(&path, &key).unwrap().count(), 0);
    }

    #[test]
    fn rejects_misuse_and_damage() {
        let dir = TestDir::new();
        let path = dir.join("s.spool");
        let key = SecretKey::generate();
        let mut w = SpoolWriter::create(&path, &key).unwrap();
        assert!(w.record(rec(json!({"a": 1}))).is_err());
        w.begin_collection("c", &fields(&["a"])).unwrap();
        assert!(w.begin_collection("c", &fields(&["a"])).is_err());
        w.record(rec(json!({"a": 1}))).unwrap();
        w.finish().unwrap();

        // Wrong key.
        let mut r = SpoolReader::open(&path, &SecretKey::generate()).unwrap();
        assert!(r.next_event().is_err());

        // A spool whose job crashed before `finish` does not read as complete.
        let crashed = dir.join("crashed.spool");
        {
            let mut w = SpoolWriter::create(&crashed, &key).unwrap();
            w.begin_collection("c", &fields(&["a"])).unwrap();
            w.record(rec(json!({"a": 1}))).unwrap();
            drop(w);
        }
        let results: Vec<_> = SpoolReader::open(&crashed, &key).unwrap().collect();
        assert!(results.last().unwrap().is_err());
    }

    /// A fresh directory for one test, removed when dropped.
    pub(crate) struct TestDir(pub std::path::PathBuf);

    impl TestDir {
        pub(crate) fn new() -> Self {
            let dir = std::env::temp_dir().join(format!("dossier-test-{}", crate::crypto::new_id()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        pub(crate) fn join(&self, name: &str) -> std::path::PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for TestDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
