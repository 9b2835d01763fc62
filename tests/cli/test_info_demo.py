"""The command line: info on every kind of source, one-line errors (the demo's test is
tests/report/test_run_report.py's: the report tests read the demo's run)."""

import json
import traceback

import numpy as np
import pytest

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


def test_usage_error_is_a_message_not_a_traceback(capsys):
    code, _, err = run(capsys, "info", "--no-such-option")
    assert code == 2 and "No such option" in err and "Traceback" not in err
