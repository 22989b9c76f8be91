"""``--wait``: follow replication account by account until every file is ``uploaded``."""

from __future__ import annotations

import time
from typing import Any

from fileserver.cli.context import Context
from fileserver.cli.errors import EXIT_VERIFY, CliError

POLL_SECONDS = 0.5


def account_emails(ctx: Context) -> dict[str, str]:
    """Account id -> email, to name the accounts as they receive their copy."""
    return {a["id"]: a["email"] for a in ctx.client.list_all("drive-accounts")}


def wait_uploaded(ctx: Context, files: list[dict[str, Any]], timeout: float) -> list[dict]:
    """Poll each file until ``uploaded``; print each replica as it becomes ready."""
    emails = account_emails(ctx)
    seen: dict[str, set[str]] = {f["id"]: set() for f in files}
    final: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while len(final) < len(files):
        for file in files:
            if file["id"] not in final:
                doc = ctx.client.call("GET", "files", f"/{file['id']}")
                _report_new_replicas(ctx, doc, seen[doc["id"]], emails)
                if _finished(ctx, doc):
                    final[doc["id"]] = doc
        if len(final) < len(files):
            if time.monotonic() > deadline:
                names = [f["name"] for f in files if f["id"] not in final]
                raise CliError(f"still replicating after {timeout:.0f}s: {names}", EXIT_VERIFY)
            time.sleep(POLL_SECONDS)
    return [final[f["id"]] for f in files]


def _report_new_replicas(ctx: Context, doc: dict[str, Any], seen: set[str],
                         emails: dict[str, str]) -> None:
    reps = doc["replicas"]
    for replica in reps["accounts"]:
        account = replica["account_id"]
        if replica["state"] == "ready" and account not in seen:
            seen.add(account)
            ctx.say(f"  {doc['name']}: copy on {emails.get(account, account)} ready "
                    f"({len(seen)}/{reps['total']})")


def _finished(ctx: Context, doc: dict[str, Any]) -> bool:
    if doc["status"] == "uploaded":
        reps = doc["replicas"]
        cannot = [f"{r['account_id']} {r['state']}" for r in reps["accounts"]
                  if r["state"] in ("full", "paused", "failed")]
        ctx.say(f"  {doc['name']}: uploaded on {reps['ready']} account(s)"
                + (f"; cannot hold it now: {', '.join(cannot)}" if cannot else ""))
        return True
    if doc["status"] in ("failed", "deleting"):
        raise CliError(f"replication of {doc['name']} ({doc['id']}) ended with status "
                       f"{doc['status']}", EXIT_VERIFY)
    return False
