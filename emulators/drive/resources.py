"""Wire shapes: file rows to Drive v3 ``drive#file`` resources, fields masks, ranges."""

from __future__ import annotations

import re
from typing import Any

from emulators.drive import fields as fields_mask
from emulators.drive import schema as field_schema
from emulators.drive.errors import DriveApiError

DEFAULT_FILE_FIELDS = "kind,id,name,mimeType"
DEFAULT_LIST_FIELDS = "kind,nextPageToken,incompleteSearch,files(kind,id,name,mimeType)"


def file_resource(row: dict[str, Any], root: str, me: str | None) -> dict[str, Any]:
    """A ``drive#file``; a shared-drive file has ``driveId`` and no ``owners``."""
    resource: dict[str, Any] = {
        "kind": "drive#file", "id": row["id"], "name": row["name"],
        "mimeType": row["mime_type"], "size": str(row["size"]), "md5Checksum": row["md5"],
        "appProperties": row["app_properties"], "trashed": bool(row["trashed"]),
        "createdTime": row["created_time"], "modifiedTime": row["modified_time"],
        "webContentLink": f"{root}uc?id={row['id']}&export=download",
        "webViewLink": f"{root}file/d/{row['id']}/view",
    }
    if row.get("drive_id"):
        resource.update(driveId=row["drive_id"], parents=[row["drive_id"]], ownedByMe=False)
    else:
        resource.update(ownedByMe=row["owner"] == me, owners=[
            {"kind": "drive#user", "emailAddress": row["owner"], "me": row["owner"] == me}])
    return resource


def shaped(value: dict[str, Any], mask: str | None, default: str,
           schema: str = "File") -> dict[str, Any]:
    """Apply the ``fields`` mask; a name Google's ``schema`` lacks answers 400."""
    selector = fields_mask.parse(mask or default)
    if mask:
        field_schema.check(selector, schema)
    return fields_mask.apply(value, selector)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Parse ``Range: bytes=a-b|a-|-n``; None means the whole body; 416 if unsatisfiable."""
    if not header:
        return None
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise DriveApiError(416, "requestedRangeNotSatisfiable", "Request range not satisfiable",
                            {"Content-Range": f"bytes */{size}"})
    return start, end
