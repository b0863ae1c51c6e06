"""Grading throughput: seconds per notebook, the sandbox's cost, and 1, 2, 4 workers compared.

    .venv/bin/python benchmarks/grading_throughput.py [--n 60] [--workers 1 2 4] [--postgres]
    make bench-grading

Prints, not asserts:

1. start-up costs inside one notebook: a bare ``python``, ``import hessian_lab.grading``, and a
   grading kernel started and running the locked setup cell (median of a few runs), without
   and with the bubblewrap sandbox;
2. ``curvature-lab grade`` on ``--n`` synthetic submissions of 03_newton (right, blank, a common
   mistake and a differently written right answer, in turn; built from the course fixtures)
   with each number of workers, each run in a fresh course directory and gradebook: wall
   time, seconds per notebook, submissions per minute and the ratio to one worker *in this
   run*; first one worker with ``--no-sandbox``, whose seconds per notebook the sandboxed
   one-worker row is compared with (the sandbox's cost). ``--postgres`` grades against a
   throw-away PostgreSQL server (tests/postgres.py) instead of SQLite.

Not in ``make bench`` (it takes about ten minutes with the defaults): ``make bench-grading``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests")]
BIN = Path(sys.executable).parent
KINDS = ("right_03", "blank_03", "mistakes_03", "alt")

SETUP_CELL = """\
import numpy as np
from hessian_lab.grading import check as _check
from hessian_lab.grading import setup

