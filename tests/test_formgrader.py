"""The instructor's review in a real JupyterLab: the formgrader on a graded round.

A small round of 03_newton (a right, a wrong and a flagged submission) is graded with
``curvature-lab grade``; JupyterLab is started in the round's course directory and driven by
headless Chromium, as an instructor would use it: Nbgrader > Formgrader, Manual Grading, the
assignment's notebook, the submission with the flag, a test cell's score changed. Then
``curvature-lab export`` and ``nbgrader export`` show the new score. Screenshots go to
``test-artifacts/formgrader/``.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from browser import jupyterlab_server
from conftest import BIN, ROOT, ensure_sandbox, skip_or_fail
from course_fixtures import build

pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "test-artifacts" / "formgrader"
ASSIGNMENT = "03_newton"


def _rows(path: Path) -> dict[str, dict]:
    with open(path, newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def round_(tmp_path_factory):
    if not (BIN / "nbgrader").exists():
        skip_or_fail("nbgrader is not installed in the test environment")
    ensure_sandbox()
    base = tmp_path_factory.mktemp("review")
    subs = base / "submitted"
    build.basic_cases(subs, ASSIGNMENT)
    # a flagged one: nothing written, its locked test cells edited (restored before grading)
    nb = build.student_version(ASSIGNMENT)
    for cell in build.test_cells(nb):
        cell["source"] = "print('all tests passed')\n"
    build.write(subs, "edited", ASSIGNMENT, nb)
    env = {**os.environ, "CURVATURE_LAB_TIME_LIMIT": "3",
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([str(BIN / "curvature-lab"), "grade", str(subs), "--out",
                           str(base / "out"), "--seed", "99", "--workers", "2",
                           "--no-feedback"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    rows = _rows(base / "out" / "grades.csv")
    assert rows["edited"]["flags"] and not rows["right_03"]["flags"], rows
    return base / "out"


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _formgrader_frame(page, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in page.frames:
            if "/formgrader" in frame.url:
                return frame
        page.wait_for_timeout(200)  # lets Playwright see the frame events
    _shot(page, "no-formgrader")
    raise AssertionError("the formgrader did not open in JupyterLab")


def test_a_score_changed_in_the_formgrader_reaches_the_exports(browser, round_):
    course = round_ / "course"
    round_rows = _rows(round_ / "grades.csv")
    before = round_rows["edited"]
    with jupyterlab_server(course) as (base, token):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(f"{base}/lab?reset&token={token}")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands"
                                   " && window.jupyterapp.commands.hasCommand("
                                   "'nbgrader:open-formgrader')", timeout=120_000)
            # Nbgrader > Formgrader, as from the menu
            page.evaluate("() => window.jupyterapp.commands.execute('nbgrader:open-formgrader')")
            frame = _formgrader_frame(page)
            frame.wait_for_load_state()
            # Manual Grading > the assignment > its notebook: the submissions, with flags
            frame.locator("a[href$='/formgrader/gradebook']").first.click()
            frame.locator(f"a[href$='/formgrader/gradebook/{ASSIGNMENT}']").first.click()
            frame.locator(f"a[href$='/formgrader/gradebook/{ASSIGNMENT}/{ASSIGNMENT}']"
                          ).first.click()
            frame.wait_for_selector("tbody tr td.flagged", timeout=60_000)
            flagged = frame.locator("tbody tr", has=frame.locator("span.glyphicon-flag"))
            assert flagged.count() == 1, f"{flagged.count()} flagged rows"
            assert frame.locator("tbody tr").count() == 4  # right, blank, mistakes, edited
            _shot(page, "submissions")
            flagged.locator("td a").first.click()
            score = frame.locator("input.score#newton_step_shape")
            score.wait_for(timeout=60_000)
            assert score.get_attribute("placeholder") == "0"  # the autograded score
            score.fill("1")
            with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url
                                      and r.request.method == "PUT", timeout=30_000) as saved:
                score.press("Tab")  # the formgrader saves a score when it changes
            assert saved.value.ok, saved.value.status
            _shot(page, "score-changed")
            # nbgrader 0.9's formgrade page loads MathJax from the server's mathjax_url,
            # which jupyter_server leaves empty: math in answers shows as TeX source, and
            # the page logs this one error. Anything else is a failure.
            assert [e for e in errors if e != "MathJax is not defined"] == [], errors
        finally:
            context.close()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    # our reports, written again from the gradebook
    proc = subprocess.run([str(BIN / "curvature-lab"), "export", "--out", str(round_)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    new_total = float(before["total"]) + 1
    assert f"edited/{ASSIGNMENT}: {before['total']} -> {new_total:g}" in proc.stdout
    after = _rows(round_ / "grades.csv")
    assert float(after["edited"]["total"]) == new_total
    assert after["edited"]["flags"] == before["flags"]  # the round's flags are kept
    assert all(after[s]["total"] == round_rows[s]["total"] for s in round_rows if s != "edited")
    with open(round_ / "canvas_grades.csv", newline="") as handle:
        canvas = {row["SIS Login ID"]: row for row in csv.DictReader(handle)}
    assert float(canvas["edited"][ASSIGNMENT]) == new_total
    result = json.loads((round_ / "gradescope" / ASSIGNMENT / "edited" / "results.json")
                        .read_text())
    shape = next(t for t in result["tests"] if t["extra_data"]["test_id"] == "newton_step_shape")
    assert shape["score"] == 1.0 and result["score"] == new_total
    # nbgrader's own export reads the same gradebook
    proc = subprocess.run([str(BIN / "nbgrader"), "export", "--to", str(round_ / "nb.csv")],
                          cwd=course, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(round_ / "nb.csv", newline="") as handle:
        exported = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert float(exported["edited"]["raw_score"]) == new_total
