"""Land-cover maps: code mapping, nearest reprojection, stratified draws, erosion."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from hrlc.dataset import Exclusion, LCMapping, lc_classes, merge_by_priority, sample_lc
from hrlc.errors import ConfigError
from tests.dataset.conftest import RES, X0, Y0, make_cube

MAPPING = LCMapping({10: "forest", 20: "water", 30: "urban"}, ignore=(0,), source="lc.yaml")


def lc_raster(codes: np.ndarray, *, res: float = RES, crs: int = 32633) -> xr.DataArray:
    h, w = codes.shape
    lc = xr.DataArray(codes, dims=("y", "x"),
                      coords={"y": Y0 - res * (np.arange(h) + 0.5),
                              "x": X0 + res * (np.arange(w) + 0.5)})
    return lc.rio.write_crs(crs).rio.write_nodata(0)


def halves() -> np.ndarray:
    """Forest (10) in cols 0-4, water (20) in cols 5-9, one no-data pixel at (0, 0)."""
    codes = np.full((10, 10), 10, np.uint16)
    codes[:, 5:] = 20
    codes[0, 0] = 0
    return codes


def test_codes_map_to_classes_and_unknown_codes_name_the_mapping(cube, classes):
    on_grid = lc_classes(lc_raster(halves()), mapping=MAPPING, classes=classes, like=cube)
    assert on_grid.dtype == np.uint8 and on_grid.chunks == ((5, 5), (5, 5))
    values = on_grid.values
    assert values[0, 0] == 0 and (values[1:, :5] == 1).all() and (values[:, 5:] == 2).all()
    codes = halves()
    codes[7, 8] = 99
    bad = lc_classes(lc_raster(codes), mapping=MAPPING, classes=classes, like=cube)
    with pytest.raises(ConfigError, match=r"code\(s\) \[99\] are not in the mapping lc.yaml"):
        sample_lc(bad, quotas={1: 5})
    with pytest.raises(ConfigError, match="lc.yaml: classes: 'bog'"):
        lc_classes(lc_raster(halves()), mapping=LCMapping({10: "bog"}, source="lc.yaml"),
                   classes=classes, like=cube)


def test_a_coarser_map_is_resampled_by_nearest(cube, classes):
    coarse = np.array([[10, 20, 20, 30, 30]] * 5, np.uint16)  # 20 m pixels, same origin
    on_grid = lc_classes(lc_raster(coarse, res=2 * RES), mapping=MAPPING, classes=classes,
                         like=cube).values
    assert (on_grid[:, :2] == 1).all() and (on_grid[:, 2:6] == 2).all()
    assert (on_grid[:, 6:] == 3).all()


def test_stratified_draw_is_exact_without_replacement_and_seeded(cube, classes):
    on_grid = lc_classes(lc_raster(halves()), mapping=MAPPING, classes=classes, like=cube)
    drawn, available = sample_lc(on_grid, quotas={1: 20, 2: 100, 3: 5}, seed=3)
    assert available == {1: 49, 2: 50}
    counts = drawn["class"].value_counts().to_dict()
    assert counts == {1: 20, 2: 50}  # water has only 50 pixels: all are taken
    assert not drawn.duplicated(["row", "col"]).any()
    assert (on_grid.values[drawn["row"], drawn["col"]] == drawn["class"]).all()
    again, _ = sample_lc(on_grid, quotas={1: 20, 2: 100, 3: 5}, seed=3)
    other, _ = sample_lc(on_grid, quotas={1: 20, 2: 100, 3: 5}, seed=4)
    assert drawn.equals(again) and not drawn.equals(other)


@pytest.mark.parametrize("chunks", [(5, 5), (10, 10), (3, 4)])
def test_erosion_keeps_pixels_away_from_borders_whatever_the_chunks(classes, chunks):
    cube = make_cube(chunks=chunks)
    on_grid = lc_classes(lc_raster(halves()), mapping=MAPPING, classes=classes, like=cube)
    drawn, available = sample_lc(on_grid, quotas={1: 1000, 2: 1000}, erosion=1)
    # forest: cols 0-3 (40 px) less the no-data pixel (0, 0) and its 3 forest
    # neighbours; water: cols 6-9. The grid edge is not a border.
    assert available == {1: 40 - 1 - 3, 2: 40}
    assert drawn["col"].isin([4, 5]).sum() == 0
    assert not ((drawn["row"] <= 1) & (drawn["col"] <= 1)).any()


def test_excluded_pixels_and_blocks_are_never_drawn(cube, classes):
    on_grid = lc_classes(lc_raster(halves()), mapping=MAPPING, classes=classes, like=cube)
    exclusion = Exclusion(width=10, block_px=5, pixels=np.array([1 * 10 + 1, 2 * 10 + 2]),
                          blocks=np.array([1]))  # block 1: rows 0-4, cols 5-9
    drawn, available = sample_lc(on_grid, quotas={1: 1000, 2: 1000}, exclusion=exclusion)
    assert available == {1: 47, 2: 25}
    assert not ((drawn["row"] < 5) & (drawn["col"] >= 5)).any()
    assert not drawn.set_index(["row", "col"]).index.isin([(1, 1), (2, 2)]).any()


def test_maps_merge_by_priority(cube, classes):
    first = halves()
    first[:, 5:] = 0  # the first map knows only the left half
    second = np.full((10, 10), 30, np.uint16)
    maps = [lc_classes(lc_raster(c), mapping=MAPPING, classes=classes, like=cube)
            for c in (first, second)]
    merged = merge_by_priority(maps).values
    assert merged[0, 0] == 3 and (merged[1:, :5] == 1).all() and (merged[:, 5:] == 3).all()
