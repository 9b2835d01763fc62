"""Shared fixtures: small real-format products built around real metadata."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

DATA = Path(__file__).parent / "data"
SAFE_METADATA = DATA / "s2-l2a-safe-metadata"
BASELINE_0212 = "S2A_MSIL2A_20190212T192651_N0212_R013_T07HFE_20201007T160857.SAFE"
BASELINE_0509 = "S2A_MSIL2A_20230821T221941_N0509_R029_T01KAB_20230822T021825.SAFE"

#: Size of the 60 m grid of the small test products; 20 m is 3x and 10 m 6x that.
SMALL_60M = 3


def _geocoding(tile_xml: Path) -> tuple[int, float, float]:
    root = ET.parse(tile_xml).getroot()
    find = lambda tag: next(el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == tag)  # noqa: E731
    epsg = int(find("HORIZONTAL_CS_CODE").text.split(":")[1])
    return epsg, float(find("ULX").text), float(find("ULY").text)


def write_band(path: Path, dn: np.ndarray, *, epsg: int, ulx: float, uly: float, res: float,
               driver: str = "JP2OpenJPEG") -> None:
    """Write one uint16/uint8 band, lossless JP2 by default."""
    options = {"QUALITY": "100", "REVERSIBLE": "YES"} if driver == "JP2OpenJPEG" else {}
    with rasterio.open(path, "w", driver=driver, height=dn.shape[0], width=dn.shape[1], count=1,
                       dtype=dn.dtype, crs=f"EPSG:{epsg}",
                       transform=Affine(res, 0, ulx, 0, -res, uly), **options) as dst:
        dst.write(dn, 1)


def build_safe(dest: Path, product: str, *, seed: int = 0) -> tuple[Path, dict[str, np.ndarray]]:
    """Copy a real SAFE metadata folder and write small lossless JP2 rasters for every
    IMAGE_FILE it lists. Returns the product folder and the DNs written, keyed by the
    file stem (``..._B02_10m``)."""
    safe = dest / product
    shutil.copytree(SAFE_METADATA / product, safe)
    for p in safe.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    epsg, ulx, uly = _geocoding(next(safe.glob("GRANULE/*/MTD_TL.xml")))
    rng = np.random.default_rng(seed)
    written = {}
    root = ET.parse(safe / "MTD_MSIL2A.xml").getroot()
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] != "IMAGE_FILE":
            continue
        stem = el.text.strip()
        name = stem.rsplit("/", 1)[-1]
        kind, res = name.split("_")[-2], int(name.split("_")[-1].rstrip("m"))
        if kind in ("TCI", "AOT", "WVP"):
            continue
        size = SMALL_60M * 60 // res
        if kind == "SCL":
            dn = rng.integers(0, 12, (size, size)).astype(np.uint8)
        else:
            dn = rng.integers(1, 12000, (size, size)).astype(np.uint16)
            dn[0, 0] = 0  # nodata
        path = safe / f"{stem}.jp2"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_band(path, dn, epsg=epsg, ulx=ulx, uly=uly, res=res)
        written[name] = dn
    return safe, written


def zip_safe(safe: Path, dest: Path) -> Path:
    """Zip a SAFE folder the way ESA distributes it (the .SAFE folder at the root)."""
    archive = dest / (safe.name.removesuffix(".SAFE") + ".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for file in sorted(safe.rglob("*")):
            if file.is_file():
                zf.write(file, f"{safe.name}/{file.relative_to(safe).as_posix()}")
    return archive


@pytest.fixture(scope="session")
def safe_products(tmp_path_factory):
    """Both real baselines as small SAFE folders with JP2 rasters, and as .zip."""
    root = tmp_path_factory.mktemp("safe")
    out = {}
    for key, product, seed in (("0212", BASELINE_0212, 1), ("0509", BASELINE_0509, 2)):
        folder, dns = build_safe(root / "folders", product, seed=seed)
        (root / "zips").mkdir(exist_ok=True)
        out[key] = {"folder": folder, "zip": zip_safe(folder, root / "zips"), "dn": dns}
    return out


def cli_error(argv, capsys) -> str:
    """Run ``hrlc ARGV`` in-process; assert the house rule for errors (exit code 2, one
    ``hrlc: error:`` line, last on stderr, no traceback) and return that line."""
    from hrlc.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in argv])
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert exit_info.value.code == 2, out.err
    assert "Traceback" not in out.err + out.out
    assert [line for line in lines if line.startswith("hrlc:")] == lines[-1:], out.err
    assert lines[-1].startswith("hrlc: error: ")
    return lines[-1]


@pytest.fixture
def kernel_types(monkeypatch):
    """Record the numba argument types that named kernels of a module are called with.

    ``seen = kernel_types(module, "name", ...)`` wraps those dispatchers for the test;
    afterwards ``seen[name]`` is the set of argument-type tuples (``numba.typeof`` of each
    argument: what numba compiles one variant for) of the calls made during the test.
    ``dispatcher.signatures`` would not do: it is per process, so under pytest-xdist it
    also holds the calls of the worker's earlier tests. See :func:`assert_one_variant`.
    """
    import numba

    def record(module, *names):
        seen = {name: set() for name in names}
        for name in names:
            kernel = getattr(module, name)
            kernel = getattr(kernel, "dispatcher", kernel)  # recorded twice in a test

            def call(*args, _kernel=kernel, _name=name):
                seen[_name].add(tuple(numba.typeof(a) for a in args))
                return _kernel(*args)

            call.dispatcher = kernel
            monkeypatch.setattr(module, name, call)
        return seen

    return record


def assert_one_variant(seen, module):
    """Each kernel of ``seen`` (from :func:`kernel_types`) was called, with one tuple of
    argument types, every array C-contiguous and writable: one compiled variant each.

    numba's array type holds the layout ('C', or 'A' for a strided view) and the
    read-only flag, so a kernel handed views compiles a variant per mix of layouts;
    :func:`hrlc.kernels.kernel_array` is the wrapper's cure.
    """
    import numba

    for name, signatures in seen.items():
        assert len(signatures) == 1, f"{name} compiled for {len(signatures)} signatures: " \
                                     f"{sorted(map(str, signatures))}"
        (signature,) = signatures
        for arg in signature:
            if isinstance(arg, numba.types.Array):
                assert arg.layout == "C" and arg.mutable, f"{name} got {arg}"
        assert signature in getattr(module, name).dispatcher.signatures


@pytest.fixture(autouse=True, scope="session")
def _one_stage_launcher_across_tests():
    """pytest sets PYTEST_CURRENT_TEST anew for each test, and a stage launcher serves only
    the environment it was started with: without this, every test that runs a stage would
    start (and import the libraries in) a launcher of its own. No library reads that
    variable when it is imported, so a launcher may serve every test of a worker."""
    from hrlc.pipeline import child

    original = child.SET_BY_IMPORTS
    child.SET_BY_IMPORTS = original | {"PYTEST_CURRENT_TEST"}
    yield
    child.SET_BY_IMPORTS = original


def pytest_collection_modifyitems(session, config, items):
    """Long files first: the notebooks and the files with tests marked ``slow``. Under
    pytest-xdist (``--dist loadfile``, as ``make test`` runs) files are handed to the
    workers in this order, so the short ones fill the end and no worker finishes alone
    with a long one. Each file's tests keep their order (a stable sort by file)."""
    long_files = {item.path for item in items
                  if item.path.suffix == ".ipynb" or item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in long_files)


@pytest.fixture
def native_threads(monkeypatch):
    """``record(cls, user_api)``: from then on, each ``cls.fit`` call appends the thread
    counts of the ``user_api`` ("blas", "openmp") pools loaded at that moment (a set:
    numpy and SciPy each bring an OpenBLAS) to the returned list."""
    from threadpoolctl import threadpool_info

    def record(cls, user_api: str) -> list[set[int]]:
        seen: list[set[int]] = []
        original = cls.fit

        def fit(self, *args, **kwargs):
            seen.append({p["num_threads"] for p in threadpool_info()
                         if p["user_api"] == user_api})
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "fit", fit)
        return seen

    return record
