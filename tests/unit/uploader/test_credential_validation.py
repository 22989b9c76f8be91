"""drive-accounts' validation of the three kinds of key: a 400 naming the field, never a
value of the key."""

from __future__ import annotations

import pytest

from fileserver.errors import BadRequest
from fileserver.uploader import validation
from tests.unit.uploader.test_uploader_input import KEY, SECRET

USER = {"type": "authorized_user", "client_id": "cid", "client_secret": "GOCSPX-s3cret",
        "refresh_token": "1//r3fresh"}


def refused(key, shared_drive_id=None, subject=None) -> BadRequest:
    with pytest.raises(BadRequest) as info:
        validation.credential(key, shared_drive_id, subject)
    message = info.value.message
    assert SECRET not in message and "GOCSPX" not in message and "r3fresh" not in message
    return info.value


def test_each_kind_is_accepted_with_its_extra_field_in_the_stored_key():
    assert validation.credential(dict(USER)) == USER
    assert validation.credential({**USER, "token_uri": "http://emu/token"})["token_uri"]
    assert validation.credential(dict(KEY), "0AAbc-_9")["shared_drive_id"] == "0AAbc-_9"
    assert validation.credential(dict(KEY), None, "ana@example.org")["subject"] == \
        "ana@example.org"
    assert validation.credential(dict(KEY)) == KEY


def test_a_user_key_missing_fields_names_them():
    error = refused({"type": "authorized_user", "client_id": "cid"})
    assert error.details["missing"] == ["client_secret", "refresh_token"]
    assert "client_secret" in error.message


@pytest.mark.parametrize(("key", "drive", "subject", "words"), [
    ({**KEY, "type": "external_account"}, None, None, "key type"),
    (dict(USER), "0AAbc", None, "service_account key"),
    (dict(USER), None, "a@b.org", "service_account key"),
    (dict(KEY), "0AAbc", "a@b.org", "not both"),
    (dict(KEY), "../x", None, "shared_drive_id"),
    (dict(KEY), 5, None, "shared_drive_id"),
    (dict(KEY), None, "not-an-email", "subject"),
    ({**USER, "token_uri": "ftp://x"}, None, None, "token_uri"),
    ("a string", None, None, "JSON object"),
])
def test_wrong_combinations_are_400_naming_the_field(key, drive, subject, words):
    assert words in refused(key, drive, subject).message


def test_a_subject_inside_the_key_file_is_not_taken_as_delegation():
    stored = validation.credential({**KEY, "subject": "sneaky@example.org"})
    assert "subject" not in stored
