"""Make sure a JetStream stream exists with a given configuration (one way, every process).

The Uploader's functions and the replicator ensure the jobs stream; the local stack's gateway
and queue-worker ensure the async-call stream. Creating a stream that exists with the same
configuration succeeds; one that exists with another (an older ``max_age``, a process that
started first with a different version) is brought to this configuration.
"""

from __future__ import annotations

from typing import Any

from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError


async def ensure_stream(js: Any, config: StreamConfig) -> None:
    """Create the stream, or update an existing one to ``config``."""
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)
