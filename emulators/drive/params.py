"""Query parameters several Drive routes share (shared-drive support flags)."""

from __future__ import annotations

from flask import request


def _true(name: str) -> bool:
    return request.args.get(name, "false").lower() == "true"


def all_drives() -> bool:
    """``supportsAllDrives=true`` (or the deprecated ``supportsTeamDrives=true``)."""
    return _true("supportsAllDrives") or _true("supportsTeamDrives")


def include_all_drives() -> bool:
    """``includeItemsFromAllDrives=true`` (or the deprecated ``includeTeamDriveItems``)."""
    return _true("includeItemsFromAllDrives") or _true("includeTeamDriveItems")
