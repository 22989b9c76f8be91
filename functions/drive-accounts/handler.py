"""drive-accounts (admin): CRUD of the Google Drive accounts files are replicated to.

Three kinds of key (authorized_user; service_account + shared_drive_id; service_account +
subject) and a plain service account with storage of its own. The key is validated, checked
live with Google unless ``?verify=false``, stored encrypted, and never returned (see
docs/uploader.md).
"""

from __future__ import annotations

from flask import jsonify, request

from fileserver.errors import BadRequest
from fileserver.runtime import function_app, json_body, paging, query_str, require_admin
from fileserver.runtime.startup import on_first_request
from fileserver.uploader.bootstrap import ensure_indexes, services
from fileserver.uploader.http_errors import database_outage_as_503

app = database_outage_as_503(function_app("drive-accounts"))
on_first_request(app, ensure_indexes)


def _verify_flag() -> bool:
    raw = (request.args.get("verify") or "true").lower()
    if raw not in ("true", "false", "1", "0"):
        raise BadRequest("verify must be true or false")
    return raw in ("true", "1")


@app.post("/")
@require_admin
def create_account():
    account = services().accounts.create(json_body(), _verify_flag())
    return jsonify(account.to_json()), 201


@app.get("/")
@require_admin
def list_accounts():
    limit, offset = paging()
    items, total = services().accounts.list(query_str("state"), limit, offset)
    return jsonify(items=[a.to_json() for a in items], total=total, limit=limit, offset=offset)


@app.get("/<account_id>")
@require_admin
def get_account(account_id: str):
    return jsonify(services().accounts.get(account_id).to_json())


@app.patch("/<account_id>")
@require_admin
def update_account(account_id: str):
    account = services().accounts.update(account_id, json_body(), _verify_flag())
    return jsonify(account.to_json())


@app.delete("/<account_id>")
@require_admin
def delete_account(account_id: str):
    return jsonify(services().accounts.remove(account_id).to_json()), 202
