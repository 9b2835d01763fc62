"""An interrupted map run resumes without redoing finished blocks."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr

from hrlc.io import write_zarr
from hrlc.mapping import compute_blocks, predict_map
from hrlc.mapping.resume import MARKERS
from tests.mapping.conftest import CHUNK

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path, cube, bundle_file, name="map"):
    features = tmp_path / "features.zarr"
    if not features.exists():
        write_zarr(cube.chunk({"feature": -1, "y": CHUNK, "x": CHUNK}), features)
    config = tmp_path / f"{name}.yaml"
    config.write_text(textwrap.dedent(f"""\
        bundle: {bundle_file}
        features: {features}
        output: {tmp_path / name}
        compute: {{scheduler: synchronous}}
        """))
    return config


#: A map run that stops in the first block it starts once 3 blocks are finished (their
#: markers written): it says so on stdout and waits there to be killed midway, so the
#: test kills it at once instead of racing blocks slowed down by a sleep (left alone, it
#: ends itself after 120 s).
STALLING_RUN = """
import os, sys, time
from pathlib import Path
import hrlc.mapping.predict as predict
markers = Path(sys.argv[2])
original = predict._predict_block
def stalling(*args, **kwargs):
    if markers.is_dir() and len(list(markers.iterdir())) >= 3:
        print("3 blocks done", flush=True)
        time.sleep(120)
        os._exit(1)
    return original(*args, **kwargs)
