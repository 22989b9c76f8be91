"""The Drive client: ``DriveClient``, ``DriveFile`` and the typed errors."""

from fileserver.drive.client import DriveClient, DriveFile
from fileserver.drive.errors import (
    DriveError,
    DriveFatalError,
    DriveNotFound,
    DriveQuotaExceeded,
    DriveRetryableError,
)

__all__ = ["DriveClient", "DriveError", "DriveFatalError", "DriveFile", "DriveNotFound",
           "DriveQuotaExceeded", "DriveRetryableError"]
