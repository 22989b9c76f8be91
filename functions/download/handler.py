"""download: ``GET /FILE_ID[/NAME]`` → 302 to the chosen replica (booked as get-url books),
``Link: rel=duplicate`` for other holders, ``Repr-Digest``; Metalink 4 with ``?metalink`` or
``Accept: application/metalink4+xml``; ``HEAD`` answers the same headers and books nothing.
With signed links on (secret ``download-link-secret``), only a link with a valid ``expires``
and ``sig`` is served: else 403, nothing booked."""

from flask import request

from fileserver.downloader.bootstrap import (
    client_limits,
    duplicate_links,
    migrate_schema,
    redirect_service,
    signer,
    start_outbox,
)
from fileserver.downloader.http_errors import database_outage_as_503
from fileserver.downloader.links_http import check_signed_link
from fileserver.downloader.redirect_http import (
    html_error_pages,
    metalink_response,
    redirect_response,
    wants_metalink,
)
from fileserver.downloader.service import utc_now
from fileserver.runtime import function_app
from fileserver.runtime.startup import on_first_request

app = html_error_pages(database_outage_as_503(function_app("download")))
on_first_request(app, migrate_schema, start_outbox)  # it writes the outbox
METALINK_SOURCES = 1000  # a Metalink lists every holder that has room today


@app.route("/<file_id>", methods=["GET", "HEAD"])
@app.route("/<file_id>/<path:name>", methods=["GET", "HEAD"])
def download(file_id: str, name: str | None = None):
    check_signed_link(signer(), file_id)  # before anything is booked
    service = redirect_service()
    metalink = wants_metalink()
    count = METALINK_SOURCES if metalink else duplicate_links()
    found = service.peek(file_id, count) if request.method == "HEAD" else \
        service.redirect(file_id, count, client_limits().client_of_request())
    return metalink_response(found, utc_now()) if metalink else redirect_response(found)
