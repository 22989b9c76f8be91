"""Aligned plain-text tables and human-readable figures."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

MB = 1_000_000


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
          right: Sequence[str] = ()) -> str:
    """Columns padded to their widest cell; numbers (and the ``right`` columns, e.g. sizes)
    right-aligned, text left-aligned."""
    cells = [[_text(value) for value in row] for row in rows]
    numeric = [h in right or _numbers(row[i] for row in rows) for i, h in enumerate(headers)]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]

    def render(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w)
                 for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    return "\n".join([render(headers)] + [render(row) for row in cells])


def _numbers(column: Iterable[Any]) -> bool:
    """Only numbers (and blanks), at least one."""
    values = [value for value in column if value is not None]
    return bool(values) and all(isinstance(value, int | float) for value in values)


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def size(value: int | None) -> str:
    """Bytes as B, KB, MB or GB (powers of 1000, like the reports' ``mb_*`` figures)."""
    if value is None:
        return "-"
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value} B"
