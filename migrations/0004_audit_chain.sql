-- A log nobody can quietly rewrite: every audit event takes the next place in one global chain
-- and carries the SHA-256 of the event before it (see src/store/audit.rs for the encoding).
-- Events written before this migration are chained, in (at, seq, id) order, by the first append
-- after it; until then an older instance keeps writing events as before.

ALTER TABLE audit_events ADD COLUMN chain_seq BIGINT;
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
-- One event per place: two appends can never fork the chain, whatever the locking.
CREATE UNIQUE INDEX audit_events_chain ON audit_events (chain_seq);

-- The register (GDPR Art. 5(2)) pages through requests by receipt date.
CREATE INDEX requests_received ON requests (received_on, received_at, id);
