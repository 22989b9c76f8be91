"""Shared drives: the drive itself, its members and roles, and its item limit.

Files in a shared drive belong to the drive (no ``owners``), count against no account's
storage and are visible to the drive's members; calls on them need
``supportsAllDrives=true`` (see backend.py). A drive holds at most 400,000 items (Google's
documented limit; an admin setting per drive so tests can make it small).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

from emulators.drive.accounts import EMAIL
from emulators.drive.errors import DriveApiError, bad_request, drive_not_found
from emulators.drive.faults import Clock
from emulators.drive.store import Store

ROLES = ("organizer", "fileOrganizer", "writer", "commenter", "reader")
WRITERS = ("organizer", "fileOrganizer", "writer")
DELETERS = ("organizer", "fileOrganizer")
ITEM_LIMIT = 400_000


def drive_resource(row: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "drive#drive", "id": row["id"], "name": row["name"],
            "createdTime": row["created_time"], "hidden": False}


def member_permission(member: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "drive#permission", "id": member_permission_id(member["email"]),
            "type": "user", "role": member["role"], "emailAddress": member["email"]}


def member_permission_id(email: str) -> str:
    return hashlib.sha1(email.encode()).hexdigest()[:20]  # noqa: S324 - an id, not security


class Drives:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock

    def exists(self, drive_id: str) -> bool:
        return self.store.row("SELECT id FROM drives WHERE id=?", (drive_id,)) is not None

    def role(self, me: str | None, drive_id: str) -> str | None:
        if me is None:
            return None
        row = self.store.row("SELECT role FROM drive_members WHERE drive_id=? AND email=?",
                             (drive_id, me))
        return row["role"] if row else None

    def create(self, creator: str | None, request_id: str | None, name: Any,
               item_limit: int = ITEM_LIMIT) -> dict[str, Any]:
        """``drives.create``: idempotent per (user, requestId): a repeat answers 409."""
        if not request_id:
            raise DriveApiError(400, "required", "Required parameter: requestId",
                                location="requestId")
        if not isinstance(name, str) or not name.strip():
            raise bad_request("Invalid Value: the shared drive needs a name.", "invalid")
        key = f"{creator or ''}\n{request_id}"
        if self.store.row("SELECT id FROM drives WHERE request_key=?", (key,)):
            raise DriveApiError(409, "duplicate", "A shared drive with this requestId already "
                                "exists.")
        drive_id = "0A" + secrets.token_urlsafe(14).replace("-", "x").replace("_", "y") + "Uk9PVA"
        created = datetime.fromtimestamp(self.clock.now(), UTC).strftime(
            "%Y-%m-%dT%H:%M:%S.000Z")
        statements = [("INSERT INTO drives(id, name, request_key, created_time, item_limit)"
                       " VALUES (?, ?, ?, ?, ?)", (drive_id, name, key, created, item_limit))]
        if creator is not None:
            statements.append(("INSERT INTO drive_members(drive_id, email, role)"
                               " VALUES (?, ?, 'organizer')", (drive_id, creator)))
        self.store.transaction(statements)
        return self.row(drive_id)

    def row(self, drive_id: str) -> dict[str, Any]:
        row = self.store.row("SELECT * FROM drives WHERE id=?", (drive_id,))
        if row is None:
            raise drive_not_found(drive_id)
        return row

    def get(self, me: str, drive_id: str) -> dict[str, Any]:
        """A drive its caller is a member of (others get 404, as on Google)."""
        if self.role(me, drive_id) is None:
            raise drive_not_found(drive_id)
        return self.row(drive_id)

    def list(self, me: str) -> list[dict[str, Any]]:
        return self.store.rows("SELECT d.* FROM drives d JOIN drive_members m ON m.drive_id=d.id"
                               " WHERE m.email=? ORDER BY d.created_time, d.id", (me,))

    def members(self, drive_id: str) -> list[dict[str, Any]]:
        return self.store.rows("SELECT email, role FROM drive_members WHERE drive_id=?"
                               " ORDER BY email", (drive_id,))

    def set_member(self, drive_id: str, email: Any, role: Any) -> dict[str, Any]:
        if not isinstance(email, str) or not EMAIL.fullmatch(email):
            raise bad_request("Invalid permission: emailAddress must be an e-mail address.",
                              "invalid")
        if role not in ROLES:
            raise bad_request(f"Invalid permission: role must be one of {', '.join(ROLES)}.",
                              "invalid")
        self.store.execute("INSERT OR REPLACE INTO drive_members(drive_id, email, role)"
                           " VALUES (?, ?, ?)", (drive_id, email, role))
        return member_permission({"email": email, "role": role})

    def remove_member(self, drive_id: str, perm_id: str) -> None:
        for member in self.members(drive_id):
            if member_permission_id(member["email"]) == perm_id:
                self.store.execute("DELETE FROM drive_members WHERE drive_id=? AND email=?",
                                   (drive_id, member["email"]))
                return
        raise DriveApiError(404, "notFound", f"Permission not found: {perm_id}.")

    def check_room(self, drive_id: str) -> None:
        """403 ``teamDriveFileLimitExceeded`` once the drive holds its item limit."""
        limit = self.row(drive_id)["item_limit"]
        count = self.store.row("SELECT COUNT(*) AS n FROM files WHERE drive_id=?", (drive_id,))
        if count and count["n"] >= limit:
            raise DriveApiError(403, "teamDriveFileLimitExceeded",
                                "The file limit for this shared drive has been exceeded.")

    def admin_create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Admin: a drive with the given members (``{"email": role}``), no creator."""
        members = body.get("members", {})
        if not isinstance(members, dict):
            raise bad_request('members must be an object {"email": "role"}')
        limit = body.get("item_limit", ITEM_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise bad_request("item_limit must be a non-negative integer")
        for email, role in members.items():
            if role not in ROLES or not EMAIL.fullmatch(email):
                raise bad_request(f"members maps e-mail addresses to {', '.join(ROLES)}")
        drive = self.create(None, secrets.token_hex(8), body.get("name") or "fileserver", limit)
        for email, role in members.items():
            self.set_member(drive["id"], email, role)
        return self.describe(drive["id"])

    def describe(self, drive_id: str) -> dict[str, Any]:
        """Admin view: the drive resource plus members, item count and limit."""
        row = self.row(drive_id)
        count = self.store.row("SELECT COUNT(*) AS n FROM files WHERE drive_id=?", (drive_id,))
        return {**drive_resource(row), "members": {m["email"]: m["role"]
                                                   for m in self.members(drive_id)},
                "items": count["n"] if count else 0, "item_limit": row["item_limit"]}
