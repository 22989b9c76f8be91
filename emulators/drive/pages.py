"""The HTML pages Google answers on public download links instead of the file.

Shapes as users and download tools report them (sources in docs/drive.md): the virus-scan
warning of ``drive.usercontent.google.com/download`` with its ``download-form`` (hidden
``id``, ``export``, ``confirm=t``, ``uuid``), and the "Too many users" quota page.
"""

from __future__ import annotations

import uuid
from html import escape

WARNING_TITLE = "Google Drive - Virus scan warning"
QUOTA_TITLE = "Google Drive - Quota exceeded"
QUOTA_TEXT = ("Too many users have viewed or downloaded this file recently. Please try "
              "accessing the file again later. If the file you are trying to access is "
              "particularly large or is shared with many people, it may take up to 24 hours "
              "to be able to view or download the file. If you still can't access a file "
              "after 24 hours, contact your domain administrator.")


def human_size(size: int) -> str:
    for unit, scale in (("G", 1 << 30), ("M", 1 << 20), ("k", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.0f}{unit}"
    return f"{size}"


def scan_warning(file_id: str, name: str, size: int, action: str) -> str:
    """Google's page for files too large to scan: submitting the form downloads."""
    fields = {"id": file_id, "export": "download", "confirm": "t", "uuid": str(uuid.uuid4())}
    hidden = "".join(f'<input type="hidden" name="{key}" value="{escape(value)}">'
                     for key, value in fields.items())
    return (f"<!DOCTYPE html><html><head><title>{WARNING_TITLE}</title>"
            '<meta http-equiv="content-type" content="text/html; charset=utf-8"/></head>'
            '<body><div class="uc-main"><div id="uc-text">'
            "<p class=\"uc-warning-caption\">Google Drive can't scan this file for viruses.</p>"
            f'<p class="uc-warning-subcaption"><span class="uc-name-size">'
            f"<a href=\"/open?id={escape(file_id)}\">{escape(name)}</a> ({human_size(size)})"
            "</span> is too large for Google to scan for viruses. Would you still like to "
            "download this file?</p>"
            f'<form id="download-form" action="{escape(action)}" method="get">'
            '<input type="submit" id="uc-download-link" value="Download anyway"/>'
            f"{hidden}</form></div></div></body></html>")


def quota_exceeded() -> str:
    """Google's page once a file's download limit is reached (answered with 403)."""
    return (f"<!DOCTYPE html><html><head><title>{QUOTA_TITLE}</title>"
            '<meta http-equiv="content-type" content="text/html; charset=utf-8"/></head>'
            '<body><div class="uc-main"><div id="uc-error-caption" class="uc-error-caption">'
            "Sorry, you can't view or download this file at this time.</div>"
            f'<p class="uc-error-subcaption">{QUOTA_TEXT}</p></div></body></html>')
