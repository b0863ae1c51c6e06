"""Grade a round of Curvature Lab submissions with nbgrader: autograde, feedback, CSV, summary.

    .venv/bin/python tools/grade.py SUBMISSIONS [--out grading] [--workers 2] [--seed S]
    make grade SUBMISSIONS=path [WORKERS=2] [SEED=S]

SUBMISSIONS is a folder in nbgrader's layout ``<student>/<assignment>/<assignment>.ipynb``
(a folder that contains ``submitted/`` is fine too) or a zip of one. The script

1. builds a course directory (``OUT/course``: the nbgrader config, a copy of ``solutions/`` or
   of ``--solutions``, the gradebook) and runs ``nbgrader generate_assignment`` for each
   assignment that was submitted;
2. checks every submission before nbgrader sees it: a missing, empty, corrupt or renamed
   notebook, test cells deleted, edited, duplicated, retyped or with changed points are
   flagged (nbgrader restores the test cells from the source; unusable notebooks score 0);
3. runs ``nbgrader autograde`` once per submission in its own process (a kernel crash or a
   hang costs that student only; ``--student-timeout`` caps the wall clock), ``--workers``
   at a time, printing progress;
4. verifies the receipts: a test cell that earned points without printing the receipt of
   :func:`hessian_lab.grading.check` (keyed by a secret drawn for this run) did not run as
   written, so its score is set to 0 in the gradebook and the submission is flagged;
5. runs ``nbgrader generate_feedback`` and writes, into ``OUT``: ``grades.csv`` (one row per
   submission: total, maximum, flags), ``grades_<assignment>.csv`` (points per part),
   ``grades_<assignment>.png`` (histogram of totals), ``feedback/`` and ``logs/``; then
   prints a summary (mean and spread per part, flagged submissions and why).

The hidden tests draw their inputs from ``--seed`` (or ``CURVATURE_LAB_GRADING_SEED``); keep it
private until the round is over. Exit status: 0 when every submission was graded (flags
included), 1 when nbgrader itself failed in a way that left submissions ungraded (e.g. a
grading process killed from outside: run the same command again to grade what is left).

The gradebook is nbgrader's SQLite file ``OUT/course/gradebook.db`` unless ``--db-url`` or
``CURVATURE_LAB_GRADEBOOK_URL`` names another SQLAlchemy URL, e.g. a PostgreSQL server
(``postgresql://user@host:5432/gradebook``; the password belongs in ``~/.pgpass``). Every
nbgrader run of the round gets that URL. Workers are independent ``nbgrader autograde``
processes, one student each, sharing the gradebook.

Grading resumes: a submission whose notebook, seed, solutions and limits are unchanged since it
was last graded in this course directory (and that the gradebook still holds) is not graded
again, so a round that was interrupted finishes by running the same command again.
``--regrade`` grades everything anew.
"""

from __future__ import annotations

import argparse
import compileall
import concurrent.futures
import csv
import hashlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from . import sandbox, trust

PACKAGE = Path(__file__).resolve().parents[1]  # hessian_lab: the checks and the library
BIN = Path(sys.executable).parent
MAX_NOTEBOOK_BYTES = 50 * 2**20
DB_URL_ENV = "CURVATURE_LAB_GRADEBOOK_URL"
TIMED_OUT = -1000  # _nbgrader's exit code when grade.py itself stopped the run
STATE_DIR = ".grade-state"  # in the course directory: one record per graded submission
# nbgrader, started without the optional rfc3987_syntax: jsonschema imports it when present and
# it builds a grammar on import (1.3-1.7 s of the 3 s an nbgrader process takes to start here);
# notebooks' JSON schema uses none of the formats it checks. Measured by
# benchmarks/grading_throughput.py; see the README ("Grading a course of hundreds").
NBGRADER = ("import sys; sys.modules['rfc3987_syntax'] = None; sys.argv[0] = 'nbgrader'; "
            "from nbgrader.apps.nbgraderapp import main; sys.exit(main())")


@dataclass
class Submission:
    student: str
    assignment: str
    origin: Path | None  # the student's folder for this assignment
    notebook: Path | None = None  # the notebook to grade (None: nothing gradable)
    flags: list[str] = field(default_factory=list)
    parts: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    max_total: float = 0.0
    graded: bool = False
    seconds: float = 0.0
    receipted: set[str] = field(default_factory=set)  # tests whose receipt was printed
    killed: bool = False  # nbgrader was stopped from outside: not graded, re-run to grade
    resumed: bool = False  # graded by an earlier run of the same round
    tests: dict[str, tuple[float, float]] = field(default_factory=dict)  # id: (score, max)
    outputs: dict[str, str] = field(default_factory=dict)  # id: what the test cell printed


# --------------------------------------------------------------------------- collecting


def find_submissions(path: Path, scratch: Path, assignments) -> list[Submission]:
    """The (student, assignment) folders under ``path`` (a folder or a zip)."""
    if path.is_file() and zipfile.is_zipfile(path):
        target = scratch / "unzipped"
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                name = Path(member.filename)
                if name.is_absolute() or ".." in name.parts:
                    continue  # no writing outside the scratch folder
                archive.extract(member, target)
        path = target
    if not path.is_dir():
        raise SystemExit(f"{path} is neither a folder nor a zip file")
    for candidate in (path / "submitted", *path.glob("*/submitted")):
        if candidate.is_dir():
            path = candidate
            break
    if _looks_like_assignment_level(path, assignments):
        raise SystemExit(f"{path} holds assignment folders directly; expected "
                         "<student>/<assignment>/ (nbgrader's submitted/ layout)")
    found = []
    for student_dir in sorted(p for p in path.iterdir() if p.is_dir()):
        if student_dir.name.startswith((".", "__")):
            continue
        for assignment_dir in sorted(p for p in student_dir.iterdir() if p.is_dir()):
            if assignment_dir.name in assignments:
                found.append(Submission(student_dir.name, assignment_dir.name, assignment_dir))
            elif not assignment_dir.name.startswith((".", "__")):
                print(f"  ignoring {student_dir.name}/{assignment_dir.name}: not an assignment")
    return found


