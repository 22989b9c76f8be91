-- The outbox relay claims rows with a lease instead of holding them FOR UPDATE across its
-- HTTP POST to stats-compute: a short statement sets claimed_at, the POST runs with no
-- transaction open, then the rows are marked sent (or released). Other relays skip rows
-- whose lease is still running; a relay that died mid-POST leaves its rows to be claimed
-- again once the lease has run out (at-least-once: a resend only duplicates events, which
-- stats-ingest refuses by event id).
ALTER TABLE outbox ADD COLUMN claimed_at timestamptz;
