"""The replicator is wired on the adapters it receives: the real build runs on the fakes."""

from __future__ import annotations

from tests.unit.replicator.conftest import FakeDriveFactory
from workers.replicator.bootstrap import Adapters, WorkerSettings, build
from workers.replicator.consumer import ConsumerSettings
from workers.replicator.handlers import Job


def test_build_wires_the_given_fake_ports_and_connects_nothing(world):
    adapters = Adapters(files=world.files, accounts=world.accounts, blobs=world.blobs,
                        drives=FakeDriveFactory(world.cloud), downloader=world.downloader)
    settings = WorkerSettings(ConsumerSettings(nats_url="nats://127.0.0.1:1"),
                              reconcile_interval=5.0, metrics_port=1)
    worker = build(adapters, settings)
    assert (worker.reconcile_interval, worker.metrics_port) == (5.0, 1)
    assert worker.consumer.connected is False  # nothing started by building
    world.files.add("f1", b"bytes of f1")
    assert worker.handlers.handle(Job("replicate", "f1", None)) == "uploaded"
    assert all(len(world.copies(f"acc{n}", "f1")) == 1 for n in range(1, 5))
    assert world.files.get("f1").status == "uploaded"
    assert ("f1", "acc1") in world.downloader.registry
