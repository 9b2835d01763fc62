"""Map folder files: roles, refusal before writing, the class table read back."""

import json

import numpy as np
import pytest
import xarray as xr

from hrlc.errors import OutputExistsError
from hrlc.io import write_cog
from hrlc.io.map_files import MAP_FILES, read_class_table, write_map_files


def _classes(side=40):
    values = np.tile(np.array([0, 1, 2, 5], np.uint8), side * side // 4).reshape(side, side)
    return xr.DataArray(values, dims=("y", "x"), coords={
        "y": 6_000_000 - 10 * (np.arange(side) + 0.5),
        "x": 500_000 + 10 * (np.arange(side) + 0.5)}).rio.write_crs(32630)


def test_class_table_from_the_tag_or_the_colour_table(tmp_path):
    table = {"1": {"name": "forest", "colour": "#1b7837"}}
    tagged = write_cog(_classes(), tmp_path / "tagged.tif", nodata=0,
                       tags={"class_table": json.dumps(table)})
    assert read_class_table(tagged) == {1: {"name": "forest", "colour": "#1b7837"}}
    coloured = write_cog(_classes(), tmp_path / "coloured.tif", nodata=0,
                         colormap={0: (0, 0, 0), 1: (27, 120, 55), 5: (255, 0, 16)})
    # nodata and black entries (GDAL fills the 256 entries with black) are not classes
    assert read_class_table(coloured) == {1: {"name": "1", "colour": "#1b7837"},
                                          5: {"name": "5", "colour": "#ff0010"}}
    assert read_class_table(write_cog(_classes(), tmp_path / "plain.tif", nodata=0)) == {}


def test_map_folder_roles_and_refusal(tmp_path):
    layers = {"classes": (_classes(), {"nodata": 0})}
    written = write_map_files(tmp_path / "map", layers=layers,
                              documents={"distribution": "code,pixels\n1,400\n"})
    assert written == {"classes": tmp_path / "map" / MAP_FILES["classes"],
                       "distribution": tmp_path / "map" / MAP_FILES["distribution"]}
    assert written["distribution"].read_text() == "code,pixels\n1,400\n"
    before = written["classes"].stat().st_mtime_ns
    with pytest.raises(OutputExistsError, match="classes.tif, .*distribution.csv already"):
        write_map_files(tmp_path / "map", layers=layers, documents={"quicklook": "x"})
    assert written["classes"].stat().st_mtime_ns == before
    assert not (tmp_path / "map" / MAP_FILES["quicklook"]).exists()
    with pytest.raises(ValueError, match=r"unknown map file role\(s\) \['class'\]"):
        write_map_files(tmp_path / "other", layers={"class": layers["classes"]}, documents={})
    assert not (tmp_path / "other").exists()
