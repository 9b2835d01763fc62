"""``hrlc demo``: the whole chain on data shipped with the package, no download.

Two runs of ``hrlc run``:

1. **real data**: the Aberystwyth Sentinel-2 scene (2021-05-27) and its 40 hand-drawn
   training polygons: features, training set, SVM, land-cover map;
2. **a simulated season** (``hrlc simulate``: SAFE products of both processing
   baselines, with Sen2Cor-like SCL errors) so that masks, composites and restoration
   have a time series: the full chain from L2A scenes to a map.

Between the two, ``hrlc experiment`` compares two cheap classifiers on the real samples
(a second or two); its table is printed at the end.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer



def _aber_run(out: Path) -> dict:
    from hrlc.testing import bundled, bundled_aber

    layers = {f"cls_{name}_smpls": name for name in ("forest", "grass", "urban", "water")}
    return {
        "output": str(out), "sources": [str(bundled_aber())], "chunks": 512,
        "stages": ["features", "dataset", "train", "map"],
        "classes": str(bundled("aber", "classes.yaml")),
        "polygons": {"path": str(bundled("aber", "training_polygons_aber.gpkg")),
                     "layers": layers},
        "features": {"glcm_textures": ["contrast", "homogeneity", "entropy"]},
        "train": {"C": [10, 100], "gamma_factors": [1.0], "compare": ["random_forest"]},
    }


def _aber_experiment(aber: Path, out: Path) -> dict:
    """``hrlc experiment`` of two cheap variants on the Aberystwyth samples (no maps)."""
    return {"samples": str(aber / "dataset" / "samples.parquet"), "output": str(out),
            "train": {"C": [10], "gamma_factors": [1.0], "cv_folds": 2, "n_jobs": 1,
                      "max_train_samples": 300},
            "grid": {"classifier": ["multiclass", "ova"]}}


def _simulated_run(products: Path, out: Path) -> dict:
    """Polygons plus pixels drawn from the simulator's land-cover map ("enhanced"): a small
    tile holds too few polygons per class for a block split on its own."""
    import yaml

    truth = products / "truth"
    classes = yaml.safe_load((truth / "classes.yaml").read_text())["classes"]
    mapping = truth / "landcover_mapping.yaml"
    mapping.write_text(yaml.safe_dump({"mapping": {c["code"]: c["name"] for c in classes},
                                       "ignore": [0]}))
    return {
        "output": str(out), "sources": [str(products)], "dem": str(truth / "dem.tif"),
        "chunks": 256, "classes": str(truth / "classes.yaml"),
        "polygons": {"path": str(truth / "training_polygons.gpkg"), "class_field": "class"},
        "lc_maps": [{"path": str(truth / "landcover.tif"), "mapping": str(mapping)}],
        # a short cloudy season leaves single months with gaps even after restoration:
        # statistics over the months (NaN-aware) keep every pixel classifiable
        "restore": {"interpolate": {"reach": 2}},
        "features": {"bands": [], "index_months": [],
                     "index_statistics": ["median", "min", "max", "std"],
                     "glcm_textures": ["contrast", "entropy"]},
        "dataset": {"strategy": "enhanced", "lc_per_class": 150, "lc_erosion": 1,
                    "block_size": 300, "min_per_class": 20, "drop_small_classes": True},
        # the product's search (successive halving, then the calibration choice) on the
        # middle 3 x 3 of its 5 x 5 grid of C and gamma, and the Random Forest beside the
        # SVM at 100 trees instead of 300: at the default 360 px and 6 dates the training
        # stage took 42 CPU-s, now 18; held-out macro-F1 SVM 0.743 (was 0.741), RF 0.766
        # (0.773)
        "train": {"compare": ["random_forest"], "cv_folds": 2, "cv_groups": "polygon",
                  "C": [1.0, 10.0, 100.0], "gamma_factors": [0.3, 1.0, 3.0], "rf_trees": 100},
    }


def _summary(run_dir: Path) -> dict:
    report = json.loads((run_dir / "model" / "report.json").read_text())
    scores = {name: report["variants"][name]["test"] for name in report["ranking"]}
    return {"scores": scores, "choice": report["choice"], "distribution": (run_dir / "map" / "distribution.csv").read_text(),
            "png": run_dir / "map" / "quicklook.png", "report": run_dir / "model" / "report.html",
            "run_report": run_dir / "report.html"}


def demo(
    out: Path = typer.Option(Path("demo-output"), "--output", "-o", "--out",
                             help="Folder for the demo outputs."),
    size: int = typer.Option(360, "--size", min=180, help="Side of the simulated tile, px "
                             "(a multiple of 6, at least 180: a smaller tile holds too few "
                             "polygons of some class for the cross-validation)."),
    dates: int = typer.Option(6, "--dates", min=3, help="Scenes in the simulated season."),
) -> None:
    """Run the whole chain on bundled real data and on a small simulated season (no download).

    Example: [bold]hrlc demo --out demo-output[/]
    """
    from rich.console import Console
    from rich.table import Table

    from hrlc.cli.experiment import print_experiment_table
    from hrlc.config import validate_config
    from hrlc.config.experiment import ExperimentConfig
    from hrlc.config.run import RunConfig
    from hrlc.io.safe_writer import write_series
    from hrlc.pipeline import run_chain
    from hrlc.pipeline.experiment import run_experiment
    from hrlc.simulate import simulate_series

    console = Console()
    say = lambda text: console.print(text, highlight=False)  # noqa: E731
    plain = lambda text: console.print(text, markup=False, highlight=False)  # noqa: E731
    start = time.perf_counter()
    results = {}
    say("[bold]1/2 real data: Aberystwyth, Sentinel-2 2021-05-27, 40 training polygons[/]")
    aber = out / "aberystwyth"
    run_chain(validate_config(_aber_run(aber), RunConfig, source="demo"), echo=plain)
    results["Aberystwyth (real)"] = _summary(aber)
    experiment = run_experiment(validate_config(_aber_experiment(aber, out / "experiment"),
                                                ExperimentConfig, source="demo"), echo=plain)

    say(f"[bold]2/2 simulated season: {dates} scenes of {size} x {size} px, full chain[/]")
    products = out / "simulated" / "products"
    if not (products / "truth" / "classes.yaml").exists():
        series = simulate_series(size=size, dates=dates, seed=7, start="2019-03-01", chunks=256)
        write_series(series, products, format="geotiff", overwrite=True)
    simulated = out / "simulated" / "run"
    run_chain(validate_config(_simulated_run(products, simulated), RunConfig, source="demo"),
              echo=plain)
    results["simulated season"] = _summary(simulated)

    table = Table(title="held-out scores (split by spatial block), ranked by macro-F1 then ECE")
    for column in ("data", "rank", "classifier", "OA", "macro-F1", "ECE"):
        table.add_column(column)
    for data, result in results.items():
        for rank, (name, test) in enumerate(result["scores"].items(), 1):
            ece = "-" if test.get("ece") is None else f"{test['ece']:.3f}"
            table.add_row(data, str(rank), name, f"{test['overall_accuracy']:.3f}",
                          f"{test['macro_f1']:.3f}", ece)
    console.print(table)
    for data, result in results.items():
        plain(f"{data}: {result['choice']}")
    for data, result in results.items():
        say(f"[bold]{data}[/] class areas:\n{result['distribution']}")
        say(f"  map: {result['png']}\n  model report: {result['report']}\n"
            f"  run report: {result['run_report']}")
    print_experiment_table(console, experiment.table,
                           title="hrlc experiment: two classifiers, Aberystwyth samples")
    say(f"  table: {experiment.files['html']} (and .md, .csv)")
    say(f"demo finished in {time.perf_counter() - start:.0f} s; run folders: {aber}, {simulated} "
        f"(hrlc info <folder> shows each manifest)")
