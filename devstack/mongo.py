"""The MongoDB wire-protocol server nx-27017 (MongoDB API over SQLite), for the local stack.

No real ``mongod`` can be installed here; when ``MONGO_URL`` names a real MongoDB the stack
does not start this at all. nx-27017 logs every command at INFO; we run it at WARNING so the
log holds problems, not traffic.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pymongo import MongoClient

from devstack.process import ManagedProcess

_LAUNCH = (
    "import logging, sys\n"
    "from nx_27017 import nx_27017 as nx\n"
    "_basic = logging.basicConfig\n"
    "def quiet(*a, **k):\n"
    "    k['level'] = logging.WARNING\n"
    "    _basic(*a, **k)\n"
    "logging.basicConfig = quiet\n"
    "sys.argv = ['nx-27017'] + sys.argv[1:]\n"
    "nx.main()\n"
)


class MongoWireServer(ManagedProcess):
    name = "mongo"

    def __init__(self, data_dir: Path, port: int, log_path: Path):
        super().__init__(log_path)
        self.data_dir = data_dir
        self.port = port

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return [sys.executable, "-c", _LAUNCH, "--data-dir", str(self.data_dir),
                "--host", "127.0.0.1", "-p", str(self.port),
                "--log-file", str(self.log_path.with_suffix(".server.log")),
                "--pid-file", str(self.data_dir / "nx-27017.pid")]

    def ready(self) -> bool:
        client = MongoClient(self.url, serverSelectionTimeoutMS=500, connectTimeoutMS=500)
        try:
            return client.admin.command("ping").get("ok") == 1
        finally:
            client.close()
