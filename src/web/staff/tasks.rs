//! `/staff/tasks`: the tasks manual sources open for staff (see [`crate::services::tasks`]).
//! Every role may read them; only admins and agents upload files or complete a task. The upload
//! is a multipart form whose first field is the CSRF token: a body without it is refused before
//! any file is stored.

use actix_web::{HttpResponse, web};
use askama::Template;
use futures_util::StreamExt;

use super::queue::status_label;
use super::{ACTORS, READERS, require};
use crate::app::App;
use crate::domain::{Reference, RequestKind};
use crate::i18n::Tr;
use crate::services::notify::{format_date, kind_label};
use crate::services::tasks::{self, Completion, TaskRefused, UploadBatch, UploadWriter};
use crate::store::requests::RequestRow;
use crate::store::tasks::{Task, TaskKind, TaskStatus};
use crate::web::{Page, PageError, urls};

/// A task as a row of the list, or the head of its page.
pub struct TaskView {
    pub url: String,
    pub reference: String,
    pub request_url: String,
    pub request_kind: &'static str,
    pub request_status: &'static str,
    pub source: String,
    pub what: &'static str,
    pub instructions: String,
    pub age: String,
    pub due: String,
    pub state: &'static str,
    pub open: bool,
}

fn view(app: &App, t: Tr, task: &Task, request: &RequestRow) -> TaskView {
    let reference = request.reference.as_ref().map(|r| r.as_str().to_owned()).unwrap_or_default();
    let connector = app.connector(&task.source);
    let source = connector
        .map(|c| c.info().label.get(t.locale).to_owned())
        .filter(|l| !l.trim().is_empty())
        .unwrap_or_else(|| task.source.clone());
    let fallback = t.get(match request.kind {
        RequestKind::Access | RequestKind::Portability => "staff.tasks.default.collect",
        RequestKind::Erasure => "staff.tasks.default.erasure",
        RequestKind::Rectification => "staff.tasks.default.rectification",
        RequestKind::Objection => "staff.tasks.default.objection",
    });
    let instructions = connector
        .and_then(|c| c.staff_task())
        .map(|s| s.text_for(request.kind, t.locale, fallback))
        .unwrap_or_else(|| fallback.to_owned());
    let days = (app.now_ms() - task.opened_at).max(0) / 86_400_000;
    let age = match days {
        0 => t.get("staff.tasks.age.today").to_owned(),
        1 => t.get("staff.tasks.age.one").to_owned(),
        n => t.fmt("staff.tasks.age.other", &[("n", &n.to_string())]),
    };
    let state = match (task.status, request.status.is_terminal()) {
        (TaskStatus::Open, true) => t.get("staff.tasks.state.closed_request"),
        (TaskStatus::Open, false) => t.get("staff.tasks.state.waiting"),
        (TaskStatus::Done, _) if task.kind == TaskKind::Collect => t.get("staff.tasks.state.sent"),
        (TaskStatus::Done, _) => t.get("staff.tasks.state.confirmed"),
        (TaskStatus::Nothing, _) => t.get("staff.tasks.state.nothing"),
    };
    TaskView {
        url: urls::staff_task(&task.id),
        request_url: request.reference.as_ref().map(urls::staff_request).unwrap_or_default(),
        reference,
        request_kind: kind_label(t, request.kind),
        request_status: status_label(t, request.status),
        source,
        what: t.get(match task.kind {
            TaskKind::Collect => "staff.tasks.what.collect",
            TaskKind::Execute => "staff.tasks.what.execute",
        }),
        instructions,
        age,
        due: format_date(t, request.due_on),
        state,
        open: task.status == TaskStatus::Open && !request.status.is_terminal(),
    }
}

#[derive(Template)]
#[template(path = "staff/tasks.html")]
struct ListTemplate<'a> {
    t: Tr,
    page: &'a Page,
    tasks: Vec<TaskView>,
    /// Set when the list is one request's tasks.
    reference: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    request: String,
}

