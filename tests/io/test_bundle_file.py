"""The bundle archive: metadata and arrays in, the same out; clear errors otherwise."""

import json
import zipfile

import numpy as np
import pytest

from hrlc.errors import CorruptFileError, InputError, OutputExistsError
from hrlc.io.bundle_file import read_bundle_file, write_bundle_file


def test_round_trip_readable_by_numpy(tmp_path):
    arrays = {"svm/0/support_vectors_": np.arange(6, dtype=np.float64).reshape(2, 3),
              "classes": np.array([1, 4], np.int64)}
    meta = {"format": "hrlc-model", "version": 3, "names": ["é", "B04_m06"]}
    path = write_bundle_file(tmp_path / "m.npz", meta, arrays)
    assert path == tmp_path / "m.npz" and [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    got_meta, got = read_bundle_file(path)
    assert got_meta == meta and set(got) == set(arrays)
    for name, values in arrays.items():
        np.testing.assert_array_equal(got[name], values)
        assert got[name].dtype == values.dtype and got[name].flags.owndata
    with np.load(path, allow_pickle=False) as archive:  # no pickle anywhere
        assert json.loads(bytes(archive["__meta__"]).decode()) == meta
    with pytest.raises(OutputExistsError):
        write_bundle_file(path, meta, arrays)
    write_bundle_file(path, {"v": 2}, {}, overwrite=True)
    assert read_bundle_file(path) == ({"v": 2}, {})


def test_bad_files_and_names(tmp_path):
    with pytest.raises(ValueError, match="may not be named '__meta__'"):
        write_bundle_file(tmp_path / "m.npz", {}, {"__meta__": np.zeros(1)})
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InputError, match="model bundle not found; train one"):
        read_bundle_file(tmp_path / "absent.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(CorruptFileError, match="not an hrlc model bundle"):
        read_bundle_file(tmp_path / "text.npz")
    np.savez(tmp_path / "plain.npz", a=np.zeros(2))  # an npz without metadata
    with pytest.raises(CorruptFileError, match="corrupt or truncated"):
        read_bundle_file(tmp_path / "plain.npz")
    write_bundle_file(tmp_path / "m.npz", {"v": 1}, {"a": np.arange(1000.0)})
    data = (tmp_path / "m.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="not an hrlc model bundle"):
        read_bundle_file(tmp_path / "cut.npz")
    assert zipfile.is_zipfile(tmp_path / "m.npz")
