"""Read an assignment's source notebook into its parts.

A source notebook (``solutions/<assignment>/<assignment>.ipynb``) is, in order:

1. the locked **setup** cell (``grade_id`` ``setup``) that calls ``setup("<assignment>")``;
2. the locked **intro** markdown cell;
3. for each part, named after the function the student writes:
   * a locked markdown cell ``<part>_text`` with the heading ``## ... (N points)``, the
     instructions and the list of tests;
   * the solution cell ``<part>_solution``, its answer between ``### BEGIN SOLUTION`` and
     ``### END SOLUTION``;
   * one locked, graded test cell per test id, ``_check("<test id>", <part>)``, hidden tests
     between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``.

This module only reads; :mod:`hessian_lab.course.check` says whether a notebook follows the
rules.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
CHECK_CALL = re.compile(r'_check\(\s*"([A-Za-z0-9_]+)"\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)')


@dataclass
class Test:
    """One graded test cell."""

    test_id: str
    points: float
    hidden: bool
    cell_index: int


@dataclass
class Part:
    """One part of an assignment: the function a student writes and its tests."""

    name: str
    heading: str = ""
    text: str = ""
    solution: str = ""
    tests: list[Test] = field(default_factory=list)

    @property
    def points(self) -> float:
        return sum(t.points for t in self.tests)

    def solution_code(self) -> str:
        """The solution cell without nbgrader's markers: the instructor's working answer."""
        return re.sub(r"[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", "", self.solution)


@dataclass
class Assignment:
    name: str
    path: Path
    notebook: dict
    parts: dict[str, Part]

    @property
    def points(self) -> float:
        return sum(p.points for p in self.parts.values())

    def test_points(self) -> dict[str, float]:
        return {t.test_id: t.points for p in self.parts.values() for t in p.tests}


def nbgrader_meta(cell: dict) -> dict:
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def source_text(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def source_path(course: Path, assignment: str) -> Path:
    return Path(course) / "solutions" / assignment / f"{assignment}.ipynb"


def assignments(course: Path) -> list[str]:
    """The assignments of a course: the folders of ``solutions/`` holding their notebook."""
    root = Path(course) / "solutions"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and (p / f"{p.name}.ipynb").exists())


def read_assignment(course: Path, assignment: str) -> Assignment:
    """Parse ``solutions/<assignment>/<assignment>.ipynb`` into its parts (in notebook order).

    A part is found from its cells' grade ids (``<part>_text``, ``<part>_solution``) and from
    the function each test cell passes to ``_check``. Malformed cells are left for the checker
    to report; reading never raises for them.
    """
    path = source_path(course, assignment)
    notebook = json.loads(path.read_text(encoding="utf-8"))
    parts: dict[str, Part] = {}
    for index, cell in enumerate(notebook.get("cells", [])):
        meta = nbgrader_meta(cell)
        grade_id = meta.get("grade_id", "")
        text = source_text(cell)
        if cell.get("cell_type") == "markdown" and grade_id.endswith("_text"):
            part = parts.setdefault(grade_id[: -len("_text")], Part(grade_id[: -len("_text")]))
            first, _, rest = text.partition("\n")
            part.heading, part.text = first.lstrip("# ").strip(), rest.strip()
        elif meta.get("solution") and grade_id.endswith("_solution"):
            name = grade_id[: -len("_solution")]
            parts.setdefault(name, Part(name)).solution = text
        elif meta.get("grade") and cell.get("cell_type") == "code":
            match = CHECK_CALL.search(text)
            if match is None:
                continue
            part = parts.setdefault(match.group(2), Part(match.group(2)))
            part.tests.append(Test(grade_id, meta.get("points", 0), HIDDEN_MARKERS[0] in text,
                                   index))
    return Assignment(assignment, path, notebook, parts)


def parts_table(course: Path, assignment: str) -> list[tuple[str, str, str, str, list]]:
    """The parts as ``(name, heading, instructions, solution cell, [(test id, points), ...])``,
    in notebook order: what the course tests and the fixture builder read from the source."""
    return [(p.name, p.heading, p.text, p.solution, [(t.test_id, t.points) for t in p.tests])
            for p in read_assignment(course, assignment).parts.values()]
