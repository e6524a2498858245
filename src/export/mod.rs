//! The portable export: one encrypted ZIP per access or portability request (GDPR Art. 15, 20).
//!
//! Collection jobs first write each source's records to an encrypted [`spool`]; [`build_export`]
//! then streams those spools into a ZIP that is itself encrypted as it is written
//! ([`crate::crypto::stream`]). Nothing is ever whole in memory: memory use is a few buffers of
//! 64 KiB plus one record, whatever the size of the export.
//!
//! ```text
//! data/<source>/<collection>.json   the records, a JSON array (portable copy, Art. 20)
//! data/<source>/<collection>.csv    the same records as CSV (formula-neutralised)
//! files/<source>/<name>             files staff uploaded for a manual source, byte-identical
//! information.json                  Art. 15(1)(a)-(h): purposes, basis, recipients, rights…
//! index.html                        the readable report, in the request's language
//! manifest.json                     every other file with its size and SHA-256 (written last)
//! ```
//!
//! The archive is written to `<out>.tmp` and renamed into place, so a half-written export is
//! never served. The export job then publishes it to the [`storage`] every instance reads from,
//! and [`open_export_from`] decrypts what the storage returns for the download handler.

mod cells;
mod html;
pub mod spool;
pub mod storage;
mod zipout;

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use askama::Template;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use crate::config::ControllerInfo;
use crate::connectors::{CollectionInfo, SourceInfo, Text};
use crate::crypto::SecretKey;
use crate::crypto::stream::{DecryptingReader, EncryptingWriter};
use crate::domain::{Locale, RequestKind};
use crate::i18n::Tr;

use cells::{UniquePaths, cell_text};
pub use cells::{csv_cell, path_component};
use html::{CollectionClose, CollectionOpen, HTML_ROWS_PER_COLLECTION, RECORDS_MARKER, Row};
pub use spool::{CollectionCount, SpoolEvent, SpoolReader, SpoolSummary, SpoolWriter};
pub use storage::{ExportStorage, LocalDir};
use zipout::{HashingWriter, WrittenFile, ZipOut};

/// Version of the layout of the archive and of its JSON files.
pub const FORMAT_VERSION: u32 = 1;

const IO_BUFFER: usize = 64 * 1024;
/// Above this spool size, data entries are written as ZIP64 so they may exceed 4 GiB.
const LARGE_SPOOL: u64 = 1 << 30;

/// The rights listed in every export (Art. 15(1)(e)), with their article.
const RIGHTS: [(&str, &str); 5] =
    [("rectification", "16"), ("erasure", "17"), ("restriction", "18"), ("objection", "21"), ("portability", "20")];

/// Everything needed to build one export.
#[derive(Debug, Clone)]
pub struct ExportInput {
    /// The request's reference, e.g. `DSR-2026-000123`.
    pub reference: String,
    pub kind: RequestKind,
    /// The language of index.html and of configured texts in information.json.
    pub locale: Locale,
    pub received_at: OffsetDateTime,
    pub generated_at: OffsetDateTime,
    pub due_date: Date,
    pub controller: ControllerInfo,
    /// Every configured source, in the order they should appear.
    pub sources: Vec<ExportSource>,
}

#[derive(Debug, Clone)]
pub struct ExportSource {
    pub info: SourceInfo,
    /// The spool its collection job wrote (encrypted with the export key), or `None` when the
    /// source had no records for this person.
    pub spool: Option<PathBuf>,
}

/// What was built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// Size of the plaintext ZIP (what the person downloads).
    pub zip_bytes: u64,
    /// Files in the ZIP, manifest included.
    pub files: usize,
    pub total_records: u64,
    /// Every source of the input, in order, with the collections that had records.
    pub sources: Vec<SourceCount>,
    /// SHA-256 (hex) of the plaintext ZIP.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCount {
    pub name: String,
    pub collections: Vec<CollectionCount>,
}

/// Opens an export for download: the plaintext ZIP, authenticated as it is read. A tampered or
/// truncated file yields an `InvalidData` error, never altered bytes.
pub fn open_export(path: &Path, key: &SecretKey) -> io::Result<DecryptingReader<File>> {
    open_export_from(File::open(path)?, key)
}

/// [`open_export`] over any reader of the encrypted bytes, e.g. one from
/// [`storage::ExportStorage::open`].
pub fn open_export_from<R: io::Read>(reader: R, key: &SecretKey) -> io::Result<DecryptingReader<R>> {
    DecryptingReader::new(reader, key)
}

