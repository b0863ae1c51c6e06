"""Grading that student code cannot subvert: the sandbox, the trusted side, the run-time watch.

The end-to-end test grades, in one real round (``curvature-lab grade``, real ``nbgrader autograde``
in a temporary course), one hostile submission per threat between two canaries that submit the
instructor's solution, plus honest submissions whose last experiment hangs in compiled code or
kills the kernel. Fast tests check the pieces one by one.
"""

from __future__ import annotations

import csv
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import BIN, ROOT, ensure_sandbox
from course_fixtures import build, threats

from hessian_lab import grading  # noqa: E402
from hessian_lab.course import (
    sandbox,  # noqa: E402
    trust,  # noqa: E402
)

SEED = "20261205-private"


# --------------------------------------------------------------------------- the watch


def _space(code: str) -> dict:
    space = {"__name__": "__main__", "np": np}
    exec(code, space)
    return space


def _outcome(test_id: str, fn) -> str:
    try:
        grading.check(test_id, fn)
    except AssertionError as exc:
        return str(exc)
    return "passed"


RIGHT_STEP = ("def newton_step(g, H):\n"
              "    return np.linalg.solve(np.asarray(H, float), -np.asarray(g, float))\n")


@pytest.mark.parametrize("code,words", [
    ("import importlib\ndef newton_step(g, H):\n"
     "    la = importlib.import_module('numpy.lin' + 'alg')\n"
     "    return -getattr(la, 'in' + 'v')(H) @ g\n", "called numpy.linalg.inv while it ran"),
    ("import sys\ndef newton_step(g, H):\n"
     "    hl = sys.modules['hessian' + '_lab.optimizers']\n"
     "    return vars(hl)['new' + 'ton'](lambda x: 0.0, lambda x: H @ x + g, lambda x: H,\n"
     "        np.zeros(len(g)), globalize=False).x\n", "hessian_lab.optimizers.newton"),
    ("import functools, numpy\nclass S:\n    pass\ns = S()\n"
     "s.f = functools.partial(getattr(numpy.linalg, 'p' + 'inv'))\n"
     "def newton_step(g, H):\n    return -s.f(H) @ g\n", "numpy.linalg.pinv"),
    ("import sys\ndef newton_step(g, H):\n    sys.setprofile(None)\n"
     "    return np.linalg.solve(H, -np.asarray(g))\n", "switched off the grader's watch"),
    ("def newton_step(g, H):\n    return -np.linalg.inv(H) @ g\n", "numpy.linalg.inv"),
])
def test_reference_calls_are_caught_however_the_name_is_built(code, words):
    message = _outcome("newton_step_fixed", _space(code)["newton_step"])
    assert message != "passed" and words in message, message


def test_building_blocks_the_part_allows_still_pass():
    scipy_solve = ("import scipy.linalg\ndef newton_step(g, H):\n"
                   "    return scipy.linalg.solve(H, -np.asarray(g, float))\n")
    numpy_cholesky = ("def newton_step(g, H):\n    L = np.linalg.cholesky(H @ H.T)\n"
                      "    return np.linalg.solve(H, -np.asarray(g, float))\n")
    for code in (RIGHT_STEP, scipy_solve, numpy_cholesky):
        assert _outcome("newton_step_fixed", _space(code)["newton_step"]) == "passed", code


def test_copied_library_source_earns_nothing_and_asks_for_review():
    code = ("from collections.abc import Sequence\nimport inspect, importlib\n"
            "src = inspect.getsource(importlib.import_module('hessian_lab.optimizers')"
            ".two_loop)\nexec(src.replace('def two_loop(', 'def my_loop('), globals())\n"
            "def two_loop_direction(g, s_list, y_list, gamma):\n"
            "    return my_loop(g, s_list, y_list, gamma)\n")
    message = _outcome("two_loop_fixed", _space(code)["two_loop_direction"])
    assert "hessian_lab.optimizers.two_loop" in message
    assert "[review: copied library code]" in message


