"""Drive state and rules: files, uploads, copies, permissions, visibility and quotas.

A My Drive file is visible to an account when it owns it, or a permission names the
account's email, or an ``anyone`` permission exists; a shared-drive file to the drive's
members (only with ``supportsAllDrives=true``) and through its own permissions. Only the
owner (or a writer) changes a file. Files of a suspended owner are hidden from everyone
unless the suspension keeps public links. Storage: an account without storage (a service
account after the cutoff) owns nothing; uploads + copies are capped per UTC day.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulators.drive import query
from emulators.drive.accounts import UNLIMITED, Accounts
from emulators.drive.blobs import BlobStore
from emulators.drive.drives import DELETERS, WRITERS, Drives, member_permission
from emulators.drive.errors import (
    DriveApiError,
    bad_request,
    download_quota_exceeded,
    insufficient_permissions,
    not_found,
    service_account_no_quota,
    storage_quota_exceeded,
    user_rate_limit_exceeded,
)
from emulators.drive.faults import Clock, Faults
from emulators.drive.store import Store, dumps

EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"
# SQL: not a My Drive file of a suspended owner whose links are not kept (see _owner_hidden)
_VISIBLE_OWNER = ("(drive_id IS NOT NULL OR owner NOT IN (SELECT email FROM accounts"
                  " WHERE suspended=1 AND suspended_links_kept=0))")
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
    parents = body.get("parents")
    if parents is not None and (not isinstance(parents, list) or len(parents) > 1
                                or not all(isinstance(p, str) for p in parents)):
        raise bad_request("Invalid Value: parents must be a list of one folder id.", "invalid")
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
        self.drives = Drives(self.store, self.clock)

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
        if row["drive_id"]:
            member = self.drives.role(me, row["drive_id"])
            if member is not None:
                return member
        elif me is not None and row["owner"] == me:
            return "owner"
        perms = self.store.rows("SELECT type, role, email FROM permissions WHERE file_id=?",
                                (row["id"],))
        roles = [p["role"] for p in perms if p["type"] == "anyone" or (me and p["email"] == me)]
        return "writer" if "writer" in roles else (roles[0] if roles else None)

    def _owner_hidden(self, row: dict[str, Any]) -> bool:
        """A My Drive file whose owner is suspended (links not kept) is gone for everyone."""
        if row["drive_id"]:
            return False
        owner = self.store.row("SELECT suspended, suspended_links_kept FROM accounts"
                               " WHERE email=?", (row["owner"],))
        return bool(owner and owner["suspended"] and not owner["suspended_links_kept"])

    def readable(self, me: str | None, file_id: str, all_drives: bool = False
                 ) -> dict[str, Any]:
        """The file if ``me`` (None: anyone with the link) may read it; shared-drive files
        need ``supportsAllDrives=true`` from an API caller, else 404 as on Google."""
        row = self._row(file_id)
        if row["drive_id"] and me is not None and not all_drives:
            raise not_found(file_id)
        if self._role(me, row) is None or self._owner_hidden(row):
            raise not_found(file_id)
        return row

    def writable(self, me: str, file_id: str, all_drives: bool = False) -> dict[str, Any]:
        row = self.readable(me, file_id, all_drives)
        if self._role(me, row) not in ("owner", *WRITERS):
            raise insufficient_permissions(file_id)
        return row

    # --- storage and the daily upload cap -------------------------------------------
    def check_storage(self, owner: str, extra: int) -> None:
        """403 unless ``owner`` can own ``extra`` more bytes in its My Drive."""
        account = self.accounts.get(owner)
        if not account["owns_files"]:
            raise service_account_no_quota()
        limit = account["storage_limit"]
        if limit != UNLIMITED and self.accounts.usage_bytes(owner) + extra > limit:
            raise storage_quota_exceeded()

    def check_upload_cap(self, me: str) -> None:
        """Once today's uploads + copies reach the cap, nothing more starts (the transfer
        that crossed it completes, as Google documents for its 750 GB/day)."""
        account = self.accounts.get(me)
        if self.accounts.uploaded_today(me) >= account["daily_upload_limit"]:
            raise user_rate_limit_exceeded()

    def charge_upload(self, me: str, nbytes: int) -> None:
        self.store.charge_upload(me, self.clock.utc_day(), nbytes)

    def target_drive(self, me: str, meta: dict[str, Any], all_drives: bool,
                     inherit: str | None = None) -> str | None:
        """The shared drive a new file goes to (None: the caller's My Drive), from
        ``parents`` or, for a copy without parents, the source's drive if ``me`` can write."""
        parents = meta.get("parents")
        if parents is None and inherit and self.drives.role(me, inherit) in WRITERS:
            parents = [inherit]
        if not parents or parents[0] == "root":
            return None
        parent = parents[0]
        drive_id = parent if self.drives.exists(parent) else \
            self.readable(me, parent, all_drives)["drive_id"]
        if drive_id is None:
            return None
        role = self.drives.role(me, drive_id)
        if not all_drives or role is None:
            raise not_found(parent)
        if role not in WRITERS:
            raise insufficient_permissions(parent)
        self.drives.check_room(drive_id)
        return drive_id

    def check_room(self, me: str, drive_id: str | None, size: int) -> None:
        """Where the bytes land: the drive's item limit, or the owner's storage."""
        if drive_id is None:
            self.check_storage(me, size)
        else:
            self.drives.check_room(drive_id)

    # --- files ------------------------------------------------------------------------
    def insert(self, owner: str, meta: dict[str, Any], size: int, md5: str,
               file_id: str | None = None, drive_id: str | None = None) -> dict[str, Any]:
        file_id = file_id or new_id()
        now = _now_iso(self.clock)
        self.store.execute(
            "INSERT INTO files(id, owner, name, mime_type, size, md5, app_properties,"
            " created_time, modified_time, drive_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (file_id, owner, meta.get("name") or "Untitled",
             meta.get("mimeType") or "application/octet-stream", size, md5,
             dumps(meta.get("appProperties") or {}), now, now, drive_id))
        return self._row(file_id)

    def create_empty(self, me: str, meta: dict[str, Any], all_drives: bool = False
                     ) -> dict[str, Any]:
        checked_metadata(meta)
        drive_id = self.target_drive(me, meta, all_drives)
        self.check_room(me, drive_id, 0)
        row = self.insert(me, meta, 0, EMPTY_MD5, drive_id=drive_id)
        self.blobs.blob_path(row["id"]).touch()
        return row

    def list(self, me: str, q: str | None, page_size: int, page_token: str | None,
             corpus: ListCorpus | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the files matching ``q`` in ``corpus`` (default: owned by or shared
        with ``me``; like Drive, anyone-with-the-link files of others are readable but not
        listed), scanned in batches by ``seq``."""
        predicate = query.parse(q)
        where, params = (corpus or ListCorpus()).where(self, me)
        after = _page_offset(page_token)
        found: list[dict[str, Any]] = []
        while batch := self.store.rows(
                f"SELECT * FROM files WHERE seq > ? AND ({where}) AND {_VISIBLE_OWNER}"  # noqa: S608
                " ORDER BY seq LIMIT 500", (after, *params)):
            for row in batch:
                row["app_properties"] = json.loads(row["app_properties"])
                if predicate(row, me):
                    found.append(row)
                if len(found) > page_size:
                    return found[:page_size], str(found[page_size - 1]["seq"])
            after = batch[-1]["seq"]
        return found, None

    def update(self, me: str, file_id: str, patch: dict[str, Any], all_drives: bool = False
               ) -> dict[str, Any]:
        checked_metadata(patch, partial=True)
        row = self.writable(me, file_id, all_drives)
        props = {**row["app_properties"], **patch.get("appProperties", {})}
        props = {k: v for k, v in props.items() if v is not None}
        self.store.execute(
            "UPDATE files SET name=?, mime_type=?, app_properties=?, trashed=?, modified_time=?"
            " WHERE id=?",
            (patch.get("name", row["name"]), patch.get("mimeType", row["mime_type"]), dumps(props),
             int(patch.get("trashed", bool(row["trashed"]))), _now_iso(self.clock), file_id))
        return self._row(file_id)

    def delete(self, me: str, file_id: str, all_drives: bool = False) -> None:
        """The owner deletes a My Drive file; organizers and file organizers a drive's."""
        row = self.readable(me, file_id, all_drives)
        allowed = DELETERS if row["drive_id"] else ("owner",)
        if self._role(me, row) not in allowed:
            raise insufficient_permissions(file_id)
        self.remove(file_id)

    def remove(self, file_id: str) -> None:
        """Delete a file whoever owns it (also the admin's "behind fileserver's back")."""
        self._row(file_id)
        self.store.transaction([("DELETE FROM permissions WHERE file_id=?", (file_id,)),
                                ("DELETE FROM files WHERE id=?", (file_id,))])
        self.blobs.delete(file_id)

    def copy(self, me: str, file_id: str, meta: dict[str, Any], all_drives: bool = False
             ) -> dict[str, Any]:
        """Server-side copy into the caller's drive (or a shared drive it writes to); needs
        read access to the source; counts against the caller's daily upload cap."""
        checked_metadata(meta)
        source = self.readable(me, file_id, all_drives)
        drive_id = self.target_drive(me, meta, all_drives, inherit=source["drive_id"])
        self.check_room(me, drive_id, source["size"])
        self.check_upload_cap(me)
        new = new_id()
        self.blobs.copy(file_id, new)
        merged = {"name": meta.get("name") or f"Copy of {source['name']}",
                  "mimeType": meta.get("mimeType") or source["mime_type"],
                  "appProperties": meta.get("appProperties", source["app_properties"])}
        row = self.insert(me, merged, source["size"], source["md5"], new, drive_id)
        self.store.execute("UPDATE accounts SET copied_bytes = copied_bytes + ? WHERE email=?",
                           (source["size"], me))
        self.charge_upload(me, source["size"])
        return row

    # --- permissions ------------------------------------------------------------------
    def add_permission(self, me: str, file_id: str, body: Any, all_drives: bool = False
                       ) -> dict[str, Any]:
        """On a file: user/anyone reader, commenter or writer. On a shared drive's id
        (``supportsAllDrives=true``, organizers only): a member with a drive role."""
        if self.drives.exists(file_id):
            self._organizer(me, file_id, all_drives)
            if not isinstance(body, dict) or body.get("type") != "user" \
                    or not isinstance(body.get("emailAddress"), str):
                raise bad_request("A shared drive member is a user with an emailAddress.",
                                  "invalid")
            return self.drives.set_member(file_id, body["emailAddress"], body.get("role"))
        self.writable(me, file_id, all_drives)
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

    def _organizer(self, me: str, drive_id: str, all_drives: bool) -> None:
        role = self.drives.role(me, drive_id)
        if not all_drives or role is None:
            raise not_found(drive_id)
        if role != "organizer":
            raise insufficient_permissions(drive_id)

    def permissions(self, me: str, file_id: str, all_drives: bool = False
                    ) -> list[dict[str, Any]]:
        if self.drives.exists(file_id):
            if not all_drives or self.drives.role(me, file_id) is None:
                raise not_found(file_id)
            return [member_permission(m) for m in self.drives.members(file_id)]
        row = self.readable(me, file_id, all_drives)
        inherited = ([member_permission(m) for m in self.drives.members(row["drive_id"])]
                     if row["drive_id"] else
                     [permission_resource({"id": f"owner-{row['owner']}", "type": "user",
                                           "role": "owner", "email": row["owner"]})])
        perms = self.store.rows("SELECT * FROM permissions WHERE file_id=? ORDER BY id", (file_id,))
        return inherited + [permission_resource(p) for p in perms]

    def delete_permission(self, me: str, file_id: str, perm_id: str, all_drives: bool = False
                          ) -> None:
        if self.drives.exists(file_id):
            self._organizer(me, file_id, all_drives)
            self.drives.remove_member(file_id, perm_id)
            return
        self.writable(me, file_id, all_drives)
        if not self.store.execute("DELETE FROM permissions WHERE file_id=? AND id=?",
                                  (file_id, perm_id)):
            raise DriveApiError(404, "notFound", f"Permission not found: {perm_id}.")

    # --- about ------------------------------------------------------------------------
    def about(self, me: str) -> dict[str, Any]:
        """``about.get``: the user and the storage quota (no ``limit`` when unlimited)."""
        account = self.accounts.get(me)
        trash = self.store.row("SELECT COALESCE(SUM(size), 0) AS n FROM files WHERE owner=?"
                               " AND drive_id IS NULL AND trashed=1", (me,))
        quota = {"usage": str(self.accounts.usage_bytes(me)),
                 "usageInDrive": str(self.accounts.stored_bytes(me)),
                 "usageInDriveTrash": str(trash["n"] if trash else 0)}
        if account["storage_limit"] != UNLIMITED:
            quota = {"limit": str(account["storage_limit"]), **quota}
        return {"kind": "drive#about",
                "user": {"kind": "drive#user", "displayName": account["display_name"],
                         "me": True, "permissionId": _stable_id(me), "emailAddress": me},
                "storageQuota": quota}

    # --- downloads --------------------------------------------------------------------
    def charge_download(self, row: dict[str, Any], nbytes: int) -> None:
        """Meter a download against the OWNER's daily quota (403 downloadQuotaExceeded);
        a shared-drive file is metered against the account that put it there."""
        owner = self.store.row("SELECT daily_download_limit FROM accounts WHERE email=?",
                               (row["owner"],))
        if owner is None:
            return
        if not self.store.charge_download(row["owner"], self.clock.utc_day(), nbytes,
                                          owner["daily_download_limit"]):
            raise download_quota_exceeded()


@dataclass(frozen=True)
class ListCorpus:
    """``files.list``'s ``corpora`` / ``driveId`` / ``includeItemsFromAllDrives`` +
    ``supportsAllDrives`` (``all_drives``: both true)."""

    corpora: str = "user"
    drive_id: str | None = None
    all_drives: bool = False

    def where(self, backend: Backend, me: str) -> tuple[str, tuple[Any, ...]]:
        if self.corpora not in ("user", "drive", "allDrives", "domain"):
            raise bad_request(f"Invalid Value: corpora {self.corpora}", "invalid")
        if (self.corpora == "drive") != (self.drive_id is not None):
            raise bad_request("The driveId parameter must be specified if and only if corpora "
                              "is set to drive.", "invalid")
        mine = ("(drive_id IS NULL AND (owner=? OR id IN (SELECT file_id FROM permissions"
                " WHERE email=?)))")
        if self.corpora == "drive":
            backend.drives.get(me, str(self.drive_id))
            return ("drive_id=?", (self.drive_id,)) if self.all_drives else ("0", ())
        if self.corpora == "allDrives" and self.all_drives:
            return (f"{mine} OR drive_id IN (SELECT drive_id FROM drive_members WHERE email=?)",
                    (me, me, me))
        return mine, (me, me)


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
