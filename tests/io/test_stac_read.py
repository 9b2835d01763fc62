"""STAC input: an ItemCollection of local products reads like the products themselves."""

import json

import numpy as np
import pytest

from hrlc.errors import HrlcError
from hrlc.io import read_l2a, read_scl
from hrlc.io.l2a import discover_scenes
from hrlc.io.stac import write_item_collection


def test_item_collection_reads_like_the_products(safe_products, tmp_path):
    products = [safe_products["0509"]["zip"]]
    catalog = write_item_collection(products, tmp_path / "items.json")
    from_stac = read_l2a(catalog, bands=["B02", "B05", "B09"]).compute()
    direct = read_l2a(products, bands=["B02", "B05", "B09"]).compute()
    np.testing.assert_array_equal(from_stac.values, direct.values)
    np.testing.assert_array_equal(read_scl(catalog).values, read_scl(products).values)
    scene = discover_scenes(catalog)[0]
    assert scene.kind == "stac" and scene.processing_baseline == "05.09"
    assert scene.offset("B04") == pytest.approx(-1000) and scene.quantification == 10000
    assert float(from_stac.sun_zenith[0]) == pytest.approx(float(direct.sun_zenith[0]))


def test_not_stac_is_a_clear_error(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"type": "Feature", "hello": 1}))
    with pytest.raises(HrlcError, match="not a STAC Item"):
        read_l2a(path)
