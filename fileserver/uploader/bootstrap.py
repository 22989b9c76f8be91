"""Wire the real adapters once per process, on first use (nothing connects at import)."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

from pymongo import MongoClient

from fileserver import config
from fileserver.uploader.crypto import KeyCipher
from fileserver.uploader.jobs import JobPublisher
from fileserver.uploader.probe import probe_account
from fileserver.uploader.registration import DownloaderRegistration
from fileserver.uploader.repairs import RepairService
from fileserver.uploader.repository import AccountRepository, BlobStore, FileRepository
from fileserver.uploader.service import AccountService, FileService, UploadService

DEFAULT_MAX_UPLOAD = 10 * 1024**3
DEFAULT_DAILY_LIMIT = 100 * 10**9


@dataclass(frozen=True)
class Services:
    accounts: AccountService
    files: FileService
    uploads: UploadService


_repos_lock = threading.Lock()


def repositories() -> tuple[AccountRepository, FileRepository, BlobStore]:
    """The Uploader's repositories on ``MONGO_URL``/``MONGO_DB`` (also used by the replicator)."""
    with _repos_lock:
        return _build_repositories()


@functools.cache
def _build_repositories() -> tuple[AccountRepository, FileRepository, BlobStore]:
    client: MongoClient = MongoClient(config.mongo_url())
    db = client[config.mongo_db_name()]
    accounts = AccountRepository(db, KeyCipher.from_secret())
    files = FileRepository(db)
    accounts.ensure_indexes()
    files.ensure_indexes()
    return accounts, files, BlobStore(db)


@functools.cache
def publisher() -> JobPublisher:
    return JobPublisher(config.nats_url(),
                        config.float_setting("JOBS_PUBLISH_TIMEOUT_SECONDS", 5.0))


_wiring = threading.Lock()


@functools.cache
def repair_service() -> RepairService:
    """Repair requests from the Downloader's prober, published as jobs."""
    return RepairService(repositories()[1], publisher())


def services() -> Services:
    """The process's services, built on the first call (threads wait for one build)."""
    with _wiring:
        return _build_services()


@functools.cache
def _build_services() -> Services:
    accounts, files, blobs = repositories()
    jobs = publisher()
    default_limit = config.int_setting("DEFAULT_DAILY_LIMIT_BYTES", DEFAULT_DAILY_LIMIT)
    max_upload = config.int_setting("MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD)
    return Services(accounts=AccountService(accounts, jobs, default_limit, probe_account),
                    files=FileService(files, jobs),
                    uploads=UploadService(accounts, files, blobs, jobs, max_upload,
                                          register=DownloaderRegistration(
                                              config.gateway_url(), config.secret("admin-token"))))
