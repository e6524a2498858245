-- The legal clock, recorded (issue 4) and clarification requests (issue 6).
--
-- Every interval during which Dossier waited for the person: for proof of identity (from receipt
-- to verification) or for an answer to a clarification staff asked for. Whether an interval stops
-- the clock is the request's policy's business (config `[deadlines.clock.<policy>]`); the
-- interval is recorded either way (GDPR Art. 5(2)), with the audit events that opened and
-- closed it.
CREATE TABLE clock_pauses (
    id            TEXT PRIMARY KEY,
    request_id    TEXT NOT NULL REFERENCES requests (id),
    -- 'identity' or 'clarification'.
    reason        TEXT NOT NULL,
    opened_at     BIGINT NOT NULL,
    closed_at     BIGINT,
    -- audit_events.id of the events that opened and closed the interval.
    opened_event  TEXT,
    closed_event  TEXT
);
CREATE INDEX clock_pauses_request ON clock_pauses (request_id, opened_at);

-- A question staff asked the person, and the person's answer. The texts are personal data,
-- purged with the request's; the audit trail keeps only that they were asked and answered.
CREATE TABLE clarifications (
    id           TEXT PRIMARY KEY,
    request_id   TEXT NOT NULL REFERENCES requests (id),
    question     TEXT,
    asked_by     TEXT NOT NULL,
    asked_at     BIGINT NOT NULL,
    answer       TEXT,
    answered_at  BIGINT,
    -- Closed without an answer by staff (closed_by), or answered (closed_by NULL).
    closed_at    BIGINT,
    closed_by    TEXT,
    pause_id     TEXT REFERENCES clock_pauses (id)
);
CREATE INDEX clarifications_request ON clarifications (request_id, asked_at);

-- CCPA (Cal. Code Regs. tit. 11 §7021(a)): when the confirmation of receipt was sent.
ALTER TABLE requests ADD COLUMN receipt_confirmed_at BIGINT;
