import json

import numpy as np
import pytest
import rasterio
import xarray as xr
from affine import Affine

from hrlc.cli import main
from hrlc.io import write_zarr

from .conftest import monthly


def write_dem(path, *, x0, y0, n, res=20.0):
    """A ridge running north-south (30 m rise per 100 m), as a GeoTIFF."""
    x = x0 + res * (np.arange(n) + 0.5)
    z = 500 + 0.3 * np.abs(x - x.mean())
    with rasterio.open(path, "w", driver="GTiff", height=n, width=n, count=1, dtype="float32",
                       crs="EPSG:32633", transform=Affine(res, 0, x0, 0, -res, y0)) as dst:
        dst.write(np.tile(z, (n, 1)).astype(np.float32), 1)
    return path


@pytest.fixture
def composites(tmp_path):
    """Composites of 4 months, 3 bands, 40 x 40 px; March has no scene, a cloud in May."""
    values = np.stack([np.full((3, 40, 40), v, np.float32) for v in (0.1, 0.2, 0.3, 0.4)])
    values *= np.array([0.5, 0.4, 2.0], np.float32)[:, None, None]  # B03, B04, B08
    values[1] = np.nan
    values[3, :, :5, :5] = np.nan
    cube = monthly(values, start="2023-02").assign_coords(
        sun_zenith=("time", [60.0, np.nan, 45.0, 35.0]),
        sun_azimuth=("time", [165.0, np.nan, 155.0, 150.0]))
    count = xr.DataArray(np.isfinite(values[:, 0]).astype(np.uint16), dims=("time", "y", "x"),
                         coords={k: v for k, v in cube.coords.items() if k != "band"})
    path = tmp_path / "composites.zarr"
    write_zarr(xr.Dataset({"reflectance": cube, "clear_count": count}).chunk(), path)
    return path


def test_restore_fills_gaps_and_saves_the_summary(composites, tmp_path):
    out = tmp_path / "restored.zarr"
    main(["restore", str(composites), "--out", str(out), "--chunks", "64"])
    ds = xr.open_zarr(out, decode_coords="all")
    assert set(ds.data_vars) == {"reflectance", "gap_flag", "clear_count"}
    assert ds.rio.crs.to_epsg() == 32633
    assert np.isfinite(ds.sun_zenith.values).all()  # the empty month's is estimated
    # March: the mean of February (0.1) and April (0.3), times the band factors
    np.testing.assert_allclose(ds.reflectance.values[1, :, 10, 10], [0.1, 0.08, 0.4], rtol=1e-6)
    np.testing.assert_allclose(ds.reflectance.values[3, :, 0, 0], [0.15, 0.12, 0.6], rtol=1e-6)
    assert ds.gap_flag.values[:, 0, 0].tolist() == [0, 2, 0, 1]
    rows = json.loads((tmp_path / "restored_summary.json").read_text())
    assert [r["gap before %"] for r in rows] == [0.0, 1.0, 0.0, pytest.approx(25 / 1600)]
    assert [r["gap after %"] for r in rows] == [0.0, 0.0, 0.0, 0.0]
    assert rows[1]["both sides %"] == 1.0 and rows[3]["one side %"] == pytest.approx(25 / 1600)


def test_restore_with_a_dem_corrects_and_flags_terrain(composites, tmp_path):
    dem = write_dem(tmp_path / "dem.tif", x0=464_900.0, y0=5_080_100.0, n=40)
    out = tmp_path / "restored"
    main(["restore", str(composites), "--dem", str(dem), "--out", str(out), "--format", "cog"])
    names = sorted(p.name for p in out.iterdir())
    assert "reflectance_2023-04.tif" in names and "terrain_shadow_2023-02.tif" in names
    assert "gap_flag_2023-04.tif" in names
    rows = json.loads((tmp_path / "restored_summary.json").read_text())
    assert set(rows[0]) >= {"terrain shadow %", "cast shadow %", "mean c"}
    with rasterio.open(out / "terrain_shadow_2023-02.tif") as src:
        codes = src.read(1)
    # February's sun (zenith 60, azimuth 165) is steeper than the 16.7-degree slopes:
    # nothing is self-shadowed, and slopes this gentle cast no shadow
    assert set(np.unique(codes)) <= {0, 1, 2} and rows[0]["cast shadow %"] == 0.0


def test_restore_order_and_shadow_correction_from_the_config(composites, tmp_path):
    dem = write_dem(tmp_path / "dem.tif", x0=464_900.0, y0=5_080_100.0, n=40)
    config = tmp_path / "restore.yaml"
    config.write_text("order: fill_then_correct\nshadow_correction: none\n")
    out = tmp_path / "restored.zarr"
    main(["restore", str(composites), "--dem", str(dem), "--config", str(config), "--out",
          str(out)])
    ds = xr.open_zarr(out, decode_coords="all")
    assert ds.reflectance.attrs["restore_order"] == "fill_then_correct"
    assert ds.reflectance.attrs["terrain_shadow_correction"] == "none"
    assert {"terrain_shadow", "c_factor", "gap_flag"} <= set(ds.data_vars)


def test_a_dem_not_covering_the_tile_is_a_one_line_error(composites, tmp_path, capsys):
    dem = write_dem(tmp_path / "dem.tif", x0=465_200.0, y0=5_080_000.0, n=40)
    with pytest.raises(SystemExit) as exit_:
        main(["restore", str(composites), "--dem", str(dem), "--out", str(tmp_path / "r.zarr")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert "does not cover the tile" in err and "200.0 on the west" in err
    assert not (tmp_path / "r.zarr").exists()


def test_restore_reads_a_cog_folder_of_composites(composites, tmp_path):
    from hrlc.cli.composite import write_monthly
    from hrlc.io.cubes import open_zarr_store as open_zarr

    folder = write_monthly(open_zarr(composites), tmp_path / "cogs", fmt="cog", overwrite=False)
    out = tmp_path / "restored.zarr"
    main(["restore", str(folder), "--out", str(out)])
    ds = xr.open_zarr(out, decode_coords="all")
    assert ds.band.values.tolist() == ["B03", "B04", "B08"] and ds.rio.crs.to_epsg() == 32633
    np.testing.assert_allclose(ds.reflectance.values[1, :, 10, 10], [0.1, 0.08, 0.4], rtol=1e-6)
    assert np.isfinite(ds.sun_zenith.values).all()  # estimated: COGs keep no sun angles
