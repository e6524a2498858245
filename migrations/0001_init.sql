-- Dossier's store. Portable across SQLite and PostgreSQL: TEXT / BIGINT / INTEGER only, ids made
-- by the application, instants as BIGINT unix milliseconds, flags as INTEGER 0/1.

-- One data-subject request (GDPR Art. 12-22).
CREATE TABLE requests (
    id              TEXT PRIMARY KEY,
    -- DSR-2026-000123, given at verification.
    reference       TEXT UNIQUE,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    -- The normalised address; replaced by NULL once the request's personal data is purged.
    email           TEXT,
    -- HMAC of the address under the server's key: finds a person's requests without the address.
    email_hash      TEXT NOT NULL,
    locale          TEXT NOT NULL,
    jurisdiction    TEXT NOT NULL,
    channel         TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    -- The receipt date in the controller's time zone and the dates the law sets from it.
    received_on     TEXT NOT NULL,
    due_on          TEXT NOT NULL,
    extension_notice_by TEXT NOT NULL,
    verified_at     BIGINT,
    completed_at    BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX requests_email_hash ON requests (email_hash);
CREATE INDEX requests_status_due ON requests (status, due_on);

-- Yearly sequence for references.
CREATE TABLE reference_counters (
    year    INTEGER PRIMARY KEY,
    last    BIGINT NOT NULL
);

-- Proof-of-control of the email address: a link token and a 6-digit code, stored only as hashes.
CREATE TABLE verifications (
    id              TEXT PRIMARY KEY,
    request_id      TEXT NOT NULL REFERENCES requests (id),
    token_hash      TEXT NOT NULL UNIQUE,
    code_hash       TEXT NOT NULL,
    -- verify: proves the address for a new request; signin: reopens a verified request later.
    purpose         TEXT NOT NULL,
    -- Codes typed against this verification, counted before each comparison.
    code_attempts   INTEGER NOT NULL DEFAULT 0,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX verifications_request ON verifications (request_id);

-- A verified requester's browser session: it opens that email address's requests and nothing else.
CREATE TABLE requester_sessions (
    id_hash     TEXT PRIMARY KEY,
    email_hash  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

-- Progress of each source for a request.
CREATE TABLE source_runs (
    request_id  TEXT NOT NULL REFERENCES requests (id),
    source      TEXT NOT NULL,
    status      TEXT NOT NULL,
    records     BIGINT NOT NULL DEFAULT 0,
    error       TEXT,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (request_id, source)
);

-- The built export (an encrypted ZIP on disk).
CREATE TABLE exports (
    id          TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES requests (id),
    file_name   TEXT NOT NULL,
    size_bytes  BIGINT NOT NULL,
    sha256      TEXT NOT NULL,
    records     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    deleted_at  BIGINT
);
CREATE INDEX exports_request ON exports (request_id);

-- Accountability (GDPR Art. 5(2)): every transition and action, in order.
CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    request_id  TEXT REFERENCES requests (id),
    at          BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    event       TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_request ON audit_events (request_id, at, seq);

-- Outgoing mail, written in the same transaction as the change that causes it (transactional
-- outbox) and delivered by a job. Bodies are cleared once delivered: they may hold a token.
CREATE TABLE emails (
    id          TEXT PRIMARY KEY,
    request_id  TEXT REFERENCES requests (id),
    template    TEXT NOT NULL,
    to_addr     TEXT NOT NULL,
    subject     TEXT NOT NULL,
    text_body   TEXT,
    html_body   TEXT,
    message_id  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    sent_at     BIGINT
);

-- Durable background work: claimed with a lease, retried with backoff, dead after the last try.
CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    request_id      TEXT,
    -- Enqueuing the same key twice is a no-op: a step is never queued twice.
    idempotency_key TEXT UNIQUE,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    run_at          BIGINT NOT NULL,
    locked_until    BIGINT,
    locked_by       TEXT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at);

-- Fixed-window counters shared by every instance.
CREATE TABLE rate_limits (
    bucket          TEXT NOT NULL,
    window_start    BIGINT NOT NULL,
    hits            INTEGER NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
