-- get-url picks the least-loaded holder (issue 16: byte spread of 4,000 calls over 200
-- accounts). Until 010 the first holder in rotation order within one file size of the least
-- loaded was chosen, so accounts drifted up to two of the largest files apart (1.145 max/min
-- on the 200-account live test). Now: the holder with the fewest bytes handed out today,
-- ties in rotation order (account-id order starting after the account chosen last for the
-- file: equal loads still visit the holders in turn), among the candidates of 010 (live,
-- active, healthy while a healthy holder is live, taking the file's size today).
-- Concurrency: the chosen usage row is locked with FOR UPDATE SKIP LOCKED, so concurrent
-- calls for different files that would all pick the same least-loaded account take the
-- next least-loaded one instead of queueing on its row; only when every candidate's row is
-- locked does the call wait (FOR UPDATE, rechecked against the limit once the row is free).
-- Calls for one file are still serialized by its cursor row. One row locked per call, taken
-- last, so no two calls can deadlock. fileserver/downloader/balancer.py is the reference.
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
               FILTER (WHERE u.account_id IS NULL)
      INTO v_holders, v_healthy, v_missing
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

    SELECT * INTO h FROM fs_least_loaded(p_file, p_day, v_size, v_last, v_healthy > 0, true);
    IF h.account_id IS NULL THEN
        SELECT * INTO h
          FROM fs_least_loaded(p_file, p_day, v_size, v_last, v_healthy > 0, false);
    END IF;
    IF h.account_id IS NULL THEN
        RETURN QUERY SELECT 'full'::text, NULL::text, NULL::bigint, NULL::text, NULL::text,
                            NULL::bigint, NULL::bigint, NULL::text[];
        RETURN;
    END IF;
    UPDATE account_usage u
       SET bytes_today = u.bytes_today + v_size, urls_today = u.urls_today + 1
     WHERE u.account_id = h.account_id AND u.day = p_day
    RETURNING u.bytes_today INTO v_total;
    UPDATE file_cursor SET last_account_id = h.account_id, handed_at = now()
     WHERE file_id = p_file;
    INSERT INTO outbox (event_id, event) VALUES (p_event_id, jsonb_build_object(
        'event_id', p_event_id, 'file_id', p_file, 'account_id', h.account_id,
        'bytes', v_size, 'at', p_at));
    RETURN QUERY SELECT 'ok'::text, v_name, v_size, h.account_id, h.url, h.lim, v_total,
                        NULL::text[];
END;
$$;

-- The least-loaded candidate holder of ``p_file`` for ``p_size`` more bytes on ``p_day``
-- (ties in rotation order after ``p_last``), its usage row locked for this transaction:
-- ``p_skip_locked`` passes over rows other calls hold, else waits for them (a row that no
-- longer takes the size once free is passed over). All fields NULL when there is none.
CREATE OR REPLACE FUNCTION fs_least_loaded(p_file text, p_day date, p_size bigint,
                                           p_last text, p_healthy_only boolean,
                                           p_skip_locked boolean,
                                           OUT account_id text, OUT url text, OUT lim bigint)
LANGUAGE plpgsql AS $$
BEGIN
    IF p_skip_locked THEN
        SELECT r.account_id, r.url, a.daily_limit_bytes INTO account_id, url, lim
          FROM replicas r JOIN accounts a ON a.id = r.account_id
          JOIN account_usage u ON u.account_id = r.account_id AND u.day = p_day
          LEFT JOIN replica_health hh ON hh.file_id = r.file_id
                                     AND hh.account_id = r.account_id
                                     AND hh.drive_file_id = r.drive_file_id
         WHERE r.file_id = p_file AND NOT r.deleted AND a.active AND NOT a.deleted
           AND u.bytes_today + p_size <= a.daily_limit_bytes
           AND (NOT p_healthy_only OR hh.state IS NULL OR hh.state = 'ok')
         ORDER BY u.bytes_today, r.account_id COLLATE "C" <= p_last COLLATE "C",
                  r.account_id COLLATE "C"
         LIMIT 1
           FOR UPDATE OF u SKIP LOCKED;
    ELSE
        SELECT r.account_id, r.url, a.daily_limit_bytes INTO account_id, url, lim
          FROM replicas r JOIN accounts a ON a.id = r.account_id
          JOIN account_usage u ON u.account_id = r.account_id AND u.day = p_day
          LEFT JOIN replica_health hh ON hh.file_id = r.file_id
                                     AND hh.account_id = r.account_id
                                     AND hh.drive_file_id = r.drive_file_id
         WHERE r.file_id = p_file AND NOT r.deleted AND a.active AND NOT a.deleted
           AND u.bytes_today + p_size <= a.daily_limit_bytes
           AND (NOT p_healthy_only OR hh.state IS NULL OR hh.state = 'ok')
         ORDER BY u.bytes_today, r.account_id COLLATE "C" <= p_last COLLATE "C",
                  r.account_id COLLATE "C"
         LIMIT 1
           FOR UPDATE OF u;
    END IF;
END;
$$;
