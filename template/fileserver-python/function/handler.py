"""A new fileserver function (`faas-cli new NAME --lang fileserver-python`).

Keep it thin: parse the request, call one service method, return JSON. Errors raised as
``fileserver.errors`` types become JSON errors with the right status (fileserver.runtime).
"""

from flask import jsonify

from fileserver.runtime import function_app, query_str

app = function_app("hello")


@app.get("/")
def hello():
    return jsonify(message=f"hello {query_str('name', required=False) or 'world'}")