/// `GET /staff/tasks`: the open tasks of open requests, oldest first; `?request=DSR-…`: every
/// task of that request.
pub async fn list(mut page: Page, app: web::Data<App>, q: web::Query<ListQuery>) -> Result<HttpResponse, PageError> {
    require(&app, &mut page, READERS).await?;
    let t = page.t;
    let (request_id, reference) = if q.request.trim().is_empty() {
        (None, None)
    } else {
        let reference: Reference = q.request.trim().parse().map_err(|_| PageError::NOT_FOUND)?;
        let mut conn = app.store.conn().await?;
        let request = crate::store::requests::by_reference(&mut conn, &reference).await?.ok_or(PageError::NOT_FOUND)?;
        (Some(request.id), Some(reference.as_str().to_owned()))
    };
    let open = tasks::open_list(&app, request_id.as_deref()).await?;
    let views = open.iter().map(|o| view(&app, t, &o.task, &o.request)).collect();
    let body = ListTemplate { t, page: &page, tasks: views, reference }.render().map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body))
}

pub struct FileRow {
    pub name: String,
    /// Where the "remove" form posts.
    pub remove_url: String,
    pub size: String,
    pub by: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "staff/task.html")]
struct TaskTemplate<'a> {
    t: Tr,
    page: &'a Page,
    task: TaskView,
    collect: bool,
    files: Vec<FileRow>,
    note: Option<String>,
    completed: Option<String>,
    /// The forms, when the viewer may act and the task is still to do.
    can_act: bool,
    upload_url: String,
    complete_url: String,
    upload_hint: String,
    notice: Option<&'static str>,
    refused: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    refused: String,
}

fn max_file_bytes(app: &App, task: &Task) -> u64 {
    app.connector(&task.source)
        .and_then(|c| c.staff_task())
        .map_or(crate::connectors::manual::DEFAULT_MAX_FILE_MB * 1024 * 1024, |s| s.max_file_bytes)
}

/// `GET /staff/tasks/{id}`.
pub async fn show(
    mut page: Page,
    app: web::Data<App>,
    id: web::Path<String>,
    q: web::Query<ShowQuery>,
) -> Result<HttpResponse, PageError> {
    let viewer = require(&app, &mut page, READERS).await?;
    let t = page.t;
    let (task, request, files) = tasks::details(&app, &id).await?.ok_or(PageError::NOT_FOUND)?;
    let max_mb = max_file_bytes(&app, &task) / (1024 * 1024);
    let local = |ms: i64| {
        let at = crate::clock::from_ms(ms);
        let at = app.zone.offset_at(at).map(|o| at.to_offset(o)).unwrap_or(at);
        format!("{} {:02}:{:02}", format_date(t, at.date()), at.hour(), at.minute())
    };
    let files = files
        .iter()
        .map(|f| FileRow {
            // Emptied when the request's personal data was purged.
            name: if f.name.is_empty() { t.get("staff.tasks.name_purged").to_owned() } else { f.name.clone() },
            remove_url: urls::staff_task_file_remove(&task.id, &f.id),
            size: t.fmt("staff.tasks.bytes", &[("n", &f.size.to_string())]),
            by: f.uploaded_by.clone(),
            at: local(f.uploaded_at),
        })
        .collect();
    let completed = task.completed_at.map(|at| {
        t.fmt("staff.tasks.completed_by", &[("at", &local(at)), ("by", task.completed_by.as_deref().unwrap_or("—"))])
    });
    let notice = match q.done.as_str() {
        "files" => Some(t.get("staff.tasks.done.files")),
        "complete" => Some(t.get("staff.tasks.done.complete")),
        "removed" => Some(t.get("staff.tasks.done.removed")),
        _ => None,
    };
    let refused = refused_text(t, &q.refused, max_mb);
    let task_view = view(&app, t, &task, &request);
    let body = TaskTemplate {
        t,
        page: &page,
        can_act: viewer.role.can_act() && task_view.open,
        task: task_view,
        collect: task.kind == TaskKind::Collect,
        files,
        note: task.note.clone(),
        completed,
        upload_url: urls::staff_task_files(&task.id),
        complete_url: urls::staff_task_complete(&task.id),
        upload_hint: t.fmt(
            "staff.tasks.upload_hint",
            &[("mb", &max_mb.to_string()), ("n", &tasks::MAX_FILES_PER_UPLOAD.to_string())],
        ),
        notice,
        refused,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body))
}

