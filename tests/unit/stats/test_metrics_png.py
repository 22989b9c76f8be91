"""The pure parts of tools.metrics_png and rendering an empty panel."""

from __future__ import annotations

import pytest

from tools import metrics_png


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400)])
def test_durations(text, seconds):
    assert metrics_png.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "15", "0m", "5w", "-1m", "1.5h"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        metrics_png.parse_duration(text)


def test_series_names_follow_the_panels_legend_labels():
    labels = {"function": "get-url", "status": "503", "instance": "x"}
    assert metrics_png.series_name(labels, ("function", "status")) == "get-url 503"
    assert metrics_png.series_name(labels, ()) == "value"


def test_an_empty_panel_is_still_a_png(tmp_path):
    out = tmp_path / "empty.png"
    metrics_png.render(metrics_png.PANELS[0], [], out)
    assert out.read_bytes().startswith(b"\x89PNG")


def test_the_cli_reports_an_unreachable_prometheus(capsys, tmp_path):
    out = str(tmp_path / "png")
    assert metrics_png.main(["--prometheus", "http://127.0.0.1:9", "--out", out]) == 2
    assert "metrics_png:" in capsys.readouterr().err