def _looks_like_assignment_level(path: Path, assignments) -> bool:
    return any((path / name).is_dir() for name in assignments)


def _read_notebook(path: Path):
    """(notebook dict, problem text or '')."""
    size = path.stat().st_size
    if size == 0:
        return None, "the notebook file is empty"
    if size > MAX_NOTEBOOK_BYTES:
        return None, f"the notebook is {size / 2**20:.0f} MB (limit {MAX_NOTEBOOK_BYTES >> 20})"
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"the notebook is not valid JSON ({type(exc).__name__}: {exc})"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None, "the file is JSON but not a notebook (no list of cells)"
    try:
        import nbformat

        nbformat.validate(nbformat.reads(json.dumps(nb), as_version=4))
    except Exception as exc:  # noqa: BLE001 - any validation problem
        return None, f"the notebook does not validate ({type(exc).__name__}: {str(exc)[:120]})"
    return nb, ""


def _grade_cells(nb: dict) -> dict[str, list[dict]]:
    cells: dict[str, list[dict]] = {}
    for cell in nb.get("cells", []):
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if isinstance(meta, dict) and meta.get("grade_id") and (meta.get("grade")
                                                                or meta.get("locked")):
            cells.setdefault(meta["grade_id"], []).append(cell)
    return cells


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def inspect_submission(sub: Submission, release_nb: dict, expected_name: str,
                       repaired_dir: Path) -> None:
    """Find the notebook to grade and flag what was changed in its locked cells."""
    expected = sub.origin / expected_name
    if not expected.exists():
        others = sorted(sub.origin.glob("*.ipynb"))
        if len(others) == 1:
            sub.flags.append(f"notebook renamed to {others[0].name} (graded as {expected_name})")
            expected = others[0]
        else:
            sub.flags.append(f"missing notebook {expected_name}"
                             + (f" (found {', '.join(p.name for p in others)})" if others else ""))
            return
    nb, problem = _read_notebook(expected)
    if nb is None:
        sub.flags.append(problem)
        return
    sub.notebook = expected
    sub.flags.extend(trust.suspicious_code(nb))
    repaired = False
    want, have = _grade_cells(release_nb), _grade_cells(nb)
    for grade_id, cells in want.items():
        ref = cells[0]
        got = have.get(grade_id, [])
        if not got:
            sub.flags.append(f"cell {grade_id} deleted or its nbgrader metadata stripped")
            continue
        if len(got) > 1:
            sub.flags.append(f"cell {grade_id} duplicated ({len(got)} copies)")
        cell = got[0]
        if cell.get("cell_type") != ref.get("cell_type"):
            sub.flags.append(f"cell {grade_id} changed from {ref.get('cell_type')} to "
                             f"{cell.get('cell_type')}")
            cell.clear()
            cell.update(json.loads(json.dumps(ref)))  # nbgrader refuses retyped cells
            repaired = True
        elif _source(cell).strip() != _source(ref).strip():
            sub.flags.append(f"locked cell {grade_id} edited")
        ref_points = (ref["metadata"]["nbgrader"]).get("points")
        points = (cell["metadata"]["nbgrader"]).get("points")
        if ref_points is not None and points != ref_points:
            sub.flags.append(f"points of {grade_id} changed ({ref_points} -> {points})")
    # graded from a copy taken now, in the trusted scratch folder: whatever happens to the
    # submitted file later (another submission's code, a sync client) changes nothing here
    snapshot = repaired_dir / f"{sub.student}__{sub.assignment}.ipynb"
    if repaired:
        snapshot.write_text(json.dumps(nb), encoding="utf-8")
    else:
        snapshot.write_bytes(expected.read_bytes())
    sub.notebook = snapshot
    restored = [f for f in sub.flags if f.startswith(("cell ", "locked cell", "points of"))]
    if restored:
        sub.flags.append("the test cells were restored from the source before grading")


# --------------------------------------------------------------------------- nbgrader runs


def _env(args, scratch: Path) -> dict:
    """The environment of the round's nbgrader processes (the trusted side).

    The seed and the receipt keys are not in it: they reach a kernel only inside the restored
    test cells. A sandboxed kernel starts from an empty environment anyway (tools/sandbox.py).
    """
    env = dict(os.environ)
    env.pop(DB_URL_ENV, None)  # the gradebook's address (maybe with a password) stays out of
    # the grading kernels' environment: nbgrader gets it on its command line
    for name in ("CURVATURE_LAB_GRADING_SEED", "CURVATURE_LAB_RECEIPT_KEY"):
        env.pop(name, None)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["CURVATURE_LAB_MEMORY_GB"] = str(args.memory_gb)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    env["MPLBACKEND"] = "Agg"
    if not args.no_sandbox:
        jupyter = scratch / "jupyter"
        sandbox.write_kernelspec(jupyter)
        (scratch / "sandboxes").mkdir(exist_ok=True)
        env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(jupyter),
                                                             env.get("JUPYTER_PATH", "")]))
        env[sandbox.ROOT_ENV] = str(scratch / "sandboxes")
        env[sandbox.LIMITS_ENV] = json.dumps({
            # the hard address-space cap: the in-kernel cap plus what a kernel starts with
            "memory_bytes": int((args.memory_gb + 1.5) * 2**30),
            "cpu_seconds": int(args.student_timeout),
            "processes": 64, "in_kernel_memory_gb": args.memory_gb})
    return env