/// Builds the encrypted export at `out_path` from the spools named in `input` (read with the
/// same `key`). Blocking: run it in `spawn_blocking`.
pub fn build_export(input: &ExportInput, key: &SecretKey, out_path: &Path) -> anyhow::Result<ExportSummary> {
    let tmp = sibling(out_path, ".tmp");
    let scratch = sibling(out_path, ".tables.tmp");
    let result = write_archive(input, key, &tmp, &scratch);
    let _ = fs::remove_file(&scratch);
    let summary = match result {
        Ok(summary) => summary,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if let Err(e) = fs::rename(&tmp, out_path) {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("moving the export into place at {}", out_path.display()));
    }
    sync_parent(out_path);
    Ok(summary)
}

/// A file staff uploaded for a manual source (`kind = "manual"`), as written to the archive.
/// The source's spool lists them, one record per file (see `crate::services::tasks`).
struct Attached {
    name: String,
    path: String,
    size: u64,
    sha256: String,
}

/// One collection that had records, as written to the archive.
struct Written {
    name: String,
    label: String,
    columns: Vec<String>,
    records: u64,
    json: String,
    csv: String,
    anchor: String,
}

fn write_archive(input: &ExportInput, key: &SecretKey, tmp: &Path, scratch: &Path) -> anyhow::Result<ExportSummary> {
    let tr = Tr::new(input.locale);
    let file = create_private(tmp)?;
    let encrypted = EncryptingWriter::new(BufWriter::with_capacity(IO_BUFFER, file), key)
        .with_context(|| format!("writing {}", tmp.display()))?;
    let mut zip = ZipOut::new(HashingWriter::new(encrypted), zip_time(input.generated_at));

    // The records tables of index.html, written while the data streams by and spliced into the
    // page at the end. Encrypted under a key that only lives as long as this call.
    let tables_key = SecretKey::generate();
    let tables_file = create_private(scratch)?;
    let mut tables = EncryptingWriter::new(BufWriter::with_capacity(IO_BUFFER, tables_file), &tables_key)
        .with_context(|| format!("writing {}", scratch.display()))?;

    let mut paths = UniquePaths::default();
    let mut written: Vec<Vec<Written>> = Vec::with_capacity(input.sources.len());
    let mut attached: Vec<Vec<Attached>> = Vec::with_capacity(input.sources.len());
    for (index, source) in input.sources.iter().enumerate() {
        let mut collections = Vec::new();
        let mut files = Vec::new();
        if let (Some(spool), true) = (&source.spool, source.info.kind == "manual") {
            let dir = paths.claim("files", &source.info.name);
            attach_files(&mut zip, key, spool, &dir, &mut paths, &mut files)
                .with_context(|| format!("exporting the files of source {}", source.info.name))?;
        } else if let Some(spool) = &source.spool {
            let large =
                fs::metadata(spool).with_context(|| format!("reading spool {}", spool.display()))?.len() > LARGE_SPOOL;
            let dir = paths.claim("data", &source.info.name);
            let pass = Pass { key, spool, large, info: &source.info, locale: input.locale };
            pass.json_and_tables(&mut zip, &mut tables, tr, index, &dir, &mut paths, &mut collections)
                .with_context(|| format!("exporting source {}", source.info.name))?;
            pass.csv(&mut zip, &collections).with_context(|| format!("exporting source {}", source.info.name))?;
        }
        written.push(collections);
        attached.push(files);
    }
    let tables_file = tables.finish().context("writing the records tables")?;
    let tables_large = tables_file.get_ref().metadata().map(|m| m.len() > LARGE_SPOOL).unwrap_or(true);
    drop(tables_file);
    let has_records = written.iter().flatten().next().is_some();

    zip.start("information.json", false)?;
    serde_json::to_writer_pretty(&mut zip, &information(input, tr, &written, &attached)?)
        .context("writing information.json")?;
    zip.write_all(b"\n")?;

    zip.start("index.html", tables_large)?;
    let page = index_page(input, tr, &written, &attached).render().context("rendering index.html")?;
    let (head, tail) = page.split_once(RECORDS_MARKER).unwrap_or((page.as_str(), ""));
    zip.write_all(head.as_bytes())?;
    if has_records {
        let mut tables = open_export(scratch, &tables_key).context("reading the records tables")?;
        io::copy(&mut tables, &mut zip).context("writing index.html")?;
    }
    zip.write_all(tail.as_bytes())?;
    zip.end()?;

    let manifest = manifest(input, &written, &attached, zip.files())?;
    zip.start("manifest.json", false)?;
    serde_json::to_writer_pretty(&mut zip, &manifest).context("writing manifest.json")?;
    zip.write_all(b"\n")?;
    zip.end()?;
    let files = zip.files().len();

    let (encrypted, zip_bytes, sha256) = zip.finish()?.into_parts();
    let file = encrypted
        .finish()
        .context("sealing the export")?
        .into_inner()
        .map_err(|e| e.into_error())
        .context("flushing the export")?;
    file.sync_all().context("syncing the export")?;

    let sources = input
        .sources
        .iter()
        .zip(&written)
        .map(|(s, cols)| SourceCount {
            name: s.info.name.clone(),
            collections: cols.iter().map(|c| CollectionCount { name: c.name.clone(), records: c.records }).collect(),
        })
        .collect();
    Ok(ExportSummary {
        zip_bytes,
        files,
        // A file staff found in a manual source counts as one of its records.
        total_records: written.iter().flatten().map(|c| c.records).sum::<u64>()
            + attached.iter().map(|a| a.len() as u64).sum::<u64>(),
        sources,
        sha256,
    })
}

