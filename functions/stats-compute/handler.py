"""stats-compute: download events in, increments and derived figures out to stats-ingest.

Invoked asynchronously through ``/async-function/stats-compute`` with ``{"events": [...]}``.
"""

from flask import jsonify

from fileserver.runtime import function_app, json_body
from fileserver.stats.bootstrap import stats_service

app = function_app("stats-compute")


@app.post("/")
def compute_events():
    return jsonify(stats_service().compute(json_body().get("events")))
