"""``hrlc bench``: stage scripts run at one size, the table of the latest result per stage."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from hrlc.bench_suite import (
    FULL_TILE,
    STAGES,
    Options,
    default_benchmarks,
    markdown,
    plan,
    previous_rows,
    select,
)
from hrlc.bench_suite.results import target_text
from hrlc.cli import main
from hrlc.config.run import STAGES as RUN_STAGES

REPO_BENCHMARKS = default_benchmarks()
#: Real results committed with the benchmarks (read here, copied, never written).
REAL = ("masks.json", "masks_jp2.json", "features.json", "glcm.json", "train.json", "simulate_full.json")
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
    # 64 px, the suite's smallest size: the scripts' work is a small part of their cost
    code, _, err = run(capsys, "--size", 64, "--stages", "composite,features",
                       "--benchmarks", tree, "--data", tmp_path / "data")
    assert code == 0, err
    assert "✓ [1/2] composite" in err and "✓ [2/2] features" in err
    rows = _rows(tree)
    composite = json.loads((tree / "results/suite/composite-64.json").read_text())
    features = json.loads((tree / "results/suite/features-64.json").read_text())
    assert composite["size"] == 64 and features["size"] == 64
    assert rows["composite"]["wall_s"] == composite["wall_s"]
    assert rows["composite"]["peak_rss_gb"] == composite["peak_rss_gb"]
    assert rows["composite"]["cpu_s"] == composite["cpu_s"]
    assert rows["features"]["wall_s"] == features["seconds"]
    assert rows["features"]["peak_rss_gb"] == features["peak_rss_mb"] / 1024
    assert rows["features"]["size_text"] == "64 px, 2 months"
    assert rows["composite"]["cores"] == os.cpu_count() and len(rows["composite"]["load"]) == 2
    assert "bench_composite.py --size 64" in rows["composite"]["command"]

    markdown = (tree / "RESULTS.md").read_text()
    cells = _line(markdown, "composite")
    assert cells[1] == "64 px, 33 scenes"
    assert cells[2:5] == [f"{composite['wall_s']:,.1f}", f"{composite['peak_rss_gb']:,.2f}",
                          f"{composite['cpu_s']:,.1f}"]
    assert cells[-1] == "`suite/composite-64.json`"
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
    assert "Not measured yet: predict, chain." in markdown

    # a second run of one stage: the other stage keeps its row from bench_all.json. The
    # script was run above; here a stand-in writes its result again with another time
    # (the suite's bookkeeping is under test, and the real script costs 4 CPU-s a run)
    before = _rows(tree)["features"]
    (tree / "bench_composite.py").write_text(
        "import json, sys\n"
        "out = sys.argv[sys.argv.index('--json') + 1]\n"
        f"result = {json.dumps({**composite, 'wall_s': composite['wall_s'] + 1.5})!r}\n"
        "open(out, 'w').write(result)\n")
    code, _, err = run(capsys, "--size", 64, "--stages", "composite", "--benchmarks", tree,
                       "--data", tmp_path / "data")
    assert code == 0, err
    after = _rows(tree)
    assert after["features"] == before
    assert after["composite"]["measured"] >= before["measured"]
    assert after["composite"]["wall_s"] == composite["wall_s"] + 1.5  # the new run's row


def test_from_results_takes_a_newer_hand_run_and_keeps_older_rows(tree, capsys):
    code, _, err = run(capsys, "--from-results", "--benchmarks", tree)
    assert code == 0, err
    first = _rows(tree)
    assert set(first) == {"simulate", "masks", "masks_jp2", "features", "glcm", "train", "map"}
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


# --- the chain stage: a tile-year end to end (benchmarks/bench_chain.py) -------------------

#: A light version of configs/bench_chain.yaml for a quick run (fewer features, samples and
#: textures, a one-point SVM grid, ANOVA relevance: mutual information costs a k-NN fit per
#: feature and class); the chain and its measurement are the same. Features: the index
#: statistics over the months (19 features), not the bands and indices of each month (253,
#: NaN in a month without a clear date: 5,900 of 8,100 sampled pixels were dropped); 150
#: pixels of each land-cover class, not 1,000, keep the training set at about 2,900
#: samples. Measured at a load of 4 on 2 cores: the run's CPU time 13 to 15 s, was 16 to 17.5.
LIGHT = {"features": {"bands": [], "index_months": [], "glcm_textures": ["contrast"]},
         "dataset": {"lc_per_class": 150},
         "train": {"compare": [], "C": [10], "gamma_factors": [1.0], "cv_folds": 2,
                   "relevance": "anova"}}
#: The smallest season that still spans a year with both processing baselines twice: 4
#: dates are 90 days apart (2019-01-01 to 2019-09-28; 3 dates would end in August), and
#: 02.12 and 05.09 alternate. Below a few hundred px the chain's cost is its stages' fixed
#: part (a 72 px tile costs as much as 120 px): 120 px keeps some room for the training.
SIZE, DATES = 120, 4


def _script(name: str = "bench_chain"):
    spec = importlib.util.spec_from_file_location(name, REPO_BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """``hrlc bench --stages chain`` at SIZE px and DATES dates, once for the tests below."""
    root = tmp_path_factory.mktemp("chain")
    folder = root / "benchmarks"
    (folder / "results").mkdir(parents=True)
    shutil.copy2(REPO_BENCHMARKS / "bench_chain.py", folder / "bench_chain.py")
    config = yaml.safe_load((REPO_BENCHMARKS.parent / "configs" / "bench_chain.yaml").read_text())
    for section, options in LIGHT.items():
        config[section].update(options)
    (root / "configs").mkdir()  # the script reads ../configs/bench_chain.yaml
    (root / "configs" / "bench_chain.yaml").write_text(yaml.safe_dump(config))
    try:
        main(["bench", "--size", str(SIZE), "--dates", str(DATES), "--stages", "chain",
              "--benchmarks", str(folder), "--data", str(root / "data")])
    except SystemExit as exc:
        assert exc.code in (0, None), (folder / f"results/suite/chain-{SIZE}.log").read_text()
    result = json.loads((folder / f"results/suite/chain-{SIZE}.json").read_text())
    return {"folder": folder, "data": Path(result["run_config"]).parent, "result": result,
            "row": _rows(folder)["chain"]}


@pytest.mark.slow
def test_chain_times_every_stage_from_the_manifest(chain):
    result, row = chain["result"], chain["row"]
    manifest = json.loads(Path(result["manifest"]).read_text())["stages"]
    stages = result["stages"]
    assert [s["stage"] for s in stages] == list(RUN_STAGES)
    for s in stages:
        record = manifest[s["stage"]]
        assert s["wall_s"] > 0 and s["wall_s"] == record["seconds"]
        assert s["peak_rss_gb"] == round(record["peak_rss_mb"] / 1024, 3)
        # the tree holds the stage's process and hrlc run's own (at least 50 MB)
        assert s["tree_peak_rss_gb"] >= s["peak_rss_gb"] + 0.05
        assert f"{s['stage']} {s['wall_s']:,.1f} s" in row["note"]
    # the total is the stages plus the run's own work, a small part of it
    assert result["total_s"] == pytest.approx(result["stage_sum_s"] + result["overhead_s"],
                                              abs=0.011)
    assert result["stage_sum_s"] == pytest.approx(sum(s["wall_s"] for s in stages), abs=0.011)
    assert 0 < result["overhead_s"] <= 0.3 * result["total_s"]
    assert result["cpu_s"] > 0
    assert row["wall_s"] == result["total_s"]
    assert row["peak_rss_gb"] == max(s["tree_peak_rss_gb"] for s in stages)
    assert row["stages"] == {s["stage"]: s["wall_s"] for s in stages}
    assert row["size_text"] == "120 px, 4 dates"
    assert f"simulate {result['simulate']['seconds']:,.1f} s not counted" in row["note"]
    cells = _line((chain["folder"] / "RESULTS.md").read_text(), "chain")
    assert cells[1:3] == ["120 px, 4 dates", f"{result['total_s']:,.1f}"]
    assert cells[5:8] == ["≤ 7,200 s / ≤ 4 GB", "—", "—"]


@pytest.mark.slow
def test_chain_products_mix_both_baselines_and_are_reused(chain):
    products = chain["result"]["products"]
    assert products["format"] == "SAFE, JPEG 2000" and products["count"] == 4
    assert products["baselines"] == {"02.12": 2, "05.09": 2}
    assert products["with_boa_offset"] == 2
    assert products["first"][:4] == "2019" and products["last"] > "2019-09"  # a year
    assert chain["result"]["adjusted"] == {"dataset.block_size": [1000.0, 120.0]}
    script = _script()
    folder = chain["data"] / "products"
    assert script.products_match(folder, size=SIZE, dates=DATES, seed=0)
    assert not script.products_match(folder, size=SIZE, dates=DATES + 1, seed=0)
    assert not script.products_match(folder, size=SIZE + 6, dates=DATES, seed=0)
    assert not script.products_match(folder, size=SIZE, dates=DATES, seed=1)
    again = script.simulate(folder, size=SIZE, dates=DATES, seed=0, workers=None)  # no new run
    assert again["reused"] and again["seconds"] == chain["result"]["simulate"]["seconds"]
    run = chain["result"]["disk_gb"]["run"]
    parts = [v for k, v in run.items() if k != "total"]
    assert run["features.zarr"] > 0 and parts == sorted(parts, reverse=True)
    assert sum(parts) == pytest.approx(run["total"], abs=0.001 * len(parts))
    shared = chain["result"]["shared_read"]
    assert shared["decoded_by_both"] == ["B02", "B03", "B04", "B08", "B11"]
    # 4 of the 4 10 m bands and 1 of 6 20 m bands, of 4 + 6/4 + 2/36 (10 m units)
    assert shared["share_of_composite_pixels"] == pytest.approx(4.25 / (4 + 1.5 + 2 / 36),
                                                                abs=1e-3)


@pytest.mark.slow
def test_chain_config_must_leave_the_inputs_to_the_script(chain, tmp_path):
    script = _script()
    template = tmp_path / "chain.yaml"
    template.write_text("sources: [elsewhere]\nchunks: 512\n")
    with pytest.raises(SystemExit, match="sets sources; the benchmark fills in the inputs"):
        script.run_config(template, chain["data"], size=SIZE, workers=None)
    template.write_text("chunks: 512\n")
    config, adjusted = script.run_config(template, chain["data"], size=10980, workers=2)
    assert adjusted == {} and config["compute"] == {"n_workers": 2}
    assert len(config["sources"]) == 4 and all(s.endswith(".SAFE") for s in config["sources"])


def test_chain_sampler_reads_the_pss_once_an_interval_and_follows_the_rss_between():
    import psutil

    class Process:  # what the sampler asks of a psutil.Process, counting the PSS readings
        pid, rss, pss, readings = 7, 500, 300, 0

        def create_time(self):
            return 1.0

        def memory_info(self):
            return SimpleNamespace(rss=self.rss)

        def memory_full_info(self):
            self.readings += 1
            return SimpleNamespace(rss=self.rss, pss=self.pss)

    sampler, proc = _script().TreeSampler(0, pss_interval=3600.0), Process()
    assert sampler._memory(proc, psutil) == 300 and proc.readings == 1
    proc.rss, proc.pss = 900, 700  # the stage allocates 400: counted at once
    assert sampler._memory(proc, psutil) == 700 and proc.readings == 1
    proc.pss = 750  # a copy-on-write of a shared page: counted at the next reading
    assert sampler._memory(proc, psutil) == 700
    sampler.pss_interval = 0.0
    assert sampler._memory(proc, psutil) == 750 and proc.readings == 2
    proc.create_time = lambda: 2.0  # another process with the same pid: read at once
    sampler.pss_interval = 3600.0
    assert sampler._memory(proc, psutil) == 750 and proc.readings == 3


def test_chain_runs_only_when_named_and_quotes_the_reference_on_a_full_tile(tmp_path):
    assert "chain" not in select([]) and select(["chain"]) == ["chain"]
    (job,) = plan(["chain"], Options(size=1100, dates=36, data=tmp_path), benchmarks=tmp_path,
                  results=tmp_path / "r")
    assert job.command[2:6] == ["--size", "1098", "--dates", "36"]
    assert job.command[job.command.index("--data") + 1] == str(tmp_path / "chain-1098-36")
    stages = [{"stage": name, "wall_s": 100.0 * k, "tree_peak_rss_gb": 1.0}
              for k, name in enumerate(RUN_STAGES, 1)]
    data = {"size": FULL_TILE, "dates": 36, "stages": stages, "total_s": 2810.0,
            "overhead_s": 10.0, "peak_rss_gb": 3.5, "cpu_s": 5000.0, "simulate": {"seconds": 19000.0},
            "machine": {"cores": 2, "load_average_start": [1.5, 1, 1],
                        "load_average_end": [2.5, 2, 2]}}
    row = STAGES["chain"].parse(data)
    assert row["note"].endswith("; reference deck: masks 1,187 / 906 s, map 12,510 / 6,038 s")
    assert row["load"] == [1.5, 2.5] and row["wall_s"] == 2810.0
    assert target_text({**row, "stage": "chain"}) == "≤ 7,200 s / ≤ 4 GB (met)"
    assert "reference" not in STAGES["chain"].parse({**data, "size": 1098})["note"]
