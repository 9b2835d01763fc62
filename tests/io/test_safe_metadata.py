import numpy as np
import pytest

from hrlc.errors import CorruptFileError, ProductLevelError
from hrlc.io.safe import read_safe_metadata

from tests.conftest import BASELINE_0212, BASELINE_0509, SAFE_METADATA


def test_baseline_0509_has_offset_per_band():
    scene = read_safe_metadata(SAFE_METADATA / BASELINE_0509)
    assert scene.processing_baseline == "05.09"
    assert scene.quantification == 10000
    assert scene.boa_add_offset["B02"] == -1000 and scene.boa_add_offset["B8A"] == -1000
    assert len(scene.boa_add_offset) == 13
    assert scene.nodata == 0
    assert scene.epsg == 32701 and scene.tile_id == "01KAB"
    assert scene.cloud_cover == pytest.approx(59.050727)
    assert scene.sun_zenith == pytest.approx(38.4174, abs=1e-3)
    assert scene.datetime.astype("datetime64[D]") == np.datetime64("2023-08-21")


def test_baseline_0212_has_no_offset():
    scene = read_safe_metadata(SAFE_METADATA / BASELINE_0212)
    assert scene.processing_baseline == "02.12"
    assert scene.boa_add_offset == {} and scene.offset("B04") == 0.0
    assert scene.epsg == 32707 and scene.tile_id == "07HFE"
    assert scene.sun_zenith == pytest.approx(32.707073851362)
    assert scene.sun_azimuth == pytest.approx(62.3286549448294)
    assert scene.datetime == np.datetime64("2019-02-12T19:33:32.161", "ns")


def test_level_1c_product_is_refused(tmp_path):
    import shutil

    safe = tmp_path / "S2A_MSIL1C_X.SAFE"
    shutil.copytree(SAFE_METADATA / BASELINE_0509, safe)
    (safe / "MTD_MSIL2A.xml").rename(safe / "MTD_MSIL1C.xml")
    with pytest.raises(ProductLevelError, match="MTD_MSIL1C.xml.*Level-2A"):
        read_safe_metadata(safe)


def test_broken_xml_names_the_file(tmp_path):
    import shutil

    safe = tmp_path / BASELINE_0509
    shutil.copytree(SAFE_METADATA / BASELINE_0509, safe)
    (safe / "MTD_MSIL2A.xml").chmod(0o644)
    (safe / "MTD_MSIL2A.xml").write_text("<n1:Level-2A_User_Product><unclosed>")
    with pytest.raises(CorruptFileError, match="MTD_MSIL2A.xml is not valid XML"):
        read_safe_metadata(safe)
