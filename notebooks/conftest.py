"""Each notebook is a test: its code cells run in order, in this folder, and an error in
any cell fails it (what ``pytest --nbmake`` checks).

The cells run in the pytest process, in an IPython shell (magics such as ``%matplotlib
inline`` work as in Jupyter), not in a Jupyter kernel of their own: a kernel spent about
1 CPU-s starting and 3 CPU-s importing the libraries that the test process has imported
already, 28 CPU-s for the seven notebooks. Each notebook gets a namespace of its own, and
the matplotlib backend and settings it changes, pandas' display options, the
``__main__`` module and the builtins are put back after it.
"""

from __future__ import annotations

import functools
import json

import pytest


@functools.cache
def _shell():
    """The IPython shell of this process, with a history kept in memory only (as nbmake's
    kernels) and the inline matplotlib backend allowed (as in a Jupyter kernel, it needs
    no GUI event loop)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class NotebookShell(InteractiveShell):
        def enable_gui(self, gui=None):
            """No event loop to start for ``%matplotlib inline``."""

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    return NotebookShell.instance(config=config)


def _kernel_builtins() -> dict:
    """The names IPython adds to the builtins when its first shell starts."""
    from IPython.display import display

    return {"__IPYTHON__": True, "display": display}


class NotebookFile(pytest.File):
    def collect(self):
        yield NotebookItem.from_parent(self, name=self.path.name)


class NotebookItem(pytest.Item):
    def runtest(self):
        import builtins
        import sys

        import matplotlib
        import matplotlib.pyplot as plt
        import pandas as pd

        cells = [("".join(cell["source"]), index) for index, cell in
                 enumerate(json.loads(self.path.read_text(encoding="utf-8"))["cells"])
                 if cell["cell_type"] == "code"]
        # IPython puts a module of its own in place of __main__ (as a kernel does), which
        # has no __spec__: multiprocessing's spawn (a LocalCluster's workers) fails on it;
        # and it adds a kernel's builtins: set for the notebook, gone after it, so that no
        # library of a later test believes it runs in IPython
        main_module, backend = sys.modules["__main__"], matplotlib.get_backend()
        kernel_builtins = {name: value for name, value in _kernel_builtins().items()
                           if not hasattr(builtins, name)}
        with pytest.MonkeyPatch.context() as patch, matplotlib.rc_context():
            patch.chdir(self.path.parent)  # nbmake runs a notebook in its folder
            try:
                for name, value in kernel_builtins.items():
                    setattr(builtins, name, value)
                shell = _shell()
                shell.reset(new_session=False)  # a namespace of its own
                for source, index in cells:
                    result = shell.run_cell(source, store_history=False, silent=False)
                    if not result.success:
                        self.failed_cell = (index, source)
                        result.raise_error()
            finally:
                sys.modules["__main__"] = main_module
                for name in kernel_builtins:
                    if hasattr(builtins, name):
                        delattr(builtins, name)
                plt.close("all")
                matplotlib.use(backend)
                pd.reset_option("display")  # e.g. the column width a notebook set

    def repr_failure(self, excinfo):
        index, source = getattr(self, "failed_cell", (None, ""))
        return (f"{self.path.name}, cell {index}:\n{source}\n\n"
                f"{excinfo.getrepr(style='short')}")

    def reportinfo(self):
        return self.path, 0, f"notebook {self.path.name}"


def pytest_collect_file(parent, file_path):
    if file_path.suffix == ".ipynb":
        return NotebookFile.from_parent(parent, path=file_path)
    return None
