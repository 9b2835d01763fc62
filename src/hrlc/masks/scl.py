"""Initial cloud/shadow masks from Sen2Cor's scene classification (SCL).

SCL codes: 0 no data, 1 saturated or defective, 2 dark area pixels, 3 cloud shadows,
4 vegetation, 5 not vegetated, 6 water, 7 unclassified, 8 cloud medium probability,
9 cloud high probability, 10 thin cirrus, 11 snow or ice.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr

CLEAR, THICK_CLOUD, THIN_CLOUD, SHADOW, NODATA = 0, 1, 2, 3, 255


def scl_lookup(*, dark_area: Literal["clear", "shadow"] = "clear",
               snow: Literal["clear", "nodata"] = "clear") -> np.ndarray:
    """Lookup table from SCL code (index 0-255) to CloudSEN12 mask code.

    Choices for the ambiguous classes:

    - ``dark_area`` (SCL 2): from processing baseline 04.00 Sen2Cor puts topographic
      (terrain) shadow here, besides dark surfaces such as burnt areas and dark water.
      Neither is a cloud shadow, so the default is ``"clear"``; the shadow refinement
      finds the true cloud shadows among them by geometry and the cloud-shadow index.
    - ``snow`` (SCL 11): snow is a surface, not a cloud; ``"clear"`` keeps it for
      compositing (a snow month is information), ``"nodata"`` drops it.

    Codes above 11 (not defined by Sen2Cor) map to nodata.
    """
    table = np.full(256, NODATA, dtype=np.uint8)
    table[[4, 5, 6, 7]] = CLEAR
    table[2] = SHADOW if dark_area == "shadow" else CLEAR
    table[3] = SHADOW
    table[[8, 9]] = THICK_CLOUD
    table[10] = THIN_CLOUD
    table[11] = CLEAR if snow == "clear" else NODATA
    table[[0, 1]] = NODATA
    return table


def scl_to_mask(scl: xr.DataArray, *, dark_area: Literal["clear", "shadow"] = "clear",
                snow: Literal["clear", "nodata"] = "clear") -> xr.DataArray:
    """CloudSEN12 mask from Sen2Cor SCL codes.

    Parameters
    ----------
    scl : DataArray (time, y, x) or (y, x), uint8
        Sen2Cor scene classification codes (see module docstring).
    dark_area, snow : str
        How to treat SCL 2 and SCL 11 (see :func:`scl_lookup`).

    Returns
    -------
    DataArray, same dims and coords, uint8
        0 clear, 1 thick cloud, 2 thin cloud, 3 cloud shadow, 255 nodata. Lazy if
        ``scl`` is.
    """
    table = scl_lookup(dark_area=dark_area, snow=snow)
    mask = xr.apply_ufunc(lambda codes: table[codes.astype(np.uint8)], scl,
                          dask="parallelized", output_dtypes=[np.uint8])
    mask.attrs = {"long_name": "cloud mask (CloudSEN12: 0 clear, 1 thick cloud, "
                  "2 thin cloud, 3 cloud shadow, 255 nodata)", "nodata": NODATA}
    return mask.rename("cloud_mask")


#: Display colours (RGB) of the CloudSEN12 codes, for mask COGs and quick-looks.
MASK_COLOURS = {CLEAR: (60, 140, 60), THICK_CLOUD: (250, 250, 250), THIN_CLOUD: (150, 200, 250),
                SHADOW: (60, 60, 60), NODATA: (0, 0, 0)}
