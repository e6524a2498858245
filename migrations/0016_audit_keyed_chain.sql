-- The keyed audit chain (see src/store/audit.rs): events are appended unsealed, with their order
-- from a monotonic source and no lock, and one sealing step chains them with HMAC-SHA256 under a
-- key derived from DOSSIER_SECRET_KEY. A key rotation starts a new segment.
--
-- The columns of the SHA-256 chain (chain_seq, prev_hash, hash) stay as they are: the first start
-- of this version verifies that chain under its own rule and reseals it into mac/prev_mac (in
-- Rust: the SQL has no key), recording an `audit_chain_resealed` event. All instances must run
-- this version before it does (docs/deployment.md): an older one would still append to the old
-- chain, and the sealer refuses a chain it did not write.

-- The order an event was recorded in: PostgreSQL's sequence `audit_events_ord` (created by the
-- application), MAX + 1 under SQLite's write lock. Only the sealer reads it; the chain position
-- (chain_seq) is given at sealing. Events of the old chain keep their place.
ALTER TABLE audit_events ADD COLUMN ord BIGINT;
UPDATE audit_events SET ord = chain_seq WHERE chain_seq IS NOT NULL;
CREATE UNIQUE INDEX audit_events_order ON audit_events (ord);
-- The sealer looks only at what is not sealed yet.
CREATE INDEX audit_events_unsealed ON audit_events (ord) WHERE chain_seq IS NULL;

-- The segment (1, 2, … — a new one when the key changes), the short id of its key (never the
-- key), the MAC of the event before (the previous segment's last MAC for a segment's first
-- event), this event's MAC, and when it was sealed (unix milliseconds).
ALTER TABLE audit_events ADD COLUMN segment BIGINT;
ALTER TABLE audit_events ADD COLUMN key_id TEXT;
ALTER TABLE audit_events ADD COLUMN prev_mac TEXT;
ALTER TABLE audit_events ADD COLUMN mac TEXT;
ALTER TABLE audit_events ADD COLUMN sealed_at BIGINT;
