-- Privacy staff: accounts, their sessions, and failed logins (kept per email hash, so an
-- unknown address is throttled exactly like a known one).

CREATE TABLE staff (
    id              TEXT PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    -- admin | agent | auditor
    role            TEXT NOT NULL,
    -- argon2id PHC string
    password_hash   TEXT NOT NULL,
    disabled        INTEGER NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE staff_sessions (
    id_hash         TEXT PRIMARY KEY,
    staff_id        TEXT NOT NULL REFERENCES staff (id),
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    -- absolute end; the idle limit is checked against last_seen_at
    expires_at      BIGINT NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

CREATE TABLE login_failures (
    email_hash      TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    locked_until    BIGINT NOT NULL DEFAULT 0,
    updated_at      BIGINT NOT NULL
);

-- The staff queue sorts verified requests by due date; keyset pagination walks (due_on, id).
CREATE INDEX requests_due_id ON requests (due_on, id);
