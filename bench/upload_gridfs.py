"""Upload throughput and memory of upload-file, next to a plain pymongo GridFS put.

    python -m bench.upload_gridfs [--mb 1024] [--gateway URL --token T]

Starts a Mongo wire server (nx-27017) and NATS JetStream in a temp dir (or uses
``--mongo-url``/``--nats-url``) and a real ``upload-file`` process on free ports, all stopped by
pid at the end. Streams ``--mb`` MB generated on the fly (never whole in memory) as a raw body,
then puts the same bytes into the same server with ``gridfs.GridFSBucket.upload_from_stream``.
Prints MB/s of both, their ratio, upload-file's peak RSS (VmHWM) against the 100 MB goal, and
the peak temporary disk its process (and the gateway's) held during the upload (goal 0: the
server streams; waitress used to spool the whole body to a deleted temporary file), sampled
from the sizes of the regular files they hold open that are deleted or under the temp dir.
With ``--live`` it starts the local stack (``devstack``, free ports, temp dir; only the
Uploader's functions) and uploads through its gateway, measuring the stack's upload-file
process. With ``--gateway URL --token T`` it uses a running gateway (RSS not measured).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import json
import os
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
from cryptography.fernet import Fernet
from gridfs import GridFSBucket
from pymongo import MongoClient

from devstack.mongo import MongoWireServer
from devstack.nats import NatsServer
from devstack.process import free_port, interrupt_on_sigterm, stop_pid, wait_until

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
RSS_GOAL_MB = 100


class GeneratedBody(io.RawIOBase):
    """``size`` pseudo-random bytes produced block by block (each block made distinct)."""

    def __init__(self, size: int, seed: bytes = os.urandom(MB)) -> None:
        self.size = size
        self.sent = 0
        self.seed = seed
        self.sha256 = hashlib.sha256()

    def __len__(self) -> int:
        return self.size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self.sent >= self.size:
            return b""
        n = MB if n is None or n < 0 else min(n, MB)
        block = (self.sent // MB).to_bytes(8, "big") + self.seed[8:]
        offset = self.sent % MB
        data = block[offset:offset + min(n, self.size - self.sent)]
        self.sent += len(data)
        self.sha256.update(data)
        return data


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class TempDiskSampler:
    """Peak bytes of temporary files held open by ``pids`` while the block runs, sampled every
    50 ms from /proc/PID/fd: regular files that are deleted (``TemporaryFile``) or under the
    temp dir. Sockets, pipes, stdout/stderr (log files) and the databases' own files do not
    count."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TempDiskSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, sum(temp_bytes(pid) for pid in self.pids))


def temp_bytes(pid: int) -> int:
    total = 0
    tmp = tempfile.gettempdir()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return 0
    for fd in fds:
        if fd.name in ("0", "1", "2"):
            continue
        try:
            target = os.readlink(fd)
            if not (target.endswith(" (deleted)") or target.startswith(tmp + "/")):
                continue
            info = os.stat(fd)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            total += info.st_size
    return total


def start_upload_file(env: dict[str, str], log: Path, server: str = "streaming") -> tuple[int, str]:
    port = free_port()
    module = "fileserver.runtime.serve" if server == "streaming" else "bench.waitress_serve"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", module,
                                 str(ROOT / "functions" / "upload-file"), "--port", str(port)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: requests.get(url + "/healthz", timeout=1).ok, timeout=30)
    return proc.pid, url


def timed_upload(url: str, token: str, size: int) -> tuple[float, dict]:
    """POST the generated body with Content-Length, written in 1 MiB blocks (like curl's
    large writes; requests would send a file-like body 8 KiB at a time)."""
    body = GeneratedBody(size)
    target = urlsplit(url)
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=3600, blocksize=MB)
    started = time.perf_counter()
    conn.request("POST", target.path.rstrip("/") + "/?name=bench.bin", body=body,
                 headers={"Authorization": f"Bearer {token}", "Content-Length": str(size),
                          "Content-Type": "application/octet-stream"})
    response = conn.getresponse()
    payload = response.read()
    elapsed = time.perf_counter() - started
    conn.close()
    if response.status != 202:
        raise SystemExit(f"upload-file answered {response.status}: {payload[:500]!r}")
    result = json.loads(payload)
    if result["sha256"] != body.sha256.hexdigest() or result["size"] != size:
        raise SystemExit("upload-file stored different bytes than were sent")
    return elapsed, result


def timed_gridfs_put(mongo_url: str, db_name: str, size: int) -> float:
    client = MongoClient(mongo_url)
    bucket = GridFSBucket(client[db_name], bucket_name="bench")
    started = time.perf_counter()
    file_id = bucket.upload_from_stream("bench.bin", GeneratedBody(size), chunk_size_bytes=MB)
    elapsed = time.perf_counter() - started
    bucket.delete(file_id)
    client.close()
    return elapsed


