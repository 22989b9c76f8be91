"""The function runtime: how a ``functions/<name>/handler.py`` becomes an HTTP service.

The same code path runs locally (``python -m fileserver.runtime.serve functions/NAME``) and
inside the OpenFaaS image (of-watchdog ``mode=http`` in front of the same WSGI server).
"""

from fileserver.runtime.app import function_app, function_name
from fileserver.runtime.auth import require_admin
from fileserver.runtime.requests import json_body, paging, query_str

__all__ = ["function_app", "function_name", "require_admin", "json_body", "paging", "query_str"]
