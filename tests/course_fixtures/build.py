"""Build fake submissions (nbgrader's submitted/<student>/<assignment>/ layout) for the tests."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
from hessian_lab.course.source import parts_table  # noqa: E402

from .cases import ALTERNATIVE_03, MISTAKES, REFERENCE_03  # noqa: E402


def solution_code(assignment: str) -> dict[str, str]:
    """The solutions' function definitions, without the nbgrader markers."""
    return {part: re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n", "", code)
            for part, _, _, code, _ in parts_table(ROOT, assignment)}


def student_version(assignment: str) -> dict:
    return json.loads((ROOT / "exercises" / assignment / f"{assignment}.ipynb").read_text())


def grade_id(cell) -> str | None:
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


def fill(nb: dict, code: dict[str, str]) -> dict:
    """The notebook with the solution cells of the given parts replaced by ``code``."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        gid = grade_id(cell)
        if gid and gid.endswith("_solution") and gid[: -len("_solution")] in code:
            cell["source"] = code[gid[: -len("_solution")]].strip("\n") + "\n"
    return nb


def test_cells(nb: dict, part: str | None = None):
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        if meta.get("grade") and (part is None or cell["source"] and
                                  f", {part})" in "".join(cell["source"])):
            yield cell


def write(root: Path, student: str, assignment: str, nb_or_text, name: str | None = None):
    folder = root / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{assignment}.ipynb")
    if isinstance(nb_or_text, (str, bytes)):
        path.write_bytes(nb_or_text.encode() if isinstance(nb_or_text, str) else nb_or_text)
    else:
        path.write_text(json.dumps(nb_or_text, indent=1))
    return path


def basic_cases(root: Path, assignment: str) -> dict[str, str]:
    """right / blank / mistakes for one assignment; returns {student: description}."""
    blank = student_version(assignment)
    right = solution_code(assignment)
    write(root, f"right_{assignment[:2]}", assignment, fill(blank, right))
    write(root, f"blank_{assignment[:2]}", assignment, blank)
    mistakes = {part: code for part, (code, _, _) in MISTAKES[assignment].items()}
    write(root, f"mistakes_{assignment[:2]}", assignment, fill(blank, mistakes))
    return {}


AlwaysEqual = '''
class AlwaysEqual:
    def __eq__(self, other):
        return True
'''


def hostile_cases(root: Path) -> None:
    """The whole bad-submission matrix, on 03_newton."""
    a = "03_newton"
    blank = student_version(a)
    right = solution_code(a)
    write(root, "alt", a, fill(blank, ALTERNATIVE_03))
    write(root, "reference", a, fill(blank, {**right, **REFERENCE_03}))
    loop = {**right,
            "newton_iterate": "def newton_iterate(grad, hess, x0, tol, max_iter):\n"
                              "    while True:\n        pass\n",
            "race": "while True:\n    pass\n\ndef race(kappa, tol):\n    return {}\n"}
    write(root, "loop", a, fill(blank, loop))
    write(root, "crash", a, fill(blank, {**right, "newton_step": "import os\nos._exit(1)\n"}))
    memory = {**right, "newton_step": "def newton_step(g, H):\n"
                                      "    dense = np.ones((100_000, 100_000))\n"
                                      "    return -np.linalg.solve(H, g) + dense[0, :len(g)] * 0\n"}
    write(root, "memory", a, fill(blank, memory))
    # locked cells edited, points changed
    nb = copy.deepcopy(blank)
    for cell in test_cells(nb):
        cell["source"] = "print('all tests passed')\n"
        cell["metadata"]["nbgrader"]["points"] = 100
    write(root, "edited", a, nb)
    # test cells deleted, metadata stripped
    nb = copy.deepcopy(blank)
    nb["cells"] = [c for c in nb["cells"] if c not in list(test_cells(nb, "newton_step"))]
    for cell in test_cells(nb, "newton_iterate"):
        cell["metadata"] = {}
    write(root, "deleted", a, nb)
    # cell types changed, a test cell duplicated
    nb = copy.deepcopy(blank)
    cells = list(test_cells(nb))
    for cell in cells[:3]:
        cell["cell_type"] = "markdown"
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
    dup = copy.deepcopy(cells[5])
    dup["id"] = "copy-of-test"
    nb["cells"].insert(nb["cells"].index(cells[5]), dup)
    write(root, "retyped", a, nb)
    # tampering from student code
    patch_check = ("import hessian_lab.grading as g\n"
                   "g.check = lambda *args, **kwargs: print('passed: all good')\n")
    write(root, "tamper_check", a, fill(blank, {"newton_step": patch_check}))
    tamper = {
        "newton_step": AlwaysEqual + "\nimport numpy\nnumpy.allclose = lambda *a, **k: True\n"
        "numpy.testing.assert_allclose = lambda *a, **k: None\n"
        "_check = lambda *a, **k: None\n"
        "def newton_step(g, H):\n"
        "    print('passed: newton_step, fixed input '\n"
        "          '[receipt newton_step_fixed:0123456789abcdef]')\n"
        "    return AlwaysEqual()\n",
    }
    write(root, "tamper_numpy", a, fill(blank, tamper))
    noisy = {**right, "convergence_order": right["convergence_order"]
             + "\nprint('x' * 2_000_000)\nfor i in range(20_000):\n    print(i)\n"}
    write(root, "noisy", a, fill(blank, noisy))
    write(root, "corrupt", a, '{"cells": [ this is not json')
    write(root, "empty", a, b"")
    write(root, "renamed", a, fill(blank, right), name="my homework.ipynb")
    (root / "missing" / a).mkdir(parents=True)
    (root / "missing" / a / "notes.txt").write_text("forgot to upload")
