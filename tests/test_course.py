"""The nbgrader course: authoring rules, exercises in sync, and real autograde runs.

The end-to-end tests run ``curvature-lab grade`` (which runs ``nbgrader autograde`` per submission)
on fake submissions built by ``tests/course_fixtures``: right, blank and common-mistake
notebooks for every assignment, and the whole bad-submission matrix on 03_newton.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import BIN, ROOT, ensure_sandbox, skip_or_fail
from course_fixtures import build
from course_fixtures.cases import MISTAKES, MORE_MISTAKES_06

import hessian_lab.grading as grading  # noqa: E402
from hessian_lab.course.source import parts_table  # noqa: E402

ASSIGNMENTS = grading.ASSIGNMENTS
# the parts, solutions and points come from the source notebooks themselves
PARTS = {a: parts_table(ROOT, a) for a in ASSIGNMENTS}
CATALOGUE = grading.test_catalogue()
POINTS = {tid: pts for a in ASSIGNMENTS for *_, tests in PARTS[a] for tid, pts in tests}
MAX = {a: sum(pts for *_, tests in PARTS[a] for _, pts in tests) for a in ASSIGNMENTS}
SEED = "4711"


def notebook(folder: str, assignment: str) -> dict:
    return json.loads((ROOT / folder / assignment / f"{assignment}.ipynb").read_text())


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader") or {}


# --------------------------------------------------------------------------- authoring rules


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_notebooks_follow_the_authoring_rules(assignment):
    nb = notebook("solutions", assignment)
    cells = nb["cells"]
    first = cells[0]
    meta = nbgrader_meta(first)
    assert first["cell_type"] == "code" and meta.get("locked") and not meta.get("grade"), \
        "the first cell must be the locked setup cell"
    assert f'setup("{assignment}")' in "".join(first["source"])
    ids = [c["id"] for c in cells]
    assert len(ids) == len(set(ids)), "cell ids must be unique"
    grade_ids = [nbgrader_meta(c)["grade_id"] for c in cells if nbgrader_meta(c)]
    assert len(grade_ids) == len(set(grade_ids)), "grade ids must be unique"
    tested = set()
    for cell in cells:
        meta = nbgrader_meta(cell)
        if not meta:
            continue
        assert meta["schema_version"] == 3
        source = "".join(cell["source"])
        if meta.get("solution"):
            assert "### BEGIN SOLUTION" in source and "### END SOLUTION" in source
        if not meta.get("grade"):
            continue
        assert cell["cell_type"] == "code" and meta.get("locked")
        assert isinstance(meta.get("points"), (int, float)) and meta["points"] > 0, \
            f"{meta['grade_id']} has no points"
        body = ast.parse(source).body
        assert body, f"{meta['grade_id']} is empty"
        last = body[-1]
        # nbgrader gives full credit to a cell whose last value is not a number: no bare
        # expression at the end except a call that returns None (check) or a numeric literal
        if isinstance(last, ast.Expr):
            is_check = (isinstance(last.value, ast.Call)
                        and getattr(last.value.func, "id", "") == "_check")
            is_number = isinstance(last.value, ast.Constant) and isinstance(
                last.value.value, (int, float))
            assert is_check or is_number, f"{meta['grade_id']} ends in a bare expression"
        calls = re.findall(r'_check\("([a-z0-9_]+)"', source)
        assert calls == [meta["grade_id"]], f"{meta['grade_id']} must run its own test"
        hidden = CATALOGUE[meta["grade_id"]]["hidden"]
        assert ("### BEGIN HIDDEN TESTS" in source) == hidden
        tested.add(meta["grade_id"])
    registered = {t for t, v in CATALOGUE.items() if v["assignment"] == assignment}
    assert tested == registered
    parts = {CATALOGUE[t]["part"] for t in tested}
    assert 3 <= len(parts) <= 6


def test_the_course_checker_passes_the_committed_sources():
    proc = subprocess.run([str(BIN / "curvature-lab"), "check-course", "--course", str(ROOT),
                           "--no-exercises"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --------------------------------------------------------------------------- direct checks

_DIRECT = r'''
import contextlib, io, json, re, sys
sys.path[:0] = ["tests"]
import numpy as np, sympy
from hessian_lab.course.source import parts_table
from course_fixtures.cases import MISTAKES
from hessian_lab import grading
from hessian_lab.course.trust import hidden_seed
results = {}
PARTS = {a: parts_table(".", a) for a in MISTAKES}
for assignment, mistakes in MISTAKES.items():
    right = {"np": np, "sympy": sympy, "sys": sys, "__name__": "__main__"}
    ns = dict(right)
    for space in (right, ns):
        for part, _, _, code, _ in PARTS[assignment]:
            exec(re.sub(r"### (BEGIN|END) SOLUTION", "", code), space)
    for part, (code, _, _) in mistakes.items():
        exec(code, ns)
    for part, _, _, _, tests in PARTS[assignment]:
        for test_id, _ in tests:
            if grading.test_catalogue()[test_id]["hidden"]:  # as the restored cell does
                grading.use_seed(hidden_seed(sys.argv[1], test_id))
            for label, space in (("right", right), ("wrong", ns)):
                try:
                    with contextlib.redirect_stdout(io.StringIO()) as out:
                        grading.check(test_id, space[part])
                    results[f"{label}:{test_id}"] = ["pass", out.getvalue()]
                except AssertionError as exc:
                    results[f"{label}:{test_id}"] = ["fail", str(exc)]
print(json.dumps(results))
'''


@pytest.fixture(scope="module")
def direct_results():
    env = {**os.environ, "CURVATURE_LAB_MEMORY_GB": "0", "CURVATURE_LAB_GRADING_SEED": SEED}
    proc = subprocess.run([sys.executable, "-c", _DIRECT, SEED], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("assignment,part", [(a, p) for a in MISTAKES for p in MISTAKES[a]])
def test_each_common_mistake_fails_with_its_diagnosis(direct_results, assignment, part):
    _, failing, words = MISTAKES[assignment][part]
    tests = [t for name, *_, ts in PARTS[assignment] if name == part for t, _ in ts]
    for test_id in tests:
        assert direct_results[f"right:{test_id}"][0] == "pass", direct_results[
            f"right:{test_id}"][1]
        status, text = direct_results[f"wrong:{test_id}"]
        assert (status == "fail") == (test_id in failing), f"{test_id}: {status} {text}"
        if status == "pass":
            assert "[receipt " in text
    messages = [direct_results[f"wrong:{t}"][1] for t in failing]
    assert any(words in m for m in messages), messages
    assert all(m.strip() and "Traceback" not in m for m in messages)

# ------------------------------------------------------------- 06_matrix_free_newton, in depth

_A06 = "06_matrix_free_newton"


def _a06_outcomes(code: str, part: str) -> dict[str, tuple[str, str]]:
    """{visible test id: ("pass" | "fail", text)} of one part of 06 for the given code."""
    import contextlib
    import io

    import numpy as np

    space = {"np": np, "__name__": "__main__"}
    exec(code, space)
    result = {}
    for test_id, info in CATALOGUE.items():
        if info["assignment"] != _A06 or info["part"] != part or info["hidden"]:
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()) as out:
                grading.check(test_id, space[part])
            result[test_id] = ("pass", out.getvalue())
        except AssertionError as exc:
            result[test_id] = ("fail", str(exc))
    return result


@pytest.mark.parametrize("index", range(len(MORE_MISTAKES_06)),
                         ids=[f"{p}-{w[:30]}" for p, _, _, w in MORE_MISTAKES_06])
def test_more_common_mistakes_of_06_fail_with_their_diagnosis(index, monkeypatch):
    monkeypatch.setenv("CURVATURE_LAB_MEMORY_GB", "0")
    part, code, failing, words = MORE_MISTAKES_06[index]
    outcomes = _a06_outcomes(code, part)
    assert {t for t, (status, _) in outcomes.items() if status == "fail"} == failing, outcomes
    assert all(words in outcomes[t][1] for t in failing), [outcomes[t][1] for t in failing]
    assert all("Traceback" not in text and "grader error" not in text
               for _, text in outcomes.values())


# The defences of the other assignments hold for 06: the library's own CG / Steihaug (or
# scipy's) called directly, through names built at run time or as copied source; answers
# that compare equal to anything; a reason that is a str subclass.
_HOSTILE_06 = {
    "library cg": ("conjugate_gradient", """