/// One source's spool, read once for JSON (and the HTML tables) and once for CSV: a streaming
/// ZIP holds one open entry at a time.
struct Pass<'a> {
    key: &'a SecretKey,
    spool: &'a Path,
    large: bool,
    info: &'a SourceInfo,
    locale: Locale,
}

impl Pass<'_> {
    #[allow(clippy::too_many_arguments)]
    fn json_and_tables<W: Write>(
        &self,
        zip: &mut ZipOut<W>,
        tables: &mut dyn Write,
        tr: Tr,
        source_index: usize,
        dir: &str,
        paths: &mut UniquePaths,
        out: &mut Vec<Written>,
    ) -> anyhow::Result<()> {
        let source_label = label_or_name(&self.info.label, &self.info.name, self.locale);
        let mut reader = SpoolReader::open(self.spool, self.key)?;
        let mut next = reader.next_event()?;
        while let Some(event) = next {
            let SpoolEvent::Collection { name, fields } = event else {
                bail!("the spool has a record outside any collection");
            };
            let mut record = match reader.next_event()? {
                Some(SpoolEvent::Record(r)) => r,
                other => {
                    // A collection without records gets no files.
                    next = other;
                    continue;
                }
            };
            let declared = self.info.collection(&name);
            if declared.is_none() {
                tracing::warn!(source = %self.info.name, collection = %name,
                    "collection not declared in the configuration: exported without its Art. 15 information");
            }
            let label = declared.map_or_else(|| name.clone(), |c| label_or_name(&c.label, &name, self.locale));
            let columns = if fields.is_empty() { record.keys().cloned().collect() } else { fields };
            let stem = paths.claim(dir, &name);
            let (json_path, csv_path) = (format!("{stem}.json"), format!("{stem}.csv"));
            let anchor = format!("data-{source_index}-{}", out.len());

            CollectionOpen {
                anchor: &anchor,
                source_label: &source_label,
                collection_label: &label,
                columns: &columns,
            }
            .write_into(tables)?;
            zip.start(&json_path, self.large)?;
            zip.write_all(b"[\n")?;
            let mut records = 0u64;
            loop {
                if records > 0 {
                    zip.write_all(b",\n")?;
                }
                serde_json::to_writer(&mut *zip, &record).context("writing a record")?;
                if records < HTML_ROWS_PER_COLLECTION {
                    let cells: Vec<String> = columns.iter().map(|c| cell_text(record.get(c))).collect();
                    Row { cells: &cells }.write_into(tables)?;
                }
                records += 1;
                match reader.next_event()? {
                    Some(SpoolEvent::Record(r)) => record = r,
                    other => {
                        next = other;
                        break;
                    }
                }
            }
            zip.write_all(b"\n]\n")?;
            zip.end()?;

            let count = html::format_count(self.locale, records);
            let note = if records > HTML_ROWS_PER_COLLECTION {
                let shown = html::format_count(self.locale, HTML_ROWS_PER_COLLECTION);
                tr.fmt(
                    "export.data.truncated",
                    &[("shown", &shown), ("count", &count), ("json", &json_path), ("csv", &csv_path)],
                )
            } else {
                tr.fmt("export.data.complete", &[("count", &count), ("json", &json_path), ("csv", &csv_path)])
            };
            CollectionClose { note }.write_into(tables)?;
            out.push(Written { name, label, columns, records, json: json_path, csv: csv_path, anchor });
        }
        Ok(())
    }

    fn csv<W: Write>(&self, zip: &mut ZipOut<W>, collections: &[Written]) -> anyhow::Result<()> {
        let mut reader = SpoolReader::open(self.spool, self.key)?;
        let mut expected = collections.iter();
        let mut next = reader.next_event()?;
        while let Some(event) = next {
            let SpoolEvent::Collection { name, .. } = event else {
                bail!("the spool has a record outside any collection");
            };
            let mut record = match reader.next_event()? {
                Some(SpoolEvent::Record(r)) => r,
                other => {
                    next = other;
                    continue;
                }
            };
            let Some(target) = expected.next().filter(|w| w.name == name) else {
                bail!("the spool changed while the export was being built");
            };
            zip.start(&target.csv, self.large)?;
            let mut records = 0u64;
            {
                let mut csv = csv::WriterBuilder::new().buffer_capacity(IO_BUFFER).from_writer(&mut *zip);
                csv.write_record(target.columns.iter().map(|c| csv_cell(c.clone())))?;
                loop {
                    csv.write_record(target.columns.iter().map(|c| csv_cell(cell_text(record.get(c)))))?;
                    records += 1;
                    match reader.next_event()? {
                        Some(SpoolEvent::Record(r)) => record = r,
                        other => {
                            next = other;
                            break;
                        }
                    }
                }
                csv.flush()?;
            }
            zip.end()?;
            if records != target.records {
                bail!("the spool changed while the export was being built");
            }
        }
        if expected.next().is_some() {
            bail!("the spool changed while the export was being built");
        }
        Ok(())
    }
}

