"""Atomic writers of small files: text (JSON, CSV, Markdown, HTML) and PNG figures.

The stages build the contents (strings, matplotlib figures) and return them; these
functions put them on disk, each file under a temporary name renamed when complete
(:func:`hrlc.io.atomic.atomic_output`, which holds the lock of the folder written into).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hrlc.errors import OutputExistsError
from hrlc.io.atomic import atomic_output

#: Resolution of the PNG figures, dots per inch.
FIGURE_DPI = 100


def refuse_existing(paths: Iterable[str | os.PathLike], *, overwrite: bool,
                    fix: str = "pass --overwrite (overwrite=True) to replace them, or choose "
                               "another output") -> None:
    """Raise :class:`OutputExistsError` naming the ``paths`` that exist, unless
    ``overwrite``; ``fix`` is the advice that ends the message."""
    existing = [str(p) for p in paths if Path(p).exists()]
    if existing and not overwrite:
        raise OutputExistsError(f"{', '.join(existing)} already exist(s); {fix}")


def save_png(figure: Any, target: str | os.PathLike, *, dpi: int = FIGURE_DPI,
             tight: bool = True) -> None:
    """Save a matplotlib ``Figure`` as PNG to ``target`` (not atomic: give a temporary
    path). ``tight``: crop to the drawn content, so that a legend beside the axes and the
    axis labels stay in the picture."""
    options = {"bbox_inches": "tight", "pad_inches": 0.15} if tight else {}
    figure.savefig(target, format="png", dpi=dpi, **options)


def write_figure(figure: Any, path: str | os.PathLike, *, dpi: int = FIGURE_DPI,
                 tight: bool = True, overwrite: bool = False) -> Path:
    """Write a matplotlib ``Figure`` as a PNG file, atomically; returns ``path``.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.
    """
    with atomic_output(path, overwrite=overwrite) as tmp:
        save_png(figure, tmp, dpi=dpi, tight=tight)
    return Path(path)


def write_text_file(text: str, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path``, atomically; returns ``path``."""
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_small_files(contents: Mapping[str, Any], paths: Mapping[str, str | os.PathLike], *,
                      overwrite: bool = False) -> dict[str, Path]:
    """Write several small files, each atomically: ``contents`` maps a role to a string
    (written as UTF-8 text) or a matplotlib ``Figure`` (written as PNG), ``paths`` the
    same roles to their files.

    Nothing is written when one of the files exists and ``overwrite`` is false.

    Returns
    -------
    dict role -> Path, in the order of ``contents``.

    Raises
    ------
    OutputExistsError
        A file exists and ``overwrite`` is false (raised before anything is written).
    ValueError
        A role of ``contents`` has no path, or a content is neither text nor a figure.
    """
    missing = sorted(set(contents) - set(paths))
    if missing:
        raise ValueError(f"no file path for {missing}; give a path for every role of the "
                         f"contents (paths has {sorted(paths)})")
    for role, content in contents.items():
        if not (isinstance(content, str) or hasattr(content, "savefig")):
            raise ValueError(f"content of {role!r} is a {type(content).__name__}; give a str "
                             "(text file) or a matplotlib Figure (PNG)")
    refuse_existing([paths[role] for role in contents], overwrite=overwrite)
    return {role: write_text_file(content, paths[role], overwrite=overwrite)
            if isinstance(content, str) else
            write_figure(content, paths[role], overwrite=overwrite)
            for role, content in contents.items()}
