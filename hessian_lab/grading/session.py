"""The grading session's state: the seed of the hidden tests, the time and memory limits, the
registries the checks fill, and the functions the checks use, captured at import time."""

from __future__ import annotations

import dis
import hashlib
import os
import signal
import sys
import warnings

import numpy as np

#: The hidden tests' seed when ``CURVATURE_LAB_GRADING_SEED`` is not set. It is public (this
#: file is); an instructor running a graded course sets the environment variable instead.
DEFAULT_SEED = 20240917

#: The modules of this package (the assignments' modules register their checks on import).
GRADING_MODULES = tuple(f"hessian_lab.grading{suffix}" for suffix in (
    "", ".session", ".integrity", ".forbidden", ".calls", ".compare", ".registry",
    ".a01_hessians", ".a02_classifying", ".a03_newton", ".a04_quasi_newton",
    ".a05_curvature_at_scale", ".a06_matrix_free_newton"))

#: The assignments, in course order.
ASSIGNMENTS = (
    "01_hessians",
    "02_classifying",
    "03_newton",
    "04_quasi_newton",
    "05_curvature_at_scale",
    "06_matrix_free_newton",
)

# The functions the checks use, captured when this module is imported (before any student
# code runs); the snapshot below notices if the names are rebound later.
_array = np.array
_asarray = np.asarray
_absolute = np.absolute
_subtract = np.subtract
_isfinite = np.isfinite
_less_equal = np.less_equal
_maximum = np.maximum
_sha256 = hashlib.sha256
_float = float
_isinstance = isinstance
_len = len
_print = print
#: None in a browser's Python (Pyodide has no interval timers): the checks run without
#: a time limit there (the site's JupyterLite; grading itself never runs in a browser)
_setitimer = (getattr(signal, "setitimer", None) if hasattr(signal, "SIGALRM")
              else None)   # decided at import: student code cannot switch it off later
_signal = signal.signal
_catch_warnings = warnings.catch_warnings
_simplefilter = warnings.simplefilter
_errstate = np.errstate
_get_instructions = dis.get_instructions




class _State:
    """Mutable state of the grading session (kept in one object the snapshot can skip)."""

    def __init__(self):
        self.assignment = None
        self.seed = None
        self.key = None
        self.time_limit = 10.0
        self.memory_limit = None
        self.snapshot = None
        self.setup_done = False
        self.part = None  # the part whose check is running (its forbidden list applies)


# Survive importlib.reload: a reloaded module keeps the state of the first import, so its new
# functions fail the integrity check instead of taking a fresh snapshot of patched numpy.
_STATE = globals().get("_STATE") or _State()


def grading_seed() -> int:
    """The seed of the hidden tests: ``CURVATURE_LAB_GRADING_SEED``, or :data:`DEFAULT_SEED`.

    Read once, when :func:`setup` runs (before any student code).

    Examples
    --------
    >>> isinstance(grading_seed(), int)
    True
    """
    if _STATE.seed is None:
        _STATE.seed = _read_seed()
    return _STATE.seed


def use_seed(seed) -> None:
    """Set the hidden tests' seed. The grading script writes a call of it into each restored
    hidden-test cell at grading time (the seed is never in the kernel's environment or files,
    so no student code sees it before the hidden test runs).

    Examples
    --------
    >>> use_seed(12345); grading_seed()
    12345
    """
    _STATE.seed = _seed_value(seed)


def _seed_value(text) -> int:
    text = str(text).strip()
    try:
        return int(text)
    except ValueError:
        # any string is a valid seed: hash it
        return int.from_bytes(_sha256(text.encode()).digest()[:8], "little")


def _read_seed() -> int:
    text = os.environ.get("CURVATURE_LAB_GRADING_SEED", "").strip()
    return _seed_value(text) if text else DEFAULT_SEED


def _cap_memory() -> None:
    """Limit the address space to the current size plus a few GiB (Linux; no-op elsewhere)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    extra = _float(os.environ.get("CURVATURE_LAB_MEMORY_GB", "2.5") or 2.5)
    if extra <= 0:
        return
    current = _address_space_bytes()
    if current is None:
        return
    cap = int(current + extra * 2**30)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if soft != resource.RLIM_INFINITY and soft <= cap:
        _STATE.memory_limit = soft
        return
    try:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        _STATE.memory_limit = cap
    except (ValueError, OSError):  # pragma: no cover - not permitted
        pass


def _address_space_bytes():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - no procfs
        return None
    return None  # pragma: no cover




class _Test:
    """One registered check: its id (the grade_id of the test cell), its part and title, and
    the function that runs it on the student's objects."""

    __slots__ = ("test_id", "assignment", "part", "title", "run", "hidden", "owner")

    def __init__(self, test_id, assignment, part, title, run, hidden, owner):
        self.test_id, self.assignment, self.part = test_id, assignment, part
        self.title, self.run, self.hidden, self.owner = title, run, hidden, owner


#: Every check, by test id (filled by the assignments' modules through :class:`Part`).
_TESTS: dict[str, _Test] = {}


class _Fail(Exception):
    """A check failed; the message is for the student."""




class _Timeout(BaseException):
    """Raised by the SIGALRM handler (a BaseException: ``except Exception`` cannot swallow it)."""


def _is_grading_namespace(namespace) -> bool:
    """Is ``namespace`` the globals of one of this package's modules (not a look-alike dict)?"""
    name = namespace.get("__name__") if _isinstance(namespace, dict) else None
    if name not in GRADING_MODULES:
        return False
    module = sys.modules.get(name)
    return module is not None and vars(module) is namespace


def _describe_type(value) -> str:
    if value is None:
        return "None"
    return f"a {type(value).__name__}"




#: What each part's solution must not use, by part (filled by :class:`Part`).
_FORBIDDEN: dict[str, tuple[str, ...]] = {}


def _sympy():
    import sympy

    return sympy
