-- Queued emails carry personal data and secrets (the address, verification links and codes):
-- from this version on, their address, subject and bodies are stored sealed
-- (ChaCha20-Poly1305 under a sub-key of DOSSIER_SECRET_KEY, see src/store/emails.rs).
-- 0: plain text, as written by earlier versions (still delivered); 1: sealed, format 1.
-- Additive: an older instance keeps inserting plain rows, which get 0.
ALTER TABLE emails ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
