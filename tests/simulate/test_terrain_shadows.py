"""Terrain cast shadows of the simulator and its flat-illumination truth."""

import dask
import numpy as np
import pytest

from hrlc.io.bands import L2A_BANDS
from hrlc.restore import cast_shadow
from hrlc.simulate import simulate_series
from hrlc.simulate.spectra import DIFFUSE_FRACTION

#: Two winter dates (low sun: long shadows), no clouds, no noise.
WINTER = dict(size=150, dates=2, seed=3, start="2023-12-01", interval_days=30,
              clear_date_probability=1.0, cirrus_probability=0.0, swath_edge_probability=0.0,
              noise_std=0.0)
FIELDS = ("reflectance", "clear_reflectance", "flat_reflectance")
NIR = L2A_BANDS.index("B08")


def _cast(on, off):
    """(time, y, x) where direct light was there without cast shadows and is gone with
    them (a 10 m band, so no averaging over a coarser native pixel blurs it)."""
    return on["clear_reflectance"][:, NIR] != off["clear_reflectance"][:, NIR]


def _values(**options):
    series = simulate_series(**WINTER, **options)
    return series, dict(zip(FIELDS, dask.compute(*(getattr(series, f).data for f in FIELDS))))


@pytest.fixture(scope="module")
def winter():
    return _values(chunks=150, cast_shadows=True), _values(chunks=150)[1]


def test_cast_shadow_leaves_only_diffuse_light(winter):
    (series, on), off = winter
    np.testing.assert_array_equal(on["flat_reflectance"], off["flat_reflectance"])
    cast = _cast(on, off)
    assert 0.005 < cast.mean() < 0.3
    for name in ("B02", "B04", "B08"):  # 10 m bands: no averaging over native pixels
        b = L2A_BANDS.index(name)
        flat = on["flat_reflectance"][:, b][cast]
        ratio = on["clear_reflectance"][:, b][cast] / flat
        # E = d exactly, up to one DN step of 1e-4 of each value
        np.testing.assert_allclose(ratio, DIFFUSE_FRACTION[b], atol=2e-4 / flat.min() + 1e-6)


def test_cast_shadows_are_the_same_for_any_chunking(winter):
    (_, whole), _ = winter
    _, chunked = _values(chunks=37, cast_shadows=True)
    for name in FIELDS:
        np.testing.assert_array_equal(chunked[name], whole[name], err_msg=name)


def test_the_restoration_finds_the_simulated_cast_shadows(winter):
    (series, on), off = winter
    cast, d = _cast(on, off), DIFFUSE_FRACTION[NIR]
    direct = off["clear_reflectance"][:, NIR] / off["flat_reflectance"][:, NIR] > d + 0.01
    refl = series.reflectance
    found = cast_shadow(series.dem.compute(), sun_zenith=refl.sun_zenith,
                        sun_azimuth=refl.sun_azimuth).values
    # where the slope itself faces the sun (the simulator's cast shadow only changes a
    # pixel that gets direct light), away from the tile edges (the simulator sees terrain
    # beyond the tile, the restoration only the tile's DEM)
    inner = (slice(None), slice(30, -30), slice(30, -30))
    where = direct[inner]
    agree = (found[inner][where] == cast[inner][where]).mean()
    assert agree > 0.99 and cast[inner].sum() > 100, agree
