"""Drive v3 shared drives: ``drives.create`` (``requestId``), ``drives.get``, ``drives.list``.
Members are managed through ``permissions.*`` on the drive's id (routes_api.py)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from emulators.drive.drives import drive_resource
from emulators.drive.resources import shaped
from emulators.drive.web import backend, caller, json_object

blueprint = Blueprint("drive_drives", __name__, url_prefix="/drive/v3")
DEFAULT_DRIVE_FIELDS = "kind,id,name"


def _drive_json(row: dict) -> Response:
    return jsonify(shaped(drive_resource(row), request.args.get("fields"),
                          DEFAULT_DRIVE_FIELDS, "Drive"))


@blueprint.post("/drives")
def drives_create() -> Response:
    me = caller("drives.create")
    body = json_object()
    return _drive_json(backend().drives.create(me, request.args.get("requestId"),
                                               body.get("name")))


@blueprint.get("/drives/<drive_id>")
def drives_get(drive_id: str) -> Response:
    me = caller("drives.get")
    return _drive_json(backend().drives.get(me, drive_id))


@blueprint.get("/drives")
def drives_list() -> Response:
    me = caller("drives.list")
    body = {"kind": "drive#driveList",
            "drives": [drive_resource(row) for row in backend().drives.list(me)]}
    return jsonify(shaped(body, request.args.get("fields"),
                          "kind,nextPageToken,drives(kind,id,name)", "DriveList"))