def main() -> None:
    interrupt_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--mongo-url")
    parser.add_argument("--nats-url")
    parser.add_argument("--gateway")
    parser.add_argument("--token")
    parser.add_argument("--live", action="store_true")
    parser.add_argument("--server", choices=("streaming", "waitress"), default="streaming",
                        help="direct mode: upload-file's HTTP server (waitress: the baseline "
                             "before issue 19, bench.waitress_serve)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        if args.live:
            run_live(args, Path(tmp))
        else:
            run(args, Path(tmp))


def run_live(args: argparse.Namespace, tmp: Path) -> None:
    """Through the local stack's gateway; the stack is stopped at the end."""
    from devstack.config import StackConfig
    from devstack.stack import LocalStack

    stack = LocalStack(StackConfig.free(tmp / "stack",
                                        functions=["upload-file", "files", "drive-accounts"]))
    try:
        stack.up()
        size = args.mb * MB
        url = stack.gateway_url + "/function/upload-file"
        with TempDiskSampler([stack.pid("upload-file"), stack.pid("gateway")]) as disk:
            up_seconds, result = timed_upload(url, stack.admin_token, size)
        rss = peak_rss_mb(stack.pid("upload-file"))
        put_seconds = timed_gridfs_put(stack.env["MONGO_URL"], "bench_put", size)
        print_figures(args.mb, result, up_seconds, put_seconds, rss, "through the gateway",
                      disk.peak)
    finally:
        stack.down()


def run(args: argparse.Namespace, tmp: Path) -> None:
    started: list = []
    pids: list[int] = []
    try:
        mongo_url, nats_url = args.mongo_url, args.nats_url
        if not mongo_url:
            started.append(MongoWireServer(tmp / "mongo", free_port(), tmp / "mongo.log"))
            started[-1].start()
            mongo_url = started[-1].url
        if not nats_url:
            started.append(NatsServer(tmp / "nats", free_port(), free_port(), tmp / "nats.log"))
            started[-1].start()
            nats_url = started[-1].url
        report(args, tmp, mongo_url, nats_url, pids)
    finally:
        for pid in pids:
            stop_pid(pid)
        for server in reversed(started):
            server.stop()


def report(args: argparse.Namespace, tmp: Path, mongo_url: str, nats_url: str,
           pids: list[int]) -> None:
    size = args.mb * MB
    db_name = "bench_" + os.urandom(4).hex()
    if args.gateway:
        url, token = args.gateway.rstrip("/") + "/function/upload-file", args.token or ""
    else:
        token = "bench-token"
        (tmp / "secrets").mkdir()
        (tmp / "secrets" / "admin-token").write_text(token)
        (tmp / "secrets" / "key-encryption-key").write_text(Fernet.generate_key().decode())
        env = {**os.environ, "MONGO_URL": mongo_url, "MONGO_DB": db_name, "NATS_URL": nats_url,
               "SECRETS_DIR": str(tmp / "secrets"), "MAX_UPLOAD_BYTES": str(size + MB),
               "LOG_LEVEL": "WARNING"}
        pid, url = start_upload_file(env, tmp / "upload-file.log", args.server)
        pids.append(pid)
    cpu_before = cpu_seconds(pids[0]) if pids else 0.0
    with TempDiskSampler(pids) as disk:
        up_seconds, result = timed_upload(url, token, size)
    if pids:
        used = cpu_seconds(pids[0]) - cpu_before
        print(f"{'upload-file CPU during the upload':34s}{used:8.1f} s")
    rss = peak_rss_mb(pids[0]) if pids else None
    put_seconds = timed_gridfs_put(mongo_url, db_name, size)
    print_figures(args.mb, result, up_seconds, put_seconds, rss,
                  "through the gateway" if args.gateway else f"direct, {args.server}",
                  disk.peak if pids else None)


def print_figures(mb: int, result: dict, up_seconds: float, put_seconds: float,
                  rss: float | None, path: str, temp_disk: int | None = None) -> None:
    up_rate, put_rate = mb / up_seconds, mb / put_seconds
    print(f"{'size':34s}{mb} MB  (sha256 verified, status {result['status']})")
    label = f"upload-file ({path})"
    print(f"{label:34s}{up_seconds:8.1f} s  {up_rate:8.1f} MB/s")
    print(f"{'pymongo GridFS put':34s}{put_seconds:8.1f} s  {put_rate:8.1f} MB/s")
    print(f"{'ratio upload-file / put':34s}{up_rate / put_rate:8.2f}")
    if rss is not None:
        verdict = "OK" if rss < RSS_GOAL_MB else "OVER GOAL"
        print(f"{'upload-file peak RSS':34s}{rss:8.1f} MB  (goal < {RSS_GOAL_MB} MB: {verdict})")
    if temp_disk is not None:
        verdict = "OK" if temp_disk == 0 else "OVER GOAL"
        print(f"{'peak temporary disk':34s}{temp_disk / MB:8.1f} MB  ({temp_disk} bytes; "
              f"goal 0: {verdict})")


if __name__ == "__main__":
    main()
