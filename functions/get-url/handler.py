"""get-url: ``GET /?id=FILE_ID`` → the download URL of the least-loaded account holding the file."""

from flask import jsonify

from fileserver.downloader.bootstrap import download_service
from fileserver.runtime import function_app, query_str

app = function_app("get-url")


@app.get("/")
def get_url():
    return jsonify(download_service().get_url(query_str("id", required=True)))
