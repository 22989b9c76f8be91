"""Domain metrics of the Uploader (the runtime adds the HTTP ones)."""

from __future__ import annotations

from prometheus_client import Counter

UPLOAD_BYTES = Counter("fileserver_upload_bytes", "Bytes stored by completed uploads")
UPLOADS = Counter("fileserver_uploads", "Uploads by outcome", ["outcome"])
JOBS_PUBLISHED = Counter("fileserver_jobs_published", "Replication jobs published",
                         ["kind", "outcome"])
FILE_REGISTRATIONS = Counter("fileserver_upload_registrations",
                             "New files registered with the Downloader at upload time, best effort",
                             ["outcome"])
