"""Output checksums find content changes that sizes and modification times hide."""

import os

import pytest

from hrlc.io import checksum
from hrlc.io.atomic import atomic_output, remove_leftovers
from hrlc.io.checksum import content_checksum, fast_hash


def _store(root):
    (root / "a").mkdir(parents=True)
    (root / "a" / "0.0").write_bytes(bytes(range(256)) * 40)
    (root / ".zattrs").write_text("{}")
    return root


def _rewrite_keeping_size_and_mtime(path, offset, data):
    stat = path.stat()
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_folder_checksum_sees_content_listing_misses(tmp_path):
    store = _store(tmp_path / "x.zarr")
    before = content_checksum(store)
    assert (before["bytes"], before["files"]) == (10242, 2)
    listing = fast_hash(store)
    _rewrite_keeping_size_and_mtime(store / "a" / "0.0", 5000, b"\xff\xff")
    assert fast_hash(store) == listing
    assert content_checksum(store)["blake2b"] != before["blake2b"]
    _rewrite_keeping_size_and_mtime(store / "a" / "0.0", 5000, bytes([136, 137]))
    os.utime(store / ".zattrs", ns=(0, 0))  # a touch alone is not a change
    assert content_checksum(store) == before
    (store / "a" / "0.0").rename(store / "a" / "0.1")
    assert content_checksum(store)["blake2b"] != before["blake2b"]


@pytest.mark.parametrize("where, seen", [(10, True), (3 << 20, False), (-10, True)])
def test_large_files_are_checked_at_both_ends(tmp_path, monkeypatch, where, seen):
    monkeypatch.setattr(checksum, "FULL_HASH_BYTES", 1 << 20)
    path = tmp_path / "big.tif"
    path.write_bytes(b"\1" * (6 << 20))
    before = content_checksum(path)
    _rewrite_keeping_size_and_mtime(path, where % (6 << 20), b"\0")
    assert (content_checksum(path) != before) is seen


def test_leftovers_of_an_interrupted_write_are_removed(tmp_path):
    final = tmp_path / "run" / "model" / "model.npz"
    final.parent.mkdir(parents=True)
    final.write_bytes(b"complete")
    with pytest.raises(KeyboardInterrupt), atomic_output(final, overwrite=True) as tmp:
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt
    assert os.listdir(final.parent) == ["model.npz"] and final.read_bytes() == b"complete"
    # what a killed process leaves: removed by the next write, or by a sweep of the run
    (final.parent / ".model.npz.partial-1a2b3c4d").write_bytes(b"half")
    (tmp_path / "run" / ".features.zarr.old-5e6f7a8b").mkdir()
    (tmp_path / "run" / ".hidden").write_text("kept")
    removed = remove_leftovers(tmp_path / "run")
    assert sorted(p.name for p in removed) == [".features.zarr.old-5e6f7a8b",
                                               ".model.npz.partial-1a2b3c4d"]
    assert sorted(os.listdir(tmp_path / "run")) == [".hidden", "model"]
