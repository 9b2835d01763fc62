"""The blocks of a map computed one per thread from a queue, sharing their neighbours' work.

:func:`hrlc.mapping.compute_blocks` hands each block's whole graph (features and
prediction) to one thread at a time, so at most one block per thread is in memory. A
block's graph also holds the tasks of the neighbouring chunks that its windowed features
need (GLCM textures, slope and aspect read a halo from the eight chunks around): the
neighbour chunk's reading, its median over months, its quantisation. Computed block by
block, each of those would be computed again for each of the nine blocks that need it.

So results are shared between block graphs:

- :func:`shared_computed_once`: what *every* block needs (a global statistic such as the
  texture quantisation range) is computed once beforehand;
- :class:`NeighbourResults`: a result that several blocks need is kept, when small, from
  the first block that computes it until the last block that needs it has started, and
  put into the later blocks' graphs as data. With :func:`compute_queued` only compact
  results are kept (a chunk's quantised band and the strips of it that the halos take),
  not float layers such as the chunk read from the store or its median, which cost
  more memory than computing them again; once the quantised band is kept, later blocks
  no longer need them.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed

import dask
import numpy as np
from dask.callbacks import Callback
from dask.delayed import Delayed
from dask.optimization import cull


class BlockGraphs:
    """The merged graph of block writes and each write's closure.

    Parameters
    ----------
    graph : dict
        All tasks of all writes.
    keys : list
        Each write's output key.

    Attributes
    ----------
    closures : list of set
        The keys each write needs (its culled graph).
    dependencies : dict
        key -> the keys its task reads.
    """

    def __init__(self, graph: dict, keys: list):
        self.graph, self.keys = graph, list(keys)
        self.closures: list[set] = []
        self.dependencies: dict = {}
        for key in self.keys:
            culled, dependencies = cull(self.graph, [key])
            self.closures.append(set(culled))
            self.dependencies.update(dependencies)

    @classmethod
    def of(cls, writes: list) -> BlockGraphs:
        """From Delayed writes. Their graphs share the map's layers: merged layer by
        layer (a dict of each write's whole graph would cost blocks x tasks)."""
        from dask.highlevelgraph import HighLevelGraph

        graph = HighLevelGraph.merge(*[write.__dask_graph__() for write in writes])
        return cls(dict(graph), [write.key for write in writes])

    def writes(self) -> list:
        """The writes as Delayed objects over the merged graph."""
        return [Delayed(key, self.graph) for key in self.keys]

    def frontier(self, shared: set) -> set:
        """Keys of ``shared`` that some task outside ``shared`` reads directly."""
        return {dep for closure in self.closures for key in closure - shared
                for dep in self.dependencies[key] if dep in shared}


def shared_computed_once(blocks: BlockGraphs, *, item_bytes: int = 2**25,
                         max_bytes: int = 2**28) -> BlockGraphs:
    """The block writes, with what every block needs computed once and put into their
    graph as data: each result of at most ``item_bytes``, up to ``max_bytes`` in all
    (a larger one, such as the chunk of all bands that every block of a 3 x 3 grid
    reads, is left to the blocks)."""
    if len(blocks.keys) < 2:
        return blocks
    frontier = sorted(blocks.frontier(set.intersection(*blocks.closures)), key=str)
    if not frontier:
        return blocks
    values = dask.compute(*[Delayed(key, blocks.graph) for key in frontier])
    kept, total = {}, 0
    for key, value in zip(frontier, values):
        size = getattr(value, "nbytes", 0)
        if size <= item_bytes and total + size <= max_bytes:
            kept[key] = value
            total += size
    return BlockGraphs({**blocks.graph, **kept}, blocks.keys) if kept else blocks


class NeighbourResults:
    """Results that several blocks need, kept between the blocks' computations.

    Parameters
    ----------
    blocks : BlockGraphs
        The writes, in the order in which they will be started.
    item_bytes : int
        Largest result kept (a full chunk of all bands is not: it would cost more memory
        than reading it again).
    total_bytes : int
        Bound of all kept results together.
    """

    def __init__(self, blocks: BlockGraphs, *, item_bytes: int = 2**25,
                 total_bytes: int = 2**28):
        self.blocks = blocks
        self.item_bytes, self.total_bytes = item_bytes, total_bytes
        uses = Counter(key for closure in blocks.closures for key in closure)
        self._wanted = {key for key, n in uses.items() if n > 1}
        #: blocks not yet started that need each wanted key
        self._pending = {key: uses[key] for key in self._wanted}
        self._values: dict = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def graph_of(self, index: int) -> dict:
        """Block ``index``'s graph, with the kept results it needs as data; the block
        counts as started (results no later block needs are dropped)."""
        closure = self.blocks.closures[index]
        with self._lock:
            ready = {key: self._values[key] for key in closure if key in self._values}
            for key in closure & self._wanted:
                self._pending[key] -= 1
                if self._pending[key] == 0 and key in self._values:
                    self._bytes -= self._values.pop(key).nbytes
        graph = {key: self.blocks.graph[key] for key in closure}
        graph.update(ready)
        return cull(graph, [self.blocks.keys[index]])[0]

    def keep(self, key, result, *_) -> None:
        """dask ``posttask`` callback: keep a wanted result that a later block needs."""
        if key not in self._wanted or not isinstance(result, np.ndarray):
            return
        if result.nbytes > self.item_bytes:
            return
        with self._lock:
            if (self._pending[key] == 0 or key in self._values
                    or self._bytes + result.nbytes > self.total_bytes):
                return
            # a view would keep its whole base array alive
            self._values[key] = result if result.base is None else result.copy()
            self._bytes += result.nbytes


def compute_queued(writes: list, threads: int, on_block: Callable[[], None], *,
                   block_pixels: int) -> None:
    """Each block's whole graph on one thread (synchronous dask), ``threads`` blocks at a
    time from a queue: a thread that finishes a block takes the next one, so no thread
    waits for another's block (no barrier between groups) and at most ``threads`` blocks
    are in memory.

    Shared results are kept when compact, up to 1.25 bytes per pixel of a block (a
    quantised band and its halo strips; a float layer is recomputed from them or read
    again): the chunk of each neighbour that costs most (reading all its bands and the
    median over months) is then needed once, while a larger bound filled up with float
    intermediates on a 12 x 12 block tile and dropped the quantised bands.
    """
    blocks = shared_computed_once(BlockGraphs.of(writes))
    shared = NeighbourResults(blocks, item_bytes=int(1.25 * block_pixels))
    callbacks = [*Callback.active, Callback(posttask=shared.keep)._callback]

    def run(index: int) -> None:
        dask.compute(Delayed(blocks.keys[index], shared.graph_of(index)), scheduler="sync",
                     callbacks=callbacks)

    with ThreadPoolExecutor(threads, thread_name_prefix="hrlc-map") as pool:
        futures = [pool.submit(run, index) for index in range(len(writes))]
        try:
            for future in as_completed(futures):
                future.result()
                on_block()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
