"""Small files (text, PNG figures) and report folders: contents, atomicity, refusals."""

import json

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from hrlc.errors import OutputExistsError
from hrlc.io.report_files import write_report_folder
from hrlc.io.small_files import write_figure, write_small_files, write_text_file

PNG = b"\x89PNG\r\n\x1a\n"


def _figure(width=4.0, height=3.0) -> Figure:
    fig = Figure(figsize=(width, height))
    ax = fig.add_subplot()
    ax.plot([0, 1], [1, 0])
    return fig


def test_text_and_figure_files(tmp_path):
    path = write_text_file("é|1\n", tmp_path / "sub" / "a.csv")
    assert path == tmp_path / "sub" / "a.csv" and path.read_bytes() == "é|1\n".encode()
    # not cropped: 4 x 3 inches at 50 dpi is 200 x 150 px
    write_figure(_figure(), tmp_path / "f.png", dpi=50, tight=False)
    with Image.open(tmp_path / "f.png") as image:
        assert image.format == "PNG" and image.size == (200, 150)
    with pytest.raises(OutputExistsError, match="already exists"):
        write_figure(_figure(), tmp_path / "f.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png", "sub"]  # no leftover


def test_several_files_written_or_none(tmp_path):
    paths = {"summary": tmp_path / "s.json", "plot": tmp_path / "p.png"}
    written = write_small_files({"summary": json.dumps({"a": 1}), "plot": _figure()}, paths)
    assert written == paths
    assert json.loads(paths["summary"].read_text()) == {"a": 1}
    assert paths["plot"].read_bytes()[:8] == PNG
    before = {p: p.stat().st_mtime_ns for p in paths.values()}
    # one existing file refuses them all, before anything is drawn or written
    paths["new"] = tmp_path / "new.txt"
    with pytest.raises(OutputExistsError, match=r"s\.json, .*p\.png already exist"):
        write_small_files({"new": "x", "summary": "{}", "plot": _figure()}, paths)
    assert not paths["new"].exists()
    assert {p: p.stat().st_mtime_ns for p in before} == before
    with pytest.raises(ValueError, match=r"content of 'new' is a ndarray; give a str"):
        write_small_files({"new": np.zeros(3)}, paths, overwrite=True)
    with pytest.raises(ValueError, match=r"no file path for \['other'\]"):
        write_small_files({"other": "x"}, paths, overwrite=True)
    assert not paths["new"].exists()
    write_small_files({"summary": "{}"}, paths, overwrite=True)
    assert paths["summary"].read_text() == "{}"


def test_report_folder_whole_or_nothing(tmp_path, monkeypatch):
    folder = tmp_path / "report"
    written = write_report_folder(folder, figures={"a.png": _figure()},
                                 texts={"report.md": "# r", "report.json": "{}"}, dpi=40)
    assert set(written) == {"a.png", "report.md", "report.json"}
    assert written["report.md"] == folder / "report.md"
    assert (folder / "report.md").read_text() == "# r"
    with Image.open(folder / "a.png") as image:
        assert image.size == (160, 120)  # 4 x 3 inches at 40 dpi, not cropped
    with pytest.raises(OutputExistsError):
        write_report_folder(folder, figures={}, texts={"report.md": "new"})

    def full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full)
    with pytest.raises(OSError, match="No space"):
        write_report_folder(folder, figures={"a.png": _figure()}, texts={"report.md": "new"},
                            overwrite=True)
    assert (folder / "report.md").read_text() == "# r"  # the old folder is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


@pytest.mark.parametrize("figures, texts, message", [
    ({}, {"../up.md": "x"}, r"plain names inside the folder, got \['../up.md'\]"),
    ({"a.png": None}, {"a.png": "x"}, r"\['a.png'\] named both as a figure and as a text"),
])
def test_report_folder_names(tmp_path, figures, texts, message):
    with pytest.raises(ValueError, match=message):
        write_report_folder(tmp_path / "r", figures=figures, texts=texts)
    assert list(tmp_path.iterdir()) == []
