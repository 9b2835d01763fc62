import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml

from hrlc.cli import main
from tests.composite.test_cli import run_error  # the one-line-error check, shared


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    """Five small simulated GeoTIFF SAFE products of one tile, with truth."""
    from hrlc.io.safe_writer import write_series
    from hrlc.simulate import simulate_series

    out = tmp_path_factory.mktemp("masks-cli") / "sim"
    write_series(simulate_series(size=96, dates=5, seed=1, chunks=48), out, format="geotiff",
                 clear_dates=0)
    return out


def _config(tmp_path, sources, **extra):
    path = tmp_path / "masks.yaml"
    path.write_text(yaml.safe_dump({"sources": sources, "output": str(tmp_path / "masks"),
                                    "chunks": 48, "masks": {"min_clear": 2}, **extra}))
    return path


def test_masks_then_evaluate(products, tmp_path, capsys):
    config = _config(tmp_path, [str(products)], dem=str(products / "truth" / "dem.tif"))
    main(["masks", str(config)])
    out = tmp_path / "masks"
    masks = sorted(out.glob("*_mask.tif"))
    assert len(masks) == 5 and len(list((out / "scl").glob("*_scl_mask.tif"))) == 5
    with rasterio.open(masks[0]) as src:
        assert src.dtypes[0] == "uint8" and src.nodata == 255 and src.shape == (96, 96)
        assert set(np.unique(src.read(1))) <= {0, 1, 2, 3, 255}
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert len(rows) == 5 and {"cloud %", "shadow %", "no background %"} <= set(rows[0])
    assert "5 masks and summary.csv" in capsys.readouterr().err

    report = tmp_path / "eval"
    main(["evaluate-masks", "--pred", str(out), "--ref", str(products / "truth" / "cloud_mask"),
          "--baseline", str(out / "scl"), "--out", str(report)])
    scores = json.loads((report / "scores.json").read_text())
    assert len(scores["masks"]) == 5 and set(scores["methods"]) == {"refined", "baseline"}
    assert (report / "comparison.png").stat().st_size > 1000
    capsys.readouterr()
    assert run_error(["masks", str(config)], capsys).count("already exists")


def test_scene_without_scl_and_mixed_tiles_write_nothing(products, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(products, broken, ignore=shutil.ignore_patterns("truth"))
    for scl in broken.rglob("*_SCL_20m.tif"):
        scl.unlink()
        break
    err = run_error(["masks", str(_config(tmp_path, [str(broken)]))], capsys)
    assert "no SCL" in err and not (tmp_path / "masks").exists()
