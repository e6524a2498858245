//! The CSV connector: a folder of CSV files exported from an older tool (a loyalty programme, an
//! events platform, a spreadsheet someone kept up to date).
//!
//! A source is a folder (`dir`); each collection is one file in it. The guide is
//! `docs/connectors.md`; the rules it documents are enforced here:
//!
//! - **Matching.** A root collection keeps the rows where any `email_columns` value, trimmed and
//!   lower-cased, *equals* the subject's (already normalised) address. Never a substring, so
//!   `jeanne.martin@example.fr.com` is not a match.
//! - **Address formats.** `email_formats = { from = "address", cc = "list" }` says which email
//!   columns hold `Name <address>` / `mailto:` or lists separated by `,` or `;`; their values are
//!   read by [`super::address`] and compared with the same rule, so `annemarie@x.fr` never matches
//!   `marie@x.fr` and `élodie@` never matches `elodie@`. A column not named there is bare.
//! - **Following references.** A `via` collection keeps the rows whose `column` (trimmed) equals
//!   the `references` value of a row already collected in an *earlier* collection. Config order
//!   rules out cycles. A reference's `where` and the collection's `where` are evaluated on the
//!   row's own fields ([`Condition::matches`]); lookups are SQL only. A collection reached by
//!   several paths reads its file once and keeps a row if any path leads to it: each row once.
//! - **Names.** `email_columns`, `via.column`, `via.references` and `columns` name headers as
//!   written in the file (surrounding spaces ignored); `columns` may rename them for the export.
//! - **Streaming.** Files are read record by record on a blocking thread; fields are split on the
//!   raw bytes (the delimiter, quotes and line breaks are the same ASCII bytes in every accepted
//!   encoding) and then decoded (Windows-1252 and ISO-8859-15 through `encoding_rs`), so byte
//!   offsets are the file's own. Each record goes to the [`RecordSink`] through a small bounded
//!   channel; only the distinct key values a later collection needs are kept.
//! - **Broken rows.** A row with the wrong number of fields, or that is not valid UTF-8 in a UTF-8
//!   file, is skipped and counted, never a crash; `check` lists them by line number. A skipped row
//!   that holds the subject's address fails the collection instead: a person is never given a
//!   silently partial answer.
//! - **Values.** Every value is a JSON string, as written in the file; an empty field is `null`.
//! - **Safety.** `file` must stay inside `dir` (no `..`, not absolute). Reading never writes.
//!
//! # Writing: erasure, rectification, objection
//!
//! - **Rules.** A collection's `key`, `erasure`, `rectifiable` and `objections` name headers like
//!   `email_columns` (spaces around them ignored); `check` verifies each exists. `locate` finds the
//!   subject's rows exactly as `collect` does (one traversal serves both) and gives each row's key
//!   (trimmed text) and the values its rules need; a row of the subject with an empty key field
//!   fails instead of being guessed at.
//! - **Rows by key.** A step changes every row whose key fields, trimmed, equal its key: a key
//!   shared by several rows changes them all. Updates apply in call order, then deletes.
//! - **Faithful rewrite.** A changed file is written whole to a temporary file beside it
//!   (`.<file>.dossier-<random>.tmp`, with the original's permissions), `fsync`ed, then renamed
//!   over the original, and the folder `fsync`ed: a reader sees the old file or the new one, never
//!   half of one. Every byte of a row no step changes is copied as read: the header line, its
//!   byte-order mark, line endings of every style, blank lines, quoting, and broken rows (a row
//!   with the wrong number of fields or undecodable bytes is never matched by key and is kept as
//!   it was, not dropped). A changed row is written in the file's encoding and delimiter, quoted
//!   only where a field needs it, with its own line ending; an empty field is NULL, `true`/`false`
//!   are `1`/`0`. A file where no row changes is not rewritten.
//! - **All or nothing, then idempotent.** Every temporary file of one `execute` is written before
//!   the first rename: a value the file's encoding cannot hold (a Chinese character in
//!   Windows-1252), a missing column or a failed write removes them all and changes nothing. The
//!   renames then run one after the other; a crash between two leaves some files changed and
//!   others not, and since every step is idempotent, running the same call again finishes it
//!   (a leftover `.…tmp` file holds a file as changed, nothing more than the original, and may be
//!   deleted).
//! - **Read back.** An update's outcome holds its fields as read from the file written.
//! - **Addresses.** `emails` lists every address of the root collections'
//!   email columns, normalised as matching compares them; broken rows are skipped.
//! - **One writer.** Changes to one source are serialised inside Dossier; the tool that exports
//!   the files must not rewrite them at the same moment (its write or Dossier's would be lost).

