-- Erasure (GDPR Art. 17), rectification (Art. 16) and objection (Art. 21 / 18). A request's plan
-- or proposal is a list of items, one per record (and per field, for a rectification): what would
-- happen to it, what the person and staff decided, and what executing it found.

CREATE TABLE plan_items (
    id              TEXT PRIMARY KEY,
    request_id      TEXT NOT NULL REFERENCES requests (id),
    source          TEXT NOT NULL,
    collection      TEXT NOT NULL,
    -- The record's key columns, as a JSON object.
    record_key      TEXT NOT NULL,
    -- erasure: delete | anonymise | retain | shared | unruled; rectification: rectify;
    -- objection: suppress.
    action          TEXT NOT NULL,
    -- JSON. erasure: the planned change; rectification: field, type, old and new value (personal
    -- data, cleared with the request's); objection: purpose and the values written.
    detail          TEXT NOT NULL,
    -- proposed (the person has not confirmed yet) | pending (staff decide) | approved | excluded |
    -- kept (nothing to decide: retained or shared records).
    decision        TEXT NOT NULL,
    -- Why staff excluded or rejected it (told to the person).
    decision_reason TEXT,
    decided_by      TEXT,
    decided_at      BIGINT,
    -- Set when executed: applied | already (a delete that found nothing: applied by an earlier
    -- attempt) | missing (the record was gone) | mismatch (read back differently).
    outcome         TEXT,
    executed_at     BIGINT,
    position        BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX plan_items_request ON plan_items (request_id, source, position);

-- GDPR Art. 19: each recipient of the changed data is told; a task for staff, recorded when done.
CREATE TABLE recipient_notices (
    id          TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES requests (id),
    source      TEXT NOT NULL,
    -- The recipient as configured in the source's metadata.
    recipient   TEXT NOT NULL,
    -- pending | done
    status      TEXT NOT NULL,
    done_by     TEXT,
    done_at     BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX recipient_notices_once ON recipient_notices (request_id, source, recipient);

-- When the person confirmed the plan (erasure), sent their corrections (rectification) or chose
-- what to object to.
ALTER TABLE requests ADD COLUMN confirmed_at BIGINT;
-- GDPR Art. 16: "something else is wrong" in the person's words (a supplementary statement), a
-- task for staff. Personal data: cleared with the request's.
ALTER TABLE requests ADD COLUMN statement TEXT;