import hessian_lab
def conjugate_gradient(matvec, b, tol, max_iter):
    res = hessian_lab.conjugate_gradient(matvec, b, rtol=tol, max_iter=max_iter)
    return res.x, res.residuals
""", "does not allow"),
    "scipy cg": ("conjugate_gradient", """
import scipy.sparse.linalg as sla
def conjugate_gradient(matvec, b, tol, max_iter):
    n = len(b)
    op = sla.LinearOperator((n, n), matvec=matvec)
    x, _ = sla.cg(op, b, rtol=tol, maxiter=max_iter)
    return x, [np.linalg.norm(b), np.linalg.norm(b - matvec(x))]
""", "does not allow"),
    "runtime names": ("newton_cg_step", """
import importlib
def newton_cg_step(g, hvp):
    cg = getattr(importlib.import_module("hessian" + "_lab.cg"), "conjugate" + "_gradient")
    eta = min(0.5, np.sqrt(np.linalg.norm(g)))
    res = cg(hvp, -np.asarray(g), rtol=eta, max_iter=20 * len(g))
    return res.x if res.nit > 0 else -np.asarray(g)
""", "while it ran"),
    "library steihaug": ("steihaug", """
import sys
def steihaug(g, hessp, radius, tol):
    step = vars(sys.modules["hessian_lab.trust_" + "region"])["steihaug" + "_step"](
        g, hessp, radius, rtol=tol)
    return step.p, step.reason
