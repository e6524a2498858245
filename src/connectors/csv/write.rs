//! Rewriting a collection's file with a subject's changes: the rules are in the parent module's
//! documentation ("Writing").

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::PoisonError;

use serde_json::Value;

use super::{FileReader, Inner, Plan, Row, open_error_context, value};
use crate::connectors::{ConnectorError, ConnectorErrorKind};
use crate::plans::anonymise::Pseudonymiser;
use crate::plans::{Change, FieldWrite, Step, StepOutcome, Values};

/// One step, resolved against its file's header.
struct FileStep<'s> {
    /// Its position in the call, where its outcome goes.
    index: usize,
    /// `None`: the row is deleted; otherwise each field's position, name and write.
    writes: Option<Vec<(usize, &'s str, &'s FieldWrite)>>,
}

/// A file's steps by the rows they change.
struct Targets<'s> {
    key_at: Vec<usize>,
    /// Key values (trimmed, in `key` order) → the steps on rows holding them, in call order.
    by_key: HashMap<Vec<String>, Vec<FileStep<'s>>>,
}

impl Targets<'_> {
    fn on_row(&self, fields: &[&str]) -> Option<&[FileStep<'_>]> {
        let key: Vec<String> = self.key_at.iter().map(|&i| fields[i].trim().to_string()).collect();
        self.by_key.get(&key).map(Vec::as_slice)
    }
}

/// What happens to one row.
enum Decision {
    Keep,
    Delete,
    /// The row's new fields, encoded, without its line ending.
    Replace(Vec<u8>),
}

/// Bytes on their way to the new file: a row (or the header) with its line ending, which the csv
/// reader hands over with the next row (it stops inside a `\r\n`).
struct Piece {
    bytes: Vec<u8>,
    keep: bool,
}

impl Piece {
    fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        if self.keep { out.write_all(&self.bytes) } else { Ok(()) }
    }
}

/// A rewritten file waiting to replace its original; removed unless it did.
struct Replacement<'p> {
    plan: &'p Plan,
    temp: PathBuf,
    replaced: bool,
}

impl Replacement<'_> {
    fn replace(&mut self) -> std::io::Result<()> {
        std::fs::rename(&self.temp, &self.plan.path)?;
        self.replaced = true;
        Ok(())
    }
}