mod write;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::address::{self, AddressFormat};
use super::blocking::{self, Message, send};
use super::kit::{self, Graph, Node, Spec, Supports, Vias};
use super::{
    Art15, CollectionInfo, Connector, ConnectorError, ConnectorErrorKind, HealthReport, RecordSink, SourceInfo,
    Subject, Text,
};
use crate::domain::condition::Condition;
use crate::plans::anonymise::Pseudonymiser;
use crate::plans::{
    ErasureRule, FieldMethod, Located, ObjectionRule, RectifiableField, Rules, Step, StepOutcome, Values,
};

/// How many broken rows `check` lists one by one per file before summing up the rest.
pub const MAX_LISTED_PROBLEMS: usize = 10;

/// Addresses sent together by `emails`.
const EMAIL_BATCH: usize = 256;

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
    /// How the values of some `email_columns` hold addresses, by header:
    /// `{ from = "address", cc = "list" }` (see [`AddressFormat`]). Default: one bare address.
    #[serde(default)]
    pub email_formats: BTreeMap<String, String>,
    /// A related collection: the rows reached from an earlier collection, through one reference
    /// or several (`via = [{ … }, { … }]`). With `email_columns` too, or several references, the
    /// collection needs a `key`.
    #[serde(default)]
    pub via: Option<Vias>,
    /// A condition every row must meet, on this file's own headers (`where = "type = 'client'"`).
    #[serde(default, rename = "where")]
    pub condition: Option<String>,
    /// The columns to export, in this order, each a header (`"Nom"`) or a header renamed for the
    /// export (`{ header = "Adresse e-mail", as = "email" }`). Default: every column, as headed.
    #[serde(default)]
    pub columns: Option<Vec<ColumnSpec>>,
    #[serde(default)]
    pub art15: Art15,
    /// The headers whose values identify one row, for erasure, rectification and objection.
    #[serde(default)]
    pub key: Vec<String>,
    /// What erasing one of the subject's rows does.
    #[serde(default)]
    pub erasure: Option<ErasureRule>,
    /// The fields a person may correct.
    #[serde(default)]
    pub rectifiable: Vec<RectifiableField>,
    /// What objecting to a purpose writes into the person's rows.
    #[serde(default)]
    pub objections: Vec<ObjectionRule>,
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

    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            CsvEncoding::Utf8 => "utf-8",
            CsvEncoding::Windows1252 => "windows-1252",
            CsvEncoding::Iso8859_15 => "iso-8859-15",
        }
    }

    fn single_byte(self) -> Option<&'static encoding_rs::Encoding> {
        match self {
            CsvEncoding::Utf8 => None,
            CsvEncoding::Windows1252 => Some(encoding_rs::WINDOWS_1252),
            CsvEncoding::Iso8859_15 => Some(encoding_rs::ISO_8859_15),
        }
    }

    /// The text of one field. Every byte is a character in a single-byte encoding; only UTF-8 can
    /// fail. The delimiter, quotes and line breaks are ASCII, the same byte in every accepted
    /// encoding, so files are split into fields before decoding and byte offsets stay the file's.
    fn decode(self, bytes: &[u8]) -> Result<Cow<'_, str>, std::str::Utf8Error> {
        match self.single_byte() {
            None => std::str::from_utf8(bytes).map(Cow::Borrowed),
            Some(encoding) => Ok(encoding.decode_without_bom_handling(bytes).0),
        }
    }

    /// The bytes of `text`, or `None` when it holds a character the encoding lacks.
    fn encode(self, text: &str) -> Option<Cow<'_, [u8]>> {
        match self.single_byte() {
            None => Some(Cow::Borrowed(text.as_bytes())),
            Some(encoding) => match encoding.encode(text) {
                (_, _, true) => None,
                (bytes, _, false) => Some(bytes),
            },
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

/// Passes bytes through and remembers where line breaks are (`\n`, `\r\n` or a lone `\r`), so
/// that a record's line number can be told from its byte offset. The csv crate's own count is off
/// by one after `\r\n` (it stops on the `\r`) and ignores a lone `\r`; only the read-ahead part
/// of the file is remembered. When rewriting, it also keeps the raw bytes not yet taken, so that
/// untouched rows are copied byte for byte.
struct Tracker<R> {
    inner: R,
    /// Offset of the next byte read from `inner`.
    offset: u64,
    prev_cr: bool,
    /// `\r` and `\n` bytes not yet passed by a record: (offset, whether it ends a line).
    ends: VecDeque<(u64, bool)>,
    /// Line breaks before the last record asked about.
    breaks: u64,
    /// The bytes read but not yet taken, from offset `offset - raw.len()`; `None`: not kept.
    raw: Option<VecDeque<u8>>,
}

impl<R: Read> Tracker<R> {
    fn new(inner: R, keep_raw: bool) -> Self {
        Self { inner, offset: 0, prev_cr: false, ends: VecDeque::new(), breaks: 0, raw: keep_raw.then(VecDeque::new) }
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

    /// The kept bytes before offset `until` (all of them with `u64::MAX`), not taken before.
    fn take_raw(&mut self, until: u64) -> Vec<u8> {
        let Some(raw) = &mut self.raw else { return Vec::new() };
        let first = self.offset - raw.len() as u64;
        let n = usize::try_from(until.saturating_sub(first)).unwrap_or(usize::MAX).min(raw.len());
        raw.drain(..n).collect()
    }
}

impl<R: Read> Read for Tracker<R> {
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
        if let Some(raw) = &mut self.raw {
            raw.extend(&buf[..n]);
        }
        self.offset += n as u64;
        Ok(n)
    }
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
    /// The headers searched for the subject's address (trimmed); empty when only references
    /// lead here.
    email: Vec<String>,
    /// The format of each email column, in its order.
    formats: Vec<AddressFormat>,
    /// How the collection is reached and which of its rows count (see [`kit`]). Column names are
    /// headers of the collection's own file, except an edge's `references`, a header of the
    /// parent's file.
    node: Node,
    /// Headers whose values later collections' rules read (`<this collection>.<header>`).
    carried: Vec<String>,
    /// `None`: every column, as headed.
    columns: Option<Vec<ColumnSpec>>,
    /// Headers whose distinct values later collections need.
    keys: Vec<String>,
}

impl Plan {
    /// Every header this collection's configuration (reading and `rules`) names in its own file.
    fn configured_headers<'a>(&'a self, rules: &'a Rules) -> Vec<&'a str> {
        let mut out: Vec<&str> = Vec::new();
        out.extend(self.email.iter().map(|c| c.trim()));
        out.extend(self.node.edges.iter().map(|e| e.column.as_str()));
        out.extend(self.node.own_condition_columns());
        out.extend(self.carried.iter().map(String::as_str));
        if let Some(cols) = &self.columns {
            out.extend(cols.iter().map(ColumnSpec::header));
        }
        out.extend(self.keys.iter().map(|k| k.trim()));
        out.extend(rules.columns().into_iter().filter(|c| !kit::is_qualified(c)));
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
    Fields { line: u64, fields: Vec<&'r str> },
    Broken { line: u64, problem: Problem, raw: &'r csv::ByteRecord },
}

/// An open file: its header, and records read one by one. Fields are split on the raw bytes and
/// then decoded, so positions are the file's own byte offsets.
struct FileReader<'p> {
    plan: &'p Plan,
    source: &'p str,
    csv: csv::Reader<Tracker<std::fs::File>>,
    headers: Vec<String>,
    record: csv::ByteRecord,
    /// The current record's decoded fields, one after the other, and where each ends.
    text: String,
    ends: Vec<usize>,
}

impl<'p> FileReader<'p> {
    /// Opens the collection's file to read it.
    fn open(plan: &'p Plan, source: &'p str, dir: &Path) -> Result<Self, ConnectorError> {
        Self::new(plan, source, open_error_context(plan, source, dir, std::fs::File::open(&plan.path))?, false)
    }

    /// Reads `file` as the collection's file; with `keep_raw`, its raw bytes can be taken
    /// ([`FileReader::take_raw`]) as records go by.
    fn new(plan: &'p Plan, source: &'p str, file: std::fs::File, keep_raw: bool) -> Result<Self, ConnectorError> {
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(plan.delimiter)
            .has_headers(true)
            .flexible(true)
            .from_reader(Tracker::new(file, keep_raw));
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
            let h = plan.encoding.decode(h).map_err(|e| {
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
            let h = if i == 0 { h.trim_start_matches('\u{feff}') } else { &h };
            headers.push(h.trim().to_string());
        }
        Ok(Self { plan, source, csv, headers, record: csv::ByteRecord::new(), text: String::new(), ends: Vec::new() })
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

    /// The positions of `headers`, each paired with its name.
    fn indexes<'h>(&self, headers: impl IntoIterator<Item = &'h str>) -> Result<Vec<(String, usize)>, ConnectorError> {
        headers.into_iter().map(|h| Ok((h.trim().to_string(), self.index_of(h)?))).collect()
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
        self.text.clear();
        self.ends.clear();
        for f in self.record.iter() {
            match self.plan.encoding.decode(f) {
                Ok(s) => self.text.push_str(&s),
                Err(_) => return Ok(Some(Row::Broken { line, problem: Problem::InvalidUtf8, raw: &self.record })),
            }
            self.ends.push(self.text.len());
        }
        let mut from = 0;
        let fields = self
            .ends
            .iter()
            .map(|&end| {
                let field = &self.text[from..end];
                from = end;
                field
            })
            .collect();
        Ok(Some(Row::Fields { line, fields }))
    }

    /// The raw bytes read since the last call (the header, then each row with the line ending
    /// around it), when the reader keeps them; the rest of the file once rows are exhausted.
    fn take_raw(&mut self) -> Vec<u8> {
        let at = self.csv.position().byte();
        let exhausted = self.csv.is_done();
        self.csv.get_mut().take_raw(if exhausted { u64::MAX } else { at })
    }
}

/// Opening a collection's file, in words: which folder or file is missing, or may not be read.
fn open_error_context(
    plan: &Plan,
    source: &str,
    dir: &Path,
    opened: std::io::Result<std::fs::File>,
) -> Result<std::fs::File, ConnectorError> {
    opened.map_err(|e| {
        let (kind, message) = match e.kind() {
            std::io::ErrorKind::NotFound if !dir.is_dir() => {
                (ConnectorErrorKind::Misconfigured, format!("folder {} of source {source} not found", dir.display()))
            }
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
    })
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

/// Whether any field of a skipped row holds `email`, as far as it can be read: as the whole
/// field, or as one address of a list (whatever the column's format, to be on the safe side).
fn mentions(raw: &csv::ByteRecord, email: &str) -> bool {
    raw.iter().any(|f| {
        let f = String::from_utf8_lossy(f);
        is_email(&f, email) || address::holds(&f, AddressFormat::List, email)
    })
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

struct Inner {
    info: SourceInfo,
    dir: PathBuf,
    plans: Vec<Plan>,
    /// The collections `locate` reads: those with rules and those they are reached through.
    located: Vec<bool>,
    /// Held while files are rewritten: two changes at once would each start from the old file,
    /// and the second rename would undo the first.
    write_lock: std::sync::Mutex<()>,
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

        let rules: Vec<Rules> = config
            .collections
            .iter()
            .map(|c| Self::rules(c).map_err(|e| anyhow::anyhow!("source `{source}`: {e}")))
            .collect::<anyhow::Result<_>>()?;
        let emails: Vec<Vec<&str>> =
            config.collections.iter().map(|c| c.email_columns.iter().map(|h| h.trim()).collect()).collect();
        let no_lookups = BTreeMap::new();
        let specs: Vec<Spec<'_>> = config
            .collections
            .iter()
            .zip(&emails)
            .zip(&rules)
            .map(|((c, email_columns), rules)| Spec {
                name: &c.name,
                email_columns,
                via: c.via.as_ref(),
                condition: c.condition.as_deref(),
                lookups: &no_lookups,
                rules,
            })
            .collect();
        let graph = Graph::build(source, &specs, Supports { lookups: false }, &|h: &str| !h.trim().is_empty())?;

        let mut plans: Vec<Plan> = Vec::with_capacity(config.collections.len());
        let mut infos = Vec::with_capacity(config.collections.len());
        for ((c, node), rules) in config.collections.iter().zip(graph.nodes.iter().cloned()).zip(rules) {
            let plan = Self::plan(c, &config.dir, delimiter, encoding, node)
                .map_err(|e| anyhow::anyhow!("source `{source}`: {e}"))?;
            for edge in &plan.node.edges {
                let parent = &mut plans[edge.parent];
                if !parent.keys.iter().any(|k| k == &edge.references) {
                    parent.keys.push(edge.references.clone());
                }
            }
            for pv in &plan.node.parent_values {
                let parent = &mut plans[pv.parent];
                if !parent.carried.contains(&pv.column) {
                    parent.carried.push(pv.column.clone());
                }
            }
            plans.push(plan);
            infos.push(CollectionInfo {
                rules,
                name: c.name.clone(),
                label: c.label.clone().unwrap_or_else(|| Text::Plain(c.name.clone())),
                art15: c.art15.clone(),
            });
        }
        let info = SourceInfo {
            name: config.name.clone(),
            label: config.label.clone().unwrap_or_else(|| Text::Plain(config.name.clone())),
            kind: "csv",
            collections: infos,
        };
        let located = graph.located(&info);
        kit::ensure_nothing_changed_below_shared(&info, &graph.parents())?;
        Ok(Self {
            inner: Arc::new(Inner {
                info,
                dir: config.dir.clone(),
                plans,
                located,
                write_lock: std::sync::Mutex::new(()),
            }),
        })
    }

    /// The collection's rules, every header named as `email_columns` are (surrounding spaces
    /// removed), checked together.
    fn rules(c: &CsvCollectionConfig) -> anyhow::Result<Rules> {
        let name = c.name.as_str();
        anyhow::ensure!(c.key.iter().all(|k| !k.trim().is_empty()), "collection `{name}`: `key` holds an empty name");
        let mut erasure = c.erasure.clone();
        for rule in erasure.iter_mut().flat_map(|e| e.actions_mut()) {
            rule.fields = trimmed_keys(name, "erasure.fields", &rule.fields)?;
            rule.from_column = rule.from_column.as_deref().map(|c| c.trim().to_string());
            for (column, method) in &rule.fields {
                if let FieldMethod::Value(v) = method {
                    fits_a_field(name, column, v)?;
                }
            }
        }
        let mut objections = c.objections.clone();
        for objection in &mut objections {
            objection.set = trimmed_keys(name, "objections.set", &objection.set)?;
            for (column, v) in &objection.set {
                fits_a_field(name, column, v)?;
            }
        }
        let rules = Rules {
            key: c.key.iter().map(|k| k.trim().to_string()).collect(),
            erasure,
            rectifiable: c
                .rectifiable
                .iter()
                .map(|r| RectifiableField { field: r.field.trim().to_string(), ..r.clone() })
                .collect(),
            objections,
        };
        rules.validate(name)?;
        let mut matching: Vec<&str> = c.email_columns.iter().map(String::as_str).collect();
        matching.extend(c.via.iter().flat_map(|v| v.as_slice()).map(|v| v.column.as_str()));
        rules.ensure_matching_untouched(name, &matching)?;
        Ok(rules)
    }

    fn plan(
        c: &CsvCollectionConfig,
        dir: &Path,
        delimiter: u8,
        encoding: CsvEncoding,
        node: Node,
    ) -> anyhow::Result<Plan> {
        let name = &c.name;
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
        anyhow::ensure!(
            !c.email_columns.is_empty() || c.email_formats.is_empty(),
            "collection `{name}`: `email_formats` applies to `email_columns`, and this collection has none"
        );
        let headers: Vec<&str> = c.email_columns.iter().map(|h| h.trim()).collect();
        let formats = address::formats_of(name, &headers, &c.email_formats, |a, b| a.trim() == b.trim())?;
        anyhow::ensure!(
            c.email_columns.iter().all(|col| !col.trim().is_empty()),
            "collection `{name}`: `email_columns` holds an empty name"
        );
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
            email: c.email_columns.iter().map(|s| s.trim().to_string()).collect(),
            formats,
            node,
            carried: Vec::new(),
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
        for (plan, collection) in self.plans.iter().zip(&self.info.collections) {
            let mut reader = FileReader::open(plan, source, &self.dir)?;
            for header in plan.configured_headers(&collection.rules) {
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

    /// Reads the files in configuration order and hands `visitor` the subject's rows: in a root
    /// collection the rows holding their address, in a `via` collection the rows reached from rows
    /// already kept. Only the collections marked in `read` are read (a `via` collection without a
    /// parent row never is). Runs on a blocking thread.
    fn traverse(&self, email: &str, read: &[bool], visitor: &mut dyn Visitor) -> Result<(), ConnectorError> {
        let source = self.info.name.as_str();
        // Per collection: the distinct (trimmed) values of its key headers, for later collections,
        // and the values later collections' rules read.
        let mut found: Vec<CsvFound> = Vec::with_capacity(self.plans.len());
        for (index, plan) in self.plans.iter().enumerate() {
            let mut mine = CsvFound::default();
            // The references that can lead somewhere: a parent that has rows.
            let edges: Vec<(&kit::Edge, &HashSet<String>)> = plan
                .node
                .edges
                .iter()
                .filter_map(|e| found[e.parent].keys.get(&e.references).filter(|v| !v.is_empty()).map(|v| (e, v)))
                .collect();
            // No path can match: the file need not be read.
            if !read[index] || (plan.email.is_empty() && edges.is_empty()) {
                found.push(mine);
                continue;
            }
            let mut reader = FileReader::open(plan, source, &self.dir)?;
            let email_at: Vec<usize> = plan.email.iter().map(|c| reader.index_of(c)).collect::<Result<_, _>>()?;
            let edge_at: Vec<usize> =
                edges.iter().map(|(e, _)| reader.index_of(&e.column)).collect::<Result<_, _>>()?;
            let condition_at = reader.indexes(plan.node.own_condition_columns())?;
            let key_columns = reader.indexes(plan.keys.iter().map(String::as_str))?;
            let carried_at = reader.indexes(plan.carried.iter().map(String::as_str))?;
            let own_edges: Vec<(usize, &kit::Edge)> =
                plan.node.edges.iter().filter_map(|e| Some((reader.index_of(&e.column).ok()?, e))).collect();
            visitor.begin(index, &reader)?;
            let mut skipped = 0u64;
            while let Some(row) = reader.next_row()? {
                let (line, fields) = match row {
                    Row::Fields { line, fields } => (line, fields),
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
                // The conditions read the row's own fields, an empty field as NULL.
                let values: HashMap<&str, Value> =
                    condition_at.iter().map(|(h, i)| (h.as_str(), value(fields[*i]))).collect();
                let holds = |c: &Option<Condition>| c.as_ref().is_none_or(|c| c.matches(|f| values.get(f)));
                // Read once, a row is given once, whichever paths lead to it.
                let hit = email_at.iter().zip(&plan.formats).any(|(&i, &f)| address::holds(fields[i], f, email))
                    || edges
                        .iter()
                        .zip(&edge_at)
                        .any(|((e, parents), &i)| parents.contains(fields[i].trim()) && holds(&e.condition));
                if !hit || !holds(&plan.node.condition) {
                    continue;
                }
                for (key, i) in &key_columns {
                    let v = fields[*i].trim();
                    if !v.is_empty() {
                        if !carried_at.is_empty() {
                            let carried: Values =
                                carried_at.iter().map(|(h, c)| (h.clone(), value(fields[*c]))).collect();
                            mine.carry.entry(key.clone()).or_default().entry(v.to_string()).or_insert(carried);
                        }
                        mine.keys.entry(key.clone()).or_default().insert(v.to_string());
                    }
                }
                // The parent values the rules read, from the parent row the reference leads to.
                let parent_values: Values = plan
                    .node
                    .parent_values
                    .iter()
                    .map(|pv| {
                        let v = own_edges
                            .iter()
                            .filter(|(_, e)| e.parent == pv.parent)
                            .find_map(|(i, e)| {
                                found[pv.parent]
                                    .carry
                                    .get(&e.references)?
                                    .get(fields[*i].trim())?
                                    .get(&pv.column)
                                    .cloned()
                            })
                            .unwrap_or(Value::Null);
                        (pv.qualified.clone(), v)
                    })
                    .collect();
                visitor.row(line, &fields, parent_values)?;
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
            found.push(mine);
        }
        Ok(())
    }

    /// The subject's rows in the collections that have rules. Runs on a blocking thread.
    fn locate(&self, email: &str) -> Result<Vec<Located>, ConnectorError> {
        let mut locating = Locating { inner: self, columns: None, found: Vec::new() };
        self.traverse(email, &self.located, &mut locating)?;
        Ok(locating.found)
    }

    /// Sends every address of the root collections' email columns, trimmed and lower-cased, in
    /// batches. Broken rows are skipped, as in `check`. Runs on a blocking thread.
    fn emails(&self, tx: &tokio::sync::mpsc::Sender<Vec<String>>) -> Result<(), ConnectorError> {
        for plan in &self.plans {
            let columns = &plan.email;
            if columns.is_empty() {
                continue;
            }
            let mut reader = FileReader::open(plan, &self.info.name, &self.dir)?;
            let at: Vec<usize> = columns.iter().map(|c| reader.index_of(c)).collect::<Result<_, _>>()?;
            let mut batch = Vec::with_capacity(EMAIL_BATCH);
            while let Some(row) = reader.next_row()? {
                if let Row::Fields { fields, .. } = row {
                    for (&i, &format) in at.iter().zip(&plan.formats) {
                        match format {
                            AddressFormat::Bare => {
                                batch.extend(Some(fields[i].trim().to_lowercase()).filter(|e| !e.is_empty()))
                            }
                            _ => batch.extend(address::addresses(fields[i], format)),
                        }
                    }
                }
                if batch.len() >= EMAIL_BATCH {
                    send(tx, std::mem::take(&mut batch))?;
                }
            }
            if !batch.is_empty() {
                send(tx, batch)?;
            }
        }
        Ok(())
    }
}

/// What a traversal keeps of one collection for the collections after it.
#[derive(Debug, Default)]
struct CsvFound {
    /// The distinct (trimmed) values of its key headers.
    keys: HashMap<String, HashSet<String>>,
    /// Per key header and value, the `carried` values of the first row holding it.
    carry: HashMap<String, HashMap<String, Values>>,
}

/// What [`Inner::traverse`] does with the subject's rows.
trait Visitor {
    /// Called before the rows of collection `index`, whose file `reader` has open.
    fn begin(&mut self, index: usize, reader: &FileReader<'_>) -> Result<(), ConnectorError>;
    /// One of the subject's rows in the collection last begun, at `line` of its file, with the
    /// values of its parent rows its rules read (`<parent>.<header>`).
    fn row(&mut self, line: u64, fields: &[&str], parent_values: Values) -> Result<(), ConnectorError>;
}

/// `collect`: sends each row's exported columns to the sink; begins a collection only at its
/// first row, so an empty one is never begun.
struct Sending<'t> {
    tx: &'t tokio::sync::mpsc::Sender<Message>,
    output: Vec<(usize, String)>,
    begin: Option<Message>,
}

impl Visitor for Sending<'_> {
    fn begin(&mut self, _: usize, reader: &FileReader<'_>) -> Result<(), ConnectorError> {
        self.output = reader.output_columns()?;
        let fields = self.output.iter().map(|(_, n)| n.clone()).collect();
        self.begin = Some(Message::Begin(reader.plan.name.clone(), fields));
        Ok(())
    }

    fn row(&mut self, _: u64, fields: &[&str], _: Values) -> Result<(), ConnectorError> {
        if let Some(begin) = self.begin.take() {
            send(self.tx, begin)?;
        }
        send(self.tx, Message::Record(self.output.iter().map(|(i, n)| (n.clone(), value(fields[*i]))).collect()))
    }
}

/// `locate`: each row's key and the values its collection's rules need.
struct Locating<'i> {
    inner: &'i Inner,
    /// The collection being read, when it has rules.
    columns: Option<LocatedColumns>,
    found: Vec<Located>,
}

/// Where a collection's key and the values its rules need are, in its file.
struct LocatedColumns {
    index: usize,
    key: Vec<(String, usize)>,
    needed: Vec<(String, usize)>,
}

impl Visitor for Locating<'_> {
    fn begin(&mut self, index: usize, reader: &FileReader<'_>) -> Result<(), ConnectorError> {
        let rules = &self.inner.info.collections[index].rules;
        self.columns = match rules.is_empty() {
            true => None,
            false => Some(LocatedColumns {
                index,
                key: reader.indexes(rules.key.iter().map(String::as_str))?,
                needed: reader.indexes(rules.row_columns())?,
            }),
        };
        Ok(())
    }

    fn row(&mut self, line: u64, fields: &[&str], parent_values: Values) -> Result<(), ConnectorError> {
        let Some(LocatedColumns { index, key, needed }) = &self.columns else { return Ok(()) };
        let plan = &self.inner.plans[*index];
        let mut located = Located { collection: plan.name.clone(), key: Values::new(), values: Values::new() };
        for (header, i) in key {
            let v = fields[*i].trim();
            if v.is_empty() {
                return Err(ConnectorError::new(
                    ConnectorErrorKind::Misconfigured,
                    format!(
                        "{} line {line}: one of the person's rows has nothing in the key column \"{header}\" \
                         (collection {}, source {}), so it cannot be changed safely: fill it in, then retry",
                        plan.file, plan.name, self.inner.info.name
                    ),
                ));
            }
            located.key.insert(header.clone(), Value::String(v.to_string()));
        }
        for (header, i) in needed {
            located.values.insert(header.clone(), value(fields[*i]));
        }
        located.values.extend(parent_values);
        self.found.push(located);
        Ok(())
    }
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
        blocking::run(&self.inner.info.name, move || inner.check()).await
    }

    async fn collect(&self, subject: &Subject, sink: &mut dyn RecordSink) -> Result<(), ConnectorError> {
        let inner = Arc::clone(&self.inner);
        let email = subject.email.as_str().to_string();
        blocking::collect(&self.inner.info.name, sink, move |tx| {
            let every = vec![true; inner.plans.len()];
            inner.traverse(&email, &every, &mut Sending { tx, output: Vec::new(), begin: None })
        })
        .await
    }

    async fn locate(&self, subject: &Subject) -> Result<Vec<Located>, ConnectorError> {
        let inner = Arc::clone(&self.inner);
        let email = subject.email.as_str().to_string();
        blocking::run(&self.inner.info.name, move || inner.locate(&email)).await
    }

    /// Rewrites each affected file (see the module documentation, "Writing").
    async fn execute(&self, steps: &[Step], pseudonymiser: &Pseudonymiser) -> Result<Vec<StepOutcome>, ConnectorError> {
        let inner = Arc::clone(&self.inner);
        let steps = steps.to_vec();
        let pseudonymiser = pseudonymiser.clone();
        blocking::run(&self.inner.info.name, move || inner.execute(&steps, &pseudonymiser)).await
    }

    /// Every address in the email columns of the root collections, trimmed and lower-cased (as
    /// matching compares them); empty fields and broken rows are skipped.
    async fn emails(&self, found: &mut (dyn for<'a> FnMut(&'a str) + Send)) -> Result<(), ConnectorError> {
        let inner = Arc::clone(&self.inner);
        blocking::emails(&self.inner.info.name, found, move |tx| inner.emails(tx)).await
    }
}

/// Rule names as headers are compared: surrounding spaces removed; two names for one header are
/// refused.
fn trimmed_keys<V: Clone>(
    collection: &str,
    what: &str,
    map: &BTreeMap<String, V>,
) -> anyhow::Result<BTreeMap<String, V>> {
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let k = k.trim();
        anyhow::ensure!(!k.is_empty(), "collection `{collection}`: `{what}` holds an empty column name");
        anyhow::ensure!(
            out.insert(k.to_string(), v.clone()).is_none(),
            "collection `{collection}`: column `{k}` is named twice in `{what}`"
        );
    }
    Ok(out)
}

/// A value a rule writes must fit one CSV field.
fn fits_a_field(collection: &str, column: &str, v: &Value) -> anyhow::Result<()> {
    anyhow::ensure!(
        !v.is_array() && !v.is_object(),
        "collection `{collection}`: the value written into `{column}` must be a text, a number or true/false \
         (a CSV field holds one value)"
    );
    Ok(())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any bytes in a field: decoding never panics. In a single-byte encoding every byte is a
        /// character, and writing the text back gives the same bytes (a row rewritten by an
        /// erasure keeps its other fields as they were); in UTF-8 only valid text is read.
        #[test]
        fn fields_decode_and_encode_back(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            for encoding in [CsvEncoding::Windows1252, CsvEncoding::Iso8859_15] {
                let text = encoding.decode(&bytes).unwrap();
                let written = encoding.encode(&text);
                prop_assert_eq!(written.as_deref(), Some(bytes.as_slice()));
            }
            match CsvEncoding::Utf8.decode(&bytes) {
                Ok(text) => prop_assert_eq!(text.as_bytes(), bytes.as_slice()),
                Err(_) => prop_assert!(std::str::from_utf8(&bytes).is_err()),
            }
        }

        /// `encoding = "…"` in a configuration file: no panic, and an error names what is accepted.
        #[test]
        fn encoding_labels_parse_or_say_what_is_accepted(label in "\\PC{0,20}|[a-zA-Z0-9_ -]{0,14}") {
            match CsvEncoding::parse(&label) {
                Ok(encoding) => prop_assert_eq!(CsvEncoding::parse(encoding.name()).unwrap(), encoding),
                Err(e) => prop_assert!(e.to_string().contains(CsvEncoding::ACCEPTED)),
            }
        }
    }
}
