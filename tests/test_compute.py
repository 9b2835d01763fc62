"""The compute block: the same stage gives the same output on every scheduler."""

import numpy as np
import pytest
import rasterio

from hrlc.compute import compute_context
from hrlc.config import ComputeConfig
from hrlc.io import read_scl, write_cog
from hrlc.masks import scl_to_mask


def _mask_cog(source, out):
    mask = scl_to_mask(read_scl(source, chunks=6)).isel(time=0)
    write_cog(mask, out, nodata=255)
    with rasterio.open(out) as src:
        return src.read(1)


@pytest.mark.slow
def test_local_cluster_gives_the_same_output_as_threads(safe_products, tmp_path):
    source = safe_products["0509"]["zip"]
    with compute_context(ComputeConfig(scheduler="threads")) as client:
        assert client is None
        threads = _mask_cog(source, tmp_path / "threads.tif")
    config = ComputeConfig(scheduler="local", n_workers=2, memory_limit="1GB")
    with compute_context(config) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        cluster = _mask_cog(source, tmp_path / "cluster.tif")
    np.testing.assert_array_equal(threads, cluster)
    assert set(np.unique(threads)) <= {0, 1, 2, 3, 255} and threads.shape == (18, 18)


def test_processes_scheduler(safe_products, tmp_path):
    with compute_context(ComputeConfig(scheduler="processes", n_workers=2)):
        out = _mask_cog(safe_products["0212"]["folder"], tmp_path / "p.tif")
    with compute_context(ComputeConfig(scheduler="synchronous")):
        ref = _mask_cog(safe_products["0212"]["folder"], tmp_path / "s.tif")
    np.testing.assert_array_equal(out, ref)