def gradebook_url(course: Path, url: str | None = None) -> str:
    """The gradebook's SQLAlchemy URL: ``url``, else ``$CURVATURE_LAB_GRADEBOOK_URL``, else the
    SQLite file ``course/gradebook.db``.

    A bare ``postgresql://`` URL gets the psycopg2 driver the lock installs (SQLAlchemy 2.1
    would otherwise look for psycopg 3). SQLite waits up to 60 s for a lock instead of 5 s.

    >>> gradebook_url(Path("/c"), "postgresql://grader@db:5432/gradebook")
    'postgresql+psycopg2://grader@db:5432/gradebook'
    >>> gradebook_url(Path("/c"), "")[:30]
    'sqlite:////c/gradebook.db?time'
    """
    url = (url or os.environ.get(DB_URL_ENV, "")).strip()
    if not url:
        url = f"sqlite:///{course / 'gradebook.db'}?timeout=60"
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            url = "postgresql+psycopg2://" + url[len(bare):]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _nbgrader(args, course: Path, env: dict, timeout: float, extra=(),
              db_url: str | None = None) -> tuple[int, str]:
    cmd = [sys.executable, "-c", NBGRADER, *args, f"--CourseDirectory.root={course}",
           f"--CourseDirectory.db_url={db_url or gradebook_url(course)}", *extra]
    proc = subprocess.Popen(cmd, cwd=course, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: nbgrader and its kernel
        out, _ = proc.communicate()
        return TIMED_OUT, (out or "") + f"\n[grade.py] killed after {timeout:g} s"


COURSE_CONFIG = """
# --- added by tools/grade.py for this grading round -------------------------------------
from nbconvert.preprocessors import ClearMetadataPreprocessor as _ClearMetadata
from nbgrader.preprocessors import (AssignLatePenalties as _Late, CheckCellMetadata as _Check,
                                    IgnorePattern as _Ignore, LimitOutput as _Limit,
                                    SaveAutoGrades as _Save)
from hessian_lab.course.resilient_execute import ResilientExecute as _ResilientExecute
# nbgrader's own list, with Execute replaced by one that loses only a hung or fatal cell
c.Autograde.autograde_preprocessors = [_ResilientExecute, _Ignore, _ClearMetadata, _Limit,
                                       _Save, _Late, _Check]
# after a timeout's interrupt, wait this long for the kernel to finish a call into C
c.Execute.iopub_timeout = 15
"""
SANDBOX_CONFIG = """
# every grading kernel in its own bubblewrap sandbox (tools/sandbox.py), reached over IPC
c.Execute.kernel_name = {kernel!r}
c.KernelManager.transport = "ipc"
"""


def prepare_course(course: Path, solutions: Path, assignments, env, db_url: str,
                   args) -> tuple[dict, dict]:
    """Build the course directory; returns ({assignment: release notebook},
    {grade_id: receipt key})."""
    course.mkdir(parents=True, exist_ok=True)
    # bytecode for the grading module, once, so no kernel compiles it (PYTHONDONTWRITEBYTECODE)
    try:
        compileall.compile_dir(PACKAGE, quiet=2)
    except OSError:  # a read-only install: the kernels compile it then, a little slower
        pass
    config = (args.course / "nbgrader_config.py").read_text()
    config += COURSE_CONFIG
    if not args.no_sandbox:
        config += SANDBOX_CONFIG.format(kernel=sandbox.KERNEL_NAME)
    (course / "nbgrader_config.py").write_text(config)
    releases, keys = {}, {}
    for name in assignments:
        target = course / "solutions" / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(solutions / name, target)
        # first the student version as released (what submissions are compared with), then
        # the round's secrets into the test cells, which nbgrader restores from its gradebook
        for step in ("release", "secrets"):
            if step == "secrets":
                keys.update(trust.add_round_secrets(target / f"{name}.ipynb", args.seed))
            code, out = _nbgrader(["generate_assignment", name, "--force"], course, env, 600,
                                  db_url=db_url)
            if code != 0:
                raise SystemExit(f"nbgrader generate_assignment {name} failed:\n{out[-3000:]}")
            if step == "release":
                releases[name] = json.loads(
                    (course / "exercises" / name / f"{name}.ipynb").read_text())
    # the student versions that carry the secrets are of no use to anybody: not kept
    shutil.rmtree(course / "exercises", ignore_errors=True)
    return releases, keys


def autograde(sub: Submission, course: Path, expected_name: str, env, args) -> str:
    """One ``nbgrader autograde`` of one student, in its own process group."""
    _state_path(course, sub).unlink(missing_ok=True)
    target = course / "submitted" / sub.student / sub.assignment
    for stale in (target, course / "autograded" / sub.student / sub.assignment,
                  course / "feedback" / sub.student / sub.assignment):
        if stale.exists():
            shutil.rmtree(stale)
    target.mkdir(parents=True)
    shutil.copy2(sub.notebook, target / expected_name)
    log, earlier = "", ""
    # the kernel's connection file and IPC sockets: a folder of its own (mounted into the
    # sandbox), with a short path (a socket's path has at most 107 characters)
    runtime = Path(tempfile.mkdtemp(prefix=sandbox.RUNTIME_PREFIX, dir="/tmp"))
    report = runtime / "execution-report.json"
    extra = [f"--Execute.timeout={args.cell_timeout}"]
    if not args.no_sandbox:
        extra.append(f"--KernelManager.ip={runtime}/kernel")
    run_env = {**env, "TMPDIR": str(runtime), "CURVATURE_LAB_EXECUTION_REPORT": str(report)}
    try:
        for _attempt in range(3):
            report.unlink(missing_ok=True)
            code, log = _nbgrader(["autograde", sub.assignment, "--student", sub.student,
                                   "--force"], course, run_env, args.student_timeout, extra,
                                  db_url=args.db_url)
            if "database is locked" not in log:
                break
            earlier += log + "\n[grade.py] the gradebook was locked: autograding again\n"
            time.sleep(1.0)
        executed = json.loads(report.read_text()) if report.exists() else {}
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    log = trust.filter_log(earlier + log, args.routine)  # the log keeps every attempt
    for _, reason in sorted((executed.get("skipped") or {}).items(), key=lambda kv:
                            int(kv[0])):
        label, _, why = reason.partition(": ")
        sub.flags.append(f"{label} was skipped and the rest graded without it: {why}")
    if code == TIMED_OUT:
        sub.flags.append(f"grading stopped after {args.student_timeout:g} s (student time cap)")
    elif code < 0:  # a signal from outside (an OOM killer, an evicted pod, a test)
        sub.killed = True
        sub.flags.append(f"the grading process was killed (signal {-code}); not graded: "
                         "run grade.py again to grade it")
    elif executed.get("fatal"):
        sub.flags.append("could not grade: " + executed["fatal"] + (
            f" (after skipping {len(executed.get('skipped') or {})} cells)"
            if executed.get("skipped") else ""))
    elif not executed and re.search(r"DeadKernelError|Kernel died|kernel died", log):
        sub.flags.append("could not grade: the kernel died before the notebook ran")
    elif "old version of the nbgrader metadata" in log or "metadata format" in log:
        sub.flags.append("nbgrader rejected the notebook: its locked cells' metadata were "
                         "changed (cells retyped, copied or edited); 0 until reviewed by hand")
    elif code != 0 or "There was an error processing" in log:
        last = [line for line in log.splitlines() if ("ERROR" in line or "Error" in line)
                and "see the above traceback" not in line]
        sub.flags.append("could not grade: nbgrader failed: " + (
            last[-1].strip()[:200] if last else f"exit status {code}"))
    if not sub.killed:
        sub.receipted = _receipted(course, sub, args.keys)
        graded = course / "autograded" / sub.student / sub.assignment / expected_name
        if graded.exists():
            sub.flags.extend(trust.timeout_flags(graded, args.cell_timeout))
            sub.flags.extend(trust.review_flags(_cell_outputs(graded, errors=True)))
            trust.clean_outputs(graded)
    return log


def _cell_outputs(path: Path, errors: bool = False) -> dict[str, str]:
    """The stream output (and with ``errors``, the error messages) of every graded cell of a
    notebook, by grade id."""
    outputs = {}
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        grade_id = ((cell.get("metadata") or {}).get("nbgrader") or {}).get("grade_id")
        if grade_id:
            texts = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream":
                    texts.append(_source({"source": out.get("text", "")}))
                elif errors and out.get("output_type") == "error":
                    texts.append(str(out.get("evalue", "")))
            outputs[grade_id] = "".join(texts)
    return outputs


def _receipted(course: Path, sub: Submission, keys: dict[str, str]) -> set[str]:
    """The tests of an autograded notebook that printed this round's receipt (each test cell
    has its own key, written into the restored cell by the trusted side)."""
    from hessian_lab.grading import receipt, test_catalogue

    tests = test_catalogue()
    path = course / "autograded" / sub.student / sub.assignment / f"{sub.assignment}.ipynb"
    if not path.exists():
        return set()
    return {gid for gid, text in _cell_outputs(path).items()
            if gid in tests and gid in keys
            and f"[receipt {gid}:{receipt(gid, key=keys[gid])}]" in text}


# --------------------------------------------------------------------------- resuming


def _state_path(course: Path, sub: Submission) -> Path:
    return course / STATE_DIR / f"{sub.student}__{sub.assignment}.json"


def fingerprint(sub: Submission, args, solutions: Path) -> str:
    """What a grade depends on: the notebook, the source, the seed, the limits, the checks."""
    digest = hashlib.sha256()
    for path in (sub.notebook, solutions / sub.assignment / f"{sub.assignment}.ipynb",
                 *sorted((PACKAGE / "grading").glob("*.py")), PACKAGE / "_monitor.py"):
        digest.update(path.read_bytes())
        digest.update(b"\0")
    limits = (args.seed, args.cell_timeout, args.student_timeout, args.memory_gb,
              os.environ.get("CURVATURE_LAB_TIME_LIMIT"))
    digest.update(repr(limits).encode())
    return digest.hexdigest()


def save_state(course: Path, sub: Submission, fprint: str, flags: list[str]) -> None:
    """Record a finished autograde (written last and atomically: a killed run leaves none)."""
    path = _state_path(course, sub)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"fingerprint": fprint, "flags": flags,
                               "receipted": sorted(sub.receipted)}))
    os.replace(tmp, path)