/// Copies the files a manual source's spool lists into `dir` of the archive, decrypting them as
/// they stream and checking each against the SHA-256 recorded at upload: a file that changed on
/// disk fails the export rather than reaching the person altered.
/// An upload a browser would run when opened from the unzipped folder (a page, an SVG image, a
/// script) is stored with `.txt` added: the same bytes, opened as text. `index.html`'s own CSP
/// cannot protect a file opened on its own.
fn inert_name(name: &str) -> String {
    const ACTIVE: [&str; 14] =
        ["html", "htm", "xhtml", "xht", "shtml", "mht", "mhtml", "svg", "svgz", "xml", "xsl", "js", "mjs", "hta"];
    match name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()) {
        Some(ext) if ACTIVE.contains(&ext.as_str()) => format!("{name}.txt"),
        _ => name.to_owned(),
    }
}

fn attach_files<W: Write>(
    zip: &mut ZipOut<W>,
    key: &SecretKey,
    spool: &Path,
    dir: &str,
    paths: &mut UniquePaths,
    out: &mut Vec<Attached>,
) -> anyhow::Result<()> {
    let mut reader = SpoolReader::open(spool, key)?;
    while let Some(event) = reader.next_event()? {
        let SpoolEvent::Record(record) = event else { continue };
        let text = |field: &str| record.get(field).and_then(Value::as_str).map(str::to_owned);
        let (Some(name), Some(expected), Some(stored)) = (text("name"), text("sha256"), text("stored_at")) else {
            bail!("the list of uploaded files is incomplete");
        };
        let path = paths.claim(dir, &inert_name(&name));
        let stored = PathBuf::from(stored);
        // Errors name the file by its stored id (random), never by its name or path: a file name
        // is personal data ("Contrat de Mme Martin.pdf"), and errors reach job records, logs and
        // staff pages (the caller adds the source's name).
        let id = stored.file_stem().and_then(|s| s.to_str()).unwrap_or("?").to_owned();
        let file = File::open(&stored).with_context(|| format!("the uploaded file {id} is missing"))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut plain =
            HashingReader::new(open_export_reader(file, key).with_context(|| format!("uploaded file {id}"))?);
        // The archive's own error names the path in the ZIP (the file's name): only its I/O cause
        // is kept.
        zip.start(&path, size > LARGE_SPOOL).map_err(|e| {
            let cause = e.root_cause().downcast_ref::<io::Error>().map(|io| io.kind().to_string());
            anyhow::anyhow!("adding the uploaded file {id} to the archive ({})", cause.as_deref().unwrap_or("failed"))
        })?;
        io::copy(&mut plain, zip).with_context(|| format!("copying the uploaded file {id}"))?;
        zip.end().with_context(|| format!("adding the uploaded file {id}"))?;
        let (bytes, sha256) = plain.finish();
        if !crate::crypto::constant_time_eq(sha256.as_bytes(), expected.as_bytes()) {
            bail!("the uploaded file {id} no longer matches the checksum recorded when it was uploaded");
        }
        out.push(Attached { name, path, size: bytes, sha256 });
    }
    Ok(())
}

