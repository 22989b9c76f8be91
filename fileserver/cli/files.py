"""``fileserver files ls|show|rename|rm``: the stored files (function ``files``)."""

from __future__ import annotations

import argparse
from typing import Any

from fileserver.cli.context import Context
from fileserver.cli.tables import size, table

STATUSES = ("replicating", "uploaded", "deleting", "failed")


def replicas_text(file: dict[str, Any]) -> str:
    reps = file["replicas"]
    return f"{reps['ready']}/{reps['total']}"


def ls(ctx: Context, args: argparse.Namespace) -> None:
    params = {"status": args.status} if args.status else {}
    items = ctx.client.list_all("files", **params)
    rows = [(f["id"], f["name"], size(f["size"]), f["status"], replicas_text(f),
             f["created_at"]) for f in items]
    ctx.emit(items, table(("ID", "NAME", "SIZE", "STATUS", "REPLICAS", "CREATED"), rows,
                          right=("SIZE", "REPLICAS")) + f"\n{len(items)} file(s)")


def show(ctx: Context, args: argparse.Namespace) -> None:
    file = ctx.client.call("GET", "files", f"/{args.id}")
    ctx.emit(file, describe(file))


def describe(file: dict[str, Any]) -> str:
    fields = [("id", file["id"]), ("name", file["name"]),
              ("size", f"{size(file['size'])} ({file['size']:,} bytes)"),
              ("type", file.get("content_type")), ("status", file["status"]),
              ("replicas", f"{replicas_text(file)} ready"), ("sha256", file["sha256"]),
              ("md5", file["md5"]), ("version", file["version"]),
              ("created", file["created_at"]), ("updated", file["updated_at"])]
    head = "\n".join(f"{name + ':':<10} {value}" for name, value in fields)
    rows = [(r["account_id"], r["state"], r.get("drive_file_id"))
            for r in file["replicas"]["accounts"]]
    return head + "\n\n" + table(("ACCOUNT", "STATE", "DRIVE FILE"), rows)


def rename(ctx: Context, args: argparse.Namespace) -> None:
    file = ctx.client.call("PATCH", "files", f"/{args.id}", json={"name": args.name})
    ctx.emit(file, f"renamed {file['id']} to {file['name']!r} (version {file['version']})")


def rm(ctx: Context, args: argparse.Namespace) -> None:
    file = ctx.client.call("DELETE", "files", f"/{args.id}")
    ctx.emit(file, f"deleting {file['name']!r} ({file['id']}): status {file['status']}, "
                   "its copies are removed from Drive in the background")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("files", parents=[common], help="stored files: ls, show, rename, rm")
    cmds = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = cmds.add_parser("ls", parents=[common], help="list files")
    p.add_argument("--status", choices=STATUSES)
    p.set_defaults(run=ls)
    p = cmds.add_parser("show", parents=[common], help="one file with its replicas")
    p.add_argument("id")
    p.set_defaults(run=show)
    p = cmds.add_parser("rename", parents=[common], help="rename a file (Drive copies follow)")
    p.add_argument("id")
    p.add_argument("name")
    p.set_defaults(run=rename)
    p = cmds.add_parser("rm", parents=[common], help="delete a file and its copies")
    p.add_argument("id")
    p.set_defaults(run=rm)
