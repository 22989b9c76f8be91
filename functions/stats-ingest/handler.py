"""stats-ingest (admin; called by stats-compute): store the increments Stats computed, all or
nothing, refusing a batch that names an event already stored (idempotent), and the summary."""

from flask import jsonify

from fileserver.downloader.bootstrap import migrate_schema, report_service
from fileserver.downloader.http_errors import database_outage_as_503
from fileserver.runtime import function_app, json_body, require_admin
from fileserver.runtime.startup import on_first_request

app = database_outage_as_503(function_app("stats-ingest"))
on_first_request(app, migrate_schema)


@app.post("/")
@require_admin
def ingest():
    return jsonify(report_service().ingest(json_body()))
