//! The CSV connector: a folder of CSV files exported from an older tool (a loyalty programme, an
//! events platform, a spreadsheet someone kept up to date).
//!
//! A source is a folder (`dir`); each collection is one file in it. The guide is
//! `docs/connectors.md`; the rules it documents are enforced here:
//!
//! - **Matching.** A root collection keeps the rows where any `email_columns` value, trimmed and
//!   lower-cased, *equals* the subject's (already normalised) address. Never a substring, so
//!   `jeanne.martin@example.fr.com` is not a match.
//! - **Following references.** A `via` collection keeps the rows whose `column` (trimmed) equals
//!   the `references` value of a row already collected in an *earlier* collection. Config order
//!   rules out cycles.
//! - **Names.** `email_columns`, `via.column`, `via.references` and `columns` name headers as
//!   written in the file (surrounding spaces ignored); `columns` may rename them for the export.
//! - **Streaming.** Files are read record by record on a blocking thread, decoded while reading
//!   (Windows-1252 through `encoding_rs`), and each record goes to the [`RecordSink`] through a
//!   small bounded channel; only the distinct key values a later collection needs are kept.
//! - **Broken rows.** A row with the wrong number of fields, or that is not valid UTF-8 in a UTF-8
//!   file, is skipped and counted, never a crash; `check` lists them by line number. A skipped row
//!   that holds the subject's address fails the collection instead: a person is never given a
//!   silently partial answer.
//! - **Values.** Every value is a JSON string, as written in the file; an empty field is `null`.
//! - **Safety.** `file` must stay inside `dir` (no `..`, not absolute); nothing is ever written.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::sql::Via;
use super::{
    Art15, CollectionInfo, Connector, ConnectorError, ConnectorErrorKind, HealthReport, Record, RecordSink, SourceInfo,
    Subject, Text,
};

/// How many broken rows `check` lists one by one per file before summing up the rest.
pub const MAX_LISTED_PROBLEMS: usize = 10;

/// Records in flight between the reading thread and the sink.
const CHANNEL_CAPACITY: usize = 64;

/// `[[sources]]` with `kind = "csv"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvSourceConfig {
    pub name: String,
    #[serde(default)]
    pub label: Option<Text>,
    /// The folder holding the files. An absolute path is best; a relative one is relative to the
    /// directory Dossier runs in.
    pub dir: PathBuf,
    /// Default field delimiter of the source's files (one character). Default `,`.
    #[serde(default)]
    pub delimiter: Option<String>,
    /// Default encoding of the source's files: `utf-8` (default), `windows-1252`, `latin-1`,
    /// `iso-8859-15`.
    #[serde(default)]
    pub encoding: Option<String>,
    pub collections: Vec<CsvCollectionConfig>,
}

/// `[[sources.collections]]`: one file, reached by email (`email_columns`) or from an earlier
/// collection (`via`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvCollectionConfig {
    pub name: String,
    #[serde(default)]
    pub label: Option<Text>,
    /// The file, relative to the source's `dir`.
    pub file: String,
    /// Overrides the source's `delimiter` for this file.
    #[serde(default)]
    pub delimiter: Option<String>,
    /// Overrides the source's `encoding` for this file.
    #[serde(default)]
    pub encoding: Option<String>,
    /// A root collection: the rows where any of these columns holds the subject's email.
    #[serde(default)]
    pub email_columns: Vec<String>,
    /// A related collection: the rows reached from an earlier collection.
    #[serde(default)]
    pub via: Option<Via>,
    /// The columns to export, in this order, each a header (`"Nom"`) or a header renamed for the
    /// export (`{ header = "Adresse e-mail", as = "email" }`). Default: every column, as headed.
    #[serde(default)]
    pub columns: Option<Vec<ColumnSpec>>,
    #[serde(default)]
    pub art15: Art15,
}

/// One entry of `columns`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ColumnSpec {
    /// Exported under its header.
    Header(String),
    /// Exported under another name.
    Renamed(RenamedColumn),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenamedColumn {
    pub header: String,
    #[serde(rename = "as")]
    pub name: String,
}

impl ColumnSpec {
    fn header(&self) -> &str {
        match self {
            ColumnSpec::Header(h) => h.trim(),
            ColumnSpec::Renamed(r) => r.header.trim(),
        }
    }

    fn export_name(&self) -> &str {
        match self {
            ColumnSpec::Header(h) => h.trim(),
            ColumnSpec::Renamed(r) => r.name.trim(),
        }
    }
}

/// The character encodings the connector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvEncoding {
    Utf8,
    /// Windows-1252, also used for files labelled Latin-1 / ISO-8859-1 (as browsers do: it is a
    /// superset of ISO-8859-1's printable characters, and what such files really hold).
    Windows1252,
    /// ISO-8859-15 (Latin-9, with `€`).
    Iso8859_15,
}

impl CsvEncoding {
    pub const ACCEPTED: &'static str = "utf-8, windows-1252, latin-1 (read as windows-1252), iso-8859-15";

    pub fn parse(label: &str) -> anyhow::Result<Self> {
        match label.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Ok(CsvEncoding::Utf8),
            "windows-1252" | "cp1252" | "latin-1" | "latin1" | "iso-8859-1" => Ok(CsvEncoding::Windows1252),
            "iso-8859-15" | "latin-9" | "latin9" => Ok(CsvEncoding::Iso8859_15),
            other => anyhow::bail!("encoding `{other}` is not supported; accepted: {}", Self::ACCEPTED),
        }
    }

    fn decoder(self) -> Option<encoding_rs::Decoder> {
        match self {
            CsvEncoding::Utf8 => None,
            CsvEncoding::Windows1252 => Some(encoding_rs::WINDOWS_1252.new_decoder()),
            CsvEncoding::Iso8859_15 => Some(encoding_rs::ISO_8859_15.new_decoder()),
        }
    }
}

fn parse_delimiter(what: &str, d: &str) -> anyhow::Result<u8> {
    let bytes = d.as_bytes();
    anyhow::ensure!(
        bytes.len() == 1 && bytes[0].is_ascii() && !matches!(bytes[0], b'"' | b'\r' | b'\n'),
        "{what}: delimiter {d:?} must be one ASCII character other than a quote or a line break \
         (usually \",\", \";\" or \"\\t\")"
    );
    Ok(bytes[0])
}

