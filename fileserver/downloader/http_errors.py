"""Map database outages to a clear 503 in the Downloader's functions (instead of a bare 500)."""

from __future__ import annotations

import psycopg2
from flask import Flask
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from fileserver.runtime.outages import outage_as_503

# psycopg2's own errors too: a pool that cannot reconnect raises them unwrapped.
OUTAGES = (OperationalError, PoolTimeout, psycopg2.OperationalError, psycopg2.InterfaceError)


def database_outage_as_503(app: Flask) -> Flask:
    """503 ``database_unavailable`` when PostgreSQL is unreachable or the pool is exhausted."""
    return outage_as_503(app, OUTAGES, "database_unavailable",
                         "the Downloader database is unavailable, retry shortly")
