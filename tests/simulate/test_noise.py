"""Procedural noise: pure functions of global pixel coordinates."""

import numpy as np
import pytest

from hrlc.simulate import noise


@pytest.mark.parametrize("options", [
    {"wavelength": 500.0, "octaves": 8},                    # coarse octaves on lattices
    {"wavelength": 12.0, "octaves": 3},                     # per-pixel octaves only
    {"wavelength": 60.0, "octaves": 5, "ridged": True},
    {"wavelength": 300.0, "octaves": 7, "shift": (13.7, -250.2)},
    {"wavelength": 200.0, "octaves": 6, "stretch": 5.0, "angle": 0.4},
])
def test_fbm_window_is_a_view_of_one_field(options):
    big = noise.fbm((-20, -9, 300, 300), seed=3, **options)
    part = noise.fbm((80, 28, 50, 80), seed=3, **options)
    pixel = noise.fbm((131, 41, 1, 1), seed=3, **options)
    np.testing.assert_array_equal(big[100:150, 37:117], part)
    assert big[151, 50] == pixel[0, 0]
    assert big.dtype == np.float32 and -1.2 < big.min() < 0 < big.max() < 1.2


def test_fbm_seeds_and_shift():
    a = noise.fbm((0, 0, 64, 64), wavelength=20, seed=1, octaves=4)
    b = noise.fbm((0, 0, 64, 64), wavelength=20, seed=2, octaves=4)
    assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 0.3
    shifted = noise.fbm((0, 0, 64, 64), wavelength=20, seed=1, octaves=4, shift=(5, -7))
    moved = noise.fbm((5, -7, 64, 64), wavelength=20, seed=1, octaves=4)
    # coarse octaves are interpolated from a lattice that moves with the shift: nearly equal
    np.testing.assert_allclose(shifted, moved, atol=5e-3)


def test_cells_are_one_partition_whatever_the_window():
    ids, border, rows, cols = noise.cells((0, 0, 200, 200), spacing=20, seed=5)
    sub = noise.cells((50, 60, 30, 30), spacing=20, seed=5)
    np.testing.assert_array_equal(ids[50:80, 60:90], sub[0])
    np.testing.assert_array_equal(border[50:80, 60:90], sub[1])
    # about one cell per spacing**2 pixels, each cell connected around its seed point
    assert 80 <= len(np.unique(ids)) <= 140
    first = ids == ids[100, 100]
    r, c = np.nonzero(first)
    assert abs(r.mean() - rows[100, 100]) < 5 and abs(c.mean() - cols[100, 100]) < 5


def test_cell_uniform_is_uniform_and_independent_per_salt():
    ids, *_ = noise.cells((0, 0, 400, 400), spacing=4, seed=9)
    first = np.unique(ids, return_index=True)[1]
    u1 = noise.cell_uniform(ids, 1).ravel()[first]
    u2 = noise.cell_uniform(ids, 2).ravel()[first]
    assert len(u1) > 8000
    for q in (0.1, 0.5, 0.9):
        assert abs((u1 < q).mean() - q) < 0.02
    assert abs(np.corrcoef(u1, u2)[0, 1]) < 0.05


def test_white_noise():
    uniform = noise.hash_uniform((-5, -5, 300, 300), seed=1)
    gauss = noise.hash_gaussian((0, 0, 300, 300), seed=1)
    assert abs(uniform.mean() - 0.5) < 0.01 and 0 <= uniform.min() and uniform.max() < 1
    assert abs(gauss.mean()) < 0.01 and abs(gauss.std() - 1) < 0.02 and abs(gauss).max() <= 3
    np.testing.assert_array_equal(noise.hash_uniform((10, 20, 5, 5), seed=1), uniform[15:20, 25:30])


def test_derive_seed_is_stable_and_distinct():
    assert noise.derive_seed(1, "clouds", 3) == noise.derive_seed(1, "clouds", 3)
    seeds = {noise.derive_seed(s, name, t) for s in (1, 2) for name in ("a", "b") for t in (0, 1)}
    assert len(seeds) == 8


def test_octaves_for():
    assert noise.octaves_for(3.0) == 1
    assert noise.octaves_for(48.0, 3.0) == 5  # 48, 24, 12, 6, 3
