"""What a run folder holds, already read: the input of the run report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hrlc.report.html import Html, note


@dataclass(frozen=True)
class RunProducts:
    """The products of one ``hrlc run`` folder that the report shows.

    Read by :func:`hrlc.pipeline.report.read_run_products`; a product is None when its
    stage did not run (or its file is absent).

    Attributes
    ----------
    name : str
        The run folder, as shown in the title.
    manifest : mapping
        ``manifest.json``: config, scenes, inputs, software, ``stages`` (per stage:
        status, seconds, peak_rss_mb in MiB, outputs with bytes).
    class_table : mapping code -> {"name", "colour"}, optional
        Class names and colours (CSS colour strings).
    quicklook_png, distribution_png, reliability_png : bytes, optional
        PNG files: ``map/quicklook.png``, ``map/distribution.png``, ``model/reliability.png``.
    distribution : sequence of dict, optional
        Rows of ``map/distribution.csv``: code (int), name, pixels (int), area_ha (ha),
        percent (% of the mapped area).
    training : mapping, optional
        ``model/report.json`` of the train stage (variants with test/eval metrics,
        bundle, data, areas).
    samples : mapping, optional
        ``dataset/samples.json`` (strategy, counts per class, source and split).
    mask_summary : sequence of dict, optional
        Rows of ``masks/summary.csv``: product, date, then shares 0-1 (``cloud %``...).
    composite_summary, restore_summary : sequence of dict, optional
        Per-month gap tables (``composites_summary.json``, ``restored_summary.json``):
        month, then shares 0-1 for the keys ending in ``%``.
    """

    name: str
    manifest: Mapping
    class_table: Mapping[int, Mapping] | None = None
    quicklook_png: bytes | None = None
    distribution: Sequence[Mapping] | None = None
    distribution_png: bytes | None = None
    training: Mapping | None = None
    reliability_png: bytes | None = None
    samples: Mapping | None = None
    mask_summary: Sequence[Mapping] | None = None
    composite_summary: Sequence[Mapping] | None = None
    restore_summary: Sequence[Mapping] | None = None


def stage_note(manifest: Mapping, stage: str) -> Html:
    """Why a stage's products are absent: not run, failed, or outputs removed since."""
    record = manifest.get("stages", {}).get(stage)
    if record is None:
        return note(f"stage not run: '{stage}' is not among this run's stages")
    if record.get("status") == "failed":
        return note(f"stage '{stage}' failed (exit code {record.get('exit_code', '?')}); "
                    "fix the cause and rerun the same hrlc run command")
    return note(f"stage '{stage}' ran, but its outputs are no longer in the run folder")
