"""``hrlc dataset CONFIG``: tables, sidecar and report; errors are one line, exit 2."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from hrlc.cli import main
from hrlc.config import load_config
from hrlc.config.dataset import DatasetRunConfig
from hrlc.dataset import polygon_labels, read_class_table, read_samples, read_vectors
from hrlc.io import read_zarr, write_zarr
from hrlc.testing import bundled
from tests.dataset.conftest import ABER_LAYERS, CONFIGS, EOLEARN, rasterized


@pytest.fixture(scope="module")
def eolearn_zarr(eolearn_cube, tmp_path_factory):
    path = tmp_path_factory.mktemp("cube") / "eolearn.zarr"
    write_zarr(eolearn_cube, path)
    return path


def _config(tmp_path, **changes):
    config = {"features": {}, "classes": str(CONFIGS / "classes_eolearn.yaml"),
              "polygons": {"path": str(EOLEARN / "LULC_polygons.gpkg"),
                           "class_field": "LULC_ID", "ignore": [0]},
              "output": str(tmp_path / "out" / "samples"),
              "dataset": {"block_size": 200, "split_by": "polygon", "min_per_class": 20}}
    config.update(changes)
    path = tmp_path / "dataset.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_writes_tables_sidecar_and_report(tmp_path, eolearn_zarr, capsys):
    main(["dataset", str(_config(tmp_path, features={"zarr": str(eolearn_zarr)},
                                 report_features=["L1C_s1_B08", "L1C_s3_B04"]))])
    table, meta = read_samples(tmp_path / "out" / "samples.csv")
    parquet, _ = read_samples(tmp_path / "out" / "samples.parquet")
    cube = read_zarr(eolearn_zarr)
    classes = read_class_table(CONFIGS / "classes_eolearn.yaml")
    polygons = polygon_labels(read_vectors(EOLEARN / "LULC_polygons.gpkg"), classes=classes,
                              crs=cube.rio.crs, class_field="LULC_ID", ignore=[0])
    # every polygon pixel is a sample (standard strategy): GDAL's rasterisation, counted
    assert table.equals(parquet)
    assert len(table) == sum(rasterized(polygons, cube).values())
    assert meta["features"][:2] == ["L1C_s1_B01", "L1C_s1_B02"] and len(meta["features"]) == 65
    report = tmp_path / "out" / "samples_report"
    text = (report / "dataset_report.md").read_text()
    assert "| 8 | artificial surface | 198 |" in text and "class 'cultivated land'" in text
    assert (report / "class_counts.png").stat().st_size > 10_000
    assert (report / "feature_distributions.png").stat().st_size > 10_000
    err = capsys.readouterr().err
    assert "warning:" in err and "samples per class" in err and "forest" in err
    with pytest.raises(SystemExit) as exit_info:  # outputs exist
        main(["dataset", str(_config(tmp_path, features={"zarr": str(eolearn_zarr)}))])
    assert exit_info.value.code == 2 and "--overwrite" in capsys.readouterr().err


def test_unknown_land_cover_code_is_one_line_naming_code_and_mapping(tmp_path, eolearn_zarr,
                                                                     eolearn_lulc_tif, capsys):
    mapping = tmp_path / "lulc.yaml"
    mapping.write_text("mapping: {1: cultivated land, 2: forest, 3: grassland, 4: shrubland}\n")
    path = _config(tmp_path, features={"zarr": str(eolearn_zarr)}, polygons=None,
                   lc_maps=[{"path": str(eolearn_lulc_tif), "mapping": str(mapping)}],
                   dataset={"strategy": "fulllc"})
    with pytest.raises(SystemExit) as exit_info:
        main(["dataset", str(path)])
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress lines
    assert exit_info.value.code == 2 and last.startswith("hrlc: error: ")
    assert f"code(s) [8] are not in the mapping {mapping}" in last


def test_features_built_from_composites_with_inferred_classes(tmp_path, capsys):
    aber = bundled("aber")
    path = _config(
        tmp_path, classes=None,
        features={"composites": [str(aber / "sen2_20210527_aber_10band.tif")], "chunks": 512,
                  "options": {"bands": ["B04", "B08"], "indices": ["NDVI"],
                              "glcm_textures": []}},
        polygons={"path": str(aber / "training_polygons_aber.gpkg"), "layers": ABER_LAYERS},
        formats=["parquet"], dataset={"max_per_class": 300, "seed": 4})
    main(["dataset", str(path)])
    table, meta = read_samples(tmp_path / "out" / "samples")
    assert meta["features"] == ["B04_m05", "B08_m05", "NDVI_m05"]
    assert [c["name"] for c in meta["classes"]] == ["forest", "grass", "urban", "water"]
    assert table["class"].value_counts().to_dict() == {1: 300, 2: 300, 3: 300, 4: 300}
    assert not (tmp_path / "out" / "samples.csv").exists()
    ndvi = (table["B08_m05"] - table["B04_m05"]) / (table["B08_m05"] + table["B04_m05"])
    np.testing.assert_allclose(table["NDVI_m05"], ndvi, rtol=1e-5)


def test_the_shipped_config_is_valid():
    run = load_config(CONFIGS / "dataset.yaml", DatasetRunConfig)
    assert run.dataset.strategy == "enhanced" and run.polygons.layer_classes() == ABER_LAYERS
    with pytest.raises(Exception, match="either 'zarr'"):
        DatasetRunConfig.model_validate({"features": {}, "output": "x",
                                         "polygons": {"path": "p"}})
