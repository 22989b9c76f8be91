"""The OAuth2 token endpoint's grants and bearer-token checks.

- ``urn:ietf:params:oauth:grant-type:jwt-bearer``: a service account's RS256 JWT; with a
  ``sub`` claim (domain-wide delegation) the token acts as that Workspace user, only if the
  admin granted delegation to the service account's client id for the requested scopes.
- ``refresh_token``: an OAuth user account's client id + secret + refresh token.

Errors are OAuth-shaped (``{"error", "error_description"}``) with Google's wording.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from emulators.drive import auth
from emulators.drive.errors import DriveApiError, unauthorized
from emulators.drive.faults import Clock
from emulators.drive.store import Store

REFRESH_TOKEN = "refresh_token"
DRIVE_SCOPE = "https://www.googleapis.com/auth/drive"
TESTING_APP_SECONDS = 7 * 86400  # refresh tokens of an OAuth app left in "Testing"
REVOKED = "Token has been expired or revoked."
UNAUTHORIZED_CLIENT = ("Client is unauthorized to retrieve access tokens using this method, "
                       "or client not authorized for any of the scopes requested.")


def unauthorized_client() -> DriveApiError:
    return DriveApiError(401, "unauthorized_client", UNAUTHORIZED_CLIENT)


class Tokens:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock

    # --- grants -----------------------------------------------------------------------
    def grant(self, form: dict[str, str]) -> dict[str, Any]:
        """Answer the token response for the form's ``grant_type``."""
        grant_type = form.get("grant_type")
        if grant_type == auth.JWT_BEARER:
            return self.jwt_bearer(form.get("assertion", ""))
        if grant_type == REFRESH_TOKEN:
            return self.refresh(form)
        raise DriveApiError(400, "unsupported_grant_type", "Invalid grant_type: "
                            f"{grant_type or ''}")

    def jwt_bearer(self, assertion: str) -> dict[str, Any]:
        """Verify the RS256 assertion with the account's public key; honour ``sub``."""
        claims, signed, signature = auth.jwt_claims(assertion)
        row = self.store.row("SELECT * FROM accounts WHERE email=? AND kind='service_account'",
                             (str(claims.get("iss")),))
        if row is None:
            raise auth.invalid_grant("Invalid JWT: unknown issuer.")
        auth.verify_signature(row["public_key_pem"], signed, signature)
        # The signer stamps the JWT with real time; tokens then live on the emulator's clock,
        # so a clock jump (next UTC day) expires old tokens and clients simply refresh.
        auth.check_times(claims, time.time())
        if row["suspended"]:
            raise auth.invalid_grant("Invalid grant: account not found")
        scope = str(claims.get("scope") or DRIVE_SCOPE)
        subject = claims.get("sub")
        if subject and subject != row["email"]:
            return self._access_token(self._delegate(row, str(subject), scope), scope)
        return self._access_token(row["email"], scope)

    def _delegate(self, service_account: dict[str, Any], subject: str, scope: str) -> str:
        grant = self.store.row("SELECT scopes FROM delegations WHERE client_id=?",
                               (service_account["client_id"],))
        if grant is None or not set(scope.split()) <= set(json.loads(grant["scopes"])):
            raise unauthorized_client()
        user = self.store.row("SELECT email, kind, suspended FROM accounts WHERE email=?",
                              (subject,))
        if user is None or user["kind"] != "workspace_user" or user["suspended"]:
            raise auth.invalid_grant("Invalid email or User ID")
        return user["email"]

    def refresh(self, form: dict[str, str]) -> dict[str, Any]:
        """The refresh-token grant of an OAuth client (``authorized_user`` credentials)."""
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        client = self.store.row("SELECT client_secret FROM refresh_tokens WHERE client_id=?",
                                (client_id,))
        if client is None:
            raise DriveApiError(401, "invalid_client", "The OAuth client was not found.")
        if not secrets.compare_digest(client["client_secret"], secret):
            raise DriveApiError(401, "invalid_client", "Unauthorized")
        row = self.store.row(
            "SELECT r.*, a.suspended FROM refresh_tokens r JOIN accounts a ON a.email=r.email"
            " WHERE r.token=? AND r.client_id=?", (form.get(REFRESH_TOKEN, ""), client_id))
        now = self.clock.now()
        if (row is None or row["revoked"] or row["suspended"]
                or (row["expires_at"] is not None and row["expires_at"] <= now)):
            raise auth.invalid_grant(REVOKED)
        return self._access_token(row["email"], form.get("scope") or DRIVE_SCOPE)

    def _access_token(self, email: str, scope: str) -> dict[str, Any]:
        now = self.clock.now()
        token = auth.new_token()
        self.store.execute("INSERT INTO tokens(token, email, expires_at) VALUES (?, ?, ?)",
                           (token, email, now + auth.TOKEN_SECONDS))
        self.store.execute("DELETE FROM tokens WHERE expires_at < ?", (now - 3600,))
        return {"access_token": token, "expires_in": auth.TOKEN_SECONDS, "scope": scope,
                "token_type": "Bearer"}

    # --- refresh tokens, delegation, revocation ----------------------------------------
    def new_refresh_token(self, email: str, testing_app: bool) -> dict[str, str]:
        """A fresh OAuth client and refresh token for ``email``; a "Testing" app's token
        expires after 7 days of the emulator clock."""
        client_id = f"{secrets.randbelow(10**12):012d}-emu{secrets.token_hex(8)}" \
                    ".apps.googleusercontent.com"
        issued = {"client_id": client_id, "client_secret": "GOCSPX-" + secrets.token_urlsafe(21),
                  "refresh_token": "1//emu-" + secrets.token_urlsafe(48)}
        expires = self.clock.now() + TESTING_APP_SECONDS if testing_app else None
        self.store.execute(
            "INSERT INTO refresh_tokens(token, email, client_id, client_secret, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (issued["refresh_token"], email, client_id, issued["client_secret"], expires))
        return issued

    def revoke(self, email: str) -> int:
        """Revoke every refresh token of ``email`` and drop its access tokens."""
        count = self.store.execute("UPDATE refresh_tokens SET revoked=1 WHERE email=?", (email,))
        self.drop_access_tokens(email)
        return count

    def drop_access_tokens(self, email: str) -> None:
        self.store.execute("DELETE FROM tokens WHERE email=?", (email,))

    def grant_delegation(self, client_id: str, scopes: list[str]) -> None:
        self.store.execute("INSERT OR REPLACE INTO delegations(client_id, scopes) VALUES (?, ?)",
                           (client_id, json.dumps(sorted(set(scopes)))))

    def revoke_delegation(self, client_id: str) -> bool:
        return bool(self.store.execute("DELETE FROM delegations WHERE client_id=?",
                                       (client_id,)))

    def email_for_token(self, authorization: str | None) -> str:
        if not authorization or not authorization.startswith("Bearer "):
            raise unauthorized("Request is missing required authentication credential.")
        row = self.store.row("SELECT email, expires_at FROM tokens WHERE token=?",
                             (authorization[len("Bearer "):],))
        if row is None or row["expires_at"] <= self.clock.now():
            raise unauthorized()
        return row["email"]
