"""stats-summary: the latest derived figures computed by Stats (balance, projections, capacity)."""

from flask import jsonify

from fileserver.downloader.bootstrap import migrate_schema, report_service
from fileserver.downloader.http_errors import database_outage_as_503
from fileserver.runtime import function_app
from fileserver.runtime.startup import on_first_request

app = database_outage_as_503(function_app("stats-summary"))
on_first_request(app, migrate_schema)


@app.get("/")
def summary():
    return jsonify(report_service().summary())