fn open_export_reader(file: File, key: &SecretKey) -> anyhow::Result<DecryptingReader<File>> {
    DecryptingReader::new(file, key).context("opening an uploaded file")
}

/// Counts and hashes what is read through it.
struct HashingReader<R> {
    inner: R,
    hasher: sha2::Sha256,
    bytes: u64,
}

impl<R: io::Read> HashingReader<R> {
    fn new(inner: R) -> Self {
        Self { inner, hasher: <sha2::Sha256 as sha2::Digest>::new(), bytes: 0 }
    }

    fn finish(self) -> (u64, String) {
        (self.bytes, crate::crypto::hex(&sha2::Digest::finalize(self.hasher)))
    }
}

impl<R: io::Read> io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        sha2::Digest::update(&mut self.hasher, &buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

fn label_or_name(label: &Text, name: &str, locale: Locale) -> String {
    let l = label.get(locale).trim();
    if l.is_empty() { name.to_owned() } else { l.to_owned() }
}

fn opt_text(t: &Option<Text>, locale: Locale) -> Option<&str> {
    t.as_ref().map(|t| t.get(locale)).filter(|s| !s.trim().is_empty())
}

fn rfc3339(at: OffsetDateTime) -> anyhow::Result<String> {
    at.format(&Rfc3339).context("formatting a date")
}

fn art15_json(c: Option<&CollectionInfo>, locale: Locale) -> Value {
    let Some(c) = c else {
        return json!({ "declared": false });
    };
    let a = &c.art15;
    json!({
        "declared": true,
        "purposes": a.purposes.iter().map(|t| t.get(locale)).collect::<Vec<_>>(),
        "legal_basis": opt_text(&a.legal_basis, locale),
        "categories": a.categories.iter().map(|t| t.get(locale)).collect::<Vec<_>>(),
        "recipients": a.recipients.iter().map(|r| json!({
            "name": r.name.get(locale),
            "country": r.country,
            "third_country": r.third_country,
            "safeguards": opt_text(&r.safeguards, locale),
        })).collect::<Vec<_>>(),
        "retention": opt_text(&a.retention, locale),
        "origin": opt_text(&a.origin, locale),
        "automated_decisions": opt_text(&a.automated_decisions, locale),
    })
}

/// information.json: the Art. 15(1)(a)-(h) information, machine-readable, in the request's
/// language. Lists every configured collection with how many records it held for this person.
fn information(
    input: &ExportInput,
    tr: Tr,
    written: &[Vec<Written>],
    attached: &[Vec<Attached>],
) -> anyhow::Result<Value> {
    let l = input.locale;
    let c = &input.controller;
    let sources: Vec<Value> = input
        .sources
        .iter()
        .zip(written)
        .zip(attached)
        .map(|((s, cols), files)| {
            let mut collections: Vec<Value> = Vec::new();
            let entry = |name: &str, declared: Option<&CollectionInfo>| {
                let w = cols.iter().find(|w| w.name == name);
                let mut v = json!({
                    "name": name,
                    "label": declared.map_or_else(|| name.to_owned(), |d| label_or_name(&d.label, name, l)),
                    "records": w.map_or(0, |w| w.records),
                    "files": w.map(|w| vec![w.json.as_str(), w.csv.as_str()]).unwrap_or_default(),
                });
                if let (Value::Object(m), Value::Object(extra)) = (&mut v, art15_json(declared, l)) {
                    m.extend(extra);
                }
                v
            };
            for declared in &s.info.collections {
                collections.push(entry(&declared.name, Some(declared)));
            }
            for w in cols.iter().filter(|w| s.info.collection(&w.name).is_none()) {
                collections.push(entry(&w.name, None));
            }
            let mut v = json!({
                "name": s.info.name,
                "label": label_or_name(&s.info.label, &s.info.name, l),
                "kind": s.info.kind,
                "collections": collections,
            });
            if s.info.kind == "manual"
                && let Value::Object(m) = &mut v
            {
                m.insert("files".into(), attached_json(files));
            }
            v
        })
        .collect();
    let rights: Vec<Value> = RIGHTS
        .iter()
        .map(|(id, article)| {
            json!({
                "right": id,
                "gdpr_article": article,
                "title": tr.get(&format!("export.rights.{id}.title")),
                "description": tr.get(&format!("export.rights.{id}.text")),
            })
        })
        .collect();
    Ok(json!({
        "format": "dossier-information",
        "format_version": FORMAT_VERSION,
        "reference": input.reference,
        "language": l.as_str(),
        "generated_at": rfc3339(input.generated_at)?,
        "request": {
            "kind": input.kind.as_str(),
            "gdpr_article": input.kind.article(),
            "received_at": rfc3339(input.received_at)?,
            "due_date": input.due_date.to_string(),
        },
        "controller": {
            "name": c.name,
            "address": c.address,
            "contact_email": c.contact_email,
            "dpo_email": c.dpo_email,
        },
        "sources": sources,
        "rights": {
            "how_to_exercise": tr.fmt("export.rights.intro", &[("email", &c.contact_email)]),
            "rights": rights,
        },
        "complaint": {
            "gdpr_article": "77",
            "authority": {
                "name": c.authority.name.get(l),
                "address": c.authority.address,
                "url": c.authority.url,
            },
        },
    }))
}

fn index_page<'a>(
    input: &'a ExportInput,
    tr: Tr,
    written: &'a [Vec<Written>],
    attached: &'a [Vec<Attached>],
) -> html::IndexPage<'a> {
    let l = input.locale;
    let c = &input.controller;
    let has_records = written.iter().flatten().next().is_some();
    let has_data = has_records || attached.iter().flatten().next().is_some();
    let total: u64 =
        written.iter().flatten().map(|w| w.records).sum::<u64>() + attached.iter().map(|a| a.len() as u64).sum::<u64>();

    let mut summary = Vec::new();
    let mut info = Vec::new();
    let mut files = Vec::new();
    for ((s, cols), found) in input.sources.iter().zip(written).zip(attached) {
        let source_label = label_or_name(&s.info.label, &s.info.name, l);
        if !found.is_empty() {
            summary.push(html::SummaryRow {
                source_label: source_label.clone(),
                collection_label: tr.get("export.attachments.summary").to_owned(),
                records: html::format_count(l, found.len() as u64),
                anchor: "attachments".to_owned(),
            });
            for f in found {
                files.push(html::FileView {
                    source_label: source_label.clone(),
                    name: &f.name,
                    path: &f.path,
                    size: html::format_count(l, f.size),
                    sha256: &f.sha256,
                });
            }
        }
        for w in cols {
            summary.push(html::SummaryRow {
                source_label: source_label.clone(),
                collection_label: w.label.clone(),
                records: html::format_count(l, w.records),
                anchor: w.anchor.clone(),
            });
        }
        // With data: the information about what we hold. Without: about every collection searched.
        let mut collections: Vec<html::InfoCollection<'a>> = Vec::new();
        if has_data {
            for w in cols {
                collections.push(info_collection(s.info.collection(&w.name), &w.label, l));
            }
            // What staff found in a manual source is described by everything it declares.
            if !found.is_empty() {
                for d in &s.info.collections {
                    collections.push(info_collection(Some(d), d.label.get(l), l));
                }
            }
        } else {
            for d in &s.info.collections {
                collections.push(info_collection(Some(d), d.label.get(l), l));
            }
        }
        if !collections.is_empty() {
            info.push(html::InfoSource { label: source_label, collections });
        }
    }
    let rights = RIGHTS
        .iter()
        .map(|(id, _)| html::RightView {
            title: tr.get(&format!("export.rights.{id}.title")).to_owned(),
            text: tr.get(&format!("export.rights.{id}.text")).to_owned(),
        })
        .collect();
    let authority_link = c.authority.link();
    let generated = html::format_datetime(tr, input.generated_at);

    html::IndexPage {
        t: tr,
        lang: l.as_str(),
        title: tr.get("export.page.title"),
        subtitle: tr.fmt("export.page.subtitle", &[("controller", &c.name)]),
        reference: &input.reference,
        kind_label: tr.get(&format!("export.kind.{}", input.kind.as_str())).to_owned(),
        received: html::format_datetime(tr, input.received_at),
        due: html::format_date(tr, input.due_date),
        footer: tr.fmt(
            "export.page.footer",
            &[("date", &generated), ("controller", &c.name), ("reference", &input.reference)],
        ),
        generated,
        controller: c,
        has_data,
        has_records,
        files,
        total_line: tr.fmt("export.summary.total", &[("count", &html::format_count(l, total))]),
        summary,
        info,
        rights_intro: tr.fmt("export.rights.intro", &[("email", &c.contact_email)]),
        rights,
        authority_name: c.authority.name.get(l),
        authority_address: &c.authority.address,
        authority_url: c.authority.url.trim(),
        authority_link,
    }
}

