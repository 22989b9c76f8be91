-- get-url in one round trip and one transaction (the function runs in the autocommit call):
-- lock the file's cursor row, read its live holders, order them by the balancing policy of
-- fileserver/downloader/balancer.py (the reference this is tested against), reserve the
-- bytes on the first holder whose daily limit still takes them, move the cursor and queue
-- the download event. Outcomes: ok | not_found | no_replica | missing_usage (today's usage
-- rows of ``missing`` must be created first, outside, then call again) | full.
-- Account ids compare with COLLATE "C" (code point order), as Python sorts them.
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
    v_least   bigint;
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
           array_agg(r.account_id ORDER BY r.account_id COLLATE "C")
               FILTER (WHERE u.account_id IS NULL),
           min(u.bytes_today) FILTER (WHERE u.bytes_today + v_size <= a.daily_limit_bytes)
      INTO v_holders, v_missing, v_least
      FROM replicas r JOIN accounts a ON a.id = r.account_id
      LEFT JOIN account_usage u ON u.account_id = r.account_id AND u.day = p_day
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

    -- Holders that fit, best first: those within one file size of the least loaded, in
    -- rotation order (account-id order starting after the last one chosen), then the rest
    -- by bytes today (ties in rotation order).
    FOR h IN
        SELECT r.account_id, r.url, a.daily_limit_bytes AS lim
          FROM replicas r JOIN accounts a ON a.id = r.account_id
          JOIN account_usage u ON u.account_id = r.account_id AND u.day = p_day
         WHERE r.file_id = p_file AND NOT r.deleted AND a.active AND NOT a.deleted
           AND u.bytes_today + v_size <= a.daily_limit_bytes
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
            UPDATE file_cursor SET last_account_id = h.account_id WHERE file_id = p_file;
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
