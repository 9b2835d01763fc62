"""The command line: info on every kind of source, one-line errors, the demo."""

import json
import traceback

import numpy as np
import pytest
import rasterio

from hrlc.cli import main
from hrlc.errors import InputError

from tests.conftest import write_band


def run(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
        raise SystemExit(0)
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


@pytest.mark.parametrize("kind", ["folder", "zip"])
def test_info_on_safe_prints_baseline_offset_bands_crs(safe_products, capsys, kind):
    code, out, _ = run(capsys, "info", str(safe_products["0509"][kind]), "--json")
    assert code == 0
    (facts,) = json.loads(out)
    assert facts["processing_baseline"] == "05.09" and facts["boa_add_offset"] == -1000
    assert facts["crs"] == "EPSG:32701" and facts["tile"] == "01KAB"
    assert facts["bands"]["B02"] == [10.0, 20.0, 60.0] and facts["bands"]["B09"] == [60.0]
    code, table, _ = run(capsys, "info", str(safe_products["0212"][kind]))
    assert "02.12" in table and "EPSG:32707" in table and "B8A 20/60 m" in table


def test_info_on_band_folder(tmp_path, capsys):
    for band, res in (("B04", 10), ("B11", 20)):
        write_band(tmp_path / f"T33TVM_20200606T100559_{band}.tif",
                   np.ones((4 if res == 10 else 2,) * 2, np.uint16), epsg=32633, ulx=0, uly=40,
                   res=res, driver="GTiff")
    code, out, _ = run(capsys, "info", str(tmp_path), "--json")
    (facts,) = json.loads(out)
    assert code == 0 and facts["kind"] == "band-folder" and facts["crs"] == "EPSG:32633"
    assert facts["bands"] == {"B04": [10.0], "B11": [20.0]}
    assert facts["processing_baseline"] is None and facts["sensing_time"] == "2020-06-06T10:05:59"


def test_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    code, out, err = run(capsys, "info", str(tmp_path / "missing.zip"))
    assert code == 2 and err.count("\n") == 1 and "missing.zip: no such file" in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback(tmp_path, capsys):
    # in this process (not ``python -m hrlc``, 1.3 CPU-s of imports): with --debug the error
    # leaves main() uncaught, not as a one-line message and exit code 2, so that Python
    # prints its traceback and exits with code 1
    with pytest.raises(InputError) as raised:
        main(["--debug", "info", str(tmp_path / "missing.zip")])
    printed = "".join(traceback.format_exception(raised.value))
    assert "Traceback" in printed and "InputError" in printed
    assert "hrlc: error" not in capsys.readouterr().err


def test_help_lists_commands_with_example(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "info" in out and "demo" in out
    code, out, _ = run(capsys, "info", "--help")
    assert "Example" in out


@pytest.mark.slow
def test_demo_runs_the_whole_chain_on_real_and_simulated_data(tmp_path, capsys):
    # the simulated season at 180 px and 3 scenes instead of 360 px and 6: every stage and
    # output of the demo is still there (the real Aberystwyth half is the same), in less time
    code, out, _ = run(capsys, "demo", "--out", str(tmp_path), "--size", "180", "--dates", "3")
    assert code == 0 and "held-out scores" in out
    with rasterio.open(tmp_path / "simulated" / "run" / "map" / "classes.tif") as src:
        assert src.shape == (180, 180)
    for folder, data in (("aberystwyth", "Aberystwyth (real)"),
                         ("simulated/run", "simulated season")):
        # the ranked table and the report's sentence on which classifier to map with
        report = json.loads((tmp_path / folder / "model" / "report.json").read_text())
        assert set(report["ranking"]) == {"svm_multiclass", "random_forest"}
        # the last "<data>: " of the output starts the choice (the first may be a heading)
        assert report["choice"].split()[:6] == out.split(f"{data}: ")[-1].split()[:6]
    for folder, stages in (("aberystwyth", ["features", "dataset", "train", "map"]),
                           ("simulated/run", ["masks", "composite", "restore", "features",
                                              "dataset", "train", "map"])):
        manifest = json.loads((tmp_path / folder / "manifest.json").read_text())
        assert list(manifest["stages"]) == stages
        assert all(s["status"] == "done" for s in manifest["stages"].values())
        with rasterio.open(tmp_path / folder / "map" / "classes.tif") as src:
            classes = src.read(1, out_shape=(100, 100))
            assert src.colormap(1) and src.nodata == 0
        assert (tmp_path / folder / "map" / "quicklook.png").stat().st_size > 10_000
        page = (tmp_path / folder / "report.html").read_text()
        assert "data:image/png;base64," in page
    assert out.count("run report:") == 2
    report = json.loads((tmp_path / "aberystwyth" / "model" / "report.json").read_text())
    assert report["variants"]["svm_multiclass"]["test"]["overall_accuracy"] > 0.9
    with rasterio.open(tmp_path / "aberystwyth" / "map" / "classes.tif") as src:
        assert set(np.unique(src.read(1))) <= {0, 1, 2, 3, 4}
    assert set(np.unique(classes)) - {0}


def test_usage_error_is_a_message_not_a_traceback(capsys):
    code, _, err = run(capsys, "info", "--no-such-option")
    assert code == 2 and "No such option" in err and "Traceback" not in err