/// A `Read` adapter that decodes a single-byte encoding to UTF-8 as it is read, a buffer at a time.
struct Decoding<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    raw: Box<[u8]>,
    raw_pos: usize,
    raw_len: usize,
    out: Box<[u8]>,
    out_pos: usize,
    out_len: usize,
    eof: bool,
    done: bool,
}

impl<R: Read> Decoding<R> {
    fn new(inner: R, decoder: encoding_rs::Decoder) -> Self {
        Self {
            inner,
            decoder,
            raw: vec![0; 8 * 1024].into_boxed_slice(),
            raw_pos: 0,
            raw_len: 0,
            // A single-byte encoding takes at most 3 UTF-8 bytes per byte.
            out: vec![0; 32 * 1024].into_boxed_slice(),
            out_pos: 0,
            out_len: 0,
            eof: false,
            done: false,
        }
    }
}

impl<R: Read> Read for Decoding<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.out_pos < self.out_len {
                let n = buf.len().min(self.out_len - self.out_pos);
                buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
                self.out_pos += n;
                return Ok(n);
            }
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            if self.raw_pos == self.raw_len && !self.eof {
                let n = loop {
                    match self.inner.read(&mut self.raw) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    }
                };
                self.raw_pos = 0;
                self.raw_len = n;
                self.eof = n == 0;
            }
            let (result, read, written, _) =
                self.decoder.decode_to_utf8(&self.raw[self.raw_pos..self.raw_len], &mut self.out, self.eof);
            self.raw_pos += read;
            self.out_pos = 0;
            self.out_len = written;
            if self.eof && result == encoding_rs::CoderResult::InputEmpty {
                self.done = true;
            }
        }
    }
}

/// Passes bytes through and remembers where line breaks are (`\n`, `\r\n` or a lone `\r`), so
/// that a record's line number can be told from its byte offset. The csv crate's own count is off
/// by one after `\r\n` (it stops on the `\r`) and ignores a lone `\r`; only the read-ahead part
/// of the file is remembered.
struct LineCounter<R> {
    inner: R,
    /// Offset of the next byte read from `inner`.
    offset: u64,
    prev_cr: bool,
    /// `\r` and `\n` bytes not yet passed by a record: (offset, whether it ends a line).
    ends: std::collections::VecDeque<(u64, bool)>,
    /// Line breaks before the last record asked about.
    breaks: u64,
}

impl<R: Read> LineCounter<R> {
    fn new(inner: R) -> Self {
        Self { inner, offset: 0, prev_cr: false, ends: std::collections::VecDeque::new(), breaks: 0 }
    }

    /// The 1-based line of the record whose bytes start at `start` (asked record after record:
    /// offsets only grow). Terminators right at `start` (the `\n` of a `\r\n`, blank lines) come
    /// before the record's first line.
    fn line_of(&mut self, start: u64) -> u64 {
        let mut next = start;
        while let Some(&(at, ends_line)) = self.ends.front() {
            if at == next {
                next += 1;
            } else if at > start {
                break;
            }
            self.ends.pop_front();
            self.breaks += u64::from(ends_line);
        }
        self.breaks + 1
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            match b {
                b'\r' => self.ends.push_back((self.offset + i as u64, true)),
                b'\n' => self.ends.push_back((self.offset + i as u64, !self.prev_cr)),
                _ => {}
            }
            self.prev_cr = b == b'\r';
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// How a collection finds its rows. Column names are headers of the collection's own file, except
/// `references`, a header of the parent's file.
#[derive(Debug, Clone)]
enum Filter {
    Email(Vec<String>),
    Via { parent: usize, column: String, references: String },
}

/// A validated collection, ready to read.
#[derive(Debug, Clone)]
struct Plan {
    name: String,
    /// As configured, for messages.
    file: String,
    path: PathBuf,
    delimiter: u8,
    encoding: CsvEncoding,
    filter: Filter,
    /// `None`: every column, as headed.
    columns: Option<Vec<ColumnSpec>>,
    /// Headers whose distinct values later collections need.
    keys: Vec<String>,
}

impl Plan {
    /// Every header this collection's configuration names in its own file.
    fn configured_headers(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        match &self.filter {
            Filter::Email(cols) => out.extend(cols.iter().map(|c| c.trim())),
            Filter::Via { column, .. } => out.push(column.trim()),
        }
        if let Some(cols) = &self.columns {
            out.extend(cols.iter().map(ColumnSpec::header));
        }
        out.extend(self.keys.iter().map(|k| k.trim()));
        let mut seen = HashSet::new();
        out.retain(|c| seen.insert(*c));
        out
    }
}

/// Why a row was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    FieldCount { found: usize, expected: usize },
    InvalidUtf8,
}

/// One row of a file, as the reader hands it out.
enum Row<'r> {
    Fields { fields: Vec<&'r str> },
    Broken { line: u64, problem: Problem, raw: &'r csv::ByteRecord },
}

/// An open file: its header, and records read one by one.
struct FileReader<'p> {
    plan: &'p Plan,
    source: &'p str,
    csv: csv::Reader<LineCounter<Box<dyn Read + Send>>>,
    headers: Vec<String>,
    record: csv::ByteRecord,
}

impl<'p> FileReader<'p> {
    fn open(plan: &'p Plan, source: &'p str, dir: &Path) -> Result<Self, ConnectorError> {
        let file = std::fs::File::open(&plan.path).map_err(|e| {
            let (kind, message) = match e.kind() {
                std::io::ErrorKind::NotFound if !dir.is_dir() => (
                    ConnectorErrorKind::Misconfigured,
                    format!("folder {} of source {source} not found", dir.display()),
                ),
                std::io::ErrorKind::NotFound => (
                    ConnectorErrorKind::Misconfigured,
                    format!(
                        "file {} not found in folder {} (collection {}, source {source})",
                        plan.file,
                        dir.display(),
                        plan.name
                    ),
                ),
                std::io::ErrorKind::PermissionDenied => (
                    ConnectorErrorKind::Misconfigured,
                    format!(
                        "file {} in folder {} (collection {}, source {source}) may not be read by the \
                         account Dossier runs as",
                        plan.file,
                        dir.display(),
                        plan.name
                    ),
                ),
                _ => (
                    ConnectorErrorKind::Failed,
                    format!("file {} (collection {}, source {source}) cannot be opened", plan.file, plan.name),
                ),
            };
            ConnectorError::new(kind, message).with_cause(e)
        })?;
        let input: Box<dyn Read + Send> = match plan.encoding.decoder() {
            None => Box::new(file),
            Some(decoder) => Box::new(Decoding::new(file, decoder)),
        };
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(plan.delimiter)
            .has_headers(true)
            .flexible(true)
            .from_reader(LineCounter::new(input));
        let raw_headers = csv.byte_headers().map_err(|e| read_error(plan, source, e))?.clone();
        if raw_headers.is_empty() || (raw_headers.len() == 1 && raw_headers[0].is_empty()) {
            return Err(ConnectorError::new(
                ConnectorErrorKind::Misconfigured,
                format!(
                    "{} (collection {}, source {source}) is empty: its first line should name the columns",
                    plan.file, plan.name
                ),
            ));
        }
        let mut headers = Vec::with_capacity(raw_headers.len());
        for (i, h) in raw_headers.iter().enumerate() {
            let h = std::str::from_utf8(h).map_err(|e| {
                ConnectorError::new(
                    ConnectorErrorKind::Misconfigured,
                    format!(
                        "the first line of {} (collection {}, source {source}) is not valid UTF-8; if the file \
                         comes from Excel or an older Windows tool, set encoding = \"windows-1252\"",
                        plan.file, plan.name
                    ),
                )
                .with_cause(e)
            })?;
            let h = if i == 0 { h.trim_start_matches('\u{feff}') } else { h };
            headers.push(h.trim().to_string());
        }
        Ok(Self { plan, source, csv, headers, record: csv::ByteRecord::new() })
    }

