-- What operators see of each account in account-stats (issue 15): its kind of credential,
-- its state in the Uploader (active, full, paused, disabled) and its Drive storage as the
-- replicator last measured it with about.get. ``active`` keeps meaning "get-url may hand
-- its replicas out" (full and paused accounts still serve). Storage is a measurement, not a
-- change: it is applied at the same account version when it was measured later.
ALTER TABLE accounts ADD COLUMN kind text;
ALTER TABLE accounts ADD COLUMN state text;
ALTER TABLE accounts ADD COLUMN storage_limit_bytes bigint;
ALTER TABLE accounts ADD COLUMN storage_usage_bytes bigint;
ALTER TABLE accounts ADD COLUMN storage_checked_at timestamptz;
