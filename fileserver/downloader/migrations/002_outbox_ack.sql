-- The outbox keeps an event until stats-ingest has recorded its id (end-to-end
-- acknowledgement): faasd's queue-worker never retries a failed stats-compute call, so a 202
-- from the gateway alone does not prove the event was counted. Sent rows are re-sent after a
-- while if their id has not reached stats_events; ingested rows are purged.
ALTER TABLE outbox ADD COLUMN event_id text;
ALTER TABLE outbox ADD COLUMN sent_at timestamptz;
ALTER TABLE outbox ADD COLUMN attempts integer NOT NULL DEFAULT 0;
UPDATE outbox SET event_id = event->>'event_id';
ALTER TABLE outbox ALTER COLUMN event_id SET NOT NULL;
CREATE INDEX outbox_event_id ON outbox (event_id);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
