//! Tasks for staff, opened by manual sources (`kind = "manual"`, [`crate::connectors::manual`]).
//!
//! - Access and portability: the `collect` job of a manual source searches nothing; it opens a
//!   task and ends. The source's run stays unfinished ("waiting for staff") until staff upload
//!   what they found (stored encrypted at rest, like spools and exports) or confirm there is
//!   nothing. Completing the task finishes the run exactly as a finished collect job does: the
//!   files are written to the source's spool, and when every source is done the export is queued
//!   (the uploaded files go into the ZIP under `files/<source>/`).
//! - Erasure, rectification, objection: the plan holds one item for the source saying staff act
//!   by hand; the `execute` job opens a task "confirm it was done", and completing it records the
//!   outcome of the source's approved items (applied, or missing when nothing was found) and lets
//!   the request complete, as a finished execute job does.
//!
//! Every step is audited (opened, files uploaded — names and sizes only —, completed, by whom).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::connectors::Record;
use crate::crypto::hex;
use crate::crypto::stream::EncryptingWriter;
use crate::domain::RequestStatus;
use crate::domain::audit::{self as trail, Actor, Event, FileRef, TaskWork};
use crate::export::spool::SpoolWriter;
use crate::store::jobs::{self as queue, ClaimedJob};
use crate::store::plans::{self, Outcome as ItemOutcome};
use crate::store::requests::{self, RequestRow};
use crate::store::source_runs::{self, RunStatus};
use crate::store::staff::StaffRow;
use crate::store::tasks::{self, Task, TaskFile, TaskKind, TaskStatus};
use crate::store::{Conn, events};

/// The spool collection a manual source's uploaded files are listed in (one record per file).
pub const FILES_COLLECTION: &str = "files";
/// Most files one upload may carry.
pub const MAX_FILES_PER_UPLOAD: usize = 20;
/// Longest note staff may leave when completing a task, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// Where a request's uploaded files are kept, encrypted.
pub fn upload_dir(app: &App, request_id: &str) -> PathBuf {
    app.settings.data_dir.join("uploads").join(request_id)
}

/// The encrypted file of one upload.
pub fn stored_path(app: &App, request_id: &str, file_id: &str) -> PathBuf {
    upload_dir(app, request_id).join(format!("{file_id}.enc"))
}

fn actor(staff: &StaffRow) -> String {
    Actor::staff(&staff.id).stored()
}

fn work(kind: TaskKind) -> TaskWork {
    match kind {
        TaskKind::Collect => TaskWork::Collect,
        TaskKind::Execute => TaskWork::Execute,
    }
}

// ---------------------------------------------------------------------------------------------
// Driven by the jobs

/// The collect job of a manual source: opens the task (once) and ends. The run stays unfinished.
pub async fn open_for_collection(app: &App, job: &ClaimedJob, request_id: &str, source: &str) -> anyhow::Result<()> {
    let wanted = [RequestStatus::Collecting, RequestStatus::NeedsAttention];
    if super::progress::start_source_job(app, request_id, source, &wanted).await?.is_none() {
        return Ok(());
    }
    let now = app.now_ms();
    let backend = app.store.backend();
    let mut tx = app.store.begin().await?;
    requests::lock(&mut tx, backend, request_id).await?;
    if !queue::still_held(&mut tx, backend, job).await? {
        tx.rollback().await?;
        return Ok(());
    }
    let (task_id, new) = tasks::open(&mut tx, request_id, source, TaskKind::Collect, now).await?;
    source_runs::mark(&mut tx, request_id, source, RunStatus::Pending, None, now).await?;
    if new {
        let event = Event::TaskOpened {
            task: task_id.clone(),
            source: source.to_owned(),
            kind: TaskWork::Collect,
            items: None,
        };
        events::record(&mut tx, Some(request_id), &Actor::System, &event, now).await?;
    }
    tx.commit().await?;
    tracing::info!(source, task = %task_id, "manual source: task opened for staff");
    Ok(())
}

