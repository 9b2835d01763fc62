"""Versions of the software a result was made with: one collector for the run manifest,
the model bundle and the benchmark results.

Versions are read from the installed distributions' metadata (``importlib.metadata``),
so collecting them imports none of the libraries; ``"gdal"`` is the GDAL that rasterio
was built with, and ``"python"`` the interpreter's version.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version

def _version(name: str) -> str | None:
    if name == "python":
        return platform.python_version()
    if name == "gdal":
        try:
            import rasterio
        except ImportError:
            return None
        return rasterio.__gdal_version__
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def library_versions(names: Iterable[str]) -> dict[str, str | None]:
    """The installed version of each of ``names``, in their order.

    Parameters
    ----------
    names : iterable of str
        Distribution names as pip knows them (``"scikit-learn"``, ``"hrlc"``), or
        ``"python"`` (the interpreter, e.g. ``"3.11.9"``) or ``"gdal"`` (the GDAL of
        rasterio, e.g. ``"3.9.2"``).

    Returns
    -------
    dict
        name -> version string, or None where that distribution is not installed.
    """
    return {name: _version(name) for name in names}
