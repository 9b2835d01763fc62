"""compare_maps and ``hrlc compare-maps`` on hand-made maps."""

import json

import numpy as np
import pytest
import xarray as xr

from hrlc.mapping import compare_maps, write_comparison
from hrlc.mapping.compare import COMPARE_FILES, comparison_files

TABLE = {1: {"name": "forest", "colour": "#1b7837"}, 2: {"name": "grass", "colour": "#a6d96a"},
         3: {"name": "urban", "colour": "#d73027"}}


def _map(values, *, res=10.0, x0=500_000.0, y0=6_000_000.0, crs=32630):
    values = np.asarray(values, np.uint8)
    rows, cols = values.shape
    return xr.DataArray(values, dims=("y", "x"), coords={
        "y": y0 - res * (np.arange(rows) + 0.5),
        "x": x0 + res * (np.arange(cols) + 0.5)}).rio.write_crs(crs)


A = [[1, 1, 2, 2],
     [1, 1, 2, 2],
     [3, 3, 0, 2]]
B = [[1, 2, 2, 2],
     [1, 1, 2, 0],
     [3, 1, 2, 2]]


def test_agreement_crosstab_and_areas():
    result = compare_maps(_map(A), _map(B), class_table=TABLE)
    # 10 pixels mapped in both; 8 agree; A maps 11
    assert result.overall_agreement == pytest.approx(8 / 10)
    assert result.overlap == pytest.approx(10 / 11) and result.summary()["overlap"] == 10 / 11
    assert result.nodata_pixels == 2 and not result.aligned
    expected = np.array([[3, 1, 0], [0, 4, 0], [1, 0, 1]])
    np.testing.assert_array_equal(result.crosstab.to_numpy(), expected)
    np.testing.assert_allclose(result.crosstab_ha.to_numpy(), expected * 0.01)
    forest = result.per_class.set_index("code").loc[1]
    assert forest["name"] == "forest"
    assert forest["agreement_a"] == pytest.approx(3 / 4)
    assert forest["agreement_b"] == pytest.approx(3 / 4)
    assert forest["jaccard"] == pytest.approx(3 / 5)
    assert forest["area_a_ha"] == pytest.approx(0.04)
    disagree = result.agreement_map.values
    assert disagree[0, 1] == 2 and disagree[0, 0] == 1 and disagree[2, 2] == 0
    shares = {k: t.set_index("code")["pixels"].to_dict() for k, t in
              result.distributions.items()}
    assert shares == {"A": {1: 4, 2: 4, 3: 2}, "B": {1: 4, 2: 5, 3: 1}}


def test_other_grid_is_aligned_with_nearest():
    fine = np.repeat(np.repeat(np.asarray(B, np.uint8), 2, axis=0), 2, axis=1)
    result = compare_maps(_map(A), _map(fine, res=5.0), class_table=TABLE)
    assert result.aligned
    assert result.overall_agreement == pytest.approx(8 / 10)
    other_crs = _map(A).rio.reproject("EPSG:32631")  # nodata 255 outside becomes 0
    assert compare_maps(_map(A), other_crs).aligned


def test_identical_maps_agree_fully():
    result = compare_maps(_map(A), _map(A))
    assert result.overall_agreement == 1.0
    assert (result.per_class["agreement_a"] == 1).all()


def test_bad_maps():
    from hrlc.errors import GridMismatchError, InputError

    with pytest.raises(InputError, match="uint8"):
        compare_maps(_map(A).astype(np.float32), _map(B))
    with pytest.raises(GridMismatchError, match="projected"):
        compare_maps(_map(A, crs=4326, res=0.001, x0=1, y0=50), _map(B, crs=4326, res=0.001,
                                                                        x0=1, y0=50))


def test_files_and_cli(tmp_path, capsys):
    from hrlc.cli import main
    from hrlc.io import write_cog

    for name, values in (("a.tif", A), ("b.tif", B)):
        write_cog(_map(values), tmp_path / name, nodata=0,
                  tags={"class_table": json.dumps(TABLE)},
                  colormap={1: (27, 120, 55), 2: (166, 217, 106), 3: (215, 48, 39)})
    main(["compare-maps", str(tmp_path / "a.tif"), str(tmp_path / "b.tif"), "--out",
          str(tmp_path / "cmp")])
    out = capsys.readouterr().out
    assert "agreement 80.00 %" in out and "forest" in out
    assert "overlap 90.91 % of map A (10 of its 11 mapped pixels are mapped in B)" in out
    summary = json.loads((tmp_path / "cmp" / "summary.json").read_text())
    assert summary["overall_agreement"] == pytest.approx(0.8)
    assert (tmp_path / "cmp" / "crosstab_ha.csv").read_text().startswith("A,1,2,3")
    for png in ("distribution.png", "disagreement.png"):
        assert (tmp_path / "cmp" / png).stat().st_size > 1000
    with pytest.raises(SystemExit) as exit_info:
        main(["compare-maps", str(tmp_path / "a.tif"), str(tmp_path / "b.tif"), "--out",
              str(tmp_path / "cmp")])
    assert exit_info.value.code == 2 and "overwrite" in capsys.readouterr().err
    written = write_comparison(compare_maps(_map(A), _map(B)), tmp_path / "cmp",
                               overwrite=True)
    assert written["per_class"].exists()


