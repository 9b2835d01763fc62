"""The files of ``hrlc experiment``: cached variants, maps and their comparison, the table.

- ``OUT/cache/<key>.json`` (+ ``.npz`` bundle): one record per variant
  (:func:`write_records`, :func:`read_record`);
- :func:`experiment_maps`: every variant with a bundle mapped into ``OUT/maps/<variant>/``
  with ``hrlc map``'s functions (resumable block by block; kept when its variant, bundle,
  map options and cube are unchanged), every pair compared
  (:func:`hrlc.mapping.compare_maps`: the agreement matrix), ``compare-maps`` results of
  each variant against the first in ``OUT/compare/``, class distributions side by side,
  the minor classes of each map;
- :func:`write_tables`: ``table.md``, ``table.csv``, ``table.html`` (self-contained; click
  a column header to sort), ``experiment.json``.

Predicted mapping cost of an SVM variant (kernel cost model of ``docs/map.md``):
``kernel_MACs_per_px = n_SV x dims`` (``dims``: features after PCA);
``kernel_us_per_px = n_SV x (1.23 + 0.0194 x dims) / 1000``, one core, the line through
the two kernels measured there (2.0 ns per kernel value at 40 dims, 3.2 ns at 102);
``tile_cpu_min = kernel_us_per_px x 10980^2 / 6e7``. Kernel only: features and outputs
add ~7 µs per pixel whatever the variant.
"""

from __future__ import annotations

import json
import shutil
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd


#: ``format`` and ``version`` of a cached variant record.
RECORD_FORMAT, RECORD_VERSION = "hrlc-experiment-variant", 1
#: ns per kernel value = a + b x dims (see the module's notes).
KERNEL_NS = (1.23, 0.0194)
#: Pixels of a 10980 x 10980 px Sentinel-2 tile.
TILE_PIXELS = 10980 ** 2
_SORT_JS = """
document.querySelectorAll("th").forEach((th) => th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0], col = th.cellIndex;
  const up = th.dataset.order !== "up";
  th.dataset.order = up ? "up" : "down";
  const key = (row) => { const v = row.cells[col].dataset.value;
    return v === undefined ? [1, row.cells[col].textContent] : [0, Number(v)]; };
  [...body.rows].sort((a, b) => { const x = key(a), y = key(b);
    const c = x[0] - y[0] || (x[0] ? String(x[1]).localeCompare(String(y[1])) : x[1] - y[1]);
    return up ? c : -c; }).forEach((row) => body.appendChild(row));
}));
"""
_CSS = ("body{font-family:system-ui,sans-serif;max-width:90em;margin:1em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:.6em 0 1em}th,td{border:1px solid #ccc;"
        "padding:2px 8px;text-align:left}th{cursor:pointer;background:#eee}th:hover{"
        "background:#ddd}td.num{text-align:right;font-variant-numeric:tabular-nums}"
        ".scroll{overflow-x:auto}img{max-width:100%}")


def write_json(path: Path, data) -> None:
    """Write ``data`` as JSON, atomically."""
    from hrlc.io.atomic import atomic_output

    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(data, indent=1, default=str))


def read_record(cache: Path, key: str, *, need_bundle: bool) -> dict | None:
    """The cached record of variant ``key``; None when absent, of another format, or
    (``need_bundle``) without its bundle file."""
    try:
        record = json.loads((cache / f"{key}.json").read_text())
    except (OSError, ValueError):
        return None
    if (record.get("format"), record.get("version"), record.get("key")) != (
            RECORD_FORMAT, RECORD_VERSION, key):
        return None
    if need_bundle and not (record.get("bundle") and (cache / record["bundle"]).is_file()):
        return None
    return record


def write_records(call, result: dict, *, checksum: str, source: str | None,
                  cache: Path) -> dict:
    """Cache a finished ``train_model`` call: its bundle, a record per variant (``source``:
    where its feature selection came from). Returns key -> record."""
    from datetime import UTC, datetime

    bundle_file = None
    if call.bundle_of is not None:
        bundle_file = f"{call.bundle_of.key}.npz"
        result["bundle"].save(cache / bundle_file, overwrite=True)
    records = {}
    for variant in call.variants:
        records[variant.key] = {
            "format": RECORD_FORMAT, "version": RECORD_VERSION, "key": variant.key,
            "family": variant.family, "variant": variant.name, "params": variant.grid.params,
            "kind": variant.grid.kind, "role": variant.grid.role, "options": variant.options,
            "samples_sha256": checksum, "scores": result["scores"][variant.key],
            "selected": result["selected"], "n_dims": result["n_dims"],
            "bundle": bundle_file if variant is call.bundle_of else None,
            "trained_with": [v.name for v in call.variants if v is not variant],
            "selection_from": source if result["shared_selection"] else None,
            "call_seconds": result["seconds"],
            "created": datetime.now(UTC).isoformat(timespec="seconds")}
        write_json(cache / f"{variant.key}.json", records[variant.key])
    return records


