"""files: list and inspect uploaded files (replica progress); rename and delete (admin); repair
requests from the Downloader's prober (admin)."""

from __future__ import annotations

from flask import jsonify

from fileserver.runtime import function_app, json_body, paging, query_str, require_admin
from fileserver.runtime.startup import on_first_request
from fileserver.uploader.bootstrap import ensure_indexes, repair_service, services
from fileserver.uploader.http_errors import database_outage_as_503

app = database_outage_as_503(function_app("files"))
on_first_request(app, ensure_indexes)


@app.get("/")
def list_files():
    limit, offset = paging()
    items, total = services().files.list(query_str("status"), query_str("sort"), limit, offset)
    return jsonify(items=[f.to_json() for f in items], total=total, limit=limit, offset=offset)


@app.get("/<file_id>")
def get_file(file_id: str):
    return jsonify(services().files.get(file_id).to_json())


@app.patch("/<file_id>")
@require_admin
def rename_file(file_id: str):
    return jsonify(services().files.rename(file_id, json_body()).to_json())


@app.delete("/<file_id>")
@require_admin
def delete_file(file_id: str):
    return jsonify(services().files.delete(file_id).to_json()), 202


@app.post("/<file_id>/repairs")
@require_admin
def request_repair(file_id: str):
    """The Downloader's prober asks for a fresh copy of a missing or quota-blocked replica:
    202 when the repair job is queued, 200 when that copy is no longer the replica."""
    answer, queued = repair_service().request(file_id, json_body())
    return jsonify(answer), 202 if queued else 200
