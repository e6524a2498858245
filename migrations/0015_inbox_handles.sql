-- The "check your inbox" page's handle (issue 16, items 2 and 4).
--
-- Until now the page's handle was the request's id: the sign-in form ("come back to my request")
-- redirected a matching (reference, address) pair to that stable id and anything else to a fresh
-- one, so scanning references found a person's requests. Now every submission (a new request or
-- a sign-in) gets a fresh random handle, mapped here to what it stands for: a request and the
-- verification of the latest email sent for this page, or nothing when a sign-in's pair matched
-- no request. The code form reads the code's hash, its attempts and its expiry from this row in
-- every case, so a matching and a non-matching handle go through the same steps.
--
-- Additive: an older instance ignores the table (its own handles are request ids, which find no
-- row here and read as a wrong code after the upgrade: the emailed link keeps working).
CREATE TABLE inbox_handles (
    -- SHA-256 of the handle in the page's address: a bearer secret, kept only hashed.
    handle_hash      TEXT PRIMARY KEY,
    -- verify (a new request) | signin (reopening a verified one).
    purpose          TEXT NOT NULL,
    -- The request this page stands for; NULL when a sign-in's pair matched no request.
    request_id       TEXT,
    -- The verification of the latest email with a code sent for this page; NULL when none.
    verification_id  TEXT,
    -- The reference typed on the sign-in form (not personal data), for its emails.
    reference        TEXT,
    -- Keyed hash of the address typed: the email and code budgets key on it with the network.
    email_hash       TEXT NOT NULL,
    -- The address typed, sealed (ChaCha20-Poly1305 under a sub-key of DOSSIER_SECRET_KEY bound to
    -- this row), so that "send the email again" can reach it; the row is purged after two days.
    email_sealed     TEXT NOT NULL,
    locale           TEXT NOT NULL,
    -- Keyed hash of the latest email's code; a random value no code matches when there is none.
    code_hash        TEXT NOT NULL,
    -- Codes typed on this page since its latest email, counted before each comparison.
    code_attempts    INTEGER NOT NULL DEFAULT 0,
    -- When the latest email's code stops working (unix ms).
    code_expires_at  BIGINT NOT NULL,
    created_at       BIGINT NOT NULL
);
-- Housekeeping purges by age.
CREATE INDEX inbox_handles_created ON inbox_handles (created_at);
