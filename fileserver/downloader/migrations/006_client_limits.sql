-- Per-client limits on get-url (and the redirector, which books through the same call):
-- a token bucket per client and a de-duplication window per (client, file), kept here so
-- every function process shares them. Both tables are soft state: UNLOGGED (no WAL on the
-- hot path; after a crash PostgreSQL empties them, which only forgets recent repeats and
-- refills buckets), and bounded by pruning (fs_prune_client_state): a bucket row goes once
-- it is full again (full_at), a de-duplication row once its window is over (expires_at).
CREATE UNLOGGED TABLE client_buckets (
    client     text PRIMARY KEY,
    tokens     double precision NOT NULL,
    updated_at timestamptz NOT NULL,
    full_at    timestamptz NOT NULL
);
CREATE INDEX client_buckets_full_at ON client_buckets (full_at);

CREATE UNLOGGED TABLE client_downloads (
    client     text NOT NULL,
    file_id    text NOT NULL,
    account_id text NOT NULL,
    url        text NOT NULL,
    event_id   text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client, file_id)
);
CREATE INDEX client_downloads_expires_at ON client_downloads (expires_at);

-- get-url for one client, one round trip: take a token from the client's bucket (p_rate
-- tokens/s up to p_burst; p_rate 0: no bucket), answer a repeat within p_window seconds
-- with the same account, link and event and book nothing (p_window 0: no de-duplication),
-- else book with fs_get_url and remember the booking. Extra outcomes: limited (no token;
-- retry_after in seconds) and repeated. The bucket row (or, without a bucket, an advisory
-- lock on client and file) is locked first and held to the end, so concurrent calls of one
-- client run one after the other and a repeat always sees the first call's booking. It is
-- the only lock taken before fs_get_url's, always first: no lock cycle with other calls.
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
          JOIN accounts a ON a.id = c.account_id AND a.active AND NOT a.deleted
         WHERE c.client = p_client AND c.file_id = p_file AND c.expires_at > p_now;
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

-- Forget buckets that are full again and de-duplication rows whose window is over, at most
-- p_batch of each per call (a short statement, no long lock); returns how many went.
CREATE OR REPLACE FUNCTION fs_prune_client_state(p_now timestamptz, p_batch integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_buckets integer;
    v_downloads integer;
BEGIN
    DELETE FROM client_buckets WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM client_buckets WHERE full_at <= p_now LIMIT p_batch));
    GET DIAGNOSTICS v_buckets = ROW_COUNT;
    DELETE FROM client_downloads WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM client_downloads WHERE expires_at <= p_now LIMIT p_batch));
    GET DIAGNOSTICS v_downloads = ROW_COUNT;
    RETURN v_buckets + v_downloads;
END;
$$;