setup("03_newton")
"""


def _wall(cmd: list[str], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def nbgrader_startup() -> tuple[float, float]:
    """Median seconds of ``nbgrader --version``: as installed, and as grade.py starts it."""
    from hessian_lab.course import grade

    plain = _wall([str(BIN / "nbgrader"), "--version"])
    launched = _wall([sys.executable, "-c", grade.NBGRADER, "--version"])
    return plain, launched


def kernel_startup(sandboxed: bool, repeat: int = 5) -> tuple[float, float]:
    """Median seconds to (start a grading kernel, then run the setup cell in it)."""
    from jupyter_client.manager import KernelManager

    from hessian_lab.course import grade, sandbox

    scratch = Path(tempfile.mkdtemp(prefix="curvature-bench-kernel-"))
    options = argparse.Namespace(memory_gb=2.0, student_timeout=900, no_sandbox=not sandboxed)
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in grade._env(options, scratch).items()
                       if k.startswith(("CURVATURE_LAB", "MPLBACKEND", "PYDEVD", "PATH",
                                        "JUPYTER_PATH"))})
    starts, setups = [], []
    for _ in range(repeat):
        runtime = Path(tempfile.mkdtemp(prefix=sandbox.RUNTIME_PREFIX, dir="/tmp"))
        os.environ["TMPDIR"] = str(runtime)
        tempfile.tempdir = None
        extra = {"transport": "ipc", "ip": f"{runtime}/kernel",
                 "connection_file": f"{runtime}/kernel.json"} if sandboxed else {}
        t0 = time.perf_counter()
        manager = KernelManager(kernel_name=sandbox.KERNEL_NAME if sandboxed else "python3",
                                **extra)
        (scratch / "work").mkdir(exist_ok=True)
        manager.start_kernel(cwd=str(scratch / "work"))
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        t1 = time.perf_counter()
        reply = client.execute_interactive(SETUP_CELL, timeout=60, output_hook=lambda m: None)
        t2 = time.perf_counter()
        assert reply["content"]["status"] == "ok", reply["content"]
        client.stop_channels()
        manager.shutdown_kernel(now=True)
        starts.append(t1 - t0)
        setups.append(t2 - t1)
        shutil.rmtree(runtime, ignore_errors=True)
    os.environ.clear()
    os.environ.update(saved)
    tempfile.tempdir = None
    shutil.rmtree(scratch, ignore_errors=True)
    return statistics.median(starts), statistics.median(setups)


def make_submissions(folder: Path, n: int) -> None:
    from course_fixtures import build

    every = folder.parent / "every"
    build.basic_cases(every, "03_newton")
    build.hostile_cases(every)
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        shutil.copytree(every / kind, folder / f"s{i:03d}_{kind}")


def grade_round(submissions: Path, out: Path, workers: int, db_url: str | None,
                sandboxed: bool = True) -> tuple[float, float, float]:
    """(wall seconds of grade.py, of its autograding phase, mean seconds per notebook)."""
    cmd = [str(BIN / "curvature-lab"), "grade", str(submissions), "--out", str(out),
           "--seed", "1", "--workers", str(workers), "--no-feedback", "--regrade"]
    if not sandboxed:
        cmd.append("--no-sandbox")
    if db_url:
        cmd += ["--db-url", db_url]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(proc.stdout[-3000:] + proc.stderr[-3000:])
    per = [float(line.split(" autograded in ")[1].split(" s")[0])
           for line in proc.stdout.splitlines() if " autograded in " in line]
    phase = next(float(line.split(" in ")[1].split(" s")[0])
                 for line in proc.stdout.splitlines() if line.startswith("Autograding:"))
    return wall, phase, statistics.fmean(per)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="synthetic submissions")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--postgres", action="store_true",
                        help="a throw-away PostgreSQL gradebook instead of SQLite")
    args = parser.parse_args()

    python = _wall([sys.executable, "-c", "pass"])
    imported = _wall([sys.executable, "-c", "import hessian_lab.grading"])
    start, setup = kernel_startup(sandboxed=False)
    boxed_start, boxed_setup = kernel_startup(sandboxed=True)
    nbgrader_plain, nbgrader_fast = nbgrader_startup()
    print(f"{os.cpu_count()} CPUs\n")
    print("start-up (median of 5)                      seconds")
    print(f"  python -c pass                              {python:7.2f}")
    print(f"  python -c 'import hessian_lab.grading'      {imported:7.2f}")
    print(f"  grading kernel: start until ready           {start:7.2f}")
    print(f"  grading kernel: locked setup cell           {setup:7.2f}")
    print(f"  sandboxed kernel: start until ready         {boxed_start:7.2f}")
    print(f"  sandboxed kernel: locked setup cell         {boxed_setup:7.2f}")
    print(f"  nbgrader --version, as installed            {nbgrader_plain:7.2f}")
    print(f"  nbgrader --version, as grade.py starts it   {nbgrader_fast:7.2f}")

    with tempfile.TemporaryDirectory(prefix="curvature-bench-") as tmp:
        subs = Path(tmp) / "subs" / "submitted"
        make_submissions(subs, args.n)
        cluster = None
        if args.postgres:
            import postgres

            cluster_cm = postgres.throwaway_cluster()
            cluster = cluster_cm.__enter__()
        try:
            rows = []
            url = cluster.create_database("benchplain") if cluster else None
            plain = grade_round(subs, Path(tmp) / "out-plain", 1, url, sandboxed=False)
            print(f"  ... 1 worker, no sandbox: {plain[0]:.0f} s", flush=True)
            for workers in args.workers:
                url = cluster.create_database(f"bench{workers}") if cluster else None
                wall, phase, per = grade_round(subs, Path(tmp) / f"out{workers}", workers, url)
                rows.append((workers, wall, phase, per))
                print(f"  ... {workers} worker(s): {wall:.0f} s", flush=True)
        finally:
            if cluster:
                cluster_cm.__exit__(None, None, None)
    base, base_phase = rows[0][1], rows[0][2]
    print(f"\n{args.n} submissions, gradebook {'PostgreSQL' if args.postgres else 'SQLite'}; "
          "ratios are throughput over the first row's, whole run and autograding phase")
    print("workers  wall s  s/notebook in a worker  notebooks/min  ratio  autograding s  ratio")
    for workers, wall, phase, per in rows:
        print(f"{workers:>7}{wall:>8.1f}{per:>24.2f}{60 * args.n / wall:>15.1f}"
              f"{base / wall:>6.2f}x{phase:>15.1f}{base_phase / phase:>6.2f}x")
    one = next((r for r in rows if r[0] == 1), None)
    print(f"\nthe sandbox's cost, one worker: {plain[2]:.2f} s per notebook without it, "
          + (f"{one[3]:.2f} s with it: {one[3] / plain[2]:.2f}x (target at most 1.10x); "
             f"autograding phase {plain[1]:.1f} s -> {one[2]:.1f} s, {one[2] / plain[1]:.2f}x; "
             f"whole run {plain[0]:.1f} s -> {one[1]:.1f} s, {one[1] / plain[0]:.2f}x"
             if one else "(no one-worker sandboxed row)"))


if __name__ == "__main__":
    main()