    /// The position of a configured header, or an error naming it and listing what the file has.
    fn index_of(&self, header: &str) -> Result<usize, ConnectorError> {
        let header = header.trim();
        if let Some(i) = self.headers.iter().position(|h| h == header) {
            return Ok(i);
        }
        let hint = match self.headers.iter().find(|h| h.to_lowercase() == header.to_lowercase()) {
            Some(h) => format!(" (there is a column \"{h}\": names must match exactly)"),
            None => format!("; its columns are: {}", self.headers.join(", ")),
        };
        Err(ConnectorError::new(
            ConnectorErrorKind::Misconfigured,
            format!(
                "column \"{header}\" not found in the first line of {} (collection {}, source {}){hint}",
                self.plan.file, self.plan.name, self.source
            ),
        ))
    }

    /// The names fields are exported under, with their positions in the file.
    fn output_columns(&self) -> Result<Vec<(usize, String)>, ConnectorError> {
        match &self.plan.columns {
            Some(cols) => cols.iter().map(|c| Ok((self.index_of(c.header())?, c.export_name().to_string()))).collect(),
            None => Ok(unique_names(&self.headers).into_iter().enumerate().collect()),
        }
    }

    /// The next row, or `None` at the end of the file.
    fn next_row(&mut self) -> Result<Option<Row<'_>>, ConnectorError> {
        let more = self.csv.read_byte_record(&mut self.record).map_err(|e| read_error(self.plan, self.source, e))?;
        if !more {
            return Ok(None);
        }
        let start = self.record.position().map(|p| p.byte()).unwrap_or(0);
        let line = self.csv.get_mut().line_of(start);
        if self.record.len() != self.headers.len() {
            let problem = Problem::FieldCount { found: self.record.len(), expected: self.headers.len() };
            return Ok(Some(Row::Broken { line, problem, raw: &self.record }));
        }
        let mut fields = Vec::with_capacity(self.record.len());
        for f in self.record.iter() {
            match std::str::from_utf8(f) {
                Ok(s) => fields.push(s),
                Err(_) => return Ok(Some(Row::Broken { line, problem: Problem::InvalidUtf8, raw: &self.record })),
            }
        }
        Ok(Some(Row::Fields { fields }))
    }
}

/// Headers as export names: an empty header becomes `column N`, a repeated one `name (2)`.
fn unique_names(headers: &[String]) -> Vec<String> {
    let mut seen: HashSet<String> = HashSet::new();
    headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let base = if h.is_empty() { format!("column {}", i + 1) } else { h.clone() };
            let mut name = base.clone();
            let mut n = 2;
            while !seen.insert(name.clone()) {
                name = format!("{base} ({n})");
                n += 1;
            }
            name
        })
        .collect()
}

fn read_error(plan: &Plan, source: &str, e: csv::Error) -> ConnectorError {
    ConnectorError::new(
        ConnectorErrorKind::Failed,
        format!("reading {} (collection {}, source {source}) failed", plan.file, plan.name),
    )
    .with_cause(e)
}

fn describe(file: &str, line: u64, problem: &Problem) -> String {
    match problem {
        Problem::FieldCount { found, expected } => {
            let fields = if *found == 1 { "field" } else { "fields" };
            format!("{file} line {line}: {found} {fields} where the header has {expected}")
        }
        Problem::InvalidUtf8 => format!(
            "{file} line {line}: not valid UTF-8 (if the file comes from Excel or an older Windows tool, \
             set encoding = \"windows-1252\")"
        ),
    }
}

/// Whether `value`, trimmed and lower-cased, is exactly `email` (already normalised).
fn is_email(value: &str, email: &str) -> bool {
    let v = value.trim();
    if v.is_ascii() { v.eq_ignore_ascii_case(email) } else { v.to_lowercase() == email }
}

/// Whether any field of a skipped row holds `email`, as far as it can be read.
fn mentions(raw: &csv::ByteRecord, email: &str) -> bool {
    raw.iter().any(|f| is_email(&String::from_utf8_lossy(f), email))
}

fn value(s: &str) -> Value {
    if s.is_empty() { Value::Null } else { Value::String(s.to_string()) }
}

fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What the reading thread sends to the sink.
enum Message {
    Begin(String, Vec<String>),
    Record(Record),
}

struct Inner {
    info: SourceInfo,
    dir: PathBuf,
    plans: Vec<Plan>,
}

