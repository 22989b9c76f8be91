"""Google credentials from a stored account key.

The one place that turns the key an operator registered into google-auth credentials with
the Drive scope. Key material is never put in an error message.
"""

from __future__ import annotations

from typing import Any

from google.auth.credentials import Credentials
from google.oauth2 import service_account

from fileserver.drive.errors import DriveFatalError

SCOPES = ["https://www.googleapis.com/auth/drive"]


def credentials_from_key(key: dict[str, Any]) -> Credentials:
    """Credentials for ``key`` (today: a ``service_account`` key), not yet refreshed."""
    try:
        return service_account.Credentials.from_service_account_info(key, scopes=SCOPES)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise DriveFatalError("invalid service-account key") from None
