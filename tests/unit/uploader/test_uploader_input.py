"""Pure parts of the Uploader: validation, multipart streaming, key encryption, job bodies."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from fileserver.contracts.jobs import job_body, message_id
from fileserver.errors import BadRequest, ConfigError
from fileserver.uploader import validation
from fileserver.uploader.crypto import KeyCipher
from fileserver.uploader.streams import BLOCK, multipart_file, raw_blocks


def pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


RSA_PEM = pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
SECRET = RSA_PEM.splitlines()[1]  # a line of the key body: must never appear in a message
KEY = {"type": "service_account", "client_email": "sa@p.iam.gserviceaccount.com",
       "private_key": RSA_PEM, "token_uri": "https://oauth2.googleapis.com/token"}


@pytest.mark.parametrize(("raw", "clean"), [
    ("report.pdf", "report.pdf"), ("../../etc/passwd", "passwd"), ("C:\\x\\y.txt", "y.txt"),
    ("a\x00b\x1fc\u200b.txt", "abc.txt"), ("  spaced  ", "spaced"), ("é" * 300, "é" * 255),
])
def test_filename_is_sanitised(raw, clean):
    assert validation.filename(raw) == clean


@pytest.mark.parametrize("raw", [None, "", "dir/", "..", "\x01\x02", 5])
def test_filename_rejects_empty_or_invalid(raw):
    with pytest.raises(BadRequest):
        validation.filename(raw)


def test_key_validation_never_quotes_the_key():
    assert validation.service_account_key(dict(KEY)) == KEY
    not_pem = RSA_PEM.replace(SECRET, SECRET[::-1])
    ec_key = pem(ec.generate_private_key(ec.SECP256R1()))
    for broken in ({**KEY, "type": "user"}, {**KEY, "client_email": "nope"},
                   {**KEY, "private_key": SECRET}, {**KEY, "private_key": not_pem},
                   {**KEY, "private_key": ec_key}, {**KEY, "token_uri": "ftp://x"},
                   {k: v for k, v in KEY.items() if k != "token_uri"}, [KEY]):
        with pytest.raises(BadRequest) as info:
            validation.service_account_key(broken)
        assert SECRET not in info.value.message and SECRET[::-1] not in info.value.message


def test_daily_limit_and_content_type():
    assert validation.daily_limit(5) == 5
    for bad in (0, -1, True, 1.5, "5", 10**16):
        with pytest.raises(BadRequest):
            validation.daily_limit(bad)
    assert validation.content_type("Text/Plain; charset=utf-8") == "text/plain"
    assert validation.content_type("<script>") == "application/octet-stream"


def _multipart(payload: bytes, boundary: str = "XyZ", close: bool = True) -> io.BytesIO:
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"a.bin\"\r\nContent-Type: image/png\r\n\r\n").encode() + payload
    if close:
        body += f"\r\n--{boundary}--\r\n".encode()
    return io.BytesIO(body)


def test_multipart_file_streams_in_bounded_blocks():
    payload = bytes(range(256)) * (3 * BLOCK // 256 + 17)
    part = multipart_file(_multipart(payload), "XyZ")
    assert (part.filename, part.content_type) == ("a.bin", "image/png")
    blocks = list(part.blocks)
    assert b"".join(blocks) == payload
    assert len(blocks) > 1 and max(len(b) for b in blocks) <= 4 * BLOCK


def test_truncated_multipart_and_missing_field_are_400():
    part = multipart_file(_multipart(b"x" * 5000, close=False), "XyZ")
    with pytest.raises(BadRequest, match="truncated"):
        list(part.blocks)
    with pytest.raises(BadRequest, match="file"):
        multipart_file(io.BytesIO(b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
                                  b"1\r\n--XyZ--\r\n"), "XyZ")


def test_raw_blocks_detect_a_short_body():
    assert b"".join(raw_blocks(io.BytesIO(b"abc"), 3)) == b"abc"
    with pytest.raises(BadRequest, match="truncated"):
        list(raw_blocks(io.BytesIO(b"abc"), 10))


def test_key_cipher_round_trip_and_wrong_key():
    cipher = KeyCipher(Fernet.generate_key())
    token = cipher.encrypt(KEY)
    assert SECRET not in token and cipher.decrypt(token) == KEY
    with pytest.raises(ConfigError):
        KeyCipher(Fernet.generate_key()).decrypt(token)
    with pytest.raises(ConfigError):
        KeyCipher("not-a-fernet-key")


def test_job_bodies_and_dedup_ids():
    body = job_body("replicate", "f1")
    assert body["kind"] == "replicate" and body["file_id"] == "f1"
    assert body["requested_at"].endswith("Z")
    assert job_body("account-removed", "a1")["account_id"] == "a1"
    assert message_id("rename-file", "f1", 3) == "rename-file:f1:3"
    with pytest.raises(ValueError):
        job_body("explode", "x")
