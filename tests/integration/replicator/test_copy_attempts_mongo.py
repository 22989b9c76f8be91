"""The replicator's claim record (workers/replicator/attempts.py) on the Mongo wire server:
one atomic write answers which accounts were claimed before, and concurrent claims of one
account see it unclaimed exactly once."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from pymongo import MongoClient

from workers.replicator.attempts import FIELD, MongoCopyAttempts


@pytest.fixture
def files(mongo_server):
    client = MongoClient(mongo_server.url)
    yield client[f"attempts_{uuid.uuid4().hex[:8]}"]["files"]
    client.close()


def test_a_claim_answers_the_accounts_claimed_before(files) -> None:
    files.insert_one({"_id": "f1", "name": "a.bin", "replicas": {"acc1": {"state": "pending"}}})
    attempts = MongoCopyAttempts(files)
    assert attempts.claim("f1", ["acc1", "acc2"]) == set()
    assert attempts.claim("f1", ["acc2", "acc3"]) == {"acc2"}
    assert attempts.claim("f1", []) == set()
    doc = files.find_one({"_id": "f1"})
    assert set(doc[FIELD]) == {"acc1", "acc2", "acc3"}
    assert doc["replicas"] == {"acc1": {"state": "pending"}}  # nothing else touched
    assert attempts.claim("gone", ["acc1"]) == {"acc1"}  # no file: treated as a retry
    assert files.find_one({"_id": "gone"}) is None


def test_concurrent_claims_of_one_account_see_it_unclaimed_once(files) -> None:
    files.insert_one({"_id": "f2", "name": "b.bin"})
    attempts = MongoCopyAttempts(files)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: attempts.claim("f2", ["acc1"]), range(16)))
    assert answers.count(set()) == 1 and answers.count({"acc1"}) == 15