fn info_collection<'a>(c: Option<&'a CollectionInfo>, label: &'a str, l: Locale) -> html::InfoCollection<'a> {
    let Some(c) = c else {
        return html::InfoCollection {
            label,
            purposes: Vec::new(),
            legal_basis: None,
            categories: Vec::new(),
            recipients: Vec::new(),
            retention: None,
            origin: None,
            automated_decisions: None,
        };
    };
    let a = &c.art15;
    html::InfoCollection {
        label: if label.trim().is_empty() { &c.name } else { label },
        purposes: a.purposes.iter().map(|t| t.get(l)).collect(),
        legal_basis: opt_text(&a.legal_basis, l),
        categories: a.categories.iter().map(|t| t.get(l)).collect(),
        recipients: a
            .recipients
            .iter()
            .map(|r| html::RecipientView {
                name: r.name.get(l),
                country: r.country.as_deref(),
                third_country: r.third_country,
                safeguards: opt_text(&r.safeguards, l),
            })
            .collect(),
        retention: opt_text(&a.retention, l),
        origin: opt_text(&a.origin, l),
        automated_decisions: opt_text(&a.automated_decisions, l),
    }
}

/// The files staff uploaded for a manual source, as listed in information.json and the manifest.
fn attached_json(files: &[Attached]) -> Value {
    Value::Array(
        files.iter().map(|f| json!({ "name": f.name, "path": f.path, "size": f.size, "sha256": f.sha256 })).collect(),
    )
}

