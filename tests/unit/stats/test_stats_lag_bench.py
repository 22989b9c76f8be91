"""The lag arithmetic of bench.stats_lag (the load itself needs the live stack)."""

from __future__ import annotations

import pytest

from bench import stats_lag


def test_the_kth_url_is_visible_when_the_count_reaches_k():
    handed = [10.0, 10.1, 10.2]
    samples = [(10.05, 5), (10.5, 7), (11.0, 7), (12.0, 8)]  # baseline 5
    assert stats_lag.lags(handed, samples, baseline=5) == pytest.approx([0.5, 0.4, 1.8])


def test_urls_never_seen_have_no_lag_and_counts_below_baseline_are_ignored():
    assert stats_lag.lags([1.0, 2.0], [(1.5, 3), (3.0, 4)], baseline=3) == pytest.approx([2.0])


def test_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert stats_lag.percentile(values, 0.5) == pytest.approx(50.5)
    assert stats_lag.percentile(values, 0.99) == pytest.approx(99.01)
