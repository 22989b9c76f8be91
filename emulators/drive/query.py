"""The subset of the Drive ``q`` language the project uses, as a predicate over file rows.

Supported terms, joined by ``and``: ``name = 'x'``, ``name contains 'x'``,
``trashed = true|false``, ``'me' in owners``, ``'DRIVE_ID' in parents`` (a shared drive's
top level: the emulator has no folders), ``mimeType = 'x'`` and
``appProperties has { key='k' and value='v' }``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from emulators.drive.errors import bad_request

Row = dict[str, Any]
Predicate = Callable[[Row, str], bool]

_STRING = r"'((?:[^'\\]|\\.)*)'"
_TERMS: list[tuple[re.Pattern[str], Callable[..., Predicate]]] = [
    (re.compile(rf"name\s*=\s*{_STRING}"), lambda v: lambda f, me: f["name"] == v),
    (re.compile(rf"name\s+contains\s+{_STRING}"), lambda v: lambda f, me: v in f["name"]),
    (re.compile(rf"mimeType\s*=\s*{_STRING}"), lambda v: lambda f, me: f["mime_type"] == v),
    (re.compile(r"trashed\s*=\s*(true|false)"),
     lambda v: lambda f, me: bool(f["trashed"]) == (v == "true")),
    (re.compile(r"'me'\s+in\s+owners"),  # shared-drive files have no owners
     lambda: lambda f, me: f["owner"] == me and not f.get("drive_id")),
    (re.compile(rf"{_STRING}\s+in\s+parents"),  # the only parents modelled: shared drives
     lambda v: lambda f, me: f.get("drive_id") == v),
    (re.compile(rf"appProperties\s+has\s*\{{\s*key\s*=\s*{_STRING}\s+and\s+value\s*=\s*{_STRING}\s*\}}"),
     lambda k, v: lambda f, me: f["app_properties"].get(k) == v),
]


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _split_and(q: str) -> list[str]:
    """Split on top-level ``and`` (not inside quotes or braces)."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(q):
        char = q[i]
        if char == "\\" and quoted:
            i += 2
            continue
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "{}":
            depth += 1 if char == "{" else -1
        elif not quoted and depth == 0 and q[i:i + 5].lower() == " and ":
            parts.append(q[start:i])
            start = i + 5
            i += 5
            continue
        i += 1
    parts.append(q[start:])
    return [p.strip() for p in parts if p.strip()]


def parse(q: str | None) -> Predicate:
    """Answer a predicate ``(file_row, my_email) -> bool``; 400 invalidQuery otherwise."""
    predicates: list[Predicate] = []
    for term in _split_and(q or ""):
        predicates.append(_parse_term(term))
    return lambda row, me: all(p(row, me) for p in predicates)


def _parse_term(term: str) -> Predicate:
    for pattern, build in _TERMS:
        match = pattern.fullmatch(term)
        if match:
            return build(*(_unescape(g) for g in match.groups()))
    raise bad_request(f"Invalid Value: unsupported query term {term!r}", "invalidQuery")
