"""Pure parts of the emulator: q language, fields masks, Content-Range and Range."""

from __future__ import annotations

import pytest

from emulators.drive import fields, query
from emulators.drive.errors import DriveApiError
from emulators.drive.resources import byte_range
from emulators.drive.uploads import parse_content_range

ROW = {"name": "it's.bin", "mime_type": "text/plain", "trashed": 0, "owner": "a@x.io",
       "app_properties": {"fileserver_id": "F1"}}


@pytest.mark.parametrize(("q", "me", "expected"), [
    ("appProperties has { key='fileserver_id' and value='F1' }", "a@x.io", True),
    ("appProperties has { key='fileserver_id' and value='F2' }", "a@x.io", False),
    ("name = 'it\\'s.bin' and trashed = false", "a@x.io", True),
    ("name contains 'bin' and 'me' in owners", "b@x.io", False),
    ("trashed = true", "a@x.io", False),
    ("", "b@x.io", True),
])
def test_query_predicates(q: str, me: str, expected: bool) -> None:
    assert query.parse(q)(ROW, me) is expected


def test_unsupported_query_is_400_invalid_query() -> None:
    with pytest.raises(DriveApiError) as error:
        query.parse("modifiedTime > '2020-01-01'")
    assert (error.value.status, error.value.reason) == (400, "invalidQuery")


def test_fields_mask_selects_nested_keys() -> None:
    body = {"nextPageToken": "7", "kind": "x", "files": [{"id": "1", "name": "n", "size": "3"}]}
    mask = fields.parse("nextPageToken,files(id,size)")
    assert fields.apply(body, mask) == {"nextPageToken": "7", "files": [{"id": "1", "size": "3"}]}
    with pytest.raises(DriveApiError):
        fields.parse("files(id")


def test_content_range_forms() -> None:
    assert parse_content_range("bytes 0-9/100", 10) == (0, 9, 100)
    assert parse_content_range("bytes 10-19/*", 10) == (10, 19, None)
    assert parse_content_range("bytes */100", 0) == (None, None, 100)
    assert parse_content_range(None, 5) == (0, 4, 5)
    for bad in ("bytes 0-9/100", "items 0-4/5", "bytes 5-1/9"):
        with pytest.raises(DriveApiError):
            parse_content_range(bad, 4)


def test_download_ranges() -> None:
    assert byte_range(None, 10) is None
    assert byte_range("bytes=2-4", 10) == (2, 4)
    assert byte_range("bytes=7-", 10) == (7, 9)
    assert byte_range("bytes=-3", 10) == (7, 9)
    assert byte_range("bytes=5-500", 10) == (5, 9)
    with pytest.raises(DriveApiError) as error:
        byte_range("bytes=10-", 10)
    assert error.value.status == 416
