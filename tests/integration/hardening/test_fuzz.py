"""schemathesis against the live stack from openapi/fileserver.yaml: no 5xx, every status
documented, every answer matching its schema and content type.

The default run is bounded (a few examples per operation, ~1 min) and skips the operations
that would write made-up data into the shared session stack: the internal sync and ingest
calls and stats-compute (which forwards whatever events it is given). The slow run fuzzes
every operation, internal ones included, with more examples on a stack of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from devstack.process import wait_until
from tests.integration.hardening.conftest import Api, api_on_own_stack
from tests.unit.openapi.test_openapi_matches_code import DOCUMENT, documented_operations

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
WRITES_MADE_UP_DATA = r"^/function/(downloader-sync|stats-ingest|stats-compute)/"
HYPOTHESIS = {"deadline": None, "derandomize": True, "phases": [Phase.explicit, Phase.generate],
              "suppress_health_check": list(HealthCheck)}


def load_schema(api: Api):
    schema = schemathesis.openapi.from_path(str(DOCUMENT))
    schema.config.update(base_url=api.gateway)
    return schema


@pytest.fixture(scope="module")
def public_schema(api: Api):
    return load_schema(api).exclude(path_regex=WRITES_MADE_UP_DATA)


@pytest.fixture(scope="module")
def fuzz_cleanup(api: Api) -> Iterator[None]:
    """Delete the files and accounts that fuzzing managed to create."""
    before = api.snapshot()
    yield
    after = api.snapshot()
    for file_id in after.files - before.files:
        requests.delete(api.url(f"/function/files/{file_id}"), headers=api.admin, timeout=30)
    for account_id in after.accounts - before.accounts:
        requests.delete(api.url(f"/function/drive-accounts/{account_id}"), headers=api.admin,
                        timeout=30)


def fuzz(schema, api: Api, max_examples: int) -> int:
    """Run every operation of ``schema`` with hypothesis; return how many calls were made.

    (schemathesis' own pytest integration does not work with pytest 9, so this drives its
    case strategies directly.)"""
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=max_examples, **HYPOTHESIS)
        @given(case=operation.as_strategy())
        def check(case) -> None:
            nonlocal calls
            calls += 1
            response = case.call(headers=api.admin, timeout=60)
            case.validate_response(response, checks=CHECKS)
            assert api.leaks(response.text) == [], response.text[:300]

        check()
    return calls


def seed(api: Api) -> dict[str, str]:
    """An account, an uploaded file and a counted download, so that lists have rows and the
    known-id calls below answer 200 (random ids only ever reach the 4xx paths)."""
    ids = {"account_id": api.add_account("fuzz-seed"), "name": "fuzz-seed.txt"}
    ids["file_id"] = api.upload(b"fuzz seed " * 1000, "fuzz-seed.txt")
    api.wait_uploaded([ids["file_id"]])
    got = requests.get(api.url("/function/get-url/"), params={"id": ids["file_id"]}, timeout=30)
    assert got.status_code == 200, got.text
    wait_until(lambda: all(requests.get(api.url(path), timeout=30).status_code == 200 for path in (
        f"/function/file-stats/{ids['file_id']}", f"/function/account-stats/{ids['account_id']}",
        "/function/stats-summary/")), 60, interval=0.5)
    return ids


def call_with_known_ids(schema, api: Api, ids: dict[str, str]) -> int:
    """Every GET with the seeded ids: the 200 answers must match their schemas too."""
    oks = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() != "GET":
            continue
        params = {p.name: ids[p.name] for p in operation.path_parameters if p.name in ids}
        query = {"id": ids["file_id"]} if operation.path.endswith("/get-url/") else None
        case = operation.Case(path_parameters=params, query=query)
        response = case.call(headers=api.admin, timeout=60, allow_redirects=False)
        case.validate_response(response, checks=CHECKS)
        oks += response.status_code in (200, 302)  # 302: the download redirector
    return oks


def test_public_operations_never_fail_or_break_the_schema(public_schema, api, fuzz_cleanup):
    ids = seed(api)
    gets = [r for r in public_schema.get_all_operations() if r.ok().method.upper() == "GET"]
    # each answered 200 (302 for the download redirector's two paths)
    assert call_with_known_ids(public_schema, api, ids) == len(gets) == 12
    assert fuzz(public_schema, api, max_examples=8) > 50


@pytest.fixture(scope="module")
def own_stack_api() -> Iterator[Api]:
    with api_on_own_stack("fuzz-stack") as api:
        yield api


@pytest.mark.slow
def test_every_operation_on_a_stack_of_its_own(own_stack_api):
    schema = load_schema(own_stack_api)
    call_with_known_ids(schema, own_stack_api, seed(own_stack_api))
    assert fuzz(schema, own_stack_api, max_examples=150) > 1000


def test_the_gateway_serves_the_document(api):
    answer = requests.get(api.url("/openapi.yaml"), timeout=30)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/yaml"
    assert answer.content == DOCUMENT.read_bytes()
    served = schemathesis.openapi.from_url(api.url("/openapi.yaml"))
    assert len(list(served.get_all_operations())) == len(documented_operations()) == 32