def resume(course: Path, sub: Submission, fprint: str, gb) -> bool:
    """Take the result of an earlier run when it graded this very submission."""
    path = _state_path(course, sub)
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    if state.get("fingerprint") != fprint:
        return False
    try:
        gb.find_submission_notebook(sub.assignment, sub.assignment, sub.student)
    except Exception:  # noqa: BLE001 - not in this gradebook (another database?)
        return False
    sub.flags.extend(state["flags"])
    sub.receipted = set(state["receipted"])
    sub.resumed = True
    return True


def collect_scores(sub: Submission, course: Path, gb, catalogue, check_receipts: bool = True
                   ) -> None:
    """Scores per test and part from the gradebook, after checking the receipts (a test that
    earned points without its receipt is set to 0 there). The submission is flagged in the
    gradebook (the formgrader's flag) when it has flags.

    ``check_receipts=False`` reads the scores as they are now (``curvature-lab export``, after
    a review in the formgrader: the receipts were checked when the round ran)."""
    nb_name = sub.assignment
    graded_path = course / "autograded" / sub.student / sub.assignment / f"{nb_name}.ipynb"
    try:
        record = gb.find_submission_notebook(nb_name, sub.assignment, sub.student)
    except Exception:  # noqa: BLE001 - no submission in the gradebook
        record = None
    if sub.killed or record is None or not graded_path.exists():
        if check_receipts and not any(
                "kernel died" in f or "could not grade" in f or "stopped after" in f
                or "was killed" in f for f in sub.flags):
            sub.flags.append("no autograded notebook (grading failed)")
        return
    changed = False
    sub.parts, sub.tests, sub.total = {}, {}, 0.0
    for grade in record.grades:
        if grade.name not in catalogue:
            continue
        part = catalogue[grade.name]["part"]
        sub.parts.setdefault(part, 0.0)
        auto = grade.auto_score or 0.0
        if check_receipts and auto > 0 and grade.name not in sub.receipted:
            sub.flags.append(f"{grade.name} earned points without its receipt: the test did not "
                             "run as written (set to 0)")
            grade.manual_score = 0.0
            changed = True
        score = grade.manual_score if grade.manual_score is not None else auto
        sub.parts[part] += score
        sub.total += score
        sub.tests[grade.name] = (score, float(grade.max_score or 0.0))
    if check_receipts and bool(sub.flags) != bool(record.flagged):
        record.flagged = bool(sub.flags)  # the formgrader lists it with a flag
        changed = True
    if changed:
        gb.db.commit()
    sub.outputs = test_outputs(graded_path)
    sub.graded = True


