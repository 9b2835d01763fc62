"""A report folder (texts and PNG figures) written whole or not at all.

The stage builds the report (Markdown, HTML and JSON texts, matplotlib figures, see
:func:`hrlc.model.report.report_files`); :func:`write_report_folder` writes them into a
temporary folder that is renamed to the final one when every file is complete
(:func:`hrlc.io.atomic.atomic_output`, under the lock of the parent folder).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hrlc.io.atomic import atomic_output
from hrlc.io.small_files import save_png


def _check_names(names: list[str]) -> None:
    bad = [n for n in names if not n or Path(n).name != n or n in (".", "..")]
    if bad:
        raise ValueError(f"report file names must be plain names inside the folder, got "
                         f"{bad}; give names such as 'report.md' or 'confusion.png'")


def write_report_folder(folder: str | os.PathLike, *, figures: Mapping[str, Any],
                        texts: Mapping[str, str], dpi: int = 110,
                        overwrite: bool = False) -> dict[str, Path]:
    """Write a report folder: the ``figures`` (file name -> matplotlib ``Figure``, as PNG
    at ``dpi`` dots per inch), then the ``texts`` (file name -> UTF-8 text).

    The folder is written whole or not at all (a temporary folder renamed at the end).

    Returns
    -------
    dict
        Name -> path of every file written.

    Raises
    ------
    OutputExistsError
        ``folder`` exists and ``overwrite`` is false.
    ValueError
        A name is not a plain file name, or names a figure and a text.
    """
    _check_names([*figures, *texts])
    both = sorted(set(figures) & set(texts))
    if both:
        raise ValueError(f"{both} named both as a figure and as a text; give each file one "
                         "content")
    folder = Path(folder)
    with atomic_output(folder, overwrite=overwrite) as tmp:
        tmp.mkdir(parents=True)
        for name, figure in figures.items():
            save_png(figure, tmp / name, dpi=dpi, tight=False)
        for name, text in texts.items():
            (tmp / name).write_text(text, encoding="utf-8")
        written = {p.name: folder / p.name for p in tmp.iterdir()}
    return written
