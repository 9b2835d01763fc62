import dask.array as da
import numpy as np
import pytest

from hrlc.masks import geometric_shadows, shadow_offsets, sweep
from hrlc.masks.shadows import projection_halo, shadow_candidates


def test_offsets_point_away_from_the_sun():
    # sun in the south (azimuth 180): shadows fall north (rows up); in the east: west
    south, east = shadow_offsets([45, 45], [180, 90], cloud_heights=(1000, 2000),
                                 resolution=10)
    np.testing.assert_allclose(south, [[-100, 0], [-200, 0]], atol=1e-9)
    np.testing.assert_allclose(east, [[0, -100], [0, -200]], atol=1e-9)
    halo = projection_halo(shadow_offsets([45], [180], cloud_heights=(0, 1000), resolution=10))
    assert halo[1] == (1, 101) and halo[2] == (1, 1)  # clouds lie south: rows after the block


@pytest.mark.parametrize("start,end", [((3, -2), (9, -6)), ((-2, 5), (-4, 20)),
                                       ((0, 0), (0, 0)), ((5, 0), (-5, 0))])
def test_sweep_of_one_pixel_is_the_segment(start, end):
    mask = np.zeros((40, 50), bool)
    mask[20, 25] = True
    hits = np.argwhere(sweep(mask, start, end)) - (20, 25)
    steps = int(max(abs(end[0] - start[0]), abs(end[1] - start[1]))) + 1
    assert len(hits) == steps
    line = np.linspace(start, end, 200)
    for r, c in hits:  # every hit lies on the segment, to a pixel
        assert np.hypot(*(line - (r, c)).T).min() <= 1.0


@pytest.mark.parametrize("chunks", [(1, 37, 41), (3, 60, 65), (2, 13, 17)])
def test_geometric_shadows_do_not_depend_on_chunks(chunks):
    rng = np.random.default_rng(0)
    cloud = rng.random((3, 120, 130)) > 0.995
    candidates = rng.random((3, 120, 130)) > 0.3
    offsets = shadow_offsets([30, 60, 70], [150, 200, 100], cloud_heights=(300, 1500),
                             resolution=10)
    ref = geometric_shadows(candidates, cloud, offsets=offsets)
    out = geometric_shadows(da.from_array(candidates, chunks=chunks),
                            da.from_array(cloud, chunks=chunks), offsets=offsets)
    np.testing.assert_array_equal(out.compute(), ref)


def test_shadows_are_found_where_the_geometry_puts_them():
    cloud = np.zeros((1, 100, 100), bool)
    cloud[0, 60:70, 40:50] = True
    dark = np.zeros_like(cloud)
    dark[0, 35:45, 40:50] = True      # 25 px north of the cloud: its shadow (sun south)
    dark[0, 80:90, 40:50] = True      # south of the cloud: dark, but no cloud can shade it
    offsets = shadow_offsets([45], [180], cloud_heights=(150, 350), resolution=10)
    found = geometric_shadows(dark, cloud, offsets=offsets)
    assert found[0, 35:45, 40:50].all() and not found[0, 80:90].any()
    assert not (found & cloud).any()


def test_spectral_candidates_exclude_water_and_terrain_shadow():
    csi, blue = np.array([0.1, 0.1, 0.1, 0.3]), np.array([0.05, 0.05, 0.05, 0.05])
    out = shadow_candidates(csi=csi, csi_background=np.full(4, 0.3), blue=blue,
                            blue_background=np.full(4, 0.06), csi_ratio=0.75, blue_ratio=1.0,
                            water=np.array([False, True, False, False]),
                            cos_i=np.array([0.8, 0.8, 0.05, 0.8]), terrain_cos_i=0.15)
    assert out.tolist() == [True, False, False, False]
