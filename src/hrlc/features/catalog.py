"""The feature names of each preset, as :func:`~hrlc.features.build_features` makes them.

The names are read from cubes that ``build_features`` builds (lazily, nothing is
computed) on a tiny synthetic stack of the 12 reference bands for the 12 calendar months,
with a DEM, so the lists cannot drift from the code. ``docs/features.md`` holds
:func:`names_markdown` between its ``feature-names`` markers
(``benchmarks/feature_names.py`` rewrites it; a test checks it);
``python -m hrlc.features.catalog`` prints it.
"""

from __future__ import annotations

from itertools import groupby

import numpy as np
import pandas as pd
import xarray as xr

from hrlc.features.build import build_features
from hrlc.features.presets import PRESETS, REFERENCE_BANDS, REFERENCE_MONTHS
from hrlc.features.terrain import REFERENCE_TERRAIN_FEATURES, TERRAIN_CUBE_FEATURES

_SIDE = 8  # px: enough for every window, and quick to build


def _full_year() -> tuple[xr.DataArray, xr.DataArray]:
    """A (time, band, y, x) stack of the reference bands for months 1-12, and a DEM."""
    time = pd.DatetimeIndex([f"2021-{m:02d}-01" for m in REFERENCE_MONTHS])
    y, x = 10.0 * np.arange(_SIDE)[::-1], 10.0 * np.arange(_SIDE)
    stack = xr.DataArray(np.full((len(time), len(REFERENCE_BANDS), _SIDE, _SIDE), 0.1,
                                 np.float32), dims=("time", "band", "y", "x"),
                         coords={"time": time, "band": list(REFERENCE_BANDS), "y": y, "x": x})
    dem = xr.DataArray(np.zeros((_SIDE, _SIDE), np.float32), dims=("y", "x"),
                       coords={"y": y, "x": x})
    return stack, dem


def preset_names(preset: str) -> list[str]:
    """Names of the features of ``preset``, in cube order.

    For ``extended`` these are the default options' features on composites of the 12
    reference bands for 12 months, with a DEM (the extended list follows the bands and
    months it is given; the reference list is always this one).
    """
    stack, dem = _full_year()
    return build_features(stack, dem=dem, preset=preset).feature.values.tolist()


def _group(name: str) -> str:
    stem, _, rest = name.partition("_")
    if stem == "glcm":
        return "GLCM textures"
    if name in REFERENCE_TERRAIN_FEATURES or name in TERRAIN_CUBE_FEATURES:
        return "terrain"
    if stem in REFERENCE_BANDS:
        return f"spectral {stem}"
    return f"{stem} per month" if rest else "indices of the annual composite"


def names_markdown() -> str:
    """The Markdown list of every feature name of each preset: a table per preset, a row
    per group of consecutive names (a band's months, an index's months, textures...)."""
    lines = []
    for preset in PRESETS:
        names = preset_names(preset)
        lines += [f"**`preset: {preset}`**: {len(names)} features", "",
                  "| group | count | names |", "|---|---:|---|"]
        for group, members in groupby(names, key=_group):
            members = list(members)
            lines.append(f"| {group} | {len(members)} | "
                         + " ".join(f"`{n}`" for n in members) + " |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(names_markdown(), end="")
