"""The Drive client fileserver uses: google-api-python-client against Google or the emulator.

A ``DriveClient`` is one account's view; every client of a process sends its requests over the
one bounded HTTP pool and reuses its account's one cached credential
(``fileserver.drive.transport``), so a client may be shared by threads and costs little to
build. Keys and tokens are never logged or put in error messages.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any, BinaryIO

import httplib2
from googleapiclient.discovery import build_from_document
from googleapiclient.discovery_cache import get_static_doc

from fileserver.config import int_setting
from fileserver.drive import retry
from fileserver.drive.errors import DriveFatalError
from fileserver.drive.files import FILE_FIELDS, FILESERVER_ID, DriveFile
from fileserver.drive.media import ForwardStreamUpload
from fileserver.drive.transport import DriveTransport, shared_transport

GOOGLE_WEB_ROOT = "https://drive.google.com"
GOOGLE_USERCONTENT_ROOT = "https://drive.usercontent.google.com"
LARGE_FILE_BYTES = 100 * 1000 * 1000  # Google's virus-scan limit: "larger than 100 MB"
CHUNK_SIZE = 5 * 1024 * 1024



@lru_cache(maxsize=16)
def discovery_document(api_root: str | None) -> str:
    """The bundled Drive v3 document; with ``api_root`` every URL points there (plain http
    included, which ``client_options.api_endpoint`` alone does not do for uploads)."""
    document = get_static_doc("drive", "v3")
    if api_root is None:
        return document
    parsed = json.loads(document)
    parsed["rootUrl"] = parsed["mtlsRootUrl"] = api_root
    return json.dumps(parsed)


@lru_cache(maxsize=16)
def shared_document(api_root: str | None) -> dict[str, Any]:
    """``discovery_document`` parsed once per root, for every client's service to share: a
    service built from the text parses its own copy (~0.6 MB, so accounts x threads clients
    added up to hundreds of MB). The library writes each method's derived parameters into the
    dict it is given whenever it builds that method, the same values each time; every resource
    is built once here, before the dict is shared, so later builds (in any thread) only
    overwrite keys that already exist."""
    document = json.loads(discovery_document(api_root))
    _build_every_resource(build_from_document(document, http=httplib2.Http()), document)
    return document


def _build_every_resource(resource: Any, description: dict[str, Any]) -> None:
    for name, nested in description.get("resources", {}).items():
        _build_every_resource(getattr(resource, name)(), nested)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


class DriveClient:
    """Operations on one account's drive, with retries and typed errors."""

    def __init__(self, key: dict, api_root: str | None = None,
                 policy: retry.RetryPolicy | None = None, chunk_size: int = CHUNK_SIZE,
                 transport: DriveTransport | None = None) -> None:
        api_root = api_root if api_root is not None else os.environ.get("DRIVE_API_ROOT") or None
        self.api_root = api_root.rstrip("/") + "/" if api_root else None
        self.policy = policy or retry.RetryPolicy()
        if chunk_size <= 0 or chunk_size % (256 * 1024):
            raise ValueError("chunk_size must be a positive multiple of 256 KiB (Drive's rule)")
        self.chunk_size = chunk_size
        http = (transport or shared_transport()).authorized_http(key)  # checks the key
        # A service account working in a shared drive: every file goes there (_parents).
        self.shared_drive_id: str | None = key.get("shared_drive_id")
        self._service = build_from_document(shared_document(self.api_root), http=http)

    def _call(self, method: str, request: Any) -> Any:
        return retry.call(method, request.execute, self.policy)

    @property
    def _parents(self) -> dict[str, Any]:
        """Where new files go: the shared drive's root, else the account's My Drive."""
        return {"parents": [self.shared_drive_id]} if self.shared_drive_id else {}

    def upload(self, stream: BinaryIO, size: int, name: str, mime_type: str,
               app_properties: dict[str, str]) -> DriveFile:
        """Resumable, chunked upload of ``size`` bytes read forward from ``stream``; resumes
        after dropped connections (the library asks the server how much it holds)."""
        media = ForwardStreamUpload(stream, size, mime_type, self.chunk_size)
        request = self._service.files().create(
            body={"name": name, "mimeType": mime_type, "appProperties": app_properties,
                  **self._parents},
            media_body=media, fields=FILE_FIELDS, supportsAllDrives=True)
        response = None
        while response is None:
            _progress, response = retry.call("files.upload", request.next_chunk, self.policy)
        uploaded = DriveFile.from_api(response)
        if uploaded.size != size:
            self.delete(uploaded.id)
            raise DriveFatalError(f"Drive holds {uploaded.size} bytes, expected {size}")
        return uploaded

    def share_with(self, file_id: str, email: str) -> None:
        """Let another account read (and so copy) the file."""
        self._call("permissions.create", self._service.permissions().create(
            fileId=file_id, body={"type": "user", "role": "reader", "emailAddress": email},
            sendNotificationEmail=False, fields="id", supportsAllDrives=True))

    def share_public(self, file_id: str) -> None:
        """Anyone with the link can read: what the ``/uc`` download link needs."""
        self._call("permissions.create", self._service.permissions().create(
            fileId=file_id, body={"type": "anyone", "role": "reader"}, fields="id",
            supportsAllDrives=True))

    def copy(self, file_id: str, name: str, app_properties: dict[str, str]) -> DriveFile:
        """Server-side copy into this account (into its shared drive, if it has one). The
        source only has to be readable by this account: "anyone with the link" is enough."""
        return DriveFile.from_api(self._call("files.copy", self._service.files().copy(
            fileId=file_id, body={"name": name, "appProperties": app_properties,
                                  **self._parents},
            fields=FILE_FIELDS, supportsAllDrives=True)))

    def get(self, file_id: str) -> DriveFile:
        return DriveFile.from_api(self._call("files.get", self._service.files().get(
            fileId=file_id, fields=FILE_FIELDS, supportsAllDrives=True)))

    def find_by_fileserver_id(self, fileserver_id: str) -> list[DriveFile]:
        """This account's own (or its shared drive's), untrashed files tagged
        ``fileserver_id``."""
        q = (f"appProperties has {{ key='{FILESERVER_ID}' "
             f"and value='{_quote(fileserver_id)}' }}")
        return self._list(q, 100)

    def list_files(self, page_size: int = 1000) -> list[DriveFile]:
        """Every untrashed file this account owns (or its shared drive holds), fetched
        ``page_size`` at a time."""
        return self._list("", page_size)

    def _scope(self, q: str) -> dict[str, Any]:
        """The list parameters of this account's own files. In a shared drive: that drive's
        corpus (files there have no ``owners``); else My Drive's files owned by the account
        (not the ones others shared with it)."""
        q = f"{q} and trashed = false" if q else "trashed = false"
        if self.shared_drive_id:
            return {"q": q, "corpora": "drive", "driveId": self.shared_drive_id,
                    "includeItemsFromAllDrives": True, "supportsAllDrives": True}
        return {"q": f"{q} and 'me' in owners", "corpora": "user"}

    def _list(self, q: str, page_size: int) -> list[DriveFile]:
        found: list[DriveFile] = []
        token: str | None = None
        while True:
            body = self._call("files.list", self._service.files().list(
                pageSize=page_size, pageToken=token,
                fields=f"nextPageToken,files({FILE_FIELDS})", **self._scope(q)))
            found += [DriveFile.from_api(item) for item in body.get("files", [])]
            token = body.get("nextPageToken")
            if not token:
                return found

    def rename(self, file_id: str, name: str) -> DriveFile:
        return DriveFile.from_api(self._call("files.update", self._service.files().update(
            fileId=file_id, body={"name": name}, fields=FILE_FIELDS, supportsAllDrives=True)))

    def delete(self, file_id: str) -> None:
        """Delete for good (in a shared drive the account must be its manager: organizer)."""
        self._call("files.delete", self._service.files().delete(
            fileId=file_id, supportsAllDrives=True))

    def about(self) -> dict[str, Any]:
        """``{"email", "storage_limit", "storage_usage"}`` of this account (``storage_limit``
        None: unlimited, as ``about.get`` omits ``limit`` then). A shared drive's files use
        the organisation's pooled storage, which ``about.get`` does not report (it answers
        the service account's own, none): there the storage is unknown (None, 0)."""
        body = self._call("about.get", self._service.about().get(fields="user,storageQuota"))
        quota = {} if self.shared_drive_id else body.get("storageQuota", {})
        return {"email": body["user"]["emailAddress"],
                "storage_limit": int(quota["limit"]) if "limit" in quota else None,
                "storage_usage": int(quota.get("usage", 0))}

    def download_url(self, file_id: str, size: int | None = None) -> str:
        """The public link handed out for the file: the one place its form is chosen.

        Up to ``DRIVE_LARGE_FILE_BYTES`` (default 100 MB, where Google starts answering its
        "can't scan this file for viruses" page) the documented
        ``{web_root}/uc?id=ID&export=download``. Above it, a form that downloads without that
        page: ``https://drive.usercontent.google.com/download?id=ID&export=download&confirm=t``
        (``DRIVE_USERCONTENT_ROOT`` overrides the host). That form is undocumented by Google
        and changed once (January 2024); see docs/drive.md for how to change it. Against a
        DRIVE_API_ROOT/DRIVE_WEB_ROOT without DRIVE_USERCONTENT_ROOT the large form is
        ``{web_root}/uc?id=ID&export=download&confirm=t`` (its redirect keeps ``confirm``).
        """
        if size is None or size <= int_setting("DRIVE_LARGE_FILE_BYTES", LARGE_FILE_BYTES):
            return f"{self.web_root}/uc?id={file_id}&export=download"
        usercontent = os.environ.get("DRIVE_USERCONTENT_ROOT", "").rstrip("/")
        if usercontent or not (self.api_root or os.environ.get("DRIVE_WEB_ROOT")):
            root = usercontent or GOOGLE_USERCONTENT_ROOT
            return f"{root}/download?id={file_id}&export=download&confirm=t"
        return f"{self.web_root}/uc?id={file_id}&export=download&confirm=t"

    def shared_drive(self) -> dict[str, Any]:
        """``drives.get`` of this account's shared drive (``{"id", "name"}``); DriveNotFound
        if it does not exist or the account is not a member."""
        if not self.shared_drive_id:
            raise DriveFatalError("this account has no shared drive")
        return self._call("drives.get", self._service.drives().get(
            driveId=self.shared_drive_id, fields="id,name"))

    @property
    def web_root(self) -> str:
        override = os.environ.get("DRIVE_WEB_ROOT")
        if override:
            return override.rstrip("/")
        return self.api_root.rstrip("/") if self.api_root else GOOGLE_WEB_ROOT
