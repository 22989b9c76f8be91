-- stats_events holds an event id only while a duplicate of that event can still arrive, so
-- it stops growing with the total number of downloads. Each id carries its event's UTC day.
-- Pruning moves the horizon (never backwards, never past the day of an event still in the
-- outbox, i.e. not yet ingested) and deletes the ids of days before it; stats-ingest refuses
-- an event of a day before the horizon as expired: it was counted already (its outbox row
-- is gone, so it was ingested) and its id may be gone, so it cannot be told from a new one.
ALTER TABLE stats_events ADD COLUMN day date;
-- ingested_at is never before the event: the day may only be later, so pruning stays safe.
UPDATE stats_events SET day = (ingested_at AT TIME ZONE 'UTC')::date;
ALTER TABLE stats_events ALTER COLUMN day SET NOT NULL;
CREATE INDEX stats_events_day ON stats_events (day);

CREATE TABLE stats_horizon (
    id        integer PRIMARY KEY CHECK (id = 1),
    day       date NOT NULL,
    pruned_at timestamptz
);
INSERT INTO stats_horizon (id, day) VALUES (1, DATE '1970-01-01');
