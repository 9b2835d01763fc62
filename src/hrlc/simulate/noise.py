"""Procedural noise evaluated at global pixel coordinates (numba kernels).

Every value is a pure function of ``(seed, row, col)``: a window of any size computed
anywhere gives exactly the values of the same pixels in any other window. This is what
makes the simulator independent of dask chunking and lets each chunk generate its own
halo (for slopes) or look up displaced positions (for cloud shadows) without neighbours.

Coordinates are pixel centres ``(row + 0.5, col + 0.5)`` on the 10 m grid of the tile.

- :func:`hash_uniform` - white noise, uniform in [0, 1).
- :func:`fbm` - fractional Brownian motion of gradient (Perlin) noise, optionally
  ridged (``1 - |n|``) for mountain crests; roughly in [-1, 1], mean 0.
- :func:`cells` - Worley (cellular) noise: the id of the nearest jittered seed point,
  i.e. a Voronoi partition used for fields, forest stands, town blocks and error patches.
- :func:`cell_uniform` - a uniform value per cell id (independent per ``salt``).
"""

from __future__ import annotations

import hashlib

import numba as nb
import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_ODD = np.uint64(0xD6E8FEB86659FD93)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
_ANGLES = np.arange(16) * (2 * np.pi / 16)
_GRAD_X = np.cos(_ANGLES)
_GRAD_Y = np.sin(_ANGLES)
_OCTAVE_TURN = 0.6435  # radians between octaves, so that lattice artefacts do not align

FBM, RIDGED = 0, 1


@nb.njit(cache=True)
def _mix(h):
    h = (h ^ (h >> _S30)) * _M1
    h = (h ^ (h >> _S27)) * _M2
    return h ^ (h >> _S31)


@nb.njit(cache=True)
def _hash(seed, i, j):
    h = _mix(seed + _GOLDEN * np.uint64(i))
    return _mix(h ^ (_ODD * np.uint64(j)))


@nb.njit(cache=True)
def _unit(h):
    return np.float64(h >> _S11) * _TO_UNIT


@nb.njit(cache=True)
def _corner(seed, i, j, dx, dy):
    k = np.int64(_hash(seed, i, j) & np.uint64(15))
    return _GRAD_X[k] * dx + _GRAD_Y[k] * dy


@nb.njit(cache=True)
def _gradient_noise(x, y, seed):
    x0 = np.floor(x)
    y0 = np.floor(y)
    i = np.int64(x0)
    j = np.int64(y0)
    fx = x - x0
    fy = y - y0
    u = fx * fx * fx * (fx * (fx * 6.0 - 15.0) + 10.0)
    v = fy * fy * fy * (fy * (fy * 6.0 - 15.0) + 10.0)
    n00 = _corner(seed, i, j, fx, fy)
    n10 = _corner(seed, i + 1, j, fx - 1.0, fy)
    n01 = _corner(seed, i, j + 1, fx, fy - 1.0)
    n11 = _corner(seed, i + 1, j + 1, fx - 1.0, fy - 1.0)
    a = n00 + u * (n10 - n00)
    b = n01 + u * (n11 - n01)
    return 1.4 * (a + v * (b - a))


@nb.njit(cache=True)
def _octave(x, y, o, seed, cos_o, sin_o, mode):
    # cos_o and sin_o carry the octave's frequency (2 ** o) as well as its rotation
    xo = cos_o[o] * x - sin_o[o] * y
    yo = sin_o[o] * x + cos_o[o] * y
    n = _gradient_noise(xo + 17.31 * o, yo - 9.73 * o, seed + np.uint64(o))
    if mode == RIDGED:
        r = 1.0 - abs(n)
        n = 2.0 * r * r - 1.0
    return n


@nb.njit(cache=True)
def _catmull_rom(t):
    t2 = t * t
    t3 = t2 * t
    return (0.5 * (-t3 + 2.0 * t2 - t), 0.5 * (3.0 * t3 - 5.0 * t2 + 2.0),
            0.5 * (-3.0 * t3 + 4.0 * t2 + t), 0.5 * (t3 - t2))