predict._predict_block = stalling
from hrlc.cli import main
main(["map", sys.argv[1]])
"""


def _markers(work: Path) -> dict[str, float]:
    folder = work / MARKERS
    if not folder.is_dir():
        return {}
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


def test_killed_run_resumes_from_its_finished_blocks(tmp_path, cube, bundle_file, monkeypatch,
                                                     capsys):
    from hrlc.cli import main
    from hrlc.mapping import predict as module

    config = _config(tmp_path, cube, bundle_file)
    output = tmp_path / "map"
    work = output / ".hrlc-work.zarr"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    child = subprocess.Popen([sys.executable, "-c", STALLING_RUN, str(config),
                              str(work / MARKERS)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    # a stuck run is killed after 120 s: its stdout then ends without the line
    watchdog = threading.Timer(120, child.kill)
    watchdog.start()
    try:
        said = next((line for line in child.stdout if line == "3 blocks done\n"), None)
        if said is None:
            child.wait(30)
        assert said is not None, (
            "the map run ended before it could be interrupted" if child.returncode == 0
            else "no block finished within 120 s, or the run failed")
        child.send_signal(signal.SIGKILL)
    finally:
        watchdog.cancel()
        child.kill()  # when an assertion above failed
        child.wait(30)
        child.stdout.close()
    done = _markers(work)
    assert 3 <= len(done) < 9
    assert not (output / "classes.tif").exists()

    calls = []
    original = module._predict_block

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, "_predict_block", counting)
    main(["map", str(config)])
    assert len(calls) == 9 - len(done)
    assert f"resumed: {len(done)} of 9 blocks were done" in capsys.readouterr().err
    assert not work.exists()  # the intermediate goes once the map is complete

    fresh = _config(tmp_path, cube, bundle_file, name="fresh")
    main(["map", str(fresh)])
    for name in ("classes.tif", "probabilities.tif", "confidence.tif"):
        with rasterio.open(output / name) as a, rasterio.open(tmp_path / "fresh" / name) as b:
            np.testing.assert_array_equal(a.read(), b.read())


def test_blocks_are_skipped_only_for_the_same_run(tmp_path, bundle, cube):
    lazy = predict_map(cube.chunk({"y": CHUNK, "x": CHUNK}), bundle)
    first = compute_blocks(lazy, tmp_path / "work.zarr", fingerprint="one")
    assert (first.total, first.done_before, len(first.computed)) == (9, 0, 9)
    again = compute_blocks(lazy, tmp_path / "work.zarr", fingerprint="one")
    assert (again.done_before, again.computed) == (9, [])
    (tmp_path / "work.zarr" / MARKERS / "2_1").unlink()  # e.g. killed while writing it
    partial = compute_blocks(lazy, tmp_path / "work.zarr", fingerprint="one")
    assert partial.computed == [(2, 1)]
    other = compute_blocks(lazy, tmp_path / "work.zarr", fingerprint="two")
    assert other.done_before == 0 and len(other.computed) == 9
    restart = compute_blocks(lazy, tmp_path / "work.zarr", fingerprint="two", resume=False)
    assert restart.done_before == 0
    from hrlc.io import read_zarr

    xr.testing.assert_identical(read_zarr(tmp_path / "work.zarr").compute().drop_vars(
        "spatial_ref"), lazy.compute().drop_vars("spatial_ref"))


def test_irregular_chunks_are_refused(tmp_path, bundle, cube):
    from hrlc.errors import InputError

    regular = predict_map(cube.chunk({"y": (10, 20, 18), "x": CHUNK}), bundle)
    assert regular.classes.chunks[0] == (20, 20, 8)  # predict_map makes chunks regular
    lazy = regular.chunk({"y": (10, 20, 18)})
    with pytest.raises(InputError, match="regular"):
        compute_blocks(lazy, tmp_path / "work.zarr", fingerprint="x")


def _needing_a_global_sum(cube, calls: list):
    """The cube plus 0 x its global sum: every block needs that one value (computed once
    per call appended to ``calls``)."""
    import dask
    import dask.array as da

    def global_statistic(total):
        calls.append(1)
        return np.float32(0) * total

    lazy = cube.chunk({"y": CHUNK, "x": CHUNK})
    offset = da.from_delayed(dask.delayed(global_statistic)(lazy.data.sum()), shape=(),
                             dtype=np.float32)
    return lazy.copy(data=lazy.data + offset)


def test_groups_of_blocks_compute_what_all_share_once(tmp_path, bundle, cube):
    calls = []
    result = predict_map(_needing_a_global_sum(cube, calls), bundle)
    run = compute_blocks(result, tmp_path / "work.zarr", fingerprint="g", blocks_per_compute=2)
    assert len(run.computed) == 9 and len(calls) == 1
    from hrlc.io import read_zarr

    xr.testing.assert_identical(read_zarr(tmp_path / "work.zarr").compute().drop_vars(
        "spatial_ref"), predict_map(cube, bundle).compute().drop_vars("spatial_ref"))


def test_threads_take_whole_blocks_from_a_queue(tmp_path, bundle, cube):
    """With the threads scheduler each thread computes one block at a time: at most
    num_workers blocks are in flight, every block reports progress once (finished ones
    of an earlier run too), what all blocks share is computed once, and the result is the
    whole-array prediction."""
    import threading

    import dask

    import hrlc.mapping.predict as predict

    lock, running, peak, calls = threading.Lock(), [0], [0], []
    original = predict._predict_block

    def counted(*args, **kwargs):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        try:
            return original(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    predict._predict_block = counted
    try:
        result = predict_map(_needing_a_global_sum(cube, calls), bundle)
        done = []
        with dask.config.set(scheduler="threads", num_workers=2):
            run = compute_blocks(result, tmp_path / "work.zarr", fingerprint="q",
                                 on_block=lambda: done.append(1))
            assert len(run.computed) == 9 and len(done) == 9
            assert peak[0] == 2 and len(calls) == 1
            (tmp_path / "work.zarr" / MARKERS / "0_0").unlink()
            done.clear()
            again = compute_blocks(result, tmp_path / "work.zarr", fingerprint="q",
                                   on_block=lambda: done.append(1))
            assert again.computed == [(0, 0)] and len(done) == 9
    finally:
        predict._predict_block = original
    from hrlc.io import read_zarr

    xr.testing.assert_identical(read_zarr(tmp_path / "work.zarr").compute().drop_vars(
        "spatial_ref"), predict_map(cube, bundle).compute().drop_vars("spatial_ref"))
