"""The import structure of src/hrlc follows DESIGN.md §3, so that CI catches a regression.

Layers, from the bottom: ``errors`` (and ``versions``) -> ``config``, ``io``, ``geo`` (and
the shared ``compute`` and ``kernels`` modules) -> the stages -> ``simulate`` -> ``pipeline`` -> ``cli``. A module imports only from its own layer or
below, and no modules import each other in a cycle. Every import counts, also one inside
a function (a lazy import is still a dependency); imports under ``if TYPE_CHECKING:``
do not (they never run).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: Layer of each top-level module or package of hrlc (DESIGN.md §3); 0 is the bottom.
#: ``geo`` shares the layer of ``io`` because it works on :class:`hrlc.io.grid.Grid`.
LAYERS: dict[str, int] = {
    "errors": 0, "versions": 0, "interrupts": 0, "threads": 0,
    "config": 1, "io": 1, "geo": 1, "compute": 1, "kernels": 1,
    **dict.fromkeys(("masks", "composite", "restore", "features", "dataset", "model",
                     "mapping", "report"), 2),
    "simulate": 3, "testing": 3,
    "pipeline": 4, "benchmark": 4, "bench_suite": 4,
    "cli": 5, "__main__": 5,
}
#: Private names imported from another top-level package, known and to be removed (a new
#: one fails the test; delete an entry when it is fixed).
KNOWN_PRIVATE: set[tuple[str, str]] = set()


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under ``root/hrlc`` (a package's
    ``__init__.py`` is the package)."""
    found = {}
    for path in sorted((root / "hrlc").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for n in ast.walk(node))
    return skipped


def imports(root: Path) -> dict[str, set[str]]:
    """Module -> the hrlc modules it imports (resolved to the longest existing module:
    ``from hrlc.io.vectors import read_samples`` is ``hrlc.io.vectors``)."""
    mods = modules(root)

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_nodes(tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets.add(base)
                targets.update(f"{base}.{alias.name}" for alias in node.names)
        edges[name] = {r for t in targets if t.split(".")[0] == "hrlc"
                       for r in [resolve(t)] if r and r != name}
    return edges


def top(module: str) -> str:
    """``hrlc.io.vectors`` -> ``io``; the package itself, ``hrlc``, -> ``hrlc``."""
    return module.split(".")[1] if "." in module else module


def upward_imports(edges: dict[str, set[str]], layers: dict[str, int]) -> list[str]:
    """``a -> b`` for every import of a higher layer. The package face ``hrlc`` (its
    ``__init__`` re-exports the stages lazily, by name) is left out on both sides.

    Raises
    ------
    AssertionError
        A top-level module has no layer in ``layers``.
    """
    unknown = sorted({top(m) for m in edges if "." in m} - set(layers))
    assert not unknown, (f"no layer for {unknown}: add them to LAYERS in tests/test_layers.py "
                         "(and to DESIGN.md §3)")
    return sorted(f"{a} -> {b}" for a, targets in edges.items() if "." in a
                  for b in targets if "." in b and layers[top(b)] > layers[top(a)])


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of modules (Tarjan), leaving out a package whose
    ``__init__`` and own submodules import each other (its public face)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for v in sorted(edges):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return [g for g in found if not all(m == g[0] or m.startswith(g[0] + ".") for m in g)]


def private_imports(root: Path) -> set[tuple[str, str]]:
    """(module, imported) for every private name or private module (leading ``_``) that a
    module imports from another top-level package."""
    mods = modules(root)
    found = set()
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            if not node.module.startswith("hrlc.") or top(node.module) == top(name):
                continue
            private_module = any(p.startswith("_") for p in node.module.split("."))
            for alias in node.names:
                if private_module or alias.name.startswith("_"):
                    found.add((name, node.module if private_module else
                               f"{node.module}.{alias.name}"))
    return found


def test_no_module_imports_a_higher_layer():
    assert upward_imports(imports(SRC), LAYERS) == []


def test_no_import_cycles():
    assert cycles(imports(SRC)) == []


def test_no_new_private_names_across_packages():
    assert private_imports(SRC) - KNOWN_PRIVATE == set()


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "hrlc" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_the_checks_find_an_upward_import_a_cycle_and_a_private_name(tmp_path):
    root = _write(tmp_path, {
        "__init__.py": "",
        "errors.py": "",
        "config/__init__.py": "",
        "config/a.py": """
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from hrlc.cli.main import App   # never runs: not an import
            def lazy():
                from hrlc.features.glcm import TEXTURES   # runs: upward
            """,
        "features/__init__.py": "",
        "features/glcm.py": "from hrlc.features import indices\nfrom hrlc.io.x import _y\n",
        "features/indices.py": "from . import glcm\n",
        "io/__init__.py": "",
        "io/x.py": "_y = 1\n",
        "cli/__init__.py": "from hrlc.cli import main\n",
        "cli/main.py": "from hrlc.cli import App\nApp = 1\n",
    })
    edges = imports(root)
    assert upward_imports(edges, LAYERS) == ["hrlc.config.a -> hrlc.features.glcm"]
    # glcm <-> indices is a cycle; cli's __init__ <-> its own submodule is its face
    assert cycles(edges) == [["hrlc.features.glcm", "hrlc.features.indices"]]
    assert private_imports(root) == {("hrlc.features.glcm", "hrlc.io.x._y")}
    _write(root, {"newpart.py": ""})
    with pytest.raises(AssertionError, match=r"no layer for \['newpart'\]"):
        upward_imports(imports(root), LAYERS)


def test_loading_and_checking_the_configs_imports_no_stage():
    """``import hrlc.config`` and every stage's config, with feature names checked (custom
    index, statistics, textures, reference preset), import neither numba nor a stage."""
    code = textwrap.dedent("""
        import json, sys
        import hrlc.config
        from hrlc.config.run import RunConfig
        from hrlc.config.features import FeaturesConfig
        FeaturesConfig(custom_indices={"NDRE": "(B8A - B05) / (B8A + B05)"},
                       index_statistics=["median", "std"], glcm_textures=["entropy"])
        FeaturesConfig(preset="reference")
        try:
            FeaturesConfig(indices=["NOPE"])
        except Exception as exc:
            rejected = type(exc).__name__
        print(json.dumps({"numba": "numba" in sys.modules, "rejected": rejected,
                          "hrlc": sorted(m for m in sys.modules if m.startswith("hrlc."))}))
    """)
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code],
                          capture_output=True, text=True, check=True, cwd=SRC.parent)
    found = json.loads(done.stdout)
    assert found["rejected"] == "ValidationError"
    assert found["numba"] is False
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}  # -X importtime lists every module
    assert "hrlc.config.features" in imported
    assert not {m for m in imported if m == "numba" or m.startswith("numba.")}
    stages = [m for m in found["hrlc"] if LAYERS[top(m)] > LAYERS["config"]]
    assert stages == []


