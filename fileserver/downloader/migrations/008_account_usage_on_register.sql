-- A newly registered (or re-activated) account gets its usage row of the current UTC day at
-- once. get-url creates missing usage rows between two calls of fs_get_url; while the
-- replicator registers many accounts (200 at once), an account that appeared between those
-- two calls made the second one answer missing_usage again, which get-url reported as 503
-- "every account holding this file reached its daily limit". The get-url path keeps creating
-- rows for a new day as before.
CREATE OR REPLACE FUNCTION fs_usage_row_for_account() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.active AND NOT NEW.deleted THEN
        INSERT INTO account_usage (account_id, day)
        VALUES (NEW.id, (now() AT TIME ZONE 'UTC')::date)
        ON CONFLICT (account_id, day) DO NOTHING;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER accounts_usage_row AFTER INSERT OR UPDATE OF active, deleted ON accounts
    FOR EACH ROW EXECUTE FUNCTION fs_usage_row_for_account();
