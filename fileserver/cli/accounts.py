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
    if args.limit_gb is not None:
        if args.limit_gb <= 0:
            raise CliError("--limit-gb must be a positive number", EXIT_USAGE)
        body["daily_limit_bytes"] = int(args.limit_gb * GB)
    account = ctx.client.call("POST", "drive-accounts", json=body)
    ctx.emit(account, f"added account {account['email']} (id {account['id']}, "
                      f"limit {size(account['daily_limit_bytes'])}/day)")


def read_key(path: Path) -> dict[str, Any]:
    """The service-account key file; its content is never printed, not even in errors."""
    try:
        key = json.loads(path.read_text())
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}", EXIT_USAGE) from None
    except ValueError:
        raise CliError(f"{path} is not a JSON service-account key", EXIT_USAGE) from None
    if not isinstance(key, dict):
        raise CliError(f"{path} is not a JSON service-account key", EXIT_USAGE)
    return key


def ls(ctx: Context, args: argparse.Namespace) -> None:
    items = ctx.client.list_all("drive-accounts")
    rows = [(a["id"], a["email"], a["name"], size(a["daily_limit_bytes"]), a["state"])
            for a in items]
    ctx.emit(items, table(("ID", "EMAIL", "NAME", "LIMIT/DAY", "STATE"), rows,
                          right=("LIMIT/DAY",)) + f"\n{len(items)} account(s)")


def rm(ctx: Context, args: argparse.Namespace) -> None:
    account = ctx.client.call("DELETE", "drive-accounts", f"/{args.id}")
    ctx.emit(account, f"removing account {account['email']} (state {account['state']}): "
                      "its copies are deleted from Drive in the background")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("accounts", parents=[common], help="Drive accounts: add, ls, rm")
    cmds = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = cmds.add_parser("add", parents=[common], help="register a service-account key (JSON file)")
    p.add_argument("key", metavar="KEY.json")
    p.add_argument("--name", help="a label (default: the key's client_email)")
    p.add_argument("--limit-gb", type=float, help="daily download limit in GB (default 100)")
    p.set_defaults(run=add)
    cmds.add_parser("ls", parents=[common], help="list the accounts").set_defaults(run=ls)
    p = cmds.add_parser("rm", parents=[common], help="remove an account (its copies are deleted)")
    p.add_argument("id")
    p.set_defaults(run=rm)
