"""One wiring per process, installed by the caller or built once; start-up steps in sight."""

from __future__ import annotations

import threading

import pytest

from fileserver.runtime import function_app
from fileserver.runtime.startup import on_first_request
from fileserver.wiring import ProcessWiring


def test_a_process_wiring_is_built_once_even_by_racing_threads():
    builds: list[int] = []

    def from_env() -> dict:
        builds.append(1)
        return {"built": len(builds)}

    process = ProcessWiring(from_env)
    seen: list[dict] = []
    threads = [threading.Thread(target=lambda: seen.append(process.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builds == [1] and all(wired is seen[0] for wired in seen)


def test_an_installed_wiring_is_used_and_the_environment_never_read():
    def from_env() -> object:
        raise AssertionError("a test's wiring must not be built from the environment")

    process = ProcessWiring(from_env)
    fake = object()
    assert process.use(fake) is fake and process.get() is fake
    process.clear()
    with pytest.raises(AssertionError):
        process.get()


def test_a_failed_build_is_tried_again():
    attempts: list[int] = []

    def from_env() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("not yet")
        return "wired"

    process = ProcessWiring(from_env)
    with pytest.raises(ConnectionError):
        process.get()
    assert process.get() == "wired" and len(attempts) == 2


def test_first_request_steps_run_once_in_order_and_never_for_probes():
    ran: list[str] = []
    app = function_app("wiring-test")
    on_first_request(app, lambda: ran.append("migrate"), lambda: ran.append("relay"))
    app.add_url_rule("/", "root", lambda: "ok")
    assert ran == []  # nothing at import / app creation
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/_/metrics").status_code == 200
    assert ran == []
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 200
    assert ran == ["migrate", "relay"]


def test_a_failing_step_fails_that_request_and_runs_again_on_the_next():
    calls: list[int] = []

    def migrate() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database down")

    app = function_app("wiring-test")
    on_first_request(app, migrate)
    app.add_url_rule("/", "root", lambda: "ok")
    client = app.test_client()
    assert client.get("/").status_code == 500
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 200
    assert len(calls) == 2
