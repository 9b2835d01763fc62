"""hrlc search against a recorded real Earth Search response (vcrpy, no network)."""

import json

import numpy as np
import pytest
import vcr
import yaml

from hrlc.cli import main
from hrlc.errors import InputError
from hrlc.io import read_l2a
from hrlc.io.stac_search import check_dates, search_items, write_items

from tests.io.stac_local import DATA, localise

CASSETTE = DATA / "api" / "earth-search-v1_search_sentinel-2-c1-l2a_fields.yaml"


def _recorded_ids():
    interaction = yaml.safe_load(CASSETTE.read_text())["interactions"][0]
    features = json.loads(interaction["response"]["body"]["string"])["features"]
    return [f["id"] for f in sorted(features, key=lambda f: f["properties"]["datetime"])]


FULL_ITEMS = DATA / "api" / "earth-search-v1_search_sentinel-2-l2a_landsat_multiple_collections.yaml"


class _Replay:
    """The cassette played back; ``sent`` holds the requests hrlc made."""

    def __init__(self, cassette=CASSETTE):
        self.sent, self.cassette = [], cassette

    def _keep(self, request):
        self.sent.append(request)
        return request

    def __enter__(self):
        recorder = vcr.VCR(record_mode="none", match_on=["method", "uri"],
                           before_record_request=self._keep)
        self._context = recorder.use_cassette(str(self.cassette))
        self._context.__enter__()
        return self

    def __exit__(self, *exc):
        return self._context.__exit__(*exc)


def _replay(cassette=CASSETTE):
    return _Replay(cassette)


def test_search_posts_the_query_and_returns_the_recorded_items():
    with _replay() as cassette:
        items = search_items("earth-search", "sentinel-2-c1-l2a", dates="2024-04-01/2024-05-31",
                             bbox=(-105.2, 40.1, -105.0, 40.2), max_cloud=60, max_items=10)
    body = json.loads(cassette.sent[-1].body)
    assert cassette.sent[-1].uri == "https://earth-search.aws.element84.com/v1/search"
    assert body["collections"] == ["sentinel-2-c1-l2a"]
    assert body["bbox"] == [-105.2, 40.1, -105.0, 40.2]
    assert body["datetime"] == "2024-04-01T00:00:00Z/2024-05-31T23:59:59Z"
    assert body["query"] == {"eo:cloud_cover": {"lte": 60}}
    assert [i["id"] for i in items] == _recorded_ids()


def test_tile_search_asks_the_catalogs_own_property():
    with _replay() as cassette:
        search_items("earth-search", "sentinel-2-c1-l2a", dates="2024-04-01/..",
                     tile="T13TDE", max_items=3)
    assert json.loads(cassette.sent[-1].body)["query"] == {
        "grid:code": {"eq": "MGRS-13TDE"}}


def test_cli_writes_an_item_collection_once(tmp_path, capsys):
    out = tmp_path / "items.json"
    args = ["search", "--catalog", "earth-search", "--collection", "sentinel-2-c1-l2a",
            "--bbox", "-105.2", "40.1", "-105.0", "40.2", "--dates", "2024-04-01/2024-05-31",
            "--max-items", "10", "--out", str(out)]
    with _replay(), pytest.raises(SystemExit) as exit_info:
        main(args)
        raise SystemExit(0)
    assert exit_info.value.code == 0
    written = json.loads(out.read_text())
    assert written["type"] == "FeatureCollection"
    assert [f["id"] for f in written["features"]] == _recorded_ids()
    assert "10 items of sentinel-2-c1-l2a" in capsys.readouterr().out
    with _replay(), pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2 and "already exists" in capsys.readouterr().err


@pytest.mark.parametrize("dates", ["2021-01-01", "2021-13-01/2021-12-31", "../.."])
def test_bad_dates_are_refused(dates):
    with pytest.raises(InputError, match="expected START/END"):
        check_dates(dates)


def test_neither_bbox_nor_tile_is_refused():
    with pytest.raises(InputError, match="--bbox WEST SOUTH EAST NORTH"):
        search_items("earth-search", "sentinel-2-l2a", dates="2021-01-01/2021-02-01")


def test_searched_items_read_and_other_missions_are_refused(tmp_path):
    """Full items of a recorded search (pages followed): the Sentinel-2 item reads to
    Earth Search's convention once its hrefs point at local rasters; the Landsat item of
    the same search is refused instead of read as if its nir08 were B8A."""
    with _replay(FULL_ITEMS):
        items = search_items("earth-search", "sentinel-2-l2a", dates="2023-10-08/2023-10-08",
                             bbox=(-105.11, 40.16, -105.09, 40.17))
    assert [i["id"] for i in items] == ["LC08_L2SP_033032_20231008_02_T1",
                                        "S2A_13TDE_20231008_0_L2A"]
    path = write_items(items, tmp_path / "items.json")
    with pytest.raises(InputError, match="LC08_L2SP_033032_20231008_02_T1 is from landsat-8"):
        read_l2a(path)
    sentinel, dns = localise(items[1], tmp_path / "rasters")
    cube = read_l2a(write_items([sentinel], tmp_path / "s2.json"), ["B04"]).values
    expected = dns["red"] / 1e4  # earthsearch:boa_offset_applied: the offset is in the pixels
    np.testing.assert_allclose(cube[0, 0, 1:, 1:], expected[1:, 1:], rtol=1e-6)