def test_outputs(notebook: Path) -> dict[str, str]:
    """{grade id: what the test cell showed} in an autograded notebook (already cleaned of the
    round's secrets), for the per-student results."""
    try:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = {}
    for cell in nb.get("cells", []):
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if not meta.get("grade") or cell.get("cell_type") != "code":
            continue
        texts = []
        for out in cell.get("outputs", []) or []:
            if out.get("output_type") == "stream":
                texts.append("".join(out.get("text", "")))
            elif out.get("output_type") == "error":
                texts.append(f"{out.get('ename', 'Error')}: {out.get('evalue', '')}")
        text = trust.strip_receipts("".join(t if t.endswith("\n") else t + "\n" for t in texts))
        found[meta.get("grade_id", "")] = text.strip()
    return found


# --------------------------------------------------------------------------- reports


def part_names(assignment: str, catalogue) -> list[str]:
    seen = []
    for info in catalogue.values():
        if info["assignment"] == assignment and info["part"] not in seen:
            seen.append(info["part"])
    return seen


def max_points(release_nb: dict, catalogue) -> dict[str, float]:
    result: dict[str, float] = {}
    for grade_id, cells in _grade_cells(release_nb).items():
        meta = cells[0]["metadata"]["nbgrader"]
        if meta.get("grade") and grade_id in catalogue:
            part = catalogue[grade_id]["part"]
            result[part] = result.get(part, 0.0) + float(meta.get("points", 0))
    return result


def write_reports(subs, out: Path, catalogue, maxima, roster: Path | None = None
                  ) -> list[Path]:
    written = []
    with open(out / "grades.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", "total", "max", "graded", "flags"])
        for s in subs:
            writer.writerow([s.student, s.assignment, f"{s.total:g}", f"{s.max_total:g}",
                             int(s.graded), " | ".join(s.flags)])
    written.append(out / "grades.csv")
    for assignment in sorted({s.assignment for s in subs}):
        parts = part_names(assignment, catalogue)
        rows = [s for s in subs if s.assignment == assignment]
        path = out / f"grades_{assignment}.csv"
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["student", *parts, "total", "max", "flags"])
            for s in rows:
                writer.writerow([s.student, *(f"{s.parts.get(p, 0.0):g}" for p in parts),
                                 f"{s.total:g}", f"{s.max_total:g}", " | ".join(s.flags)])
        written.append(path)
        written.append(histogram(assignment, [s.total for s in rows],
                                 sum(maxima[assignment].values()), out))
    written.append(write_canvas_csv(subs, out / "canvas_grades.csv", maxima, roster))
    written.extend(write_gradescope_results(subs, out / "gradescope", catalogue))
    return written


# Canvas's gradebook import: these identity columns, then one column per assignment, named
# "<name> (<Canvas assignment id>)" for an existing assignment (a bare name creates a new one),
# and an optional "Points Possible" row. A blank score leaves Canvas's grade as it is.
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


def read_canvas_roster(path: Path | None) -> tuple[dict[str, dict], dict[str, str]]:
    """From a Canvas gradebook export: ({SIS Login ID: identity row}, {assignment name:
    its column header}). Empty without an export."""
    if path is None:
        return {}, {}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    lacking = [c for c in CANVAS_IDENTITY if not rows or c not in rows[0]]
    if lacking:
        raise SystemExit(f"{path} is not a Canvas gradebook export: its header lacks "
                         f"{', '.join(lacking)}")
    students = {}
    for row in rows:
        login = (row.get("SIS Login ID") or "").strip()
        if login and not (row.get("Student") or "").strip().startswith("Points Possible"):
            students[login] = {c: row.get(c, "") for c in CANVAS_IDENTITY}
    columns = {}
    for header in rows[0]:
        match = re.fullmatch(r"(.+?) \((\d+)\)", header.strip())
        if match:
            columns[match.group(1).strip()] = header
    return students, columns


def write_canvas_csv(subs, path: Path, maxima, roster: Path | None = None) -> Path:
    """``canvas_grades.csv``: one row per student, one column per assignment (the total), in
    the shape of Canvas's gradebook import. Students are matched by SIS Login ID, which is the
    nbgrader student id; with ``roster`` (a Canvas export) the other identity columns and the
    assignments' column headers come from it."""
    students, columns = read_canvas_roster(roster)
    assignments = sorted({s.assignment for s in subs})
    headers = [columns.get(a, a) for a in assignments]
    scores: dict[str, dict[str, str]] = {}
    for s in subs:
        # what grades.csv says (an unusable or rejected notebook scores 0), except a submission
        # whose grading process was killed from outside: blank, so Canvas keeps what it has
        scores.setdefault(s.student, {})[s.assignment] = "" if s.killed else f"{s.total:g}"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*CANVAS_IDENTITY, *headers])
        writer.writerow(["    Points Possible", "", "", "", "",
                         *(f"{sum(maxima[a].values()):g}" for a in assignments)])
        for student in sorted(scores):
            who = students.get(student) or {"Student": student, "SIS Login ID": student}
            writer.writerow([*(who.get(c, "") for c in CANVAS_IDENTITY),
                             *(scores[student].get(a, "") for a in assignments)])
    return path


