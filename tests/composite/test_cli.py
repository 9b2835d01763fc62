import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr

from hrlc.cli import main

from .conftest import write_geotiff

CONFIGS = Path(__file__).parents[2] / "configs"


def run_error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("hrlc: error: ") and err.count("\n") == 1
    return err


def test_composite_from_scenes_to_zarr_with_summary(band_folder, tmp_path):
    out = tmp_path / "composites.zarr"
    main(["composite", str(band_folder), "--out", str(out),
          "--config", str(CONFIGS / "composite.yaml"), "--chunks", "64"])
    ds = xr.open_zarr(out, decode_coords="all")
    assert ds.reflectance.dims == ("time", "band", "y", "x") and ds.rio.crs.to_epsg() == 32633
    assert [str(t)[:7] for t in ds.time.values] == ["2023-01", "2023-02", "2023-03", "2023-04"]
    count = ds.clear_count.values
    assert count[:, 0, 0].tolist() == [1, 0, 0, 2] and count[:, -1, 0].tolist() == [2, 0, 0, 1]
    assert np.isfinite(ds.sun_zenith.values[[0, 1, 3]]).all()  # estimated: no metadata
    rows = json.loads((tmp_path / "composites_summary.json").read_text())
    assert [r["gap %"] for r in rows] == [0.0, 1.0, 1.0, 0.0]
    assert [r["scenes"] for r in rows] == [2, 1, 0, 2]


def test_composite_to_cogs(band_folder, tmp_path):
    out = tmp_path / "cogs"
    main(["composite", str(band_folder), "--out", str(out), "--format", "cog"])
    names = sorted(p.name for p in out.iterdir())
    assert "reflectance_2023-03.tif" in names and "clear_count_2023-04.tif" in names
    with rasterio.open(out / "reflectance_2023-01.tif") as src:
        assert src.count == 3 and src.descriptions == ("B03", "B04", "B08")
        assert src.crs.to_epsg() == 32633


def test_external_composites_are_imported_and_validated(tmp_path, capsys):
    bands = ("B03", "B04", "B08")
    may = write_geotiff(tmp_path / "may.tif", np.full((3, 8, 9), 500, np.int16),
                        descriptions=bands, nodata=-1)
    june = write_geotiff(tmp_path / "june.tif", np.full((3, 8, 9), 700, np.int16),
                         descriptions=bands, nodata=-1)
    out = tmp_path / "imported.zarr"
    main(["composite", "--external", f"2023-05={may}", "--external", f"2023-06={june}",
          "--scale", "0.0001", "--out", str(out)])
    ds = xr.open_zarr(out)
    np.testing.assert_allclose(ds.reflectance.values[:, 1, 0, 0], [0.05, 0.07], rtol=1e-6)
    assert np.isfinite(ds.sun_zenith.values).all()

    shifted = write_geotiff(tmp_path / "shifted.tif", np.full((3, 8, 9), 700, np.int16),
                            descriptions=bands, x0=465_100.0)
    err = run_error(["composite", "--external", f"2023-05={may}", "--external",
                     f"2023-06={shifted}", "--out", str(tmp_path / "x.zarr")], capsys)
    assert "composite 2023-06 is on another grid" in err
    fewer = write_geotiff(tmp_path / "fewer.tif", np.full((2, 8, 9), 700, np.int16),
                          descriptions=bands[:2])
    err = run_error(["composite", "--external", f"2023-05={may}", "--external",
                     f"2023-06={fewer}", "--out", str(tmp_path / "x.zarr")], capsys)
    assert "composite 2023-06 lacks band(s) B08" in err
    assert not (tmp_path / "x.zarr").exists()


def test_cli_errors_are_one_line(band_folder, tmp_path, capsys):
    err = run_error(["composite", "--out", str(tmp_path / "x.zarr")], capsys)
    assert "either L2A scenes or --external" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("method: mean\n")
    err = run_error(["composite", str(band_folder), "--config", str(bad), "--out",
                     str(tmp_path / "x.zarr")], capsys)
    assert "method" in err
