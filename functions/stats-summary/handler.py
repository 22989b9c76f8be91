"""stats-summary: the latest derived figures computed by Stats (balance, projections, capacity)."""

from flask import jsonify

from fileserver.downloader.bootstrap import report_service
from fileserver.runtime import function_app

app = function_app("stats-summary")


@app.get("/")
def summary():
    return jsonify(report_service().summary())
