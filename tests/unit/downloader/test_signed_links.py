"""Signed, expiring download links: what verifies, what is refused and with which code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from fileserver.downloader.signed_links import (
    LinkExpired,
    LinkInvalid,
    LinkSigner,
    SignedLinkRequired,
    link_signer,
)
from fileserver.errors import BadRequest

NOW = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)
SIGNER = LinkSigner(b"s3cret")


def minted(file_id: str = "f1", lifetime: int = 3600) -> tuple[str, str]:
    link, _ = SIGNER.mint(f"https://files.example/function/download/{file_id}/a.bin", file_id,
                          lifetime, NOW)
    query = parse_qs(urlsplit(link).query)
    return query["expires"][0], query["sig"][0]


def test_a_minted_link_verifies_until_it_expires() -> None:
    expires, sig = minted(lifetime=3600)
    assert int(expires) == int(NOW.timestamp()) + 3600
    SIGNER.verify("f1", expires, sig, NOW + timedelta(seconds=3599))
    with pytest.raises(LinkExpired) as refused:
        SIGNER.verify("f1", expires, sig, NOW + timedelta(seconds=3600))
    assert refused.value.status == 403 and refused.value.code == "link_expired"
    assert refused.value.details == {"expired_at": "2026-12-01T10:00:00Z"}


@pytest.mark.parametrize("tamper", ["other file", "later expiry", "other secret", "flipped",
                                    "not a number", "huge"])
def test_forged_links_are_invalid(tamper: str) -> None:
    expires, sig = minted()
    file_id, signer = "f1", SIGNER
    if tamper == "other file":
        file_id = "f2"
    elif tamper == "later expiry":
        expires = str(int(expires) + 86_400)
    elif tamper == "other secret":
        signer = LinkSigner(b"another")
    elif tamper == "flipped":
        sig = ("A" if sig[0] != "A" else "B") + sig[1:]
    elif tamper == "not a number":
        expires = "12e9"
    else:
        sig = sig * 10
    with pytest.raises(LinkInvalid) as refused:
        signer.verify(file_id, expires, sig, NOW)
    assert refused.value.status == 403 and refused.value.code == "link_invalid"


def test_an_unsigned_link_is_refused_when_signing_is_on() -> None:
    for expires, sig in ((None, None), ("123", None), (None, "abc"), ("", "")):
        with pytest.raises(SignedLinkRequired):
            SIGNER.verify("f1", expires, sig, NOW)


def test_lifetimes_outside_a_second_to_a_year_are_refused() -> None:
    for lifetime in (0, -5, 367 * 86_400):
        with pytest.raises(BadRequest):
            minted(lifetime=lifetime)


def test_signing_is_on_only_with_the_secret(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path) -> None:  # noqa: ANN001
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path))
    monkeypatch.delenv("FILESERVER_DOWNLOAD_LINK_SECRET", raising=False)
    assert link_signer() is None
    (tmp_path / "download-link-secret").write_text("from-a-file\n")
    assert link_signer() == LinkSigner(b"from-a-file")