def write_gradescope_results(subs, folder: Path, catalogue) -> list[Path]:
    """``gradescope/<assignment>/<student>/results.json``: each submission's result in the
    format of Gradescope's autograder results (``score``, ``output``, ``tests`` with ``name``,
    ``number``, ``score``, ``max_score``, ``status``, ``output``, ``tags``, ``visibility``)."""
    written = []
    for s in subs:
        tests = []
        parts = part_names(s.assignment, catalogue)
        counters: dict[str, int] = {}
        for test_id, info in catalogue.items():
            if info["assignment"] != s.assignment or test_id not in s.tests:
                continue
            score, top = s.tests[test_id]
            k = parts.index(info["part"]) + 1
            counters[info["part"]] = counters.get(info["part"], 0) + 1
            tests.append({
                "name": info["title"], "number": f"{k}.{counters[info['part']]}",
                "score": score, "max_score": top,
                "status": "passed" if score >= top else "failed",
                "output": s.outputs.get(test_id, ""), "tags": [info["part"]],
                # a hidden test's inputs and message are shown once the grades are published
                "visibility": "after_published" if info["hidden"] else "visible",
                "extra_data": {"test_id": test_id, "part": info["part"]},
            })
        output = (f"{s.total:g} of {s.max_total:g} points" if s.graded else "not graded") + (
            "\nFlags:\n- " + "\n- ".join(s.flags) if s.flags else "")
        result = {"score": s.total if s.graded else 0.0, "max_score": s.max_total,
                  "execution_time": round(s.seconds, 1), "output": output,
                  "visibility": "visible", "stdout_visibility": "hidden", "tests": tests,
                  "extra_data": {"student": s.student, "assignment": s.assignment,
                                 "graded": s.graded, "flags": list(s.flags)}}
        path = folder / s.assignment / s.student / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        written.append(path)
    return written


