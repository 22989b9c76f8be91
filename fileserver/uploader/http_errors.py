"""Map MongoDB outages to a clear 503 in the Uploader's functions (instead of a bare 500)."""

from __future__ import annotations

from flask import Flask
from pymongo.errors import ConnectionFailure

from fileserver.runtime.outages import outage_as_503


def database_outage_as_503(app: Flask) -> Flask:
    """503 ``database_unavailable`` when MongoDB is unreachable (``ConnectionFailure`` covers
    AutoReconnect, NetworkTimeout and ServerSelectionTimeoutError)."""
    return outage_as_503(app, (ConnectionFailure,), "database_unavailable",
                         "the Uploader database is unavailable, retry shortly")