# ---- stages write no files (DESIGN.md §3, issue #18) ---------------------------------------

#: Packages whose modules are stages: they build objects and never write a file themselves.
STAGE_PACKAGES = ("masks", "composite", "restore", "features", "dataset", "model", "mapping",
                  "report", "simulate")
#: Calls that write, move or remove files whatever they are called on (``Path.write_text``,
#: ``Figure.savefig``, ``DataArray.rio.to_raster``, a file handle's ``write``...).
#: ``Path.replace`` / ``Path.rename`` cannot be told from ``str.replace`` / ``DataFrame.rename``
#: by the syntax alone: only the ``os`` functions are caught.
WRITING_CALLS = {"savefig", "write", "writelines", "write_text", "write_bytes", "to_raster",
                 "to_zarr", "to_excel", "to_pickle", "to_hdf", "to_feather", "to_file",
                 "tofile", "savez", "savez_compressed", "savetxt", "mkdir", "makedirs", "touch",
                 "unlink", "rmdir", "rmtree", "symlink_to", "hardlink_to", "folder_lock"}
#: Functions of a module that write, move or remove files: module name -> functions.
MODULE_WRITERS = {
    "os": {"replace", "rename", "renames", "remove", "link", "symlink", "truncate"},
    "shutil": {"copy", "copy2", "copyfile", "copytree", "move", "make_archive",
               "unpack_archive"},
    "np": {"save"}, "numpy": {"save"}, "json": {"dump"}, "pickle": {"dump"},
}
#: Methods that return text or bytes without a destination and write a file with one.
DESTINATION_CALLS = {"to_csv", "to_json", "to_html", "to_markdown", "to_latex", "to_string",
                     "to_xml", "to_parquet", "to_netcdf"}
DESTINATION_KEYWORDS = {"path", "path_or_buf", "path_or_buffer", "buf"}
#: Stage modules that use a writer of hrlc.io (a name ``write_*`` imported from it): public
#: entry points, documented for users, that build the objects in the stage and leave the
#: files to io. A new one fails the test: have the CLI or the pipeline call the io writer.
IO_WRITER_USERS: set[tuple[str, str]] = {
    # ModelBundle.save (README, docs/train.md, notebooks/05_train.ipynb)
    ("hrlc.model.bundle", "write_bundle_file"),
    # write_report (docs/train.md)
    ("hrlc.model.report", "write_report_folder"),
    # write_map_outputs (docs/map.md, notebooks/06_map.ipynb)
    ("hrlc.mapping.outputs", "write_map_files"),
    # write_comparison (notebooks/06_map.ipynb)
    ("hrlc.mapping.compare", "write_small_files"),
    # compute_blocks (docs/map.md): each block's write is a dask task of its graph
    ("hrlc.mapping.resume", "write_block"),
    # re-exported, not called: hrlc.dataset.write_samples (docs/dataset.md, notebooks 04, 07)
    ("hrlc.dataset", "write_samples"),
}


