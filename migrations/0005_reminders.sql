-- Deadline reminders sent to staff: one row per (request, due date, threshold), written in the
-- same transaction as the reminder emails. The primary key makes each reminder happen once, even
-- with several instances scanning at the same time; a new due date (an extension) is a new key,
-- so its thresholds apply again.

CREATE TABLE deadline_reminders (
    request_id  TEXT NOT NULL REFERENCES requests (id),
    -- The due date the reminder was about (YYYY-MM-DD, the controller's local date).
    due_on      TEXT NOT NULL,
    -- Days before the due date ('7', '3', '1', …), or 'overdue'.
    threshold   TEXT NOT NULL,
    -- How many staff members it was sent to.
    recipients  INTEGER NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (request_id, due_on, threshold)
);
