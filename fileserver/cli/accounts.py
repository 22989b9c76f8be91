"""``fileserver accounts add|ls|rm``: the Drive accounts (function ``drive-accounts``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from fileserver.cli.context import Context
from fileserver.cli.errors import EXIT_USAGE, CliError
from fileserver.cli.tables import size, table

GB = 10**9


def add(ctx: Context, args: argparse.Namespace) -> None:
    key = read_key(Path(args.key))
    body: dict[str, Any] = {"name": args.name or key.get("client_email") or Path(args.key).stem,
                            "key": key}
    if args.shared_drive:
        body["shared_drive_id"] = args.shared_drive
    if args.subject:
        body["subject"] = args.subject
    if args.limit_gb is not None:
        if args.limit_gb <= 0:
            raise CliError("--limit-gb must be a positive number", EXIT_USAGE)
        body["daily_limit_bytes"] = int(args.limit_gb * GB)
    params = {"verify": "false"} if args.no_verify else None
    account = ctx.client.call("POST", "drive-accounts", json=body, params=params)
    ctx.emit(account, f"added account {account['email']} (id {account['id']}, "
                      f"{account.get('kind', 'service_account')}, storage "
                      f"{storage_text(account)}, limit {size(account['daily_limit_bytes'])}/day)")


def read_key(path: Path) -> dict[str, Any]:
    """The key file (service_account or authorized_user JSON); its content is never printed,
    not even in errors."""
    try:
        key = json.loads(path.read_text())
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}", EXIT_USAGE) from None
    except ValueError:
        raise CliError(f"{path} is not a JSON key file", EXIT_USAGE) from None
    if not isinstance(key, dict):
        raise CliError(f"{path} is not a JSON key file", EXIT_USAGE)
    return key


def storage_text(account: dict[str, Any]) -> str:
    """``used/limit`` of the account's Drive storage as last measured (``?``: not yet)."""
    storage = account.get("storage") or {}
    if not storage.get("checked_at") and not storage.get("usage_bytes"):
        return "?"
    limit = storage.get("limit_bytes")
    used = size(storage.get("usage_bytes") or 0)
    return f"{used}/{size(limit) if limit is not None else 'unlimited'}"


def state_text(account: dict[str, Any]) -> str:
    """The state, with the reason the replicator gave (full, paused, disabled) shortened."""
    state, reason = account["state"], account.get("state_reason")
    until = account.get("paused_until")
    if until:
        state += f" until {until[:16].replace('T', ' ')} UTC"
    return f"{state}: {reason[:60]}" if reason else state


def ls(ctx: Context, args: argparse.Namespace) -> None:
    items = ctx.client.list_all("drive-accounts")
    rows = [(a["id"], a["email"], a["name"], a.get("kind", "service_account"), storage_text(a),
             size(a["daily_limit_bytes"]), state_text(a)) for a in items]
    states = [a["state"] for a in items]
    summary = ", ".join(f"{states.count(s)} {s}" for s in dict.fromkeys(states))
    ctx.emit(items, table(("ID", "EMAIL", "NAME", "KIND", "STORAGE", "LIMIT/DAY", "STATE"),
                          rows, right=("LIMIT/DAY", "STORAGE"))
             + f"\n{len(items)} account(s)" + (f": {summary}" if summary else ""))


def rm(ctx: Context, args: argparse.Namespace) -> None:
    account = ctx.client.call("DELETE", "drive-accounts", f"/{args.id}")
    ctx.emit(account, f"removing account {account['email']} (state {account['state']}): "
                      "its copies are deleted from Drive in the background")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("accounts", parents=[common], help="Drive accounts: add, ls, rm")
    cmds = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = cmds.add_parser("add", parents=[common],
                        help="register a Drive key (service_account or authorized_user JSON)")
    p.add_argument("key", metavar="KEY.json")
    p.add_argument("--name", help="a label (default: the key's client_email or file name)")
    p.add_argument("--shared-drive", metavar="DRIVE_ID",
                   help="a service account working in this shared drive (it must be a member)")
    p.add_argument("--subject", metavar="EMAIL",
                   help="a service account acting as this Workspace user (delegation)")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the live check with Google (service-account keys only)")
    p.add_argument("--limit-gb", type=float, help="daily download limit in GB (default 100)")
    p.set_defaults(run=add)
    cmds.add_parser("ls", parents=[common], help="list the accounts").set_defaults(run=ls)
    p = cmds.add_parser("rm", parents=[common], help="remove an account (its copies are deleted)")
    p.add_argument("id")
    p.set_defaults(run=rm)
