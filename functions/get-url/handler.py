"""get-url: ``GET /?id=FILE_ID`` → the download URL of the least-loaded account holding the file,
and ``download_url``, the download redirector's link for the same file (per-client limits:
429 beyond the client's rate, the same link again within the window)."""

from flask import jsonify

from fileserver.downloader.bootstrap import client_limits, download_service
from fileserver.downloader.http_errors import database_outage_as_503
from fileserver.downloader.redirect_http import redirector_link
from fileserver.runtime import function_app, query_str

app = database_outage_as_503(function_app("get-url"))


@app.get("/")
def get_url():
    file_id = query_str("id", required=True)
    found = download_service().get_url(file_id, client_limits().client_of_request())
    return jsonify({**found, "download_url": redirector_link(found["file_id"], found["name"])})
