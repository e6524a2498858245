-- The staff queue and the dashboard with 100,000 requests (examples/queue_bench.rs measures them).
-- Additive: an older instance ignores these indexes. Portable: partial indexes (WHERE) exist on
-- SQLite and PostgreSQL alike.

-- Queue pages filter by right, deadline policy or assignee, sorted by due date then id (keyset
-- pagination): a page reads about as many index entries as it shows.
CREATE INDEX requests_kind_due ON requests (kind, due_on, id);
CREATE INDEX requests_jurisdiction_due ON requests (jurisdiction, due_on, id);
CREATE INDEX requests_assignee_due ON requests (assignee_id, due_on, id);
-- An assignee's (or nobody's) requests still awaiting their answer, by due date: "mine, overdue"
-- without reading the years of closed requests. The status list is exactly the one
-- store::queue::awaiting_answer_sql() writes (a test checks it), so both databases use it.
CREATE INDEX requests_awaiting_assignee ON requests (assignee_id, due_on, id)
    WHERE status IN ('submitted', 'verified', 'collecting', 'awaiting_confirmation', 'awaiting_review', 'executing', 'needs_attention');
-- Counts per status (verified requests only), alone or under the right, policy and assignee
-- filters in any combination, read from an index without touching the table.
CREATE INDEX requests_counted_status ON requests (status) WHERE reference IS NOT NULL;
CREATE INDEX requests_counted_kind ON requests (kind, status) WHERE reference IS NOT NULL;
CREATE INDEX requests_counted_jurisdiction ON requests (jurisdiction, kind, status) WHERE reference IS NOT NULL;
CREATE INDEX requests_counted_assignee ON requests (assignee_id, jurisdiction, kind, status) WHERE reference IS NOT NULL;
-- The dashboard reads a period of receipts: requests per month and right, days to answer.
CREATE INDEX requests_dashboard ON requests (received_on, kind, status, due_on, completed_at, id)
    WHERE reference IS NOT NULL;
-- The dashboard counts source runs (and their failures) in a period.
CREATE INDEX source_runs_updated ON source_runs (updated_at);
