"""hrlc.threads: one controller of the native thread pools, kept until modules are imported."""

import sys
import types

import numpy  # noqa: F401  (loads OpenBLAS)
import pytest
import sklearn.cluster  # noqa: F401  (loads OpenMP)
from threadpoolctl import threadpool_info

from hrlc.threads import native_pools, one_blas_thread, one_openmp_thread, take_blas_control


@pytest.fixture
def two_threads():
    """BLAS and OpenMP on 2 threads during the test, whatever earlier tests of this worker
    left (a known start: the limits under test must differ from it)."""
    take_blas_control()
    with native_pools().limit(limits=2, user_api="blas"), \
            native_pools().limit(limits=2, user_api="openmp"):
        yield
    take_blas_control()


def _threads(user_api: str) -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == user_api}


def test_the_controller_is_kept_until_a_module_is_imported(monkeypatch):
    first = native_pools()
    assert native_pools() is first  # no library scan for the next limit
    monkeypatch.setitem(sys.modules, "hrlc_test_new_module", types.ModuleType("new"))
    again = native_pools()  # an import may have loaded another BLAS or OpenMP
    assert again is not first and native_pools() is again
    assert {p.filepath for p in again.lib_controllers} == \
           {p["filepath"] for p in threadpool_info()}


def test_limits_through_the_kept_controller_apply_and_are_restored(two_threads):
    native_pools()  # made before the limits are set: the kept controller sets them
    blas, openmp = _threads("blas"), _threads("openmp")
    assert blas == openmp == {2}  # numpy's OpenBLAS and scikit-learn's OpenMP
    with one_blas_thread():
        assert _threads("blas") == {1}
        assert _threads("openmp") == openmp
    assert _threads("blas") == blas
    with one_openmp_thread():
        assert _threads("openmp") == {1}
    assert _threads("openmp") == openmp


def test_threads_that_overlap_share_one_limit_and_the_last_one_restores_it(two_threads):
    # training runs calibrations in threads: A enters, B enters (and sees A's limit), A
    # leaves, B leaves. A limiter per thread left BLAS on one thread for good that way.
    import threading

    blas = _threads("blas")
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with one_blas_thread():
            a_in.set()
            b_in.wait(30)
        seen["after A left"] = _threads("blas")
        a_out.set()

    def second():
        a_in.wait(30)
        with one_blas_thread():
            b_in.set()
            a_out.wait(30)
            seen["B inside"] = _threads("blas")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert seen == {"after A left": {1}, "B inside": {1}}  # held while anyone is inside
    assert _threads("blas") == blas == {2}
