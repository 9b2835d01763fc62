"""Fixtures of the dataset tests: a small hand-made grid, the real eo-learn patch and the
real Aberystwyth scene."""

from __future__ import annotations

import json
from pathlib import Path

import dask.array as da
import geopandas as gpd
import numpy as np
import pytest
import rasterio
import xarray as xr
from affine import Affine
from rasterio.features import rasterize

from hrlc.dataset import ClassTable

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
EOLEARN = ROOT / "tests" / "data" / "eolearn-testeopatch"
L1C_BANDS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10",
             "B11", "B12"]
ABER_LAYERS = {"cls_forest_smpls": "forest", "cls_grass_smpls": "grass",
               "cls_urban_smpls": "urban", "cls_water_smpls": "water"}

#: The small grid: 10 m pixels, top-left corner (1000, 2000), EPSG:32633.
X0, Y0, RES = 1000.0, 2000.0, 10.0


def make_cube(shape=(10, 10), *, chunks=(5, 5), n_features=3, crs=32633) -> xr.DataArray:
    """A (feature, y, x) float32 cube whose values name the pixel: feature k at (r, c)
    holds ``1000 * k + 100 * r + c`` (exact in float32 for small grids)."""
    h, w = shape
    r, c = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    values = np.stack([1000 * k + 100 * r + c for k in range(n_features)]).astype(np.float32)
    cube = xr.DataArray(
        da.from_array(values, chunks=(1, *chunks)), dims=("feature", "y", "x"),
        coords={"feature": [f"f{k}" for k in range(n_features)],
                "y": Y0 - RES * (np.arange(h) + 0.5), "x": X0 + RES * (np.arange(w) + 0.5)})
    return cube.rio.write_crs(crs)


def rasterized(polygons, cube) -> dict[str, int]:
    """Reference: per class, the pixels whose centre GDAL puts inside one of its polygons
    and inside no polygon of another class (rasterio.features.rasterize)."""
    shape, transform = (cube.sizes["y"], cube.sizes["x"]), cube.rio.transform()
    cover = {name: rasterize(((g, 1) for g in group.geometry), out_shape=shape,
                             transform=transform, fill=0, dtype="uint8").astype(bool)
             for name, group in polygons.groupby("class_name")}
    once = np.sum(list(cover.values()), axis=0) == 1
    return {name: int((mask & once).sum()) for name, mask in cover.items()}


@pytest.fixture
def cube():
    return make_cube()


@pytest.fixture
def classes():
    return ClassTable([{"code": 1, "name": "forest", "colour": "#00aa00"},
                       {"code": 2, "name": "water", "colour": "#0000ff"},
                       {"code": 3, "name": "urban"}], source="test table")


def labelled(geometries, codes, *, crs=32633, ids=None) -> gpd.GeoDataFrame:
    """Labelled geometries as polygon_labels returns them."""
    return gpd.GeoDataFrame({"polygon_id": list(ids if ids is not None else range(len(codes))),
                             "class": list(codes)}, geometry=list(geometries), crs=crs)


@pytest.fixture(scope="session")
def eolearn_grid():
    """Transform, shape and CRS of the eo-learn patch (bbox split into 100 x 101 px)."""
    bbox = json.loads((EOLEARN / "bbox.geojson").read_text())["coordinates"][0]
    xs, ys = [p[0] for p in bbox], [p[1] for p in bbox]
    shape = (101, 100)
    transform = Affine((max(xs) - min(xs)) / shape[1], 0, min(xs), 0,
                       -(max(ys) - min(ys)) / shape[0], max(ys))
    return transform, shape, "EPSG:32633"


@pytest.fixture(scope="session")
def eolearn_cube(eolearn_grid):
    """The 5 real L1C reference scenes as 65 features (feature, y, x), TOA reflectance."""
    transform, (h, w), crs = eolearn_grid
    scenes = np.load(EOLEARN / "REFERENCE_SCENES.npy")  # (scene, y, x, band)
    values = scenes.transpose(0, 3, 1, 2).reshape(-1, h, w).astype(np.float32)
    names = [f"L1C_s{s + 1}_{b}" for s in range(scenes.shape[0]) for b in L1C_BANDS]
    x = transform.c + transform.a * (np.arange(w) + 0.5)
    y = transform.f + transform.e * (np.arange(h) + 0.5)
    cube = xr.DataArray(da.from_array(values, chunks=(13, 64, 64)), dims=("feature", "y", "x"),
                        coords={"feature": names, "y": y, "x": x})
    return cube.rio.write_crs(crs).rio.write_transform(transform)


@pytest.fixture(scope="session")
def eolearn_lulc_tif(eolearn_grid, tmp_path_factory) -> Path:
    """LULC.npy as a GeoTIFF on its grid (uint16, nodata 0), as a land-cover map file."""
    transform, (h, w), crs = eolearn_grid
    path = tmp_path_factory.mktemp("eolearn") / "LULC.tif"
    with rasterio.open(path, "w", driver="GTiff", height=h, width=w, count=1, dtype="uint16",
                       crs=crs, transform=transform, nodata=0) as dst:
        dst.write(np.load(EOLEARN / "LULC.npy")[..., 0], 1)
    return path


@pytest.fixture(scope="session")
def aber_features():
    """The real Aberystwyth scene as a one-month stack -> 10 bands + NDVI + NDWI (lazy)."""
    from hrlc.features import build_features
    from hrlc.io import read_l2a
    from hrlc.testing import bundled_aber

    cube = build_features(read_l2a(bundled_aber(), chunks=512), indices=["NDVI", "NDWI"],
                          glcm_textures=[])
    return cube.persist()  # computed once (42 MB) for the several builds of the tests
