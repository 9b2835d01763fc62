"""The digests of hrlc.io.checksum: canonical JSON, arrays with dtype and shape, whole
files. Expected values are computed here with hashlib on bytes written out by hand."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from hrlc.io.checksum import array_digest, canonical_json, file_checksum, json_digest

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


def test_canonical_json_sorts_keys_drops_spaces_and_writes_other_objects_as_str():
    value = {"b": Path("/data/x.tif"), "a": (1, 2.5), "é": None}
    assert canonical_json(value) == b'{"a":[1,2.5],"b":"/data/x.tif","\\u00e9":null}'
    assert canonical_json({"a": (1, 2.5), "b": "/data/x.tif", "é": None}) == \
        canonical_json(value)
    assert json_digest(value) == hashlib.sha256(
        b'{"a":[1,2.5],"b":"/data/x.tif","\\u00e9":null}').hexdigest()
    assert json_digest({"a": 1}) != json_digest({"a": 2})


@given(_JSON)
def test_json_digest_is_the_encoding_model_bundles_were_sealed_with(value):
    """Bundles saved before the digests moved here hashed each metadata entry as
    sha256(json.dumps(entry, sort_keys=True, separators=(",", ":"))): same bytes."""
    old = hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode())
    assert json_digest(value) == old.hexdigest()


def test_array_digest_covers_dtype_shape_and_bytes():
    values = np.arange(6, dtype="<f4").reshape(2, 3)
    expected = hashlib.sha256(b"<f4|(2, 3)|" + values.tobytes()).hexdigest()
    assert array_digest(values) == expected
    assert array_digest(values.reshape(3, 2)) != expected          # same bytes, other shape
    assert array_digest(values.view("<i4")) != expected            # same bytes, other dtype
    assert array_digest(values.T) == array_digest(np.ascontiguousarray(values.T))
    assert array_digest(values.T) == hashlib.sha256(
        b"<f4|(3, 2)|" + np.array([0, 3, 1, 4, 2, 5], "<f4").tobytes()).hexdigest()


def test_file_checksum_is_sha256_of_the_whole_file(tmp_path):
    big = tmp_path / "big.bin"
    content = np.random.default_rng(0).bytes((3 << 20) + 17)  # several 1 MiB blocks
    big.write_bytes(content)
    assert file_checksum(big) == hashlib.sha256(content).hexdigest()
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    assert file_checksum(empty) == hashlib.sha256(b"").hexdigest()
