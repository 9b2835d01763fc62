"""Read the products of an ``hrlc run`` folder and write its report, ``OUT/report.html``.

The page itself is built by :func:`hrlc.report.build_report_html` from what
:func:`read_run_products` reads; only this module touches the files.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from hrlc.errors import CorruptFileError, InputError
from hrlc.io.atomic import atomic_output
from hrlc.io.manifest import ManifestError, load_manifest
from hrlc.report import RunProducts, build_report_html

#: Name of the report in the run folder.
REPORT = "report.html"

#: Products of a run folder that the report reads, by role (paths relative to the folder;
#: the map files are those of :data:`hrlc.io.map_files.MAP_FILES`).
RUN_FILES: dict[str, str] = {
    "manifest": "manifest.json",
    "training": "model/report.json",
    "reliability_png": "model/reliability.png",
    "samples": "dataset/samples.json",
    "mask_summary": "masks/summary.csv",
    "composite_summary": "composites_summary.json",
    "restore_summary": "restored_summary.json",
}


def _bytes(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def _json(path: Path):
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"{path} is not valid JSON ({exc}); rerun the stage that "
                               "wrote it (hrlc run resumes and redoes it)") from None


def _csv(path: Path, *, numeric: dict[str, type] | None = None,
         text: tuple[str, ...] = ()) -> list[dict] | None:
    """Rows of a CSV file; columns in ``numeric`` converted by their type, columns in
    ``text`` kept as strings, every other column converted to float."""
    if not path.is_file():
        return None
    numeric = numeric or {}
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return [{key: value if key in text else numeric.get(key, float)(value)
                     for key, value in row.items()} for row in csv.DictReader(handle)]
    except (ValueError, TypeError) as exc:
        raise CorruptFileError(f"{path} has a value that is not a number ({exc}); rerun the "
                               "stage that wrote it") from None


def _class_table(folder: Path, training: dict | None, samples: dict | None) -> dict:
    """Code -> {"name", "colour"}: the map's own (the colours of its quick-look), else the
    model's, else the training set's."""
    from hrlc.io.map_files import MAP_FILES, read_class_table

    classes = folder / "map" / MAP_FILES["classes"]
    if classes.is_file():
        found = read_class_table(classes)
        if found:
            return found
    if training:
        return {int(k): v for k, v in training["bundle"].get("class_table", {}).items()}
    if samples:
        return {int(c["code"]): {"name": c["name"], "colour": c.get("colour")}
                for c in samples.get("classes", [])}
    return {}


def read_manifest_of(folder: str | os.PathLike) -> dict:
    """The manifest of a run folder, or a one-line error saying why it is not one.

    Raises
    ------
    InputError
        ``folder`` does not exist or holds no ``manifest.json`` of ``hrlc run``.
        ``manifest.json`` is damaged (not JSON, or of the wrong shape).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder; give the output folder of hrlc run "
                         "(the one that holds manifest.json)")
    path = folder / RUN_FILES["manifest"]
    if not path.is_file():
        raise InputError(f"{folder} is not a run folder of hrlc run: it holds no manifest.json "
                         "written by hrlc run; give the folder named by 'output:' in the run "
                         "configuration")
    try:
        manifest = load_manifest(path)
    except ManifestError as exc:
        raise InputError(f"{path} is damaged ({exc}); rerun 'hrlc run' with the same config "
                         "to rebuild it") from None
    if "tiles" in manifest:
        reports = ", ".join(str(Path(t["output"]) / "report.html")
                            for t in manifest["tiles"].values())
        raise InputError(f"{folder} is a run with tiles: each tile has its own run folder and "
                         f"report ({reports}); give a tile's folder")
    return manifest


def read_run_products(folder: str | os.PathLike) -> RunProducts:
    """Everything the report shows, read from a run folder (absent products are None).

    Raises
    ------
    InputError
        ``folder`` is not a run folder (see :func:`read_manifest_of`).
    CorruptFileError
        A product exists but cannot be read.
    """
    from hrlc.io.map_files import MAP_FILES

    folder = Path(folder)
    manifest = read_manifest_of(folder)
    map_dir = folder / "map"
    training = _json(folder / RUN_FILES["training"])
    samples = _json(folder / RUN_FILES["samples"])
    return RunProducts(
        name=str(folder),
        manifest=manifest,
        class_table=_class_table(folder, training, samples),
        quicklook_png=_bytes(map_dir / MAP_FILES["quicklook"]),
        distribution=_csv(map_dir / MAP_FILES["distribution"],
                          numeric={"code": int, "pixels": int}, text=("name",)),
        distribution_png=_bytes(map_dir / MAP_FILES["distribution_plot"]),
        training=training,
        reliability_png=_bytes(folder / RUN_FILES["reliability_png"]),
        samples=samples,
        mask_summary=_csv(folder / RUN_FILES["mask_summary"], text=("product", "date")),
        composite_summary=_json(folder / RUN_FILES["composite_summary"]),
        restore_summary=_json(folder / RUN_FILES["restore_summary"]),
    )


def write_run_report(folder: str | os.PathLike, output: str | os.PathLike | None = None, *,
                     overwrite: bool = True) -> Path:
    """Write the run report of a run folder: one self-contained HTML page.

    Parameters
    ----------
    folder : path
        Output folder of ``hrlc run`` (holds ``manifest.json``).
    output : path, optional
        The HTML file; default ``folder/report.html``.
    overwrite : bool
        Replace an existing file (default: the report is redone whenever the run is).

    Returns
    -------
    Path of the report, written atomically.
    """
    html = build_report_html(read_run_products(folder))
    path = Path(output) if output is not None else Path(folder) / REPORT
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return path
