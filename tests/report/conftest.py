"""A small real run folder (the whole chain on a simulated season) and a reader of the
report's tables, shared by the report tests."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
import yaml

#: Side (px) and number of scenes of the simulated season: the whole chain in under a minute.
SIZE, DATES = 126, 3


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory):
    """``hrlc run`` of every stage on a simulated season of 3 scenes, 126 x 126 px."""
    from hrlc.config.run import RunConfig
    from hrlc.io.safe_writer import write_series
    from hrlc.pipeline import run_chain
    from hrlc.simulate import simulate_series

    root = tmp_path_factory.mktemp("report-run")
    products = root / "products"
    series = simulate_series(size=SIZE, dates=DATES, seed=7, start="2019-03-01", chunks=SIZE)
    write_series(series, products, format="geotiff")
    truth = products / "truth"
    classes = yaml.safe_load((truth / "classes.yaml").read_text())["classes"]
    mapping = truth / "landcover_mapping.yaml"
    mapping.write_text(yaml.safe_dump({"mapping": {c["code"]: c["name"] for c in classes},
                                       "ignore": [0]}))
    config = RunConfig.model_validate({
        "output": str(root / "run"), "sources": [str(products)], "dem": str(truth / "dem.tif"),
        "chunks": SIZE, "classes": str(truth / "classes.yaml"),
        "lc_maps": [{"path": str(truth / "landcover.tif"), "mapping": str(mapping)}],
        "restore": {"interpolate": {"reach": 2}},
        "features": {"bands": [], "index_months": [],
                     "index_statistics": ["median", "min", "max"], "glcm_textures": []},
        "dataset": {"strategy": "fulllc", "lc_per_class": 60, "lc_erosion": 1,
                    "block_size": 300, "min_per_class": 10, "drop_small_classes": True},
        "train": {"C": [10], "gamma_factors": [1.0], "compare": [], "cv_folds": 2},
    })
    run_chain(config, echo=lambda _: None)
    return root / "run"


class _Tables(HTMLParser):
    """Cells of every table with an id: (text, data-value or None) per cell, per row."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str | None]]]] = {}
        self.images: list[dict] = []
        self._table = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "id" in attrs:
            self._table = self.tables.setdefault(attrs["id"], [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = ["", attrs.get("data-value")]
        elif tag == "img":
            self.images.append(attrs)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0] += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._table[-1].append((self._cell[0].strip(), self._cell[1]))
            self._cell = None
        elif tag == "table":
            self._table = None


def parse_report(html: str) -> _Tables:
    """The tables (by id, header row first) and the ``<img>`` attributes of a report."""
    parser = _Tables()
    parser.feed(html)
    return parser


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """``hrlc ARGS`` in this process: (exit code, stdout, stderr)."""
    from hrlc.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
        raise SystemExit(0)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def values(row: list[tuple[str, str | None]]) -> list:
    """A table row as values: the exact number of a cell when it has one, else its text."""
    return [float(v) if v is not None else text for text, v in row]
