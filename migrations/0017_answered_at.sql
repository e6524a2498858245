-- When a request was answered (issue 14, "truthful states"; GDPR Art. 12(3), docs/legal.md).
--
-- A request is answered when the person was given the answer: an access or portability export
-- built and the person emailed that it is ready (the `ready` status, set in the same transaction
-- as the email), a certificate issued (`completed`), or a refusal sent (`denied`). A download is
-- not required. Cancelled and expired requests were never answered and keep NULL. The first
-- answer counts: a later re-collection or closure does not move it. The clock stops here: no
-- countdown, no overdue count, and no extension after this date; the register shows it.
--
-- Additive: an older instance ignores the column (it leaves it NULL on the requests it answers,
-- which then show no answer date until a newer instance answers them again).
ALTER TABLE requests ADD COLUMN answered_at BIGINT;
-- Backfill, as the dashboard counted answers until now: the first export built (an export is
-- built and the person emailed in one transaction), else the closure of a completed or refused
-- request.
UPDATE requests SET answered_at = (SELECT MIN(e.created_at) FROM exports e WHERE e.request_id = requests.id)
WHERE answered_at IS NULL;
UPDATE requests SET answered_at = completed_at
WHERE answered_at IS NULL AND status IN ('completed', 'denied') AND completed_at IS NOT NULL;
