"""Each index against a hand computation; safe division; bad names and bands; band math."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import rasterio
import xarray as xr
from skimage.filters import sobel as skimage_sobel

from hrlc.errors import ConfigError, MissingBandError
from hrlc.features import INDEX_NAMES, INDICES, compute_index, resolve_indices
from hrlc.config.expressions import parse_expression

BANDS = ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]
# One pixel of known reflectance, and each index computed by hand from it.
PIXEL = {"B02": 0.05, "B03": 0.08, "B04": 0.06, "B05": 0.12, "B06": 0.30, "B07": 0.35,
         "B08": 0.40, "B8A": 0.42, "B11": 0.20, "B12": 0.10}
HAND = {
    "NDVI": (0.40 - 0.06) / (0.40 + 0.06),
    "GNDVI": (0.40 - 0.08) / (0.40 + 0.08),
    "NDVI705": (0.30 - 0.12) / (0.30 + 0.12),
    "GLI": (2 * 0.08 - 0.06 - 0.05) / (2 * 0.08 + 0.06 + 0.05),
    "EVI2": 2.5 * (0.40 - 0.06) / (0.40 + 2.4 * 0.06 + 1.0),
    "SAVI": 1.5 * (0.40 - 0.06) / (0.40 + 0.06 + 0.5),
    "NDYI": (0.08 - 0.05) / (0.08 + 0.05),
    "NDLI": (math.log(1 / 0.10) - math.log(1 / 0.20)) / (math.log(1 / 0.10) + math.log(1 / 0.20)),
    "NDMI": (0.40 - 0.20) / (0.40 + 0.20),
    "NDWI": (0.08 - 0.40) / (0.08 + 0.40),
    "NDSI": (0.08 - 0.20) / (0.08 + 0.20),
    "NDBI": (0.20 - 0.40) / (0.20 + 0.40),
    "BSI": ((0.20 + 0.06) - (0.40 + 0.05)) / ((0.20 + 0.06) + (0.40 + 0.05)),
}


def pixel_stack(values=PIXEL, shape=(1, 2, 3)):
    data = np.stack([np.full(shape, values[b], np.float32) for b in BANDS], axis=1)
    return xr.DataArray(data, dims=("time", "band", "y", "x"), coords={"band": BANDS})


def test_registry_has_the_14_indices():
    assert INDEX_NAMES == ("NDVI", "GNDVI", "NDVI705", "GLI", "EVI2", "SAVI", "NDYI", "NDLI",
                           "NDMI", "NDWI", "NDSI", "NDBI", "BSI", "SOBEL")
    assert all(i.reference and i.formula and i.long_name for i in INDICES.values())


@pytest.mark.parametrize("name", sorted(HAND))
def test_index_matches_hand_computation(name):
    out = compute_index(pixel_stack().chunk({"x": 1}), name)
    assert out.dims == ("time", "y", "x") and out.dtype == np.float32
    np.testing.assert_allclose(out.values, HAND[name], rtol=2e-6)


@pytest.mark.parametrize("name", [n for n in HAND if n not in ("EVI2", "SAVI", "NDLI")])
def test_zero_denominator_gives_nan_without_warning(name):
    zeros = pixel_stack({b: 0.0 for b in BANDS})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = compute_index(zeros, name).values
    assert np.isnan(out).all()


def test_nodata_stays_nan_and_log_of_zero_is_nan_not_inf():
    values = dict(PIXEL, B12=0.0)
    out = compute_index(pixel_stack(values), "NDLI").values
    assert np.isnan(out).all()
    nan = compute_index(pixel_stack(dict(PIXEL, B04=np.nan)), "NDVI").values
    assert np.isnan(nan).all()


def test_indices_on_real_pixels_match_the_digital_numbers(aber, aber_path):
    with rasterio.open(aber_path) as src:  # bands B02..B12; reflectance = DN / 1000
        dn = {d: src.read(i + 1, window=((100, 103), (200, 204))).astype(np.float64)
              for i, d in enumerate(src.descriptions)}
    expected = (dn["B08"] - dn["B04"]) / (dn["B08"] + dn["B04"])
    got = compute_index(aber.isel(y=slice(100, 103), x=slice(200, 204)), "NDVI")
    np.testing.assert_allclose(got.isel(time=0).values, expected, rtol=1e-5)
    bsi = ((dn["B11"] + dn["B04"]) - (dn["B08"] + dn["B02"])) / (
        (dn["B11"] + dn["B04"]) + (dn["B08"] + dn["B02"]))
    got = compute_index(aber.isel(y=slice(100, 103), x=slice(200, 204)), "BSI")
    np.testing.assert_allclose(got.isel(time=0).values, bsi, rtol=1e-5)


def test_missing_band_names_index_and_band():
    stack = pixel_stack().sel(band=[b for b in BANDS if b != "B11"])
    with pytest.raises(MissingBandError, match=r"index NDMI needs band B11"):
        compute_index(stack, "NDMI")


def test_unknown_index_lists_known_ones():
    with pytest.raises(ConfigError, match=r"unknown index 'NDXX'.*NDVI, GNDVI.*SOBEL"):
        resolve_indices(["NDVI", "NDXX"])


def test_sobel_per_month_matches_scikit_image(make_stack):
    stack = make_stack(chunks={"y": 7, "x": 6})
    out = compute_index(stack, "SOBEL", sobel_band="B08")
    assert out.dims == ("time", "y", "x")
    for t in range(2):
        expected = skimage_sobel(stack.isel(time=t).sel(band="B08").values.astype(np.float64))
        np.testing.assert_allclose(out.values[t, 1:-1, 1:-1], expected[1:-1, 1:-1], atol=1e-6)


def test_custom_index_is_evaluated_and_case_insensitive():
    chosen = resolve_indices(["NDRE"], {"NDRE": "(b8a - B05) / (B8A + b05)"})
    out = compute_index(pixel_stack(), chosen["NDRE"]).values
    np.testing.assert_allclose(out, (0.42 - 0.12) / (0.42 + 0.12), rtol=1e-6)
    assert chosen["NDRE"].bands == ("B8A", "B05")


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')", "B04.real", "B04[0]", "lambda: 1", "'B04'",
    "open('x')", "B04 if B08 else B02", "NIR - RED", "log(B04, base=2)", "[B04]", "B04 < B08",
    "sqrt()", "",
])
def test_band_math_rejects_anything_but_arithmetic(text):
    with pytest.raises(ConfigError, match="allowed: band names"):
        parse_expression(text)


def test_band_math_functions():
    expr = parse_expression("max(B04, B08) - min(B04, B08) + abs(-B02) + sqrt(B03) * 0")
    out = expr(np.array([0.1]), np.array([0.4]), np.array([0.05]), np.array([0.2]))
    np.testing.assert_allclose(out, 0.3 + 0.05, rtol=1e-6)
