"""Admin authentication: ``Authorization: Bearer <token>`` against the ``admin-token`` secret."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any, TypeVar

from flask import request

from fileserver.config import secret
from fileserver.errors import Unauthorized

F = TypeVar("F", bound=Callable[..., Any])


def check_admin() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    expected = secret("admin-token")
    if scheme.lower() != "bearer" or not token or not hmac.compare_digest(
        token.strip().encode(), expected.encode()
    ):
        raise Unauthorized("a valid admin token is required (Authorization: Bearer <token>)",
                           headers={"WWW-Authenticate": "Bearer"})


def require_admin(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check_admin()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
