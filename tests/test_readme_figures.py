"""The README's figures are the result files' figures (hrlc.bench_suite.readme)."""

import json
import shutil
from pathlib import Path

import pytest

from hrlc.bench_suite.readme import (BEGIN, END, GENERATED, features_table, masks_table,
                                     replace_section, speed_text)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_block_is_what_the_result_files_say(name):
    text = (ROOT / name).read_text()
    block = text[text.index(BEGIN):text.index(END) + len(END)]
    assert block == GENERATED[name](RESULTS), (
        f"{name}: figures differ from benchmarks/results: run `hrlc bench --from-results`")


def test_features_table_quotes_the_glcm_and_cube_results(tmp_path):
    for name in ("glcm.json", "features.json"):
        shutil.copy(RESULTS / name, tmp_path / name)
    glcm = json.loads((tmp_path / "glcm.json").read_text())
    glcm["speedup_vs_skimage"] = 1234.4
    glcm["results"][0]["seconds"] = 12.345
    (tmp_path / "glcm.json").write_text(json.dumps(glcm))
    lines = features_table(tmp_path).splitlines()
    assert lines[2].startswith("| scikit-image, 256 x 256") and "| 12.3 s (" in lines[2]
    assert "**1,234x faster**" in lines[3]
    assert len(lines) == 7 and lines[-1].startswith("| full feature cube")


def test_label_differences_are_counted_from_the_agreement(tmp_path):
    for name in ("glcm.json", "bench_map.json"):
        shutil.copy(RESULTS / name, tmp_path / name)
    rows = [{"case": "hrlc FastRbfPredictor (float32)", "pixels": 250_000, "speed_up": 40.0,
             "cpu_speed_up": 20.0, "label_agreement": 1 - 3 / 250_000},
            {"case": "hrlc FastRbfPredictor (float64)", "pixels": 250_000, "speed_up": 30.0,
             "cpu_speed_up": 15.0, "label_agreement": 1.0}]
    (tmp_path / "bench_predict.json").write_text(json.dumps(rows))
    text = speed_text(tmp_path)
    assert "on 3 of 250,000 pixels in float32 and on 0 of 250,000 in float64" in text
    assert "40x faster than `SVC.predict`" in text


def test_mask_table_rounds_the_stored_f1(tmp_path):
    data = json.loads((RESULTS / "masks_eval.json").read_text())
    key = "simulator (3 seasons, 512 px, 12 dates)"
    data[key]["SCL"]["cloud"]["f1"] = 0.12345
    data[key]["refined"]["cloud shadow"]["f1"] = 0.98765
    (tmp_path / "masks_eval.json").write_text(json.dumps(data))
    row = next(line for line in masks_table(tmp_path).splitlines()
               if line.startswith("| simulator truth"))
    assert "0.123 → **" in row and "→ **0.988**" in row


def test_replace_section_needs_both_markers():
    assert replace_section(f"a\n{BEGIN}\nold\n{END}\nb", "new") == "a\nnew\nb"
    with pytest.raises(ValueError, match="no generated results block"):
        replace_section("a README without markers", "new")
