"""Physics the processing stages rely on: terrain illumination, cloud shadows, clouds,
Sen2Cor-like SCL errors, land cover and phenology."""

import numpy as np
import pytest

from hrlc.io.bands import L2A_BANDS
from hrlc.masks.scl import scl_lookup
from hrlc.simulate.landcover import BARE, BUILT, CONIFER, CROP, DECIDUOUS, WATER
from hrlc.simulate.spectra import DIFFUSE_FRACTION

BLUE, RED, NIR, SWIR1, SWIR2 = (L2A_BANDS.index(b) for b in ("B02", "B04", "B08", "B11", "B12"))


def _cos_incidence(dem: np.ndarray, zenith: float, azimuth: float) -> np.ndarray:
    """cos(i) from the DEM by central differences, as a topographic correction would."""
    d_row, d_col = np.gradient(dem.astype(np.float64), 10.0)
    east, north = -d_col, d_row  # rows run south
    norm = np.sqrt(east ** 2 + north ** 2 + 1)
    zen, azi = np.radians(zenith), np.radians(azimuth)
    return (east * np.sin(zen) * np.sin(azi) + north * np.sin(zen) * np.cos(azi)
            + np.cos(zen)) / norm


def test_relief_has_mountains_valleys_and_plains(year):
    d_row, d_col = np.gradient(year.dem.astype(np.float64), 10.0)
    slope = np.degrees(np.arctan(np.hypot(d_row, d_col)))
    assert np.percentile(slope, 50) < 5 and np.percentile(slope, 95) > 15  # plains + mountains
    assert year.dem.max() - year.dem.min() > 40
    water = year.landcover == WATER
    assert water.any() and np.median(year.dem[water]) < np.median(year.dem)


@pytest.mark.parametrize("t", [0, 7])
def test_illumination_follows_cos_i(year, t):
    """Clear-sky NIR of needleleaf forest is rho * (d + (1 - d) cos(i) / cos(sz))."""
    refl = year.series.reflectance
    zenith, azimuth = float(refl.sun_zenith[t]), float(refl.sun_azimuth[t])
    cos_i = _cos_incidence(year.dem, zenith, azimuth)
    inner = np.zeros(cos_i.shape, bool)
    inner[1:-1, 1:-1] = True
    forest = (year.landcover == CONIFER) & inner
    assert forest.sum() > 2000
    d = DIFFUSE_FRACTION[NIR]
    expected = d + (1 - d) * np.maximum(cos_i[forest], 0) / np.cos(np.radians(zenith))
    nir = year.clear[t, NIR][forest]
    assert np.corrcoef(nir, cos_i[forest])[0, 1] > 0.85
    scale = np.median(nir / expected)  # the forest's flat-terrain reflectance
    slope, _ = np.polyfit(expected, nir / scale, 1)
    assert slope == pytest.approx(1.0, abs=0.1)