def check_folder(output: Path, *, force: bool) -> None:
    """An experiment writes into a new or empty folder, or one of its own."""
    from hrlc.errors import FolderOwnershipError

    if force or not output.exists() or not any(output.iterdir()):
        return
    if not ((output / "experiment.json").is_file() or (output / "cache").is_dir()):
        raise FolderOwnershipError(
            f"{output} holds files that are not an experiment's (no experiment.json, no "
            "cache/); choose another output, or pass --force (force=True) to write into it")


def mapping_cost(n_sv: int | None, dims: int | None) -> dict:
    """Predicted kernel cost per pixel and per tile of an SVM (None for other models)."""
    if not n_sv or not dims:
        return {"kernel_MACs_per_px": None, "kernel_us_per_px": None, "tile_cpu_min": None}
    micro = n_sv * (KERNEL_NS[0] + KERNEL_NS[1] * dims) / 1000
    return {"kernel_MACs_per_px": int(n_sv * dims), "kernel_us_per_px": micro,
            "tile_cpu_min": micro * TILE_PIXELS / 6e7}


def table_frame(config, variants, records: dict, failed: dict, *, maps: dict | None = None,
                trained=()) -> pd.DataFrame:
    """One row per variant: grid values, test scores, features offered (the preset's
    columns) and selected (what a map computes), dims (after PCA), support vectors or
    tree nodes, fit time, mapping cost, (maps) agreement with the first map and minor
    classes, status."""
    rows = []
    for variant in variants:
        record = records.get(variant.key) or {}
        scores = record.get("scores", {})
        features = len(record["selected"]) if record else None
        dims = record["n_dims"] if record and variant.grid.role == "bundle" else features
        row = {"variant": variant.name, **{k: _cell(variant.grid.params[k]) for k in config.grid},
               "OA": scores.get("overall_accuracy"), "macro_F1": scores.get("macro_f1"),
               "ECE": scores.get("ece"), "features_offered": len(variant.features),
               "features": features, "dims": dims,
               "support_vectors": scores.get("n_support_vectors"),
               "tree_nodes": scores.get("n_nodes"), "fit_s": scores.get("fit_seconds"),
               **mapping_cost(scores.get("n_support_vectors"), dims)}
        if maps is not None:
            row["agreement"] = maps["agreement_first"].get(variant.name)
            row["minor_classes"] = maps["minor_text"].get(variant.name, "not mapped")
            row["map"] = (f"maps/{variant.name}/classes.tif" if variant.name in maps["maps"]
                          else "-")
        row["status"] = ("failed: " + failed[variant.name] if variant.name in failed else
                         "missing" if not record else
                         "trained" if variant.name in trained else "cached")
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(value):
    plain = isinstance(value, str | int | float | bool) or value is None
    return value if plain else json.dumps(value)


def _map_cube(config, cube):
    """The features to map: ``cube`` or the Zarr cube ``config.features``, cropped to
    ``config.window``."""
    from hrlc.errors import ConfigError, InputError

    if cube is None:
        if config.features is None:
            raise ConfigError("maps: true needs the features to map: give 'features' (a "
                              "feature cube of hrlc features) or 'composites' in the "
                              "experiment's config (in Python: run_experiment(..., cube=))")
        from hrlc.io.cubes import open_zarr_store

        store = open_zarr_store(config.features)
        if len(store.data_vars) != 1:
            raise InputError(f"{config.features}: holds {', '.join(store.data_vars)}; give the "
                             "feature cube written by `hrlc features`")
        cube = next(iter(store.data_vars.values()))
    if config.window is None:
        return cube
    col, row, width, height = config.window
    if col + width > cube.sizes["x"] or row + height > cube.sizes["y"]:
        raise ConfigError(f"window {list(config.window)} (col_off, row_off, width, height) "
                          f"reaches beyond the cube's {cube.sizes['x']} x {cube.sizes['y']} px")
    return cube.isel(x=slice(col, col + width), y=slice(row, row + height))


