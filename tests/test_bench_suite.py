"""``hrlc bench``: stage scripts run at one size, the table of the latest result per stage."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from hrlc.bench_suite import (
    FULL_TILE,
    STAGES,
    Options,
    default_benchmarks,
    markdown,
    plan,
    previous_rows,
)
from hrlc.bench_suite.results import target_text
from hrlc.cli import main

REPO_BENCHMARKS = default_benchmarks()
#: Real results committed with the benchmarks (read here, copied, never written).
REAL = ("masks.json", "features.json", "glcm.json", "train.json", "simulate_full.json")
#: A bench_map.json row as the script writes it (its full-tile run is in progress).
MAP_ROWS = [{"case": "2744 x 2744 px (0.0625 tile)", "pixels": 7529536, "seconds": 215.19,
             "predict_seconds": 209.79, "cpu_seconds": 167.62, "peak_rss_mb": 3236.1,
             "pixels_per_second": 34990.4, "blocks": 9, "support_vectors": 2945,
             "features": 102, "load_average": 3.71}]


def run(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", *map(str, args)])
        raise SystemExit(0)
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


@pytest.fixture
def tree(tmp_path):
    """A benchmarks folder: two real (cheap) scripts and copies of real result files."""
    folder = tmp_path / "benchmarks"
    (folder / "results").mkdir(parents=True)
    for script in ("bench_composite.py", "bench_features.py"):
        shutil.copy2(REPO_BENCHMARKS / script, folder / script)
    for name in REAL:
        shutil.copy2(REPO_BENCHMARKS / "results" / name, folder / "results" / name)
    (folder / "results" / "bench_map.json").write_text(json.dumps(MAP_ROWS))
    return folder


def _rows(folder: Path) -> dict[str, dict]:
    payload = json.loads((folder / "results" / "bench_all.json").read_text())
    return {r["stage"]: r for r in payload["rows"]}


def _line(markdown: str, stage: str) -> list[str]:
    (line,) = [ln for ln in markdown.splitlines() if ln.startswith(f"| {stage} |")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_bench_runs_stages_and_keeps_the_latest_row_of_the_others(tree, tmp_path, capsys):
    code, _, err = run(capsys, "--size", 128, "--stages", "composite,features",
                       "--benchmarks", tree, "--data", tmp_path / "data")
    assert code == 0, err
    assert "✓ [1/2] composite" in err and "✓ [2/2] features" in err
    rows = _rows(tree)
    composite = json.loads((tree / "results/suite/composite-128.json").read_text())
    features = json.loads((tree / "results/suite/features-128.json").read_text())
    assert composite["size"] == 128 and features["size"] == 128
    assert rows["composite"]["wall_s"] == composite["wall_s"]
    assert rows["composite"]["peak_rss_gb"] == composite["peak_rss_gb"]
    assert rows["composite"]["cpu_s"] == composite["cpu_s"]
    assert rows["features"]["wall_s"] == features["seconds"]
    assert rows["features"]["peak_rss_gb"] == features["peak_rss_mb"] / 1024
    assert rows["features"]["size_text"] == "128 px, 2 months"
    assert rows["composite"]["cores"] == os.cpu_count() and len(rows["composite"]["load"]) == 2
    assert "bench_composite.py --size 128" in rows["composite"]["command"]

    markdown = (tree / "RESULTS.md").read_text()
    cells = _line(markdown, "composite")
    assert cells[1] == "128 px, 33 scenes"
    assert cells[2:5] == [f"{composite['wall_s']:,.1f}", f"{composite['peak_rss_gb']:,.2f}",
                          f"{composite['cpu_s']:,.1f}"]
    assert cells[-1] == "`suite/composite-128.json`"
    # stages not run: rows from the real result files, with the reference chain and targets
    masks = json.loads((tree / "results/masks.json").read_text())
    cells = _line(markdown, "masks")
    full = masks["runs"][1]
    assert cells[1] == f"{full['shape'][-1]} px, {full['scenes']} dates"
    assert cells[2:5] == [f"{masks['full_seconds']:,.1f}", f"{masks['full_peak_rss_gb']:,.2f}",
                          f"{full['cpu_seconds']:,.1f}"]
    verdict = ""  # targets are judged on a full tile only
    if full["shape"][-1] == 10980:
        met = masks["full_seconds"] <= 600 and masks["full_peak_rss_gb"] <= 4
        verdict = " (met)" if met else " (not met)"
    assert cells[5:8] == ["≤ 600 s / ≤ 4 GB" + verdict, "1,187 s / 15.8 GB (T18NWL)",
                          "906 s / 21 GB"]
    assert rows["masks"]["read_s"] == masks["read_decode_seconds"]
    cells = _line(markdown, "map")
    assert cells[1:8] == ["2744 px", "215.2", "3.16", "167.6", "≤ 600 s / ≤ 4 GB",
                          "12,510 s / 12.6 GB (21KUQ)", "6,038 s / 19.3 GB"]
    assert _line(markdown, "stage")[5:8] == [
        "target", "reference chain: existing pipeline", "reference chain: xarray re-implementation"]
    assert _line(markdown, "glcm")[5:8] == ["—", "—", "—"]
    reference = json.loads((tree / "results" / "bench_all.json").read_text())["reference_chain"]
    assert reference["existing pipeline"]["map"] == {"wall_s": 12510.0, "peak_rss_gb": 12.6,
                                                     "tile": "21KUQ"}
    assert reference["xarray re-implementation"]["masks"]["wall_s"] == 906.0
    assert "issue 17" in reference["source"] and "issue 17" in markdown
    assert _line(markdown, "glcm")[1:3] == ["10980 px, 1 band", "86.1"]
    assert _line(markdown, "train")[1] == "20,000 samples x 150 features"
    assert "Not measured yet: predict." in markdown

    # a second run of one stage: the other stage keeps its row from bench_all.json
    before = _rows(tree)["features"]
    code, _, err = run(capsys, "--size", 128, "--stages", "composite", "--benchmarks", tree,
                       "--data", tmp_path / "data")
    assert code == 0, err
    after = _rows(tree)
    assert after["features"] == before
    assert after["composite"]["measured"] >= before["measured"]


def test_from_results_takes_a_newer_hand_run_and_keeps_older_rows(tree, capsys):
    code, _, err = run(capsys, "--from-results", "--benchmarks", tree)
    assert code == 0, err
    first = _rows(tree)
    assert set(first) == {"simulate", "masks", "features", "glcm", "train", "map"}
    assert not (tree / "results" / "suite").exists()  # nothing ran
    # the full-tile masks run, by hand, finishes after the table was made
    masks = json.loads((tree / "results/masks.json").read_text())
    masks["runs"][1]["shape"][-2:] = [FULL_TILE, FULL_TILE]
    masks.update(full_seconds=512.3, full_peak_rss_gb=3.91)
    (tree / "results/masks.json").write_text(json.dumps(masks))
    later = first["masks"]["measured"]
    os.utime(tree / "results/masks.json", (1e10, 1e10))  # certainly newer than the table
    code, _, err = run(capsys, "--from-results", "--benchmarks", tree)
    assert code == 0, err
    rows = _rows(tree)
    assert rows["masks"]["wall_s"] == 512.3 and rows["masks"]["measured"] > later
    assert rows["glcm"] == first["glcm"]
    cells = _line((tree / "RESULTS.md").read_text(), "masks")
    assert cells[1:4] == [f"{FULL_TILE} px, 8 dates", "512.3", "3.91"]
    assert cells[5] == "≤ 600 s / ≤ 4 GB (met)"


def test_target_is_judged_on_a_full_tile_only():
    row = {"stage": "map", "size": FULL_TILE, "wall_s": 1500.0, "peak_rss_gb": 3.2}
    assert target_text(row) == "≤ 600 s / ≤ 4 GB (not met)"
    assert target_text({**row, "size": 2744}) == "≤ 600 s / ≤ 4 GB"
    assert target_text({**row, "stage": "glcm"}) == "—"


def test_dry_run_prints_the_commands_and_writes_nothing(tree, tmp_path, capsys):
    code, out, _ = run(capsys, "--size", 128, "--dry-run", "--stages", "composite",
                       "--stages", "features", "--benchmarks", tree, "--data", tmp_path / "d")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 2
    assert f"{tree}/bench_composite.py --size 128 --json " in lines[0]
    assert lines[1].endswith(f"bench_features.py --size 128 --out "
                             f"{tree}/results/suite/features-128.json")
    assert not (tree / "results" / "suite").exists() and not (tree / "RESULTS.md").exists()


def test_sizes_follow_each_script_rules(tmp_path):
    jobs = {j.stage.name: j.command[2:] for j in plan(
        ["simulate", "masks", "train", "predict", "map"], Options(size=130, dates=3, data=tmp_path),
        benchmarks=tmp_path, results=tmp_path / "r")}
    assert jobs["simulate"][:4] == ["--size", "126", "--dates", "3"]  # a multiple of 6
    assert jobs["masks"][:4] == ["--size", "126", "--dates", "3"]
    assert jobs["masks"][jobs["masks"].index("--data") + 1] == str(tmp_path / "masks-126-3")
    assert jobs["map"][:2] == ["--size", "128"]  # base x largest repeat (4)
    assert jobs["predict"][:2] == ["--size", "130"] and jobs["train"][:2] == ["--samples", "1000"]
    full = {j.stage.name: j.command[2:] for j in plan(["train", "predict"], Options(),
                                                      benchmarks=tmp_path, results=tmp_path)}
    assert full["train"][:2] == ["--samples", "20000"] and full["predict"][:2] == ["--size", "1000"]


def test_a_failing_stage_is_reported_and_the_others_are_kept(tree, tmp_path, capsys):
    (tree / "bench_glcm.py").write_text("import sys\nprint('reading the band')\nsys.exit(3)\n")
    code, _, err = run(capsys, "--size", 128, "--stages", "glcm", "--benchmarks", tree)
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("hrlc: error: 1 of 1 stages failed: glcm: bench_glcm.py exited "
                           "with code 3 (reading the band); log: ")
    assert "reading the band" in (tree / "results/suite/glcm-128.log").read_text()
    assert _rows(tree)["glcm"]["source"] == "glcm.json"  # the previous result stays


@pytest.mark.parametrize("args, message", [
    (["--stages", "composite"], "not found: the benchmark scripts ship with the source tree"),
    (["--stages", "nope"], "unknown stage 'nope'; choose from simulate, masks"),
])
def test_errors_are_one_line(tmp_path, capsys, args, message):
    code, _, err = run(capsys, *args, "--benchmarks", tmp_path / "missing")
    assert code == 2
    assert err.count("\n") == 1 and message in err


def test_a_benchmarks_folder_without_the_script(tree, capsys):
    code, _, err = run(capsys, "--stages", "map", "--benchmarks", tree)
    assert code == 2 and "has no bench_map.py" in err


def test_the_committed_table_is_generated_from_the_committed_rows():
    rows = previous_rows(REPO_BENCHMARKS / "results" / "bench_all.json")
    assert list(rows) == list(STAGES)  # every stage has a row, in suite order
    text = markdown(list(rows.values()), command="hrlc bench --from-results")
    assert (REPO_BENCHMARKS / "RESULTS.md").read_text() == text
    assert _line(text, "masks")[6:8] == ["1,187 s / 15.8 GB (T18NWL)", "906 s / 21 GB"]
    assert _line(text, "map")[6:8] == ["12,510 s / 12.6 GB (21KUQ)", "6,038 s / 19.3 GB"]