def test_the_instructors_solutions_are_not_taken_for_copies():
    for assignment in grading.ASSIGNMENTS:
        for part, code in build.solution_code(assignment).items():
            space = _space("import sympy\n" + code)
            fn = space[part]
            assert not grading.forbidden._copied_from(fn), (assignment, part)


def test_a_pair_may_be_a_list_or_an_array_where_a_tuple_is_asked():
    code = build.solution_code("04_quasi_newton")
    space = _space(code["bfgs_inverse_update"])
    exec(code["bfgs_minimize"].replace("return x, nit", "return [x, np.int64(nit)]"), space)
    assert _outcome("bfgs_minimize_quadratic", space["bfgs_minimize"]) == "passed"


def test_every_forbidden_routine_is_named_in_its_parts_instructions():
    for assignment in grading.ASSIGNMENTS:
        nb = json.loads((ROOT / "solutions" / assignment / f"{assignment}.ipynb").read_text())
        texts = {build.grade_id(c): "".join(c["source"]) for c in nb["cells"]
                 if c["cell_type"] == "markdown"}
        for part in {v["part"] for v in grading.test_catalogue().values()
                     if v["assignment"] == assignment}:
            for name in grading.forbidden_routines(part):
                assert f"`{name}`" in texts[f"{part}_text"], (part, name)
        assert "(hidden) (" not in json.dumps(nb)


def test_seed_and_receipt_key_come_from_the_cell_not_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("CURVATURE_LAB_RECEIPT_KEY", "from-the-environment")
    fn = _space(RIGHT_STEP)["newton_step"]
    grading.check("newton_step_fixed", fn, _receipt="k" * 32)
    printed = capsys.readouterr().out
    assert grading.receipt("newton_step_fixed", key="k" * 32) in printed
    assert grading.receipt("newton_step_fixed", key="from-the-environment") not in printed
    grading.use_seed("abc")
    assert grading.grading_seed() == grading.session._seed_value("abc")


# --------------------------------------------------------------------------- the trusted side


def test_round_secrets_go_into_the_course_copy_of_the_test_cells(tmp_path):
    source = ROOT / "solutions" / "03_newton" / "03_newton.ipynb"
    copy = tmp_path / "03_newton.ipynb"
    copy.write_text(source.read_text())
    keys = trust.add_round_secrets(copy, SEED)
    tests = {t for t, v in grading.test_catalogue().items() if v["assignment"] == "03_newton"}
    assert set(keys) == tests and len(set(keys.values())) == len(keys)
    text = "\n".join("".join(c["source"]) for c in json.loads(copy.read_text())["cells"])
    assert text.count("_use_seed(") == sum(grading.test_catalogue()[t]["hidden"] for t in tests)
    assert SEED not in text  # only the derived per-test seeds
    hidden = "_check(\"newton_step_hidden\", newton_step, _receipt=\""
    assert hidden in text
    shown = trust._hide_secrets(text)
    assert "_receipt" not in shown and "_use_seed" not in shown


def test_flags_are_grouped_one_line_per_cause():
    flags = ["cell a deleted or its nbgrader metadata stripped",
             "cell b deleted or its nbgrader metadata stripped", "missing notebook x",
             "t1 earned points without its receipt: the test did not run as written (set to 0)",
             "t2 earned points without its receipt: the test did not run as written (set to 0)"]
    grouped = trust.group_flags(flags)
    assert len(grouped) == 3
    assert grouped[0].endswith(": a, b") and "t1, t2" in grouped[2]


def test_routine_log_lines_are_counted_not_repeated():
    counts = {}
    log = ("[AutogradeApp | WARNING] Attribute 'checksum' for cell x has changed! (...)\n"
           "[AutogradeApp | ERROR] something real\n")
    assert trust.filter_log(log, counts).strip() == "[AutogradeApp | ERROR] something real"
    assert sum(counts.values()) == 1


