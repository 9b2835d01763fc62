"""The compute block: the same stage gives the same output on every scheduler."""

import os

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


def test_processes_scheduler(safe_products, tmp_path, monkeypatch):
    # dask's process pool sets PYTHONHASHSEED in os.environ for good when it is unset or
    # "0" (its workers must hash alike); "0" is the same start, and monkeypatch removes
    # what dask set, so that the stage launcher of the next tests still serves them
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    with compute_context(ComputeConfig(scheduler="processes", n_workers=2)):
        out = _mask_cog(safe_products["0212"]["folder"], tmp_path / "p.tif")
    with compute_context(ComputeConfig(scheduler="synchronous")):
        ref = _mask_cog(safe_products["0212"]["folder"], tmp_path / "s.tif")
    np.testing.assert_array_equal(out, ref)


def test_a_runs_stages_join_its_local_cluster_when_their_settings_match(monkeypatch):
    from hrlc.compute import RUN_CLUSTER_VARIABLE, RunCluster, _run_cluster_address

    assert RunCluster(ComputeConfig(scheduler="threads")).environment() == {}
    config = ComputeConfig(scheduler="local", n_workers=1, memory_limit="1GB")
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                 "MALLOC_TRIM_THRESHOLD_", "PYTHONHASHSEED", "__DASK_PARENT_PID"):
        monkeypatch.delenv(name, raising=False)  # as set by an earlier cluster's nannies
    before = dict(os.environ)
    with RunCluster(config) as run:
        environment = run.environment()
        assert run.environment() == environment  # started once
        # the nannies' OMP_NUM_THREADS=1 and others reach the workers, not the run (its
        # later stages would have BLAS on one thread and a new launcher)
        assert dict(os.environ) == before
        address = run.cluster.scheduler_address
        monkeypatch.setenv(RUN_CLUSTER_VARIABLE, environment[RUN_CLUSTER_VARIABLE])
        with compute_context(config) as client:
            assert client.scheduler.address == address
            assert client.submit(sum, [1, 2]).result() == 3
            workers = client.run(lambda: os.environ.get("OMP_NUM_THREADS"))  # in each worker
            assert set(workers.values()) == {"1"}
        assert run.cluster.status.name == "running"  # the stage left it running
        # another stage's settings: not this cluster (the stage starts one of its own)
        assert _run_cluster_address(config) == address
        for other in ({"n_workers": 2}, {"threads_per_worker": 2}, {"memory_limit": "2GB"}):
            assert _run_cluster_address(config.model_copy(update=other)) is None
        cluster = run.cluster
    assert run.cluster is None and cluster.status.name == "closed"
    for damaged in ("", "not json", "[]", '{"n_workers": 1}'):
        monkeypatch.setenv(RUN_CLUSTER_VARIABLE, damaged)
        assert _run_cluster_address(config) is None
