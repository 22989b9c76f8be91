-- get-url could deadlock (011): concurrent calls for different files with accounts near
-- their daily limit failed with "deadlock detected" (12 of 40 runs of
-- tests/integration/downloader/test_get_url_deadlock.py). PostgreSQL locks a row before it
-- rechecks the WHERE clause against the row's newest version, and a row that fails the
-- recheck is passed over but stays locked until the transaction ends. So 011's
-- `FOR UPDATE [SKIP LOCKED] ... LIMIT 1` could keep the usage row of an account another call
-- had just filled, then wait for a second account's row, while that row's holder waited for
-- the first: each call held one usage row and wanted the other's.
--
-- Now each attempt on a candidate's usage row runs in a subtransaction (a PL/pgSQL block
-- with an EXCEPTION clause), undone when the row does not take the size after all, which
-- releases what it locked. A call therefore waits for a usage row only while holding its
-- file's cursor row and nothing else, and every call that holds a usage row is done
-- waiting: no cycle can form. The choice is 011's: the candidates by bytes today (ties in
-- rotation order after the file's last account), a first pass passing over rows other calls
-- hold (SKIP LOCKED: concurrent calls for different files take the next least-loaded account
-- instead of queueing), then, if every candidate was locked or full, a second pass that
-- waits for each row in turn and takes the first that still fits once free.
-- Books ``p_size`` bytes and one URL on the account's usage row of ``p_day``, in the
-- subtransaction that locked the row: updating it in the parent instead would make
-- PostgreSQL record the row's lock and update under a MultiXact, slower on every call.
CREATE OR REPLACE FUNCTION fs_book(p_account text, p_day date, p_size bigint)
RETURNS bigint LANGUAGE sql AS $$
    UPDATE account_usage u
       SET bytes_today = u.bytes_today + p_size, urls_today = u.urls_today + 1
     WHERE u.account_id = p_account AND u.day = p_day
    RETURNING u.bytes_today;
$$;

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
    v_account text;
    v_url     text;
    v_lim     bigint;
    c         record;
BEGIN
    INSERT INTO file_cursor AS fc (file_id, last_account_id)
    SELECT f.id, '' FROM files f WHERE f.id = p_file AND NOT f.deleted
    ON CONFLICT (file_id) DO UPDATE SET last_account_id = fc.last_account_id
    RETURNING fc.last_account_id INTO v_last;
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

    -- First pass, one statement in one subtransaction: the first candidate whose row no
    -- other call holds (SKIP LOCKED). Undone when there is none, with any row it locked
    -- and passed over on the recheck.
    BEGIN
        SELECT r.account_id, r.url, a.daily_limit_bytes INTO v_account, v_url, v_lim
          FROM replicas r JOIN accounts a ON a.id = r.account_id
          JOIN account_usage u ON u.account_id = r.account_id AND u.day = p_day
          LEFT JOIN replica_health hh ON hh.file_id = r.file_id
                                     AND hh.account_id = r.account_id
                                     AND hh.drive_file_id = r.drive_file_id
         WHERE r.file_id = p_file AND NOT r.deleted AND a.active AND NOT a.deleted
           AND u.bytes_today + v_size <= a.daily_limit_bytes
           AND (v_healthy = 0 OR hh.state IS NULL OR hh.state = 'ok')
         ORDER BY u.bytes_today, r.account_id COLLATE "C" <= v_last COLLATE "C",
                  r.account_id COLLATE "C"
         LIMIT 1
           FOR UPDATE OF u SKIP LOCKED;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'FS001';
        END IF;
        v_total := fs_book(v_account, p_day, v_size);
    EXCEPTION WHEN SQLSTATE 'FS001' THEN
        v_account := NULL;
    END;
    -- Second pass, only when every candidate was locked or full: the same candidates (this
    -- is the statement above without its lock clause, which PL/pgSQL cannot make a
    -- parameter without EXECUTE), waiting for each row in turn, each wait in a
    -- subtransaction of its own that is undone when the row no longer takes the size.
    IF v_account IS NULL THEN
        FOR c IN
            SELECT r.account_id, r.url, a.daily_limit_bytes AS lim
              FROM replicas r JOIN accounts a ON a.id = r.account_id
              JOIN account_usage u ON u.account_id = r.account_id AND u.day = p_day
              LEFT JOIN replica_health hh ON hh.file_id = r.file_id
                                         AND hh.account_id = r.account_id
                                         AND hh.drive_file_id = r.drive_file_id
             WHERE r.file_id = p_file AND NOT r.deleted AND a.active AND NOT a.deleted
               AND u.bytes_today + v_size <= a.daily_limit_bytes
               AND (v_healthy = 0 OR hh.state IS NULL OR hh.state = 'ok')
             ORDER BY u.bytes_today, r.account_id COLLATE "C" <= v_last COLLATE "C",
                      r.account_id COLLATE "C"
        LOOP
            BEGIN
                PERFORM FROM account_usage u
                 WHERE u.account_id = c.account_id AND u.day = p_day
                   AND u.bytes_today + v_size <= c.lim
                   FOR UPDATE;
                IF NOT FOUND THEN  -- full once the row was free
                    RAISE EXCEPTION USING ERRCODE = 'FS001';
                END IF;
                v_total := fs_book(c.account_id, p_day, v_size);
                v_account := c.account_id;
                v_url := c.url;
                v_lim := c.lim;
            EXCEPTION WHEN SQLSTATE 'FS001' THEN
                NULL;
            END;
            EXIT WHEN v_account IS NOT NULL;
        END LOOP;
    END IF;
    IF v_account IS NULL THEN
        RETURN QUERY SELECT 'full'::text, NULL::text, NULL::bigint, NULL::text, NULL::text,
                            NULL::bigint, NULL::bigint, NULL::text[];
        RETURN;
    END IF;
    UPDATE file_cursor SET last_account_id = v_account, handed_at = now()
     WHERE file_id = p_file;
    INSERT INTO outbox (event_id, event) VALUES (p_event_id, jsonb_build_object(
        'event_id', p_event_id, 'file_id', p_file, 'account_id', v_account,
        'bytes', v_size, 'at', p_at));
    RETURN QUERY SELECT 'ok'::text, v_name, v_size, v_account, v_url, v_lim, v_total,
                        NULL::text[];
END;
$$;

DROP FUNCTION IF EXISTS fs_least_loaded(text, date, bigint, text, boolean, boolean);
