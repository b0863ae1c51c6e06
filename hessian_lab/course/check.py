"""The course checker: the authoring rules a source notebook must follow.

``curvature-lab check-course`` (``make check-course``; the tests run it) reads every
``solutions/<assignment>/<assignment>.ipynb`` and reports, cell by cell, what breaks a rule:

* the first cell is the locked setup cell calling ``setup("<assignment>")``;
* cell ids and nbgrader grade ids are unique; nbgrader metadata is schema version 3;
* the notebook is saved without outputs (nbgrader strips them from the student version, but
  outputs in the source leak an instructor's run into the repository);
* each part has its instructions (a locked ``<part>_text`` markdown cell), then its solution
  (``<part>_solution``, the answer between ``### BEGIN SOLUTION`` / ``### END SOLUTION``,
  defining the function ``<part>``), then its tests;
* the instructions' heading gives the part's points, ``(N points)``, equal to the sum of its
  test cells' points; their ``Tests:`` line lists the same points; they name every routine
  the part forbids (``hessian_lab.grading.forbidden_routines``), since a student loses the
  part for calling one;
* each test cell is locked, graded with points > 0, and runs exactly its own check,
  ``_check("<its grade id>", <part>)``, a test registered in ``hessian_lab.grading`` for this
  assignment and part; it does not end in a bare expression (nbgrader would give full
  credit for its value); a hidden test (hidden in the registry) sits between
  ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``, a visible one does not;
* every test registered for the assignment has its cell;
* and, with ``exercises=True``, ``exercises/`` is what ``nbgrader generate_assignment`` makes
  from ``solutions/`` now.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .source import (
    CHECK_CALL,
    HIDDEN_MARKERS,
    SOLUTION_MARKERS,
    assignments,
    nbgrader_meta,
    read_assignment,
    source_path,
    source_text,
)


@dataclass(frozen=True)
class Finding:
    """One broken rule: where (notebook and cell) and what to do."""

    path: str
    cell: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}, cell {self.cell}" if self.cell else self.path
        return f"{where}: {self.message}"


def _points_text(points: float) -> str:
    return f"{points:g}"


def _ends_in_bare_value(source: str) -> bool:
    """Whether the cell's last statement is an expression nbgrader would take as a score."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    if not body or not isinstance(body[-1], ast.Expr):
        return False
    value = body[-1].value
    is_check = isinstance(value, ast.Call) and getattr(value.func, "id", "") == "_check"
    is_number = (isinstance(value, ast.Constant) and isinstance(value.value, int | float)
                 and not isinstance(value.value, bool))
    return not (is_check or is_number)


