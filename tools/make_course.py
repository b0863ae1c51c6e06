"""Write the nbgrader source notebooks ``solutions/<assignment>/<assignment>.ipynb``.

The notebooks are committed; this script is how they were made and how to remake them after
changing ``tools/course_parts.py`` (the parts, instructions, solutions and points) or the
tests registered in :mod:`hessian_lab.grading`. Then ``make exercises`` regenerates the
student versions in ``exercises/``.

    .venv/bin/python tools/make_course.py          # write all five
    .venv/bin/python tools/make_course.py --check  # exit 1 if a notebook differs
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from course_parts import ASSIGNMENT_INFO, PARTS  # noqa: E402

from hessian_lab.grading import ASSIGNMENTS, forbidden_routines, test_catalogue  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _nbgrader(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _code(cell_id, source, nbgrader=None):
    metadata = {}
    if nbgrader is not None:
        metadata["nbgrader"] = nbgrader
        if nbgrader["locked"]:
            metadata["deletable"] = False
            metadata["editable"] = False
    return {"cell_type": "code", "execution_count": None, "id": cell_id,
            "metadata": metadata, "outputs": [], "source": _lines(source.rstrip("\n"))}


def _markdown(cell_id, source, grade_id=None):
    metadata = {}
    if grade_id:
        metadata = {"deletable": False, "editable": False,
                    "nbgrader": _nbgrader(grade_id, locked=True)}
    return {"cell_type": "markdown", "id": cell_id, "metadata": metadata,
            "source": _lines(source.rstrip("\n"))}


def setup_source(assignment: str) -> str:
    imports = "\n".join(f"import {module}" for module in ASSIGNMENT_INFO[assignment][2])
    return (
        "# Grading setup (locked; restored when graded). Run it first: Kernel > Restart & Run "
        "All.\n"
        f"{imports}\n"
        "from hessian_lab.grading import check as _check\n"
        "from hessian_lab.grading import setup\n\n"
        f'setup("{assignment}")\n'
    )


HOW_TO = (
    "**How this works.** Write each function in the cell marked `YOUR CODE HERE` (replace "
    "`raise NotImplementedError()`). The locked cells after it are the tests: run them to "
    "check your work; a failing test says what went wrong and, often, the likely mistake. "
    "Some tests are hidden: they run only when your notebook is graded, on inputs drawn "
    "then, so write the general function, not one that fits the visible cases. Calling "
    "`hessian_lab`'s own implementation of the function you are asked to write earns no "
    "credit for that part. Before submitting: Kernel > Restart & Run All."
)


def test_source(test_id: str, function: str, hidden: bool) -> str:
    call = f'_check("{test_id}", {function})'
    head = "from hessian_lab.grading import check as _check\n\n"
    if hidden:
        return (head + "# A hidden test: it runs when the notebook is graded.\n"
                "### BEGIN HIDDEN TESTS\n" + call + "\n### END HIDDEN TESTS\n")
    return head + call + "\n"


def build(assignment: str) -> dict:
    title, intro, _ = ASSIGNMENT_INFO[assignment]
    catalogue = test_catalogue()
    registered = {k for k, v in catalogue.items() if v["assignment"] == assignment}
    used = set()
    cells = [
        _code("setup", setup_source(assignment),
              _nbgrader("setup", locked=True)),
        _markdown("intro", f"# {title}\n\n{intro}\n\n{HOW_TO}", grade_id="intro"),
    ]
    for part, heading, text, solution, tests in PARTS[assignment]:
        points = sum(p for _, p in tests)
        listing = ", ".join(
            f"{catalogue[t]['title'].split(', ', 1)[-1].removesuffix(' (hidden)')} "
            f"({p} pt{'s' if p > 1 else ''}"
            + (", hidden" if catalogue[t]["hidden"] else "") + ")" for t, p in tests)
        rule = ""
        if forbidden_routines(part):
            rule = ("\n\nNot allowed in this part (calling one, however its name is reached, "
                    "earns the part no credit): "
                    + ", ".join(f"`{name}`" for name in forbidden_routines(part)) + ".")
        cells.append(_markdown(f"{part}-text",
                               f"## {heading} ({points} points)\n\n{text}{rule}\n\n"
                               f"Tests: {listing}.",
                               grade_id=f"{part}_text"))
        cells.append(_code(f"{part}-solution", solution,
                           _nbgrader(f"{part}_solution", solution=True)))
        for test_id, pts in tests:
            info = catalogue[test_id]
            if info["assignment"] != assignment or info["part"] != part:
                raise SystemExit(f"{test_id} is registered for {info['assignment']}/"
                                 f"{info['part']}, not {assignment}/{part}")
            used.add(test_id)
            cells.append(_code(test_id.replace("_", "-"),
                               test_source(test_id, part, info["hidden"]),
                               _nbgrader(test_id, grade=True, locked=True, points=pts)))
    if used != registered:
        raise SystemExit(f"{assignment}: tests without a cell: {sorted(registered - used)}")
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": KERNELSPEC,
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def render(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if a committed notebook differs")
    args = parser.parse_args(argv)
    stale = []
    for assignment in ASSIGNMENTS:
        path = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
        text = render(build(assignment))
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(ROOT)))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("out of date (run tools/make_course.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
