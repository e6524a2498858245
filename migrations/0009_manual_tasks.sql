-- Manual sources (`kind = "manual"`): systems nobody can automate (a paper archive, an old tool).
-- When a request reaches one, a task for staff is opened instead of a search or a write; the
-- source's run stays unfinished until staff complete the task. Additive: an older instance
-- ignores these tables.

CREATE TABLE manual_tasks (
    id            TEXT PRIMARY KEY,
    request_id    TEXT NOT NULL REFERENCES requests (id),
    source        TEXT NOT NULL,
    -- collect (access, portability: search and upload what was found) | execute (erasure,
    -- rectification, objection: confirm it was done by hand).
    kind          TEXT NOT NULL,
    -- open | done (files uploaded, or the change confirmed) | nothing (staff found nothing).
    status        TEXT NOT NULL,
    -- What staff wrote when completing it (optional).
    note          TEXT,
    opened_at     BIGINT NOT NULL,
    completed_at  BIGINT,
    -- `staff:<id>` of who completed it.
    completed_by  TEXT
);
CREATE INDEX manual_tasks_status ON manual_tasks (status, opened_at);
CREATE INDEX manual_tasks_request ON manual_tasks (request_id, source, kind);

-- Files staff uploaded for a collect task, stored encrypted at rest under
-- `<data_dir>/uploads/<request id>/<file id>` (the export key's chunked cipher).
CREATE TABLE manual_task_files (
    id           TEXT PRIMARY KEY,
    task_id      TEXT NOT NULL REFERENCES manual_tasks (id),
    -- The sanitised file name shown to staff and used in the export (unique within the task).
    name         TEXT NOT NULL,
    size         BIGINT NOT NULL,
    -- SHA-256 (hex) of the plaintext.
    sha256       TEXT NOT NULL,
    uploaded_by  TEXT NOT NULL,
    uploaded_at  BIGINT NOT NULL
);
CREATE INDEX manual_task_files_task ON manual_task_files (task_id, uploaded_at);
