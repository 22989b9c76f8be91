"""The replicator's live stack (see bench.replication_stack) as a module fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.replication_stack import Live, start_live, stop_live


@pytest.fixture(scope="module")
def live(tmp_path_factory, mongo_server, postgres_server) -> Iterator[Live]:
    stack = start_live(tmp_path_factory.mktemp("replicator"), mongo_server.url,
                       postgres_server.port)
    try:
        yield stack
    finally:
        stop_live(stack)
