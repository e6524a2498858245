//! `/staff/requests/{reference}/data`: a preview of what an access or portability request
//! collected, per source and collection, for staff to check before or after release (e.g. other
//! people named in free text, GDPR Art. 15(4)). Opening it is a staff view of personal data: it is
//! recorded as an audit event naming the staff member before anything is read (Art. 5(2)).
//!
//! The data is read from the encrypted export, or from the sources' encrypted spools while the
//! export is not built yet, streamed and never whole in memory: at most [`PER_COLLECTION`]
//! records per collection are decoded, the rest is counted ("N more records not shown").
//!
//! The export is a ZIP written as a stream (sizes in data descriptors) inside the chunked cipher,
//! which cannot seek. Reading it takes two passes over the decrypted stream: the first keeps only
//! the archive's tail to find the central directory (each entry's offset and compressed size),
//! the second walks forward to the `data/…json` entries and `information.json`, decompressing only
//! the lines shown. A data entry holds one record per line (see `export::Pass::json_and_tables`).

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use actix_web::{HttpResponse, web};
use anyhow::{Context, bail};
use askama::Template;
use serde_json::Value;

use super::{READERS, require};
use crate::app::App;
use crate::crypto::SecretKey;
use crate::domain::audit::{Actor, Event, Viewed};
use crate::domain::{Reference, RequestKind};
use crate::export::{ExportStorage, SpoolEvent, SpoolReader, open_export_from};
use crate::i18n::Tr;
use crate::store::{events, exports, requests};
use crate::web::{Page, PageError, urls};

/// Records shown per collection.
pub const PER_COLLECTION: usize = 20;
/// The most of the archive's end kept in memory to find its central directory.
const TAIL_MAX: usize = 1 << 20;
/// `information.json` is a few kilobytes; refuse to read more than this of it.
const INFO_MAX: u64 = 8 << 20;

/// One collection as shown: up to [`PER_COLLECTION`] records and how many more there are.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionPreview {
    pub source: String,
    pub collection: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub total: u64,
}

impl CollectionPreview {
    pub fn more(&self) -> u64 {
        self.total.saturating_sub(self.rows.len() as u64)
    }

    fn push(&mut self, record: serde_json::Map<String, Value>) {
        for k in record.keys() {
            if !self.columns.contains(k) {
                self.columns.push(k.clone());
            }
        }
        self.rows.push(self.columns.iter().map(|c| cell(record.get(c))).collect());
    }

    /// Pads rows shown before a later record brought a new column.
    fn square(&mut self) {
        let n = self.columns.len();
        for r in &mut self.rows {
            r.resize(n, String::new());
        }
    }
}

