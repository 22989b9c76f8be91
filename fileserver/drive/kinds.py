"""The kinds of Drive account fileserver knows, told from a stored key (no google imports, so
the Uploader's repositories and validation can use it without loading google-auth)."""

from __future__ import annotations

from typing import Any

AUTHORIZED_USER = "authorized_user"
SHARED_DRIVE = "shared_drive"
DELEGATED = "delegated"
SERVICE_ACCOUNT = "service_account"
KINDS = (AUTHORIZED_USER, SHARED_DRIVE, DELEGATED, SERVICE_ACCOUNT)


def key_kind(key: dict[str, Any]) -> str:
    """``authorized_user`` (OAuth user key), ``shared_drive`` (service account +
    ``shared_drive_id``), ``delegated`` (service account + ``subject``) or
    ``service_account`` (a plain one, which owns files itself)."""
    if key.get("type") == AUTHORIZED_USER:
        return AUTHORIZED_USER
    if key.get("shared_drive_id"):
        return SHARED_DRIVE
    if key.get("subject"):
        return DELEGATED
    return SERVICE_ACCOUNT