fn refused_text(t: Tr, code: &str, max_mb: u64) -> Option<String> {
    let all = [
        TaskRefused::NotFound,
        TaskRefused::RequestClosed,
        TaskRefused::AlreadyDone,
        TaskRefused::NotNow,
        TaskRefused::HasFiles,
        TaskRefused::NoFiles,
        TaskRefused::TooLarge(max_mb),
        TaskRefused::TooManyFiles,
        TaskRefused::EmptyUpload,
        TaskRefused::NoteTooLong,
        TaskRefused::FilesChanged,
        TaskRefused::FileNotFound,
    ];
    let r = all.into_iter().find(|r| r.code() == code)?;
    Some(t.fmt(r.key(), &[("mb", &max_mb.to_string()), ("n", &tasks::MAX_FILES_PER_UPLOAD.to_string())]))
}

fn back(id: &str, query: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("Location", format!("{}?{query}", urls::staff_task(id)))).finish()
}

/// How much of a refused upload is still read (and discarded) so the browser gets the answer
/// rather than a reset connection; beyond it the connection is dropped.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

async fn drain(payload: &mut actix_multipart::Multipart) {
    let mut read = 0u64;
    while let Some(Ok(mut field)) = payload.next().await {
        while let Some(Ok(chunk)) = field.next().await {
            read += chunk.len() as u64;
            if read > DRAIN_LIMIT {
                return;
            }
        }
    }
}

/// `POST /staff/tasks/{id}/files` (multipart): the CSRF token first, then one or more `file`
/// fields. Every file is encrypted as it streams in; a file over the source's limit refuses the
/// whole upload and nothing is kept.
pub async fn upload(
    mut page: Page,
    app: web::Data<App>,
    id: web::Path<String>,
    mut payload: actix_multipart::Multipart,
) -> Result<HttpResponse, PageError> {
    let by = require(&app, &mut page, ACTORS).await?;
    let (task, _, _) = tasks::details(&app, &id).await?.ok_or(PageError::NOT_FOUND)?;
    let limit = max_file_bytes(&app, &task);

    // The token comes first: nothing is written for a form that did not come from our page.
    let mut token = Vec::new();
    match payload.next().await {
        Some(Ok(mut field)) if field.name() == Some("csrf") => {
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(|_| PageError::BAD_FORM)?;
                token.extend_from_slice(&chunk);
                if token.len() > 256 {
                    return Err(PageError::FORBIDDEN);
                }
            }
        }
        Some(Ok(_)) | None => return Err(PageError::FORBIDDEN),
        Some(Err(_)) => return Err(PageError::BAD_FORM),
    }
    page.check_csrf(std::str::from_utf8(&token).unwrap_or(""))?;
    if let Err(why) = tasks::can_complete(&app, &task.id).await? {
        drain(&mut payload).await;
        return Ok(back(&task.id, &format!("refused={}", why.code())));
    }

    // The files stored so far: dropping the batch (a refusal, an error, the connection cut,
    // this future dropped) deletes them; only a recorded upload keeps them.
    let mut batch = UploadBatch::default();
    let dir = tasks::upload_dir(&app, &task.request_id);
    let refused = loop {
        let Some(field) = payload.next().await else { break None };
        let Ok(mut field) = field else { return Err(PageError::BAD_FORM) };
        let file_name = field.content_disposition().and_then(|d| d.get_filename()).map(str::to_owned);
        let Some(file_name) = file_name.filter(|n| field.name() == Some("file") && !n.is_empty()) else {
            // An empty file input, or another field: read past it.
            while let Some(Ok(_)) = field.next().await {}
            continue;
        };
        if batch.len() >= tasks::MAX_FILES_PER_UPLOAD {
            break Some(TaskRefused::TooManyFiles);
        }
        let name = tasks::sanitise_file_name(&file_name);
        let (dir, key) = (dir.clone(), app.keys.export.clone());
        // Encrypting, writing and syncing are blocking: on the blocking pool, not the worker.
        let mut writer = blocking(move || UploadWriter::create(&dir, &key, name, limit)).await?;
        let mut too_large = false;
        while let Some(chunk) = field.next().await {
            let Ok(chunk) = chunk else { return Err(PageError::BAD_FORM) };
            let (back, fits) = blocking(move || {
                let fits = writer.write(&chunk);
                Ok((writer, fits))
            })
            .await?;
            writer = back;
            if !fits? {
                too_large = true;
                break;
            }
        }
        if too_large {
            // The writer's temporary file goes with it.
            drop(writer);
            break Some(TaskRefused::TooLarge(limit / (1024 * 1024)));
        }
        batch.push(blocking(move || writer.finish()).await?);
    };
    if let Some(why) = refused {
        drop(batch);
        drain(&mut payload).await;
        return Ok(back(&task.id, &format!("refused={}", why.code())));
    }
    let query = match tasks::record_upload(&app, &by, &task.id, batch).await? {
        Ok(()) => "done=files".to_owned(),
        Err(why) => format!("refused={}", why.code()),
    };
    Ok(back(&task.id, &query))
}