/// How a value reads in a table cell.
fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Reads the preview from an encrypted export file (see the module's documentation).
pub fn preview_export(path: &Path, key: &SecretKey, per_collection: usize) -> anyhow::Result<Vec<CollectionPreview>> {
    preview_from(|| std::fs::File::open(path), key, per_collection)
}

/// Reads the preview from the export stored under `name`.
pub fn preview_stored(
    storage: &dyn ExportStorage,
    name: &str,
    key: &SecretKey,
    per_collection: usize,
) -> anyhow::Result<Vec<CollectionPreview>> {
    preview_from(|| storage.open(name), key, per_collection)
}

/// Reads the preview from an encrypted export that `open` reads from its start (twice: see the
/// module's documentation).
fn preview_from<R: Read>(
    open: impl Fn() -> io::Result<R>,
    key: &SecretKey,
    per_collection: usize,
) -> anyhow::Result<Vec<CollectionPreview>> {
    let open_export = || open().and_then(|r| open_export_from(r, key)).context("opening the export");
    // Pass 1: the central directory, from the archive's tail.
    let mut reader = open_export()?;
    let mut tail: Vec<u8> = Vec::new();
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).context("reading the export")?;
        if n == 0 {
            break;
        }
        total += n as u64;
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 2 * TAIL_MAX {
            tail.drain(..tail.len() - TAIL_MAX);
        }
    }
    let entries = central_directory(&tail, total)?;

    // Pass 2: forward to each wanted entry, in archive order.
    let mut wanted: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.name == "information.json" || (e.name.starts_with("data/") && e.name.ends_with(".json")))
        .collect();
    wanted.sort_by_key(|e| e.offset);
    let mut stream = Counting { inner: open_export()?, read: 0 };
    let mut shown: HashMap<String, (Vec<String>, Vec<Vec<String>>)> = HashMap::new();
    let mut info: Option<Value> = None;
    for e in wanted {
        if e.offset < stream.read {
            bail!("the export's entries overlap");
        }
        let skip = e.offset - stream.read;
        io::copy(&mut (&mut stream).take(skip), &mut io::sink()).context("reading the export")?;
        // The local header leaves sizes and checksum to the data descriptor: take the directory's.
        let options = zip::read::ZipReadOptions::new()
            .override_compressed_size(e.compressed)
            .override_uncompressed_size(e.size)
            .override_crc(e.crc);
        let Some(file) = zip::read::read_zipfile_from_stream_with_options(&mut stream, options)
            .context("reading an entry of the export")?
        else {
            bail!("the export ended early");
        };
        if e.name == "information.json" {
            let mut text = String::new();
            file.take(INFO_MAX).read_to_string(&mut text).context("reading information.json")?;
            info = Some(serde_json::from_str(&text).context("information.json is not JSON")?);
        } else {
            let mut preview = CollectionPreview {
                source: String::new(),
                collection: String::new(),
                columns: Vec::new(),
                rows: Vec::new(),
                total: 0,
            };
            let mut lines = BufReader::new(file);
            let mut line = String::new();
            while preview.rows.len() < per_collection {
                line.clear();
                if lines.read_line(&mut line).context("reading a data file")? == 0 {
                    break;
                }
                let text = line.trim_end().trim_end_matches(',');
                if text == "[" || text == "]" || text.is_empty() {
                    continue;
                }
                if let Value::Object(record) = serde_json::from_str(text).context("a record is not JSON")? {
                    preview.push(record);
                }
            }
            preview.square();
            shown.insert(e.name.clone(), (preview.columns, preview.rows));
            // Dropping the entry skips the rest of its compressed bytes without decoding them.
        }
    }
    let info = info.context("the export has no information.json")?;
    let mut out = Vec::new();
    for s in info["sources"].as_array().into_iter().flatten() {
        let source = s["name"].as_str().unwrap_or_default();
        for c in s["collections"].as_array().into_iter().flatten() {
            let total = c["records"].as_u64().unwrap_or(0);
            let Some(json) = c["files"].as_array().and_then(|f| f.first()).and_then(Value::as_str) else { continue };
            if total == 0 {
                continue;
            }
            let (columns, rows) = shown.remove(json).unwrap_or_default();
            out.push(CollectionPreview {
                source: source.to_owned(),
                collection: c["name"].as_str().unwrap_or_default().to_owned(),
                columns,
                rows,
                total,
            });
        }
    }
    Ok(out)
}

/// Reads the preview from the sources' spools (`spools` in the configured sources' order).
pub fn preview_spools(
    spools: &[(String, std::path::PathBuf)],
    key: &SecretKey,
    per_collection: usize,
) -> anyhow::Result<Vec<CollectionPreview>> {
    let mut out: Vec<CollectionPreview> = Vec::new();
    for (source, path) in spools {
        let reader = SpoolReader::open(path, key)?;
        let start = out.len();
        for event in reader {
            match event? {
                SpoolEvent::Collection { name, fields } => out.push(CollectionPreview {
                    source: source.clone(),
                    collection: name,
                    columns: fields,
                    rows: Vec::new(),
                    total: 0,
                }),
                SpoolEvent::Record(record) => {
                    let here = out.len() > start;
                    let Some(current) = out.last_mut().filter(|_| here) else {
                        bail!("a record outside any collection");
                    };
                    current.total += 1;
                    if current.rows.len() < per_collection {
                        current.push(record);
                    }
                }
            }
        }
    }
    out.retain(|c| c.total > 0);
    for c in &mut out {
        c.square();
    }
    Ok(out)
}

struct Counting<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    offset: u64,
    compressed: u64,
    size: u64,
    crc: u32,
}