""", "while it ran"),
    "copied source": ("steihaug", """
import inspect, importlib
_module = importlib.import_module("hessian_lab.trust_region")
_namespace = dict(vars(_module))
exec(inspect.getsource(_module.steihaug_step).replace("def steihaug_step(", "def mine("),
     _namespace)
def steihaug(g, hessp, radius, tol):
    step = _namespace["mine"](g, hessp, radius, rtol=tol)
    return step.p, step.reason
""", "[review: copied library code]"),
    "always equal": ("steihaug", """
class AlwaysEqual(float):
    def __eq__(self, other):
        return True
class Reason(str):
    def __eq__(self, other):
        return True
    __hash__ = str.__hash__
def steihaug(g, hessp, radius, tol):
    return [AlwaysEqual(0.0)] * len(g), Reason("interior")
""", "gives the wrong step"),
}


@pytest.mark.parametrize("how", list(_HOSTILE_06))
def test_the_defences_cover_06(how, monkeypatch):
    monkeypatch.setenv("CURVATURE_LAB_MEMORY_GB", "0")
    part, code, words = _HOSTILE_06[how]
    outcomes = _a06_outcomes(code, part)
    failed = [text for status, text in outcomes.values() if status == "fail"]
    assert len(failed) >= len(outcomes) - 1 and any(words in t for t in failed), outcomes


# Rebinding the library internals the 06 references run on: the modules are in the integrity
# snapshot, or a student could make the reference agree with a wrong answer.
_TAMPER_06 = {
    "cg internals": "import sys\nm = sys.modules['hessian_lab.cg']\n"
                    "m._operator = lambda A, n: (lambda v: 0.0 * v)",
    "trust-region internals": "import sys\nm = sys.modules['hessian_lab.trust_region']\n"
                              "m._to_boundary = lambda z, d, radius: (0.0, 0.0)",
}
_TAMPER_06_RUN = r"""
import sys
import numpy as np
import hessian_lab.grading as g
g.setup("06_matrix_free_newton")
space = {"__name__": "__main__", "np": np}
exec(sys.argv[1] + "\ndef steihaug(g, hessp, radius, tol):\n"
     "    return np.zeros(len(g)), 'interior'\n", space)
