"""``hrlc features CONFIG``: Zarr cube + feature list; errors are one line, exit 2."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import yaml

from hrlc.cli import main
from hrlc.features import build_features
from hrlc.io import read_zarr


def _config(tmp_path, aber_path, aber_dem_path, **features):
    config = {
        "composites": str(aber_path), "dem": str(aber_dem_path), "dem_use_nodata": False,
        "output": str(tmp_path / "out" / "cube.zarr"), "chunks": 512,
        "features": {"bands": ["B04", "B08"], "indices": ["NDVI", "SOBEL", "NDRE"],
                     "custom_indices": {"NDRE": "(B8A - B05) / (B8A + B05)"},
                     "glcm_textures": ["contrast", "entropy"], **features},
    }
    path = tmp_path / "features.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_writes_cube_and_feature_list(tmp_path, aber, aber_dem, aber_path, aber_dem_path,
                                      capsys):
    path = _config(tmp_path, aber_path, aber_dem_path)
    main(["features", str(path)])
    cube = read_zarr(tmp_path / "out" / "cube.zarr")
    names = ["B04_m05", "B08_m05", "NDVI_m05", "SOBEL_m05", "NDRE_m05",
             "glcm_contrast_B08", "glcm_entropy_B08", "elevation", "slope", "northness", "eastness"]
    assert cube.dims == ("feature", "y", "x") and list(cube.feature.values) == names
    assert cube.dtype == np.float32 and cube.rio.crs == aber.rio.crs
    expected = build_features(aber, dem=aber_dem, bands=["B04", "B08"],
                              indices=["NDVI", "SOBEL", "NDRE"],
                              custom_indices={"NDRE": "(B8A - B05) / (B8A + B05)"},
                              glcm_textures=["contrast", "entropy"])
    np.testing.assert_array_equal(cube.values, expected.values)
    with open(tmp_path / "out" / "cube.zarr.features.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["feature"] for r in rows] == names
    assert "Sobel" in rows[3]["description"] and "user expression" in rows[4]["description"]
    assert "11 features" in capsys.readouterr().err


def test_errors_are_one_line_with_exit_code_2(tmp_path, aber_path, aber_dem_path, capsys):
    bad = _config(tmp_path, aber_path, aber_dem_path, indices=["NDVI", "NDXX"])
    with pytest.raises(SystemExit) as exit_info:
        main(["features", str(bad)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown index 'NDXX'" in err and "SOBEL" in err
    good = _config(tmp_path, aber_path, aber_dem_path, indices=[], glcm_textures=[],
                   bands=["B04"])
    main(["features", str(good)])
    with pytest.raises(SystemExit) as exit_info:
        main(["features", str(good)])
    assert exit_info.value.code == 2 and "--overwrite" in capsys.readouterr().err
    main(["features", str(good), "--overwrite"])
