"""Contracts between the parts of fileserver, each written once and imported by every side.

- ``jobs``: the JetStream jobs stream, its subjects and the job bodies (Uploader publishes,
  replicator consumes).
- ``jetstream``: how any process makes sure a JetStream stream exists with its configuration.
- ``downloader_sync``: the one HTTP client of the Downloader's ``downloader-sync`` function
  (the Uploader's upload-file registration and the replicator).
- ``timestamps``: the ISO-8601 UTC text every service writes (``2026-11-25T10:00:00.123Z``).
- ``stats_ingest``: the ids and the batch cap Stats and the Downloader's stats-ingest share.

This package imports no service package (``fileserver.uploader``, ``downloader``, ``stats``)
and no database driver: every service may import it. docs/CONTRACTS.md describes the messages.
"""
