"""A thin client of the emulator's admin API (``/_emulator/``) for tests, benches and the
demo: ``DriveEmulator`` (server.py) has these methods; ``DriveAdmin(url)`` gives them for an
emulator started elsewhere (e.g. the local stack's)."""

from __future__ import annotations

from typing import Any

import requests

TIMEOUT = 30


class DriveAdminApi:
    """Admin calls; subclasses provide ``url`` (the emulator root, ending with a slash)."""

    url: str

    def _admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        resp = requests.request(method, f"{self.url}_emulator/{path}", json=body,
                                timeout=TIMEOUT)
        resp.raise_for_status()
        return resp.json() if resp.content else None

    # --- accounts ---------------------------------------------------------------------
    def create_account(self, legacy: bool = False, **fields: object) -> dict:
        """A service account; answer its JSON key. As on Google today it is created after
        the 15 April 2025 cutoff and owns nothing, unless ``legacy=True`` (created before:
        it owns files in its own 15 GiB drive)."""
        return self._admin("POST", "accounts", {**fields, "legacy": legacy})

    def create_oauth_user(self, workspace: bool = False, **fields: object) -> dict:
        """A personal Google account (``workspace=True``: a Google Workspace user, the kind
        delegation can act as); answer its ``authorized_user`` credentials. Fields:
        ``email``, ``storage_limit_bytes``, ``unlimited_storage``, ``oauth_app_testing``
        (refresh token expires after 7 days), the daily limits."""
        kind = "workspace_user" if workspace else "user"
        return self._admin("POST", "accounts", {**fields, "kind": kind})

    def revoke_refresh_tokens(self, email: str) -> int:
        """Revoke the account's refresh tokens: the next refresh gets ``invalid_grant``."""
        return self._admin("POST", f"accounts/{email}/revoke")["revoked"]

    def account_usage(self, email: str) -> dict:
        return self._admin("GET", f"accounts/{email}")

    def update_account(self, email: str, **fields: object) -> dict:
        """PATCH limits: ``storage_limit_bytes``, ``unlimited_storage``,
        ``daily_download_limit_bytes``, ``daily_upload_limit_bytes``, ``extra_usage_bytes``,
        ``legacy``."""
        return self._admin("PATCH", f"accounts/{email}", fields)

    def set_storage_limit(self, email: str, limit_bytes: int | None) -> dict:
        """The account's storage limit (None: unlimited, about.get then has no ``limit``)."""
        if limit_bytes is None:
            return self.update_account(email, unlimited_storage=True)
        return self.update_account(email, storage_limit_bytes=limit_bytes,
                                   unlimited_storage=False)

    def set_daily_upload_limit(self, email: str, limit_bytes: int) -> dict:
        """The per-user uploads + copies cap per UTC day (Google: 750 GB)."""
        return self.update_account(email, daily_upload_limit_bytes=limit_bytes)

    def fill_storage(self, email: str, nbytes: int | None = None) -> dict:
        """Use ``nbytes`` more storage behind fileserver's back (None: exactly full)."""
        return self._admin("POST", f"accounts/{email}/fill",
                           {} if nbytes is None else {"bytes": nbytes})

    def suspend_account(self, email: str, keep_public_links: bool = False) -> dict:
        """Suspend: tokens stop working, token exchanges fail, and (unless
        ``keep_public_links``) its files disappear for everyone, public links included."""
        return self._admin("PUT", f"accounts/{email}/suspension",
                           {"suspended": True, "keep_public_links": keep_public_links})

    def unsuspend_account(self, email: str) -> dict:
        return self._admin("PUT", f"accounts/{email}/suspension", {"suspended": False})

    # --- delegation, shared drives, files --------------------------------------------
    def grant_delegation(self, service_account: dict | str,
                         scopes: list[str] | None = None) -> dict:
        """Domain-wide delegation for a service account (its key, e-mail or client id)."""
        if isinstance(service_account, dict):
            body: dict[str, Any] = {"client_id": service_account["client_id"]}
        elif "@" in service_account:
            body = {"service_account": service_account}
        else:
            body = {"client_id": service_account}
        if scopes is not None:
            body["scopes"] = scopes
        return self._admin("POST", "delegations", body)

    def revoke_delegation(self, client_id: str) -> None:
        self._admin("DELETE", f"delegations/{client_id}")

    def create_shared_drive(self, members: dict[str, str], name: str = "fileserver",
                            item_limit: int | None = None) -> dict:
        """A shared drive with ``{email: role}`` members (organizer, fileOrganizer, writer,
        commenter, reader); answer ``{"id", "name", "members", "items", "item_limit", ...}``."""
        body: dict[str, Any] = {"name": name, "members": members}
        if item_limit is not None:
            body["item_limit"] = item_limit
        return self._admin("POST", "drives", body)

    def shared_drive(self, drive_id: str) -> dict:
        return self._admin("GET", f"drives/{drive_id}")

    def add_drive_member(self, drive_id: str, email: str, role: str) -> dict:
        return self._admin("PUT", f"drives/{drive_id}/members/{email}", {"role": role})

    def delete_file(self, file_id: str) -> None:
        """Delete a file whoever owns it, behind fileserver's back."""
        self._admin("DELETE", f"files/{file_id}")

    def set_faults(self, email: str, rules: list[dict]) -> list[dict]:
        return self._admin("PUT", f"accounts/{email}/faults", {"rules": rules})["rules"]

    def set_clock(self, offset_seconds: float) -> dict:
        return self._admin("PUT", "clock", {"offset_seconds": offset_seconds})


class DriveAdmin(DriveAdminApi):
    """The admin client for an emulator at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/") + "/"
