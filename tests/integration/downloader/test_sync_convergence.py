"""Any interleaving of duplicated and reordered sync messages converges to the same registry.

Hypothesis draws versioned messages (one payload per key and version, as the replicator sends
them), applies them in their order and then, on an emptied registry, in a shuffled order with
duplicates, against the real PostgreSQL. Both must equal the model: per key, the highest
version wins and a delete wins a tie.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fileserver.downloader.db import Database
from fileserver.downloader.repository import RegistryRepository
from tests.support.downloader_rows import registry_snapshot

KINDS = ("account", "file", "replica")
KEYS = {"account": ["a1", "a2"], "file": ["f1", "f2"], "replica": ["f1/a1", "f1/a2", "f2/a1"]}

message = st.sampled_from(KINDS).flatmap(lambda kind: st.tuples(
    st.just(kind), st.sampled_from(KEYS[kind]), st.booleans(), st.integers(1, 6)))


def apply(registry: RegistryRepository, msg: tuple[str, str, bool, int]) -> None:
    kind, key, delete, version = msg
    if kind == "account":
        if delete:
            registry.delete_account(key, version)
        else:
            registry.put_account(key, f"{key}-v{version}@x.test", version * 1000, version % 2 == 0,
                                 version)
    elif kind == "file":
        if delete:
            registry.delete_file(key, version)
        else:
            registry.put_file(key, f"{key}-v{version}", version * 10, f"md5-{version}", version)
    else:
        file_id, account_id = key.split("/")
        if delete:
            registry.delete_replica(file_id, account_id, version)
        else:
            registry.put_replica(file_id, account_id, f"d-{key}-{version}",
                                 f"http://drive.test/uc?id={version}", version)


def model(messages: list[tuple[str, str, bool, int]]) -> dict[tuple[str, str], tuple[int, bool]]:
    """Per key: (winning version, deleted?)."""
    final: dict[tuple[str, str], tuple[int, bool]] = {}
    for kind, key, delete, version in messages:
        current = final.get((kind, key))
        if current is None or (version, delete) > current:
            final[(kind, key)] = (version, delete)
    return final


def observed(snapshot: dict[str, list[dict[str, Any]]]) -> dict[tuple[str, str], tuple[int, bool]]:
    found = {("account", r["id"]): (r["version"], r["deleted"]) for r in snapshot["accounts"]}
    found |= {("file", r["id"]): (r["version"], r["deleted"]) for r in snapshot["files"]}
    found |= {("replica", f"{r['file_id']}/{r['account_id']}"): (r["version"], r["deleted"])
              for r in snapshot["replicas"]}
    return found


def empty(db: Database) -> None:
    db.run("TRUNCATE accounts, files, replicas")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages=st.lists(message, min_size=1, max_size=14), data=st.data())
def test_any_interleaving_converges(db: Database, messages: list, data: st.DataObject) -> None:
    registry = RegistryRepository(db)
    empty(db)
    for msg in messages:
        apply(registry, msg)
    first = registry_snapshot(db)
    duplicated = messages + data.draw(st.lists(st.sampled_from(messages), max_size=10))
    shuffled = data.draw(st.permutations(duplicated))
    empty(db)
    for msg in shuffled:
        apply(registry, msg)
    assert registry_snapshot(db) == first
    assert observed(first) == model(messages)