def check_assignment(course: Path, assignment: str, catalogue: dict | None = None,
                     forbidden=None) -> list[Finding]:
    """The broken rules of one source notebook (an empty list when it follows them all)."""
    if catalogue is None or forbidden is None:
        from hessian_lab.grading import forbidden_routines, test_catalogue

        catalogue = test_catalogue() if catalogue is None else catalogue
        forbidden = forbidden_routines if forbidden is None else forbidden
    course = Path(course)
    path = source_path(course, assignment)
    rel = str(path.relative_to(course)) if path.is_relative_to(course) else str(path)
    found: list[Finding] = []

    def report(cell, message):
        found.append(Finding(rel, cell, message))

    try:
        source = read_assignment(course, assignment)
    except (OSError, ValueError) as exc:
        return [Finding(rel, "", f"cannot be read as a notebook ({exc}); restore it from git")]
    cells = source.notebook.get("cells", [])
    if source.notebook.get("nbformat") != 4:
        report("", "is not an nbformat 4 notebook; save it from JupyterLab")
    if not cells:
        return found + [Finding(rel, "", "has no cells")]

    # the setup cell
    first, meta = cells[0], nbgrader_meta(cells[0])
    if not (first.get("cell_type") == "code" and meta.get("grade_id") == "setup"
            and meta.get("locked") and not meta.get("grade")):
        report(first.get("id", "1"), "the first cell must be the locked, ungraded setup cell "
               "(nbgrader grade id 'setup', 'Read-only')")
    if f'setup("{assignment}")' not in source_text(first):
        report(first.get("id", "1"), f'the setup cell must call setup("{assignment}")')

    # ids, metadata, outputs
    seen_ids, seen_grade_ids = {}, {}
    for index, cell in enumerate(cells):
        cell_id = cell.get("id") or f"#{index + 1}"
        if not cell.get("id"):
            report(cell_id, "has no cell id; save the notebook with nbformat 4.5 or newer")
        elif cell["id"] in seen_ids:
            report(cell_id, f"repeats the cell id of cell #{seen_ids[cell['id']] + 1}")
        seen_ids.setdefault(cell.get("id"), index)
        meta = nbgrader_meta(cell)
        if cell.get("outputs") or cell.get("execution_count"):
            report(cell_id, "has outputs: clear them (Edit > Clear Outputs of All Cells, or "
                   "`curvature-lab check-course --clear-outputs`) before committing")
        if not meta:
            continue
        if meta.get("schema_version") != 3:
            report(cell_id, f"nbgrader metadata has schema_version {meta.get('schema_version')}"
                   ", expected 3 (nbgrader 0.9)")
        grade_id = meta.get("grade_id", "")
        if not grade_id:
            report(cell_id, "has nbgrader metadata without a grade id")
        elif grade_id in seen_grade_ids:
            report(cell_id, f"repeats the grade id {grade_id!r} of cell "
                   f"{seen_grade_ids[grade_id]}: nbgrader needs them unique")
        seen_grade_ids.setdefault(grade_id, cell_id)

    # parts: text, solution, tests
    registered = {t: info for t, info in catalogue.items() if info["assignment"] == assignment}
    order = {c.get("id"): i for i, c in enumerate(cells)}
    for name, part in source.parts.items():
        text_cell = next((c for c in cells if nbgrader_meta(c).get("grade_id") == f"{name}_text"),
                         None)
        solution_cell = next((c for c in cells
                              if nbgrader_meta(c).get("grade_id") == f"{name}_solution"), None)
        if text_cell is None:
            report("", f"part {name!r} has no instructions: a locked markdown cell with grade id "
                   f"'{name}_text' before its solution")
        if solution_cell is None:
            report("", f"part {name!r} has no solution cell (grade id '{name}_solution', "
                   "'Autograded answer')")
        else:
            sid = solution_cell.get("id", "")
            code = source_text(solution_cell)
            begin, end = (code.find(m) for m in SOLUTION_MARKERS)
            if begin < 0 or end < begin:
                report(sid, "the answer must sit between '### BEGIN SOLUTION' and "
                       "'### END SOLUTION' (nbgrader replaces that block in the student version)")
            try:
                tree = ast.parse(part.solution_code())
                defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
                if name not in defined:
                    report(sid, f"does not define the function {name}(...) its tests check")
            except SyntaxError as exc:
                report(sid, f"is not valid Python: {exc.msg} (line {exc.lineno})")
        if text_cell is not None:
            tid = text_cell.get("id", "")
            meta = nbgrader_meta(text_cell)
            if text_cell.get("cell_type") != "markdown" or not meta.get("locked"):
                report(tid, "the instructions must be a locked ('Read-only') markdown cell")
            heading = source_text(text_cell).splitlines()[0] if source_text(text_cell) else ""
            match = re.search(r"\((\d+(?:\.\d+)?) points?\)\s*$", heading)
            if not match:
                report(tid, f"the heading must end with the part's points, "
                       f"'({_points_text(part.points)} points)'; it is {heading!r}")
            elif float(match.group(1)) != part.points:
                report(tid, f"the heading says {match.group(1)} points but the part's test cells "
                       f"give {_points_text(part.points)}")
            text = source_text(text_cell)
            listed = re.search(r"^Tests: (.*)$", text, re.M)
            if not listed:
                report(tid, "the instructions must end with the 'Tests: ...' line listing each "
                       "test and its points")
            else:
                listed_points = sorted(float(p) for p in
                                       re.findall(r"\((\d+(?:\.\d+)?) pts?\b", listed.group(1)))
                actual = sorted(float(t.points) for t in part.tests)
                if listed_points != actual:
                    report(tid, f"the 'Tests:' line lists points {listed_points}, the test cells "
                           f"give {actual}")
                n_hidden = sum(t.hidden for t in part.tests)
                if listed.group(1).count(", hidden)") != n_hidden:
                    report(tid, f"the 'Tests:' line must mark the {n_hidden} hidden test(s) as "
                           "', hidden)'")
                if "(hidden) (" in listed.group(1):
                    report(tid, "says 'hidden' twice for one test; write '(2 pts, hidden)'")
            missing = [r for r in forbidden(name) if f"`{r}`" not in text]
            if missing:
                report(tid, "the instructions must name every routine the part forbids (a call "
                       "costs the student the part); missing: "
                       + ", ".join(f"`{r}`" for r in missing))
            if solution_cell is not None and order[tid] > order.get(solution_cell.get("id"), 0):
                report(tid, "the instructions must come before the solution cell")
        for test in part.tests:
            cell = cells[test.cell_index]
            cid = cell.get("id", "")
            if solution_cell is not None and test.cell_index < order.get(solution_cell.get("id"),
                                                                          0):
                report(cid, "a test cell must come after its part's solution cell")
        # catalogue: the registered part of each test
        for test in part.tests:
            info = registered.get(test.test_id)
            if info is not None and info["part"] != name:
                report(cells[test.cell_index].get("id", ""),
                       f"test {test.test_id} is registered for part {info['part']!r}, but the "
                       f"cell passes {name}")

    # graded cells
    tested = set()
    for index, cell in enumerate(cells):
        meta = nbgrader_meta(cell)
        if not meta.get("grade"):
            continue
        cid = cell.get("id") or f"#{index + 1}"
        grade_id = meta.get("grade_id", "")
        code = source_text(cell)
        if cell.get("cell_type") != "code":
            report(cid, "a graded markdown cell (manual grading) is not part of this course's "
                   "workflow; make it an autograder test")
            continue
        if not meta.get("locked"):
            report(cid, "a test cell must be locked ('Autograder tests', read-only), or a "
                   "student can edit the test")
        points = meta.get("points")
        if isinstance(points, bool) or not isinstance(points, int | float) or not points > 0:
            report(cid, f"a test cell needs points > 0, has {points!r}")
        calls = CHECK_CALL.findall(code)
        if [c[0] for c in calls] != [grade_id]:
            report(cid, f'must run exactly its own check, _check("{grade_id}", <function>); '
                   f"it runs {[c[0] for c in calls] or 'none'}")
            continue
        if _ends_in_bare_value(code):
            report(cid, "ends in a bare expression: nbgrader would give full credit for its "
                   "value; end with the _check(...) call")
        info = registered.get(grade_id)
        if info is None:
            where = catalogue.get(grade_id, {}).get("assignment")
            report(cid, f"test {grade_id!r} is not registered in hessian_lab.grading"
                   + (f" for this assignment (it belongs to {where})" if where else
                      "; register its check there first"))
            continue
        tested.add(grade_id)
        begin, end = (code.find(m) for m in HIDDEN_MARKERS)
        call_at = CHECK_CALL.search(code).start()
        if info["hidden"] and not (0 <= begin < call_at < end):
            report(cid, f"{grade_id} is a hidden test: put its _check call between "
                   "'### BEGIN HIDDEN TESTS' and '### END HIDDEN TESTS'")
        if not info["hidden"] and begin >= 0:
            report(cid, f"{grade_id} is a visible test but sits between the hidden-test "
                   "markers; register it with hidden=True or remove the markers")
    for test_id in sorted(set(registered) - tested):
        report("", f"the registered test {test_id!r} (part {registered[test_id]['part']}) has "
               "no test cell")
    return found


