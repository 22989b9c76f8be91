"""file-stats: precomputed download figures per file (list with paging and sorting, or one)."""

from flask import jsonify

from fileserver.downloader.bootstrap import migrate_schema, report_service
from fileserver.downloader.http_errors import database_outage_as_503
from fileserver.runtime import function_app, paging, query_str
from fileserver.runtime.startup import on_first_request

app = database_outage_as_503(function_app("file-stats"))
on_first_request(app, migrate_schema)


@app.get("/")
def list_files():
    limit, offset = paging()
    return jsonify(report_service().file_list(limit, offset, query_str("sort"), query_str("order")))


@app.get("/<file_id>")
def one_file(file_id: str):
    return jsonify(report_service().file_one(file_id))