/// The CSV connector. Built from [`CsvSourceConfig`] (validated by [`CsvConnector::new`]); opens
/// the files on each use.
pub struct CsvConnector {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CsvConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvConnector")
            .field("source", &self.inner.info.name)
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

impl CsvConnector {
    /// Validates the configuration (file paths, delimiters, encodings, references) without
    /// touching the folder.
    pub fn new(config: CsvSourceConfig) -> anyhow::Result<Self> {
        let source = &config.name;
        anyhow::ensure!(!source.trim().is_empty(), "a CSV source has an empty `name`");
        anyhow::ensure!(
            !config.dir.as_os_str().is_empty(),
            "source `{source}`: `dir` is empty; set it to the folder holding the CSV files"
        );
        anyhow::ensure!(!config.collections.is_empty(), "source `{source}` has no `[[sources.collections]]`");
        let delimiter = match &config.delimiter {
            Some(d) => parse_delimiter(&format!("source `{source}`"), d)?,
            None => b',',
        };
        let encoding = match &config.encoding {
            Some(e) => CsvEncoding::parse(e).map_err(|e| anyhow::anyhow!("source `{source}`: {e}"))?,
            None => CsvEncoding::Utf8,
        };

        let mut plans: Vec<Plan> = Vec::with_capacity(config.collections.len());
        let mut infos = Vec::with_capacity(config.collections.len());
        for c in &config.collections {
            let plan = Self::plan(c, &config.dir, delimiter, encoding, &plans)
                .map_err(|e| anyhow::anyhow!("source `{source}`: {e}"))?;
            if let Filter::Via { parent, references, .. } = &plan.filter {
                let parent = &mut plans[*parent];
                if !parent.keys.iter().any(|k| k.trim() == references.trim()) {
                    parent.keys.push(references.trim().to_string());
                }
            }
            plans.push(plan);
            infos.push(CollectionInfo {
                rules: crate::plans::Rules::default(),
                name: c.name.clone(),
                label: c.label.clone().unwrap_or_else(|| Text::Plain(c.name.clone())),
                art15: c.art15.clone(),
            });
        }
        Ok(Self {
            inner: Arc::new(Inner {
                info: SourceInfo {
                    name: config.name.clone(),
                    label: config.label.clone().unwrap_or_else(|| Text::Plain(config.name.clone())),
                    kind: "csv",
                    collections: infos,
                },
                dir: config.dir.clone(),
                plans,
            }),
        })
    }

    fn plan(
        c: &CsvCollectionConfig,
        dir: &Path,
        delimiter: u8,
        encoding: CsvEncoding,
        earlier: &[Plan],
    ) -> anyhow::Result<Plan> {
        let name = &c.name;
        anyhow::ensure!(!name.trim().is_empty(), "a collection has an empty `name`");
        anyhow::ensure!(earlier.iter().all(|p| &p.name != name), "two collections are named `{name}`");
        let file = c.file.trim();
        let relative = Path::new(file);
        // `./a.csv` is named `a.csv` in messages.
        let shown: PathBuf = relative.components().filter(|p| matches!(p, Component::Normal(_))).collect();
        anyhow::ensure!(
            !file.is_empty()
                && relative.components().any(|p| matches!(p, Component::Normal(_)))
                && relative.components().all(|p| matches!(p, Component::Normal(_) | Component::CurDir)),
            "collection `{name}`: file `{}` must name a file inside `dir`, relative to it \
             (no `..`, not an absolute path)",
            c.file
        );
        let delimiter = match &c.delimiter {
            Some(d) => parse_delimiter(&format!("collection `{name}`"), d)?,
            None => delimiter,
        };
        let encoding = match &c.encoding {
            Some(e) => CsvEncoding::parse(e).map_err(|e| anyhow::anyhow!("collection `{name}`: {e}"))?,
            None => encoding,
        };
        let filter = match (&c.via, c.email_columns.is_empty()) {
            (None, false) => {
                anyhow::ensure!(
                    c.email_columns.iter().all(|col| !col.trim().is_empty()),
                    "collection `{name}`: `email_columns` holds an empty name"
                );
                Filter::Email(c.email_columns.iter().map(|s| s.trim().to_string()).collect())
            }
            (Some(via), true) => {
                anyhow::ensure!(
                    !via.column.trim().is_empty() && !via.references.trim().is_empty(),
                    "collection `{name}`: `via.column` and `via.references` must name columns"
                );
                let parent = earlier.iter().position(|p| p.name == via.collection).ok_or_else(|| {
                    anyhow::anyhow!(
                        "collection `{name}` is reached via `{}`, which is not a collection declared \
                         before it (declare `{}` first; references can only point backwards, which \
                         rules out cycles)",
                        via.collection,
                        via.collection
                    )
                })?;
                Filter::Via {
                    parent,
                    column: via.column.trim().to_string(),
                    references: via.references.trim().to_string(),
                }
            }
            (Some(_), false) => {
                anyhow::bail!("collection `{name}` has both `email_columns` and `via`; give exactly one")
            }
            (None, true) => anyhow::bail!(
                "collection `{name}` needs either `email_columns` (rows holding the person's email) \
                 or `via` (rows related to an earlier collection)"
            ),
        };
        if let Some(cols) = &c.columns {
            anyhow::ensure!(!cols.is_empty(), "collection `{name}`: `columns` is empty");
            let mut names = HashSet::new();
            for col in cols {
                anyhow::ensure!(
                    !col.header().is_empty() && !col.export_name().is_empty(),
                    "collection `{name}`: `columns` holds an empty name"
                );
                anyhow::ensure!(
                    names.insert(col.export_name()),
                    "collection `{name}`: two columns are exported as `{}`",
                    col.export_name()
                );
            }
        }
        Ok(Plan {
            name: name.clone(),
            file: shown.display().to_string(),
            path: dir.join(relative),
            delimiter,
            encoding,
            filter,
            columns: c.columns.clone(),
            keys: Vec::new(),
        })
    }
}

impl Inner {
    /// Reads every file in full; counts rows and lists skipped ones. Runs on a blocking thread.
    fn check(&self) -> Result<HealthReport, ConnectorError> {
        let source = self.info.name.as_str();
        let mut notes = Vec::new();
        for plan in &self.plans {
            let mut reader = FileReader::open(plan, source, &self.dir)?;
            for header in plan.configured_headers() {
                reader.index_of(header)?;
            }
            let names = unique_names(&reader.headers);
            let mut warnings: Vec<String> = reader
                .headers
                .iter()
                .zip(&names)
                .filter(|(h, n)| h != n && plan.columns.is_none())
                .map(|(h, n)| {
                    if h.is_empty() {
                        format!("warning: {} has a column without a name; it is exported as \"{n}\"", plan.file)
                    } else {
                        format!(
                            "warning: {} has two columns named \"{h}\"; the second is exported as \"{n}\"",
                            plan.file
                        )
                    }
                })
                .collect();
            let (mut rows, mut skipped) = (0u64, 0u64);
            while let Some(row) = reader.next_row()? {
                match row {
                    Row::Fields { .. } => rows += 1,
                    Row::Broken { line, problem, .. } => {
                        skipped += 1;
                        if skipped <= MAX_LISTED_PROBLEMS as u64 {
                            warnings
                                .push(format!("warning: {}; the row is skipped", describe(&plan.file, line, &problem)));
                        }
                    }
                }
            }
            let mut note = format!("{} rows in {} (collection {})", format_count(rows), plan.file, plan.name);
            if skipped > 0 {
                let rows = if skipped == 1 { "row" } else { "rows" };
                let _ = write!(note, ", {} broken {rows} skipped", format_count(skipped));
            }
            notes.push(note);
            notes.append(&mut warnings);
            if skipped > MAX_LISTED_PROBLEMS as u64 {
                notes.push(format!(
                    "warning: {} more broken rows in {} are skipped",
                    format_count(skipped - MAX_LISTED_PROBLEMS as u64),
                    plan.file
                ));
            }
        }
        Ok(HealthReport { notes })
    }

