"""downloader-sync: the replicator's idempotent, versioned messages about the registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fileserver.downloader import validation as v
from fileserver.downloader.repository import RegistryRepository


def shown_account(body: dict[str, Any]) -> dict[str, Any]:
    """The optional account fields account-stats shows (kind, state, storage)."""
    def count(name: str) -> int | None:
        return None if body.get(name) is None else v.integer(body[name], name)

    checked = body.get("storage_checked_at")
    return {"kind": v.text(body.get("kind"), "kind", 32, optional=True),
            "state": v.text(body.get("state"), "state", 32, optional=True),
            "storage_limit_bytes": count("storage_limit_bytes"),
            "storage_usage_bytes": count("storage_usage_bytes"),
            "storage_checked_at": None if checked is None
            else v.timestamp(checked, "storage_checked_at").isoformat()}


class SyncService:
    def __init__(self, registry: RegistryRepository) -> None:
        self.registry = registry

    def put_account(self, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
        applied = self.registry.put_account(
            v.ident(account_id, "account id"), v.text(body.get("email"), "email", 320) or "",
            v.integer(body.get("daily_limit_bytes"), "daily_limit_bytes"),
            v.boolean(body.get("active"), "active"), v.integer(body.get("version"), "version"),
            shown_account(body))
        return {"applied": applied, "account_id": account_id}

    def delete_account(self, account_id: str, version: str | None) -> dict[str, Any]:
        applied = self.registry.delete_account(v.ident(account_id, "account id"),
                                               v.version_arg(version))
        return {"applied": applied, "account_id": account_id}

    def put_file(self, file_id: str, body: dict[str, Any]) -> dict[str, Any]:
        applied = self.registry.put_file(
            v.ident(file_id, "file id"), v.text(body.get("name"), "name") or "",
            v.integer(body.get("size"), "size"), v.text(body.get("md5"), "md5", 64, optional=True),
            v.integer(body.get("version"), "version"), v.sha256_hex(body.get("sha256")))
        return {"applied": applied, "file_id": file_id}

    def delete_file(self, file_id: str, version: str | None) -> dict[str, Any]:
        applied = self.registry.delete_file(v.ident(file_id, "file id"), v.version_arg(version))
        return {"applied": applied, "file_id": file_id}

    def put_replica(self, file_id: str, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
        applied = self.registry.put_replica(
            v.ident(file_id, "file id"), v.ident(account_id, "account id"),
            v.text(body.get("drive_file_id"), "drive_file_id", 256) or "",
            v.http_url(body.get("url"), "url"), v.integer(body.get("version"), "version"))
        return {"applied": applied, "file_id": file_id, "account_id": account_id}

    def delete_replica(self, file_id: str, account_id: str, version: str | None) -> dict[str, Any]:
        applied = self.registry.delete_replica(v.ident(file_id, "file id"),
                                               v.ident(account_id, "account id"),
                                               v.version_arg(version))
        return {"applied": applied, "file_id": file_id, "account_id": account_id}

    def replicas(self, file_id: str | None, account_id: str | None) -> Iterator[str]:
        """``{"items": [...]}`` as JSON text in pieces, rows streamed from the database: the
        whole registry (accounts x files rows) is never held in memory. Arguments are
        checked before the first piece."""
        if file_id is not None:
            v.ident(file_id, "file_id")
        if account_id is not None:
            v.ident(account_id, "account_id")
        rows = self.registry.iter_replicas(file_id, account_id)
        first = next(rows, None)  # a database outage surfaces here, before any byte is sent
        return _json_items(first, rows)

    def replica_accounts(self) -> dict[str, Any]:
        """``{"items": [account id, ...]}``: every account with live rows in the registry, so
        that a paged reader (the reconciler) also finds rows of accounts it does not know."""
        return {"items": self.registry.replica_accounts()}


def _json_items(first: dict[str, Any] | None, rest: Iterator[dict[str, Any]]) -> Iterator[str]:
    yield '{"items": ['
    if first is not None:
        yield json.dumps(first)
        batch: list[str] = []
        for row in rest:
            batch.append(json.dumps(row))
            if len(batch) >= 1000:
                yield "," + ",".join(batch)
                batch = []
        if batch:
            yield "," + ",".join(batch)
    yield "]}"
