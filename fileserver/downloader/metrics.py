"""The Downloader's domain metrics (prometheus-client, the process-wide registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

DOWNLOAD_URLS = Counter("fileserver_download_urls_total",
                        "Download URLs handed out, by account", ["account_id"])
BYTES_HANDED_OUT = Counter("fileserver_download_bytes_handed_out_total",
                           "Bytes of the files whose URL was handed out, by account",
                           ["account_id"])
DAILY_LIMIT_SHARE = Gauge("fileserver_account_daily_limit_share",
                          "Share of the account's daily limit handed out today (0..1)",
                          ["account_id"])
OUTBOX_PENDING = Gauge("fileserver_outbox_pending", "Download events not yet relayed to Stats")
EVENTS_INGESTED = Counter("fileserver_stats_events_ingested_total",
                          "Download events received by stats-ingest", ["outcome"])
EVENT_IDS_PRUNED = Counter("fileserver_stats_event_ids_pruned_total",
                           "Ingested event ids forgotten after the retention (stats_events)")
CLIENT_LIMITED = Counter("fileserver_client_limited_total",
                         "get-url calls answered by the per-client limits: limited (429) or "
                         "repeated (same link, nothing booked)", ["outcome"])
REPLICA_PROBES = Counter("fileserver_replica_probes_total",
                         "Replica probes by what they found: ok, blocked, missing or "
                         "inconclusive (429, 5xx, unreachable)", ["result"])
REPLICA_HEALTH_CHANGES = Counter("fileserver_replica_health_changes_total",
                                 "Replica health state changes, by from, to and reason",
                                 ["from_state", "to_state", "reason"])
REPLICAS_BY_HEALTH = Gauge("fileserver_replicas_by_health",
                           "Live replicas by health state (ok includes not probed yet)",
                           ["state"])
REPLICA_REPAIRS_REQUESTED = Counter("fileserver_replica_repairs_requested_total",
                                    "Fresh copies asked of the replicator, by reason",
                                    ["reason"])
