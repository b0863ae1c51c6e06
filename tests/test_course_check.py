"""The course checker (``curvature-lab check-course``) passes the course and catches each rule."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import ROOT

from hessian_lab.course.check import check_assignment, check_course
from hessian_lab.course.cli import main
from hessian_lab.course.source import assignments, read_assignment


def test_the_committed_course_follows_the_authoring_rules():
    assert assignments(ROOT) == ["01_hessians", "02_classifying", "03_newton",
                                 "04_quasi_newton", "05_curvature_at_scale",
                                 "06_matrix_free_newton"]
    assert [str(f) for f in check_course(ROOT, exercises=False)] == []


def test_the_source_reader_finds_every_part_its_solution_and_points():
    newton = read_assignment(ROOT, "03_newton")
    assert list(newton.parts)[0] == "newton_step"
    step = newton.parts["newton_step"]
    assert step.points == 5 and [t.hidden for t in step.tests] == [False, False, False, True]
    assert "### BEGIN SOLUTION" not in step.solution_code()
    namespace = {"np": __import__("numpy")}
    exec(step.solution_code(), namespace)
    assert namespace["newton_step"]([2.0], [[2.0]]).tolist() == [-1.0]


@pytest.fixture
def course(tmp_path):
    shutil.copytree(ROOT / "solutions" / "03_newton", tmp_path / "solutions" / "03_newton")
    return tmp_path


def _edit(course, change):
    path = course / "solutions" / "03_newton" / "03_newton.ipynb"
    nb = json.loads(path.read_text())
    change(nb["cells"])
    path.write_text(json.dumps(nb, indent=1))


def _by_grade_id(cells, grade_id):
    return next(c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def _src(cell, new=None):
    if new is not None:
        cell["source"] = new
    return "".join(cell["source"])


MUTATIONS = {
    "duplicate cell id": (lambda cells: cells[3].update(id=cells[2]["id"]), "repeats the cell id"),
    "duplicate grade id": (lambda cells: cells[5]["metadata"]["nbgrader"].update(
        grade_id=cells[4]["metadata"]["nbgrader"]["grade_id"]), "repeats the grade id"),
    "zero points": (lambda cells: _by_grade_id(cells, "newton_step_fixed")["metadata"][
        "nbgrader"].update(points=0), "points > 0"),
    "unlocked test": (lambda cells: _by_grade_id(cells, "newton_step_fixed")["metadata"][
        "nbgrader"].update(locked=False), "must be locked"),
    "hidden test shown": (lambda cells: _src(
        _by_grade_id(cells, "newton_step_hidden"),
        '_check("newton_step_hidden", newton_step)\n'), "is a hidden test"),
    "wrong check": (lambda cells: _src(
        _by_grade_id(cells, "newton_step_fixed"),
        '_check("newton_step_shape", newton_step)\n'), "must run exactly its own check"),
    "bare value": (lambda cells: _src(
        _by_grade_id(cells, "newton_step_fixed"),
        '_check("newton_step_fixed", newton_step)\nTrue\n'), "bare expression"),
    "forbidden routine unnamed": (lambda cells: _src(
        _by_grade_id(cells, "newton_step_text"),
        _src(_by_grade_id(cells, "newton_step_text")).replace("`numpy.linalg.inv`, ", "")),
        "missing: `numpy.linalg.inv`"),
    "points in heading": (lambda cells: _src(
        _by_grade_id(cells, "newton_step_text"),
        _src(_by_grade_id(cells, "newton_step_text")).replace("(5 points)", "(4 points)")),
        "the heading says 4 points"),
    "no solution markers": (lambda cells: _src(
        _by_grade_id(cells, "newton_step_solution"),
        _src(_by_grade_id(cells, "newton_step_solution")).replace("### BEGIN SOLUTION", "")),
        "BEGIN SOLUTION"),
    "test cell deleted": (lambda cells: cells.remove(_by_grade_id(cells, "newton_step_singular")),
                          "'newton_step_singular' (part newton_step) has no test cell"),
    "outputs saved": (lambda cells: cells[3].update(outputs=[{"output_type": "stream",
                                                              "name": "stdout", "text": "x"}]),
                      "has outputs"),
    "setup changed": (lambda cells: _src(cells[0], "import numpy as np\n"),
                      'must call setup("03_newton")'),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_each_broken_rule_is_reported_with_what_to_do(course, name):
    change, words = MUTATIONS[name]
    assert check_assignment(course, "03_newton") == []
    _edit(course, change)
    found = [str(f) for f in check_assignment(course, "03_newton")]
    assert any(words in f for f in found), found
    assert all(f.startswith("solutions/03_newton/03_newton.ipynb") for f in found)


def test_the_command_exits_1_on_a_problem_and_clears_outputs_on_request(course, capsys):
    _edit(course, MUTATIONS["outputs saved"][0])
    assert main(["check-course", "--course", str(course), "--no-exercises"]) == 1
    assert "has outputs" in capsys.readouterr().out
    assert main(["check-course", "--course", str(course), "--no-exercises",
                 "--clear-outputs"]) == 0
    assert "course OK" in capsys.readouterr().out


@pytest.mark.slow
def test_exercises_are_what_nbgrader_generates_from_the_sources():
    assert [str(f) for f in check_course(ROOT, exercises=True)] == []
