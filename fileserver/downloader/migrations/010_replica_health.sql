-- Replica health (issue 18 item 3): what the prober (fileserver/downloader/prober.py) last saw
-- through a replica's handed-out link. One row per (file, account), about one Drive file
-- (``drive_file_id``): a row whose Drive id is no longer the replica's (a repair replaced
-- the copy) says nothing about the new copy, which counts as ``ok`` until probed.
--   ok       the link answered the file's bytes
--   blocked  Google's quota page or another 403, until ``until`` (the next UTC day)
--   missing  404: the Drive file is gone (deleted or its owner suspended)
CREATE TABLE replica_health (
    file_id             text NOT NULL,
    account_id          text NOT NULL,
    drive_file_id       text NOT NULL,
    state               text NOT NULL CHECK (state IN ('ok', 'blocked', 'missing')),
    reason              text,
    until               timestamptz,
    checked_at          timestamptz NOT NULL,
    changed_at          timestamptz NOT NULL,
    repair_requested_at timestamptz,
    PRIMARY KEY (file_id, account_id)
);
-- Reports count the unhealthy rows only: few, whatever the catalogue's size.
CREATE INDEX replica_health_unhealthy ON replica_health (account_id) WHERE state <> 'ok';
CREATE INDEX replica_health_unhealthy_file ON replica_health (file_id) WHERE state <> 'ok';

-- When a link of the file was last handed out (hot files are probed first). Written by the
-- cursor update get-url makes anyway: no extra statement on the hot path.
ALTER TABLE file_cursor ADD COLUMN IF NOT EXISTS handed_at timestamptz;
CREATE INDEX IF NOT EXISTS file_cursor_handed_at ON file_cursor (handed_at);

