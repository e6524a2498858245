-- Staff second factor (TOTP, RFC 6238), staff management in the workspace, and workspace settings.
-- Additive only: an instance running the previous version ignores the new columns and tables.

-- The active TOTP secret, sealed with a key derived from the configured secret (never in clear),
-- and the last time step a code was accepted for it (a code is accepted once).
ALTER TABLE staff ADD COLUMN totp_secret TEXT;
ALTER TABLE staff ADD COLUMN totp_last_step BIGINT;
-- A secret being enrolled: active only once the staff member has typed a code from it.
ALTER TABLE staff ADD COLUMN totp_pending TEXT;
ALTER TABLE staff ADD COLUMN last_login_at BIGINT;

-- The half-way state of a login with a second factor: the password was right, the code is still
-- to come. A few minutes long, usable for nothing but typing the code.
CREATE TABLE staff_login_challenges (
    id_hash         TEXT PRIMARY KEY,
    staff_id        TEXT NOT NULL REFERENCES staff (id),
    -- the keyed email hash the login failures are counted under
    email_hash      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX staff_login_challenges_staff ON staff_login_challenges (staff_id);

-- Settings admins change in the workspace, shared by every instance (e.g. require_totp = '1').
CREATE TABLE workspace_settings (
    name            TEXT PRIMARY KEY,
    value           TEXT NOT NULL,
    updated_at      BIGINT NOT NULL,
    updated_by      TEXT NOT NULL
);
