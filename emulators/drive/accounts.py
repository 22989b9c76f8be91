"""Accounts (service accounts with their own drive), tokens and usage figures."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from emulators.drive import auth
from emulators.drive.blobs import BlobStore
from emulators.drive.errors import DriveApiError, bad_request, unauthorized
from emulators.drive.faults import Clock
from emulators.drive.store import Store

DOMAIN = "fileserver-emulator.iam.gserviceaccount.com"
DEFAULT_STORAGE_LIMIT = 15 * 1024**3
DEFAULT_DAILY_DOWNLOAD_LIMIT = 100 * 10**9
EMAIL = re.compile(r"[a-z0-9][a-z0-9.-]{0,62}@[a-z0-9.-]+\.[a-z]{2,}")


def account_not_found(email: str) -> DriveApiError:
    return DriveApiError(404, "notFound", f"Account not found: {email}.")


def _limit(value: Any, name: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise bad_request(f"{name} must be a non-negative integer")
    return value


class Accounts:
    def __init__(self, store: Store, blobs: BlobStore, clock: Clock) -> None:
        self.store, self.blobs, self.clock = store, blobs, clock

    def create(self, body: dict[str, Any], token_uri: str) -> dict[str, Any]:
        """Create an account; answer its service-account key (the only time it is shown)."""
        email = body.get("email") or f"sa-{secrets.token_hex(4)}@{DOMAIN}"
        if not isinstance(email, str) or not EMAIL.fullmatch(email):
            raise bad_request("email must be a lower-case e-mail address")
        storage = _limit(body.get("storage_limit_bytes"), "storage_limit_bytes",
                         DEFAULT_STORAGE_LIMIT)
        daily = _limit(body.get("daily_download_limit_bytes"), "daily_download_limit_bytes",
                       DEFAULT_DAILY_DOWNLOAD_LIMIT)
        private_pem, public_pem = auth.new_key_pair()
        key_id = secrets.token_hex(20)
        if self.store.row("SELECT email FROM accounts WHERE email=?", (email,)):
            raise DriveApiError(409, "duplicate", f"Account already exists: {email}.")
        self.store.execute(
            "INSERT INTO accounts(email, display_name, public_key_pem, private_key_id,"
            " storage_limit, daily_download_limit) VALUES (?, ?, ?, ?, ?, ?)",
            (email, email.split("@")[0], public_pem, key_id, storage, daily))
        return auth.service_account_key(email, private_pem, key_id, token_uri)

    def get(self, email: str) -> dict[str, Any]:
        row = self.store.row("SELECT * FROM accounts WHERE email=?", (email,))
        if row is None:
            raise account_not_found(email)
        return row

    def list_emails(self) -> list[str]:
        return [r["email"] for r in self.store.rows("SELECT email FROM accounts ORDER BY email")]

    def update(self, email: str, body: dict[str, Any]) -> dict[str, Any]:
        row = self.get(email)
        storage = _limit(body.get("storage_limit_bytes"), "storage_limit_bytes",
                         row["storage_limit"])
        daily = _limit(body.get("daily_download_limit_bytes"), "daily_download_limit_bytes",
                       row["daily_download_limit"])
        self.store.execute(
            "UPDATE accounts SET storage_limit=?, daily_download_limit=? WHERE email=?",
            (storage, daily, email))
        return self.usage(email)

    def delete(self, email: str) -> None:
        self.get(email)
        owned = [r["id"] for r in self.store.rows("SELECT id FROM files WHERE owner=?", (email,))]
        self.store.transaction([
            ("DELETE FROM permissions WHERE file_id IN (SELECT id FROM files WHERE owner=?)",
             (email,)),
            ("DELETE FROM permissions WHERE email=?", (email,)),
            ("DELETE FROM files WHERE owner=?", (email,)),
            ("DELETE FROM tokens WHERE email=?", (email,)),
            ("DELETE FROM uploads WHERE owner=?", (email,)),
            ("DELETE FROM downloads WHERE email=?", (email,)),
            ("DELETE FROM accounts WHERE email=?", (email,)),
        ])
        for file_id in owned:
            self.blobs.delete(file_id)

    def stored_bytes(self, email: str) -> int:
        row = self.store.row("SELECT COALESCE(SUM(size), 0) AS total FROM files WHERE owner=?",
                             (email,))
        return int(row["total"]) if row else 0

    def downloaded_today(self, email: str) -> int:
        row = self.store.row("SELECT bytes FROM downloads WHERE email=? AND day=?",
                             (email, self.clock.utc_day()))
        return int(row["bytes"]) if row else 0

    def usage(self, email: str) -> dict[str, Any]:
        row = self.get(email)
        files = self.store.row("SELECT COUNT(*) AS n FROM files WHERE owner=?", (email,))
        return {
            "email": email, "files": files["n"] if files else 0,
            "bytes_stored": self.stored_bytes(email),
            "storage_limit_bytes": row["storage_limit"],
            "downloaded_today_bytes": self.downloaded_today(email),
            "daily_download_limit_bytes": row["daily_download_limit"],
            "uploaded_bytes": row["uploaded_bytes"], "copied_bytes": row["copied_bytes"],
            "utc_day": self.clock.utc_day(),
        }

    def issue_token(self, assertion: str) -> dict[str, Any]:
        """JWT-bearer grant: verify the RS256 assertion with the account's public key."""
        claims, signed, signature = auth.jwt_claims(assertion)
        row = self.store.row("SELECT * FROM accounts WHERE email=?", (str(claims.get("iss")),))
        if row is None:
            raise auth.invalid_grant("Invalid JWT: unknown issuer.")
        auth.verify_signature(row["public_key_pem"], signed, signature)
        # The signer stamps the JWT with real time; tokens then live on the emulator's clock,
        # so a clock jump (next UTC day) expires old tokens and clients simply refresh.
        auth.check_times(claims, time.time())
        now = self.clock.now()
        token = auth.new_token()
        self.store.execute("INSERT INTO tokens(token, email, expires_at) VALUES (?, ?, ?)",
                           (token, row["email"], now + auth.TOKEN_SECONDS))
        self.store.execute("DELETE FROM tokens WHERE expires_at < ?", (now - 3600,))
        return {"access_token": token, "expires_in": auth.TOKEN_SECONDS, "token_type": "Bearer"}

    def email_for_token(self, authorization: str | None) -> str:
        if not authorization or not authorization.startswith("Bearer "):
            raise unauthorized("Request is missing required authentication credential.")
        row = self.store.row("SELECT email, expires_at FROM tokens WHERE token=?",
                             (authorization[len("Bearer "):],))
        if row is None or row["expires_at"] <= self.clock.now():
            raise unauthorized()
        return row["email"]
