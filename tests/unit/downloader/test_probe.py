"""What a probe answer says about a replica (fileserver/downloader/probe.py), on the pages
the Drive emulator renders as Google does."""

from __future__ import annotations

from emulators.drive import pages
from fileserver.downloader.probe import classify, warning_form


def test_google_pages_and_statuses_map_to_health_states():
    quota = pages.quota_exceeded()
    assert classify(403, quota, "https://drive.usercontent.google.com/download").state \
        == "blocked"
    assert classify(403, quota, "x").reason == "download_quota"
    assert classify(403, "", "x").reason == "forbidden"
    assert classify(404, "", "x").state == "missing"
    assert classify(206, "", "x").state == "ok"
    assert classify(200, "", "x").state == "ok"
    assert classify(503, "", "x").state is None and classify(429, "", "x").state is None
    assert classify(200, "<html>sign in</html>",
                    "https://accounts.google.com/ServiceLogin").reason == "not_public"


def test_the_warning_page_form_is_followed_with_its_hidden_fields():
    page = pages.scan_warning("ID1", "big.bin", 2 << 30,
                              "https://drive.usercontent.google.com/download")
    url = warning_form(page, "https://drive.google.com/uc?id=ID1")
    assert url is not None and url.startswith("https://drive.usercontent.google.com/download?")
    assert "id=ID1" in url and "confirm=t" in url and "uuid=" in url
    assert warning_form("<html>no form</html>", "x") is None
