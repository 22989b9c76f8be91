"""JobPublisher against a real NATS JetStream: many threads, one connection, de-duplication."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from fileserver.uploader.jobs import JobPublisher
from tests.integration.uploader.conftest import read_jobs


def test_threads_share_one_publisher_and_duplicates_are_dropped(nats_server):
    publisher = JobPublisher(nats_server.url)
    ids = [uuid.uuid4().hex for _ in range(40)]
    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda file_id: publisher.publish("replicate", file_id, 1), ids))
            # the same change again (a retry): same Nats-Msg-Id, dropped by JetStream
            list(pool.map(lambda file_id: publisher.publish("replicate", file_id, 1), ids[:10]))
        publisher.publish("replicate", ids[0], 2)  # a newer version is a new job
    finally:
        publisher.close()
    seen = [body["file_id"] for body, _ in read_jobs(nats_server.url, "replicate")
            if body["file_id"] in set(ids)]
    assert sorted(seen) == sorted(ids + [ids[0]])
