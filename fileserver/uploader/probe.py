"""The live check of a Drive account at registration: who it is and whether it can hold files.

Run by ``drive-accounts`` before an account is stored (unless ``?verify=false``):

- every kind: a token exchange with the key's ``token_uri`` (a refused key or refresh token,
  or an unreachable ``token_uri``: 400 naming Google's OAuth error), then
  ``about.get(fields="user,storageQuota")`` with it (Drive unreachable: 502). The account's
  e-mail address is Google's answer, never the client's word (an ``authorized_user`` key
  carries none);
- ``shared_drive``: ``drives.get`` of the shared drive (404 -> 422: not a member);
- a plain ``service_account``: it must own storage. No room in ``about.get``, or a 1-byte
  probe upload answered ``storageQuotaExceeded`` (service accounts created after 15 April
  2025), is a 422 with Google's message and a pointer to the three kinds that work.

The probe file is deleted at once. Nothing here logs or returns key material.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from fileserver.drive.kinds import SERVICE_ACCOUNT, SHARED_DRIVE, key_kind
from fileserver.errors import BadRequest, Unprocessable, UpstreamError

KINDS_HINT = ("register an authorized_user key (OAuth client + refresh token of a Google "
              "account), a service_account key with shared_drive_id (a shared drive it is a "
              "member of), or a service_account key with subject (domain-wide delegation); "
              "see docs/drive.md, 'How to get each kind of credential'")
PROBE_NAME = ".fileserver-storage-probe"
TOKEN_TIMEOUT = 10


@dataclass(frozen=True)
class ProbeResult:
    email: str
    storage_limit: int | None
    storage_usage: int

    @property
    def storage(self) -> dict[str, Any]:
        return {"limit": self.storage_limit, "usage": self.storage_usage}


def probe_account(key: dict[str, Any]) -> ProbeResult:
    """Check ``key`` against Drive (``DRIVE_API_ROOT`` or Google); see the module doc."""
    from fileserver.drive.client import DriveClient
    from fileserver.drive.errors import DriveError, DriveFatalError
    from fileserver.drive.retry import RetryPolicy

    _fetch_token(key)
    try:
        client = DriveClient(key, policy=RetryPolicy(attempts=3, base_delay=0.2, max_delay=2))
        about = client.about()
        kind = key_kind(key)
        if kind == SHARED_DRIVE:
            _check_shared_drive(client)
        result = ProbeResult(about["email"], about["storage_limit"], about["storage_usage"])
        if kind == SERVICE_ACCOUNT:
            _check_own_storage(client, result)
        return result
    except DriveFatalError as exc:
        if exc.reason == "authError":
            raise BadRequest(f"Google refused the key ({exc})",
                             details={"reason": str(exc)}) from None
        raise Unprocessable(f"Drive refused the account: {exc}",
                            details={"reason": exc.reason}) from None
    except DriveError as exc:  # unreachable, or still failing after a few tries
        raise UpstreamError(f"the account could not be checked with Drive: {exc}",
                            details={"reason": exc.reason}) from None


def _fetch_token(key: dict[str, Any]) -> None:
    """One token exchange with the key's own token endpoint (``TOKEN_TIMEOUT`` s): a key
    Google refuses, or whose ``token_uri`` cannot be reached, is the client's to fix (400,
    naming the OAuth error or the exception class, never the key)."""
    import functools

    from google.auth.exceptions import GoogleAuthError, RefreshError, TransportError
    from google.auth.transport.requests import Request

    from fileserver.drive.credentials import credentials_from_key
    from fileserver.drive.errors import DriveFatalError
    from fileserver.drive.retry import refresh_reason

    try:
        credentials_from_key(key).refresh(functools.partial(Request(), timeout=TOKEN_TIMEOUT))
    except RefreshError as exc:
        raise BadRequest(f"Google refused the key ({refresh_reason(exc)})",
                         details={"reason": refresh_reason(exc)}) from None
    except TransportError as exc:
        raise BadRequest("the key's token_uri could not be reached "
                         f"({type(exc).__name__})") from None
    except (GoogleAuthError, ValueError, DriveFatalError) as exc:
        # The exception class only: messages of key parsing errors may quote the key.
        raise BadRequest(f"the key could not be used ({type(exc).__name__})") from None


def _check_shared_drive(client: Any) -> None:
    from fileserver.drive.errors import DriveNotFound

    try:
        client.shared_drive()
    except DriveNotFound:
        raise Unprocessable(f"shared drive {client.shared_drive_id} does not exist or the "
                            "service account is not a member of it (add it as Manager)",
                            details={"field": "shared_drive_id"}) from None


def _check_own_storage(client: Any, result: ProbeResult) -> None:
    """A plain service account must be able to own a file: a 1-byte upload that Drive
    accepts (refused: Google's reason and message), and room in about.get."""
    from fileserver.drive.errors import DriveQuotaExceeded

    try:
        probe = client.upload(io.BytesIO(b"\0"), 1, PROBE_NAME, "application/octet-stream", {})
    except DriveQuotaExceeded as exc:
        raise _no_storage(str(exc), exc.reason) from None
    client.delete(probe.id)
    if result.storage_limit is not None and result.storage_limit <= result.storage_usage:
        raise _no_storage(f"about.get reports a storage limit of {result.storage_limit} bytes "
                          f"with {result.storage_usage} used", "storageQuotaExceeded")


def _no_storage(why: str, reason: str) -> Unprocessable:
    return Unprocessable(f"this service account has no Drive storage of its own ({why}); "
                         + KINDS_HINT, details={"reason": reason})
