"""One collector of library versions for bundles, run manifests and benchmark results."""

from __future__ import annotations

import platform

import numpy
import rasterio
import sklearn

import hrlc
from hrlc.versions import library_versions


def test_versions_are_those_the_libraries_report():
    found = library_versions(["scikit-learn", "numpy", "python", "gdal", "hrlc",
                              "no-such-distribution-hrlc"])
    assert list(found) == ["scikit-learn", "numpy", "python", "gdal", "hrlc",
                           "no-such-distribution-hrlc"]
    assert found == {"scikit-learn": sklearn.__version__, "numpy": numpy.__version__,
                     "python": platform.python_version(),
                     "gdal": rasterio.__gdal_version__, "hrlc": hrlc.__version__,
                     "no-such-distribution-hrlc": None}


def test_bundles_manifests_and_benchmarks_record_them_alike():
    from hrlc.benchmark import VERSIONS, machine_facts
    from hrlc.model._layout import versions

    # the bundle check compares this scikit-learn string with the one saved in the file
    assert versions() == {"hrlc": hrlc.__version__, "scikit-learn": sklearn.__version__,
                          "numpy": numpy.__version__}
    assert machine_facts()["versions"] == library_versions(VERSIONS)
