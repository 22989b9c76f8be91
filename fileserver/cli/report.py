"""``fileserver report files|accounts|summary``: the Downloader's precomputed reports."""

from __future__ import annotations

import argparse
from typing import Any

from fileserver.cli.context import Context
from fileserver.cli.tables import size, table


def files(ctx: Context, args: argparse.Namespace) -> None:
    items = ctx.client.list_all("file-stats")
    rows = [(r["file_id"], r["name"], r["downloads"], r["mb_today"], r["mb_total"],
             *_health(r)) for r in items]
    ctx.emit(items, table(("FILE", "NAME", "DOWNLOADS", "MB TODAY", "MB TOTAL", "BLOCKED",
                           "MISSING"), rows))


def accounts(ctx: Context, args: argparse.Namespace) -> None:
    items = ctx.client.list_all("account-stats")
    rows = [(r["account_id"], r["email"], r.get("kind"), r.get("state"), _storage(r),
             r["downloads"], r["mb_today"], r["mb_total"], size(r["daily_limit_bytes"]),
             f"{100 * r['share_of_limit_today']:.4f}%", *_health(r)) for r in items]
    ctx.emit(items, table(("ACCOUNT", "EMAIL", "KIND", "STATE", "STORAGE", "DOWNLOADS",
                           "MB TODAY", "MB TOTAL", "LIMIT/DAY", "% OF LIMIT", "BLOCKED",
                           "MISSING"), rows, right=("STORAGE", "LIMIT/DAY", "% OF LIMIT")))


def _storage(row: dict[str, Any]) -> str:
    """``used/limit`` as account-stats last got it (``?``: never measured)."""
    if row.get("storage_checked_at") is None and row.get("storage_usage_bytes") is None:
        return "?"
    limit = row.get("storage_limit_bytes")
    used = size(row.get("storage_usage_bytes") or 0)
    return f"{used}/{size(limit) if limit is not None else 'unlimited'}"


def _health(row: dict[str, Any]) -> tuple[Any, Any]:
    """Blocked and missing replicas (replica health; absent from an older Downloader)."""
    return row.get("replicas_blocked", "-"), row.get("replicas_missing", "-")


def summary(ctx: Context, args: argparse.Namespace) -> None:
    data = ctx.client.call("GET", "stats-summary")
    ctx.emit(data, describe_summary(data))


def describe_summary(data: dict[str, Any]) -> str:
    """The headline figures; ``--json`` prints everything."""
    balance, capacity = data.get("balance") or {}, data.get("capacity") or {}
    projection, kept = data.get("projection") or {}, data.get("event_ids") or {}
    daily = data.get("daily_capacity") or {}
    rows = [
        ("computed at", data.get("computed_at")),
        ("accounts balanced", balance.get("accounts")),
        ("max/min today", _num(balance.get("max_min_ratio"), "{:.3f}")),
        ("Jain's index", _num(balance.get("jain_index"), "{:.4f}")),
        ("handed out today", size(projection.get("bytes_today"))),
        ("limit today", size(projection.get("limit_today"))),
        ("exhausted at", projection.get("exhausted_at") or "not today"),
        ("target users/month", _num(capacity.get("target_monthly_users"), "{:,}")),
        ("MB per user/month", capacity.get("target_mb_per_user")),
        ("accounts needed", capacity.get("accounts_needed_target")),
        ("active accounts", capacity.get("active_accounts")),
        ("accounts to add", capacity.get("accounts_missing_for_target")),
        ("capacity/day (nominal)", size(daily.get("nominal_bytes_per_day"))),
        ("capacity/day (healthy)", size(daily.get("healthy_bytes_per_day"))),
        ("healthy accounts", daily.get("healthy_accounts")),
        ("of kind", (capacity.get("add_accounts") or {}).get("kind")),
        ("catalogue ceiling", size(capacity.get("catalogue_ceiling_bytes"))),
        ("full / paused accounts",
         f"{capacity.get('full_accounts', 0)} / {capacity.get('paused_accounts', 0)}"),
        ("event ids kept (days)", kept.get("retention_days")),
        ("duplicates refused before", kept.get("horizon")),
    ]
    return table(("FIGURE", "VALUE"), rows, right=("VALUE",))


def _num(value: Any, pattern: str) -> str | None:
    return None if value is None else pattern.format(value)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("report", parents=[common],
                       help="precomputed reports: files, accounts, summary")
    p.add_argument("kind", choices=("files", "accounts", "summary"))
    p.set_defaults(run=lambda ctx, args: REPORTS[args.kind](ctx, args))


REPORTS = {"files": files, "accounts": accounts, "summary": summary}
