"""Wire the Uploader of one process (the pattern of fileserver/wiring.py).

``Uploader`` receives its repositories, the jobs publisher and the settings, and builds the
services on first use; constructing it connects nothing. Its one step that touches the
world is an explicit call the functions' handlers list with ``on_first_request``:
``ensure_indexes()`` (MongoDB's indexes; creating an existing one is a no-op).

``PROCESS`` holds this process's ``Uploader``: built by ``from_env()`` on first use, or
installed by a test with ``PROCESS.use(Uploader(...))``. ``mongo_repositories()`` is also
what the replicator reads and writes the Uploader's store through.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from pymongo import MongoClient

from fileserver import config
from fileserver.uploader.crypto import KeyCipher
from fileserver.uploader.jobs import JobPublisher
from fileserver.uploader.model import StoredFile
from fileserver.uploader.probe import probe_account
from fileserver.uploader.registration import DownloaderRegistration
from fileserver.uploader.repairs import RepairService
from fileserver.uploader.repository import AccountRepository, BlobStore, FileRepository
from fileserver.uploader.service import AccountService, FileService, Prober, UploadService
from fileserver.wiring import ProcessWiring

DEFAULT_MAX_UPLOAD = 10 * 1024**3
DEFAULT_DAILY_LIMIT = 100 * 10**9


@dataclass(frozen=True)
class Services:
    accounts: AccountService
    files: FileService
    uploads: UploadService


@dataclass(frozen=True)
class Repositories:
    accounts: AccountRepository
    files: FileRepository
    blobs: BlobStore


@dataclass(frozen=True)
class UploaderSettings:
    default_daily_limit: int = DEFAULT_DAILY_LIMIT
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD

    @classmethod
    def from_env(cls) -> UploaderSettings:
        """``DEFAULT_DAILY_LIMIT_BYTES`` and ``MAX_UPLOAD_BYTES`` (docs/uploader.md)."""
        return cls(config.int_setting("DEFAULT_DAILY_LIMIT_BYTES", DEFAULT_DAILY_LIMIT),
                   config.int_setting("MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD))


class Uploader:
    """The Uploader services of one process, built once from what it receives."""

    def __init__(self, repositories: Repositories, jobs: JobPublisher, *,
                 register: Callable[[StoredFile], None] | None = None,
                 probe: Prober = probe_account, settings: UploaderSettings | None = None) -> None:
        self.repositories = repositories
        self.jobs = jobs
        self.register = register
        self.probe = probe
        self.settings = settings or UploaderSettings()
        self._lock = threading.Lock()
        self._indexed = False
        self._services: Services | None = None
        self._repairs: RepairService | None = None

    def ensure_indexes(self) -> None:
        """Create the collections' indexes (once per process; retried after a failure)."""
        with self._lock:
            if not self._indexed:
                self.repositories.accounts.ensure_indexes()
                self.repositories.files.ensure_indexes()
                self._indexed = True

    @property
    def services(self) -> Services:
        with self._lock:
            if self._services is None:
                repos, settings = self.repositories, self.settings
                self._services = Services(
                    accounts=AccountService(repos.accounts, self.jobs,
                                            settings.default_daily_limit, self.probe),
                    files=FileService(repos.files, self.jobs),
                    uploads=UploadService(repos.accounts, repos.files, repos.blobs, self.jobs,
                                          settings.max_upload_bytes, register=self.register))
            return self._services

    @property
    def repair_service(self) -> RepairService:
        """Repair requests from the Downloader's prober, published as jobs."""
        with self._lock:
            if self._repairs is None:
                self._repairs = RepairService(self.repositories.files, self.jobs)
            return self._repairs


def mongo_repositories() -> Repositories:
    """The Uploader's repositories on ``MONGO_URL``/``MONGO_DB`` (one client; it connects on
    first use) with the ``key-encryption-key`` secret; no index is created here."""
    client: MongoClient = MongoClient(config.mongo_url())
    db = client[config.mongo_db_name()]
    return Repositories(AccountRepository(db, KeyCipher.from_secret()), FileRepository(db),
                        BlobStore(db))


def from_env() -> Uploader:
    """The real dependencies: MongoDB, NATS (``NATS_URL``), the Downloader registration."""
    jobs = JobPublisher(config.nats_url(),
                        config.float_setting("JOBS_PUBLISH_TIMEOUT_SECONDS", 5.0))
    return Uploader(mongo_repositories(), jobs, settings=UploaderSettings.from_env(),
                    register=DownloaderRegistration(config.gateway_url(),
                                                    config.secret("admin-token")))


PROCESS: ProcessWiring[Uploader] = ProcessWiring(from_env)


def ensure_indexes() -> None:
    """Every Uploader function's first step (``on_first_request``)."""
    PROCESS.get().ensure_indexes()


def services() -> Services:
    return PROCESS.get().services


def repair_service() -> RepairService:
    return PROCESS.get().repair_service
