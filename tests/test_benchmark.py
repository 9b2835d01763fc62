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


def test_peak_rss_sums_child_processes_when_asked():
    import subprocess
    import sys

    from hrlc.benchmark import PeakRSS

    code = "import numpy as np, time; a = np.ones(200 * 2**20 // 8); time.sleep(1.0)"
    with PeakRSS() as alone:
        subprocess.run([sys.executable, "-c", code], check=True)
    with PeakRSS(children=True) as tree:
        subprocess.run([sys.executable, "-c", code], check=True)
    assert tree.peak - alone.peak > 150 * 2**20
    assert alone.children_cpu_seconds == 0 and tree.children_cpu_seconds > 0
