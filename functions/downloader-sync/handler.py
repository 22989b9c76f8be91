"""downloader-sync (admin): versioned, idempotent registry messages from the replicator; and
``POST /links``, which mints a signed, expiring download link."""

from flask import Response, jsonify, request

from fileserver.downloader.bootstrap import (
    database,
    health_service,
    migrate_schema,
    signer,
    sync_service,
)
from fileserver.downloader.http_errors import database_outage_as_503
from fileserver.downloader.links_http import mint_link
from fileserver.runtime import function_app, json_body, query_str, require_admin
from fileserver.runtime.startup import on_first_request

app = database_outage_as_503(function_app("downloader-sync"))
on_first_request(app, migrate_schema)


@app.put("/accounts/<account_id>")
@require_admin
def put_account(account_id: str):
    return jsonify(sync_service().put_account(account_id, json_body()))


@app.delete("/accounts/<account_id>")
@require_admin
def delete_account(account_id: str):
    return jsonify(sync_service().delete_account(account_id, request.args.get("version")))


@app.put("/files/<file_id>")
@require_admin
def put_file(file_id: str):
    return jsonify(sync_service().put_file(file_id, json_body()))


@app.delete("/files/<file_id>")
@require_admin
def delete_file(file_id: str):
    return jsonify(sync_service().delete_file(file_id, request.args.get("version")))


@app.put("/replicas/<file_id>/<account_id>")
@require_admin
def put_replica(file_id: str, account_id: str):
    return jsonify(sync_service().put_replica(file_id, account_id, json_body()))


@app.delete("/replicas/<file_id>/<account_id>")
@require_admin
def delete_replica(file_id: str, account_id: str):
    return jsonify(sync_service().delete_replica(file_id, account_id, request.args.get("version")))


@app.get("/replicas")
@require_admin
def list_replicas():
    """Streamed: the registry of 200 accounts x 1,000 files is 200,000 rows."""
    return Response(sync_service().replicas(query_str("file_id"), query_str("account_id")),
                    mimetype="application/json")


@app.get("/replicas/accounts")
@require_admin
def list_replica_accounts():
    """The account ids with live replicas: with ``GET /replicas?account_id=`` a reader pages
    the registry one account at a time."""
    return jsonify(sync_service().replica_accounts())


@app.post("/links")
@require_admin
def post_link():
    return jsonify(mint_link(signer(), database(), json_body())), 201


@app.get("/health")
@require_admin
def replica_health():
    """Blocked and missing replicas, replicas by state and the daily capacity."""
    return jsonify(health_service().report(query_str("file_id"), query_str("account_id")))


@app.put("/health/clock")
@require_admin
def prober_clock():
    """The prober's clock offset in seconds (tests: moved with the Drive emulator's)."""
    return jsonify(health_service().set_clock(json_body()))