def test_the_private_copy_skips_notebooks_and_the_sandboxes_own_folder(tmp_path, monkeypatch):
    """The working copy a kernel gets holds the submission's data files, never its notebooks,
    hidden files or, when the sandboxes' folder lies inside the working directory, itself."""
    cwd = tmp_path / "submission"
    (cwd / "data").mkdir(parents=True)
    (cwd / "data" / "points.csv").write_text("1,2\n")
    (cwd / "03_newton.ipynb").write_text("{}")
    (cwd / ".secret").write_text("x")
    monkeypatch.setenv(sandbox.ROOT_ENV, str(cwd / "sandboxes"))
    (cwd / "sandboxes").mkdir()
    private = sandbox._private_dir(str(cwd))
    copied = sorted(str(p.relative_to(private / "work")) for p in (private / "work").rglob("*"))
    assert copied == ["data", "data/points.csv"], copied
    assert (private / "home").is_dir()


def test_grading_refuses_without_a_sandbox_and_says_how_to_proceed(tmp_path):
    env = {**os.environ, "PATH": "/nonexistent"}  # no bwrap on this PATH
    proc = subprocess.run([str(BIN / "curvature-lab"), "grade", str(tmp_path),
                           "--out", str(tmp_path / "out")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert "Refusing to grade" in proc.stdout and "--no-sandbox" in proc.stdout
    assert "bubblewrap" in proc.stdout


# --------------------------------------------------------------------------- the sandbox


@pytest.mark.slow
def test_a_sandboxed_kernel_sees_nothing_it_should_not(tmp_path):
    """A kernel started the way nbgrader starts it: cleared environment, no network, only its
    own folder writable, memory and process limits it cannot raise."""
    ensure_sandbox()
    from jupyter_client.manager import KernelManager

    jupyter, work, runtime = tmp_path / "jupyter", tmp_path / "work", Path(
        __import__("tempfile").mkdtemp(prefix=sandbox.RUNTIME_PREFIX, dir="/tmp"))
    work.mkdir()
    (tmp_path / "sandboxes").mkdir()
    (tmp_path / "secret.txt").write_text("instructor only")
    sandbox.write_kernelspec(jupyter)
    env = {"JUPYTER_PATH": str(jupyter), "TMPDIR": str(runtime),
           sandbox.ROOT_ENV: str(tmp_path / "sandboxes"), "CURVATURE_LAB_GRADING_SEED": "1234",
           sandbox.LIMITS_ENV: json.dumps({"memory_bytes": 3 * 2**30, "processes": 32})}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    km = KernelManager(kernel_name=sandbox.KERNEL_NAME, transport="ipc",
                       connection_file=str(runtime / "kernel.json"), ip=str(runtime / "kernel"))
    try:
        km.start_kernel(cwd=str(work))
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        probe = r'''
import json, os, resource, socket
r = {"env": sorted(os.environ), "cwd": os.getcwd()}
r["secret"] = os.path.exists(SECRET)
r["home"] = sorted(os.listdir(HOME)) if os.path.isdir(HOME) else []
try:
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2); r["raised"] = True
except (ValueError, OSError):
    r["raised"] = False
try:
    socket.create_connection(("127.0.0.1", 22), timeout=1); r["net"] = True
except OSError:
    r["net"] = False
open("note.txt", "w").write("x")
print("RESULT" + json.dumps(r))
'''.replace("SECRET", repr(str(tmp_path / "secret.txt"))).replace("HOME", repr(str(Path.home())))
        outputs = []
        kc.execute_interactive(probe, timeout=60,
                               output_hook=lambda m: outputs.append(m["content"].get("text", "")))
        text = "".join(outputs)
        result = json.loads(text.split("RESULT", 1)[1])
    finally:
        km.shutdown_kernel(now=True)
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert "CURVATURE_LAB_GRADING_SEED" not in result["env"]
    assert result["secret"] is False
    # of the instructor's home, at most the folders on the way to the Python installation
    home = Path.home().resolve()
    needed = {Path(p).resolve().relative_to(home).parts[0] for p in (sys.base_prefix, sys.prefix)
              if Path(p).resolve().is_relative_to(home)}
    assert set(result["home"]) <= needed, result["home"]
    assert result["raised"] is False and result["net"] is False
    assert result["cwd"] == str(work)
    assert not (work / "note.txt").exists()  # written into the private copy, not the course


# --------------------------------------------------------------------------- a hostile round


class _Listener:
    """A loopback TCP server the network attack tries to reach (bounded: it stops itself)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        deadline = time.monotonic() + 1800
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                continue

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


def _rows(path: Path) -> dict[str, dict]:
    with open(path, newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def _marker_processes(marker: str) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmd:
                found.append(cmd[:120])
    return found


@pytest.fixture(scope="module")
def hostile_round(tmp_path_factory):
    ensure_sandbox()
    base = tmp_path_factory.mktemp("hostile")
    subs = base / "submitted"
    listener = _Listener()
    try:
        made = threats.threat_cases(subs, listener.port)
        threats.honest_cases(subs)
        before = {p: p.read_bytes() for p in subs.rglob("*.ipynb")}
        env = {**os.environ, "CURVATURE_LAB_TIME_LIMIT": "3",
               "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        started = time.monotonic()
        proc = subprocess.run(
            [str(BIN / "curvature-lab"), "grade", str(subs), "--out",
             str(base / "out"), "--seed", SEED, "--workers", "2", "--cell-timeout", "10",
             "--student-timeout", "300"], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=1800)
        seconds = time.monotonic() - started
        time.sleep(2)  # a daemon that survived would rewrite grades.csv by now
        connections = listener.connections
    finally:
        listener.close()
    print(proc.stdout[-8000:])
    print(f"[timing] hostile round: {seconds:.0f} s")
    return {"base": base, "out": base / "out", "proc": proc, "made": made, "before": before,
            "connections": connections, "subs": subs}


@pytest.mark.slow
def test_hostile_submissions_earn_nothing_and_canaries_keep_full_marks(hostile_round):
    proc = hostile_round["proc"]
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    rows = _rows(hostile_round["out"] / "grades.csv")
    for canary in ("canary_a", "canary_z"):
        assert float(rows[canary]["total"]) == 21 and not rows[canary]["flags"], rows[canary]
    for student in hostile_round["made"]:
        assert float(rows[student]["total"]) == 0, (student, rows[student])
    # the reference by run-time names: those two parts 0; copied source: the part 0
    runtime = _rows(hostile_round["out"] / "grades_03_newton.csv")["hostile_runtime_names"]
    assert float(runtime["newton_iterate"]) == 0 and float(runtime["newton_globalized"]) == 0
    assert float(runtime["total"]) == 21 - 5 - 4
    copied = _rows(hostile_round["out"] / "grades_03_newton.csv")["hostile_copied_source"]
    assert float(copied["newton_iterate"]) == 0 and float(copied["newton_step"]) == 5


@pytest.mark.slow
def test_every_hostile_submission_is_flagged_with_its_cause(hostile_round):
    rows = _rows(hostile_round["out"] / "grades.csv")
    causes = {
        "hostile_gradebook": "reaches for files outside its own folder",
        "hostile_neighbours": "reaches for files outside its own folder",
        "hostile_daemon": "starts processes",
        "hostile_environment": "reads the environment",
        "hostile_network": "opens network connections",
        "hostile_memory_cap": "changes resource limits",
        "hostile_processes": "starts processes",
        "hostile_receipts": "without printing their receipt",
        "hostile_runtime_names": "forbidden routine called through a name built at run time",
        "hostile_copied_source": "copied",
    }
    for student, cause in causes.items():
        assert cause in rows[student]["flags"], (student, rows[student]["flags"])
        # one line per cause
        lines = rows[student]["flags"].split(" | ")
        assert len(lines) == len(set(lines))


@pytest.mark.slow
def test_nothing_outside_the_sandboxes_was_touched(hostile_round):
    out = hostile_round["out"]
    assert "Integrity:" in hostile_round["proc"].stdout
    assert "INTEGRITY CHECK FAILED" not in hostile_round["proc"].stdout
    for path, data in hostile_round["before"].items():
        assert path.read_bytes() == data, path
    assert hostile_round["connections"] == 0
    assert "evil" not in (out / "grades.csv").read_text()
    assert not _marker_processes(str(hostile_round["base"])), "a process outlived the round"
    # nothing the environment attack printed carries a secret of the round
    graded = out / "course" / "autograded" / "hostile_environment" / "03_newton" / \
        "03_newton.ipynb"
    printed = "".join("".join(out.get("text", "")) for cell in json.loads(graded.read_text())[
        "cells"] for out in cell.get("outputs", []))
    assert "seed None key None" in printed
    assert SEED not in printed and "CURVATURE_LAB_GRADING_SEED" not in printed
    assert "gradebook" not in "".join(re.findall(r"gradebooks seen: \[(.*?)\]", (
        out / "course" / "autograded" / "hostile_gradebook" / "03_newton" /
        "03_newton.ipynb").read_text()))


@pytest.mark.slow
def test_honest_students_lose_only_the_cell_that_went_wrong(hostile_round):
    rows = _rows(hostile_round["out"] / "grades.csv")
    for student, words in (("honest_uninterruptible", "did not answer the interrupt"),
                           ("honest_dies", "exited with status 3")):
        assert float(rows[student]["total"]) == 21, rows[student]
        assert "was skipped and the rest graded without it" in rows[student]["flags"]
        assert words in rows[student]["flags"], rows[student]["flags"]
        page = (hostile_round["out"] / "feedback" / student / "03_newton" / "03_newton.html")
        assert page.exists(), student


@pytest.mark.slow
def test_feedback_shows_no_grader_paths_keys_or_seeds(hostile_round):
    paths = [str(ROOT), sys.prefix, sys.base_prefix]
    for page in (hostile_round["out"] / "feedback").rglob("*.html"):
        text = page.read_text()
        assert "_receipt=" not in text and "_use_seed" not in text, page
        assert not any(p in text for p in paths), page


@pytest.mark.slow
def test_without_the_sandbox_tampering_is_still_detected_and_fails_the_round(tmp_path):
    """--no-sandbox: a submission that writes a neighbour's file and an earlier round's
    gradebook entries is caught by the trusted side's digests (exit status 3, flags)."""
    blank = build.student_version("03_newton")
    right = build.solution_code("03_newton")
    first, second = tmp_path / "first", tmp_path / "second"
    build.write(first, "earlier", "03_newton", build.fill(blank, right))
    victim = build.write(second, "victim", "03_newton", build.fill(blank, right))
    out = tmp_path / "out"
    attack = (f"import sqlite3\nopen({str(victim)!r}, 'w').write('{{}}')\n"
              f"db = sqlite3.connect({str(out / 'course' / 'gradebook.db')!r})\n"
              "db.execute('update grade set auto_score = 0')\ndb.commit()\n")
    build.write(second, "tamperer", "03_newton", build.fill(blank, {"newton_step": attack}))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [str(BIN / "curvature-lab"), "grade", "--out", str(out), "--seed",
               SEED, "--workers", "1", "--no-feedback", "--no-sandbox"]
    proc = subprocess.run([*command[:2], str(first), *command[2:]], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    proc = subprocess.run([*command[:2], str(second), *command[2:]], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 3, proc.stdout[-3000:]
    assert "WITHOUT the sandbox" in proc.stdout and "INTEGRITY CHECK FAILED" in proc.stdout
    assert f"submitted file {victim} was changed" in proc.stdout
    assert "gradebook entry earlier/03_newton was changed" in proc.stdout
    rows = _rows(out / "grades.csv")
    assert "INTEGRITY" in rows["victim"]["flags"]
    assert float(rows["victim"]["total"]) == 21  # graded from the copy taken before the round
