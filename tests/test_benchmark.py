import json
import os

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


def test_machine_facts_record_the_machine_its_load_and_the_libraries():
    import numbers

    import numpy
    import rasterio

    from hrlc.benchmark import load_average, machine_facts

    start = load_average()
    facts = machine_facts(load_at_start=start)
    assert {"cores", "cpu_model", "memory_gb", "platform", "load_average_start",
            "load_average_end", "blas", "versions"} <= set(facts)
    assert facts["cores"] == os.cpu_count()
    assert facts["load_average_start"] == start
    for key in ("load_average_start", "load_average_end"):
        assert len(facts[key]) == 3
        assert all(isinstance(v, numbers.Real) and v >= 0 for v in facts[key])
    blas = [pool for pool in facts["blas"] if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] >= 1 and pool["internal_api"] for pool in blas)
    assert facts["versions"]["numpy"] == numpy.__version__
    assert facts["versions"]["gdal"] == rasterio.__gdal_version__
    assert facts["cpu_model"] and facts["memory_gb"] > 0


def test_machine_facts_refuse_a_load_that_is_not_three_numbers():
    from hrlc.benchmark import machine_facts

    with pytest.raises(ValueError, match="3 load averages.*got \\(1.0,\\)"):
        machine_facts(load_at_start=(1.0,))


@pytest.mark.slow
def test_bench_masks_measures_both_formats_of_one_season(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    from hrlc.bench_suite.stages import STAGES

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_masks.py"
    subprocess.run([sys.executable, str(script), "--data", str(tmp_path / "data"), "--size",
                    "96", "--dates", "2", "--chunks", "48", "--out", str(tmp_path / "masks")],
                   check=True, capture_output=True)
    geotiff = json.loads((tmp_path / "masks.json").read_text())
    jp2 = json.loads((tmp_path / "masks_jp2.json").read_text())
    assert (geotiff["format"], jp2["format"]) == ("geotiff", "jp2")
    assert set(geotiff) == set(jp2) and geotiff["side_by_side"] == jp2["side_by_side"]
    for summary in (geotiff, jp2):
        read, full = summary["runs"]
        assert read["mode"] == "read" and full["mode"] == "full"
        assert read["shape"] == full["shape"] == [2, 5, 96, 96]
        assert 0 < full["cpu_seconds"] and 0 < full["peak_rss_gb"] < 4
        # each run's peak is its own: on Linux a child starts from its parent's peak RSS,
        # so a script that held the season (or ran in this process) would lift the read
        # run's peak to the full run's or above
        assert 0 < read["peak_rss_gb"] < full["peak_rss_gb"]
        assert summary["full_cpu_seconds"] == round(full["cpu_seconds"], 1)
        assert summary["machine"]["cores"] == os.cpu_count()
        assert len(full["load_average_start"]) == len(full["load_average_end"]) == 3
        assert STAGES["masks"].parse(summary)["size"] == 96  # the suite reads both files
    # one season in both formats, pixel for pixel
    import rasterio

    for band in ("B02_10m", "SCL_20m"):
        tifs = sorted((tmp_path / "data" / "geotiff").rglob(f"*_{band}.tif"))
        jp2s = sorted((tmp_path / "data" / "jp2").rglob(f"*_{band}.jp2"))
        assert len(tifs) == len(jp2s) == 2
        for tif, jp2_band in zip(tifs, jp2s):
            with rasterio.open(tif) as a, rasterio.open(jp2_band) as b:
                assert (a.read() == b.read()).all()


def test_write_results_stores_the_machine_in_rows_without_their_own(tmp_path):
    from hrlc.benchmark import write_results

    own = {"cores": 99}
    path = write_results("rows", [{"case": "a", "seconds": 1.5},
                                  {"case": "b", "seconds": 2.0, "machine": own}],
                         tmp_path, machine={"cores": 2, "load_average_start": [1.0, 1.0, 1.0]})
    rows = json.loads(path.read_text())
    assert rows[0]["machine"]["cores"] == 2 and rows[1]["machine"] == own
    assert [r["seconds"] for r in rows] == [1.5, 2.0]
