"""Signed, expiring download links (optional): on when the secret ``download-link-secret`` is
set, and then the download redirector honours only links that carry both.

A link is ``/function/download/ID[/NAME]?expires=UNIX_SECONDS&sig=SIG`` where SIG is the
unpadded base64url HMAC-SHA256, under the secret, of ``ID`` and ``expires`` (the name is not
signed: it only names the saved file). Links are minted by an admin call (downloader-sync
``POST /links``, ``fileserver link ID --expires 1h``) and by get-url for its own
``download_url`` (``DOWNLOAD_LINK_TTL_SECONDS``). A missing, forged or expired link is 403
with a JSON error and books nothing: it is refused before the booking.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from fileserver.config import int_setting, optional_secret
from fileserver.contracts.timestamps import format_utc
from fileserver.errors import BadRequest, Forbidden

SECRET_NAME = "download-link-secret"
MAX_LIFETIME_SECONDS = 366 * 86_400  # a year and a day: longer is a permanent link
DEFAULT_TTL_SECONDS = 3_600


class SignedLinkRequired(Forbidden):
    code = "signed_link_required"


class LinkExpired(Forbidden):
    code = "link_expired"


class LinkInvalid(Forbidden):
    code = "link_invalid"


@dataclass(frozen=True)
class LinkSigner:
    secret: bytes

    def signature(self, file_id: str, expires: int) -> str:
        mac = hmac.new(self.secret, f"{file_id}\n{expires}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()

    def query(self, file_id: str, expires: int) -> str:
        """``expires=...&sig=...`` for ``file_id`` valid until ``expires`` (Unix seconds)."""
        return urlencode({"expires": expires, "sig": self.signature(file_id, expires)})

    def mint(self, link: str, file_id: str, lifetime: int, now: datetime) -> tuple[str, int]:
        """``link`` with the query that makes it valid for ``lifetime`` s; and its expiry."""
        expires = expiry(lifetime, now)
        return f"{link}?{self.query(file_id, expires)}", expires

    def verify(self, file_id: str, expires: str | None, sig: str | None, now: datetime) -> None:
        """Raise 403 unless ``sig`` signs ``file_id`` and ``expires`` and it is not past."""
        if not expires or not sig:
            raise SignedLinkRequired("this download needs a signed link (expires and sig)")
        if not expires.isdigit() or len(expires) > 12 or len(sig) > 100 or \
                not hmac.compare_digest(sig.encode(), self.signature(file_id,
                                                                     int(expires)).encode()):
            raise LinkInvalid("this download link is not valid (its signature does not match)")
        if int(expires) <= now.timestamp():
            at = format_utc(datetime.fromtimestamp(int(expires), UTC), timespec="seconds")
            raise LinkExpired(f"this download link expired at {at}",
                              details={"expired_at": at})


def expiry(lifetime: int, now: datetime) -> int:
    """Unix seconds ``lifetime`` s after ``now``; 400 outside 1 s .. a year and a day."""
    if not 1 <= lifetime <= MAX_LIFETIME_SECONDS:
        raise BadRequest(f"a link's lifetime must be 1..{MAX_LIFETIME_SECONDS} seconds")
    return int(now.timestamp()) + lifetime


def link_signer() -> LinkSigner | None:
    """The signer when ``download-link-secret`` is configured (signed links on), else None."""
    secret = optional_secret(SECRET_NAME)
    return LinkSigner(secret.encode()) if secret else None


def link_ttl() -> int:
    """Lifetime of the ``download_url`` get-url hands out when signed links are on."""
    return int_setting("DOWNLOAD_LINK_TTL_SECONDS", DEFAULT_TTL_SECONDS)
