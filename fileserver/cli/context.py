"""What every command receives: the gateway client and how to print (text or ``--json``)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from fileserver.cli.client import GatewayClient
from fileserver.cli.progress import Progress


@dataclass
class Context:
    client: GatewayClient
    json: bool = False
    force_progress: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)

    def emit(self, data: Any, text: str) -> None:
        """The command's result: ``data`` as JSON with ``--json``, else ``text``."""
        print(json.dumps(data, indent=2) if self.json else text, file=self.out, flush=True)

    def say(self, text: str) -> None:
        """Running commentary for people (``--wait`` steps); silent with ``--json``."""
        if not self.json:
            print(text, file=self.out, flush=True)

    def progress(self, label: str, total: int) -> Progress:
        enabled = self.force_progress or self.err.isatty()
        return Progress(label, total, enabled, self.err)