    /// Reads the files in order and sends the subject's records. Runs on a blocking thread.
    fn collect(&self, email: &str, tx: &tokio::sync::mpsc::Sender<Message>) -> Result<(), ConnectorError> {
        let source = self.info.name.as_str();
        // Per collection: the distinct (trimmed) values of its key headers, for later collections.
        let mut keys: Vec<HashMap<String, HashSet<String>>> = Vec::with_capacity(self.plans.len());
        for plan in &self.plans {
            let mut found: HashMap<String, HashSet<String>> = HashMap::new();
            let parent_values = match &plan.filter {
                Filter::Via { parent, references, .. } => match keys[*parent].get(references) {
                    Some(values) if !values.is_empty() => Some(values),
                    // No parent row: nothing can match; the file need not be read.
                    _ => {
                        keys.push(found);
                        continue;
                    }
                },
                Filter::Email(_) => None,
            };
            let mut reader = FileReader::open(plan, source, &self.dir)?;
            let match_on: Vec<usize> = match &plan.filter {
                Filter::Email(cols) => cols.iter().map(|c| reader.index_of(c)).collect::<Result<_, _>>()?,
                Filter::Via { column, .. } => vec![reader.index_of(column)?],
            };
            let key_columns: Vec<(String, usize)> = plan
                .keys
                .iter()
                .map(|k| Ok((k.clone(), reader.index_of(k)?)))
                .collect::<Result<_, ConnectorError>>()?;
            let output = reader.output_columns()?;
            let fields: Vec<String> = output.iter().map(|(_, n)| n.clone()).collect();
            let (mut begun, mut skipped) = (false, 0u64);
            while let Some(row) = reader.next_row()? {
                let fields_of_row = match row {
                    Row::Fields { fields } => fields,
                    Row::Broken { line, problem, raw } => {
                        if mentions(raw, email) {
                            return Err(ConnectorError::new(
                                ConnectorErrorKind::Failed,
                                format!(
                                    "{} (collection {}, source {source}); this row holds the person's address \
                                     but cannot be read: fix the file, then retry",
                                    describe(&plan.file, line, &problem),
                                    plan.name
                                ),
                            ));
                        }
                        skipped += 1;
                        continue;
                    }
                };
                let hit = match parent_values {
                    None => match_on.iter().any(|&i| is_email(fields_of_row[i], email)),
                    Some(values) => match_on.iter().any(|&i| values.contains(fields_of_row[i].trim())),
                };
                if !hit {
                    continue;
                }
                for (key, i) in &key_columns {
                    let v = fields_of_row[*i].trim();
                    if !v.is_empty() {
                        found.entry(key.clone()).or_default().insert(v.to_string());
                    }
                }
                let record: Record = output.iter().map(|(i, n)| (n.clone(), value(fields_of_row[*i]))).collect();
                if !begun {
                    send(tx, Message::Begin(plan.name.clone(), fields.clone()))?;
                    begun = true;
                }
                send(tx, Message::Record(record))?;
            }
            if skipped > 0 {
                tracing::warn!(
                    source,
                    collection = %plan.name,
                    file = %plan.file,
                    skipped,
                    "broken rows skipped; `dossier connectors check` lists them"
                );
            }
            keys.push(found);
        }
        Ok(())
    }
}

fn send(tx: &tokio::sync::mpsc::Sender<Message>, message: Message) -> Result<(), ConnectorError> {
    tx.blocking_send(message).map_err(|_| ConnectorError::new(ConnectorErrorKind::Failed, "collection was stopped"))
}

fn sink_error(e: anyhow::Error, collection: &str) -> ConnectorError {
    ConnectorError::new(
        ConnectorErrorKind::Failed,
        format!("the records of collection {collection} could not be stored"),
    )
    .with_cause(e)
}

fn join_error(e: tokio::task::JoinError, source: &str) -> ConnectorError {
    ConnectorError::new(
        ConnectorErrorKind::Failed,
        format!("reading the files of source {source} stopped unexpectedly"),
    )
    .with_cause(e)
}

#[async_trait::async_trait]
impl Connector for CsvConnector {
    fn info(&self) -> &SourceInfo {
        &self.inner.info
    }