@nb.njit(cache=True, nogil=True)
def _fbm_window(row0, col0, nrows, ncols, matrix, shift_r, shift_c, seed, cos_o, sin_o,
                amplitude, steps, mode):
    out = np.zeros((nrows, ncols))
    # Smooth octaves are evaluated on a lattice of ``step`` pixels aligned on the tile grid
    # and interpolated (Catmull-Rom, C1), so results do not depend on the window.
    for step in (16, 8, 4, 2):
        if not np.any(steps == step):
            continue
        k0 = np.int64(np.floor(row0 / step)) - 1
        nk = np.int64(np.floor((row0 + nrows - 1) / step)) + 3 - k0
        m0 = np.int64(np.floor(col0 / step)) - 1
        nm = np.int64(np.floor((col0 + ncols - 1) / step)) + 3 - m0
        lattice = np.zeros((nk, nm))
        for a in range(nk):
            pr = (k0 + a) * step + 0.5 + shift_r
            for b in range(nm):
                pc = (m0 + b) * step + 0.5 + shift_c
                x = matrix[0, 0] * pc + matrix[0, 1] * pr
                y = matrix[1, 0] * pc + matrix[1, 1] * pr
                for o in range(steps.size):
                    if steps[o] == step:
                        lattice[a, b] += amplitude[o] * _octave(x, y, o, seed, cos_o, sin_o, mode)
        col_at = np.empty(ncols, np.int64)
        col_w = np.empty((ncols, 4))
        for c in range(ncols):
            g = (col0 + c) / step
            b = np.int64(np.floor(g))
            col_w[c, 0], col_w[c, 1], col_w[c, 2], col_w[c, 3] = _catmull_rom(g - b)
            col_at[c] = b - m0
        along = np.empty((nk, ncols))
        for a in range(nk):
            for c in range(ncols):
                b = col_at[c]
                along[a, c] = (col_w[c, 0] * lattice[a, b - 1] + col_w[c, 1] * lattice[a, b]
                               + col_w[c, 2] * lattice[a, b + 1] + col_w[c, 3] * lattice[a, b + 2])
        for r in range(nrows):
            g = (row0 + r) / step
            a = np.int64(np.floor(g))
            w0, w1, w2, w3 = _catmull_rom(g - a)
            a -= k0
            for c in range(ncols):
                out[r, c] += (w0 * along[a - 1, c] + w1 * along[a, c]
                              + w2 * along[a + 1, c] + w3 * along[a + 2, c])
    if np.any(steps == 1):
        for r in range(nrows):
            pr = row0 + r + 0.5 + shift_r
            for c in range(ncols):
                pc = col0 + c + 0.5 + shift_c
                x = matrix[0, 0] * pc + matrix[0, 1] * pr
                y = matrix[1, 0] * pc + matrix[1, 1] * pr
                total = 0.0
                for o in range(steps.size):
                    if steps[o] == 1:
                        total += amplitude[o] * _octave(x, y, o, seed, cos_o, sin_o, mode)
                out[r, c] += total
    return (out / amplitude.sum()).astype(np.float32)