def map_variant(config, name: str, record: dict, cube, *, echo) -> Path:
    """Map one variant into ``OUT/maps/<name>/`` unless an identical map is there; the
    path of its ``classes.tif``."""
    from hrlc.io import read_zarr
    from hrlc.mapping import compute_blocks, map_fingerprint, predict_map, write_map_outputs
    from hrlc.model import file_checksum, load_bundle

    folder = Path(config.output) / "maps" / name
    bundle_path = Path(config.output) / "cache" / record["bundle"]
    fingerprint = map_fingerprint(
        cube, bundle_sha256=file_checksum(bundle_path), options=config.map.model_dump(mode="json"),
        source=config.model_dump(mode="json", include={"features", "composites", "dem",
                                                       "feature_options"}),
        key=record["key"], window=config.window)
    manifest = folder / "map.json"
    if manifest.is_file() and (folder / "classes.tif").is_file():
        if json.loads(manifest.read_text()).get("fingerprint") == fingerprint:
            return folder / "classes.tif"
    bundle = load_bundle(bundle_path)
    work = folder.parent / f".{name}.work.zarr"
    blocks = compute_blocks(predict_map(cube, bundle, **config.map.model_dump()), work,
                            fingerprint=fingerprint)
    written = write_map_outputs(read_zarr(work), folder, class_table=bundle.class_table,
                                tags={"experiment_variant": name, "bundle": str(bundle_path)},
                                title=name, overwrite=True)
    write_json(manifest, {"fingerprint": fingerprint, "variant": name, "blocks": blocks.total,
                          "bundle": str(bundle_path),
                          "files": {k: str(v) for k, v in written.items()}})
    shutil.rmtree(work, ignore_errors=True)
    echo(f"[experiment] mapped {name} ({blocks.total} blocks)")
    return written["classes"]


def _minor(distribution: pd.DataFrame, percent: float) -> list[str]:
    """Minor (0 < share < ``percent``) and absent classes of a map, as text."""
    return [f"{row.name} absent" if row.pixels == 0 else f"{row.name} {row.percent:.2f} %"
            for row in distribution.itertuples() if row.percent < percent]


def experiment_maps(config, variants, records: dict, *, cube, echo) -> dict:
    """Map every variant with a bundle; agreement matrix, distributions, minor classes.

    Returns
    -------
    dict
        ``agreement`` (DataFrame variant x variant, overall agreement of
        :func:`hrlc.mapping.compare_maps`, 1 on the diagonal), ``agreement_first``
        (variant -> agreement with the first map), ``distribution`` (code, name, percent
        per variant), ``minor`` / ``minor_text`` (variant -> minor and absent classes),
        ``comparisons`` (variant -> folder of its comparison with the first), ``maps``
        (variant -> classes.tif), ``class_table``; empty when no variant has a bundle.
    """
    import rioxarray

    from hrlc.io.cubes import decoding
    from hrlc.mapping import (class_distribution, compare_maps, read_class_table,
                              write_comparison)

    cube = _map_cube(config, cube)
    paths = {}
    sources = [config.features] if config.features else config.composites or []
    with decoding(*sources) if sources else nullcontext():
        for variant in variants:
            record = records.get(variant.key)
            if record is not None and record.get("bundle"):
                paths[variant.name] = map_variant(config, variant.name, record, cube, echo=echo)
    if not paths:
        return {}
    layers = {name: rioxarray.open_rasterio(path, chunks={"x": 1024, "y": 1024}).squeeze(
        "band", drop=True) for name, path in paths.items()}
    names = list(layers)
    class_table = read_class_table(paths[names[0]])
    agreement = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    comparisons = {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            found = compare_maps(layers[a], layers[b], class_table=class_table)
            agreement.loc[a, b] = agreement.loc[b, a] = found.overall_agreement
            if i == 0:
                comparisons[b] = Path(config.output) / "compare" / f"{a}__{b}"
                write_comparison(found, comparisons[b], labels=(a, b), overwrite=True)
    tables = {name: class_distribution(layer, class_table=class_table)
              for name, layer in layers.items()}
    distribution = pd.concat([t.assign(variant=n) for n, t in tables.items()]).pivot_table(
        index=["code", "name"], columns="variant", values="percent", fill_value=0.0)
    minor = {name: _minor(table, config.minor_percent) for name, table in tables.items()}
    return {"agreement": agreement, "agreement_first": agreement.iloc[0].to_dict(),
            "distribution": distribution[names].reset_index().rename_axis(columns=None),
            "distribution_tables": tables, "minor": minor,
            "minor_text": {k: "; ".join(v) or "-" for k, v in minor.items()},
            "comparisons": comparisons, "maps": paths, "class_table": class_table}


def _text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if isinstance(value, float | np.floating):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def markdown_table(frame: pd.DataFrame) -> list[str]:
    """A DataFrame as Markdown table lines (numbers rounded, ``-`` for missing)."""
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * frame.shape[1]]
    return lines + ["| " + " | ".join(_text(v).replace("|", "\\|") for v in row) + " |"
                    for row in frame.astype(object).itertuples(index=False)] + [""]


