import numpy as np
import pytest

from hrlc.benchmark import measure


def _allocate(megabytes):
    block = np.ones(megabytes * 1024 * 1024 // 8)
    return float(block.sum())


def test_measure_reports_result_time_and_peak_memory_of_the_call():
    small = measure(_allocate, 1)
    big = measure(_allocate, 300)
    assert big["result"] == 300 * 1024 * 1024 / 8
    assert big["peak_rss_mb"] - small["peak_rss_mb"] > 250
    assert big["seconds"] > 0


def _fail():
    raise ValueError("boom")


def test_failure_in_the_child_is_raised():
    with pytest.raises(RuntimeError, match="ValueError: boom"):
        measure(_fail)
