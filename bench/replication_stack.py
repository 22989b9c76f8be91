"""A live stack for the replicator (tests and benchmarks): real Drive emulator, NATS JetStream,
the Uploader's services in process on a Mongo wire server, PostgreSQL with the real
downloader-sync and get-url processes behind the real gateway, and the replicator as its own
process. Every process is stopped by its own pid."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import requests
from cryptography.fernet import Fernet
from pymongo import MongoClient

from devstack.mongo import MongoWireServer
from devstack.nats import NatsServer
from devstack.postgres import PostgresServer
from devstack.process import free_port, log_tail, pid_alive, stop_pid, wait_until
from emulators.drive.server import DriveEmulator
from fileserver.drive.client import DriveClient
from fileserver.uploader.crypto import KeyCipher
from fileserver.uploader.jobs import JobPublisher
from fileserver.uploader.repository import AccountRepository, BlobStore, FileRepository
from fileserver.uploader.service import AccountService, FileService, UploadService

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "replicator-test-" + uuid.uuid4().hex[:8]


@dataclass
class Live:
    base: Path
    emulator: DriveEmulator
    nats_url: str
    mongo_url: str
    db_name: str
    postgres_url: str
    env: dict[str, str]
    functions_file: Path
    pids: dict[str, int] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    keys: dict[str, dict] = field(default_factory=dict)
    servers: list = field(default_factory=list)

    def __post_init__(self) -> None:
        db = MongoClient(self.mongo_url)[self.db_name]
        self.db = db
        self.accounts = AccountRepository(db, KeyCipher(self.env["FILESERVER_KEY_ENCRYPTION_KEY"]))
        self.files = FileRepository(db)
        self.blobs = BlobStore(db)
        self.accounts.ensure_indexes()
        self.files.ensure_indexes()
        self.jobs = JobPublisher(self.nats_url)
        self.account_service = AccountService(self.accounts, self.jobs, 10**11, lambda key: None)
        self.file_service = FileService(self.files, self.jobs)
        self.uploads = UploadService(self.accounts, self.files, self.blobs, self.jobs, 1 << 30)

    # -- processes ---------------------------------------------------------------------
    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> int:
        log = self.base / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(argv, cwd=ROOT, env={**self.env, **(env or {})},
                                    stdout=out, stderr=subprocess.STDOUT)
        self.pids[name] = proc.pid
        return proc.pid

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        pid = self.pids.pop(name, None)
        if pid is not None:
            stop_pid(pid, sig, timeout=30)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)

    def start_function(self, name: str) -> None:
        port = free_port()
        self.start(name, [sys.executable, "-m", "fileserver.runtime.serve",
                          f"functions/{name}", "--port", str(port)])
        self.urls[name] = f"http://127.0.0.1:{port}"
        wait_until(lambda: requests.get(self.urls[name] + "/healthz", timeout=1).ok, 30,
                   lambda: None if self.alive(name) else f"{name}: {log_tail(self.log(name))}")
        self.functions_file.write_text(json.dumps(self.urls))

    def start_replicator(self) -> None:
        self.start("replicator", [sys.executable, "-m", "workers.replicator"])

    def alive(self, name: str) -> bool:
        pid = self.pids.get(name)
        return pid is not None and pid_alive(pid)

    def log(self, name: str) -> Path:
        return self.base / f"{name}.log"

    # -- the Uploader's side ------------------------------------------------------------
    def add_account(self) -> str:
        key = self.emulator.create_account(legacy=True)
        account = self.account_service.create({"name": f"acc-{len(self.keys)}", "key": key},
                                              verify=False)
        self.keys[account.id] = key
        return account.id

    def upload(self, data: bytes, name: str = "f.bin") -> str:
        blocks = (data[i:i + 65536] for i in range(0, len(data), 65536))
        return self.uploads.upload(name, "application/octet-stream", blocks).id

    def drive(self, account_id: str) -> DriveClient:
        return DriveClient(self.keys[account_id], self.emulator.url)

    def usage(self, account_id: str) -> dict:
        email = self.keys[account_id]["client_email"]
        return requests.get(f"{self.emulator.url}_emulator/accounts/{email}", timeout=10).json()

    def set_faults(self, account_id: str, rules: list[dict]) -> None:
        email = self.keys[account_id]["client_email"]
        requests.put(f"{self.emulator.url}_emulator/accounts/{email}/faults",
                     json={"rules": rules}, timeout=10).raise_for_status()

    # -- observed state -----------------------------------------------------------------
    def registry(self) -> set[tuple[str, str, str]]:
        resp = requests.get(f"{self.gateway}/function/downloader-sync/replicas",
                            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        resp.raise_for_status()
        return {(r["file_id"], r["account_id"], r["drive_file_id"]) for r in resp.json()["items"]}

    def copies(self) -> dict[str, Counter]:
        """Per active account: how many tagged copies of each file it holds."""
        return {account.id: Counter(f.app_properties.get("fileserver_id")
                                    for f in self.drive(account.id).list_files())
                for account in self.accounts.list_all() if account.state == "active"}

    @property
    def gateway(self) -> str:
        return self.urls["gateway"]

    def problems(self, file_ids: list[str]) -> list[str]:
        """Every way the system is not (yet) converged for these files; empty when done."""
        found: list[str] = []
        stored = {f.id: f for f in self.files.iter_all()}
        active = [a.id for a in self.accounts.list_all() if a.state == "active"]
        copies = self.copies()
        expected = set()
        for file_id in file_ids:
            record = stored.get(file_id)
            if record is None or record.status != "uploaded" or record.blob_id:
                found.append(f"{file_id}: {record.status if record else 'missing'}")
                continue
            for account_id in active:
                if copies[account_id][file_id] != 1:
                    found.append(f"{file_id}@{account_id}: {copies[account_id][file_id]} copies")
                replica = record.replicas.get(account_id)
                expected.add((file_id, account_id, replica.drive_file_id if replica else "-"))
        registry = {r for r in self.registry() if r[0] in file_ids}
        if registry != expected:
            found.append(f"registry differs: {len(registry ^ expected)} rows")
        if self.db["blobs.files"].find_one({}) is not None:
            found.append("GridFS still holds blobs")
        return found

    def wait_converged(self, file_ids: list[str], timeout: float = 90) -> None:
        last: list[list[str]] = [[]]

        def done() -> bool:
            last[0] = self.problems(file_ids)
            return not last[0]

        try:
            wait_until(done, timeout, interval=0.5)
        except Exception as exc:
            raise AssertionError(f"not converged: {last[0][:10]}\n"
                                 f"{log_tail(self.log('replicator'), 40)}") from exc


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def create_database(port: int) -> str:
    name = f"repl_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return f"postgresql+psycopg2://postgres@127.0.0.1:{port}/{name}"


def start_live(base: Path, mongo_url: str, postgres_port: int) -> Live:
    """Start NATS, the emulator, the gateway, downloader-sync and get-url under ``base``."""
    nats_server = NatsServer(base / "nats", free_port(), free_port(), base / "nats.log")
    emulator = DriveEmulator(base / "drive", free_port(), base / "emulator.log", fault_seed=11)
    nats_server.start()
    emulator.start(timeout=30)
    gateway_port = free_port()
    env = {**os.environ, "FILESERVER_ADMIN_TOKEN": TOKEN, "LOG_LEVEL": "WARNING",
           "FILESERVER_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
           "SECRETS_DIR": str(base / "secrets"), "NATS_URL": nats_server.url,
           "MONGO_URL": mongo_url, "MONGO_DB": "repl_" + uuid.uuid4().hex[:8],
           "POSTGRES_URL": create_database(postgres_port), "DRIVE_API_ROOT": emulator.url,
           "METRICS_PORT": str(free_port()), "GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
           "REPLICATOR_CONCURRENCY": "4", "RECONCILE_INTERVAL_SECONDS": "3",
           "REPLICATOR_BACKOFF_SECONDS": "0.2", "REPLICATOR_ACK_WAIT_SECONDS": "15"}
    functions_file = base / "functions.json"
    functions_file.write_text("{}")
    live = Live(base, emulator, nats_server.url, mongo_url, env["MONGO_DB"],
                env["POSTGRES_URL"], env, functions_file, servers=[emulator, nats_server])
    try:
        live.start("gateway", [sys.executable, "-m", "devstack.gateway", "--port",
                               str(gateway_port), "--functions", str(functions_file)])
        live.urls["gateway"] = env["GATEWAY_URL"]
        wait_until(lambda: requests.get(live.gateway + "/healthz", timeout=1).ok, 30)
        for name in ("downloader-sync", "get-url"):
            live.start_function(name)
    except BaseException:
        stop_live(live)
        raise
    return live


@contextlib.contextmanager
def live_stack(base: Path) -> Iterator[Live]:
    """MongoDB (nx-27017), PostgreSQL and ``start_live``'s servers under ``base``; every one
    stopped on exit, by its pid, whatever happened."""
    with contextlib.ExitStack() as stack:
        mongo = MongoWireServer(base / "mongo", free_port(), base / "mongo.log")
        mongo.start()
        stack.callback(mongo.stop)
        postgres = PostgresServer(base / "pg", free_port(), base / "pg.log")
        postgres.start(timeout=60)
        stack.callback(postgres.stop)
        live = start_live(base / "stack", mongo.url, postgres.port)
        stack.callback(stop_live, live)
        yield live


def stop_live(live: Live) -> None:
    live.jobs.close()
    for name in list(live.pids):
        live.stop(name)
    for server in live.servers:
        server.stop()