def fbm(window: tuple[int, int, int, int], *, wavelength: float, seed: int, octaves: int,
        gain: float = 0.5, ridged: bool = False, shift: tuple[float, float] = (0.0, 0.0),
        stretch: float = 1.0, angle: float = 0.0) -> np.ndarray:
    """Fractal noise on a window of the tile grid.

    Octaves with wavelengths of 16 pixels and more are evaluated on a coarser lattice
    (at least 8 points per wavelength, aligned on the tile grid) and interpolated.

    Parameters
    ----------
    window : (row0, col0, nrows, ncols)
        Pixels of the 10 m tile grid (may extend beyond the tile).
    wavelength : float
        Wavelength of the first octave, in pixels; each octave halves it.
    seed : int
        Stream of random numbers (different seeds give independent fields).
    octaves, gain : int, float
        Number of octaves and amplitude ratio between successive octaves.
    ridged : bool
        Ridged multifractal (sharp crests), for mountain relief.
    shift : (rows, cols)
        Evaluate the field displaced by this many pixels (cloud shadows).
    stretch, angle : float
        Anisotropy: the field is ``stretch`` times longer along ``angle`` (radians,
        from the column axis); octaves are then not rotated (streaky cirrus).

    Returns
    -------
    ndarray (nrows, ncols), float32, roughly in [-1, 1]
    """
    row0, col0, nrows, ncols = window
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, s], [-s, c]])
    scale = np.diag([1.0 / (wavelength * stretch), 1.0 / wavelength])
    matrix = scale @ rot
    octave = np.arange(int(octaves))
    turns = octave * (_OCTAVE_TURN if stretch == 1.0 else 0.0)
    shortest = wavelength / 2.0 ** octave  # pixels, per octave
    steps = np.ones(octave.size, np.int64)
    for step in (2, 4, 8, 16):
        steps[shortest >= 8 * step] = step
    frequency = 2.0 ** octave
    return _fbm_window(np.float64(row0), np.float64(col0), nrows, ncols, matrix,
                       float(shift[0]), float(shift[1]), np.uint64(seed),
                       np.cos(turns) * frequency, np.sin(turns) * frequency,
                       float(gain) ** octave.astype(np.float64), steps,
                       RIDGED if ridged else FBM)


def octaves_for(wavelength: float, finest: float = 3.0) -> int:
    """Number of octaves from ``wavelength`` down to ``finest`` pixels (at least 1)."""
    return max(1, int(np.floor(np.log2(max(wavelength, finest) / finest))) + 1)


@nb.njit(cache=True, nogil=True)
def _cells_window(row0, col0, nrows, ncols, spacing, seed, jitter, ids, border, centre_r,
                  centre_c):
    # seed points of every cell the window can reach, computed once
    j_first = np.int64(np.floor((row0 + 0.5) / spacing)) - 1
    i_first = np.int64(np.floor((col0 + 0.5) / spacing)) - 1
    nj = np.int64(np.floor((row0 + nrows - 0.5) / spacing)) + 2 - j_first
    ni = np.int64(np.floor((col0 + ncols - 0.5) / spacing)) + 2 - i_first
    point_h = np.empty((nj, ni), np.uint64)
    point_x = np.empty((nj, ni))
    point_y = np.empty((nj, ni))
    for a in range(nj):
        for b in range(ni):
            h = _hash(seed, i_first + b, j_first + a)
            point_h[a, b] = h
            point_x[a, b] = i_first + b + 0.5 + jitter * (_unit(h) - 0.5)
            point_y[a, b] = j_first + a + 0.5 + jitter * (_unit(_mix(h)) - 0.5)
    for r in range(nrows):
        y = (row0 + r + 0.5) / spacing
        a0 = np.int64(np.floor(y)) - j_first
        for c in range(ncols):
            x = (col0 + c + 0.5) / spacing
            b0 = np.int64(np.floor(x)) - i_first
            best = 1e30
            second = 1e30
            best_a = a0
            best_b = b0
            for a in range(a0 - 1, a0 + 2):
                for b in range(b0 - 1, b0 + 2):
                    dx = point_x[a, b] - x
                    dy = point_y[a, b] - y
                    d = dx * dx + dy * dy
                    if d < best:
                        second = best
                        best = d
                        best_a = a
                        best_b = b
                    elif d < second:
                        second = d
            ids[r, c] = point_h[best_a, best_b]
            border[r, c] = (np.sqrt(second) - np.sqrt(best)) * spacing
            centre_r[r, c] = point_y[best_a, best_b] * spacing - 0.5
            centre_c[r, c] = point_x[best_a, best_b] * spacing - 0.5