try:
    g.check("steihaug_small_radius", space["steihaug"])
    print("PASSED")
except AssertionError as exc:
    print("FAILED", str(exc).replace("\n", " "))
"""


@pytest.mark.parametrize("how", list(_TAMPER_06))
def test_rebinding_the_06_references_internals_fails_the_check(how):
    proc = subprocess.run([sys.executable, "-c", _TAMPER_06_RUN, _TAMPER_06[how]],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CURVATURE_LAB_MEMORY_GB": "0"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout.strip().splitlines()[-1]
    assert out.startswith("FAILED") and "grading helpers were modified" in out, (how, out)


# Student code that rewrites the registries instead of the helpers: a check made to pass, a
# forbidden list emptied, a check moved to a part that forbids nothing, a check removed.
_REGISTRY_TAMPERING = {
    "check replaced": 'g.session._TESTS["newton_step_fixed"].run = lambda *a: None',
    "check moved": 'g.session._TESTS["newton_step_fixed"].owner = g.a03_newton.convergence_order',
    "check retitled": 'g.session._TESTS["newton_step_fixed"].title = "all good"',
    "forbidden list emptied": 'g.session._FORBIDDEN["newton_step"] = ()',
    "part's list emptied": 'g.a03_newton.newton_step.forbid = ()',
    "check removed": 'del g.session._TESTS["race_fixed"]',
    "check added": 'g.Part("03_newton", "extra").test("extra_fixed", "x")(lambda fn: None)',
}
_TAMPER_RUN = r'''
import sys
import hessian_lab.grading as g
g.setup("03_newton")
space = {"__name__": "__main__"}
exec("import hessian_lab.grading as g\nimport hessian_lab\n" + sys.argv[1] + "\n"
     "def newton_step(g, H):\n    return hessian_lab.newton_step(g, H)\n", space)
try:
    g.check("newton_step_fixed", space["newton_step"])
    print("PASSED")
except AssertionError as exc:
    print("FAILED", exc)
'''


@pytest.mark.parametrize("how", list(_REGISTRY_TAMPERING))
def test_rewriting_the_registries_fails_the_check(how):
    proc = subprocess.run([sys.executable, "-c", _TAMPER_RUN, _REGISTRY_TAMPERING[how]],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CURVATURE_LAB_MEMORY_GB": "0"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout.strip().splitlines()[-1]
    assert out.startswith("FAILED") and "grading helpers were modified" in out, (how, out)


def test_each_part_is_declared_once_with_its_forbidden_routines():
    from hessian_lab.grading import Part
    from hessian_lab.grading.a03_newton import newton_step

    assert newton_step.forbid == grading.forbidden_routines("newton_step")
    with pytest.raises(ValueError, match="declared twice"):
        Part("03_newton", "newton_step", forbid=())
    with pytest.raises(ValueError, match="duplicate test id"):
        newton_step.test("newton_step_fixed", "again")(lambda fn: None)
    catalogue = grading.test_catalogue()
    for test in catalogue.values():  # titles are built by the decorator, one rule for all
        assert test["title"].startswith(test["part"] + ", ")
        assert test["title"].endswith(" (hidden)") == test["hidden"]


_BROKEN_CHECK_RUN = r'''
import hessian_lab.grading as g
from hessian_lab.grading.session import _TESTS

def broken(fn):  # an author's slip inside a check, there before the round starts
    return {}["missing"]

_TESTS["newton_step_fixed"].run = broken
g.setup("03_newton")  # the integrity snapshot is taken with the broken check in it
for label, answer in (("broken", lambda g, H: -g), ("fine", lambda g, H: -g)):
    try:
        g.check("newton_step_fixed" if label == "broken" else "newton_step_shape", answer)
        print(label, "PASSED")
    except AssertionError as exc:
        print(label, "FAILED", exc)
'''


def test_a_check_that_breaks_by_itself_blames_itself_and_is_flagged():
    from hessian_lab.course import trust

    proc = subprocess.run([sys.executable, "-c", _BROKEN_CHECK_RUN], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CURVATURE_LAB_MEMORY_GB": "0"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    broken = next(line for line in lines if line.startswith("broken "))
    assert broken.startswith("broken FAILED newton_step, fixed input: [review: grader error]")
    assert "KeyError" in broken and "not a mistake in your code" in broken
    assert trust.review_flags({"newton_step_fixed": broken}) == [
        "a check failed by itself (grader bug): newton_step_fixed"]
    # the other checks are unaffected; a wrong answer elsewhere is still the student's
    assert any(line.startswith("fine PASSED") for line in lines), lines
    with pytest.raises(AssertionError) as failure:
        grading.check("newton_step_fixed", lambda g, H: -g)
    assert "grader error" not in str(failure.value)


# --------------------------------------------------------------------------- autograde runs


def run_grade(submissions: Path, out: Path, *extra: str) -> tuple[subprocess.CompletedProcess,
                                                                    float]:
    ensure_sandbox()
    env = {**os.environ, "CURVATURE_LAB_TIME_LIMIT": "3",
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    started = time.monotonic()
    proc = subprocess.run(
        [str(BIN / "curvature-lab"), "grade", str(submissions), "--out", str(out),
         "--seed", SEED, "--workers", "2", "--cell-timeout", "10", "--student-timeout", "240",
         *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    return proc, time.monotonic() - started


def read_rows(path: Path) -> dict[str, dict]:
    with open(path, newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if not (BIN / "nbgrader").exists():
        skip_or_fail("nbgrader is not installed in the test environment")
    base = tmp_path_factory.mktemp("round")
    subs = base / "submitted"
    for assignment in ASSIGNMENTS:
        build.basic_cases(subs, assignment)
    build.hostile_cases(subs)
    proc, seconds = run_grade(subs, base / "out")
    print(proc.stdout[-6000:])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    n = sum(1 for s in subs.iterdir() for _ in s.iterdir())
    print(f"[timing] {n} submissions graded in {seconds:.0f} s "
          f"({seconds / n:.1f} s per notebook with 2 workers)")
    return {"base": base, "out": base / "out", "proc": proc, "subs": subs}


def rows(graded, assignment):
    return read_rows(graded["out"] / f"grades_{assignment}.csv")


def outputs(graded, student, assignment) -> dict[str, str]:
    """Text of every graded cell's outputs (streams and errors) in the autograded notebook."""
    path = graded["out"] / "course" / "autograded" / student / assignment / f"{assignment}.ipynb"
    result = {}
    for cell in json.loads(path.read_text())["cells"]:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid and cell["cell_type"] == "code":
            text = []
            for out in cell.get("outputs", []):
                text.append("".join(out.get("text", "")) + out.get("evalue", ""))
            result[gid] = "\n".join(text)
    return result


