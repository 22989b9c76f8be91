"""The emulator as a real child process (tests and the local stack start it, stop it by pid)."""

from __future__ import annotations

import sys
from pathlib import Path

import requests

from devstack.process import ManagedProcess, free_port
from emulators.drive.admin_client import DriveAdminApi


class DriveEmulator(DriveAdminApi, ManagedProcess):
    """The emulator process; its admin helpers (create_account, create_oauth_user,
    create_shared_drive, ...) come from ``DriveAdminApi`` (admin_client.py)."""

    name = "drive-emulator"

    def __init__(self, data_dir: Path, port: int, log_path: Path,
                 fault_seed: int | None = None, scan_warning_bytes: int | None = None,
                 usercontent_port: int | None = None, file_download_quota: int = 0) -> None:
        """``scan_warning_bytes`` None: the emulator's default (Google's 100 MB); 0: never.
        ``usercontent_port`` None: a free port."""
        super().__init__(log_path)
        self.scan_warning_bytes = scan_warning_bytes
        self.data_dir = data_dir
        self.port = port
        self.usercontent_port = usercontent_port or free_port()
        self.fault_seed = fault_seed
        self.file_download_quota = file_download_quota

    @property
    def url(self) -> str:
        """The API root (ends with a slash), as DRIVE_API_ROOT expects."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def usercontent_url(self) -> str:
        """The usercontent host's root (ends with a slash), as DRIVE_USERCONTENT_ROOT expects."""
        return f"http://127.0.0.1:{self.usercontent_port}/"

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "emulators.drive", "--host", "127.0.0.1",
                   "--port", str(self.port), "--data-dir", str(self.data_dir),
                   "--usercontent-port", str(self.usercontent_port)]
        if self.fault_seed is not None:
            command += ["--fault-seed", str(self.fault_seed)]
        if self.scan_warning_bytes is not None:
            command += ["--scan-warning-bytes", str(self.scan_warning_bytes)]
        if self.file_download_quota:
            command += ["--file-download-quota", str(self.file_download_quota)]
        return command

    def ready(self) -> bool:
        return requests.get(f"{self.url}_emulator/health", timeout=1).status_code == 200