def _sliver():
    """A 27 x 27 map and one that overlaps it by a single column: 27 / 729 = 3.7 %."""
    a = np.ones((27, 27), np.uint8)
    b = np.full((27, 27), 2, np.uint8)
    b[:, 0] = 1
    return _map(a), _map(b, x0=500_000.0 + 26 * 10.0)


def test_small_overlap_is_refused_with_the_overlap_stated():
    from hrlc.errors import ConfigError, InputError

    a, b = _sliver()
    with pytest.raises(InputError) as info:
        compare_maps(a, b)
    assert str(info.value) == (
        "map B covers only 3.70 % of the pixels mapped in map A (27 of 729), less than the "
        "minimum overlap of 50.00 % (--min-overlap 0.5): an agreement over that sliver says "
        "nothing about the maps; check that both cover the same area, or lower --min-overlap "
        "to compare the overlap alone")
    result = compare_maps(a, b, min_overlap=0.03)
    assert result.overlap == pytest.approx(27 / 729) and result.overall_agreement == 1.0
    with pytest.raises(InputError, match="no pixel is mapped in both maps"):
        compare_maps(a, _map(np.ones((27, 27), np.uint8), x0=600_000.0), min_overlap=0)
    with pytest.raises(ConfigError, match=r"min_overlap \(--min-overlap\) must be a fraction "
                                          r"from 0 to 1, got 1.5"):
        compare_maps(a, b, min_overlap=1.5)


def test_cli_small_overlap_is_one_line_and_writes_nothing(tmp_path, capsys):
    from hrlc.io import write_cog
    from hrlc.io.checksum import content_checksum
    from tests.conftest import cli_error

    for name, layer in zip(("a.tif", "b.tif"), _sliver()):
        write_cog(layer, tmp_path / name, nodata=0)
    before = content_checksum(tmp_path)
    argv = ["compare-maps", tmp_path / "a.tif", tmp_path / "b.tif", "--out", tmp_path / "cmp"]
    line = cli_error(argv, capsys)
    assert "map B covers only 3.70 % of the pixels mapped in map A (27 of 729)" in line
    assert "(--min-overlap 0.5)" in line
    assert content_checksum(tmp_path) == before and not (tmp_path / "cmp").exists()
    line = cli_error([*argv, "--min-overlap", "2"], capsys)
    assert "(--min-overlap) must be a fraction from 0 to 1, got 2.0" in line
    from hrlc.cli import main

    main([str(a) for a in argv] + ["--min-overlap", "0.02"])
    out = capsys.readouterr().out
    assert "overlap 3.70 % of map A (27 of its 729 mapped pixels are mapped in B)" in out
    assert "agreement 100.00 %" in out


def test_comparison_files_are_objects_and_match_the_files(tmp_path):
    from matplotlib.figure import Figure

    result = compare_maps(_map(A), _map(B), class_table=TABLE)
    contents = comparison_files(result, labels=("new", "old"))
    assert list(contents) == list(COMPARE_FILES)
    assert list(tmp_path.iterdir()) == []
    summary = json.loads(contents["summary"])
    assert (summary["A"], summary["B"]) == ("new", "old")
    assert summary["overall_agreement"] == pytest.approx(8 / 10)
    # rows A, columns B: the hand-counted cross-tabulation of test_agreement_crosstab_and_areas
    assert contents["crosstab_pixels"].splitlines() == ["A,1,2,3", "1,3,1,0", "2,0,4,0",
                                                        "3,1,0,1"]
    for role in ("distribution_plot", "disagreement"):
        assert isinstance(contents[role], Figure)
    assert contents["disagreement"].axes[0].get_title() == "new vs old: agreement 80.0 %"
    written = write_comparison(result, tmp_path, labels=("new", "old"))
    for role in ("summary", "per_class", "crosstab_pixels", "crosstab_ha"):
        assert written[role].read_text() == contents[role]