/// The execute job of a manual source: with approved items left, opens the task "confirm it was
/// done" (once); with none, finishes the source as an execute job with nothing to do does.
pub async fn open_for_execution(app: &App, job: &ClaimedJob, request: &RequestRow, source: &str) -> anyhow::Result<()> {
    let request_id = request.id.as_str();
    let now = app.now_ms();
    let backend = app.store.backend();
    let mut tx = app.store.begin().await?;
    requests::lock(&mut tx, backend, request_id).await?;
    if !queue::still_held(&mut tx, backend, job).await? {
        tx.rollback().await?;
        return Ok(());
    }
    let items = plans::to_execute(&mut tx, request_id, source).await?;
    if items.is_empty() {
        source_runs::mark(&mut tx, request_id, source, RunStatus::Done, None, now).await?;
        let request = requests::get(&mut tx, request_id).await?.context("the request is gone")?;
        crate::services::changes::executed(app, &mut tx, &request, now).await?;
    } else {
        let (task_id, new) = tasks::open(&mut tx, request_id, source, TaskKind::Execute, now).await?;
        let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
        plans::mark_attempted(&mut tx, &ids, now).await?;
        source_runs::mark(&mut tx, request_id, source, RunStatus::Pending, None, now).await?;
        if new {
            let event = Event::TaskOpened {
                task: task_id.clone(),
                source: source.to_owned(),
                kind: TaskWork::Execute,
                items: Some(items.len() as i64),
            };
            events::record(&mut tx, Some(request_id), &Actor::System, &event, now).await?;
        }
    }
    tx.commit().await?;
    app.jobs_ready.notify_waiters();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Staff

/// Why a staff action on a task was not taken. Nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskRefused {
    NotFound,
    /// The request was cancelled, refused or closed: nobody needs this task any more.
    RequestClosed,
    /// The task was already completed.
    AlreadyDone,
    /// The request is not at the step this task belongs to.
    NotNow,
    /// "Nothing found" while files were uploaded.
    HasFiles,
    /// "Send the files" without any file.
    NoFiles,
    /// A file over the source's limit (in MiB).
    TooLarge(u64),
    TooManyFiles,
    /// The upload carried no file.
    EmptyUpload,
    NoteTooLong,
    /// Files were uploaded or removed while the task was being completed.
    FilesChanged,
    /// The file to remove is not (any more) one of the task's.
    FileNotFound,
}

impl TaskRefused {
    pub fn code(self) -> &'static str {
        match self {
            TaskRefused::NotFound => "not_found",
            TaskRefused::RequestClosed => "closed",
            TaskRefused::AlreadyDone => "already_done",
            TaskRefused::NotNow => "not_now",
            TaskRefused::HasFiles => "has_files",
            TaskRefused::NoFiles => "no_files",
            TaskRefused::TooLarge(_) => "too_large",
            TaskRefused::TooManyFiles => "too_many",
            TaskRefused::EmptyUpload => "empty_upload",
            TaskRefused::NoteTooLong => "note_too_long",
            TaskRefused::FilesChanged => "files_changed",
            TaskRefused::FileNotFound => "file_not_found",
        }
    }

    /// The catalog key of the sentence staff read.
    pub fn key(self) -> &'static str {
        match self {
            TaskRefused::NotFound => "staff.tasks.refused.not_found",
            TaskRefused::RequestClosed => "staff.tasks.refused.closed",
            TaskRefused::AlreadyDone => "staff.tasks.refused.already_done",
            TaskRefused::NotNow => "staff.tasks.refused.not_now",
            TaskRefused::HasFiles => "staff.tasks.refused.has_files",
            TaskRefused::NoFiles => "staff.tasks.refused.no_files",
            TaskRefused::TooLarge(_) => "staff.tasks.refused.too_large",
            TaskRefused::TooManyFiles => "staff.tasks.refused.too_many",
            TaskRefused::EmptyUpload => "staff.tasks.refused.empty_upload",
            TaskRefused::NoteTooLong => "staff.tasks.refused.note_too_long",
            TaskRefused::FilesChanged => "staff.tasks.refused.files_changed",
            TaskRefused::FileNotFound => "staff.tasks.refused.file_not_found",
        }
    }
}

pub type TaskOutcome = anyhow::Result<Result<(), TaskRefused>>;

