-- When an item's step was first sent to its source: a later attempt that no longer finds the
-- person's record knows an earlier one may have changed it (a crash after the source committed),
-- while a first attempt that does not find it reports it missing.
ALTER TABLE plan_items ADD COLUMN attempted_at BIGINT;
-- When a closed request's personal data was purged (housekeeping does it once).
ALTER TABLE requests ADD COLUMN purged_at BIGINT;
