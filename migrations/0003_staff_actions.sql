-- Staff actions on a request: assignment, extension (GDPR Art. 12(3)), denial (Art. 12(4)),
-- and internal notes.

ALTER TABLE requests ADD COLUMN assignee_id TEXT;
-- The due date before an extension; the extension's reason and when the person was told.
ALTER TABLE requests ADD COLUMN original_due_on TEXT;
ALTER TABLE requests ADD COLUMN extension_reason TEXT;
ALTER TABLE requests ADD COLUMN extended_at BIGINT;
-- Why a request was refused: the legal ground's code and the staff member's explanation.
ALTER TABLE requests ADD COLUMN denial_ground TEXT;
ALTER TABLE requests ADD COLUMN denial_reason TEXT;

CREATE TABLE request_notes (
    id          TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES requests (id),
    staff_id    TEXT NOT NULL REFERENCES staff (id),
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX request_notes_request ON request_notes (request_id, created_at);
