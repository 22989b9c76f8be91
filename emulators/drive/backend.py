"""Drive state and rules: files, uploads, copies, permissions, visibility and quotas.

A file is visible to an account when it owns it, or a permission names the account's
email, or an ``anyone`` permission exists. Only the owner (or a writer) changes a file.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulators.drive import query
from emulators.drive.accounts import Accounts
from emulators.drive.blobs import BlobStore
from emulators.drive.errors import (
    DriveApiError,
    bad_request,
    download_quota_exceeded,
    insufficient_permissions,
    not_found,
    storage_quota_exceeded,
)
from emulators.drive.faults import Clock, Faults
from emulators.drive.store import Store, dumps

EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"
MAX_PAGE = 1000


def new_id() -> str:
    return "1" + secrets.token_urlsafe(24)[:32].replace("-", "x").replace("_", "y")


def _now_iso(clock: Clock) -> str:
    return datetime.fromtimestamp(clock.now(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def checked_metadata(body: Any, *, partial: bool = False) -> dict[str, Any]:
    """Validate the writable metadata (name, mimeType, appProperties, trashed)."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    if "name" in body and (not isinstance(body["name"], str) or not 0 < len(body["name"]) <= 32767):
        raise bad_request("Invalid Value: name must be a non-empty string.", "invalid")
    if "mimeType" in body and not isinstance(body["mimeType"], str):
        raise bad_request("Invalid Value: mimeType must be a string.", "invalid")
    if "trashed" in body and not isinstance(body["trashed"], bool):
        raise bad_request("Invalid Value: trashed must be a boolean.", "invalid")
    props = body.get("appProperties", {})
    if not isinstance(props, dict):
        raise bad_request("Invalid Value: appProperties must be an object.", "invalid")
    for key, value in props.items():
        allowed = isinstance(value, str) or (partial and value is None)
        if not allowed or len(key.encode()) + len((value or "").encode()) > 124:
            raise bad_request("Invalid appProperties: string values, key+value <= 124 bytes.",
                              "invalid")
    return body


