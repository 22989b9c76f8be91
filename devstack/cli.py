"""``python -m devstack.cli up [--clean] | down | status | logs [NAME] [-n LINES]``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import requests

from devstack import ports
from devstack.config import StackConfig
from devstack.process import StartError, log_tail, pid_alive
from devstack.stack import Stack


def component_rows(stack: Stack) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, part in stack.info().get("components", {}).items():
        alive = bool(part.get("pid")) and pid_alive(part["pid"])
        state = "up" if alive else "DOWN"
        if alive and part.get("port") and not ports.owned_by(part["port"], part["pid"]):
            state = f"DOWN (port {part['port']}: {ports.holder(part['port'])})"
        if part.get("restarts"):
            state += f" (restarted {part['restarts']}x)"
        rows.append((name, state, str(part.get("pid") or "-"), part.get("url") or "-"))
    return rows


def print_status(stack: Stack) -> int:
    info = stack.info()
    if not info:
        print(f"no stack in {stack.dir} (run: make up)")
        return 1
    rows = component_rows(stack)
    down = [r[0] for r in rows if not r[1].startswith("up")]
    state = info["state"]
    if state == "ready" and down:  # never "ready" with a component down
        state = f"DEGRADED (down: {', '.join(down)})"
    print(f"stack: {state}   dir: {info['dir']}")
    print(f"gateway: {info['gateway_url']}   admin token: {info['admin_token_file']}")
    width = max(len(r[0]) for r in rows) if rows else 10
    for name, row_state, pid, url in rows:
        print(f"  {name:<{width}}  {row_state:<10} pid {pid:<8} {url}")
    return 1 if down or info["state"] != "ready" else 0


def cmd_up(stack: Stack, clean: bool) -> int:
    started = time.monotonic()
    if stack.supervisor_alive():
        print("stack already running")
        return print_status(stack)
    print(f"starting the local stack in {stack.dir} ...", flush=True)
    try:
        stack.up(clean=clean)
    except StartError as exc:
        print(f"stack failed to start:\n{exc}", file=sys.stderr)
        return 1
    print(f"stack up in {time.monotonic() - started:.1f}s")
    return print_status(stack)


def cmd_logs(stack: Stack, name: str | None, lines: int) -> int:
    parts = stack.info().get("components", {})
    names = [name] if name else list(parts)
    for part in names:
        if part not in parts:
            print(f"unknown component {part!r}; known: {', '.join(parts)}", file=sys.stderr)
            return 1
        print(f"==> {part} ({parts[part]['log']}) <==")
        print(log_tail(Path(parts[part]["log"]), lines))
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the stack (data survives down/up)")
    up.add_argument("--clean", action="store_true", help="wipe the data directory first")
    sub.add_parser("down", help="stop every process of the stack")
    sub.add_parser("status", help="show each component")
    logs = sub.add_parser("logs", help="tail the logs")
    logs.add_argument("name", nargs="?")
    logs.add_argument("-n", "--lines", type=int, default=30)
    args = parser.parse_args(argv)
    stack = Stack(StackConfig.from_env())
    if args.command == "up":
        code = cmd_up(stack, args.clean)
    elif args.command == "down":
        stack.down()
        print("stack stopped")
        code = 0
    elif args.command == "status":
        code = print_status(stack)
        if stack.info():
            try:
                requests.get(stack.gateway_url + "/healthz", timeout=2).raise_for_status()
            except requests.RequestException:
                print("gateway not answering")
                code = 1
    else:
        code = cmd_logs(stack, args.name, args.lines)
    sys.exit(code)


if __name__ == "__main__":
    main()
