"""A new fileserver function (`faas-cli new NAME --lang fileserver-python`).

Keep it thin: parse the request, call one service method, return JSON. Errors raised as
``fileserver.errors`` types become JSON errors with the right status (fileserver.runtime).
"""

from flask import jsonify

from fileserver.runtime import function_app, function_name, query_str

# `faas-cli new NAME` puts this file in NAME/: the function is named NAME (its health answer,
# metrics and logs say so). In the image the folder is "function": set FUNCTION_NAME in
# stack.yml, or write the name here.
app = function_app(function_name(__file__))


@app.get("/")
def hello():
    return jsonify(message=f"hello {query_str('name', required=False) or 'world'}")
