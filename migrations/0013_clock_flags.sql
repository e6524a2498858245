-- Which open pauses stop the legal clock (review of issue 4): the queue and the dashboard must not
-- call a request "overdue" while its clock is stopped (UK GDPR, the ICO's "stop the clock" for a
-- clarification), yet they read the stored due date, which a pause moves only when it closes.
--
-- stops_clock = 1 when the request's policy counted the pause's reason when it was opened
-- (`[deadlines.clock.<policy>] pauses`). Additive: an older instance inserts rows with the default
-- 0 and ignores the index; rows recorded before this migration count as not stopping the clock.
ALTER TABLE clock_pauses ADD COLUMN stops_clock INTEGER NOT NULL DEFAULT 0;
-- The queue's "is this request's clock stopped now?" probe: only open, counted pauses (a handful
-- at any time), so a NOT EXISTS per request is one lookup in a tiny index.
CREATE INDEX clock_pauses_stopping ON clock_pauses (request_id) WHERE closed_at IS NULL AND stops_clock = 1;