class Backend:
    def __init__(self, data_dir: Path, fault_seed: int | None = None) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(data_dir / "drive.sqlite3")
        self.blobs = BlobStore(data_dir)
        self.clock = Clock()
        self.faults = Faults(fault_seed)
        self.accounts = Accounts(self.store, self.blobs, self.clock)

    def reset(self) -> None:
        self.store.reset()
        self.blobs.clear()
        self.faults.clear()
        self.clock.offset_seconds = 0.0

    # --- visibility -------------------------------------------------------------------
    def _row(self, file_id: str) -> dict[str, Any]:
        row = self.store.row("SELECT * FROM files WHERE id=?", (file_id,))
        if row is None:
            raise not_found(file_id)
        row["app_properties"] = json.loads(row["app_properties"])
        return row

    def _role(self, me: str | None, row: dict[str, Any]) -> str | None:
        if me is not None and row["owner"] == me:
            return "owner"
        perms = self.store.rows("SELECT type, role, email FROM permissions WHERE file_id=?",
                                (row["id"],))
        roles = [p["role"] for p in perms if p["type"] == "anyone" or (me and p["email"] == me)]
        return "writer" if "writer" in roles else (roles[0] if roles else None)

    def readable(self, me: str | None, file_id: str) -> dict[str, Any]:
        row = self._row(file_id)
        if self._role(me, row) is None:
            raise not_found(file_id)
        return row

    def writable(self, me: str, file_id: str) -> dict[str, Any]:
        row = self.readable(me, file_id)
        if self._role(me, row) not in ("owner", "writer"):
            raise insufficient_permissions(file_id)
        return row

    # --- files ------------------------------------------------------------------------
    def check_storage(self, owner: str, extra: int) -> None:
        account = self.accounts.get(owner)
        if self.accounts.stored_bytes(owner) + extra > account["storage_limit"]:
            raise storage_quota_exceeded()

    def insert(self, owner: str, meta: dict[str, Any], size: int, md5: str,
                file_id: str | None = None) -> dict[str, Any]:
        file_id = file_id or new_id()
        now = _now_iso(self.clock)
        self.store.execute(
            "INSERT INTO files(id, owner, name, mime_type, size, md5, app_properties,"
            " created_time, modified_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (file_id, owner, meta.get("name") or "Untitled",
             meta.get("mimeType") or "application/octet-stream", size, md5,
             dumps(meta.get("appProperties") or {}), now, now))
        return self._row(file_id)

    def create_empty(self, me: str, meta: dict[str, Any]) -> dict[str, Any]:
        checked_metadata(meta)
        row = self.insert(me, meta, 0, EMPTY_MD5)
        self.blobs.blob_path(row["id"]).touch()
        return row

    def list(self, me: str, q: str | None, page_size: int, page_token: str | None
             ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the files matching ``q`` among those owned by or shared with ``me``
        (like Drive, anyone-with-the-link files of others are readable but not listed),
        scanned in batches by ``seq``."""
        predicate = query.parse(q)
        after = _page_offset(page_token)
        found: list[dict[str, Any]] = []
        while batch := self.store.rows(
                "SELECT * FROM files WHERE seq > ? AND (owner=? OR id IN (SELECT file_id FROM"
                " permissions WHERE email=?)) ORDER BY seq LIMIT 500",
                (after, me, me)):
            for row in batch:
                row["app_properties"] = json.loads(row["app_properties"])
                if predicate(row, me):
                    found.append(row)
                if len(found) > page_size:
                    return found[:page_size], str(found[page_size - 1]["seq"])
            after = batch[-1]["seq"]
        return found, None

    def update(self, me: str, file_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        checked_metadata(patch, partial=True)
        row = self.writable(me, file_id)
        props = {**row["app_properties"], **patch.get("appProperties", {})}
        props = {k: v for k, v in props.items() if v is not None}
        self.store.execute(
            "UPDATE files SET name=?, mime_type=?, app_properties=?, trashed=?, modified_time=?"
            " WHERE id=?",
            (patch.get("name", row["name"]), patch.get("mimeType", row["mime_type"]), dumps(props),
             int(patch.get("trashed", bool(row["trashed"]))), _now_iso(self.clock), file_id))
        return self._row(file_id)

    def delete(self, me: str, file_id: str) -> None:
        row = self.readable(me, file_id)
        if self._role(me, row) != "owner":
            raise insufficient_permissions(file_id)
        self.store.transaction([("DELETE FROM permissions WHERE file_id=?", (file_id,)),
                                ("DELETE FROM files WHERE id=?", (file_id,))])
        self.blobs.delete(file_id)

    def copy(self, me: str, file_id: str, meta: dict[str, Any]) -> dict[str, Any]:
        """Server-side copy into the caller's drive; needs read access to the source."""
        checked_metadata(meta)
        source = self.readable(me, file_id)
        self.check_storage(me, source["size"])
        new = new_id()
        self.blobs.copy(file_id, new)
        merged = {"name": meta.get("name") or f"Copy of {source['name']}",
                  "mimeType": meta.get("mimeType") or source["mime_type"],
                  "appProperties": meta.get("appProperties", source["app_properties"])}
        row = self.insert(me, merged, source["size"], source["md5"], new)
        self.store.execute("UPDATE accounts SET copied_bytes = copied_bytes + ? WHERE email=?",
                           (source["size"], me))
        return row

    # --- permissions ------------------------------------------------------------------
    def add_permission(self, me: str, file_id: str, body: Any) -> dict[str, Any]:
        self.writable(me, file_id)
        if not isinstance(body, dict) or body.get("type") not in ("user", "anyone"):
            raise bad_request("Invalid permission: type must be 'user' or 'anyone'.", "invalid")
        if body.get("role") not in ("reader", "commenter", "writer"):
            raise bad_request("Invalid permission: role must be reader, commenter or writer.",
                              "invalid")
        email = body.get("emailAddress") if body["type"] == "user" else None
        if body["type"] == "user" and not isinstance(email, str):
            raise bad_request("A user permission needs an emailAddress.", "required")
        perm_id = "anyoneWithLink" if email is None else _stable_id(email)
        self.store.execute("INSERT OR REPLACE INTO permissions(id, file_id, type, role, email)"
                           " VALUES (?, ?, ?, ?, ?)", (perm_id, file_id, body["type"],
                                                      body["role"], email))
        return permission_resource({"id": perm_id, "type": body["type"], "role": body["role"],
                                    "email": email})

    def permissions(self, me: str, file_id: str) -> list[dict[str, Any]]:
        row = self.readable(me, file_id)
        owner = {"id": f"owner-{row['owner']}", "type": "user", "role": "owner",
                 "email": row["owner"]}
        perms = self.store.rows("SELECT * FROM permissions WHERE file_id=? ORDER BY id", (file_id,))
        return [permission_resource(p) for p in [owner, *perms]]

    def delete_permission(self, me: str, file_id: str, perm_id: str) -> None:
        self.writable(me, file_id)
        if not self.store.execute("DELETE FROM permissions WHERE file_id=? AND id=?",
                                  (file_id, perm_id)):
            raise DriveApiError(404, "notFound", f"Permission not found: {perm_id}.")

    # --- downloads --------------------------------------------------------------------
    def charge_download(self, row: dict[str, Any], nbytes: int) -> None:
        """Meter a download against the OWNER's daily quota (403 downloadQuotaExceeded)."""
        owner = self.accounts.get(row["owner"])
        if not self.store.charge_download(row["owner"], self.clock.utc_day(), nbytes,
                                          owner["daily_download_limit"]):
            raise download_quota_exceeded()


def permission_resource(perm: dict[str, Any]) -> dict[str, Any]:
    resource = {"kind": "drive#permission", "id": perm["id"], "type": perm["type"],
                "role": perm["role"]}
    if perm.get("email"):
        resource["emailAddress"] = perm["email"]
    return resource


def _stable_id(email: str) -> str:
    """Same id for the same grantee in every process (``hash()`` is salted per process)."""
    return hashlib.sha1(email.encode()).hexdigest()[:20]  # noqa: S324 - an id, not security


def _page_offset(token: str | None) -> int:
    if not token:
        return 0
    if not token.isdigit():
        raise bad_request("Invalid Value: pageToken", "invalid")
    return int(token)