/// Runs blocking file work on actix's blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> anyhow::Result<T> + Send + 'static) -> anyhow::Result<T> {
    web::block(f).await.map_err(|e| anyhow::anyhow!("a blocking task stopped: {e}"))?
}

#[derive(serde::Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /staff/tasks/{id}/files/{file}/remove`: removes a file uploaded by mistake from an open
/// task (GDPR Art. 15(4): someone else's document must never reach the requester).
pub async fn remove_file(
    mut page: Page,
    app: web::Data<App>,
    path: web::Path<(String, String)>,
    form: web::Form<RemoveForm>,
) -> Result<HttpResponse, PageError> {
    let by = require(&app, &mut page, ACTORS).await?;
    page.check_csrf(&form.csrf)?;
    let (id, file) = path.into_inner();
    let query = match tasks::remove_file(&app, &by, &id, &file).await? {
        Ok(()) => "done=removed".to_owned(),
        Err(TaskRefused::NotFound) => return Err(PageError::NOT_FOUND),
        Err(why) => format!("refused={}", why.code()),
    };
    Ok(back(&id, &query))
}

#[derive(serde::Deserialize)]
pub struct CompleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    note: String,
}

/// `POST /staff/tasks/{id}/complete`: `outcome=done` (send the files / the change was made) or
/// `outcome=nothing` (nothing found), with an optional note.
pub async fn complete(
    mut page: Page,
    app: web::Data<App>,
    id: web::Path<String>,
    form: web::Form<CompleteForm>,
) -> Result<HttpResponse, PageError> {
    let by = require(&app, &mut page, ACTORS).await?;
    page.check_csrf(&form.csrf)?;
    let how = match form.outcome.as_str() {
        "done" => Completion::Done,
        "nothing" => Completion::Nothing,
        _ => return Err(PageError::BAD_FORM),
    };
    let query = match tasks::complete(&app, &by, &id, how, &form.note).await? {
        Ok(()) => "done=complete".to_owned(),
        Err(TaskRefused::NotFound) => return Err(PageError::NOT_FOUND),
        Err(why) => format!("refused={}", why.code()),
    };
    Ok(back(&id, &query))
}