def _write_mode(call: ast.Call) -> bool:
    """Whether an ``open``-like call opens for writing: a mode among its first two
    positional arguments or its ``mode`` keyword holds w, a, x or +."""
    given = [*call.args[:2], *(k.value for k in call.keywords if k.arg == "mode")]
    modes = [a.value for a in given if isinstance(a, ast.Constant) and isinstance(a.value, str)
             and a.value and set(a.value) <= set("rwxabt+U")]
    return any(set(m) & set("wxa+") for m in modes)


def _writes_a_file(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        name, owner = func.id, None
    elif isinstance(func, ast.Attribute):
        name, owner = func.attr, ast.unparse(func.value)
    else:
        return False
    if "atomic" in name or name in WRITING_CALLS or name in MODULE_WRITERS.get(owner, ()):
        return True
    if name in DESTINATION_CALLS:
        return bool(call.args) or any(k.arg in DESTINATION_KEYWORDS for k in call.keywords)
    if name == "open" or name.startswith("open_"):
        return _write_mode(call)
    return False


def file_writes(root: Path, packages: tuple[str, ...] = STAGE_PACKAGES) -> list[str]:
    """``module:line call`` of every call that writes, moves or removes a file (see
    :data:`WRITING_CALLS`) in the modules of ``packages``."""
    found = []
    for name, path in modules(root).items():
        if top(name) not in packages:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _writes_a_file(node):
                found.append((name, node.lineno, ast.unparse(node.func)))
    return [f"{name}:{line} {call}" for name, line, call in sorted(found)]


def io_writer_users(root: Path, packages: tuple[str, ...] = STAGE_PACKAGES,
                    ) -> set[tuple[str, str]]:
    """(module, name) for every ``write_*`` name a module of ``packages`` imports from
    hrlc.io."""
    found = set()
    for name, path in modules(root).items():
        if top(name) not in packages:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hrlc.io"):
                found.update((name, a.name) for a in node.names if a.name.startswith("write_"))
    return found


def test_stages_write_no_files():
    assert file_writes(SRC) == []


def test_stages_use_io_writers_only_in_their_documented_entry_points():
    assert io_writer_users(SRC) - IO_WRITER_USERS == set()


def test_the_scan_finds_file_writes_and_leaves_objects_alone(tmp_path):
    root = _write(tmp_path, {
        "__init__.py": "",
        "io/__init__.py": "",
        "io/files.py": "def write_x(path):\n    open(path, 'w').write('x')\n",
        "model/__init__.py": "",
        "model/report.py": """
            import os, shutil
            import numpy as np
            from hrlc.io.atomic import atomic_output
            from hrlc.io.files import write_x, read_x
            def writes(fig, path, table, da, arrays):
                fig.savefig(path)
                path.write_text("x")
                open(path, "w")
                open(path, mode="ab")
                path.open("w")
                os.replace(path, path)
                shutil.rmtree(path)
                np.save(path, arrays)
                table.to_csv(path, index=False)
                da.rio.to_raster(path)
                with atomic_output(path) as tmp:
                    pass
            def builds(path, table, da, text):
                text.replace("|", "/")
                table.rename(columns={"a": "b"})
                da.rio.write_crs(32630)
                open(path).read()
                open(path, "rb")
                return table.to_csv(index=False), np.load(path)
            """,
    })
    assert file_writes(root) == [
        f"hrlc.model.report:{line} {call}" for line, call in (
            (7, "fig.savefig"), (8, "path.write_text"), (9, "open"), (10, "open"),
            (11, "path.open"), (12, "os.replace"), (13, "shutil.rmtree"), (14, "np.save"),
            (15, "table.to_csv"), (16, "da.rio.to_raster"), (17, "atomic_output"))]
    assert io_writer_users(root) == {("hrlc.model.report", "write_x")}
    assert file_writes(root, ("io",)) == ["hrlc.io.files:2 open",
                                          "hrlc.io.files:2 open(path, 'w').write"]


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["info", "RUN"], ["report", "--help"]])
def test_the_cli_answers_without_importing_dask(argv, tmp_path):
    """``hrlc --version``, ``--help``, ``info`` of a run folder and a command's help import
    neither dask nor xarray (``hrlc`` and ``hrlc.io`` import their parts on first use): they
    answer in a fraction of a second."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"format": "hrlc-run", "stages": {}}))
    code = textwrap.dedent(f"""
        import json, sys
        from hrlc.cli import main
        code = 0
        try:
            main({[str(run) if a == "RUN" else a for a in argv]!r})
        except SystemExit as exc:
            code = exc.code
        print(json.dumps({{"code": code, "heavy": sorted(m for m in ("dask", "xarray", "rasterio")
                                                       if m in sys.modules)}}))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=SRC.parent)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"code": 0, "heavy": []}, done.stderr


def test_a_stage_brings_the_imports_it_uses():
    """A stage module works in a fresh interpreter on its own: ``build_features`` with a DEM
    uses the ``.rio`` accessor, which exists only once ``rioxarray`` is imported (it
    failed with AttributeError when nothing else had imported it)."""
    code = ("from hrlc.features.catalog import preset_names\n"
            "print(len(preset_names('reference')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=SRC.parent)
    assert done.returncode == 0 and done.stdout.split()[-1] == "167", done.stderr
