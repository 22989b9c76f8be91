"""echo: the benchmarks' baseline and the local gateway tests' trivial function.

Not a product function: it lives under ``bench/functions/`` (not ``functions/``), so
``stack.yml`` does not deploy it and the local stack starts it only when asked for by name
(``StackConfig(functions=["echo", ...])``; see ``devstack.config.function_dir``).

Answers what it received: method, path, query, headers, and the body's size and sha256,
reading the body as a stream (never whole in memory).
"""

from __future__ import annotations

import hashlib

from flask import jsonify, request

from fileserver.runtime import function_app

app = function_app("echo")


@app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@app.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def echo(path: str):
    digest = hashlib.sha256()
    size = 0
    while block := request.stream.read(1 << 16):
        digest.update(block)
        size += len(block)
    status = int(request.args.get("status", "200"))
    response = jsonify(method=request.method, path="/" + path, query=request.args.to_dict(),
                       headers=dict(request.headers), size=size, sha256=digest.hexdigest())
    response.status_code = status if 200 <= status < 600 else 400
    response.headers["X-Echo"] = "yes"
    return response
