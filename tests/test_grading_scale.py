"""Grading at scale: a PostgreSQL gradebook, parallel workers, resuming after a killed worker.

The PostgreSQL tests start a throw-away server (``tests/postgres.py``: Debian's ``postgresql``,
installed when missing, run as an unprivileged user on a free port of 127.0.0.1, removed
afterwards). The submissions are a mix from the course fixtures, each either clearly fast or
clearly endless, so no timeout can flip a score between runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import postgres
import psutil
import pytest
from conftest import BIN, ROOT, ensure_sandbox, skip_or_fail
from course_fixtures import build

from hessian_lab.course import grade  # noqa: E402

SEED = "4711"
ASSIGNMENT = "03_newton"
# right, wrong and hostile; all fast (a kernel crash and a MemoryError are fast too)
MIX = ["right_03", "blank_03", "mistakes_03", "alt", "reference", "memory", "crash",
       "tamper_check", "edited", "corrupt"]
EXPECTED_TOTALS = {"right_03": 21, "alt": 21, "blank_03": 0, "crash": 16, "tamper_check": 0,
                   "edited": 0, "corrupt": 0}


def grade_command(submissions: Path, out: Path, workers: int, *extra: str) -> list[str]:
    return [str(BIN / "curvature-lab"), "grade", str(submissions), "--out",
            str(out), "--seed", SEED, "--workers", str(workers), "--cell-timeout", "10",
            "--student-timeout", "240", "--no-feedback", *extra]


def grade_env() -> dict:
    ensure_sandbox()
    env = {**os.environ, "CURVATURE_LAB_TIME_LIMIT": "3",
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop(grade.DB_URL_ENV, None)
    return env


def run_grade(submissions: Path, out: Path, workers: int, *extra: str):
    started = time.monotonic()
    proc = subprocess.run(grade_command(submissions, out, workers, *extra), cwd=ROOT,
                          env=grade_env(), capture_output=True, text=True, timeout=900)
    return proc, time.monotonic() - started


def csv_texts(out: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(out.glob("grades*.csv"))}


def totals(out: Path) -> dict[str, float]:
    import csv

    with open(out / "grades.csv", newline="") as handle:
        return {row["student"]: float(row["total"]) for row in csv.DictReader(handle)}


# --------------------------------------------------------------------------- the setting


def test_gradebook_url_is_sqlite_unless_set(tmp_path, monkeypatch):
    monkeypatch.delenv(grade.DB_URL_ENV, raising=False)
    assert grade.gradebook_url(tmp_path).startswith(f"sqlite:///{tmp_path / 'gradebook.db'}")
    monkeypatch.setenv(grade.DB_URL_ENV, "postgresql://grader@db:5432/course")
    assert grade.gradebook_url(tmp_path) == "postgresql+psycopg2://grader@db:5432/course"
    # the command line wins over the environment
    assert grade.gradebook_url(tmp_path, "sqlite:////srv/g.db") == "sqlite:////srv/g.db"
    # and the environment never reaches a grading kernel
    options = argparse.Namespace(memory_gb=1.0, student_timeout=60, no_sandbox=True)
    assert grade.DB_URL_ENV not in grade._env(options, tmp_path)
    assert grade._redact("postgresql://u:secret@h/db") == "postgresql://u:***@h/db"


class _Config(dict):
    """Enough of a traitlets config for nbgrader_config.py to fill in."""

    def __getattr__(self, name):
        return self.setdefault(name, _Config())

    def __setattr__(self, name, value):
        self[name] = value


def test_nbgrader_config_reads_the_same_setting(monkeypatch):
    code = compile((ROOT / "nbgrader_config.py").read_text(), "nbgrader_config.py", "exec")
    for value, expected in (("", "sqlite:///gradebook.db"),
                            ("postgresql://g@h/c", "postgresql+psycopg2://g@h/c")):
        monkeypatch.setenv(grade.DB_URL_ENV, value)
        config = _Config()
        exec(code, {"get_config": lambda config=config: config})
        assert config["CourseDirectory"]["db_url"] == expected


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def cluster():
    if not (BIN / "nbgrader").exists():
        skip_or_fail("nbgrader is not installed in the test environment")
    try:
        manager = postgres.throwaway_cluster()
        server = manager.__enter__()
    except postgres.Unavailable as exc:
        skip_or_fail(f"no PostgreSQL server for the gradebook tests: {exc}")
    try:
        yield server
    finally:
        manager.__exit__(None, None, None)


@pytest.fixture(scope="module")
def mix(tmp_path_factory) -> Path:
    """The ten submissions (nbgrader's submitted/ layout)."""
    every = tmp_path_factory.mktemp("every")
    build.basic_cases(every, ASSIGNMENT)
    build.hostile_cases(every)
    chosen = tmp_path_factory.mktemp("mix") / "submitted"
    for student in MIX:
        shutil.copytree(every / student, chosen / student)
    return chosen


@pytest.fixture(scope="module")
def one_worker(cluster, mix, tmp_path_factory):
    out = tmp_path_factory.mktemp("one-worker")
    url = cluster.create_database("one_worker")
    proc, seconds = run_grade(mix, out, 1, "--db-url", url)
    print(f"[timing] {len(MIX)} submissions, 1 worker, PostgreSQL: {seconds:.1f} s")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return out


@pytest.mark.slow
def test_one_and_two_workers_on_postgresql_give_the_same_grades(cluster, mix, one_worker,
                                                                tmp_path):
    url = cluster.create_database("two_workers")
    proc, seconds = run_grade(mix, tmp_path, 2, "--db-url", url)
    print(f"[timing] {len(MIX)} submissions, 2 workers, PostgreSQL: {seconds:.1f} s")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "2 worker(s)" in proc.stdout and "postgresql+psycopg2://" in proc.stdout
    assert csv_texts(tmp_path) == csv_texts(one_worker)
    scores = totals(tmp_path)
    assert set(scores) == set(MIX)
    for student, total in EXPECTED_TOTALS.items():
        assert scores[student] == total, student
    assert 0 < scores["mistakes_03"] < 21 and 0 < scores["reference"] < 21
    # the grades live in PostgreSQL: no SQLite file was made, the server holds every notebook
    assert not (tmp_path / "course" / "gradebook.db").exists()
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        graded = {s.student.id for s in gb.assignment_submissions(ASSIGNMENT)}
    assert graded == set(MIX) - {"corrupt"}


def _autograde_workers(parent: psutil.Process) -> list[psutil.Process]:
    found = []
    for child in parent.children(recursive=True):
        try:
            if "autograde" in child.cmdline() and child.children():  # its kernel is running
                found.append(child)
        except psutil.Error:
            continue
    return found


@pytest.mark.slow
def test_a_killed_worker_is_graded_by_the_next_run_and_nothing_is_lost(cluster, mix,
                                                                       one_worker, tmp_path):
    url = cluster.create_database("killed")
    cmd = grade_command(mix, tmp_path, 2, "--db-url", url)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=grade_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    killed_student = None
    try:
        parent = psutil.Process(proc.pid)
        deadline = time.monotonic() + 300
        while killed_student is None and time.monotonic() < deadline and proc.poll() is None:
            for worker in _autograde_workers(parent):
                args = worker.cmdline()
                try:
                    os.killpg(worker.pid, signal.SIGKILL)  # nbgrader and its kernel
                except ProcessLookupError:
                    continue
                killed_student = args[args.index("--student") + 1]
                break
            time.sleep(0.05)
        first, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert killed_student, "no autograde worker was caught running"
    assert proc.returncode == 1, first[-4000:]
    assert "was killed (signal 9)" in first and "run the same command again" in first
    # the same command again grades what is left and keeps the rest
    second = subprocess.run(cmd, cwd=ROOT, env=grade_env(), capture_output=True, text=True,
                            timeout=900)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    resumed = second.stdout.count("graded by an earlier run")
    regraded = second.stdout.count(" autograded in ")
    assert regraded >= 1 and f"{killed_student}/{ASSIGNMENT} autograded in" in second.stdout
    assert resumed + regraded == len(MIX) - 1  # all but the corrupt notebook
    assert csv_texts(tmp_path) == csv_texts(one_worker)


# --------------------------------------------------------------------------- SQLite

SQLITE_SUBMISSIONS = 16


@pytest.mark.slow
def test_four_workers_on_sqlite_lose_nothing_on_sixteen_submissions(mix, tmp_path):
    """Four workers writing one SQLite gradebook at once: four rounds of four, enough for
    every worker to commit while the others do (a "database is locked" would show)."""
    if not (BIN / "nbgrader").exists():
        skip_or_fail("nbgrader is not installed in the test environment")
    kinds = ["right_03", "blank_03", "mistakes_03", "alt"]
    subs = tmp_path / "submitted"
    for i in range(SQLITE_SUBMISSIONS):
        kind = kinds[i % len(kinds)]
        shutil.copytree(mix / kind, subs / f"s{i:02d}_{kind}")
    out = tmp_path / "out"
    proc, seconds = run_grade(subs, out, 4)
    print(f"[timing] {SQLITE_SUBMISSIONS} submissions, 4 workers, SQLite: {seconds:.1f} s")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "sqlite:///" in proc.stdout and "4 worker(s)" in proc.stdout
    scores = totals(out)
    assert len(scores) == SQLITE_SUBMISSIONS
    reference = {"right_03": 21.0, "alt": 21.0, "blank_03": 0.0}
    mistakes = {total for student, total in scores.items() if student.endswith("mistakes_03")}
    assert len(mistakes) == 1 and 0 < mistakes.pop() < 21
    for student, total in scores.items():
        kind = student.split("_", 1)[1]
        if kind in reference:
            assert total == reference[kind], student
    logs = list((out / "logs").glob("s*__03_newton.log"))
    assert len(logs) == SQLITE_SUBMISSIONS
    assert not [p.name for p in logs if "database is locked" in p.read_text()]