def test_shadows_lie_away_from_the_sun_at_the_cloud_height(cloudy):
    refl = cloudy.series.reflectance
    size = refl.sizes["x"]
    for t in range(refl.sizes["time"]):
        zenith = np.radians(float(refl.sun_zenith[t]))
        azimuth = np.radians(float(refl.sun_azimuth[t]))
        reach = 400.0 * np.tan(zenith) / 10.0  # cloud_height 400 m, pixels of 10 m
        towards_sun = np.array([-reach * np.cos(azimuth), reach * np.sin(azimuth)])  # rows, cols
        truth = cloudy.truth[t]
        rows, cols = np.nonzero(truth == 3)
        assert len(rows) > 500
        # the cloud that casts a shadow is `reach` pixels towards the sun...
        r = np.rint(rows + towards_sun[0]).astype(int)
        c = np.rint(cols + towards_sun[1]).astype(int)
        inside = (r >= 0) & (r < size) & (c >= 0) & (c < size)
        assert np.isin(truth[r[inside], c[inside]], (1, 2)).mean() > 0.97
        # ... and the cross-correlation of shadows with thick clouds peaks there
        cloud = (truth == 1) - (truth == 1).mean()
        shadow = (truth == 3) - (truth == 3).mean()
        corr = np.real(np.fft.ifft2(np.fft.fft2(shadow) * np.conj(np.fft.fft2(cloud))))
        peak = np.array(np.unravel_index(np.argmax(corr), corr.shape))
        peak = np.where(peak > size // 2, peak - size, peak)
        np.testing.assert_allclose(peak, -towards_sun, atol=1.0)


def test_shadows_darken_direct_light_clouds_brighten(cloudy):
    truth, refl, clear = cloudy.truth, cloudy.reflectance, cloudy.clear
    shadow = (truth == 3)[:, None] & (clear > 0.01)
    ratio = {b: np.median(refl[:, b][shadow[:, b]] / clear[:, b][shadow[:, b]])
             for b in (BLUE, NIR, SWIR1)}
    # diffuse skylight remains: blue (most diffuse) keeps most, SWIR least
    assert ratio[BLUE] > ratio[NIR] > ratio[SWIR1] and ratio[NIR] < 0.6
    thick = truth == 1
    assert np.median(refl[:, BLUE][thick]) > 0.4 and np.median(clear[:, BLUE][thick]) < 0.1
    thin = truth == 2
    assert np.median(refl[:, BLUE][thin] - clear[:, BLUE][thin]) > 0.02
    # clear pixels are untouched, but for faint haze and the penumbra below the thresholds
    ten_metre = np.isin(L2A_BANDS, ["B02", "B03", "B04", "B08"])
    clear_10m = (truth == 0)[:, None] & ten_metre[None, :, None, None]
    change = np.abs(refl - clear)[clear_10m]
    assert np.median(change) == 0 and np.percentile(change, 95) < 0.05


def test_scl_misses_at_the_configured_rates(cloudy):
    """Rates of the fixture: missed thin 0.5, thick 0.2, shadow 0.6, bright as cloud 0.3."""
    truth = cloudy.truth[:, ::2, ::2]  # the SCL's 20 m pixels take their top-left 10 m truth
    scl = cloudy.scl[:, ::2, ::2]
    mask = scl_lookup()[scl]
    landcover = np.broadcast_to(cloudy.landcover[::2, ::2], truth.shape)
    assert (mask[truth == 2] == 0).mean() == pytest.approx(0.5, abs=0.06)
    assert (mask[truth == 1] == 0).mean() == pytest.approx(0.2, abs=0.05)
    assert (mask[truth == 3] != 3).mean() == pytest.approx(0.6, abs=0.06)
    bright = (truth == 0) & np.isin(landcover, (BUILT, BARE))
    assert np.isin(scl[bright], (8, 9)).mean() == pytest.approx(0.3, abs=0.08)
    # detected thin clouds are medium probability or cirrus, missed shadows often dark areas
    assert set(np.unique(scl[(truth == 2) & (mask != 0)])) <= {8, 10}
    assert 0.3 < (scl[(truth == 3) & (mask != 3)] == 2).mean() < 0.7
    # at 10 m the SCL also blurs cloud edges: the disagreement is at least the misses
    assert (scl_lookup()[cloudy.scl] != cloudy.truth).mean() > 0.1


def test_scl_surface_classes(year):
    scl, lc = year.scl[4, ::2, ::2], year.landcover[::2, ::2]  # summer, no clouds, 20 m
    assert np.mean(scl[lc == WATER] == 6) > 0.95
    assert np.mean(scl[lc == DECIDUOUS] == 4) > 0.9
    assert np.mean(np.isin(scl[lc == BUILT], (5, 8, 2))) > 0.9


def test_land_cover_classes_and_table(year):
    table = year.series.class_table
    present = set(np.unique(year.landcover))
    assert present <= set(table.codes) and len(present) >= 7
    assert table.name(CROP) == "cropland" and table.colormap()[WATER] == (30, 136, 229)
    assert table[WATER].hex_colour == "#1e88e5" and len(table) == len(list(table)) == 8


def test_phenology(year):
    refl = year.clear
    ndvi = (refl[:, NIR] - refl[:, RED]) / (refl[:, NIR] + refl[:, RED])
    mean = {c: ndvi[:, year.landcover == c].mean(axis=1) for c in (CONIFER, DECIDUOUS, CROP, WATER)}
    months = year.series.reflectance.time.dt.month.values
    summer, winter = np.isin(months, (6, 7, 8)), np.isin(months, (12, 1, 2))
    # deciduous leafs out, needleleaf stays green, water stays dark in NIR
    assert mean[DECIDUOUS][summer].min() - mean[DECIDUOUS][winter].max() > 0.25
    assert np.ptp(mean[CONIFER]) < 0.2 and mean[CONIFER].min() > 0.55
    assert np.all(mean[WATER] < 0)
    # each crop field greens up and is harvested within the year
    fields = ndvi[:, year.landcover == CROP]
    assert np.median(fields.max(axis=0) - fields.min(axis=0)) > 0.3


def test_classes_are_separable_by_spectra_and_phenology(year):
    """A linear classifier on clear-sky NDVI time series and mean SWIR/blue does well."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    refl = year.clear
    ndvi = (refl[:, NIR] - refl[:, RED]) / (refl[:, NIR] + refl[:, RED])
    swir_blue = refl[:, [BLUE, SWIR1, SWIR2]].mean(axis=0)
    features = np.concatenate([ndvi, swir_blue]).reshape(len(ndvi) + 3, -1).T
    labels = year.landcover.ravel()
    order = np.random.default_rng(0).permutation(labels.size)
    train, test = order[::2], order[1::2]
    model = LinearDiscriminantAnalysis().fit(features[train], labels[train])
    accuracy = (model.predict(features[test]) == labels[test]).mean()
    assert 0.85 < accuracy < 0.995  # separable, but not trivially
