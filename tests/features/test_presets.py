"""Feature presets: the reference set's 167 names, its annual-composite indices and aspect
by hand, its errors, and the generated name lists of docs/features.md."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hrlc.config import validate_config
from hrlc.config.features import FeaturesConfig
from hrlc.errors import ConfigError, MissingBandError
from hrlc.features import (
    DEFAULT_TEXTURES,
    INDEX_NAMES,
    INDICES,
    REFERENCE_BANDS,
    build_features,
    catalog,
    compute_index,
)

ROOT = Path(__file__).resolve().parents[2]
MONTHS = [f"2021-{m:02d}-01" for m in range(1, 13)]


def _year(values: np.ndarray, months=MONTHS) -> xr.DataArray:
    """(time, band, y, x) composites of the reference bands on a 10 m UTM grid."""
    rows, cols = values.shape[-2:]
    y = 5_000_000 - 10.0 * np.arange(rows) - 5.0
    x = 400_000 + 10.0 * np.arange(cols) + 5.0
    return xr.DataArray(values.astype(np.float32), dims=("time", "band", "y", "x"),
                        coords={"time": pd.DatetimeIndex(months), "band": list(REFERENCE_BANDS),
                                "y": y, "x": x}).rio.write_crs(32630)


def _plane(east_gradient: float, north_gradient: float, like: xr.DataArray) -> xr.DataArray:
    """DEM z (m) = ge * easting + gn * northing on the grid of ``like``."""
    xx, yy = np.meshgrid(like.x.values - like.x.values.mean(),
                         like.y.values - like.y.values.mean())
    z = east_gradient * xx + north_gradient * yy + 100.0
    return xr.DataArray(z, dims=("y", "x"), coords={"y": like.y, "x": like.x}).rio.write_crs(
        like.rio.crs)


def _random_year(seed=0, shape=(9, 11)) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    return _year(rng.uniform(0.01, 0.6, (12, len(REFERENCE_BANDS), *shape)))


@pytest.fixture(scope="module")
def names_of():
    """``catalog.preset_names``, each preset's cube built once for the module: every call
    builds the whole graph of a year of features (about a second) for its names."""
    built = {}

    def names(preset: str) -> list[str]:
        if preset not in built:
            built[preset] = catalog.preset_names(preset)
        return list(built[preset])

    return names


def test_reference_has_exactly_167_uniquely_named_features(names_of):
    stack = _random_year()
    cube = build_features(stack, dem=_plane(0.1, 0.2, stack), preset="reference")
    names = cube.feature.values.tolist()
    assert len(names) == 167 and len(set(names)) == 167
    spectral = [f"{b}_m{m:02d}" for b in REFERENCE_BANDS for m in range(1, 13)]
    assert len(spectral) == 144 and names[:144] == spectral
    assert "B10_m01" not in names
    assert names[144:158] == list(INDEX_NAMES) and len(INDEX_NAMES) == 14  # 13 + SOBEL
    assert names[158:164] == [f"glcm_{t}_B08" for t in DEFAULT_TEXTURES]
    assert names[164:] == ["elevation", "slope", "aspect"]
    assert names == names_of("reference")
    assert "annual composite (median" in str(cube.sel(feature="NDMI").description.values)


def test_reference_values_depend_on_neither_the_months_order_nor_the_chunks():
    later = MONTHS[6:] + [m.replace("2021", "2022") for m in MONTHS[:6]]  # Jul 21 - Jun 22
    stack = _random_year()
    shifted = _year(np.roll(stack.values, -6, axis=0), months=later)
    dem = _plane(0.1, 0.2, stack)
    one = build_features(stack, dem=dem, preset="reference", glcm_textures=DEFAULT_TEXTURES)
    two = build_features(shifted.chunk({"y": 4, "x": 5}), dem=dem.chunk(3), preset="reference")
    assert one.feature.values.tolist() == two.feature.values.tolist()
    np.testing.assert_array_equal(one.values, two.values)


def test_extended_is_the_default_and_todays_set(names_of):
    stack = _random_year()
    dem = _plane(0.1, 0.2, stack)
    default = build_features(stack, dem=dem)
    assert default.feature.values.tolist() == names_of("extended")
    assert default.sizes["feature"] == 144 + 14 * 12 + 6 + 4
    assert default.feature.values[-4:].tolist() == ["elevation", "slope", "northness",
                                                    "eastness"]
    assert FeaturesConfig().preset == "extended"


def test_annual_composite_indices_equal_a_hand_computation():
    """Every band of month m (1-12) is ``base + 0.01 m``, so its median over the year is
    ``base + 0.065``; B08 also rises by 0.01 per column; one pixel misses December."""
    months = np.arange(1, 13, dtype=np.float64)[:, None, None, None]
    base = np.full((1, len(REFERENCE_BANDS), 3, 4), 0.2)
    band = {b: i for i, b in enumerate(REFERENCE_BANDS)}
    base[0, band["B04"]] = 0.05
    base[0, band["B08"]] = 0.3 + 0.01 * np.arange(4)[None, :]
    values = base + 0.01 * months
    values[11, :, 0, 0] = np.nan  # no December: median of months 1-11, base + 0.06
    stack = _year(values).chunk({"y": 2, "x": 2})
    cube = build_features(stack, dem=_plane(0.0, 0.1, stack), preset="reference")
    ndvi = cube.sel(feature="NDVI").values
    # col 0: B08 0.365, B04 0.115 -> 0.25 / 0.48; one more column adds 0.01 to B08
    assert ndvi[1, 0] == pytest.approx(0.25 / 0.48, rel=1e-6)
    assert ndvi[1, 3] == pytest.approx(0.28 / 0.51, rel=1e-6)
    assert ndvi[0, 0] == pytest.approx((0.36 - 0.11) / (0.36 + 0.11), rel=1e-6)
    # B03 = B02 = 0.265 everywhere else: NDYI 0; GLI = (0.53 - 0.115 - 0.265) / (0.53 + 0.38)
    assert cube.sel(feature="NDYI").values[1, 1] == pytest.approx(0.0, abs=1e-7)
    assert cube.sel(feature="GLI").values[2, 2] == pytest.approx(0.15 / 0.91, rel=1e-6)
    # B08 rises 0.01 per pixel east: skimage's Sobel magnitude is 0.01 * sqrt(2), edges
    # too (away from the pixel without December, whose median is 0.005 lower)
    np.testing.assert_allclose(cube.sel(feature="SOBEL").values[2, :], 0.01 * math.sqrt(2),
                               rtol=1e-5)
    annual = stack.median("time")  # the same composite, every index
    for name in INDICES:
        np.testing.assert_allclose(cube.sel(feature=name).values,
                                   compute_index(annual, name).values, rtol=1e-6)


@pytest.mark.parametrize("ge,gn,aspect", [
    (0.3, 0.0, 270.0),   # rises to the east: faces west
    (0.0, 0.5, 180.0),   # rises to the north: faces south
    (-0.2, -0.2, 45.0),  # faces north-east
    # downhill (east, north) = (-0.1, 0.25): atan2(-0.1, 0.25) = -21.80 deg -> 338.20
    (0.1, -0.25, 360.0 + math.degrees(math.atan2(-0.1, 0.25))),
    (0.0, 0.0, -1.0),    # flat: -1
])
def test_reference_aspect_in_degrees_on_a_planar_dem(ge, gn, aspect):
    stack = _random_year(shape=(7, 9))
    cube = build_features(stack.chunk({"y": 4, "x": 5}), dem=_plane(ge, gn, stack),
                          preset="reference")
    np.testing.assert_allclose(cube.sel(feature="aspect").values, aspect, atol=1e-3)
    np.testing.assert_allclose(cube.sel(feature="slope").values,
                               math.degrees(math.atan(math.hypot(ge, gn))), atol=1e-4)


def test_reference_aspect_is_nan_only_where_the_dem_is():
    stack = _random_year(shape=(7, 9))
    dem = (_plane(0.0, 0.0, stack)).where(lambda z: z.x > z.x[2])
    aspect = build_features(stack, dem=dem, preset="reference").sel(feature="aspect").values
    assert np.isnan(aspect[:, :3]).all() and (aspect[:, 3:] == -1).all()


def test_reference_names_everything_missing(aber, aber_dem):
    with pytest.raises(MissingBandError) as error:
        build_features(aber, preset="reference")
    text = str(error.value)
    assert "bands B01, B09 are missing" in text
    assert "months [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12] are missing" in text
    assert "no DEM was given" in text and "preset 'extended'" in text
    two_years = _year(np.zeros((13, 12, 3, 3)), months=MONTHS + ["2022-01-01"])
    with pytest.raises(ConfigError, match=r"months \[1\] appear more than once.*select one"):
        build_features(two_years, dem=_plane(0, 0, two_years), preset="reference")


def test_reference_refuses_options_that_choose_features():
    stack = _random_year(shape=(3, 3))
    with pytest.raises(ConfigError, match=r"so indices, index_statistics must be left unset "
                       r"\(got indices=\['NDVI'\], index_statistics=\['max'\]\)"):
        build_features(stack, preset="reference", indices=["NDVI"], index_statistics=["max"])
    for bad in [{"bands": ["B04"]}, {"custom_indices": {"NDRE": "(B8A - B05) / (B8A + B05)"}},
                {"glcm_textures": ["contrast"]}, {"months": [6]}, {"index_months": []}]:
        with pytest.raises(ConfigError, match="preset 'reference' fixes the feature list"):
            validate_config({"preset": "reference", **bad}, FeaturesConfig)
    ok = validate_config({"preset": "reference", "custom_indices": {}, "glcm_window": 5,
                          "glcm_textures": list(DEFAULT_TEXTURES)}, FeaturesConfig)
    assert ok.preset == "reference"
    with pytest.raises(ConfigError, match="preset"):
        validate_config({"preset": "full"}, FeaturesConfig)
    with pytest.raises(ConfigError, match="unknown feature preset 'full'"):
        build_features(stack, preset="full")


def test_docs_list_the_names_the_code_builds(names_of, monkeypatch):
    monkeypatch.setattr(catalog, "preset_names", names_of)  # the generator's names too
    spec = importlib.util.spec_from_file_location("feature_names",
                                                  ROOT / "benchmarks" / "feature_names.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    documented = script.documented_block((ROOT / "docs" / "features.md").read_text())
    assert documented == script.generated_block(), "run benchmarks/feature_names.py"
    for preset in ("reference", "extended"):
        names = names_of(preset)
        assert f"**`preset: {preset}`**: {len(names)} features" in documented
        assert all(f"`{n}`" in documented for n in names)
