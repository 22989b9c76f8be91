"""Service-account keys and the OAuth2 JWT-bearer token flow (RS256)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from emulators.drive.errors import DriveApiError

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_SECONDS = 3600


def new_key_pair() -> tuple[str, str]:
    """Answer (private key PEM in PKCS#8, public key PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def client_id_for(email: str) -> str:
    """A service account's numeric OAuth client id (what delegation is granted to)."""
    return str(int(hashlib.sha1(email.encode()).hexdigest(), 16) % 10**21)  # noqa: S324 - an id


def service_account_key(email: str, private_pem: str, key_id: str, token_uri: str) -> dict:
    """The JSON a console download of a service-account key holds."""
    return {
        "type": "service_account", "project_id": "fileserver-emulator",
        "private_key_id": key_id, "private_key": private_pem, "client_email": email,
        "client_id": client_id_for(email),
        "auth_uri": token_uri, "token_uri": token_uri,
        "auth_provider_x509_cert_url": "", "client_x509_cert_url": "",
        "universe_domain": "googleapis.com",
    }


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def jwt_claims(assertion: str) -> tuple[dict[str, Any], bytes, bytes]:
    """Split a JWT: answer (claims, signed input, signature); 400 if malformed."""
    try:
        header_b64, claims_b64, signature_b64 = assertion.split(".")
        header = json.loads(_b64decode(header_b64))
        claims = json.loads(_b64decode(claims_b64))
        signature = _b64decode(signature_b64)
    except (ValueError, TypeError) as exc:
        raise invalid_grant("Malformed JWT assertion.") from exc
    if header.get("alg") != "RS256" or not isinstance(claims, dict):
        raise invalid_grant("Only RS256 JWT assertions are accepted.")
    return claims, f"{header_b64}.{claims_b64}".encode(), signature


def verify_signature(public_pem: str, signed: bytes, signature: bytes) -> None:
    public_key = serialization.load_pem_public_key(public_pem.encode())
    try:
        public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
    except InvalidSignature as exc:
        raise invalid_grant("Invalid JWT Signature.") from exc


def check_times(claims: dict[str, Any], now: float) -> None:
    try:
        issued, expires = float(claims["iat"]), float(claims["exp"])
    except (KeyError, TypeError, ValueError) as exc:
        raise invalid_grant("JWT lacks iat/exp.") from exc
    if expires <= now - 300 or issued > now + 300 or expires - issued > 3600 + 60:
        raise invalid_grant("Invalid JWT: Token must be a short-lived token and in a "
                            "reasonable timeframe.")


def new_token() -> str:
    return "ya29.emu-" + secrets.token_urlsafe(32)


def invalid_grant(message: str) -> DriveApiError:
    return DriveApiError(400, "invalid_grant", message)


def authorized_user_info(email: str, issued: dict[str, str], token_uri: str) -> dict:
    """The ``authorized_user`` JSON ``gcloud auth application-default login`` writes (plus
    ``token_uri`` pointing at this emulator, and ``account`` filled in)."""
    return {"type": "authorized_user", **issued, "token_uri": token_uri, "account": email,
            "universe_domain": "googleapis.com"}