def part_max(assignment, part):
    return sum(p for name, *_, tests in PARTS[assignment] if name == part for _, p in tests)


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_right_blank_and_mistakes_on_every_assignment(graded, assignment):
    table = rows(graded, assignment)
    tag = assignment[:2]
    right, blank, wrong = table[f"right_{tag}"], table[f"blank_{tag}"], table[f"mistakes_{tag}"]
    assert float(right["total"]) == MAX[assignment] and not right["flags"]
    assert float(blank["total"]) == 0 and not blank["flags"]
    texts = outputs(graded, f"mistakes_{tag}", assignment)
    for part, (_, failing, words) in MISTAKES[assignment].items():
        expected = part_max(assignment, part) - sum(POINTS[t] for t in failing)
        assert float(wrong[part]) == expected, (part, wrong[part], expected)
        assert any(words in texts[t] for t in failing), (part, words)
    expected_total = MAX[assignment] - sum(POINTS[t] for (_, f, _) in
                                           MISTAKES[assignment].values() for t in f)
    assert float(wrong["total"]) == expected_total
    assert (graded["out"] / f"grades_{assignment}.png").stat().st_size > 1000
    assert (graded["out"] / "feedback" / f"right_{tag}" / assignment
            / f"{assignment}.html").exists()


@pytest.mark.slow
def test_bad_submission_matrix_on_03_newton(graded):
    a = "03_newton"
    table = rows(graded, a)
    total = {s: float(r["total"]) for s, r in table.items()}
    flags = {s: r["flags"] for s, r in table.items()}
    full = MAX[a]
    # a correct solution written differently, with warnings and stderr output: full marks
    assert total["alt"] == full and not flags["alt"]
    texts = outputs(graded, "alt", a)
    assert "not penalised" in texts["newton_step_fixed"]
    # calling the reference: those parts 0, with the reason
    assert float(table["reference"]["newton_iterate"]) == 0
    assert float(table["reference"]["newton_globalized"]) == 0
    assert total["reference"] == full - part_max(a, "newton_iterate") - part_max(
        a, "newton_globalized")
    assert "does not allow" in outputs(graded, "reference", a)["newton_iterate_quadratic"]
    # an infinite loop in a function and one at the top level of a cell: those parts 0
    assert total["loop"] == full - part_max(a, "newton_iterate") - part_max(a, "race")
    assert "infinite loop" in outputs(graded, "loop", a)["newton_iterate_quadratic"]
    # the kernel dies in a solution cell: that cell is skipped (its part 0), the rest graded
    assert total["crash"] == full - part_max(a, "newton_step")
    assert "was skipped" in flags["crash"] and "exited with status 1" in flags["crash"]
    # a dense huge matrix: MemoryError inside the kernel, that part 0, the rest graded
    assert total["memory"] == full - part_max(a, "newton_step")
    assert "ran out of memory" in outputs(graded, "memory", a)["newton_step_fixed"]
    # edited / deleted / stripped / retyped / duplicated test cells: flagged, no credit
    for student, word in (("edited", "edited"), ("deleted", "deleted"),
                          ("retyped", "(code -> markdown)")):
        assert total[student] == 0, student
        assert word in flags[student], (student, flags[student])
    assert "points changed" in flags["edited"] and "duplicated" in flags["retyped"]
    # one line per cause: the edited cells are listed on one line
    assert flags["edited"].count("locked cells edited") == 1
    # tampering from student code: still no credit
    assert total["tamper_check"] == 0 and "without printing their receipt" in flags[
        "tamper_check"]
    assert total["tamper_numpy"] == 0
    tampered = outputs(graded, "tamper_numpy", a)
    assert "grading helpers were modified" in tampered["newton_step_fixed"]
    # huge outputs: graded normally
    assert total["noisy"] == full
    # corrupt, empty, renamed, missing notebooks
    assert total["corrupt"] == 0 and "not valid JSON" in flags["corrupt"]
    assert total["empty"] == 0 and "empty" in flags["empty"]
    assert total["renamed"] == full and "renamed" in flags["renamed"]
    assert total["missing"] == 0 and "missing notebook" in flags["missing"]
    # the summary names what was flagged
    summary = graded["proc"].stdout
    assert "Flagged:" in summary and "crash/03_newton" in summary
    assert re.search(r"\[\d+/\d+\] .* s elapsed", summary)


