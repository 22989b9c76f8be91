"""account-stats: precomputed download figures per account (a sorted page, or one)."""

from flask import jsonify

from fileserver.downloader.bootstrap import report_service
from fileserver.downloader.http_errors import database_outage_as_503
from fileserver.runtime import function_app, paging, query_str

app = database_outage_as_503(function_app("account-stats"))


@app.get("/")
def list_accounts():
    limit, offset = paging()
    listing = report_service().account_list(limit, offset, query_str("sort"), query_str("order"))
    return jsonify(listing)


@app.get("/<account_id>")
def one_account(account_id: str):
    return jsonify(report_service().account_one(account_id))