/// Which steps of a request a task of `kind` belongs to.
fn expected_states(kind: TaskKind) -> &'static [RequestStatus] {
    match kind {
        TaskKind::Collect => &[RequestStatus::Collecting, RequestStatus::NeedsAttention],
        TaskKind::Execute => &[RequestStatus::Executing, RequestStatus::AwaitingReview, RequestStatus::NeedsAttention],
    }
}

/// The task `id` and its request, if the task is still open and its request at the step the
/// task belongs to.
async fn actionable(conn: &mut Conn, id: &str) -> anyhow::Result<Result<(Task, RequestRow), TaskRefused>> {
    let Some(task) = tasks::get(conn, id).await? else { return Ok(Err(TaskRefused::NotFound)) };
    let request = requests::get(conn, &task.request_id).await?.context("a task without its request")?;
    if request.status.is_terminal() {
        return Ok(Err(TaskRefused::RequestClosed));
    }
    if task.status != TaskStatus::Open {
        return Ok(Err(TaskRefused::AlreadyDone));
    }
    if !expected_states(task.kind).contains(&request.status) {
        return Ok(Err(TaskRefused::NotNow));
    }
    Ok(Ok((task, request)))
}

/// What a staff member may do with the task now (the page shows the forms accordingly).
pub async fn can_complete(app: &App, id: &str) -> anyhow::Result<Result<(), TaskRefused>> {
    let mut conn = app.store.conn().await?;
    Ok(actionable(&mut conn, id).await?.map(|_| ()))
}

/// Receives one uploaded file: encrypts it to a temporary file as it streams in, counting and
/// hashing the plaintext, and refuses more than the source's limit. Its methods do blocking file
/// I/O: call them from a blocking thread (`web::block`, `spawn_blocking`), not the async worker.
pub struct UploadWriter {
    out: Option<EncryptingWriter<BufWriter<File>>>,
    hasher: Sha256,
    size: u64,
    limit: u64,
    tmp: PathBuf,
    path: PathBuf,
    pub id: String,
    pub name: String,
}

impl UploadWriter {
    /// Starts a file in `dir` (the request's [`upload_dir`]); `name` is the sanitised name.
    pub fn create(
        dir: &std::path::Path,
        key: &crate::crypto::SecretKey,
        name: String,
        limit: u64,
    ) -> anyhow::Result<Self> {
        crate::fsutil::create_private_dir_all(dir).context("creating the request's uploads folder")?;
        let id = crate::crypto::new_id();
        let tmp = dir.join(format!("{id}.tmp"));
        let path = dir.join(format!("{id}.enc"));
        let file = crate::fsutil::create_private_new(&tmp).with_context(|| format!("creating the upload {id}"))?;
        let out = EncryptingWriter::new(BufWriter::with_capacity(64 * 1024, file), key)
            .with_context(|| format!("writing the upload {id}"))?;
        Ok(Self { out: Some(out), hasher: Sha256::new(), size: 0, limit, tmp, path, id, name })
    }

    /// Appends a chunk; `Ok(false)` once the file would exceed the limit (nothing more is written).
    pub fn write(&mut self, chunk: &[u8]) -> anyhow::Result<bool> {
        if self.size + chunk.len() as u64 > self.limit {
            return Ok(false);
        }
        let out = self.out.as_mut().context("the upload is already finished")?;
        out.write_all(chunk).context("storing an uploaded file")?;
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        Ok(true)
    }

    /// Seals the file, syncs it and moves it into place (`<uploads>/<request>/<id>.enc`).
    pub fn finish(mut self) -> anyhow::Result<Stored> {
        let out = self.out.take().context("the upload is already finished")?;
        let sealed = (|| -> anyhow::Result<()> {
            let file = out
                .finish()
                .context("sealing an uploaded file")?
                .into_inner()
                .map_err(|e| e.into_error())
                .context("flushing an uploaded file")?;
            file.sync_all().context("syncing an uploaded file")?;
            std::fs::rename(&self.tmp, &self.path).with_context(|| format!("saving the upload {}", self.id))
        })();
        if let Err(e) = sealed {
            let _ = std::fs::remove_file(&self.tmp);
            return Err(e);
        }
        let sha256 = hex(&std::mem::take(&mut self.hasher).finalize());
        Ok(Stored {
            id: self.id.clone(),
            name: std::mem::take(&mut self.name),
            size: self.size,
            sha256,
            path: self.path.clone(),
        })
    }
}