    /// Opens every file, checks every configured column against its first line, reads it through
    /// and counts rows; lists broken rows by line number.
    async fn check(&self) -> Result<HealthReport, ConnectorError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.check()).await.map_err(|e| join_error(e, &self.inner.info.name))?
    }

    async fn collect(&self, subject: &Subject, sink: &mut dyn RecordSink) -> Result<(), ConnectorError> {
        let inner = Arc::clone(&self.inner);
        let email = subject.email.as_str().to_string();
        let (tx, mut rx) = tokio::sync::mpsc::channel(CHANNEL_CAPACITY);
        let reading = tokio::task::spawn_blocking(move || inner.collect(&email, &tx));
        let mut current = String::new();
        while let Some(message) = rx.recv().await {
            match message {
                Message::Begin(collection, fields) => {
                    sink.begin_collection(&collection, &fields).map_err(|e| sink_error(e, &collection))?;
                    current = collection;
                }
                Message::Record(record) => sink.record(record).map_err(|e| sink_error(e, &current))?,
            }
        }
        reading.await.map_err(|e| join_error(e, &self.inner.info.name))?
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;

    use super::*;
    use crate::connectors::build;
    use crate::domain::EmailAddress;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            let p = std::env::temp_dir().join(format!("dossier_csv_{:016x}", rand::random::<u64>()));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }

        /// Writes `text` encoded in Windows-1252.
        fn cp1252(&self, file: &str, text: &str) {
            let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
            assert!(!unmappable, "{file} holds a character Windows-1252 lacks");
            std::fs::write(self.0.join(file), bytes).unwrap();
        }

        fn utf8(&self, file: &str, bytes: &[u8]) {
            std::fs::write(self.0.join(file), bytes).unwrap();
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Collects everything a connector sends, checking the sink protocol as it goes.
    #[derive(Debug, Default)]
    struct VecSink {
        collections: Vec<(String, Vec<String>, Vec<Record>)>,
    }

    impl RecordSink for VecSink {
        fn begin_collection(&mut self, collection: &str, fields: &[String]) -> anyhow::Result<()> {
            assert!(self.collections.iter().all(|(c, _, _)| c != collection), "{collection} begun twice");
            self.collections.push((collection.to_string(), fields.to_vec(), Vec::new()));
            Ok(())
        }

        fn record(&mut self, record: Record) -> anyhow::Result<()> {
            let Some((_, fields, records)) = self.collections.last_mut() else {
                anyhow::bail!("record before begin_collection");
            };
            assert_eq!(&record.keys().cloned().collect::<Vec<_>>(), fields);
            records.push(record);
            Ok(())
        }
    }

    impl VecSink {
        fn names(&self) -> Vec<&str> {
            self.collections.iter().map(|(c, _, _)| c.as_str()).collect()
        }

        fn records(&self, collection: &str) -> &[Record] {
            self.collections.iter().find(|(c, _, _)| c == collection).map(|(_, _, r)| r.as_slice()).unwrap_or(&[])
        }

        /// The values of `field` in a collection, in file order.
        fn values(&self, collection: &str, field: &str) -> Vec<String> {
            self.records(collection)
                .iter()
                .map(|r| r.get(field).and_then(Value::as_str).unwrap_or_else(|| panic!("{field} in {r:?}")).to_string())
                .collect()
        }
    }

    fn subject(email: &str) -> Subject {
        Subject { email: EmailAddress::parse(email).unwrap() }
    }

    fn connector(dir: &Path, rest: &str) -> CsvConnector {
        let toml_text = format!("name = \"fidelite\"\ndir = {}\n{rest}", Value::String(dir.display().to_string()));
        let config: CsvSourceConfig = toml::from_str(&toml_text).unwrap_or_else(|e| panic!("{e}\n{toml_text}"));
        CsvConnector::new(config).unwrap()
    }

    async fn collect(c: &CsvConnector, email: &str) -> VecSink {
        let mut sink = VecSink::default();
        c.collect(&subject(email), &mut sink).await.unwrap_or_else(|e| panic!("{e}: {:?}", e.cause));
        sink
    }

    /// An export from an old French loyalty tool: `;`, Windows-1252, CRLF, a quoted note over two
    /// lines (with a `;` in it), one row with a field missing, accented names.
    const MEMBERS: &str = "N\u{b0} adh\u{e9}rent;Nom;Pr\u{e9}nom;Adresse e-mail;Ville;Remarque\r\n\
        1001;Martin;Jeanne;jeanne.martin@example.fr;Paris;\r\n\
        1002;Lef\u{e8}vre;H\u{e9}l\u{e8}ne;helene.lefevre@example.fr;Lyon;\"Carte perdue ; \nnouvelle carte \u{e9}mise\"\r\n\
        1003;Martin;Jeanne;  Jeanne.MARTIN@Example.FR ;Paris;\"ancienne carte, \u{ab} doublon \u{bb}\"\r\n\
        1004;Dupont;Fran\u{e7}ois;francois.dupont@example.fr;Nantes\r\n\
        1005;Martin;Jeanne;jeanne.martin@example.fr.com;Lille;homonyme\r\n\
        1006;Martin;Jeanne;xjeanne.martin@example.fr;Lille;\r\n\
        1007;Martin;Jeanne;jeanne.martin@example.com;Lyon;autre personne\r\n\
        1008;No\u{eb}l;Ga\u{eb}lle;;Rennes;sans email\r\n";

    const POINTS: &str = "Carte;Date;Magasin;Points\r\n\
        1001;2019-03-02;Paris 4e;120\r\n\
        1002;2019-03-05;Lyon;40\r\n\
        1003;2018-11-20;Paris 4e;35\r\n\
        1001;2020-01-15;Paris 11e;-100\r\n\
        1007;2020-02-01;Lyon;10\r\n\
        1003;2018-12-24; Paris 4e ;\r\n";

    const COLLECTIONS: &str = r#"
delimiter = ";"
encoding = "windows-1252"

[[collections]]
name = "members"
file = "adherents.csv"
email_columns = ["Adresse e-mail"]
columns = ["N° adhérent", "Nom", "Prénom", { header = "Adresse e-mail", as = "email" }, "Remarque"]

[[collections]]
name = "points"
file = "./points.csv"
via = { collection = "members", column = "Carte", references = "N° adhérent" }
"#;

    fn loyalty() -> TempDir {
        let dir = TempDir::new();
        dir.cp1252("adherents.csv", MEMBERS);
        dir.cp1252("points.csv", POINTS);
        dir
    }

    #[tokio::test]
    async fn finds_exactly_the_subjects_rows_in_a_windows_1252_export() {
        let dir = loyalty();
        let c = connector(&dir.0, COLLECTIONS);
        let sink = collect(&c, "Jeanne.Martin@example.fr").await;
        assert_eq!(sink.names(), ["members", "points"]);
        // The same address in another case and with spaces (1003); look-alikes are other people.
        assert_eq!(sink.values("members", "N° adhérent"), ["1001", "1003"]);
        assert_eq!(sink.collections[0].1, ["N° adhérent", "Nom", "Prénom", "email", "Remarque"]);
        let first = &sink.records("members")[0];
        assert_eq!(first["Prénom"], json!("Jeanne"));
        assert_eq!(first["Remarque"], json!(null), "an empty field is null");
        let second = &sink.records("members")[1];
        assert_eq!(second["email"], json!("  Jeanne.MARTIN@Example.FR "), "exported as written");
        assert_eq!(second["Remarque"], json!("ancienne carte, « doublon »"));
        // Via the card number, in file order; a padded key still matches, values stay as written.
        assert_eq!(sink.values("points", "Carte"), ["1001", "1003", "1001", "1003"]);
        assert_eq!(sink.records("points")[3]["Magasin"], json!(" Paris 4e "));
        assert_eq!(sink.records("points")[3]["Points"], json!(null));

        let all = serde_json::to_string(&sink.collections).unwrap();
        for other in ["example.fr.com", "xjeanne", "example.com", "Hélène", "1007"] {
            assert!(!all.contains(other), "{other} leaked into Jeanne's data");
        }
    }

    #[tokio::test]
    async fn accented_names_and_quoted_newlines_survive() {
        let dir = loyalty();
        let c = connector(&dir.0, COLLECTIONS);
        let sink = collect(&c, "helene.lefevre@example.fr").await;
        let r = &sink.records("members")[0];
        assert_eq!(r["Nom"], json!("Lefèvre"));
        assert_eq!(r["Prénom"], json!("Hélène"));
        assert_eq!(r["Remarque"], json!("Carte perdue ; \nnouvelle carte émise"));
        assert_eq!(sink.values("points", "Points"), ["40"]);
    }

    #[tokio::test]
    async fn similar_addresses_are_not_matched() {
        let dir = loyalty();
        let c = connector(&dir.0, COLLECTIONS);
        for (email, expected) in [
            ("jeanne.martin@example.com", vec!["1007"]),
            ("jeanne.martin@example.fr.com", vec!["1005"]),
            ("martin@example.fr", vec![]),
            ("example.fr@example.fr", vec![]),
            ("nobody@example.org", vec![]),
        ] {
            let sink = collect(&c, email).await;
            assert_eq!(sink.values("members", "N° adhérent"), expected, "{email}");
            if expected.is_empty() {
                assert!(sink.names().is_empty(), "{email}: no empty collection is begun");
            }
        }
    }

    #[tokio::test]
    async fn broken_rows_are_skipped_and_reported_by_line() {
        let dir = loyalty();
        let c = connector(&dir.0, COLLECTIONS);
        let report = c.check().await.unwrap();
        assert_eq!(
            report.notes,
            [
                "7 rows in adherents.csv (collection members), 1 broken row skipped",
                // Line 5: the quoted note of line 3 runs over two lines.
                "warning: adherents.csv line 6: 5 fields where the header has 6; the row is skipped",
                "6 rows in points.csv (collection points)",
            ]
        );
        // The broken row belongs to someone else: it does not stop anyone else's answer.
        let sink = collect(&c, "jeanne.martin@example.fr").await;
        assert_eq!(sink.records("members").len(), 2);
    }

    #[tokio::test]
    async fn a_broken_row_holding_the_subjects_address_fails_rather_than_hides() {
        let dir = loyalty();
        let c = connector(&dir.0, COLLECTIONS);
        let err = c.collect(&subject("francois.dupont@example.fr"), &mut VecSink::default()).await.unwrap_err();
        assert_eq!(err.kind, ConnectorErrorKind::Failed);
        assert!(
            err.message.starts_with("adherents.csv line 6: 5 fields where the header has 6 (collection members"),
            "{}",
            err.message
        );
        assert!(err.message.contains("holds the person's address"), "{}", err.message);
    }

    #[tokio::test]
    async fn invalid_utf8_rows_are_skipped_in_a_utf8_file() {
        let dir = TempDir::new();
        // A UTF-8 file (with a byte-order mark) where one row was pasted in Windows-1252.
        let mut bytes = b"\xef\xbb\xbfemail,name\n\"a@example.fr\",\"Ren\xc3\xa9e\"\nb@example.fr,Ren\xe9\n".to_vec();
        bytes.extend_from_slice(b"c@example.fr,\"two\nlines\"\nd@example.fr\n");
        dir.utf8("people.csv", &bytes);
        let c = connector(
            &dir.0,
            "[[collections]]\nname = \"people\"\nfile = \"people.csv\"\nemail_columns = [\"email\"]\n",
        );
        let report = c.check().await.unwrap();
        assert_eq!(
            report.notes,
            [
                "2 rows in people.csv (collection people), 2 broken rows skipped",
                "warning: people.csv line 3: not valid UTF-8 (if the file comes from Excel or an older Windows \
                 tool, set encoding = \"windows-1252\"); the row is skipped",
                "warning: people.csv line 6: 1 field where the header has 2; the row is skipped",
            ]
        );
        let sink = collect(&c, "a@example.fr").await;
        assert_eq!(sink.collections[0].1, ["email", "name"], "the byte-order mark is not part of the header");
        assert_eq!(sink.records("people")[0]["name"], json!("Renée"));
        assert_eq!(collect(&c, "c@example.fr").await.records("people")[0]["name"], json!("two\nlines"));
        // The unreadable row holds b@…: that person's answer fails instead of silently missing it.
        let err = c.collect(&subject("b@example.fr"), &mut VecSink::default()).await.unwrap_err();
        assert!(err.message.starts_with("people.csv line 3: not valid UTF-8"), "{}", err.message);
    }

    #[tokio::test]
    async fn missing_files_and_columns_are_named() {
        let dir = loyalty();
        let c = connector(&dir.0, &COLLECTIONS.replace("points.csv", "passages.csv"));
        let err = c.check().await.unwrap_err();
        assert_eq!(err.kind, ConnectorErrorKind::Misconfigured);
        assert_eq!(
            err.message,
            format!("file passages.csv not found in folder {} (collection points, source fidelite)", dir.0.display())
        );
        // Collecting for someone with no member row never needs the file; for Jeanne it does.
        assert!(collect(&c, "nobody@example.org").await.names().is_empty());
        let err = c.collect(&subject("jeanne.martin@example.fr"), &mut VecSink::default()).await.unwrap_err();
        assert_eq!(err.kind, ConnectorErrorKind::Misconfigured);

        let c = connector(&dir.0, &COLLECTIONS.replace("\"Adresse e-mail\"]", "\"E-mail\"]"));
        for err in [
            c.check().await.unwrap_err(),
            c.collect(&subject("jeanne.martin@example.fr"), &mut VecSink::default()).await.unwrap_err(),
        ] {
            assert_eq!(err.kind, ConnectorErrorKind::Misconfigured);
            assert_eq!(
                err.message,
                "column \"E-mail\" not found in the first line of adherents.csv (collection members, source \
                 fidelite); its columns are: N° adhérent, Nom, Prénom, Adresse e-mail, Ville, Remarque"
            );
        }
        let c = connector(&dir.0, &COLLECTIONS.replace("\"Ville\"", "\"x\"").replace("\"Nom\"", "\"NOM\""));
        let err = c.check().await.unwrap_err();
        assert!(err.message.ends_with("(there is a column \"Nom\": names must match exactly)"), "{}", err.message);

        let gone = dir.0.join("gone");
        let c = connector(&gone, COLLECTIONS);
        let err = c.check().await.unwrap_err();
        assert_eq!(err.message, format!("folder {} of source fidelite not found", gone.display()));
    }

    #[tokio::test]
    async fn without_columns_every_column_is_exported_under_a_unique_name() {
        let dir = TempDir::new();
        dir.utf8("t.csv", b"email,Note,Note,\na@example.fr,x,y,z\n");
        let c = connector(&dir.0, "[[collections]]\nname = \"t\"\nfile = \"t.csv\"\nemail_columns = [\"email\"]\n");
        let sink = collect(&c, "a@example.fr").await;
        assert_eq!(sink.collections[0].1, ["email", "Note", "Note (2)", "column 4"]);
        let notes = c.check().await.unwrap().notes;
        assert!(notes.iter().any(|n| n.contains("two columns named \"Note\"")), "{notes:?}");
    }

    #[tokio::test]
    async fn line_numbers_follow_every_line_ending_style() {
        let dir = TempDir::new();
        let one = "[[collections]]\nname = \"t\"\nfile = \"t.csv\"\nemail_columns = [\"email\"]\n";
        for (ending, text) in [
            ("CRLF", "email,n\r\na@x.fr,1\r\n\r\nbroken\r\nb@x.fr,\"x\r\ny\"\r\nbroken\r\n"),
            ("LF", "email,n\na@x.fr,1\n\nbroken\nb@x.fr,\"x\ny\"\nbroken"),
            ("CR", "email,n\ra@x.fr,1\r\rbroken\rb@x.fr,\"x\ry\"\rbroken\r"),
        ] {
            dir.utf8("t.csv", text.as_bytes());
            let notes = connector(&dir.0, one).check().await.unwrap().notes;
            assert_eq!(
                notes,
                [
                    "2 rows in t.csv (collection t), 2 broken rows skipped",
                    "warning: t.csv line 4: 1 field where the header has 2; the row is skipped",
                    "warning: t.csv line 7: 1 field where the header has 2; the row is skipped",
                ],
                "{ending}"
            );
        }
    }

    #[tokio::test]
    async fn an_empty_file_is_misconfigured() {
        let dir = TempDir::new();
        dir.utf8("t.csv", b"");
        let c = connector(&dir.0, "[[collections]]\nname = \"t\"\nfile = \"t.csv\"\nemail_columns = [\"email\"]\n");
        let err = c.check().await.unwrap_err();
        assert_eq!(err.kind, ConnectorErrorKind::Misconfigured);
        assert!(err.message.contains("t.csv (collection t, source fidelite) is empty"), "{}", err.message);
    }

    #[test]
    fn decoding_reads_windows_1252_across_buffer_boundaries() {
        let text: String = "é€ü;\n".repeat(10_000);
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
        let mut out = String::new();
        let mut reader = Decoding::new(&bytes[..], encoding_rs::WINDOWS_1252.new_decoder());
        let mut buf = [0u8; 7];
        let mut raw = Vec::new();
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
        }
        out.push_str(std::str::from_utf8(&raw).unwrap());
        assert_eq!(out, text);
    }

    fn config_error(toml_text: &str) -> String {
        match toml::from_str::<CsvSourceConfig>(toml_text) {
            Err(e) => e.to_string(),
            Ok(c) => match CsvConnector::new(c) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("accepted:\n{toml_text}"),
            },
        }
    }

    #[test]
    fn invalid_configurations_are_refused_with_a_reason() {
        let head = "name = \"f\"\ndir = \"/srv/exports\"\n";
        let root = "[[collections]]\nname = \"m\"\nfile = \"m.csv\"\nemail_columns = [\"email\"]\n";
        let cases: &[(String, &str)] = &[
            (
                format!("{head}[[collections]]\nname = \"m\"\nfile = \"../etc/passwd\"\nemail_columns = [\"e\"]\n"),
                "no `..`",
            ),
            (
                format!("{head}[[collections]]\nname = \"m\"\nfile = \"/etc/passwd\"\nemail_columns = [\"e\"]\n"),
                "not an absolute path",
            ),
            (
                format!("{head}[[collections]]\nname = \"m\"\nfile = \"a/../../b.csv\"\nemail_columns = [\"e\"]\n"),
                "no `..`",
            ),
            (
                format!("{head}[[collections]]\nname = \"m\"\nfile = \".\"\nemail_columns = [\"e\"]\n"),
                "must name a file",
            ),
            (format!("{head}delimiter = \";;\"\n{root}"), "one ASCII character"),
            (format!("{head}delimiter = '\"'\n{root}"), "one ASCII character"),
            (format!("{head}encoding = \"utf-16\"\n{root}"), "encoding `utf-16` is not supported"),
            (
                format!(
                    "{head}{root}[[collections]]\nname = \"p\"\nfile = \"p.csv\"\nvia = {{ collection = \"x\", column = \"a\", references = \"b\" }}\n"
                ),
                "not a collection declared before it",
            ),
            (format!("{head}[[collections]]\nname = \"m\"\nfile = \"m.csv\"\n"), "needs either `email_columns`"),
            (format!("{head}{root}{root}"), "two collections are named `m`"),
            (
                format!("{head}{root}columns = [\"a\", {{ header = \"b\", as = \"a\" }}]\n"),
                "two columns are exported as `a`",
            ),
            (format!("{head}{root}columns = []\n"), "`columns` is empty"),
            (format!("{head}{root}sheet = 1\n"), "unknown field `sheet`"),
            (format!("name = \"f\"\n{root}"), "missing field `dir`"),
        ];
        for (text, expected) in cases {
            let err = config_error(text);
            assert!(err.contains(expected), "expected {expected:?} in {err:?} for\n{text}");
        }
    }

    #[test]
    fn sources_build_through_the_shared_entry_point() {
        let sources: Vec<crate::connectors::SourceConfig> = toml::from_str::<toml::Table>(
            "[[sources]]\nkind = \"csv\"\nname = \"f\"\ndir = \"/srv\"\nencoding = \"latin-1\"\n\
             [[sources.collections]]\nname = \"c\"\nfile = \"c.csv\"\nemail_columns = [\"e\"]\n",
        )
        .unwrap()["sources"]
            .clone()
            .try_into()
            .unwrap();
        assert_eq!(sources[0].name(), "f");
        let built = build(&sources).unwrap();
        assert_eq!(built[0].info().kind, "csv");
        assert_eq!(built[0].info().collections[0].name, "c");
    }
}
