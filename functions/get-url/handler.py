"""get-url: ``GET /?id=FILE_ID`` → the download URL of the least-loaded account holding the file,
and ``download_url``, the download redirector's link for the same file (signed when signed
links are on); per-client limits: 429 beyond the client's rate, the same link again within
the de-duplication window."""

from flask import jsonify

from fileserver.downloader.bootstrap import (
    client_limits,
    download_service,
    migrate_schema,
    signer,
    start_outbox,
)
from fileserver.downloader.http_errors import database_outage_as_503
from fileserver.downloader.links_http import download_url
from fileserver.downloader.signed_links import link_ttl
from fileserver.runtime import function_app, query_str
from fileserver.runtime.startup import on_first_request

app = database_outage_as_503(function_app("get-url"))
on_first_request(app, migrate_schema, start_outbox)  # it writes the outbox


@app.get("/")
def get_url():
    file_id = query_str("id", required=True)
    found = download_service().get_url(file_id, client_limits().client_of_request())
    link = download_url(signer(), found["file_id"], found["name"], link_ttl())
    return jsonify({**found, "download_url": link})