-- The prober's lease (one prober at a time across every Downloader process, so the probe
-- budget holds in all) and its clock offset (seconds added to real time: tests move it
-- along with the Drive emulator's clock; 0 in production).
CREATE TABLE prober_state (
    id                   integer PRIMARY KEY CHECK (id = 1),
    holder               text,
    lease_until          timestamptz,
    clock_offset_seconds double precision NOT NULL DEFAULT 0
);
INSERT INTO prober_state (id) VALUES (1);

-- fs_get_url as in 003, with the replica health: while a holder whose health is ``ok`` (or
-- not known yet) is live, only such holders are considered; with none, every holder is (a
-- stale state must not make a file unavailable). Still one statement, one round trip.
CREATE OR REPLACE FUNCTION fs_get_url(p_file text, p_day date, p_event_id text, p_at text)
RETURNS TABLE (outcome text, name text, size bigint, account_id text, url text,
               daily_limit_bytes bigint, bytes_today bigint, missing text[])
LANGUAGE plpgsql AS $$
DECLARE
    v_last    text;
    v_name    text;
    v_size    bigint;
    v_missing text[];
    v_holders integer;
    v_healthy integer;
    v_least   bigint;
    v_least_ok bigint;
    v_total   bigint;
    h         record;
BEGIN
    INSERT INTO file_cursor AS c (file_id, last_account_id)
    SELECT f.id, '' FROM files f WHERE f.id = p_file AND NOT f.deleted
    ON CONFLICT (file_id) DO UPDATE SET last_account_id = c.last_account_id
    RETURNING c.last_account_id INTO v_last;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::text, NULL::text, NULL::bigint, NULL::text, NULL::text,
                            NULL::bigint, NULL::bigint, NULL::text[];
        RETURN;
    END IF;
    SELECT f.name, f.size INTO v_name, v_size FROM files f WHERE f.id = p_file;

    SELECT count(*),
           count(*) FILTER (WHERE hh.state IS NULL OR hh.state = 'ok'),
           array_agg(r.account_id ORDER BY r.account_id COLLATE "C")
               FILTER (WHERE u.account_id IS NULL),
           min(u.bytes_today) FILTER (WHERE u.bytes_today + v_size <= a.daily_limit_bytes),
           min(u.bytes_today) FILTER (WHERE u.bytes_today + v_size <= a.daily_limit_bytes
                                        AND (hh.state IS NULL OR hh.state = 'ok'))
      INTO v_holders, v_healthy, v_missing, v_least, v_least_ok
      FROM replicas r JOIN accounts a ON a.id = r.account_id
      LEFT JOIN account_usage u ON u.account_id = r.account_id AND u.day = p_day
      LEFT JOIN replica_health hh ON hh.file_id = r.file_id AND hh.account_id = r.account_id
                                 AND hh.drive_file_id = r.drive_file_id
     WHERE r.file_id = p_file AND NOT r.deleted AND a.active AND NOT a.deleted;
    IF v_holders = 0 THEN
        RETURN QUERY SELECT 'no_replica'::text, v_name, v_size, NULL::text, NULL::text,
                            NULL::bigint, NULL::bigint, NULL::text[];
        RETURN;
    END IF;
    IF v_missing IS NOT NULL THEN
        RETURN QUERY SELECT 'missing_usage'::text, v_name, v_size, NULL::text, NULL::text,
                            NULL::bigint, NULL::bigint, v_missing;
        RETURN;
    END IF;
    IF v_healthy > 0 THEN
        v_least := v_least_ok;
    END IF;

    -- Holders that fit, best first (the order of 003, among the candidates above).
    FOR h IN
        SELECT r.account_id, r.url, a.daily_limit_bytes AS lim
          FROM replicas r JOIN accounts a ON a.id = r.account_id
          JOIN account_usage u ON u.account_id = r.account_id AND u.day = p_day
          LEFT JOIN replica_health hh ON hh.file_id = r.file_id
                                     AND hh.account_id = r.account_id
                                     AND hh.drive_file_id = r.drive_file_id
         WHERE r.file_id = p_file AND NOT r.deleted AND a.active AND NOT a.deleted
           AND u.bytes_today + v_size <= a.daily_limit_bytes
           AND (v_healthy = 0 OR hh.state IS NULL OR hh.state = 'ok')
         ORDER BY u.bytes_today > v_least + v_size,
                  CASE WHEN u.bytes_today > v_least + v_size THEN u.bytes_today ELSE 0 END,
                  r.account_id COLLATE "C" <= v_last COLLATE "C",
                  r.account_id COLLATE "C"
    LOOP
        UPDATE account_usage u
           SET bytes_today = u.bytes_today + v_size, urls_today = u.urls_today + 1
         WHERE u.account_id = h.account_id AND u.day = p_day
           AND u.bytes_today + v_size <= h.lim
        RETURNING u.bytes_today INTO v_total;
        IF FOUND THEN
            UPDATE file_cursor SET last_account_id = h.account_id, handed_at = now()
             WHERE file_id = p_file;
            INSERT INTO outbox (event_id, event) VALUES (p_event_id, jsonb_build_object(
                'event_id', p_event_id, 'file_id', p_file, 'account_id', h.account_id,
                'bytes', v_size, 'at', p_at));
            RETURN QUERY SELECT 'ok'::text, v_name, v_size, h.account_id, h.url, h.lim,
                                v_total, NULL::text[];
            RETURN;
        END IF;
    END LOOP;
    RETURN QUERY SELECT 'full'::text, v_name, v_size, NULL::text, NULL::text, NULL::bigint,
                        NULL::bigint, NULL::text[];
END;
$$;

-- fs_get_url_client as in 006, except that a repeat within the de-duplication window is
-- answered with the remembered link only while that replica's health is ``ok``: else the
-- call books again (fs_get_url above chooses among the healthy holders).
CREATE OR REPLACE FUNCTION fs_get_url_client(
    p_file text, p_day date, p_event_id text, p_at text, p_client text, p_now timestamptz,
    p_rate double precision, p_burst double precision, p_window double precision)
RETURNS TABLE (outcome text, name text, size bigint, account_id text, url text,
               daily_limit_bytes bigint, bytes_today bigint, missing text[], event_id text,
               retry_after double precision)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_tokens double precision;
    d        record;
    g        record;
BEGIN
    IF p_rate > 0 THEN
        INSERT INTO client_buckets AS b (client, tokens, updated_at, full_at)
        VALUES (p_client, p_burst - 1, p_now, p_now + make_interval(secs => 1 / p_rate))
        ON CONFLICT (client) DO UPDATE SET
            tokens = least(p_burst, b.tokens + greatest(0, extract(epoch FROM p_now
                     - b.updated_at)) * p_rate) - 1,
            updated_at = greatest(b.updated_at, p_now),
            full_at = greatest(b.updated_at, p_now) + make_interval(secs => (p_burst
                      - (least(p_burst, b.tokens + greatest(0, extract(epoch FROM p_now
                      - b.updated_at)) * p_rate) - 1)) / p_rate)
        WHERE least(p_burst, b.tokens + greatest(0, extract(epoch FROM p_now - b.updated_at))
                    * p_rate) >= 1
        RETURNING b.tokens INTO v_tokens;
        IF NOT FOUND THEN
            SELECT b.tokens + greatest(0, extract(epoch FROM p_now - b.updated_at)) * p_rate
              INTO v_tokens FROM client_buckets b WHERE b.client = p_client;
            RETURN QUERY SELECT 'limited'::text, NULL::text, NULL::bigint, NULL::text,
                                NULL::text, NULL::bigint, NULL::bigint, NULL::text[],
                                NULL::text, (1 - v_tokens) / p_rate;
            RETURN;
        END IF;
    ELSE
        PERFORM pg_advisory_xact_lock(hashtextextended(p_client || chr(1) || p_file, 6));
    END IF;

    IF p_window > 0 THEN
        SELECT c.account_id, c.url, c.event_id, f.name, f.size INTO d
          FROM client_downloads c
          JOIN files f ON f.id = c.file_id AND NOT f.deleted
          JOIN replicas r ON r.file_id = c.file_id AND r.account_id = c.account_id
                         AND NOT r.deleted AND r.url = c.url
          LEFT JOIN replica_health hh ON hh.file_id = r.file_id
                                     AND hh.account_id = r.account_id
                                     AND hh.drive_file_id = r.drive_file_id
          JOIN accounts a ON a.id = c.account_id AND a.active AND NOT a.deleted
         WHERE c.client = p_client AND c.file_id = p_file AND c.expires_at > p_now
           AND (hh.state IS NULL OR hh.state = 'ok');
        IF FOUND THEN
            RETURN QUERY SELECT 'repeated'::text, d.name, d.size, d.account_id, d.url,
                                NULL::bigint, NULL::bigint, NULL::text[], d.event_id,
                                NULL::double precision;
            RETURN;
        END IF;
    END IF;

    SELECT * INTO g FROM fs_get_url(p_file, p_day, p_event_id, p_at);
    IF g.outcome = 'ok' AND p_window > 0 THEN
        INSERT INTO client_downloads AS c (client, file_id, account_id, url, event_id,
                                           expires_at)
        VALUES (p_client, p_file, g.account_id, g.url, p_event_id,
                p_now + make_interval(secs => p_window))
        ON CONFLICT (client, file_id) DO UPDATE SET
            account_id = EXCLUDED.account_id, url = EXCLUDED.url,
            event_id = EXCLUDED.event_id, expires_at = EXCLUDED.expires_at;
    ELSIF g.outcome = 'missing_usage' AND p_rate > 0 THEN
        -- The caller creates the usage rows and calls again: that call pays the token.
        UPDATE client_buckets b SET tokens = b.tokens + 1 WHERE b.client = p_client;
    END IF;
    RETURN QUERY SELECT g.outcome, g.name, g.size, g.account_id, g.url, g.daily_limit_bytes,
                        g.bytes_today, g.missing, p_event_id, NULL::double precision;
END;
$$;