@pytest.mark.slow
def test_grading_a_zip_again_gives_the_same_scores(graded):
    first = rows(graded, "03_newton")
    archive = graded["base"] / "again.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for student in ("mistakes_03", "alt"):
            path = graded["subs"] / student / "03_newton" / "03_newton.ipynb"
            zf.write(path, f"submitted/{student}/03_newton/03_newton.ipynb")
    proc, _ = run_grade(archive, graded["base"] / "again", "--no-feedback")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    again = rows({"out": graded["base"] / "again"}, "03_newton")
    for student in ("mistakes_03", "alt"):
        assert again[student]["total"] == first[student]["total"]
        assert again[student]["newton_step"] == first[student]["newton_step"]


@pytest.mark.slow
def test_the_round_is_exported_for_canvas_and_gradescope(graded):
    out = graded["out"]
    totals = read_rows(out / "grades.csv")
    catalogue = grading.test_catalogue()
    # Canvas: the import's identity columns, one column per assignment, a Points Possible row
    with open(out / "canvas_grades.csv", newline="") as handle:
        table = list(csv.reader(handle))
    header, possible, body = table[0], table[1], table[2:]
    assert header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert header[5:] == list(ASSIGNMENTS) and possible[0].strip() == "Points Possible"
    for a, points in zip(ASSIGNMENTS, possible[5:], strict=True):
        assert float(points) == sum(part_max(a, p) for p in
                                    {t["part"] for t in catalogue.values()
                                     if t["assignment"] == a})
    by_login = {row[3]: dict(zip(header, row, strict=True)) for row in body}
    assert len(by_login) == len(body) == len({r["student"] for r in totals.values()})
    for student, row in totals.items():
        assert by_login[student][row["assignment"]] == row["total"], student
    # Gradescope: one results.json per submission, its tests the assignment's test cells
    for student, row in totals.items():
        path = out / "gradescope" / row["assignment"] / student / "results.json"
        result = json.loads(path.read_text())
        assert result["score"] == float(row["total"]) and result["max_score"] == float(row["max"])
        if row["graded"] != "1":
            assert result["tests"] == [] and "not graded" in result["output"]
            continue
        ids = [t for t, info in catalogue.items() if info["assignment"] == row["assignment"]]
        assert [t["extra_data"]["test_id"] for t in result["tests"]] == ids
        assert sum(t["score"] for t in result["tests"]) == result["score"]
        for test in result["tests"]:
            info = catalogue[test["extra_data"]["test_id"]]
            assert test["name"] == info["title"]
            assert test["visibility"] == ("after_published" if info["hidden"] else "visible")
            assert test["status"] == ("passed" if test["score"] == test["max_score"]
                                      else "failed")
            text = test["output"]
            assert "[receipt" not in text and "_receipt" not in text and str(ROOT) not in text
        if row["flags"]:
            assert all(f in result["output"] for f in row["flags"].split(" | "))
    mistakes = json.loads((out / "gradescope" / "03_newton" / "mistakes_03" / "results.json")
                          .read_text())
    failed = [t for t in mistakes["tests"] if t["status"] == "failed"]
    assert failed and all("Likely mistake" in t["output"] or t["output"] for t in failed)
    assert "passed: newton_step, shape" in next(
        t["output"] for t in mistakes["tests"] if t["extra_data"]["test_id"] == "newton_step_shape")


