"""Metalink 4 (RFC 5854) documents: one file, every source with its priority, size and hashes."""

from __future__ import annotations

from datetime import datetime
from xml.etree import ElementTree as ET

NAMESPACE = "urn:ietf:params:xml:ns:metalink"
MEDIA_TYPE = "application/metalink4+xml"


def metalink(name: str, size: int, urls: list[str], published: datetime,
             sha256: str | None = None, md5: str | None = None) -> bytes:
    """The document for ``name``: ``urls[0]`` has priority 1, the next 2, and so on (RFC 5854
    section 4.2.16: lower values first). Hashes are hex, as RFC 5854 section 4.2.4 writes them."""
    root = ET.Element("metalink", xmlns=NAMESPACE)
    ET.SubElement(root, "generator").text = "fileserver"
    ET.SubElement(root, "published").text = published.strftime("%Y-%m-%dT%H:%M:%SZ")
    entry = ET.SubElement(root, "file", name=name)
    ET.SubElement(entry, "size").text = str(size)
    if sha256:
        ET.SubElement(entry, "hash", type="sha-256").text = sha256
    if md5:
        ET.SubElement(entry, "hash", type="md5").text = md5
    for priority, url in enumerate(urls, start=1):
        ET.SubElement(entry, "url", priority=str(priority)).text = url
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