fn u16_at(b: &[u8], at: usize) -> anyhow::Result<u16> {
    let s = b.get(at..at + 2).context("the export's directory is truncated")?;
    Ok(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> anyhow::Result<u32> {
    let s = b.get(at..at + 4).context("the export's directory is truncated")?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> anyhow::Result<u64> {
    let s = b.get(at..at + 8).context("the export's directory is truncated")?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Ok(u64::from_le_bytes(a))
}

/// The entries of the ZIP whose last `tail.len()` bytes (of `total`) are `tail`.
fn central_directory(tail: &[u8], total: u64) -> anyhow::Result<Vec<Entry>> {
    const EOCD: u32 = 0x0605_4b50;
    const LOCATOR: u32 = 0x0706_4b50;
    const EOCD64: u32 = 0x0606_4b50;
    const CENTRAL: u32 = 0x0201_4b50;
    let start = total - tail.len() as u64;
    let at = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(tail, i).is_ok_and(|s| s == EOCD))
        .context("the export has no end of central directory")?;
    let mut count = u64::from(u16_at(tail, at + 10)?);
    let mut dir_size = u64::from(u32_at(tail, at + 12)?);
    let mut offset = u64::from(u32_at(tail, at + 16)?);
    if at >= 20 && u32_at(tail, at - 20)? == LOCATOR {
        let record = u64_at(tail, at - 12)?;
        let r = usize::try_from(record.checked_sub(start).context("the export's directory is too large")?)?;
        if u32_at(tail, r)? != EOCD64 {
            bail!("the export's ZIP64 directory is malformed");
        }
        count = u64_at(tail, r + 32)?;
        dir_size = u64_at(tail, r + 40)?;
        offset = u64_at(tail, r + 48)?;
    }
    let mut p = usize::try_from(offset.checked_sub(start).context("the export's directory is too large")?)?;
    let end = p + usize::try_from(dir_size)?;
    let mut entries = Vec::new();
    while p < end && (entries.len() as u64) < count {
        if u32_at(tail, p)? != CENTRAL {
            bail!("the export's directory is malformed");
        }
        let crc = u32_at(tail, p + 16)?;
        let mut compressed = u64::from(u32_at(tail, p + 20)?);
        let mut size = u64::from(u32_at(tail, p + 24)?);
        let name_len = usize::from(u16_at(tail, p + 28)?);
        let extra_len = usize::from(u16_at(tail, p + 30)?);
        let comment_len = usize::from(u16_at(tail, p + 32)?);
        let mut local = u64::from(u32_at(tail, p + 42)?);
        let name = tail.get(p + 46..p + 46 + name_len).context("the export's directory is truncated")?;
        let name = String::from_utf8_lossy(name).into_owned();
        // ZIP64: the sizes and offset that did not fit are in the extra field 0x0001, in order.
        let extra = tail.get(p + 46 + name_len..p + 46 + name_len + extra_len).unwrap_or_default();
        let mut x = 0;
        while x + 4 <= extra.len() {
            let (id, len) = (u16_at(extra, x)?, usize::from(u16_at(extra, x + 2)?));
            if id == 1 {
                let mut f = x + 4;
                if size == u64::from(u32::MAX) {
                    size = u64_at(extra, f)?;
                    f += 8;
                }
                if compressed == u64::from(u32::MAX) {
                    compressed = u64_at(extra, f)?;
                    f += 8;
                }
                if local == u64::from(u32::MAX) {
                    local = u64_at(extra, f)?;
                }
            }
            x += 4 + len;
        }
        entries.push(Entry { name, offset: local, compressed, size, crc });
        p += 46 + name_len + extra_len + comment_len;
    }
    Ok(entries)
}

pub struct CollectionView {
    pub source: String,
    pub collection: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub more: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/data.html")]
struct DataTemplate<'a> {
    t: Tr,
    page: &'a Page,
    reference: String,
    back: String,
    back_label: String,
    limit: String,
    /// Why nothing is shown, when nothing is.
    nothing: Option<&'static str>,
    collections: Vec<CollectionView>,
    from_spool: bool,
}

pub async fn show(mut page: Page, app: web::Data<App>, path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let viewer = require(&app, &mut page, READERS).await?;
    let t = page.t;
    let reference: Reference = path.into_inner().parse().map_err(|_| PageError::NOT_FOUND)?;
    let mut conn = app.store.conn().await?;
    let request = requests::by_reference(&mut conn, &reference).await?.ok_or(PageError::NOT_FOUND)?;
    drop(conn);
    let render = |nothing: Option<&'static str>, collections: Vec<CollectionView>, from_spool: bool| {
        DataTemplate {
            t,
            page: &page,
            reference: reference.to_string(),
            back: urls::staff_request(&reference),
            back_label: t.fmt("staff.data.back", &[("reference", reference.as_str())]),
            limit: t.fmt("staff.data.limit", &[("n", &PER_COLLECTION.to_string())]),
            nothing: nothing.map(|k| t.get(k)),
            collections,
            from_spool,
        }
        .render()
        .map_err(anyhow::Error::from)
    };
    let html = |body: String| HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body);

    if !matches!(request.kind, RequestKind::Access | RequestKind::Portability) {
        return Ok(html(render(Some("staff.data.not_collected_kind"), Vec::new(), false)?));
    }
    // Once the request's personal data was purged (or its address forgotten), nothing is shown,
    // whatever file may remain.
    if request.email.is_none() {
        return Ok(html(render(Some("staff.data.purged"), Vec::new(), false)?));
    }

    // GDPR Art. 5(2): the view is recorded, naming the staff member, before anything is read.
    let mut tx = app.store.begin().await?;
    let event = Event::StaffViewed { what: Some(Viewed::CollectedData) };
    events::record(&mut tx, Some(&request.id), &Actor::staff(&viewer.id), &event, app.now_ms()).await?;
    let export = exports::latest_for_request(&mut tx, &request.id).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;

    let key = app.keys.export.clone();
    let (found, from_spool) = match export {
        Some(e) if e.deleted_at.is_none() => {
            let storage = app.exports.clone();
            let found = web::block(move || preview_stored(storage.as_ref(), &e.file_name, &key, PER_COLLECTION))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))??;
            (Some(found), false)
        }
        Some(_) => (None, false),
        None => {
            let spools: Vec<(String, std::path::PathBuf)> = app
                .connectors
                .iter()
                .map(|c| c.info().name.clone())
                .map(|name| {
                    let p = crate::services::progress::spool_path(&app, &request.id, &name);
                    (name, p)
                })
                .filter(|(_, p)| p.exists())
                .collect();
            if spools.is_empty() {
                (None, true)
            } else {
                let found = web::block(move || preview_spools(&spools, &key, PER_COLLECTION))
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))??;
                (Some(found), true)
            }
        }
    };
    let Some(found) = found else {
        let why = if from_spool { "staff.data.not_collected" } else { "staff.data.export_deleted" };
        return Ok(html(render(Some(why), Vec::new(), false)?));
    };
    let collections: Vec<CollectionView> = found
        .into_iter()
        .map(|c| {
            let info = app.connector(&c.source).map(|s| s.info().clone());
            let source = info
                .as_ref()
                .map(|i| i.label.get(t.locale).trim().to_owned())
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| c.source.clone());
            let collection = info
                .as_ref()
                .and_then(|i| i.collection(&c.collection))
                .map(|col| col.label.get(t.locale).trim().to_owned())
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| c.collection.clone());
            let more = c.more();
            CollectionView {
                source,
                collection,
                more: (more > 0).then(|| t.fmt("staff.data.more", &[("n", &more.to_string())])),
                columns: c.columns,
                rows: c.rows,
            }
        })
        .collect();
    let nothing = collections.is_empty().then_some("staff.data.nothing_found");
    Ok(html(render(nothing, collections, from_spool)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::{RecordSink, SourceInfo, Text};
    use crate::export::{ExportInput, ExportSource, SpoolWriter, build_export};

    fn spool(dir: &Path, key: &SecretKey, name: &str, collections: &[(&str, usize)]) -> std::path::PathBuf {
        let path = dir.join(format!("{name}.spool"));
        let mut w = SpoolWriter::create(&path, key).unwrap();
        for (c, n) in collections {
            w.begin_collection(c, &["id".into(), "note".into()]).unwrap();
            for i in 0..*n {
                let mut r = crate::connectors::Record::new();
                r.insert("id".into(), Value::from(i as u64));
                r.insert("note".into(), Value::from(format!("{c} {i}, with a comma")));
                w.record(r).unwrap();
            }
        }
        w.finish().unwrap();
        path
    }

    #[test]
    fn an_export_is_previewed_per_collection_and_bounded() {
        let dir = std::env::temp_dir().join(format!("dossier-preview-{}", crate::crypto::new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = SecretKey::generate();
        let crm = spool(&dir, &key, "crm", &[("contacts", 1), ("orders", 45)]);
        let shop = spool(&dir, &key, "shop", &[("carts", 3)]);
        let info =
            |name: &str| SourceInfo { name: name.into(), label: Text::default(), kind: "sql", collections: Vec::new() };
        let input = ExportInput {
            reference: "DSR-2026-000001".into(),
            kind: RequestKind::Access,
            locale: crate::domain::Locale::En,
            received_at: time::OffsetDateTime::UNIX_EPOCH,
            generated_at: time::OffsetDateTime::UNIX_EPOCH,
            due_date: time::macros::date!(2026 - 01 - 01),
            controller: crate::config::demo_controller(),
            sources: vec![
                ExportSource { info: info("crm"), spool: Some(crm.clone()) },
                ExportSource { info: info("empty"), spool: None },
                ExportSource { info: info("shop"), spool: Some(shop.clone()) },
            ],
        };
        let out = dir.join("export.zip.enc");
        build_export(&input, &key, &out).unwrap();
        let got = preview_export(&out, &key, 20).unwrap();
        let names: Vec<_> =
            got.iter().map(|c| (c.source.as_str(), c.collection.as_str(), c.total, c.rows.len())).collect();
        assert_eq!(names, [("crm", "contacts", 1, 1), ("crm", "orders", 45, 20), ("shop", "carts", 3, 3)]);
        assert_eq!(got[1].more(), 25);
        assert_eq!(got[1].columns, ["id", "note"]);
        assert_eq!(got[1].rows[19], ["19", "orders 19, with a comma"]);

        // The spools give the same preview.
        let from_spools = preview_spools(&[("crm".into(), crm), ("shop".into(), shop)], &key, 20).unwrap();
        assert_eq!(from_spools, got);

        // Another key: nothing is shown.
        assert!(preview_export(&out, &SecretKey::generate(), 20).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
