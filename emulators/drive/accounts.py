"""Accounts, their credentials, storage and usage figures.

Three kinds, as on Google:
- ``service_account``: answers a service-account JSON key. By default it is created "after
  the cutoff" (15 April 2025): it owns nothing (no storage quota); ``legacy: true`` makes one
  created before, which owns files in its own 15 GiB drive.
- ``user``: a personal Google account reached through OAuth; answers ``authorized_user``
  credentials (client id + secret + refresh token).
- ``workspace_user``: a Google Workspace user; ``authorized_user`` credentials too, and the
  only kind a service account can act as through domain-wide delegation.

A storage limit below zero is stored for "unlimited".
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from emulators.drive import auth
from emulators.drive.blobs import BlobStore
from emulators.drive.errors import DriveApiError, bad_request
from emulators.drive.faults import Clock
from emulators.drive.store import Store
from emulators.drive.tokens import Tokens

DOMAIN = "fileserver-emulator.iam.gserviceaccount.com"
USER_DOMAIN = "gmail.com"
WORKSPACE_DOMAIN = "workspace-emulator.example.com"
KINDS = ("service_account", "user", "workspace_user")
DEFAULT_STORAGE_LIMIT = 15 * 1024**3
DEFAULT_DAILY_DOWNLOAD_LIMIT = 100 * 10**9
DEFAULT_DAILY_UPLOAD_LIMIT = 750 * 10**9
UNLIMITED = -1
EMAIL = re.compile(r"[a-z0-9][a-z0-9.-]{0,62}@[a-z0-9.-]+\.[a-z]{2,}")
LIMITS = {  # admin field -> column
    "storage_limit_bytes": "storage_limit",
    "daily_download_limit_bytes": "daily_download_limit",
    "daily_upload_limit_bytes": "daily_upload_limit",
    "extra_usage_bytes": "extra_usage",
}


def account_not_found(email: str) -> DriveApiError:
    return DriveApiError(404, "notFound", f"Account not found: {email}.")


def _limit(value: Any, name: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise bad_request(f"{name} must be a non-negative integer")
    return value


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise bad_request(f"{name} must be a boolean")
    return value


def _new_email(kind: str) -> str:
    prefix, domain = {"service_account": ("sa", DOMAIN), "user": ("user", USER_DOMAIN),
                      "workspace_user": ("ws", WORKSPACE_DOMAIN)}[kind]
    return f"{prefix}-{secrets.token_hex(4)}@{domain}"


class Accounts:
    def __init__(self, store: Store, blobs: BlobStore, clock: Clock) -> None:
        self.store, self.blobs, self.clock = store, blobs, clock
        self.tokens = Tokens(store, clock)

    def create(self, body: dict[str, Any], token_uri: str) -> dict[str, Any]:
        """Create an account; answer its credentials (the only time they are shown)."""
        kind = body.get("kind", "service_account")
        if kind not in KINDS:
            raise bad_request(f"kind must be one of {', '.join(KINDS)}")
        email = body.get("email") or _new_email(kind)
        if not isinstance(email, str) or not EMAIL.fullmatch(email):
            raise bad_request("email must be a lower-case e-mail address")
        owns = kind != "service_account" or _flag(body, "legacy", False)
        limits = self._create_limits(body, owns)
        testing_app = _flag(body, "oauth_app_testing", False)
        if self.store.row("SELECT email FROM accounts WHERE email=?", (email,)):
            raise DriveApiError(409, "duplicate", f"Account already exists: {email}.")
        private_pem, public_pem = auth.new_key_pair()
        key_id = secrets.token_hex(20)
        self.store.execute(
            "INSERT INTO accounts(email, display_name, public_key_pem, private_key_id,"
            " storage_limit, daily_download_limit, daily_upload_limit, kind, owns_files,"
            " client_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (email, email.split("@")[0], public_pem, key_id, *limits, kind, int(owns),
             auth.client_id_for(email)))
        if kind == "service_account":
            return auth.service_account_key(email, private_pem, key_id, token_uri)
        issued = self.tokens.new_refresh_token(email, testing_app)
        return auth.authorized_user_info(email, issued, token_uri)

    @staticmethod
    def _create_limits(body: dict[str, Any], owns: bool) -> tuple[int, int, int]:
        storage = _limit(body.get("storage_limit_bytes"), "storage_limit_bytes",
                         DEFAULT_STORAGE_LIMIT if owns else 0)
        if _flag(body, "unlimited_storage", False):
            storage = UNLIMITED
        return (storage,
                _limit(body.get("daily_download_limit_bytes"), "daily_download_limit_bytes",
                       DEFAULT_DAILY_DOWNLOAD_LIMIT),
                _limit(body.get("daily_upload_limit_bytes"), "daily_upload_limit_bytes",
                       DEFAULT_DAILY_UPLOAD_LIMIT))

    def get(self, email: str) -> dict[str, Any]:
        row = self.store.row("SELECT * FROM accounts WHERE email=?", (email,))
        if row is None:
            raise account_not_found(email)
        return row

    def list_emails(self) -> list[str]:
        return [r["email"] for r in self.store.rows("SELECT email FROM accounts ORDER BY email")]

    def update(self, email: str, body: dict[str, Any]) -> dict[str, Any]:
        """Change limits, the extra (non-Drive) usage, ``unlimited_storage`` or ``legacy``."""
        row = self.get(email)
        values = {column: _limit(body.get(name), name, row[column])
                  for name, column in LIMITS.items()}
        was_unlimited = row["storage_limit"] == UNLIMITED and "storage_limit_bytes" not in body
        if _flag(body, "unlimited_storage", was_unlimited):
            values["storage_limit"] = UNLIMITED
        elif values["storage_limit"] == UNLIMITED:
            values["storage_limit"] = DEFAULT_STORAGE_LIMIT
        owns = row["kind"] != "service_account" or _flag(body, "legacy", bool(row["owns_files"]))
        self.store.execute(
            "UPDATE accounts SET storage_limit=?, daily_download_limit=?, daily_upload_limit=?,"
            " extra_usage=?, owns_files=? WHERE email=?",
            (*values.values(), int(owns), email))
        return self.usage(email)

    def fill(self, email: str, nbytes: Any) -> dict[str, Any]:
        """Use storage behind fileserver's back (like Gmail or Photos would): ``nbytes`` more,
        or (None) exactly what is left, so the account is full."""
        row = self.get(email)
        if nbytes is None:
            if row["storage_limit"] == UNLIMITED:
                raise bad_request("an account with unlimited storage cannot be filled")
            nbytes = max(row["storage_limit"] - self.usage_bytes(email), 0)
        nbytes = _limit(nbytes, "bytes", 0)
        self.store.execute("UPDATE accounts SET extra_usage = extra_usage + ? WHERE email=?",
                           (nbytes, email))
        return self.usage(email)

    def suspend(self, email: str, suspended: bool, keep_public_links: bool) -> dict[str, Any]:
        """Suspend (or restore) an account: its tokens stop working at once."""
        self.get(email)
        self.store.execute("UPDATE accounts SET suspended=?, suspended_links_kept=?"
                           " WHERE email=?", (int(suspended), int(keep_public_links), email))
        if suspended:
            self.tokens.drop_access_tokens(email)
        return self.usage(email)

    def delete(self, email: str) -> None:
        self.get(email)
        owned = [r["id"] for r in self.store.rows(
            "SELECT id FROM files WHERE owner=? AND drive_id IS NULL", (email,))]
        mine = "SELECT id FROM files WHERE owner=? AND drive_id IS NULL"
        self.store.transaction([
            (f"DELETE FROM permissions WHERE file_id IN ({mine})", (email,)),  # noqa: S608
            ("DELETE FROM permissions WHERE email=?", (email,)),
            ("DELETE FROM files WHERE owner=? AND drive_id IS NULL", (email,)),
            ("DELETE FROM tokens WHERE email=?", (email,)),
            ("DELETE FROM refresh_tokens WHERE email=?", (email,)),
            ("DELETE FROM uploads WHERE owner=?", (email,)),
            ("DELETE FROM downloads WHERE email=?", (email,)),
            ("DELETE FROM upload_days WHERE email=?", (email,)),
            ("DELETE FROM drive_members WHERE email=?", (email,)),
            ("DELETE FROM accounts WHERE email=?", (email,)),
        ])
        for file_id in owned:
            self.blobs.delete(file_id)

    def stored_bytes(self, email: str) -> int:
        """Bytes of the account's own files (My Drive; shared-drive files count for nobody)."""
        row = self.store.row("SELECT COALESCE(SUM(size), 0) AS total FROM files"
                             " WHERE owner=? AND drive_id IS NULL", (email,))
        return int(row["total"]) if row else 0

    def usage_bytes(self, email: str) -> int:
        """All storage used: Drive files plus the extra (filler) usage."""
        return self.stored_bytes(email) + int(self.get(email)["extra_usage"])

    def downloaded_today(self, email: str) -> int:
        row = self.store.row("SELECT bytes FROM downloads WHERE email=? AND day=?",
                             (email, self.clock.utc_day()))
        return int(row["bytes"]) if row else 0

    def uploaded_today(self, email: str) -> int:
        row = self.store.row("SELECT bytes FROM upload_days WHERE email=? AND day=?",
                             (email, self.clock.utc_day()))
        return int(row["bytes"]) if row else 0

    def usage(self, email: str) -> dict[str, Any]:
        row = self.get(email)
        files = self.store.row("SELECT COUNT(*) AS n FROM files WHERE owner=? AND"
                               " drive_id IS NULL", (email,))
        limit = row["storage_limit"]
        return {
            "email": email, "kind": row["kind"], "owns_files": bool(row["owns_files"]),
            "suspended": bool(row["suspended"]), "files": files["n"] if files else 0,
            "bytes_stored": self.stored_bytes(email), "extra_usage_bytes": row["extra_usage"],
            "storage_limit_bytes": None if limit == UNLIMITED else limit,
            "downloaded_today_bytes": self.downloaded_today(email),
            "daily_download_limit_bytes": row["daily_download_limit"],
            "uploaded_today_bytes": self.uploaded_today(email),
            "daily_upload_limit_bytes": row["daily_upload_limit"],
            "uploaded_bytes": row["uploaded_bytes"], "copied_bytes": row["copied_bytes"],
            "utc_day": self.clock.utc_day(),
        }

    def issue_token(self, assertion: str) -> dict[str, Any]:
        """JWT-bearer grant (kept for callers of the first release)."""
        return self.tokens.jwt_bearer(assertion)

    def email_for_token(self, authorization: str | None) -> str:
        return self.tokens.email_for_token(authorization)