def cells(window: tuple[int, int, int, int], *, spacing: float, seed: int,
          jitter: float = 0.9) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Voronoi cells of jittered seed points, one per ``spacing`` x ``spacing`` pixels.

    Returns
    -------
    ids : ndarray (nrows, ncols), uint64
        Id of the cell each pixel belongs to (a hash; equal ids = same cell).
    border : ndarray (nrows, ncols), float32
        Distance to the nearest cell border, in pixels (``F2 - F1`` Worley distance).
    centre_row, centre_col : ndarray (nrows, ncols), float32
        Position of the cell's seed point in tile pixels.
    """
    row0, col0, nrows, ncols = window
    ids = np.empty((nrows, ncols), np.uint64)
    border = np.empty((nrows, ncols), np.float32)
    centre_r = np.empty((nrows, ncols), np.float32)
    centre_c = np.empty((nrows, ncols), np.float32)
    _cells_window(np.float64(row0), np.float64(col0), nrows, ncols, float(spacing),
                  np.uint64(seed), float(jitter), ids, border, centre_r, centre_c)
    return ids, border, centre_r, centre_c


@nb.njit(cache=True, nogil=True)
def _cell_uniform(ids, salt):
    out = np.empty(ids.shape, np.float32)
    flat_ids = ids.ravel()
    flat = out.ravel()
    for k in range(flat_ids.size):
        flat[k] = _unit(_mix(flat_ids[k] ^ (salt * _GOLDEN)))
    return out


def cell_uniform(ids: np.ndarray, salt: int) -> np.ndarray:
    """A uniform [0, 1) value per cell id; different ``salt`` give independent values."""
    return _cell_uniform(np.ascontiguousarray(ids), np.uint64(salt))


@nb.njit(cache=True, nogil=True)
def _hash_window(row0, col0, nrows, ncols, seed):
    out = np.empty((nrows, ncols), np.float64)
    for r in range(nrows):
        for c in range(ncols):
            out[r, c] = _unit(_hash(seed, col0 + c, row0 + r))
    return out


def hash_uniform(window: tuple[int, int, int, int], *, seed: int) -> np.ndarray:
    """White noise, uniform in [0, 1), one value per pixel of ``window`` (float64)."""
    row0, col0, nrows, ncols = window
    return _hash_window(np.int64(row0), np.int64(col0), nrows, ncols, np.uint64(seed))


@nb.njit(cache=True, nogil=True)
def _gauss_window(row0, col0, nrows, ncols, seed):
    # Sum of three 21-bit uniforms from one hash (Irwin-Hall): mean 0, std 1, cheap.
    out = np.empty((nrows, ncols), np.float32)
    mask = np.uint64(0x1FFFFF)
    for r in range(nrows):
        for c in range(ncols):
            h = _hash(seed, col0 + c, row0 + r)
            a = np.float64(h & mask)
            b = np.float64((h >> np.uint64(21)) & mask)
            d = np.float64((h >> np.uint64(42)) & mask)
            out[r, c] = ((a + b + d) / 2097152.0 - 1.5) * 2.0
    return out


def hash_gaussian(window: tuple[int, int, int, int], *, seed: int) -> np.ndarray:
    """White noise with mean 0 and standard deviation 1 (bounded at +-3), float32."""
    row0, col0, nrows, ncols = window
    return _gauss_window(np.int64(row0), np.int64(col0), nrows, ncols, np.uint64(seed))


def derive_seed(seed: int, *keys: int | str) -> int:
    """An independent 63-bit seed for a named stream (``derive_seed(seed, "clouds", t)``)."""
    h = np.uint64(seed & 0xFFFFFFFFFFFFFFFF)
    for key in keys:
        if isinstance(key, str):
            key = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")
        h = np.uint64(_hash(h, np.int64(key & 0x7FFFFFFFFFFFFFFF), np.int64(len(keys))))
    return int(h >> np.uint64(1))