def histogram(assignment: str, totals, maximum: float, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = max(1, int(maximum) + 1)
    ax.hist(totals, bins=bins, range=(-0.5, maximum + 0.5), color="#0072B2", edgecolor="white")
    ax.set_xlabel(f"total score (of {maximum:g} points)")
    ax.set_ylabel("students")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of students are whole
    ax.set_title(f"{assignment}: {len(totals)} submissions")
    fig.tight_layout()
    path = out / f"grades_{assignment}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def summary(subs, catalogue, maxima, elapsed: float) -> str:
    lines = ["", "=" * 72,
             f"Graded {sum(s.graded for s in subs)} of {len(subs)} submissions from "
             f"{len({s.student for s in subs})} students in {elapsed:.0f} s"]
    for assignment in sorted({s.assignment for s in subs}):
        rows = [s for s in subs if s.assignment == assignment]
        lines.append(f"\n{assignment} ({len(rows)} submissions)")
        lines.append(f"  {'part':<28}{'max':>6}{'mean':>8}{'std':>8}")
        for part in [*part_names(assignment, catalogue), "total"]:
            values = [s.total if part == "total" else s.parts.get(part, 0.0) for s in rows]
            top = sum(maxima[assignment].values()) if part == "total" else maxima[assignment][part]
            std = statistics.pstdev(values) if len(values) > 1 else 0.0
            lines.append(f"  {part:<28}{top:>6g}{statistics.fmean(values):>8.2f}{std:>8.2f}")
    flagged = [s for s in subs if s.flags]
    lines.append(f"\nFlagged: {len(flagged)}")
    for s in flagged:
        lines.append(f"  {s.student}/{s.assignment} ({s.total:g}/{s.max_total:g}):")
        lines.extend(f"    - {flag}" for flag in s.flags)
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``curvature-lab grade``."""
    parser.add_argument("submissions", type=Path, help="folder or zip: <student>/<assignment>/")
    parser.add_argument("--course", type=Path, default=Path("."),
                        help="the course: the folder with nbgrader_config.py and solutions/ "
                             "(default: the current directory)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where grades, feedback and logs go (default: COURSE/grading)")
    parser.add_argument("--course-dir", type=Path, default=None,
                        help="nbgrader course directory to use (default: OUT/course)")
    parser.add_argument("--solutions", type=Path, default=None,
                        help="source notebooks, e.g. a private copy with extra hidden tests "
                             "(default: COURSE/solutions)")
    parser.add_argument("--seed", default=os.environ.get("CURVATURE_LAB_GRADING_SEED"),
                        help="seed of the hidden tests (default: $CURVATURE_LAB_GRADING_SEED)")
    parser.add_argument("--workers", type=int, default=2,
                        help="submissions graded at once, each by its own nbgrader process")
    parser.add_argument("--db-url", default=None,
                        help=f"gradebook URL (SQLAlchemy), e.g. postgresql://user@host/db "
                             f"(default: ${DB_URL_ENV}, else SQLite in the course directory)")
    parser.add_argument("--regrade", action="store_true",
                        help="grade every submission again, even those graded by an earlier run")
    parser.add_argument("--cell-timeout", type=int, default=60, help="seconds per cell")
    parser.add_argument("--student-timeout", type=float, default=900,
                        help="wall-clock cap per submission, seconds")
    parser.add_argument("--memory-gb", type=float, default=2.0,
                        help="memory a grading kernel may add on top of its start size")
    parser.add_argument("--no-feedback", action="store_true", help="skip generate_feedback")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the grading kernels WITHOUT the bubblewrap sandbox (student "
                             "code can then read and change your files; see the README)")
    parser.add_argument("--canvas-roster", type=Path, default=None,
                        help="a Canvas gradebook export (CSV): canvas_grades.csv then carries "
                             "its students' names, ids and sections and its assignment "
                             "columns' names")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="curvature-lab grade",
                                     description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args) -> int:
    """Grade one round (the arguments of :func:`add_arguments`); the exit status."""
    from hessian_lab.grading import ASSIGNMENTS, DEFAULT_SEED, test_catalogue

    args.course = args.course.resolve()
    if not (args.course / "nbgrader_config.py").exists():
        print(f"no nbgrader_config.py in {args.course}: run this in the course directory (the "
              "folder with nbgrader_config.py and solutions/) or name it with --course")
        return 2
    args.out = args.out or args.course / "grading"
    args.solutions = args.solutions or args.course / "solutions"
    if args.canvas_roster is not None and not args.canvas_roster.is_file():
        print(f"--canvas-roster {args.canvas_roster}: no such file (export the Canvas "
              "gradebook as CSV: Grades > Export > Export Entire Gradebook)")
        return 2
    if args.no_sandbox:
        print(NO_SANDBOX_WARNING)
    else:
        problem = sandbox.probe()
        if problem:
            print(REFUSAL.format(problem=problem))
            return 2

    started = time.monotonic()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    course = (args.course_dir or out / "course").resolve()
    args.db_url = gradebook_url(course, args.db_url)
    if args.workers < 1:
        raise SystemExit("--workers must be at least 1")
    (out / "logs").mkdir(exist_ok=True)
    if args.seed is None:
        print(f"warning: no --seed and no CURVATURE_LAB_GRADING_SEED: the hidden tests use the "
              f"public default seed {DEFAULT_SEED}")
    args.routine = {}  # nbgrader's routine log lines, counted once for the round
    catalogue = test_catalogue()
    solutions = args.solutions.resolve()

    with tempfile.TemporaryDirectory(prefix="curvature-grade-") as scratch:
        env = _env(args, Path(scratch))
        subs = find_submissions(args.submissions.resolve(), Path(scratch), ASSIGNMENTS)
        if not subs:
            print(f"no submissions found in {args.submissions}")
            return 1
        assignments = sorted({s.assignment for s in subs})
        missing = [a for a in assignments if not (solutions / a / f"{a}.ipynb").exists()]
        if missing:
            raise SystemExit(f"no source notebook in {solutions} for {', '.join(missing)}")
        print(f"{len(subs)} submissions, {len({s.student for s in subs})} students, "
              f"assignments {', '.join(assignments)}; course directory {course}")
        print(f"gradebook: {_redact(args.db_url)}; {args.workers} worker(s)")
        originals = trust.file_digests(s.origin for s in subs)
        owned = {(s.student, s.assignment) for s in subs}
        rows_before = trust.gradebook_digests(args.db_url, owned) if _gradebook_exists(
            args.db_url) else {}
        releases, args.keys = prepare_course(course, solutions, assignments, env, args.db_url,
                                             args)
        maxima = {}
        for a in assignments:
            maxima[a] = max_points(json.loads((solutions / a / f"{a}.ipynb").read_text()),
                                   catalogue)
        for s in subs:
            s.max_total = sum(maxima[s.assignment].values())
            inspect_submission(s, releases[s.assignment], f"{s.assignment}.ipynb", Path(scratch))

        gradable = [s for s in subs if s.notebook is not None]
        prints = {id(s): fingerprint(s, args, solutions) for s in gradable}
        done = len(subs) - len(gradable)
        for s in subs:
            if s.notebook is None:
                print(f"[{done}/{len(subs)}] {s.student}/{s.assignment}: not graded: "
                      f"{s.flags[-1]}")
        if not args.regrade:
            from nbgrader.api import Gradebook

            with Gradebook(args.db_url) as gb:
                for s in gradable:
                    if resume(course, s, prints[id(s)], gb):
                        done += 1
                        print(f"[{done}/{len(subs)}] {s.student}/{s.assignment}: graded by an "
                              "earlier run (unchanged; --regrade grades it again)")
        todo = [s for s in gradable if not s.resumed]

        def run(sub):
            t0 = time.monotonic()
            before = len(sub.flags)
            log = autograde(sub, course, f"{sub.assignment}.ipynb", env, args)
            (out / "logs" / f"{sub.student}__{sub.assignment}.log").write_text(log)
            if not sub.killed:
                save_state(course, sub, prints[id(sub)], sub.flags[before:])
            sub.seconds = time.monotonic() - t0
            return sub

        autograde_started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers) as pool:
            for sub in (f.result() for f in concurrent.futures.as_completed(
                    [pool.submit(run, s) for s in todo])):
                done += 1
                note = f" [{sub.flags[-1]}]" if sub.flags else ""
                print(f"[{done}/{len(subs)}] {sub.student}/{sub.assignment} autograded in "
                      f"{sub.seconds:.1f} s{note}; {time.monotonic() - started:.0f} s elapsed",
                      flush=True)
        autograde_seconds = time.monotonic() - autograde_started
        integrity = trust.compare(originals, trust.file_digests(s.origin for s in subs),
                                  "submitted file")
        integrity += trust.compare(rows_before, trust.gradebook_digests(args.db_url, owned),
                                   "gradebook entry")
        left = sandbox.leftover_processes(Path(scratch))
        if left:
            integrity.append(f"{len(left)} process(es) of the round's sandboxes were still "
                             f"running after it and were killed: {', '.join(left)[:200]}")
        sandbox.remove_cgroups(Path(scratch))
        for finding in integrity:  # a changed submission is flagged where it belongs
            for s in subs:
                if s.origin is not None and f" {s.origin}{os.sep}" in f" {finding}":
                    s.flags.append("INTEGRITY: " + finding.replace(f"{s.origin}{os.sep}", ""))

    from nbgrader.api import Gradebook

    with Gradebook(args.db_url) as gb:
        for s in gradable:
            collect_scores(s, course, gb, catalogue)
    if not args.no_feedback:
        for a in assignments:
            code, log = _nbgrader(["generate_feedback", a, "--force"], course, env, 900,
                                  db_url=args.db_url)
            (out / "logs" / f"feedback__{a}.log").write_text(log)
            if code != 0:
                print(f"warning: generate_feedback {a} reported errors (see logs/)")
        if (course / "feedback").exists():
            shutil.rmtree(out / "feedback", ignore_errors=True)
            shutil.copytree(course / "feedback", out / "feedback")
    for s in subs:
        s.flags = trust.group_flags(s.flags)
    written = write_reports(subs, out, catalogue, maxima, args.canvas_roster)
    save_round(out, course, args.db_url, subs, maxima, args.canvas_roster)
    if integrity:
        print("\n" + "!" * 72 + "\nINTEGRITY CHECK FAILED: something outside the grading "
              "kernels changed during the round.\nDo not use these grades before you have "
              "looked:")
        for finding in integrity:
            print(f"  - {finding}")
        print("!" * 72)
    else:
        print(f"\nIntegrity: {len(originals)} submitted files and {len(rows_before)} "
              "gradebook entries outside this round are unchanged.")
    if args.no_sandbox:
        print(NO_SANDBOX_WARNING)
    print(summary(subs, catalogue, maxima, time.monotonic() - started))
    if args.routine:
        print("Left out of the logs (routine, every submission): " + "; ".join(
            f"{what} ({count} lines)" for what, count in sorted(args.routine.items())))
    if todo:
        print(f"Autograding: {len(todo)} notebooks in {autograde_seconds:.1f} s with "
              f"{args.workers} worker(s), {autograde_seconds / len(todo):.2f} s per notebook "
              "of wall time")
    results = [p for p in written if "gradescope" in p.relative_to(out).parts]
    shown = [str(p.relative_to(out)) for p in written if p not in results]
    if results:
        shown.append(f"gradescope/ ({len(results)} results.json)")
    print("\nWrote " + ", ".join(shown) + f" in {out}")
    print(f"Manual review: formgrader on the course directory {course} (see README).")
    killed = [s for s in subs if s.killed]
    if killed:
        print(f"{len(killed)} submission(s) not graded because their grading process was killed:"
              " run the same command again to grade them (the others are kept).")
    if integrity:
        return 3
    return 1 if killed else 0


# --------------------------------------------------------------------------- export

ROUND_FILE = "round.json"  # in OUT: what `curvature-lab export` needs to write the reports again


def save_round(out: Path, course: Path, db_url: str, subs, maxima, roster) -> None:
    record = {
        "course": str(course), "db_url": _redact(db_url),
        "canvas_roster": str(roster.resolve()) if roster else None, "maxima": maxima,
        "submissions": [{"student": s.student, "assignment": s.assignment, "flags": s.flags,
                         "gradable": s.notebook is not None, "killed": s.killed,
                         "max_total": s.max_total, "seconds": round(s.seconds, 2)}
                        for s in subs],
    }
    (out / ROUND_FILE).write_text(json.dumps(record, indent=1) + "\n")


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``curvature-lab export``."""
    parser.add_argument("--out", type=Path, default=Path("grading"),
                        help="the output folder of the round (default: grading)")
    parser.add_argument("--db-url", default=None,
                        help="the gradebook URL, when it needs a password the round's record "
                             "leaves out")
    parser.add_argument("--canvas-roster", type=Path, default=None,
                        help="a Canvas gradebook export (default: the round's)")


def export(args) -> int:
    """Write a round's reports again from the gradebook as it is now: after scores were changed
    in the formgrader, grades.csv, the per-assignment CSVs, canvas_grades.csv and gradescope/
    show the new scores. Prints every total that changed."""
    from nbgrader.api import Gradebook

    from hessian_lab.grading import test_catalogue

    out = args.out.resolve()
    try:
        record = json.loads((out / ROUND_FILE).read_text())
    except (OSError, ValueError):
        print(f"no {ROUND_FILE} in {out}: export writes the reports of a round that "
              "`curvature-lab grade` ran there (give its folder with --out)")
        return 2
    course = Path(record["course"])
    db_url = args.db_url or (record["db_url"] if "***" not in record["db_url"] else None)
    if db_url is None:
        print("the round's gradebook URL has a password, which the record leaves out: give "
              "it with --db-url (or put the password in ~/.pgpass)")
        return 2
    roster = args.canvas_roster or (Path(record["canvas_roster"])
                                    if record.get("canvas_roster") else None)
    catalogue = test_catalogue()
    before = {(r["student"], r["assignment"]): r["total"]
              for r in csv.DictReader(open(out / "grades.csv", newline=""))} \
        if (out / "grades.csv").exists() else {}
    subs = []
    with Gradebook(db_url) as gb:
        for row in record["submissions"]:
            sub = Submission(row["student"], row["assignment"], None,
                             Path(row["assignment"]) if row["gradable"] else None,
                             flags=list(row["flags"]), max_total=row["max_total"],
                             seconds=row["seconds"], killed=row["killed"])
            if row["gradable"]:
                collect_scores(sub, course, gb, catalogue, check_receipts=False)
            subs.append(sub)
    written = write_reports(subs, out, catalogue, record["maxima"], roster)
    changed = [(s, before.get((s.student, s.assignment))) for s in subs
               if before.get((s.student, s.assignment)) not in (None, f"{s.total:g}")]
    for s, old in changed:
        print(f"{s.student}/{s.assignment}: {old} -> {s.total:g}")
    print(f"{len(changed)} total(s) changed since the last report; wrote "
          f"{len([p for p in written if 'gradescope' not in p.parts])} reports and "
          f"{len([p for p in written if 'gradescope' in p.parts])} results.json in {out}")
    return 0


REFUSAL = """Refusing to grade: no sandbox for the grading kernels.
  {problem}
Without one, every submission's code runs as you, with your files (the gradebook, the other
students' submissions, the private solutions), your network and your environment: it can
change grades, read hidden tests and leave processes behind. Install bubblewrap (and enable
unprivileged user namespaces if you are not root), or grade anyway with --no-sandbox, which
every summary of the round will then report."""
NO_SANDBOX_WARNING = ("WARNING: graded WITHOUT the sandbox (--no-sandbox): student code ran as "
                      "this user, with its files, network and environment. Check the integrity "
                      "report below and review surprising marks.")


def _gradebook_exists(url: str) -> bool:
    if is_sqlite(url):
        path = url.split("sqlite:///", 1)[-1].split("?", 1)[0]
        return Path(path).exists()
    return True


def _redact(url: str) -> str:
    """The URL without its password, for printing."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


if __name__ == "__main__":
    sys.exit(main())
