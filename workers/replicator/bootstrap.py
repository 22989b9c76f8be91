"""Wire the real adapters into one replicator process (nothing connects at import time)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from fileserver import config
from workers.replicator.cleanup import Cleaner
from workers.replicator.conditions import DAILY_UPLOAD_CAP, AccountConditions, ConditionSettings
from workers.replicator.consumer import ConsumerSettings, JobConsumer
from workers.replicator.downloader_client import DownloaderSyncClient
from workers.replicator.handlers import JobHandlers
from workers.replicator.locks import KeyedLocks
from workers.replicator.metrics import ReplicatorMetrics
from workers.replicator.reconcile import Reconciler
from workers.replicator.repair import Repairer
from workers.replicator.replication import ReplicationSettings, Replicator


@dataclass
class Worker:
    metrics: ReplicatorMetrics
    handlers: JobHandlers
    reconciler: Reconciler
    consumer: JobConsumer
    reconcile_interval: float
    metrics_port: int


def consumer_settings() -> ConsumerSettings:
    return ConsumerSettings(
        nats_url=config.nats_url(),
        concurrency=max(1, config.int_setting("REPLICATOR_CONCURRENCY", 4)),
        ack_wait=config.float_setting("REPLICATOR_ACK_WAIT_SECONDS", 60.0),
        max_deliver=config.int_setting("REPLICATOR_MAX_DELIVER", 20),
        backoff_base=config.float_setting("REPLICATOR_BACKOFF_SECONDS", 1.0),
        grace=config.float_setting("REPLICATOR_GRACE_SECONDS", 20.0))


def replication_settings() -> ReplicationSettings:
    return ReplicationSettings(
        width=max(1, config.int_setting("REPLICATOR_COPY_WIDTH", 32)),
        max_reuploads=max(0, config.int_setting("REPLICATOR_MAX_REUPLOADS_PER_FILE", 0)))


def condition_settings() -> ConditionSettings:
    return ConditionSettings(
        pause_seconds=config.float_setting("REPLICATOR_PAUSE_SECONDS", 60.0),
        pause_cap_seconds=config.float_setting("REPLICATOR_PAUSE_CAP_SECONDS", 3600.0),
        daily_upload_cap=config.int_setting("DRIVE_DAILY_UPLOAD_CAP_BYTES", DAILY_UPLOAD_CAP),
        storage_refresh_seconds=config.float_setting("STORAGE_REFRESH_SECONDS", 300.0))


def build() -> Worker:
    from fileserver.uploader.bootstrap import repositories
    from workers.replicator.adapters import DriveClients, MongoAccounts, MongoFiles
    from workers.replicator.attempts import MongoCopyAttempts

    account_repo, file_repo, blobs = repositories()
    accounts, files = MongoAccounts(account_repo), MongoFiles(file_repo)
    drives = DriveClients(account_repo, os.environ.get("DRIVE_API_ROOT") or None)
    downloader = DownloaderSyncClient(config.gateway_url(), config.secret("admin-token"))
    metrics = ReplicatorMetrics()
    cleaner = Cleaner(files, accounts, blobs, drives, downloader)
    conditions = AccountConditions(accounts, files, downloader, drives, metrics,
                                   condition_settings())
    replicator = Replicator(files, accounts, blobs, drives, downloader, metrics,
                            on_deleted=cleaner.delete_file, settings=replication_settings(),
                            conditions=conditions, attempts=MongoCopyAttempts(file_repo.col))
    handlers = JobHandlers(files, accounts, drives, downloader, replicator, cleaner,
                           KeyedLocks(), Repairer(files, accounts, drives, downloader, metrics))
    reconciler = Reconciler(files, accounts, drives, downloader, handlers, metrics)
    consumer = JobConsumer(consumer_settings(), handlers.handle, metrics)
    return Worker(metrics, handlers, reconciler, consumer,
                  config.float_setting("RECONCILE_INTERVAL_SECONDS", 60.0),
                  config.int_setting("METRICS_PORT", 18190))
