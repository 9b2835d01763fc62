"""Scene simulator: realistic Sentinel-2 L2A time series with known truth.

``simulate_series`` builds a lazy (dask) series of one tile - land cover, relief,
phenology, terrain illumination, clouds, cirrus, cloud shadows, a Sen2Cor-like SCL with
configurable errors - that is deterministic for a seed and independent of chunking.
``hrlc.io.safe_writer.write_series`` writes it as SAFE products with the truth beside
them; ``hrlc simulate`` does both from the command line. See ``docs/simulate.md``.
"""

from hrlc.simulate.acquisitions import Acquisition, sun_position
from hrlc.simulate.landcover import ClassTable, LandCoverClass
from hrlc.simulate.sen2cor import SclErrors
from hrlc.simulate.series import SimulatedSeries, simulate_series

__all__ = [
    "Acquisition",
    "ClassTable",
    "LandCoverClass",
    "SclErrors",
    "SimulatedSeries",
    "simulate_series",
    "sun_position",
]
