"""get-url: ``GET /?id=FILE_ID`` → the download URL of the least-loaded account holding the file."""

from flask import jsonify

from fileserver.downloader.bootstrap import download_service
from fileserver.downloader.http_errors import database_outage_as_503
from fileserver.runtime import function_app, query_str

app = database_outage_as_503(function_app("get-url"))


@app.get("/")
def get_url():
    return jsonify(download_service().get_url(query_str("id", required=True)))
