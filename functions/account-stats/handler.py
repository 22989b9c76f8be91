"""account-stats: precomputed download figures per account (a sorted page, or one)."""

from flask import jsonify

from fileserver.downloader.bootstrap import migrate_schema, report_service
from fileserver.downloader.http_errors import database_outage_as_503
from fileserver.runtime import function_app, paging, query_str
from fileserver.runtime.startup import on_first_request

app = database_outage_as_503(function_app("account-stats"))
on_first_request(app, migrate_schema)


@app.get("/")
def list_accounts():
    limit, offset = paging()
    listing = report_service().account_list(limit, offset, query_str("sort"), query_str("order"))
    return jsonify(listing)


@app.get("/<account_id>")
def one_account(account_id: str):
    return jsonify(report_service().account_one(account_id))
