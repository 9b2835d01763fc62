"""The Sen2Cor model's persistent error: the same bright pixels called cloud on most dates."""

import numpy as np
import pytest

from hrlc.simulate import SclErrors, simulate_series
from hrlc.simulate.landcover import BARE, BUILT, GRASS
from hrlc.simulate.sen2cor import CLOUD_MEDIUM, PERSISTENT_DATE_PROBABILITY, sen2cor_scl

WINDOW = (40, -12, 120, 160)                 # 20 m pixels, anywhere on the tile grid
NONE = SclErrors(missed_thin_cloud=0, missed_thick_cloud=0, missed_shadow=0,
                 bright_as_cloud=0, dark_area=0)
PERSISTENT = SclErrors(**{**NONE.__dict__, "persistent_bright_as_cloud": 0.3})
DATES = range(12)


def _cloud(errors, *, index, seed=3, window=WINDOW, landcover=BUILT):
    """Where the SCL of a clear, all-``landcover`` window says cloud (8)."""
    shape = window[2:]
    scl = sen2cor_scl(truth=np.zeros(shape, np.uint8), opacity=np.zeros(shape, np.float32),
                      cirrus=np.zeros(shape, np.float32),
                      landcover=np.broadcast_to(np.asarray(landcover, np.uint8), shape),
                      red=np.full(shape, 0.2, np.float32), nir=np.full(shape, 0.25, np.float32),
                      cell_window=window, errors=errors, seed=seed, index=index)
    assert set(np.unique(scl)) <= {5, CLOUD_MEDIUM}  # not vegetated, or the error
    return scl == CLOUD_MEDIUM


def test_persistent_error_is_a_fixed_set_of_pixels():
    flags = np.stack([_cloud(PERSISTENT, index=t) for t in DATES])
    fixed = flags.any(axis=0)      # a patch spared on all 12 dates: probability 1e-12
    assert fixed.mean() == pytest.approx(0.3, abs=0.05)
    per_date = flags.sum(axis=(1, 2)) / fixed.sum()
    np.testing.assert_allclose(per_date, PERSISTENT_DATE_PROBABILITY, atol=0.04)
    # the same pixels date after date: any two dates share all but the spared patches
    for t in DATES[1:]:
        assert (flags[0] & flags[t]).sum() / fixed.sum() > PERSISTENT_DATE_PROBABILITY ** 2 - 0.05
    # unlike bright_as_cloud, whose patches are drawn again every date
    moving = np.stack([_cloud(SclErrors(**{**NONE.__dict__, "bright_as_cloud": 0.27}), index=t)
                       for t in DATES])
    assert moving.mean() == pytest.approx(fixed.mean() * 0.9, abs=0.05)
    assert moving.any(axis=0).mean() > 0.9


def test_persistent_error_is_reproducible_and_seeded():
    a = _cloud(PERSISTENT, index=4)
    np.testing.assert_array_equal(a, _cloud(PERSISTENT, index=4))
    # a sub-window sees the same pixels (chunks agree)
    part = _cloud(PERSISTENT, index=4, window=(70, 20, 30, 50))
    np.testing.assert_array_equal(part, a[30:60, 32:82])
    other = np.stack([_cloud(PERSISTENT, index=t, seed=4) for t in DATES]).any(axis=0)
    fixed = np.stack([_cloud(PERSISTENT, index=t) for t in DATES]).any(axis=0)
    assert (other & fixed).mean() < 0.5 * fixed.mean()   # independent sets: ~0.3 x 0.3


def test_only_bright_pixels_and_nothing_by_default():
    landcover = np.where(np.arange(160) < 80, BUILT, GRASS)[None, :]
    flags = _cloud(PERSISTENT, index=0, landcover=landcover)
    assert flags[:, :80].any() and not flags[:, 80:].any()
    assert not any(_cloud(NONE, index=t).any() for t in DATES)   # rate 0 (the default)


def test_simulate_series_option():
    series = simulate_series(size=96, dates=2, seed=1, clear_date_probability=1.0,
                             cirrus_probability=0.0, swath_edge_probability=0.0,
                             bright_as_cloud=0.0, persistent_bright_as_cloud=1.0)
    # 20 m pixels: the SCL takes the land cover of their top-left 10 m pixel
    scl, landcover = series.scl.values[:, ::2, ::2], series.landcover.values[::2, ::2]
    bright = np.isin(landcover, (BUILT, BARE))
    assert bright.sum() > 50 and (series.cloud_mask.values == 0).all()
    called = (scl == CLOUD_MEDIUM)
    np.testing.assert_allclose(called[:, bright].mean(axis=1), PERSISTENT_DATE_PROBABILITY,
                               atol=0.1)
    assert not called[:, ~bright].any()
