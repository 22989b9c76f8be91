"""Google credentials from a stored account key, for the three kinds of Drive account.

The one place that turns the key an operator registered into google-auth credentials with
the Drive scope. A stored key is the JSON file Google hands out, plus what fileserver adds
when it registers it (see ``fileserver.uploader.validation.credential``):

- ``authorized_user``: an OAuth client id + secret + refresh token of a Google account (the
  file ``gcloud auth application-default login`` writes; rclone holds the same three). The
  token endpoint is Google's unless the key names another ``token_uri`` (the emulator).
- ``service_account`` + ``shared_drive_id``: the service account works inside that shared
  drive (``shared_drive_id`` is read by the Drive client for its call parameters).
- ``service_account`` + ``subject``: domain-wide delegation, acting as the Workspace user
  ``subject``.
- ``service_account`` alone: only useful if the account has Drive storage of its own, which
  service accounts created after 15 April 2025 do not.

Key material is never put in an error message.
"""

from __future__ import annotations

from typing import Any

from google.auth.credentials import Credentials
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from fileserver.drive.errors import DriveFatalError

SCOPES = ["https://www.googleapis.com/auth/drive"]


def credentials_from_key(key: dict[str, Any]) -> Credentials:
    """Credentials for ``key`` (any of the kinds of ``fileserver.drive.kinds``), not yet
    refreshed."""
    user = isinstance(key, dict) and key.get("type") == "authorized_user"
    try:
        if user:
            return _authorized_user(key)
        found = service_account.Credentials.from_service_account_info(key, scopes=SCOPES)
    except (ValueError, KeyError, TypeError, AttributeError):
        kind = "authorized_user" if user else "service-account"
        raise DriveFatalError(f"invalid {kind} key") from None
    subject = key.get("subject")
    return found.with_subject(subject) if subject else found


def _authorized_user(key: dict[str, Any]) -> Credentials:
    """google-auth's own ``from_authorized_user_info``; it always sets Google's token endpoint,
    so a ``token_uri`` in the key (an emulator, another universe) is applied afterwards."""
    found = user_credentials.Credentials.from_authorized_user_info(key, scopes=SCOPES)
    token_uri = key.get("token_uri")
    return found.with_token_uri(token_uri) if token_uri else found