def _html_rows(frame: pd.DataFrame) -> list[list]:
    """Rows for :func:`hrlc.report.html.table`: numbers (exact in ``data-value``, which the
    sort uses) and text."""
    def value(v):
        if isinstance(v, np.generic):
            v = v.item()
        return None if isinstance(v, float) and np.isnan(v) else v

    return [[value(v) for v in row] for row in frame.astype(object).itertuples(index=False)]


def write_tables(config, table: pd.DataFrame, *, maps: dict | None, records: dict) -> dict:
    """Write ``table.md``, ``table.csv``, ``table.html``, ``experiment.json`` (with maps
    also ``agreement.csv``, ``distribution.csv``, ``distribution.png``); role -> path."""
    from hrlc.io.atomic import atomic_output
    from hrlc.io.small_files import write_figure
    from hrlc.mapping.plots import distribution_figure
    from hrlc.report.html import Html, image, tag
    from hrlc.report.html import table as html_table

    out = Path(config.output)
    files = {"markdown": out / "table.md", "csv": out / "table.csv", "html": out / "table.html",
             "json": out / "experiment.json"}
    parts = [("variants", table)]
    texts = {}
    if maps:
        files.update(agreement=out / "agreement.csv", distribution=out / "distribution.csv",
                     distribution_plot=out / "distribution.png")
        write_figure(distribution_figure(maps["distribution_tables"],
                                         class_table=maps["class_table"],
                                         title="class distribution of each variant's map"),
                     files["distribution_plot"], overwrite=True)
        agreement = maps["agreement"].rename_axis("variant").reset_index()
        parts += [("map agreement (share of the pixels mapped in both with the same class)",
                   agreement),
                  (f"class distributions (% of the mapped pixels; minor classes: under "
                   f"{config.minor_percent:g} %)", maps["distribution"])]
        texts.update(agreement=agreement.to_csv(index=False),
                     distribution=maps["distribution"].to_csv(index=False))
    intro = (f"Samples {config.samples}: figures on the held-out test rows. Predicted mapping "
             "cost: kernel multiply-adds per pixel = support vectors x dims (features after "
             "PCA); µs per pixel = n_SV x (1.23 + 0.0194 x dims) / 1000 (one core, kernel "
             "only); tile CPU minutes for 10980 x 10980 px.")
    md, body = ["# hrlc experiment", "", intro, ""], [tag("h1", "hrlc experiment"), tag("p", intro)]
    for i, (title, frame) in enumerate(parts):
        md += [f"## {title}", ""] + markdown_table(frame)
        body += [tag("h2", title), html_table(list(frame.columns), _html_rows(frame),
                                              id=f"table{i}")]
    if maps:
        md += ["![class distributions](distribution.png)", ""]
        body.append(image(files["distribution_plot"].read_bytes(), alt="class distributions"))
        first = next(iter(maps["maps"]))
        md += [f"- compare-maps {first} vs {name}: [{folder.relative_to(out)}]"
               f"({folder.relative_to(out)}/summary.json)"
               for name, folder in maps["comparisons"].items()] + [""]
    texts.update(
        markdown="\n".join(md), csv=table.to_csv(index=False),
        html="<!doctype html>\n" + tag("html", tag("head", Html('<meta charset="utf-8">'),
                                                   tag("title", "hrlc experiment"),
                                                   tag("style", Html(_CSS))),
                                       tag("body", *body, tag("script", Html(_SORT_JS)))),
        json=json.dumps({"config": config.model_dump(mode="json"),
                         "table": table.to_dict(orient="records"), "records": records,
                         "maps": None if not maps else {
                             "agreement": maps["agreement"].to_dict(), "minor": maps["minor"],
                             "distribution": maps["distribution"].to_dict(orient="records"),
                             "comparisons": {k: str(v) for k, v in maps["comparisons"].items()}}},
                        indent=1, default=str))
    for role, text in texts.items():
        with atomic_output(files[role], overwrite=True) as tmp:
            tmp.write_text(text)
    return files