def test_a_canvas_export_gives_the_identity_columns_and_assignment_ids(tmp_path):
    from hessian_lab.course import grade

    roster = tmp_path / "export.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,03_newton (5503),Current Score\n"
        "    Points Possible,,,,,21,(read only)\n"
        '"Lovelace, Ada",101,S101,ada,Sec A,,\n', encoding="utf-8-sig")
    subs = [grade.Submission("ada", "03_newton", tmp_path, tmp_path / "a.ipynb", total=17.0,
                             graded=True),
            grade.Submission("bo", "03_newton", tmp_path, tmp_path / "b.ipynb", total=3.5,
                             graded=True),
            grade.Submission("cy", "03_newton", tmp_path, None, flags=["empty notebook"]),
            grade.Submission("di", "03_newton", tmp_path, tmp_path / "d.ipynb", killed=True)]
    path = grade.write_canvas_csv(subs, tmp_path / "canvas.csv", {"03_newton": {"p": 21.0}},
                                  roster)
    with open(path, newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                        "03_newton (5503)"]
    assert table[1][5] == "21"
    assert table[2] == ["Lovelace, Ada", "101", "S101", "ada", "Sec A", "17"]
    assert table[3] == ["bo", "", "", "bo", "", "3.5"]
    # an unusable notebook scores 0 (as in grades.csv); a killed grading run stays blank
    assert table[4][5] == "0" and table[5][5] == ""
    bad = tmp_path / "not-canvas.csv"
    bad.write_text("name,score\nada,3\n")
    with pytest.raises(SystemExit, match="not a Canvas gradebook export"):
        grade.read_canvas_roster(bad)