impl Drop for UploadWriter {
    /// An unfinished upload (refused, or the connection dropped) leaves nothing behind.
    fn drop(&mut self) {
        if self.out.is_some() {
            self.out = None;
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// A file written, encrypted, and not yet recorded.
#[derive(Debug)]
pub struct Stored {
    pub id: String,
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub path: PathBuf,
}

/// The files stored for one upload. Unless the upload is recorded ([`record_upload`] commits
/// it), dropping the batch deletes them: an upload refused, failed, or cut off half-way (an
/// error, the connection dropped, the handler's future dropped) leaves no orphan file.
#[derive(Debug, Default)]
pub struct UploadBatch {
    stored: Vec<Stored>,
    committed: bool,
}

impl UploadBatch {
    pub fn push(&mut self, stored: Stored) {
        self.stored.push(stored);
    }

    pub fn len(&self) -> usize {
        self.stored.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stored.is_empty()
    }
}

impl Drop for UploadBatch {
    fn drop(&mut self) {
        if !self.committed {
            for s in &self.stored {
                let _ = std::fs::remove_file(&s.path);
            }
        }
    }
}

/// A name unique (ignoring case) among `taken`: `scan.pdf`, `scan (2).pdf`, …
pub fn unique_name(name: &str, taken: &[String]) -> String {
    let used = |n: &str| taken.iter().any(|t| t.to_lowercase() == n.to_lowercase());
    if !used(name) {
        return name.to_owned();
    }
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    (2..).map(|n| format!("{stem} ({n}){ext}")).find(|c| !used(c)).unwrap_or_else(|| name.to_owned())
}

/// A file name from a browser made safe: only its last path component, without control or
/// reserved characters, not empty, bounded length (the extension kept).
pub fn sanitise_file_name(raw: &str) -> String {
    // Browsers send `"`, CR and LF in a file name percent-encoded (HTML's multipart/form-data
    // encoding): decoded first, so they are replaced like the other reserved characters.
    let raw = raw.replace("%22", "\"").replace("%0D", "\r").replace("%0A", "\n");
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let last = last.trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    if last.chars().count() <= MAX_NAME_CHARS {
        return crate::export::path_component(last);
    }
    // Too long: the stem is shortened and the extension kept (when it is one: short and
    // alphanumeric), so `….pdf` still opens as a PDF.
    let ext = last
        .rfind('.')
        .filter(|&i| i > 0)
        .map(|i| &last[i..])
        .filter(|e| (2..=MAX_EXT_CHARS + 1).contains(&e.len()) && e[1..].chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or("");
    let stem = crate::export::path_component(&last[..last.len() - ext.len()]);
    let stem: String = stem.chars().take(MAX_NAME_CHARS - ext.len()).collect();
    format!("{}{ext}", stem.trim_end_matches(|c: char| c == '.' || c.is_whitespace()))
}

/// Longest stored file name, in characters.
const MAX_NAME_CHARS: usize = 80;
/// Longest extension kept when a name is shortened (without its dot).
const MAX_EXT_CHARS: usize = 10;

/// Records the files staff uploaded for the task (already stored, encrypted): their names are
/// made unique within the task. When the task cannot take them, they are deleted and nothing is
/// recorded.
pub async fn record_upload(app: &App, by: &StaffRow, task_id: &str, mut batch: UploadBatch) -> TaskOutcome {
    // Every early return drops `batch`, which deletes its files.
    if batch.is_empty() {
        return Ok(Err(TaskRefused::EmptyUpload));
    }
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let (task, request) = match actionable(&mut tx, task_id).await? {
        Ok(found) => found,
        Err(why) => return Ok(Err(why)),
    };
    if task.kind != TaskKind::Collect {
        return Ok(Err(TaskRefused::NotNow));
    }
    requests::lock(&mut tx, app.store.backend(), &request.id).await?;
    // Re-checked under the lock: the task may have been completed meanwhile.
    if let Err(why) = actionable(&mut tx, task_id).await? {
        return Ok(Err(why));
    }
    let mut taken: Vec<String> = tasks::files(&mut tx, task_id).await?.into_iter().map(|f| f.name).collect();
    if taken.len() + batch.len() > MAX_FILES_PER_UPLOAD * 5 {
        return Ok(Err(TaskRefused::TooManyFiles));
    }
    let mut listed = Vec::new();
    for s in &batch.stored {
        let name = unique_name(&s.name, &taken);
        taken.push(name.clone());
        tasks::add_file(
            &mut tx,
            &TaskFile {
                id: s.id.clone(),
                task_id: task_id.to_owned(),
                name: name.clone(),
                size: s.size as i64,
                sha256: s.sha256.clone(),
                uploaded_by: actor(by),
                uploaded_at: now,
            },
        )
        .await?;
        // The audit log is append-only and kept after the request's personal data is purged: a
        // file name ("Jeanne Martin - carte d'identité.pdf") is personal data, so it names the file
        // by its id.
        listed.push(FileRef { id: s.id.clone(), size: s.size as i64 });
    }
    let event = Event::TaskFilesUploaded { task: task_id.to_owned(), source: task.source.clone(), files: listed };
    events::record(&mut tx, Some(&request.id), &Actor::staff(&by.id), &event, now).await?;
    tx.commit().await?;
    batch.committed = true;
    Ok(Ok(()))
}

/// How staff complete a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// Collect: send the uploaded files. Execute: the change was made by hand.
    Done,
    /// Nothing about the person was found in the source.
    Nothing,
}

/// Completes a task: its source's run finishes exactly as a finished job's would, and the
/// request moves on (the export is queued once every source is done; a change request completes
/// once nothing is left to execute).
///
/// A collect task's files are listed in a spool written first, outside the write transaction
/// (slow work), under a name only this call uses; under the request's lock the file list is read
/// again and the completion refused if it changed (an upload or a removal meanwhile: what was
/// listed would not be what the export holds). Only once the transaction committed is the spool
/// renamed into place. A refused or failed call deletes only its own temporary file, never the
/// spool a concurrent completion put in place.
pub async fn complete(app: &App, by: &StaffRow, task_id: &str, how: Completion, note: &str) -> TaskOutcome {
    let note = note.trim();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Ok(Err(TaskRefused::NoteTooLong));
    }
    let note = Some(note).filter(|n| !n.is_empty());
    let (task, files) = {
        let mut conn = app.store.conn().await?;
        let (task, _) = match actionable(&mut conn, task_id).await? {
            Ok(found) => found,
            Err(why) => return Ok(Err(why)),
        };
        let files = tasks::files(&mut conn, task_id).await?;
        (task, files)
    };
    if task.kind == TaskKind::Collect {
        match (how, files.is_empty()) {
            (Completion::Done, true) => return Ok(Err(TaskRefused::NoFiles)),
            (Completion::Nothing, false) => return Ok(Err(TaskRefused::HasFiles)),
            _ => {}
        }
    }
    let spool = super::progress::spool_path(app, &task.request_id, &task.source);
    let pending = if task.kind == TaskKind::Collect && !files.is_empty() {
        let entries: Vec<(TaskFile, PathBuf)> =
            files.iter().map(|f| (f.clone(), stored_path(app, &task.request_id, &f.id))).collect();
        let key = app.keys.export.clone();
        let target = spool.clone();
        let written = tokio::task::spawn_blocking(move || write_spool_tmp(&key, &target, &entries))
            .await
            .context("the spool writer stopped")??;
        Some(written)
    } else {
        None
    };
    let result = record_completion(app, by, &task, how, note, &files).await;
    let Some(tmp) = pending else { return result };
    if !matches!(result, Ok(Ok(()))) {
        // Only this call's file: the spool in place (if any) belongs to whoever completed it.
        let _ = std::fs::remove_file(&tmp.0);
        return result;
    }
    tokio::task::spawn_blocking(move || tmp.install(&spool)).await.context("the spool writer stopped")??;
    result
}

/// Writes again the spool of a manual source whose collect task is done, from the files it
/// recorded, when the spool is missing (a crash between the completion's commit and the spool's
/// rename): the export job calls it rather than failing for ever. False when there is no done
/// collect task with files for the source.
pub async fn restore_spool(app: &App, request_id: &str, source: &str) -> anyhow::Result<bool> {
    let mut conn = app.store.conn().await?;
    let done = tasks::for_request(&mut conn, request_id)
        .await?
        .into_iter()
        .find(|t| t.source == source && t.kind == TaskKind::Collect && t.status == TaskStatus::Done);
    let Some(task) = done else { return Ok(false) };
    let files = tasks::files(&mut conn, &task.id).await?;
    drop(conn);
    if files.is_empty() {
        return Ok(false);
    }
    let entries: Vec<(TaskFile, PathBuf)> =
        files.iter().map(|f| (f.clone(), stored_path(app, request_id, &f.id))).collect();
    let key = app.keys.export.clone();
    let spool = super::progress::spool_path(app, request_id, source);
    tokio::task::spawn_blocking(move || write_spool_tmp(&key, &spool, &entries)?.install(&spool))
        .await
        .context("the spool writer stopped")??;
    tracing::info!(source, task = %task.id, "manual source: spool restored from its task");
    Ok(true)
}

/// A spool written under a temporary name, not yet in place.
struct PendingSpool(PathBuf);

impl PendingSpool {
    fn install(&self, spool: &std::path::Path) -> anyhow::Result<()> {
        std::fs::rename(&self.0, spool).context("putting a manual source's spool in place")
    }
}

/// The source's spool for the export, written beside `spool` under a name unique to this call:
/// one record per uploaded file, naming the encrypted file the export builder copies into the
/// ZIP (see `crate::export`).
fn write_spool_tmp(
    key: &crate::crypto::SecretKey,
    spool: &std::path::Path,
    files: &[(TaskFile, PathBuf)],
) -> anyhow::Result<PendingSpool> {
    let dir = spool.parent().context("spool path has a parent")?;
    crate::fsutil::create_private_dir_all(dir).context("creating the request's spool folder")?;
    let tmp = dir.join(format!("{}.task.tmp", crate::crypto::new_id()));
    let pending = PendingSpool(tmp.clone());
    let write = || -> anyhow::Result<()> {
        let mut writer = SpoolWriter::create(&tmp, key)?;
        let fields: Vec<String> = ["name", "size", "sha256", "stored_at"].iter().map(|s| (*s).to_owned()).collect();
        use crate::connectors::RecordSink;
        writer.begin_collection(FILES_COLLECTION, &fields)?;
        for (f, path) in files {
            let mut record = Record::new();
            record.insert("name".into(), f.name.clone().into());
            record.insert("size".into(), f.size.into());
            record.insert("sha256".into(), f.sha256.clone().into());
            record.insert("stored_at".into(), path.to_string_lossy().into_owned().into());
            writer.record(record)?;
        }
        writer.finish()?;
        Ok(())
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(pending)
}

async fn record_completion(
    app: &App,
    by: &StaffRow,
    task: &Task,
    how: Completion,
    note: Option<&str>,
    listed: &[TaskFile],
) -> TaskOutcome {
    let files = listed.len();
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    requests::lock(&mut tx, app.store.backend(), &task.request_id).await?;
    // Re-checked under the write lock: the request may have been cancelled, or the task
    // completed by a colleague, meanwhile.
    let request = match actionable(&mut tx, &task.id).await? {
        Ok((_, request)) => request,
        Err(why) => return Ok(Err(why)),
    };
    // What the spool lists must be what the task holds now (GDPR Art. 15(3): the copy is
    // complete): a file uploaded or removed since it was listed refuses the completion.
    let ids = |files: &[TaskFile]| {
        let mut ids: Vec<String> = files.iter().map(|f| f.id.clone()).collect();
        ids.sort();
        ids
    };
    if ids(&tasks::files(&mut tx, &task.id).await?) != ids(listed) {
        return Ok(Err(TaskRefused::FilesChanged));
    }
    let status = match how {
        Completion::Done => TaskStatus::Done,
        Completion::Nothing => TaskStatus::Nothing,
    };
    if !tasks::complete(&mut tx, &task.id, status, note, &actor(by), now).await? {
        return Ok(Err(TaskRefused::AlreadyDone));
    }
    let source = task.source.as_str();
    let event = Event::TaskCompleted {
        task: task.id.clone(),
        source: source.to_owned(),
        kind: work(task.kind),
        outcome: match how {
            Completion::Done => trail::TaskOutcome::Done,
            Completion::Nothing => trail::TaskOutcome::Nothing,
        },
        files: files as i64,
        note: note.is_some(),
    };
    events::record(&mut tx, Some(&request.id), &Actor::staff(&by.id), &event, now).await?;
    match task.kind {
        TaskKind::Collect => {
            // As a finished collect job: the run is done, and the last source to
            // finish queues the export.
            super::progress::source_collected(app, &mut tx, &request.id, source, files as i64, now).await?;
        }
        TaskKind::Execute => {
            // As a finished execute job: every approved item of the source gets
            // its outcome; "nothing found" is recorded as missing, and the certificate says so.
            let outcome = match how {
                Completion::Done => ItemOutcome::Applied,
                Completion::Nothing => ItemOutcome::Missing,
            };
            let items = plans::to_execute(&mut tx, &request.id, source).await?;
            for item in &items {
                plans::record_outcome(&mut tx, &item.id, outcome, now).await?;
            }
            let outcomes = [(outcome.as_str().to_owned(), items.len() as i64)].into();
            super::progress::source_executed(&mut tx, &request.id, source, outcomes, now).await?;
            crate::services::changes::executed(app, &mut tx, &request, now).await?;
        }
    }
    tx.commit().await?;
    app.jobs_ready.notify_waiters();
    tracing::info!(source, task = %task.id, outcome = status.as_str(), "task completed by staff");
    Ok(Ok(()))
}

/// Removes a file uploaded by mistake from an open collect task (GDPR Art. 15(4): a document
/// about someone else must never reach the requester). Refused once the task is completed (the
/// file is then in the export's spool). Audited with the file's name and size only; the stored
/// file is deleted once the removal is committed.
pub async fn remove_file(app: &App, by: &StaffRow, task_id: &str, file_id: &str) -> TaskOutcome {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let Some(task) = tasks::get(&mut tx, task_id).await? else { return Ok(Err(TaskRefused::NotFound)) };
    requests::lock(&mut tx, app.store.backend(), &task.request_id).await?;
    let (task, request) = match actionable(&mut tx, task_id).await? {
        Ok(found) => found,
        Err(why) => return Ok(Err(why)),
    };
    if task.kind != TaskKind::Collect {
        return Ok(Err(TaskRefused::NotNow));
    }
    let Some(file) = tasks::remove_file(&mut tx, task_id, file_id).await? else {
        return Ok(Err(TaskRefused::FileNotFound));
    };
    let event = Event::TaskFileRemoved {
        task: task_id.to_owned(),
        source: task.source.clone(),
        file: FileRef { id: file.id.clone(), size: file.size },
    };
    events::record(&mut tx, Some(&request.id), &Actor::staff(&by.id), &event, now).await?;
    tx.commit().await?;
    let path = stored_path(app, &request.id, &file.id);
    match tokio::fs::remove_file(&path).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        // Housekeeping deletes the request's uploads when it closes; the file is listed nowhere.
        Err(e) => tracing::warn!(task = %task_id, error = %e, "could not delete a removed upload"),
    }
    tracing::info!(source = %task.source, task = %task_id, "uploaded file removed by staff");
    Ok(Ok(()))
}

/// Once the request's export is built, the uploaded files it holds are deleted from the uploads
/// folder (the export keeps them, encrypted, until it expires): personal data is not kept twice.
pub async fn forget_uploads_once_exported(app: &App, request_id: &str) -> anyhow::Result<()> {
    let mut conn = app.store.conn().await?;
    let built = crate::store::exports::latest_for_request(&mut conn, request_id).await?.is_some();
    drop(conn);
    let dir = upload_dir(app, request_id);
    if built && dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    Ok(())
}

/// One open task, as the list shows it.
pub struct OpenTask {
    pub task: Task,
    pub request: RequestRow,
}

/// The open tasks of open requests, oldest first (optionally only one request's).
pub async fn open_list(app: &App, request_id: Option<&str>) -> anyhow::Result<Vec<OpenTask>> {
    let mut conn = app.store.conn().await?;
    let list = match request_id {
        Some(id) => tasks::for_request(&mut conn, id).await?,
        None => tasks::open_tasks(&mut conn, 500).await?,
    };
    let mut out = Vec::with_capacity(list.len());
    for task in list {
        let Some(request) = requests::get(&mut conn, &task.request_id).await? else { continue };
        out.push(OpenTask { task, request });
    }
    Ok(out)
}

/// A task with its request and files, for its page.
pub async fn details(app: &App, id: &str) -> anyhow::Result<Option<(Task, RequestRow, Vec<TaskFile>)>> {
    let mut conn = app.store.conn().await?;
    let Some(task) = tasks::get(&mut conn, id).await? else { return Ok(None) };
    let Some(request) = requests::get(&mut conn, &task.request_id).await? else { return Ok(None) };
    let files = tasks::files(&mut conn, id).await?;
    Ok(Some((task, request, files)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_file_names_are_made_safe() {
        assert_eq!(sanitise_file_name("scan.pdf"), "scan.pdf");
        assert_eq!(sanitise_file_name("C:\\Users\\x\\Contrat signé.pdf"), "Contrat signé.pdf");
        assert_eq!(sanitise_file_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitise_file_name("..\\..\\a<b>|c?.txt"), "a_b__c_.txt");
        assert_eq!(sanitise_file_name("  .hidden. "), "hidden");
        assert_eq!(sanitise_file_name("con.txt"), "_con.txt");
        assert_eq!(sanitise_file_name("a\u{0}b\nc.txt"), "a_b_c.txt");
        assert_eq!(sanitise_file_name("say %22hi%22%0A.txt"), "say _hi__.txt");
        assert_eq!(sanitise_file_name(""), "_");
        assert_eq!(sanitise_file_name("../"), "_");
        assert!(sanitise_file_name(&"x".repeat(300)).chars().count() <= 80);
        // A long name keeps its extension; a "extension" that is not one is cut like the rest.
        let long = sanitise_file_name(&format!("{}.pdf", "é".repeat(300)));
        assert_eq!(long.chars().count(), 80, "{long}");
        assert!(long.ends_with("é.pdf"), "{long}");
        assert_eq!(long, format!("{}.pdf", "é".repeat(76)));
        let odd = sanitise_file_name(&format!("{}.not an extension at all", "a".repeat(100)));
        assert_eq!(odd, "a".repeat(80));
    }

    #[test]
    fn names_are_unique_within_a_task_ignoring_case() {
        let taken = vec!["scan.pdf".to_owned(), "Scan (2).pdf".to_owned()];
        assert_eq!(unique_name("other.pdf", &taken), "other.pdf");
        assert_eq!(unique_name("SCAN.pdf", &taken), "SCAN (3).pdf");
        assert_eq!(unique_name("README", &["readme".to_owned()]), "README (2)");
    }

    mod proptests {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// A browser's file name, whatever it holds: a name that stays in its folder on every
            /// file system and that the ZIP's index.html can link to.
            #[test]
            fn sanitised_names_stay_in_their_folder(raw in "\\PC{0,120}|.{0,200}|[./\\\\%0-9A-Fa-f]{0,30}") {
                let name = sanitise_file_name(&raw);
                prop_assert!(!name.is_empty());
                prop_assert!(name.chars().count() <= MAX_NAME_CHARS);
                prop_assert!(!name.chars().any(|c| c.is_control() || "/\\:*?\"<>|".contains(c)), "{:?}", name);
                prop_assert!(name != "." && name != ".." && !name.starts_with('.') && !name.ends_with('.'), "{:?}", name);
                prop_assert_eq!(name.trim(), name.as_str());
                prop_assert_eq!(sanitise_file_name(&name), name.clone(), "sanitising is stable");
            }
        }
    }
}
