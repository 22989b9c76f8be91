"""How every fileserver process is wired: one pattern for the Uploader, the Downloader, Stats
and the replicator (docs/wiring.md).

1. A wiring class (``Downloader``, ``Uploader``, ``Stats`` in each ``bootstrap.py``; the
   replicator's ``build``) receives its dependencies as arguments: adapters and settings.
   It builds each service from them on first use and connects nothing, starts nothing and
   reads no environment variable itself. A test constructs it with fakes.
2. ``from_env()`` beside it builds the real dependencies from the environment.
3. One ``ProcessWiring`` per process holds the instance: ``get()`` builds it with
   ``from_env`` on first use (request threads wait for one build); ``use(wired)`` installs
   one the caller built, so a test never monkeypatches a module.
4. What a process does before it serves (migrations, indexes, background threads) is an
   explicit call: a function's handler lists it with ``on_first_request``
   (fileserver/runtime/startup.py); the replicator's ``main`` calls it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

W = TypeVar("W")


class ProcessWiring(Generic[W]):
    """The one wiring of a process, built once (or installed by the caller)."""

    def __init__(self, from_env: Callable[[], W]) -> None:
        self.from_env = from_env
        self._wired: W | None = None
        self._lock = threading.Lock()

    def get(self) -> W:
        """The installed wiring, else one built with ``from_env`` now (once; a build that
        raises is tried again on the next call)."""
        wired = self._wired
        if wired is not None:
            return wired
        with self._lock:
            if self._wired is None:
                self._wired = self.from_env()
            return self._wired

    def use(self, wired: W) -> W:
        """Install ``wired`` (a test's fakes, an entry point's own build) for this process."""
        with self._lock:
            self._wired = wired
        return wired

    def clear(self) -> None:
        """Forget the wiring: the next ``get()`` builds a new one."""
        with self._lock:
            self._wired = None
