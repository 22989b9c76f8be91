"""Signed links in the functions' requests: the redirector's check, get-url's signed
``download_url``, and the admin mint call (see ``signed_links`` for the link form)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import request

from fileserver.contracts.timestamps import format_utc
from fileserver.downloader.db import Database
from fileserver.downloader.redirect_http import redirector_link
from fileserver.downloader.repository import DownloadRepository
from fileserver.downloader.service import file_not_found, utc_now
from fileserver.downloader.signed_links import LinkSigner
from fileserver.downloader.validation import ident, integer
from fileserver.errors import Conflict


def check_signed_link(signer: LinkSigner | None, file_id: str) -> None:
    """With signing on, 403 unless this request's ``expires`` and ``sig`` sign ``file_id``."""
    if signer is not None:
        signer.verify(file_id, request.args.get("expires"), request.args.get("sig"), utc_now())


def download_url(signer: LinkSigner | None, file_id: str, name: str, ttl: int) -> str:
    """The redirector link for get-url's answer; signed for ``ttl`` s when signing is on."""
    link = redirector_link(file_id, name)
    return link if signer is None else signer.mint(link, file_id, ttl, utc_now())[0]


def mint_link(signer: LinkSigner | None, db: Database, body: dict[str, Any]) -> dict[str, Any]:
    """``{"file_id", "expires_in"}`` → a signed redirector link valid ``expires_in`` s; 409
    when signing is off (no secret), 404 for an unknown file."""
    if signer is None:
        raise Conflict("signed links are off: set the secret download-link-secret")
    file_id = ident(body.get("file_id"), "file_id")
    lifetime = integer(body.get("expires_in"), "expires_in", low=1)
    now = utc_now()
    rows = DownloadRepository.holders(db, file_id, now.date())
    if not rows:
        raise file_not_found(file_id)
    url, expires = signer.mint(redirector_link(file_id, rows[0]["name"]), file_id, lifetime,
                               now)
    return {"file_id": file_id, "url": url, "expires": expires,
            "expires_at": format_utc(datetime.fromtimestamp(expires, UTC))}
