"""Reading by whole internal tiles: same values as a direct read, each tile decoded once."""

import dataclasses
from fractions import Fraction

import dask
import numpy as np
import pytest
import rasterio
from affine import Affine

from hrlc.errors import CorruptFileError
from hrlc.io import read_l2a, read_scl
from hrlc.io import tiles as tiles_module
from hrlc.io.grid import ResampledBand
from hrlc.io.tiles import tile_shape, tiled_band, worth_tiling

JP2 = {"driver": "JP2OpenJPEG", "QUALITY": "100", "REVERSIBLE": "YES", "BLOCKXSIZE": 128,
       "BLOCKYSIZE": 128}
GTIFF = {"driver": "GTiff", "tiled": True, "blockxsize": 64, "blockysize": 64,
         "compress": "deflate"}


def _write(path, dn, options):
    with rasterio.open(path, "w", height=dn.shape[0], width=dn.shape[1], count=1,
                       dtype=dn.dtype, crs="EPSG:32632", transform=Affine(20, 0, 0, 0, -20, 0),
                       **options) as dst:
        dst.write(dn, 1)
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A uint16 band (DN 0 = nodata) and a uint8 SCL, 300 x 270 px, as JP2 and GeoTIFF."""
    folder = tmp_path_factory.mktemp("tiles")
    rng = np.random.default_rng(4)
    dn = rng.integers(1, 12000, (300, 270)).astype(np.uint16)
    dn[rng.random(dn.shape) < 0.05] = 0
    scl = rng.integers(0, 12, (300, 270)).astype(np.uint8)
    return {(kind, fmt): _write(folder / f"{kind}.{fmt}", data, options)
            for kind, data in (("dn", dn), ("scl", scl))
            for fmt, options in (("jp2", JP2), ("tif", GTIFF))}


class _Counter:
    """Records (file, window) of every decode by the tile reader."""

    def __init__(self, monkeypatch):
        self.windows = []
        decode = tiles_module._RawTiles.__getitem__

        def counted(reader, key):
            self.windows.append((reader.path, tuple((k.start, k.stop) for k in key)))
            return decode(reader, key)

        monkeypatch.setattr(tiles_module._RawTiles, "__getitem__", counted)


# ratio (file px per output px side), output shape, origin: up-sampling (20 m, 60 m onto
# 10 m), the same grid, down-sampling (to 40 m), an area of interest, and an output grid
# larger than the file (a partial coarse pixel: padded with no data)
CASES = [(Fraction(2), (600, 540), (0, 0)), (Fraction(6), (1800, 1620), (0, 0)),
         (Fraction(1), (300, 270), (0, 0)), (Fraction(1, 2), (150, 135), (0, 0)),
         (Fraction(2), (333, 251), (120, 66)), (Fraction(2), (605, 543), (0, 0))]


@pytest.mark.parametrize("fmt", ["jp2", "tif"])
@pytest.mark.parametrize("kind", ["reflectance", "categorical"])
@pytest.mark.parametrize("ratio,shape,origin", CASES)
def test_tiled_read_equals_direct_read(files, fmt, kind, ratio, shape, origin):
    path = files[("dn" if kind == "reflectance" else "scl", fmt)]
    band = ResampledBand(path, 1, (300, 270), ratio, shape, kind=kind, offset=-1000,
                         quantification=10000, nodata=0, origin=origin)
    dtype = "uint16" if kind == "reflectance" else "uint8"
    for chunks, threads in ((97, None), (256, 1)):
        lazy = tiled_band(band, tile_shape(path), chunks, f"t-{chunks}", dtype=dtype,
                          threads=threads)
        assert lazy.chunks[0][0] == min(chunks, shape[0]) and lazy.dtype == band.dtype
        np.testing.assert_array_equal(lazy.compute(scheduler="threads"), band[:, :])


@pytest.mark.parametrize("fmt,block", [("tif", (64, 64)), ("jp2", (128, 270))])
def test_each_tile_is_decoded_once_whatever_the_chunks(files, fmt, block, monkeypatch):
    # GDAL's blocks: the GeoTIFF's tiles; JPEG 2000 tiles under 1024 px are grouped into
    # full-width strips of one tile row (ESA's 1024 px tiles are blocks as they are)
    path = files[("dn", fmt)]
    assert tile_shape(path) == block
    counter = _Counter(monkeypatch)
    band = ResampledBand(path, 1, (300, 270), Fraction(2), (600, 540), kind="reflectance",
                         quantification=10000, nodata=0)
    tiled_band(band, block, 97, f"once-{fmt}", dtype="uint16").compute(scheduler="threads")
    expected = [((r, min(r + block[0], 300)), (c, min(c + block[1], 270)))
                for r in range(0, 300, block[0]) for c in range(0, 270, block[1])]
    assert sorted(w for _, w in counter.windows) == sorted(expected)  # every block once


def test_an_area_of_interest_decodes_only_its_tiles(files, monkeypatch):
    counter = _Counter(monkeypatch)
    band = ResampledBand(files[("dn", "tif")], 1, (300, 270), Fraction(2), (100, 60),
                         kind="reflectance", quantification=10000, nodata=0, origin=(270, 270))
    tiled_band(band, (64, 64), 40, "aoi", dtype="uint16").compute(scheduler="threads")
    # file rows 135-185 and cols 135-165: tile rows 2 (128-192), tile col 2 (128-192)
    assert [w for _, w in counter.windows] == [((128, 192), (128, 192))]


def test_when_tiles_pay(files):
    def band(ratio, origin=(0, 0)):
        return ResampledBand("f", 1, (5490, 5490), ratio, (10980, 10980), kind="reflectance",
                             origin=origin)

    assert worth_tiling(band(Fraction(2)), (1024, 1024), 512, "uint16")  # 20 m tile: 16 chunks
    assert worth_tiling(band(Fraction(1)), (1024, 1024), 512, "uint16")  # 10 m tile: 4 chunks
    assert not worth_tiling(band(Fraction(1)), (512, 512), 512, "uint16")  # a tile a chunk
    assert worth_tiling(band(Fraction(1), (6, 0)), (512, 512), 512, "uint16")  # shifted
    assert not worth_tiling(band(Fraction(1)), (1, 10980), 512, "uint16")  # a striped TIFF
    assert not worth_tiling(band(Fraction(1)), (10980, 10980), 512, "uint16")  # one huge tile


def test_a_truncated_jp2_names_the_file_and_the_tile(files, tmp_path):
    data = open(files[("dn", "jp2")], "rb").read()
    broken = tmp_path / "broken.jp2"
    broken.write_bytes(data[: len(data) // 2])
    band = ResampledBand(str(broken), 1, (300, 270), Fraction(1), (300, 270),
                         kind="reflectance", quantification=10000, nodata=0)
    with pytest.raises(CorruptFileError, match=r"broken\.jp2: cannot decode rows .*download"):
        tiled_band(band, (128, 128), 100, "broken", dtype="uint16").compute(
            scheduler="synchronous")


@pytest.fixture(scope="module")
def same_season(tmp_path_factory):
    """One simulated season written as JPEG 2000 and as GeoTIFF SAFE products."""
    from hrlc.io.safe_writer import write_series
    from hrlc.simulate import simulate_series

    series = simulate_series(size=1032, dates=1, seed=3, chunks=516)
    # rendered once for both formats (the arrays are lazy: each write would render them)
    written = ("reflectance", "scl", "cloud_mask", "landcover", "dem")
    series = dataclasses.replace(series, **dict(zip(written, dask.persist(
        *(getattr(series, name) for name in written)))))
    root = tmp_path_factory.mktemp("season")
    return {fmt: write_series(series, root / fmt, format=fmt, clear_dates=0)
            for fmt in ("safe", "geotiff")}


@pytest.mark.slow
def test_jp2_products_read_as_the_geotiff_ones_pixel_for_pixel(same_season, monkeypatch):
    jp2, tif = same_season["safe"], same_season["geotiff"]
    band_file = next(p for p in jp2[0].rglob("*_B02_10m.jp2"))
    assert tile_shape(str(band_file)) == (1024, 1024)  # ESA's tile size, 2 x 2 tiles here
    counter = _Counter(monkeypatch)
    bands = ["B02", "B04", "B08", "B11", "B01"]  # 10, 20 and 60 m
    cube = read_l2a(jp2, bands, chunks=300)
    assert any(name.endswith("-tiles") for name in cube.data.dask.layers)
    values, scl = dask.compute(cube.data, read_scl(jp2, chunks=300).data, scheduler="threads")
    decoded = list(counter.windows)
    np.testing.assert_array_equal(values, read_l2a(tif, bands, chunks=300).values)
    np.testing.assert_array_equal(scl, read_scl(tif, chunks=300).values)
    assert np.isfinite(values).mean() > 0.5 and len(np.unique(scl)) > 3
    # each tile of each JP2 file decoded once: 10 m 2 x 2 tiles, 20 m and 60 m one each
    tiles_per_date = 3 * 4 + 1 + 1 + 1  # B02, B04, B08; B11; B01; SCL
    assert len(decoded) == len(set(decoded)) == tiles_per_date
