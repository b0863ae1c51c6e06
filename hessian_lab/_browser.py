"""In a browser's Python (Pyodide, the site's JupyterLite): say how to load a lazy dependency.

Pyodide installs a package when a cell that imports it runs (it reads the cell's imports
first), not when a library imports it inside a function. ``hessian_lab`` imports sympy only in
its symbolic functions, so the live site does not make every reader download sympy with
``import hessian_lab`` (6.8 MB with mpmath). A reader who calls, say, ``symbolic_hessian("x**2
* y", "x y")`` in a cell that does not import sympy would get a bare "No module named
'sympy'"; this finder, last on ``sys.meta_path`` (so asked only when nothing else has the
module), turns that into what to do. Installed by ``hessian_lab/__init__.py`` on Pyodide only.
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder

#: packages the site serves that the library imports lazily
SERVED = {"sympy", "mpmath"}


class LoadItInACell(MetaPathFinder):
    """Raises a ModuleNotFoundError that names the cell to run, for a served package.

    >>> LoadItInACell().find_spec("numpy") is None      # not ours: the next finder's
    True
    >>> LoadItInACell().find_spec("sympy.matrices")
    Traceback (most recent call last):
    ...
    ModuleNotFoundError: sympy is not loaded in this browser's Python yet. Pyodide loads a \
package when a cell that imports it runs: run `import sympy` in a cell (the site serves it), \
then run this cell again.
    """

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top not in SERVED:
            return None
        raise ModuleNotFoundError(
            f"{top} is not loaded in this browser's Python yet. Pyodide loads a package when "
            f"a cell that imports it runs: run `import {top}` in a cell (the site serves it), "
            "then run this cell again.", name=top)


def install() -> None:
    """Put the finder last on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, LoadItInACell) for f in sys.meta_path):
        sys.meta_path.append(LoadItInACell())
