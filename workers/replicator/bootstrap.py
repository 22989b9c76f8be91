"""Wire one replicator process (the pattern of fileserver/wiring.py).

``build`` receives the process's ``Adapters`` (the ports of workers/replicator/ports.py) and
its ``WorkerSettings``, and wires the handlers, the reconciler and the consumer from them;
it connects nothing and starts nothing. ``adapters_from_env()`` builds the real adapters
(MongoDB through the Uploader's repositories, Drive, downloader-sync); the entry point
(``__main__.main``) calls both, then starts the consumer, the reconciliation loop and the
metrics server explicitly. Tests pass fakes to ``build``: nothing is monkeypatched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from fileserver import config
from workers.replicator.cleanup import Cleaner
from workers.replicator.conditions import DAILY_UPLOAD_CAP, AccountConditions, ConditionSettings
from workers.replicator.consumer import ConsumerSettings, JobConsumer
from workers.replicator.downloader_client import DownloaderSyncClient
from workers.replicator.handlers import JobHandlers
from workers.replicator.locks import KeyedLocks
from workers.replicator.metrics import ReplicatorMetrics
from workers.replicator.ports import AccountStore, BlobStore, Downloader, DriveFactory, FileStore
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


@dataclass(frozen=True)
class Adapters:
    """The replicator's ports, as ``build`` receives them."""

    files: FileStore
    accounts: AccountStore
    blobs: BlobStore
    drives: DriveFactory
    downloader: Downloader


@dataclass(frozen=True)
class WorkerSettings:
    consumer: ConsumerSettings
    replication: ReplicationSettings = field(default_factory=ReplicationSettings)
    conditions: ConditionSettings = field(default_factory=ConditionSettings)
    reconcile_interval: float = 60.0
    metrics_port: int = 18190

    @classmethod
    def from_env(cls) -> WorkerSettings:
        """The ``REPLICATOR_*``, ``RECONCILE_INTERVAL_SECONDS`` and ``METRICS_PORT`` settings
        (docs/replicator.md)."""
        return cls(consumer_settings(), replication_settings(), condition_settings(),
                   config.float_setting("RECONCILE_INTERVAL_SECONDS", 60.0),
                   config.int_setting("METRICS_PORT", 18190))


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


def adapters_from_env() -> Adapters:
    """The real adapters, each translating its library's errors (adapters.py): the
    Uploader's MongoDB repositories, one DriveClient per account (``DRIVE_API_ROOT``) and
    downloader-sync through ``GATEWAY_URL`` with the ``admin-token`` secret."""
    from fileserver.uploader.bootstrap import mongo_repositories
    from workers.replicator.adapters import (
        DownloaderSync,
        DriveClients,
        GridFsBlobs,
        MongoAccounts,
        MongoFiles,
    )

    repos = mongo_repositories()
    return Adapters(files=MongoFiles(repos.files), accounts=MongoAccounts(repos.accounts),
                    blobs=GridFsBlobs(repos.blobs),
                    drives=DriveClients(repos.accounts, os.environ.get("DRIVE_API_ROOT") or None),
                    downloader=DownloaderSync(DownloaderSyncClient(
                        config.gateway_url(), config.secret("admin-token"))))


def build(adapters: Adapters | None = None, settings: WorkerSettings | None = None,
          metrics: ReplicatorMetrics | None = None) -> Worker:
    """The worker wired on ``adapters`` (default: ``adapters_from_env()``) and ``settings``
    (default: from the environment)."""
    ports = adapters or adapters_from_env()
    settings = settings or WorkerSettings.from_env()
    metrics = metrics or ReplicatorMetrics()
    files, accounts, blobs = ports.files, ports.accounts, ports.blobs
    drives, downloader = ports.drives, ports.downloader
    cleaner = Cleaner(files, accounts, blobs, drives, downloader)
    conditions = AccountConditions(accounts, files, downloader, drives, metrics,
                                   settings.conditions)
    replicator = Replicator(files, accounts, blobs, drives, downloader, metrics,
                            on_deleted=cleaner.delete_file, settings=settings.replication,
                            conditions=conditions)
    handlers = JobHandlers(files, accounts, drives, downloader, replicator, cleaner,
                           KeyedLocks(), Repairer(files, accounts, drives, downloader, metrics))
    reconciler = Reconciler(files, accounts, drives, downloader, handlers, metrics)
    consumer = JobConsumer(settings.consumer, handlers.handle, metrics)
    return Worker(metrics, handlers, reconciler, consumer, settings.reconcile_interval,
                  settings.metrics_port)
