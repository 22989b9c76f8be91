"""A Drive file as fileserver sees it: the one type the Drive client answers and the
replicator reasons about (``files.get``/``list``/``copy`` with ``FILE_FIELDS``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FILE_FIELDS = "id,name,size,md5Checksum,appProperties"
FILESERVER_ID = "fileserver_id"  # the appProperties key naming the fileserver file a copy is of


@dataclass(frozen=True)
class DriveFile:
    id: str
    name: str
    size: int
    md5: str
    app_properties: dict[str, str] = field(default_factory=dict, hash=False)

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> DriveFile:
        """From a Drive v3 file resource (fields ``FILE_FIELDS``)."""
        return cls(id=str(body["id"]), name=str(body.get("name", "")),
                   size=int(body.get("size") or 0), md5=str(body.get("md5Checksum") or ""),
                   app_properties=dict(body.get("appProperties") or {}))

    @property
    def fileserver_id(self) -> str | None:
        """The fileserver file this is a copy of (None: not one of fileserver's)."""
        return self.app_properties.get(FILESERVER_ID)
