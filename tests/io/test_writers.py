"""write_cog / write_zarr: values, georeferencing, tags, COG layout, atomicity."""

import dask.array as da
import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401
import xarray as xr
from affine import Affine

from hrlc.errors import OutputExistsError
from hrlc.io import read_zarr, write_cog, write_zarr


def _cube(shape=(3, 700, 600), chunks=(1, 256, 256), dtype=np.float32):
    rng = np.random.default_rng(0)
    values = rng.random(shape).astype(dtype)
    if dtype == np.float32:
        values[0, :5, :5] = np.nan
    arr = xr.DataArray(da.from_array(values, chunks=chunks), dims=("band", "y", "x"),
                       coords={"band": ["B02", "B03", "B04"][: shape[0]]})
    arr = arr.rio.write_crs("EPSG:32632").rio.write_transform(
        Affine(10, 0, 500000, 0, -10, 5200000))
    return arr, values


def test_cog_round_trip(tmp_path):
    arr, values = _cube()
    path = write_cog(arr, tmp_path / "out.tif", tags={"units": "reflectance"})
    with rasterio.open(path) as src:
        np.testing.assert_array_equal(src.read(), values)
        assert src.crs.to_epsg() == 32632
        assert src.transform == Affine(10, 0, 500000, 0, -10, 5200000)
        assert np.isnan(src.nodata)
        assert src.descriptions == ("B02", "B03", "B04")
        assert src.tags()["units"] == "reflectance"
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.profile["tiled"] and src.overviews(1)  # internal overviews
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tif"]


def test_cog_class_map_with_colour_table_and_mode_overviews(tmp_path):
    classes = np.zeros((600, 600), np.uint8)
    classes[:, 300:] = 2
    classes[:300, :300] = 1
    arr = xr.DataArray(da.from_array(classes, chunks=200), dims=("y", "x"))
    arr = arr.rio.write_crs("EPSG:32632").rio.write_transform(Affine(10, 0, 0, 0, -10, 6000))
    colours = {0: (0, 0, 0), 1: (0, 100, 0), 2: (250, 230, 80)}
    path = write_cog(arr, tmp_path / "classes.tif", nodata=0, colormap=colours,
                     overview_resampling="mode")
    with rasterio.open(path) as src:
        np.testing.assert_array_equal(src.read(1), classes)
        assert src.colormap(1)[1][:3] == (0, 100, 0) and src.colormap(1)[2][:3] == (250, 230, 80)
        overview = src.read(1, out_shape=(150, 150))
        assert set(np.unique(overview)) <= {0, 1, 2}  # mode keeps class codes


def test_existing_output_is_refused_unless_overwrite(tmp_path):
    arr, _ = _cube((1, 64, 64), (1, 32, 32))
    write_cog(arr, tmp_path / "a.tif")
    with pytest.raises(OutputExistsError, match="a.tif already exists.*--overwrite"):
        write_cog(arr, tmp_path / "a.tif")
    write_cog(arr * 2, tmp_path / "a.tif", overwrite=True)
    with rasterio.open(tmp_path / "a.tif") as src:
        np.testing.assert_allclose(src.read(), (arr * 2).values)


def test_failure_midway_leaves_no_file_under_the_final_name(tmp_path):
    arr, _ = _cube((1, 512, 512), (1, 128, 128))

    def explode(block, block_info=None):
        if block_info[0]["chunk-location"][1:] == (2, 3):
            raise RuntimeError("disk full")
        return block

    broken = arr.copy(data=arr.data.map_blocks(explode, dtype=arr.dtype))
    with pytest.raises(RuntimeError, match="disk full"):
        write_cog(broken, tmp_path / "half.tif")
    assert list(tmp_path.iterdir()) == []


def test_temporary_outputs_written_again_late_are_removed_watched_together(tmp_path):
    import threading
    import time

    from hrlc.io.atomic import remove_settled

    staging, lock = tmp_path / "a.stage.tif", tmp_path / "a.stage.tif.lock"
    staging.write_bytes(b"half")
    (tmp_path / "keep.txt").write_text("keep")
    # a dask thread still finishing its block creates the lock again 0.3 s later
    late = threading.Timer(0.3, lock.write_text, ("x",))
    late.start()
    start = time.monotonic()
    remove_settled(staging, lock, settle=0.6)
    took = time.monotonic() - start
    late.join()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
    assert took >= 0.3 + 0.6 - 0.05  # it waited a quiet 0.6 s after the late write


def test_zarr_round_trip_keeps_crs_and_chunks(tmp_path):
    arr, values = _cube()
    path = write_zarr(arr.rename("features"), tmp_path / "cube.zarr")
    back = read_zarr(path)
    assert isinstance(back.data, da.Array) and back.data.chunksize == (1, 256, 256)
    np.testing.assert_array_equal(back.values, values)
    assert back.rio.crs.to_epsg() == 32632
    assert list(back.band.values) == ["B02", "B03", "B04"]
    with pytest.raises(OutputExistsError):
        write_zarr(arr, path)
    write_zarr(arr + 1, path, overwrite=True)
    np.testing.assert_allclose(read_zarr(path).values, values + 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.zarr"]


def test_output_folder_that_cannot_exist_is_a_clear_error(tmp_path):
    from hrlc.errors import HrlcError

    (tmp_path / "afile").write_text("x")
    arr, _ = _cube((1, 8, 8), (1, 8, 8))
    with pytest.raises(HrlcError, match="cannot create output folder .*afile"):
        write_cog(arr, tmp_path / "afile" / "x.tif")