impl Drop for Replacement<'_> {
    fn drop(&mut self) {
        if !self.replaced {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

impl Inner {
    /// Applies `steps`: every changed file is written in full beside its original first; only
    /// then are the originals replaced, one after the other. Runs on a blocking thread.
    pub(super) fn execute(&self, steps: &[Step], apply: &Pseudonymiser) -> Result<Vec<StepOutcome>, ConnectorError> {
        let _one_change_at_a_time = self.write_lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut outcomes = vec![StepOutcome { found: false, after: None }; steps.len()];
        let mut replacements = Vec::new();
        for (index, on_file) in self.by_collection(steps)? {
            if let Some(replacement) = self.rewrite(index, steps, &on_file, apply, &mut outcomes)? {
                replacements.push(replacement);
            }
        }
        for replacement in &mut replacements {
            replacement.replace().map_err(|e| self.write_error(replacement.plan, e))?;
        }
        let mut synced: Vec<&Path> = Vec::new();
        for replacement in &replacements {
            let folder = folder_of(replacement.plan);
            if !synced.contains(&folder) {
                sync_dir(folder).map_err(|e| self.write_error(replacement.plan, e))?;
                synced.push(folder);
            }
        }
        Ok(outcomes)
    }

    /// The positions of `steps` by collection, in configuration order.
    fn by_collection(&self, steps: &[Step]) -> Result<Vec<(usize, Vec<usize>)>, ConnectorError> {
        let source = &self.info.name;
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); self.plans.len()];
        for (i, step) in steps.iter().enumerate() {
            let index = self.plans.iter().position(|p| p.name == step.collection).ok_or_else(|| {
                refused(format!("source {source} has no collection named {}; nothing was changed", step.collection))
            })?;
            groups[index].push(i);
        }
        let groups: Vec<(usize, Vec<usize>)> = groups.into_iter().enumerate().filter(|(_, g)| !g.is_empty()).collect();
        for (n, (a, _)) in groups.iter().enumerate() {
            if let Some((b, _)) = groups[..n].iter().find(|(b, _)| self.plans[*b].path == self.plans[*a].path) {
                return Err(refused(format!(
                    "collections {} and {} of source {source} both name file {}, which cannot be rewritten for \
                     both at once; nothing was changed",
                    self.plans[*b].name, self.plans[*a].name, self.plans[*a].file
                )));
            }
        }
        Ok(groups)
    }

    /// Writes collection `index`'s file with `on_file`'s steps applied into a temporary file
    /// beside it, synced to disk; `None` when no row changes. Records each step's outcome.
    fn rewrite(
        &self,
        index: usize,
        steps: &[Step],
        on_file: &[usize],
        apply: &Pseudonymiser,
        outcomes: &mut [StepOutcome],
    ) -> Result<Option<Replacement<'_>>, ConnectorError> {
        let plan = &self.plans[index];
        let source = self.info.name.as_str();
        let original = open_error_context(plan, source, &self.dir, File::open(&plan.path))?;
        // Replacing the file would get round a file the account may not write to.
        OpenOptions::new().append(true).open(&plan.path).map_err(|e| self.write_error(plan, e))?;
        let permissions = original.metadata().map_err(|e| self.write_error(plan, e))?.permissions();
        let mut reader = FileReader::new(plan, source, original, true)?;
        let targets = self.targets(index, &reader, steps, on_file)?;

        let temp = folder_of(plan).join(format!(".{}.dossier-{:016x}.tmp", file_name(plan), rand::random::<u64>()));
        // Private while it is written (see crate::fsutil); it takes the original's permissions
        // below, which belong to the source.
        let file = crate::fsutil::create_private_new(&temp).map_err(|e| self.write_error(plan, e))?;
        let replacement = Replacement { plan, temp, replaced: false };
        let mut out = BufWriter::new(file);
        let changed = self.copy_rows(&mut reader, &mut out, &targets, apply, outcomes)?;
        let file = out.into_inner().map_err(|e| self.write_error(plan, e.into_error()))?;
        file.set_permissions(permissions).map_err(|e| self.write_error(plan, e))?;
        file.sync_all().map_err(|e| self.write_error(plan, e))?;
        drop(file);

        let written = if changed { &replacement.temp } else { &plan.path };
        self.read_back(plan, written, &targets, outcomes)?;
        Ok(changed.then_some(replacement))
    }

    /// Copies the file `reader` reads into `out`, row by row, as the steps decide; whether any
    /// row changed. Rows no step changes, broken ones included, are copied byte for byte.
    fn copy_rows(
        &self,
        reader: &mut FileReader<'_>,
        out: &mut impl Write,
        targets: &Targets<'_>,
        apply: &Pseudonymiser,
        outcomes: &mut [StepOutcome],
    ) -> Result<bool, ConnectorError> {
        let plan = reader.plan;
        let headers = reader.headers.clone();
        let mut changed = false;
        let mut piece = Piece { bytes: reader.take_raw(), keep: true };
        loop {
            let decision = match reader.next_row()? {
                None => break,
                Some(Row::Broken { .. }) => Decision::Keep,
                Some(Row::Fields { fields, .. }) => self.decide(plan, &headers, &fields, targets, apply, outcomes)?,
            };
            let mut raw = reader.take_raw();
            let rest_of_line_ending = raw.iter().take_while(|b| is_line_end(b)).count();
            piece.bytes.extend(raw.drain(..rest_of_line_ending));
            piece.write(out).map_err(|e| self.write_error(plan, e))?;
            changed |= !matches!(decision, Decision::Keep);
            piece = match decision {
                Decision::Keep => Piece { bytes: raw, keep: true },
                Decision::Delete => Piece { bytes: raw, keep: false },
                Decision::Replace(mut bytes) => {
                    let content = raw.len() - raw.iter().rev().take_while(|b| is_line_end(b)).count();
                    bytes.extend_from_slice(&raw[content..]);
                    Piece { bytes, keep: true }
                }
            };
        }
        piece.bytes.extend(reader.take_raw());
        piece.write(out).map_err(|e| self.write_error(plan, e))?;
        Ok(changed)
    }

    /// `on_file`'s steps, checked against the file's header and indexed by key.
    fn targets<'s>(
        &self,
        index: usize,
        reader: &FileReader<'_>,
        steps: &'s [Step],
        on_file: &[usize],
    ) -> Result<Targets<'s>, ConnectorError> {
        let (plan, rules, source) = (&self.plans[index], &self.info.collections[index].rules, &self.info.name);
        if rules.key.is_empty() {
            return Err(refused(format!(
                "collection {} of source {source} has no `key`, so its records cannot be changed; nothing was changed",
                plan.name
            )));
        }
        let key_at = rules.key.iter().map(|k| reader.index_of(k)).collect::<Result<Vec<_>, _>>()?;
        let mut by_key: HashMap<Vec<String>, Vec<FileStep<'s>>> = HashMap::new();
        for &i in on_file {
            let step = &steps[i];
            let key = rules
                .key
                .iter()
                .map(|k| step.key.get(k).and_then(key_text))
                .collect::<Option<Vec<String>>>()
                .filter(|_| step.key.len() == rules.key.len())
                .ok_or_else(|| {
                    refused(format!(
                        "a change to collection {} of source {source} does not name its record by the key ({}); \
                         nothing was changed",
                        plan.name,
                        rules.key.join(", ")
                    ))
                })?;
            let writes = match &step.change {
                Change::Delete => None,
                Change::Update(fields) => Some(
                    fields
                        .iter()
                        .map(|(field, write)| {
                            let at = reader.index_of(field)?;
                            if key_at.contains(&at) {
                                return Err(refused(format!(
                                    "column \"{field}\" identifies the records of collection {} (source {source}) \
                                     and cannot be changed; nothing was changed",
                                    plan.name
                                )));
                            }
                            Ok((at, field.as_str(), write))
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            };
            by_key.entry(key).or_default().push(FileStep { index: i, writes });
        }
        Ok(Targets { key_at, by_key })
    }

    /// What the steps do to one row: updates in call order, then a delete if any asks for one.
    /// An update's outcome gets the fields of the first row it leaves.
    fn decide(
        &self,
        plan: &Plan,
        headers: &[String],
        fields: &[&str],
        targets: &Targets<'_>,
        apply: &Pseudonymiser,
        outcomes: &mut [StepOutcome],
    ) -> Result<Decision, ConnectorError> {
        let Some(on_row) = targets.on_row(fields) else { return Ok(Decision::Keep) };
        let mut new: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        let mut delete = false;
        for step in on_row {
            outcomes[step.index].found = true;
            let Some(writes) = &step.writes else {
                delete = true;
                continue;
            };
            for &(at, field, write) in writes {
                let written = apply.apply(write, &value(&new[at]));
                new[at] = field_text(written).ok_or_else(|| {
                    refused(format!(
                        "the value for column \"{field}\" of collection {} (source {}) is a list or a table, which \
                         a CSV field cannot hold; nothing was changed",
                        plan.name, self.info.name
                    ))
                })?;
            }
        }
        if delete {
            return Ok(Decision::Delete);
        }
        for step in on_row {
            if let (Some(writes), None) = (&step.writes, &outcomes[step.index].after) {
                outcomes[step.index].after =
                    Some(writes.iter().map(|&(at, field, _)| (field.to_string(), value(&new[at]))).collect());
            }
        }
        if new.iter().zip(fields).all(|(n, f)| n == f) {
            Ok(Decision::Keep)
        } else {
            self.encode_row(plan, headers, &new).map(Decision::Replace)
        }
    }

    /// A row as the file writes it: its delimiter, its encoding, quotes only where needed.
    fn encode_row(&self, plan: &Plan, headers: &[String], fields: &[String]) -> Result<Vec<u8>, ConnectorError> {
        let mut out = Vec::new();
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                out.push(plan.delimiter);
            }
            let quoted = field.bytes().any(|b| b == plan.delimiter || matches!(b, b'"' | b'\r' | b'\n'))
                // A lone empty field would read as a blank line.
                || (field.is_empty() && fields.len() == 1);
            let text = if quoted { format!("\"{}\"", field.replace('"', "\"\"")) } else { field.clone() };
            let bytes = plan.encoding.encode(&text).ok_or_else(|| {
                refused(format!(
                    "the new value for column \"{}\" cannot be written in {}, the encoding of {} (collection {}, \
                     source {}): it holds a character that encoding lacks; nothing was changed. Correct the \
                     value, or convert the file to UTF-8 and set encoding = \"utf-8\"",
                    headers[i],
                    plan.encoding.name(),
                    plan.file,
                    plan.name,
                    self.info.name
                ))
            })?;
            out.extend_from_slice(&bytes);
        }
        Ok(out)
    }

    /// Reads `path`, the file as written, and checks that each update's first row holds what the
    /// update left in it (masked and pseudonymised values included).
    fn read_back(
        &self,
        plan: &Plan,
        path: &Path,
        targets: &Targets<'_>,
        outcomes: &[StepOutcome],
    ) -> Result<(), ConnectorError> {
        let file = File::open(path).map_err(|e| self.write_error(plan, e))?;
        let mut reader = FileReader::new(plan, &self.info.name, file, false)?;
        let mut unchecked: HashSet<usize> = targets
            .by_key
            .values()
            .flatten()
            .filter(|s| s.writes.is_some() && outcomes[s.index].after.is_some())
            .map(|s| s.index)
            .collect();
        let mismatch = || {
            ConnectorError::new(
                ConnectorErrorKind::Failed,
                format!(
                    "the rewritten {} (collection {}, source {}) did not read back as written; nothing was changed",
                    plan.file, plan.name, self.info.name
                ),
            )
        };
        while let Some(row) = reader.next_row()? {
            let Row::Fields { fields, .. } = row else { continue };
            for step in targets.on_row(&fields).unwrap_or_default() {
                let Some(writes) = &step.writes else { continue };
                if unchecked.remove(&step.index) {
                    let read: Values =
                        writes.iter().map(|&(at, field, _)| (field.to_string(), value(fields[at]))).collect();
                    if outcomes[step.index].after.as_ref() != Some(&read) {
                        return Err(mismatch());
                    }
                }
            }
        }
        if unchecked.is_empty() { Ok(()) } else { Err(mismatch()) }
    }

    /// A failed write, in words: "cannot rewrite file adherents.csv (collection members, source
    /// loyalty): permission denied".
    fn write_error(&self, plan: &Plan, e: std::io::Error) -> ConnectorError {
        use std::io::ErrorKind::*;
        let (kind, reason) = match e.kind() {
            PermissionDenied => (ConnectorErrorKind::Misconfigured, "permission denied".to_string()),
            ReadOnlyFilesystem => (ConnectorErrorKind::Misconfigured, "the disk is read-only".to_string()),
            NotFound => (ConnectorErrorKind::Misconfigured, "the file or its folder is gone".to_string()),
            StorageFull | QuotaExceeded => (ConnectorErrorKind::Failed, "the disk is full".to_string()),
            other => (ConnectorErrorKind::Failed, other.to_string()),
        };
        ConnectorError::new(
            kind,
            format!(
                "cannot rewrite file {} (collection {}, source {}): {reason}",
                plan.file, plan.name, self.info.name
            ),
        )
        .with_cause(e)
    }
}

/// A key value as the file holds it (trimmed); `None` for what names no row.
fn key_text(v: &Value) -> Option<String> {
    let text = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// What a field holds for a written value: NULL is empty, `true`/`false` are `1`/`0` (as
/// [`crate::plans::same_value`] compares them).
fn field_text(v: Value) -> Option<String> {
    match v {
        Value::Null => Some(String::new()),
        Value::String(s) => Some(s),
        Value::Bool(b) => Some(if b { "1" } else { "0" }.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

fn is_line_end(b: &u8) -> bool {
    matches!(b, b'\r' | b'\n')
}

fn refused(message: String) -> ConnectorError {
    ConnectorError::new(ConnectorErrorKind::Misconfigured, message)
}

fn folder_of(plan: &Plan) -> &Path {
    plan.path.parent().unwrap_or(Path::new("."))
}

fn file_name(plan: &Plan) -> String {
    plan.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Makes the renames in `dir` durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_: &Path) -> std::io::Result<()> {
    Ok(())
}
