"""Small simulated series, computed once per test session (values as numpy arrays)."""

from __future__ import annotations

from dataclasses import dataclass

import dask
import numpy as np
import pytest

from hrlc.simulate import SimulatedSeries, simulate_series


@dataclass(frozen=True)
class Computed:
    """A series and every one of its arrays computed (in one dask pass)."""

    series: SimulatedSeries
    reflectance: np.ndarray
    clear: np.ndarray
    scl: np.ndarray
    truth: np.ndarray
    landcover: np.ndarray
    dem: np.ndarray


def compute(series: SimulatedSeries) -> Computed:
    arrays = dask.compute(series.reflectance.data, series.clear_reflectance.data, series.scl.data,
                          series.cloud_mask.data, series.landcover.data, series.dem.data)
    return Computed(series, *arrays)


@pytest.fixture(scope="session")
def cloudy() -> Computed:
    """384 px, 4 cloudy dates with known shadow geometry and SCL error rates."""
    return compute(simulate_series(
        size=384, dates=4, seed=5, start="2019-03-01", chunks=128, cloud_cover=(0.25, 0.4),
        clear_date_probability=0.0, cloud_height=400.0, cirrus_probability=0.5,
        swath_edge_probability=0.0, missed_thin_cloud=0.5, missed_thick_cloud=0.2,
        missed_shadow=0.6, bright_as_cloud=0.3, dark_area=0.4))


@pytest.fixture(scope="session")
def year() -> Computed:
    """300 px, 8 clear-ish dates over a year: land cover, phenology, terrain."""
    return compute(simulate_series(size=300, dates=8, seed=2, chunks=150,
                                   clear_date_probability=1.0, cirrus_probability=0.0,
                                   swath_edge_probability=0.0))
