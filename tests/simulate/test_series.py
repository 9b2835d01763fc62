"""simulate_series: structure, determinism, independence of chunking, quantisation."""

import dask
import dask.array as da
import numpy as np
import pytest

from hrlc.config.simulate import SimulateConfig
from hrlc.errors import ConfigError
from hrlc.io.bands import L2A_BANDS, NATIVE_RESOLUTION
from hrlc.simulate import simulate_series

FIELDS = ("reflectance", "clear_reflectance", "flat_reflectance", "scl", "cloud_mask",
          "landcover", "dem")
SMALL = dict(size=114, dates=3, seed=4, clear_date_probability=0.0, cirrus_probability=1.0,
             swath_edge_probability=1.0, cloud_height=300.0)


def _values(series):
    return dict(zip(FIELDS, dask.compute(*(getattr(series, f).data for f in FIELDS))))


def test_structure_matches_read_l2a(cloudy):
    s = cloudy.series
    refl = s.reflectance
    assert refl.dims == ("time", "band", "y", "x") and refl.dtype == np.float32
    assert list(refl.band.values) == list(L2A_BANDS)
    assert isinstance(refl.data, da.Array) and refl.data.chunks[1] == (12,)
    assert s.scl.dims == s.cloud_mask.dims == ("time", "y", "x")
    assert s.scl.dtype == s.cloud_mask.dtype == s.landcover.dtype == np.uint8
    assert s.dem.dtype == np.float32 and s.landcover.dims == ("y", "x")
    for name in ("product_name", "tile_id", "processing_baseline", "sun_zenith", "sun_azimuth",
                 "cloud_cover", "cloud_height"):
        assert refl[name].dims == ("time",)
    assert refl.rio.crs.to_epsg() == 32631
    t = refl.rio.transform()
    assert (t.a, t.e, t.c, t.f) == (10, -10, 300000, 4900020)
    # 44 N, 10:30 solar time, March to November: sun in the south-east
    assert np.all((refl.sun_zenith > 20) & (refl.sun_zenith < 72))
    assert np.all((refl.sun_azimuth > 120) & (refl.sun_azimuth < 165))
    assert set(refl.processing_baseline.values) == {"02.12", "05.09"}
    offsets = dict(zip(refl.processing_baseline.values, refl.boa_add_offset.values[:, 0]))
    assert offsets == {"02.12": 0.0, "05.09": -1000.0}


def test_same_output_for_any_chunking():
    reference = _values(simulate_series(**SMALL, chunks=114))
    for chunks in (37, 60):
        other = _values(simulate_series(**SMALL, chunks=chunks))
        for name in FIELDS:
            np.testing.assert_array_equal(other[name], reference[name], err_msg=name)
    assert np.isnan(reference["reflectance"]).any()  # swath edges were in the test


def test_seed_makes_the_series():
    a = _values(simulate_series(**{**SMALL, "dates": 1}))
    b = _values(simulate_series(**{**SMALL, "dates": 1}))
    c = _values(simulate_series(**{**SMALL, "dates": 1, "seed": 5}))
    for name in FIELDS:
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["landcover"], c["landcover"])


def test_values_are_whole_dn_at_native_resolution(cloudy):
    refl = cloudy.reflectance[:, :, :120, :120]
    dn = refl * 10000
    finite = np.isfinite(dn)
    np.testing.assert_allclose(dn[finite], np.rint(dn[finite]), atol=1e-3)
    for b, band in enumerate(L2A_BANDS):
        f = NATIVE_RESOLUTION[band] // 10
        cells = refl[:, b].reshape(refl.shape[0], 120 // f, f, 120 // f, f)
        assert np.all(cells == cells[:, :, :1, :, :1]), band
    scl = cloudy.scl[:, :120, :120].reshape(-1, 60, 2, 60, 2)
    assert np.all(scl == scl[:, :, :1, :, :1])


def test_unknown_option_and_bad_value_say_the_fix():
    with pytest.raises(ConfigError, match="unknown key 'cloud_heigth'.*cloud_height"):
        simulate_series(size=60, dates=1, seed=0, cloud_heigth=100)
    with pytest.raises(ConfigError, match="missed_shadow"):
        simulate_series(size=60, dates=1, seed=0, missed_shadow=1.5)
    with pytest.raises(ConfigError, match="thin_cloud_opacity"):
        simulate_series(size=60, dates=1, seed=0, thin_cloud_opacity=0.6)


def test_config_fields_are_the_options():
    import inspect

    keywords = {p for p in inspect.signature(simulate_series).parameters if p != "options"}
    assert keywords <= set(SimulateConfig.model_fields)
    series = simulate_series(**SimulateConfig(size=60, dates=2).model_dump())
    assert series.config.size == 60 and len(series.acquisitions) == 2


def test_dates_spread_over_a_year_on_the_revisit():
    series = simulate_series(size=60, dates=12, seed=0)
    days = np.diff(series.reflectance.time.values).astype("timedelta64[D]").astype(int)
    assert set(days) == {30}
    spacecraft = [a.spacecraft for a in series.acquisitions]
    assert spacecraft[:2] == ["S2A", "S2B"]
