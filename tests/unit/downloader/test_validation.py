"""Input validation of the Downloader's services."""

from __future__ import annotations

import pytest

from fileserver.downloader import validation as v
from fileserver.downloader.reports import ACCOUNT_SORTS, sort_args
from fileserver.errors import BadRequest


@pytest.mark.parametrize("bad", [None, "", "a b", "../x", "x" * 129, 5, "é"])
def test_ids_are_checked(bad: object) -> None:
    with pytest.raises(BadRequest):
        v.ident(bad, "id")


@pytest.mark.parametrize("bad", [True, -1, "3", 1.5, 2**63])
def test_integers_are_checked(bad: object) -> None:
    with pytest.raises(BadRequest):
        v.integer(bad, "version")


def test_delete_versions_and_urls() -> None:
    assert v.version_arg("12") == 12
    for bad in (None, "", "-1", "1e3", "9" * 19):
        with pytest.raises(BadRequest):
            v.version_arg(bad)
    assert v.http_url("https://drive.google.com/uc?id=1", "url")
    with pytest.raises(BadRequest):
        v.http_url("javascript:alert(1)", "url")


def test_sort_columns_are_whitelisted() -> None:
    assert sort_args(None, None, ACCOUNT_SORTS, "account_id") == ("account_id", "DESC")
    assert sort_args("bytes_today", "ASC", ACCOUNT_SORTS, "account_id") == ("bytes_today", "ASC")
    for sort, order in (("size", None), ("bytes_today; drop", None), ("email", "sideways")):
        with pytest.raises(BadRequest):
            sort_args(sort, order, ACCOUNT_SORTS, "account_id")