/// manifest.json: what the archive holds, with the size and SHA-256 of every other file.
fn manifest(
    input: &ExportInput,
    written: &[Vec<Written>],
    attached: &[Vec<Attached>],
    files: &[WrittenFile],
) -> anyhow::Result<Value> {
    Ok(json!({
        "format": "dossier-export",
        "format_version": FORMAT_VERSION,
        "reference": input.reference,
        "request_kind": input.kind.as_str(),
        "language": input.locale.as_str(),
        "generated_at": rfc3339(input.generated_at)?,
        "total_records": written.iter().flatten().map(|w| w.records).sum::<u64>(),
        "sources": input.sources.iter().zip(written).zip(attached).map(|((s, cols), found)| {
            let mut v = json!({
                "name": s.info.name,
                "collections": cols.iter().map(|w| json!({
                    "name": w.name,
                    "records": w.records,
                    "files": [w.json, w.csv],
                })).collect::<Vec<_>>(),
            });
            if s.info.kind == "manual" && let Value::Object(m) = &mut v {
                m.insert("attachments".into(), attached_json(found));
            }
            v
        }).collect::<Vec<_>>(),
        "files": files.iter().map(|f| json!({
            "path": f.path,
            "size": f.bytes,
            "sha256": f.sha256,
        })).collect::<Vec<_>>(),
    }))
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn create_private(path: &Path) -> anyhow::Result<File> {
    crate::fsutil::create_private_truncate(path).with_context(|| format!("creating {}", path.display()))
}

/// Makes the rename durable (best effort: not every platform can sync a directory).
fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && let Ok(dir) = File::open(parent)
    {
        let _ = dir.sync_all();
    }
}

fn zip_time(at: OffsetDateTime) -> zip::DateTime {
    u16::try_from(at.year())
        .ok()
        .and_then(|y| {
            zip::DateTime::from_date_and_time(y, at.month().into(), at.day(), at.hour(), at.minute(), at.second()).ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