def exercises_out_of_sync(course: Path, assignment: str, nbgrader: str | None = None) -> str:
    """'' if ``exercises/<assignment>`` is what nbgrader generates from the source now, else why.

    Runs ``nbgrader generate_assignment`` in a scratch copy of the course (the course itself
    and its gradebook are not touched) and compares cell by cell: type, id, source and
    nbgrader metadata.
    """
    course = Path(course)
    nbgrader = nbgrader or shutil.which("nbgrader") or str(Path(sys.executable).with_name(
        "nbgrader"))
    committed_path = course / "exercises" / assignment / f"{assignment}.ipynb"
    if not committed_path.exists():
        return f"exercises/{assignment}/{assignment}.ipynb is missing: run `make exercises`"
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "course"
        copy.mkdir()
        if (course / "nbgrader_config.py").exists():
            shutil.copy2(course / "nbgrader_config.py", copy)
        shutil.copytree(course / "solutions" / assignment, copy / "solutions" / assignment)
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                     f"{os.environ.get('PATH', '')}"}
        proc = subprocess.run(
            [nbgrader, "generate_assignment", assignment, "--force",
             f"--CourseDirectory.root={copy}", f"--CourseDirectory.db_url=sqlite:///{scratch}/gb.db",
             "--log-level=WARN"],
            cwd=copy, env=env, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            return (f"nbgrader generate_assignment {assignment} failed: "
                    + (proc.stderr or proc.stdout)[-1500:])
        fresh = json.loads((copy / "exercises" / assignment / f"{assignment}.ipynb").read_text())
    committed = json.loads(committed_path.read_text())

    def comparable(nb):
        return [(c["cell_type"], c.get("id"), source_text(c), nbgrader_meta(c))
                for c in nb["cells"]]

    if comparable(committed) != comparable(fresh):
        return (f"exercises/{assignment} is out of date with solutions/{assignment}: run "
                "`make exercises` and commit both")
    text = json.dumps(committed)
    if "BEGIN SOLUTION" in text or "HIDDEN TESTS" in text:
        return f"exercises/{assignment} holds solutions or hidden tests"
    return ""


def clear_outputs(course: Path, assignment: str) -> bool:
    """Clear the outputs and execution counts of a source notebook; True if it changed."""
    path = source_path(course, assignment)
    text = path.read_text(encoding="utf-8")
    notebook = json.loads(text)
    for cell in notebook["cells"]:
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    new = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False


def check_course(course: Path, exercises: bool = True) -> list[Finding]:
    """All broken rules of the course at ``course`` (its ``solutions/`` and ``exercises/``)."""
    course = Path(course)
    names = assignments(course)
    if not names:
        return [Finding("solutions/", "", "no assignments found (expected "
                        "solutions/<assignment>/<assignment>.ipynb)")]
    out_of_sync: dict[str, str] = {}
    if exercises:  # one nbgrader run per assignment, each in its own scratch copy: in parallel
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(1, min(len(names), os.cpu_count() or 1))) as pool:
            out_of_sync = dict(zip(names, pool.map(lambda a: exercises_out_of_sync(course, a),
                                                   names), strict=True))
    found = []
    for assignment in names:
        found += check_assignment(course, assignment)
        if out_of_sync.get(assignment):
            found.append(Finding(f"exercises/{assignment}", "", out_of_sync[assignment]))
    return found
