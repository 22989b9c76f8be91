-- The Downloader's registry (mirrored from the Uploader through downloader-sync), the
-- balancing state, the outbox of download events and the precomputed statistics.

CREATE TABLE accounts (
    id                text PRIMARY KEY,
    email             text,
    daily_limit_bytes bigint,
    active            boolean NOT NULL DEFAULT false,
    deleted           boolean NOT NULL DEFAULT false,
    version           bigint  NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE files (
    id         text PRIMARY KEY,
    name       text,
    size       bigint,
    md5        text,
    deleted    boolean NOT NULL DEFAULT false,
    version    bigint  NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE replicas (
    file_id       text NOT NULL,
    account_id    text NOT NULL,
    drive_file_id text,
    url           text,
    deleted       boolean NOT NULL DEFAULT false,
    version       bigint  NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (file_id, account_id)
);
CREATE INDEX replicas_account ON replicas (account_id);

-- Bytes handed out per account per UTC day: one row per (account, day), so concurrent
-- reservations on different accounts never touch the same row.
CREATE TABLE account_usage (
    account_id  text   NOT NULL,
    day         date   NOT NULL,
    bytes_today bigint NOT NULL DEFAULT 0,
    urls_today  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, day)
);

-- The rotating cursor of each file: the account chosen last.
CREATE TABLE file_cursor (
    file_id         text PRIMARY KEY,
    last_account_id text NOT NULL
);

-- Download events written in the same transaction as the reservation, relayed to Stats.
CREATE TABLE outbox (
    id         bigserial PRIMARY KEY,
    event      jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Precomputed statistics, fed by stats-ingest.
CREATE TABLE stats_events (
    event_id    text PRIMARY KEY,
    ingested_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE file_totals (
    file_id     text PRIMARY KEY,
    downloads   bigint NOT NULL DEFAULT 0,
    bytes_total bigint NOT NULL DEFAULT 0
);

CREATE TABLE file_daily (
    file_id   text   NOT NULL,
    day       date   NOT NULL,
    downloads bigint NOT NULL DEFAULT 0,
    bytes     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (file_id, day)
);

CREATE TABLE account_totals (
    account_id  text PRIMARY KEY,
    downloads   bigint NOT NULL DEFAULT 0,
    bytes_total bigint NOT NULL DEFAULT 0
);

CREATE TABLE account_daily (
    account_id text   NOT NULL,
    day        date   NOT NULL,
    downloads  bigint NOT NULL DEFAULT 0,
    bytes      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, day)
);

CREATE TABLE stats_summary (
    id          integer PRIMARY KEY CHECK (id = 1),
    computed_at timestamptz NOT NULL,
    summary     jsonb NOT NULL
);
