"""What the nbgrader tests call: checks with diagnostic messages, run inside the grading kernel.

Every autograded notebook (``solutions/<assignment>/<assignment>.ipynb``) starts with a locked
cell that calls :func:`setup`, and every graded test cell calls :func:`check` with a test id and
the student's function::

    from hessian_lab.grading import check as _check
    _check("newton_step_fixed", newton_step)

A check compares the student's function with the reference implementation in
:mod:`hessian_lab` on fixed inputs, or (hidden tests) on inputs drawn from the seed the instructor
sets at grading time in ``CURVATURE_LAB_GRADING_SEED``. When the answer is wrong it raises
``AssertionError`` with a message for the student: the input, what was expected, what came out
and, found by testing the usual wrong variants against the output, the likely mistake (a
transposed Hessian, a missing factor 1/2, diagonal-only reasoning, the wrong sign of the Newton
step, the Hessian approximation where its inverse belongs in BFGS, swapped s and y, forward
instead of central differences, ...). When it is right it prints one line ending in a
*receipt*, a keyed hash of the test id that the grading script checks for (a test cell that
earned points without printing its receipt did not run as written).

nbgrader runs the student's code in the same kernel as the tests, so the checks defend
themselves against the usual tricks:

* :func:`setup` runs before any student code (the first cell is locked; nbgrader restores it).
  It caps the kernel's address space (a dense "huge Hessian" raises ``MemoryError`` instead of
  exhausting the machine) and takes a snapshot of the objects the checks rely on: this module,
  the :mod:`hessian_lab` modules, numpy, sympy and a list of builtins. Every :func:`check` first
  compares them with the snapshot, so rebinding a helper, monkeypatching ``numpy.allclose`` or
  ``numpy.testing`` or replacing a function's code fails with "grading helpers were modified".
* The comparisons use numpy ufuncs and this module's own code, never ``numpy.allclose`` or
  ``==`` on a student's object: results are converted with ``numpy.array(x, dtype=float)``, so an
  object whose ``__eq__`` is always true is not a number and fails.
* Student functions run under a time limit (SIGALRM, 10 s by default), with their warnings and
  anything they write to stdout or stderr captured and reported on stdout as a note: nbgrader
  gives 0 to a test cell that writes to stderr, and a ``RuntimeWarning`` from correct code should
  not cost marks.
* A function that calls the reference implementation of what the exercise asks for
  (``hessian_lab.newton`` in a Newton exercise, ``sympy.hessian`` in the symbolic-Hessian one,
  ...) earns nothing for that part; the message says why.

* While the student's function runs, :class:`hessian_lab._monitor.Watch` records calls of the
  part's forbidden routines however their names were obtained, and code copied from the
  library.

The checks run in the same process as the student's code, so code that patches the
interpreter can still fool its own tests; the grading script runs every kernel in a sandbox,
keeps the seed and the receipt keys out of it until the test cells run, and flags such code
for review (README, "What a submission can and cannot do").
"""

from __future__ import annotations

import builtins
import dis
import hashlib
import math
import os
import signal
import sys
import threading
import traceback
import types
import warnings
from collections.abc import Callable

import numpy as np

from . import _monitor
from ._monitor import Watch as _Watch
from .curvature import classify as _ref_classify
from .curvature import leading_minors as _ref_leading_minors
from .curvature import second_derivative_test as _ref_second_derivative_test
from .derivatives import critical_points as _ref_critical_points
from .derivatives import symbolic_hessian as _ref_symbolic_hessian
from .derivatives import taylor2 as _ref_taylor2
from .optimizers import bfgs_update as _ref_bfgs_update
from .optimizers import gradient_descent as _ref_gradient_descent
from .optimizers import newton as _ref_newton
from .optimizers import two_loop as _ref_two_loop
from .problems import curve_fit_problem as _curve_fit_problem
from .problems import himmelblau as _himmelblau
from .problems import quadratic as _quadratic
from .problems import rosenbrock as _rosenbrock
from .problems import seed_bowl as _seed_bowl
from .problems import seed_quartic as _seed_quartic
from .spectra import power_iteration as _ref_power_iteration

__all__ = [
    "DEFAULT_SEED",
    "ASSIGNMENTS",
    "check",
    "forbidden_routines",
    "grading_seed",
    "receipt",
    "setup",
    "test_catalogue",
    "use_seed",
]

#: The hidden tests' seed when ``CURVATURE_LAB_GRADING_SEED`` is not set. It is public (this
#: file is); an instructor running a graded course sets the environment variable instead.
DEFAULT_SEED = 20240917

#: The assignments, in course order.
ASSIGNMENTS = (
    "01_hessians",
    "02_classifying",
    "03_newton",
    "04_quasi_newton",
    "05_curvature_at_scale",
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
_setitimer = signal.setitimer
_signal = signal.signal
_catch_warnings = warnings.catch_warnings
_simplefilter = warnings.simplefilter
_errstate = np.errstate
_get_instructions = dis.get_instructions


# --------------------------------------------------------------------------- session state


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


def setup(assignment: str | None = None) -> None:
    """Prepare the grading kernel. The locked first cell of every assignment calls it.

    Reads the hidden tests' default seed (``CURVATURE_LAB_GRADING_SEED``, for trying hidden
    tests locally; when grading, each hidden-test cell sets its own with :func:`use_seed`),
    caps the kernel's address space (``resource.RLIMIT_AS``: the current size plus
    ``CURVATURE_LAB_MEMORY_GB``, default 2.5 GiB, so forming a dense "huge Hessian" raises
    ``MemoryError`` instead of exhausting the machine), imports sympy when the assignment
    needs it, and takes the snapshot :func:`check` verifies. Running it again later (after
    student code) does not take a new snapshot.

    Parameters
    ----------
    assignment : str, optional
        The assignment's name, e.g. ``"03_newton"``.

    Examples
    --------
    >>> setup("03_newton")
    """
    if assignment is not None and _STATE.assignment is None:
        _STATE.assignment = str(assignment)
    if _STATE.setup_done:
        return
    _STATE.seed = _read_seed()
    _STATE.key = "curvature-lab-local"  # when grading, each test cell brings its own key
    limit = os.environ.get("CURVATURE_LAB_TIME_LIMIT", "").strip()
    if limit:
        _STATE.time_limit = max(0.1, _float(limit))
    if _STATE.assignment in ("01_hessians", "02_classifying"):
        import sympy  # noqa: F401  (imported now so that the snapshot covers it)
    _cap_memory()
    _STATE.snapshot = _take_snapshot()
    _STATE.setup_done = True


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


# --------------------------------------------------------------------------- integrity


_WATCHED_MODULES = (
    "numpy",
    "numpy.linalg",
    "numpy.random",
    "numpy.testing",
    "sympy",
    "math",
    "hashlib",
    "hessian_lab",
    "hessian_lab._checks",
    "hessian_lab.curvature",
    "hessian_lab.derivatives",
    "hessian_lab.linesearch",
    "hessian_lab.optimizers",
    "hessian_lab.problems",
    "hessian_lab.spectra",
    "hessian_lab._monitor",
    __name__,
)
_CODE_MODULES = ("numpy", "numpy.linalg", "numpy.testing", "hessian_lab")
_WATCHED_BUILTINS = (
    "__import__", "abs", "all", "any", "bool", "callable", "complex", "dict", "enumerate",
    "float", "getattr", "hasattr", "int", "isinstance", "issubclass", "iter", "len", "list",
    "map", "max", "min", "next", "print", "range", "repr", "round", "set", "sorted", "str",
    "sum", "tuple", "type", "vars", "zip", "BaseException", "Exception", "AssertionError",
    "MemoryError", "NotImplementedError", "RecursionError", "TypeError", "ValueError",
)


def _function_code(obj):
    """The code object that runs when ``obj`` is called, for Python-level functions."""
    if _isinstance(obj, types.FunctionType):
        return obj, obj.__code__, obj.__defaults__, obj.__kwdefaults__
    impl = getattr(obj, "_implementation", None)  # numpy's array-function dispatchers
    if _isinstance(impl, types.FunctionType):
        return impl, impl.__code__, impl.__defaults__, impl.__kwdefaults__
    return None


def _shell():
    get_ipython = getattr(builtins, "get_ipython", None)
    if get_ipython is None:
        return None
    try:
        return get_ipython()
    except Exception:  # pragma: no cover - defensive
        return None


def _shell_hooks(shell):
    if shell is None:
        return None
    names = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")
    return {name: list(getattr(shell, name, ()) or ()) for name in names}


def _take_snapshot() -> dict:
    modules, code = {}, {}
    for name in _WATCHED_MODULES:
        module = sys.modules.get(name)
        if module is None:
            continue
        entries = {k: v for k, v in vars(module).items() if not k.startswith("__")}
        modules[name] = (module, entries)
        if name.startswith(_CODE_MODULES):
            for key, value in entries.items():
                found = _function_code(value)
                if found is not None:
                    code[(name, key)] = found
                if _isinstance(value, type) and value.__module__.startswith("hessian_lab"):
                    for attr, member in vars(value).items():
                        found = _function_code(member)
                        if found is not None:
                            code[(name, f"{key}.{attr}")] = found
    return {
        "modules": modules,
        "code": code,
        "builtins": {name: getattr(builtins, name) for name in _WATCHED_BUILTINS},
        "shell": _shell_hooks(_shell()),
    }


def _tampering() -> list[str]:
    """What changed since the snapshot (empty list: nothing)."""
    snap = _STATE.snapshot
    changed = []
    for name, value in snap["builtins"].items():
        if getattr(builtins, name, None) is not value:
            changed.append(f"builtins.{name}")
    for name, (module, entries) in snap["modules"].items():
        if sys.modules.get(name) is not module:
            changed.append(f"sys.modules[{name!r}]")
            continue
        current = vars(module)
        for key, value in entries.items():
            if current.get(key, _MISSING) is not value:
                changed.append(f"{name}.{key}")
    for (name, key), (fn, code, defaults, kwdefaults) in snap["code"].items():
        if (fn.__code__ is not code or fn.__defaults__ is not defaults
                or fn.__kwdefaults__ is not kwdefaults):
            changed.append(f"the code of {name}.{key}")
    hooks = snap["shell"]
    if hooks is not None:
        now = _shell_hooks(_shell())
        for name, items in hooks.items():
            current = now.get(name, []) if now else []
            if _len(current) != _len(items) or any(
                    a is not b for a, b in zip(current, items, strict=True)):
                changed.append(f"IPython's {name}")
    return changed


_MISSING = object()


def _verify_integrity() -> None:
    if _STATE.snapshot is None:
        # setup() did not run (the locked first cell was skipped): take the snapshot now
        setup(None)
        return
    changed = _tampering()
    if changed:
        shown = ", ".join(changed[:6]) + (f" and {_len(changed) - 6} more" if _len(changed) > 6
                                          else "")
        raise _Fail(
            "grading helpers were modified: " + shown + " changed after the grading setup "
            "cell ran (by code in this notebook). The tests cannot trust their tools, so this "
            "test fails. Remove the code that replaces parts of numpy, sympy, builtins, "
            "hessian_lab or hessian_lab.grading, restart the kernel and run all cells."
        )


# --------------------------------------------------------------------------- the test registry


class _Test:
    __slots__ = ("test_id", "assignment", "part", "title", "run", "hidden")

    def __init__(self, test_id, assignment, part, title, run, hidden):
        self.test_id, self.assignment, self.part = test_id, assignment, part
        self.title, self.run, self.hidden = title, run, hidden


_TESTS: dict[str, _Test] = {}


def _test(assignment: str, part: str, test_id: str, title: str, hidden: bool = False):
    """Register a check under ``test_id`` (the grade_id of the notebook cell that runs it)."""

    def register(run):
        if test_id in _TESTS:  # pragma: no cover - authoring error
            raise ValueError(f"duplicate test id {test_id!r}")
        _TESTS[test_id] = _Test(test_id, assignment, part, title, run, hidden)
        return run

    return register


def test_catalogue() -> dict[str, dict]:
    """All tests: ``{test_id: {"assignment", "part", "title", "hidden"}}``.

    The grading script uses it to group cells into parts; the lint test to check the notebooks.

    Examples
    --------
    >>> test_catalogue()["newton_step_fixed"]["part"]
    'newton_step'
    """
    return {
        t.test_id: {"assignment": t.assignment, "part": t.part, "title": t.title,
                    "hidden": t.hidden}
        for t in _TESTS.values()
    }


def receipt(test_id: str, key: str | None = None) -> str:
    """The 16-hex-digit receipt :func:`check` prints when ``test_id`` passes.

    ``sha256(key | assignment | test_id)``. When grading, the key is a secret the grading
    script draws per round and test cell and writes into the restored test cell (``check(...,
    _receipt=key)``); it is never in the kernel's environment or files, and the script
    verifies the receipts. Outside grading the key is a public placeholder.

    Examples
    --------
    >>> len(receipt("newton_step_fixed", key="k"))
    16
    """
    test = _TESTS[test_id]
    if key is None:
        key = _STATE.key or "curvature-lab-local"
    text = f"{key}|{test.assignment}|{test.test_id}"
    return _sha256(text.encode()).hexdigest()[:16]


class _Fail(Exception):
    """A check failed; the message is for the student."""


def check(test_id: str, *objects, _receipt: str | None = None) -> None:
    """Run the registered test ``test_id`` on the student's ``objects`` (usually a function).

    Raises ``AssertionError`` with a diagnostic message when the test fails; prints one line
    with the receipt when it passes. Returns None, so a test cell that ends with the call has
    no value for nbgrader to score.

    Examples
    --------
    >>> student = {"__name__": "__main__"}  # a notebook's namespace
    >>> exec("import numpy as np; "
    ...      "newton_step = lambda g, H: np.linalg.solve(H, -np.asarray(g))", student)
    >>> check("newton_step_fixed", student["newton_step"])
    ... # doctest: +ELLIPSIS
    passed: newton_step, fixed input [receipt newton_step_fixed:...]
    """
    test = _TESTS.get(test_id) if _isinstance(test_id, str) else None
    if test is None:
        raise AssertionError(f"unknown test id {test_id!r}; the test cell was changed")
    _STATE.part = None
    try:
        _verify_integrity()
        _NOTES.clear()
        test.run(*objects)
    except _Fail as failure:
        _flush_notes()
        raise AssertionError(f"{test.title}: {failure}") from None
    except _Timeout:  # the timer fired in our own code after the student's returned
        _flush_notes()
        raise AssertionError(f"{test.title}: {_timeout_message()}") from None
    _flush_notes()
    key = _receipt if _isinstance(_receipt, str) and _receipt else None
    _print(f"passed: {test.title} [receipt {test.test_id}:{receipt(test.test_id, key=key)}]")


# --------------------------------------------------------------------------- calling student code


class _Timeout(BaseException):
    """Raised by the SIGALRM handler (a BaseException: ``except Exception`` cannot swallow it)."""


_NOTES: list[str] = []


def _note(text: str) -> None:
    if text not in _NOTES:
        _NOTES.append(text)


def _flush_notes() -> None:
    for text in _NOTES:
        _print("note: " + text)
    _NOTES.clear()


class _Capture:
    """A bounded text sink standing in for sys.stdout / sys.stderr during a student call."""

    def __init__(self, limit: int = 1500):
        self.parts, self.kept, self.total, self.limit = [], 0, 0, limit

    def write(self, text) -> int:
        text = str(text)
        self.total += _len(text)
        if self.kept < self.limit:
            piece = text[: self.limit - self.kept]
            self.parts.append(piece)
            self.kept += _len(piece)
        return _len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def text(self) -> str:
        body = "".join(self.parts)
        if self.total > self.kept:
            body += f" ... ({self.total} characters in all)"
        return body


def _timeout_message() -> str:
    return (f"did not return within {_STATE.time_limit:g} s (infinite loop?). Check the "
            "loop's stopping condition, and that every iteration changes what it tests.")


def _memory_message() -> str:
    limit = _STATE.memory_limit
    cap = f" (the grading kernel allows about {limit / 2**30:.1f} GiB)" if limit else ""
    return ("ran out of memory" + cap + ": does it build an n x n matrix? This part must "
            "work with vectors only (O(n) memory).")


def _student_frames(tb) -> str:
    """The last line of the student's own code in a traceback, if any."""
    frames = [f for f in traceback.extract_tb(tb)
              if not f.filename.endswith(("grading.py",)) and "site-packages" not in f.filename]
    if not frames:
        return ""
    frame = frames[-1]
    line = (frame.line or "").strip()
    return f" (in {frame.name}: `{line}`)" if line else f" (in {frame.name})"


def _guarded(name: str, run: Callable, expect: tuple = (), passed: tuple = ()):
    """Call ``run()`` (which calls the student's code) under the time limit, with warnings and
    stdout/stderr captured; turn anything that goes wrong into a _Fail with a clear message.

    Exceptions listed in ``expect`` are returned (not raised) so a test can require them.
    """
    use_timer = threading.current_thread() is threading.main_thread()
    fired = []

    def on_alarm(signum, frame):
        fired.append(True)
        raise _Timeout()

    out, err = _Capture(), _Capture()
    saved_out, saved_err = sys.stdout, sys.stderr
    previous = None
    watch = _Watch(_FORBIDDEN.get(_STATE.part, ()), passed)
    try:
        with _catch_warnings(record=True) as caught:
            _simplefilter("always")
            if use_timer:
                previous = _signal(signal.SIGALRM, on_alarm)
                # repeat every 0.5 s after the first alarm, in case the student's code
                # swallows the first exception with a bare except
                _setitimer(signal.ITIMER_REAL, _STATE.time_limit, 0.5)
            sys.stdout, sys.stderr = out, err
            try:
                with watch:
                    result = run()
            finally:
                if use_timer:
                    _setitimer(signal.ITIMER_REAL, 0, 0)
                sys.stdout, sys.stderr = saved_out, saved_err
                _watch_verdict(name, watch)
            if fired:
                raise _Timeout()
    except _Timeout:
        _report_output(name, out, err, ())
        raise _Fail(f"{name} {_timeout_message()}") from None
    except expect as exc:
        _report_output(name, out, err, ())
        return exc
    except NotImplementedError:
        raise _Fail(f"{name} is not written yet: it still raises NotImplementedError. Replace "
                    "`raise NotImplementedError()` with your code.") from None
    except MemoryError:
        raise _Fail(f"{name} {_memory_message()}") from None
    except RecursionError:
        raise _Fail(f"{name} recursed without end (RecursionError).") from None
    except _Fail:
        raise
    except BaseException as exc:  # noqa: BLE001 - anything the student's code raises
        _report_output(name, out, err, ())
        where = _student_frames(exc.__traceback__)
        kind = type(exc).__name__
        text = str(exc)
        text = (text[:300] + "...") if _len(text) > 300 else text
        raise _Fail(f"{name} raised {kind}: {text}{where}") from None
    finally:
        if use_timer and previous is not None:
            _signal(signal.SIGALRM, previous)
    _report_output(name, out, err, caught)
    return result


def _watch_verdict(name: str, watch) -> None:
    """Fail the test when the run-time watch saw a forbidden call, copied code or tampering."""
    if watch.switched:
        raise _Fail(f"{name} switched off the grader's watch on the code it calls "
                    "(sys.setprofile or sys.settrace) while being graded, so this test cannot "
                    "trust its result. [review: grading tampered]")
    if watch.copied:
        raise _Fail(f"{name} runs the library's own code of {', '.join(watch.copied)} (its "
                    "source copied, perhaps renamed): this part earns no credit for it. "
                    "Write the function yourself. [review: copied library code]")
    if watch.found:
        names = _FORBIDDEN.get(_STATE.part, ())
        raise _Fail(f"{name} called {', '.join(watch.found[:3])} while it ran, which this "
                    "part does not allow (however the name is obtained: importlib, getattr, "
                    "sys.modules, ...): it is the library's reference or a ready-made routine "
                    "for what you are asked to write, so this part earns no credit. Not "
                    "allowed here: " + ", ".join(names) + ". Write it yourself with numpy "
                    "(see the instructions).")


def _report_output(name, out, err, caught) -> None:
    for w in caught:
        category = getattr(w.category, "__name__", "Warning")
        _note(f"{name} issued a warning (not penalised): {category}: {w.message}")
    if err.total:
        _note(f"{name} wrote to stderr (shown here, not penalised): {err.text()}")
    if out.total:
        _note(f"{name} printed: {out.text()}")


def _call(name: str, fn, *args, convert: Callable | None = None, expect: tuple = ()):
    """Call the student's ``fn(*args)`` safely; ``convert`` runs on the result, also guarded."""
    if not callable(fn):
        raise _Fail(f"{name} is not a function (it is {_describe_type(fn)}); define it with "
                    f"`def {name}(...)` in the solution cell and run that cell.")
    copies = tuple(_copy_arg(a) for a in args)

    def run():
        value = fn(*copies)
        return convert(value) if convert is not None else value

    return _guarded(name, run, expect, passed=copies)


def _copy_arg(value):
    """Give the student copies of arrays, so that modifying an argument cannot change ours."""
    if _isinstance(value, np.ndarray):
        return value.copy()
    if _isinstance(value, list):
        return [_copy_arg(v) for v in value]
    return value


def _describe_type(value) -> str:
    if value is None:
        return "None"
    return f"a {type(value).__name__}"


# --------------------------------------------------------------------------- converting results


def _to_array(value, name: str, what: str = "the result", ndim: int | None = None):
    """The student's result as a float ndarray, or a _Fail that says what was returned."""
    if value is None:
        raise _Fail(f"{name} returned None: is the `return` statement missing?")
    if _isinstance(value, (str, bytes, dict, set)):
        raise _Fail(f"{name} returned {_describe_type(value)}; {what} should be numbers.")
    if callable(value) and not _isinstance(value, np.ndarray):
        raise _Fail(f"{name} returned a function; {what} should be numbers.")
    try:
        with _errstate(all="ignore"):
            arr = _array(value, dtype=float)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _Fail(f"{name} returned {_describe_type(value)} that is not an array of numbers "
                    f"({type(exc).__name__}: {exc}).") from None
    if ndim is not None and arr.ndim != ndim:
        raise _Fail(f"{name} returned an array of shape {arr.shape}; {what} should be "
                    f"{_ndim_words(ndim)}.")
    return arr


def _ndim_words(ndim: int) -> str:
    return {0: "a single number", 1: "a 1-D array", 2: "a 2-D array (a matrix)"}.get(
        ndim, f"{ndim}-D")


def _to_float(value, name: str, what: str = "the result") -> float:
    arr = _to_array(value, name, what)
    if arr.size != 1:
        raise _Fail(f"{name} returned an array of shape {arr.shape}; {what} should be a single "
                    "number.")
    return _float(arr.reshape(()))


def _to_label(value, name: str, allowed: tuple[str, ...]) -> str:
    if not _isinstance(value, str):
        raise _Fail(f"{name} returned {_describe_type(value)} {_short(value)}; return one of "
                    f"the strings {_quote_all(allowed)}.")
    text = str.__str__(value)  # a plain str, whatever subclass the student returned
    if text not in allowed:
        hint = ""
        if text.strip().lower() in allowed:
            hint = " (exactly as written: lower case, no spaces around)"
        raise _Fail(f"{name} returned {text!r}; return one of {_quote_all(allowed)}{hint}.")
    return text


def _to_int(value, name: str, what: str) -> int:
    number = _to_float(value, name, what)
    if not math.isfinite(number) or number != int(number):
        raise _Fail(f"{name}: {what} should be a whole number, got {number!r}.")
    return int(number)


def _short(value) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001
        text = "<unprintable>"
    return text if _len(text) <= 60 else text[:57] + "..."


def _quote_all(labels) -> str:
    return ", ".join(repr(label) for label in labels)


# --------------------------------------------------------------------------- comparing


def _close(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> bool:
    """Elementwise |got - expected| <= atol + rtol |expected|, all finite (no numpy.allclose)."""
    if got.shape != expected.shape:
        return False
    if not _isfinite(got).all():
        return False
    diff = _absolute(_subtract(got, expected))
    bound = atol + rtol * _absolute(expected)
    return bool(_less_equal(diff, bound).all())


def _scale(arr: np.ndarray) -> float:
    return _float(_absolute(arr).max()) if arr.size else 0.0


def _fmt(value) -> str:
    """A compact, readable rendering of a number, vector or matrix for messages."""
    if _isinstance(value, (int, float, np.floating, np.integer)):
        return f"{_float(value):.6g}"
    arr = _asarray(value, dtype=float)
    if arr.ndim == 0:
        return f"{_float(arr):.6g}"
    text = np.array2string(arr, precision=5, suppress_small=True, max_line_width=88,
                           threshold=24, edgeitems=3, separator=", ")
    return text.replace("\n", "\n      ")


def _inputs(**named) -> str:
    lines = []
    for key, value in named.items():
        shown = value if _isinstance(value, str) else _fmt(value)
        lines.append(f"  {key} = {shown}")
    return "\n".join(lines)


def _mismatch(name, got, expected, inputs, cause: str = "", what: str = "result") -> _Fail:
    text = f"{name} gives the wrong {what}"
    if inputs:
        text += " for\n" + inputs
    text += f"\n  expected: {_fmt(expected)}\n  got:      {_fmt(got)}"
    if got.shape == expected.shape and got.size > 1 and _isfinite(got).all():
        diff = _absolute(_subtract(got, expected))
        where = np.unravel_index(int(diff.argmax()), diff.shape)
        text += f"\n  largest difference {_float(diff.max()):.3g} at index {tuple(map(int, where))}"
    if cause:
        text += "\nLikely mistake: " + cause
    return _Fail(text)


def _compare(name, got, expected, *, inputs="", variants=(), rtol=1e-6, atol=1e-9,
             what="result", fallback=""):
    """Pass if ``got`` matches ``expected``; otherwise name the first matching wrong variant.

    ``variants`` is a sequence of ``(compute, message)``: ``compute()`` returns what a common
    mistake would have produced on the same input.
    """
    expected = _asarray(expected, dtype=float)
    atol_eff = atol * max(1.0, _scale(expected))
    if got.shape != expected.shape:
        for compute, message in variants:
            value = _variant(compute)
            if value is not None and value.shape == got.shape and _close(got, value, rtol,
                                                                          atol_eff):
                raise _mismatch(name, got, expected, inputs, message, what)
        raise _Fail(f"{name} returned shape {got.shape}; expected shape {expected.shape}"
                    + (" for\n" + inputs if inputs else "."))
    if callable(fallback):
        fallback_text = fallback
    else:
        def fallback_text(text=fallback):
            return text
    if not _isfinite(got).all():
        raise _mismatch(name, got, expected, inputs,
                        fallback_text() or "the result contains NaN or inf: a division by "
                        "zero, or an iteration that diverged?", what)
    if _close(got, expected, rtol, atol_eff):
        return
    for compute, message in variants:
        value = _variant(compute)
        if value is not None and value.shape == got.shape and _close(got, value, max(rtol, 1e-6),
                                                                      atol_eff):
            raise _mismatch(name, got, expected, inputs, message, what)
    raise _mismatch(name, got, expected, inputs, fallback_text(), what)


def _variant(compute):
    try:
        with _errstate(all="ignore"):
            value = compute()
    except Exception:  # noqa: BLE001 - a variant that cannot be computed does not match
        return None
    return _asarray(value, dtype=float)


def _rng(test_id: str) -> np.random.Generator:
    """The generator of a hidden test: from the grading seed and the test id."""
    salt = int.from_bytes(_sha256(test_id.encode()).digest()[:4], "little")
    return np.random.default_rng([grading_seed() % 2**63, salt])


# --------------------------------------------------------------------------- reference calling


_FORBIDDEN: dict[str, tuple[str, ...]] = {}
_AUTODIFF = ("jax", "autograd", "torch", "tensorflow", "numdifftools")
_EIGEN = ("numpy.linalg.eig", "numpy.linalg.eigh", "numpy.linalg.eigvals",
          "numpy.linalg.eigvalsh", "numpy.linalg.svd", "scipy")
# "never an explicit inverse": a linear system is solved, not inverted
_INVERSES = ("numpy.linalg.inv", "numpy.linalg.pinv", "scipy.linalg.inv", "scipy.linalg.pinv")


def _forbid(part: str, *names: str) -> None:
    """Declare what the solution of ``part`` must not use: a package ("hessian_lab", "scipy")
    or one object ("sympy.hessian", "numpy.linalg.eigh", "hessian_lab.newton")."""
    _FORBIDDEN[part] = names


def forbidden_routines(part: str) -> tuple[str, ...]:
    """What the solution of ``part`` must not call: packages and dotted routine names.

    The instructions of the part list them (``curvature-lab check-course`` checks that they do).

    Examples
    --------
    >>> "numpy.linalg.inv" in forbidden_routines("newton_step")
    True
    """
    return tuple(_FORBIDDEN.get(part, ()))


def _resolve(dotted: str):
    """The object a dotted name refers to, if its module is loaded; else None."""
    parts = dotted.split(".")
    for cut in range(_len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is not None:
            obj = module
            for attr in parts[cut:]:
                obj = getattr(obj, attr, None)
                if obj is None:
                    return None
            return obj
    return None


def _origin(obj) -> str:
    """The dotted module name an object comes from ('' if unknown)."""
    if _isinstance(obj, types.ModuleType):
        return obj.__name__
    module = getattr(obj, "__module__", None)
    if not _isinstance(module, str):
        module = getattr(type(obj), "__module__", "") or ""
        if module == "builtins":
            return ""
    return module


def _public_name(obj) -> str:
    if _isinstance(obj, types.ModuleType):
        return obj.__name__
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or "?"
    module = _origin(obj)
    if module.startswith("hessian_lab."):
        module = "hessian_lab"  # hessian_lab.optimizers.newton is exported as hessian_lab.newton
    return f"{module}.{name}" if module else name


def _is_forbidden(obj, names: tuple[str, ...], specific: list) -> bool:
    if any(obj is s for s in specific):
        return True
    origin = _origin(obj)
    for name in names:
        if "." in name and not _isinstance(obj, types.ModuleType) and not _isinstance(
                _resolve(name), types.ModuleType):
            continue
        if origin == name or origin.startswith(name + "."):
            return True
    return False


def _is_students(fn, root) -> bool:
    """Is ``fn`` code the student wrote (in the notebook), as opposed to a library's?"""
    module = getattr(fn, "__module__", None)
    if _isinstance(fn, types.FunctionType):
        return fn.__globals__ is root or module == "__main__"
    return module == "__main__"


def _references(fn, root=None, depth: int = 0, seen=None):
    """Yield the objects a student's function refers to: globals and attributes it names,
    modules it imports, closure cells, defaults, and (recursively) the student's own helpers.
    Library functions are yielded but not entered."""
    if seen is None:
        seen = set()
    if id(fn) in seen or depth > 8:
        return
    seen.add(id(fn))
    yield fn
    if root is None:
        root = getattr(fn, "__globals__", None)
    if _isinstance(fn, types.MethodType):
        yield from _references(fn.__func__, root, depth + 1, seen)
        yield from _references(fn.__self__, root, depth + 1, seen)
        return
    if type(fn).__name__ == "partial" and callable(getattr(fn, "func", None)):
        yield from _references(fn.func, root, depth + 1, seen)
        extra = tuple(getattr(fn, "args", ())) + tuple((getattr(fn, "keywords", {}) or {})
                                                       .values())
        for arg in extra:
            yield from _references(arg, root, depth + 1, seen)
        return
    if _isinstance(fn, type):
        if fn.__module__ == "__main__":  # the student's class: look at its methods
            for member in vars(fn).values():
                if _isinstance(member, (types.FunctionType, staticmethod, classmethod)):
                    member = getattr(member, "__func__", member)
                    yield from _references(member, root, depth + 1, seen)
        return
    if not _isinstance(fn, types.FunctionType):
        call = vars(type(fn)).get("__call__") if _isinstance(type(fn), type) else None
        if _isinstance(call, types.FunctionType) and _is_students(call, root):
            yield from _references(call, root, depth + 1, seen)  # a callable object
        return
    if not _is_students(fn, root):
        return  # a library function: yielded above, not entered
    namespace = fn.__globals__
    for value in (fn.__defaults__ or ()):
        yield from _references(value, root, depth + 1, seen)
    for value in (fn.__kwdefaults__ or {}).values():
        yield from _references(value, root, depth + 1, seen)
    for cell in fn.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        yield from _references(value, root, depth + 1, seen)
    global_names, attr_names, import_names = _code_names(fn.__code__)
    modules = []
    for name in global_names:
        if name in namespace:
            value = namespace[name]
            if _isinstance(value, types.ModuleType):
                modules.append(value)
            else:
                yield from _references(value, root, depth + 1, seen)
    for dotted in import_names:  # `import a.b` / `from a.b import c` inside the function
        parts = dotted.split(".")
        for cut in range(1, _len(parts) + 1):
            module = sys.modules.get(".".join(parts[:cut]))
            if module is not None:
                modules.append(module)
    # attributes named in the code, looked up on the modules it uses (np.linalg.eigh, ...)
    done = set()
    while modules:
        module = modules.pop()
        if id(module) in done:
            continue
        done.add(id(module))
        yield module
        for name in attr_names:
            value = getattr(module, name, None)
            if value is None:
                continue
            if _isinstance(value, types.ModuleType):
                modules.append(value)
            else:
                yield value


def _code_names(code) -> tuple[set, set, set]:
    """Names a code object (and the code nested in it) loads as globals, as attributes, and
    imports."""
    global_names, attr_names, import_names = set(), set(), set()
    stack = [code]
    while stack:
        current = stack.pop()
        stack.extend(c for c in current.co_consts if _isinstance(c, types.CodeType))
        for ins in _get_instructions(current):
            if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                global_names.add(ins.argval)
            elif ins.opname in ("LOAD_ATTR", "LOAD_METHOD", "IMPORT_FROM", "LOAD_SUPER_ATTR"):
                attr_names.add(ins.argval)
            elif ins.opname == "IMPORT_NAME":
                import_names.add(ins.argval)
    return global_names, attr_names, import_names


def _copied_from(obj) -> str:
    """The library function whose code ``obj`` (a function not defined in a library file)
    repeats, or ''."""
    if not _isinstance(obj, types.FunctionType):
        return ""
    code = obj.__code__
    if _monitor._kind_of_file(code.co_filename) != "student":
        return ""
    if _origin(obj).startswith("hessian_lab"):
        return f"hessian_lab ({obj.__name__}, defined from source in a library namespace)"
    if _monitor._long_enough(code):
        return _monitor.library_prints().get(_monitor.code_print(code), "")
    return ""


def _reject_reference_calls(part: str, name: str, fn) -> None:
    names = _FORBIDDEN.get(part, ())
    if not names:
        return
    specific = [obj for obj in (_resolve(n) for n in names if "." in n) if obj is not None]
    for obj in _references(fn):
        if _isinstance(obj, types.FunctionType) and obj.__globals__ is globals():
            continue  # the grading helpers themselves
        copied = _copied_from(obj)
        if copied:
            raise _Fail(f"{name} uses {getattr(obj, '__name__', '?')}, whose code is the "
                        f"library's own code of {copied} (its source copied, perhaps "
                        "renamed): this part earns no credit for it. Write the function "
                        "yourself. [review: copied library code]")
        if _is_forbidden(obj, names, specific):
            raise _Fail(
                f"{name} uses {_public_name(obj)}, which this part does not allow: it is the "
                "library's reference (or a ready-made routine) for what you are asked to "
                "write, so this part earns no credit. Not allowed here: "
                + ", ".join(names) + ". Write it yourself with numpy (see the instructions)."
            )


def _student(part: str, name: str, fn) -> None:
    """Common preamble of a check: the object is a function and it does not call a reference."""
    _STATE.part = part
    if not callable(fn):
        raise _Fail(f"{name} is not a function (it is {_describe_type(fn)}); run the solution "
                    "cell that defines it.")
    _reject_reference_calls(part, name, fn)


def _sympy():
    import sympy

    return sympy


# =========================================================================== 01 Hessians

_forbid("hessian_symbolic", "hessian_lab", "sympy.hessian")
_forbid("fd_hessian", "hessian_lab", "scipy", "sympy", *_AUTODIFF)
_forbid("second_partial", "hessian_lab", "scipy", "sympy", *_AUTODIFF)
_forbid("quadratic_model", "hessian_lab")


def _symbolic_case(text: str, names: str):
    sympy = _sympy()
    symbols = tuple(sympy.symbols(names))
    return sympy.sympify(text, locals={s.name: s for s in symbols}), symbols


def _rational_points(n: int, count: int = 3):
    sympy = _sympy()
    pool = [(1, 3), (-2, 5), (3, 7), (5, 4), (-4, 3), (2, 9), (-1, 2), (7, 5)]
    return [tuple(sympy.Rational(*pool[(k * n + i * 3 + k) % _len(pool)]) for i in range(n))
            for k in range(count)]


def _evaluate_matrix(M, variables, points, name) -> np.ndarray:
    """Values of a sympy matrix at rational points, shape (len(points), rows, cols)."""
    sympy = _sympy()
    extra = set()
    values = []
    for point in points:
        subs = dict(zip(variables, point, strict=True))
        rows = []
        for i in range(M.rows):
            row = []
            for j in range(M.cols):
                entry = sympy.sympify(M[i, j])
                extra |= entry.free_symbols - set(variables)
                number = complex(sympy.N(entry.subs(subs), 20)) if not extra else math.nan
                row.append(number.real if abs(number.imag) < 1e-12 else math.nan)
            rows.append(row)
        values.append(rows)
    if extra:
        names = ", ".join(sorted(str(s) for s in extra))
        raise _Fail(f"{name}'s result contains the symbols {names}, which are not the variables "
                    "it was given: differentiate with respect to the symbols in `variables` "
                    "(do not create new ones).")
    return _array(values, dtype=float)


def _student_matrix(value, name: str):
    sympy = _sympy()
    if value is None:
        raise _Fail(f"{name} returned None: is the `return` statement missing?")
    try:
        return sympy.Matrix(value)
    except Exception as exc:  # noqa: BLE001
        raise _Fail(f"{name} returned {_describe_type(value)}, which is not a matrix "
                    f"({type(exc).__name__}); return a sympy.Matrix.") from None


def _run_hessian_symbolic(fn, text, names, *, symmetric_only=False):
    sympy = _sympy()
    expr, variables = _symbolic_case(text, names)
    n = _len(variables)
    points = _rational_points(n)
    name = "hessian_symbolic"
    inputs = _inputs(f=str(expr), variables=str(variables))

    def evaluate(value):
        M = _student_matrix(value, name)
        if M.shape in ((n, 1), (1, n)) and n > 1:
            raise _Fail(f"{name} returned a matrix of shape {M.shape} for\n{inputs}\nthat looks "
                        "like the gradient (first derivatives). The Hessian is the n x n matrix "
                        "of second partial derivatives H_ij = d^2 f / dx_i dx_j.")
        if M.shape != (n, n):
            raise _Fail(f"{name} returned a matrix of shape {M.shape}; for {n} variables the "
                        f"Hessian is {n} x {n}.")
        return _evaluate_matrix(M, variables, points, name)

    got = _call(name, fn, expr, variables, convert=evaluate)
    if symmetric_only:
        asym = _absolute(_subtract(got, got.transpose(0, 2, 1)))
        if not _isfinite(got).all() or _float(asym.max()) > 1e-9 * max(1.0, _scale(got)):
            raise _Fail(f"{name}'s result is not symmetric for\n{inputs}\nWith continuous "
                        "second partial derivatives H_ij = H_ji (Schwarz). Check the indices: "
                        "entry (i, j) is diff(f, variables[i], variables[j]).")
        return
    reference = _ref_symbolic_hessian(expr, variables)
    expected = _evaluate_matrix(reference, variables, points, "the reference")
    gradient = sympy.Matrix([sympy.diff(expr, v) for v in variables])
    g_values = _evaluate_matrix(gradient, variables, points, "the reference")[:, :, 0]

    def diagonal_only():
        out = np.zeros_like(expected)
        for k in range(n):
            out[:, k, k] = expected[:, k, k]
        return out

    def row_repeats_diagonal():
        return np.repeat(np.einsum("pii->pi", expected)[:, :, None], n, axis=2)

    variants = [
        (diagonal_only, "only the diagonal is filled. The off-diagonal entries are the mixed "
         "partials d^2 f / dx_i dx_j (i != j), which are not zero in general."),
        (row_repeats_diagonal, "every entry of row i is d^2 f / dx_i^2: entry (i, j) must "
         "differentiate once by x_i and once by x_j."),
        (lambda: np.einsum("pi,pj->pij", g_values, g_values), "entry (i, j) is the product of "
         "first derivatives (df/dx_i)(df/dx_j); it should be the second derivative "
         "d/dx_i (df/dx_j)."),
    ]
    _compare(name, got, expected, inputs=inputs + "\n  (values at the points "
             + ", ".join(str(tuple(str(c) for c in p)) for p in points) + ")",
             variants=variants, rtol=1e-8, atol=1e-10, what="Hessian")


@_test("01_hessians", "hessian_symbolic", "hessian_symbolic_shape",
       "hessian_symbolic, shape and symmetry")
def _t_hs_shape(fn=None):
    _student("hessian_symbolic", "hessian_symbolic", fn)
    _run_hessian_symbolic(fn, "x**2*y + x*y**3", "x y", symmetric_only=True)


@_test("01_hessians", "hessian_symbolic", "hessian_symbolic_fixed",
       "hessian_symbolic, fixed functions")
def _t_hs_fixed(fn=None):
    _student("hessian_symbolic", "hessian_symbolic", fn)
    _run_hessian_symbolic(fn, "x**2*y + x*y**3", "x y")
    _run_hessian_symbolic(fn, "x*exp(y*z) + sin(x*z) - y**3", "x y z")


def _random_polynomial_text(rng, names) -> str:
    terms = []
    for _ in range(4):
        coefficient = int(rng.choice([-5, -4, -3, -2, -1, 1, 2, 3, 4, 5]))
        powers = rng.integers(0, 4, size=_len(names))
        if powers.sum() < 2:
            powers[int(rng.integers(_len(names)))] += 2
        monomial = "*".join(f"{v}**{int(p)}" for v, p in zip(names, powers, strict=True) if p)
        terms.append(f"({coefficient})*{monomial}")
    a, b = names[int(rng.integers(_len(names)))], names[int(rng.integers(_len(names)))]
    extra = ["sin({a}*{b})", "exp({a}*{b}/3)", "cos({a} + 2*{b})"][int(rng.integers(3))]
    terms.append(extra.format(a=a, b=b))
    return " + ".join(terms)


@_test("01_hessians", "hessian_symbolic", "hessian_symbolic_hidden",
       "hessian_symbolic, random functions (hidden)", hidden=True)
def _t_hs_hidden(fn=None):
    _student("hessian_symbolic", "hessian_symbolic", fn)
    rng = _rng("hessian_symbolic_hidden")
    for names in ("x y z", "x y"):
        _run_hessian_symbolic(fn, _random_polynomial_text(rng, names.split()), names)


class _Smooth:
    """f(x) = x^T A x / 2 + b^T x + c sum(x^4) / 12 + sin(w^T x), with exact derivatives."""

    def __init__(self, A, b, c, w):
        self.A, self.b, self.c, self.w = (_array(A, dtype=float), _array(b, dtype=float),
                                          _float(c), _array(w, dtype=float))

    def f(self, x):
        x = _asarray(x, dtype=float)
        return _float(x @ self.A @ x / 2 + self.b @ x + self.c * np.sum(x**4) / 12
                      + np.sin(self.w @ x))

    def grad(self, x):
        x = _asarray(x, dtype=float)
        return self.A @ x + self.b + self.c * x**3 / 3 + np.cos(self.w @ x) * self.w

    def hess(self, x):
        x = _asarray(x, dtype=float)
        return self.A + self.c * np.diag(x**2) - np.sin(self.w @ x) * np.outer(self.w, self.w)

    @classmethod
    def random(cls, rng, n):
        M = rng.normal(size=(n, n))
        return cls((M + M.T), rng.normal(size=n), rng.uniform(0.5, 2.0), 0.7 * rng.normal(size=n))


def _fd_forward_hessian(f, x, h):
    """The forward-difference Hessian with step h (a common, less accurate variant)."""
    x = _asarray(x, dtype=float)
    n = x.size
    E = np.eye(n) * h
    f0 = f(x)
    fi = [f(x + E[i]) for i in range(n)]
    H = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            H[i, j] = (f(x + E[i] + E[j]) - fi[i] - fi[j] + f0) / h**2
    return H


def _off_diagonal_scaled(H, factor):
    H = _array(H, dtype=float)
    D = np.diag(np.diag(H))
    return D + factor * (H - D)


def _fd_variants(exact, f=None, x=None, h=None):
    variants = [
        (lambda: np.diag(np.diag(exact)), "only the diagonal is filled (diagonal-only "
         "reasoning). The off-diagonal entries are the mixed partials d^2 f / dx_i dx_j, from "
         "the four points x +- h e_i +- h e_j."),
        (lambda: _off_diagonal_scaled(exact, 2.0), "the off-diagonal entries are twice too "
         "large: a missing factor 1/2. The mixed central difference is [f(x+h e_i+h e_j) - "
         "f(x+h e_i-h e_j) - f(x-h e_i+h e_j) + f(x-h e_i-h e_j)] / (4 h^2)."),
        (lambda: _off_diagonal_scaled(exact, 4.0), "the off-diagonal entries are four times "
         "too large: the mixed central difference divides by 4 h^2 (the two steps are 2h "
         "wide), not by h^2."),
        (lambda: _off_diagonal_scaled(exact, 0.5), "the off-diagonal entries are half of what "
         "they should be: an extra factor 1/2 (divide by 4 h^2, not 8 h^2)."),
        (lambda: _off_diagonal_scaled(exact, 0.25), "the off-diagonal entries are a quarter of "
         "what they should be: divide the four-point difference by 4 h^2, not 16 h^2."),
    ]
    if f is not None:
        variants.append((lambda: _fd_forward_hessian(f, x, h), "this matches forward "
                         "differences (f(x + h), f(x + 2h), f(x)), whose error is O(h). Use "
                         "central differences (points x + h and x - h): error O(h^2)."))
    return variants


def _run_fd_hessian(fn, f, x, h, exact, label, rtol=1e-4):
    name = "fd_hessian"
    x = _array(x, dtype=float)
    n = x.size
    got = _call(name, fn, f, x.copy(), h, convert=lambda v: _to_array(v, name, "the Hessian"))
    inputs = _inputs(f=label, x=x, h=h)
    if got.shape == (n,) and n > 1:
        raise _Fail(f"{name} returned a vector of shape {got.shape} for\n{inputs}\nthat is "
                    "the shape of the gradient; the Hessian is an n x n matrix.")
    _compare(name, got, exact, inputs=inputs, variants=_fd_variants(exact, f, x, h),
             rtol=rtol, atol=rtol, what="Hessian",
             fallback=lambda: _fd_order_hint(fn, f, x, h, exact))


def _fd_order_hint(fn, f, x, h, exact) -> str:
    """Estimate the order of the student's formula from its errors at h and h/2."""
    try:
        e1 = _array(_call("fd_hessian", fn, f, x, 10 * h), dtype=float) - exact
        e2 = _array(_call("fd_hessian", fn, f, x, 5 * h), dtype=float) - exact
        ratio = _float(_absolute(e1).max() / max(_float(_absolute(e2).max()), 1e-300))
    except Exception:  # noqa: BLE001
        return ""
    if 1.5 < ratio < 2.6:
        return (f"halving h only halves the error (ratio {ratio:.2f}): a first-order formula, "
                "such as forward differences. Central differences are second order (ratio 4).")
    return ""


@_test("01_hessians", "fd_hessian", "fd_hessian_shape", "fd_hessian, shape and symmetry")
def _t_fd_shape(fn=None):
    _student("fd_hessian", "fd_hessian", fn)
    bowl = _seed_bowl()
    x = _array([0.3, -0.2])
    got = _call("fd_hessian", fn, bowl.f, x.copy(), 1e-4,
                convert=lambda v: _to_array(v, "fd_hessian", "the Hessian"))
    inputs = _inputs(f="x^2 + xy + y^2", x=x, h=1e-4)
    if got.shape != (2, 2):
        what = " (the shape of the gradient)" if got.shape == (2,) else ""
        raise _Fail(f"fd_hessian returned shape {got.shape}{what} for\n{inputs}\nexpected a "
                    "2 x 2 matrix.")
    if not _isfinite(got).all():
        raise _Fail(f"fd_hessian returned NaN or inf for\n{inputs}\n  got: {_fmt(got)}")
    if _float(_absolute(got - got.T).max()) > 1e-6 * max(1.0, _scale(got)):
        raise _Fail(f"fd_hessian's result is not symmetric for\n{inputs}\n  got: {_fmt(got)}\n"
                    "Likely mistake: entries (i, j) and (j, i) come from different formulas or "
                    "indices; the mixed difference is symmetric in i and j.")


@_test("01_hessians", "fd_hessian", "fd_hessian_quadratic", "fd_hessian, a quadratic")
def _t_fd_quadratic(fn=None):
    _student("fd_hessian", "fd_hessian", fn)
    A = _array([[4.0, 1.0, -2.0], [1.0, 3.0, 0.5], [-2.0, 0.5, 5.0]])
    b = _array([1.0, -2.0, 0.5])
    quadratic = _Smooth(A, b, 0.0, np.zeros(3))
    _run_fd_hessian(fn, quadratic.f, [0.5, -1.0, 2.0], 1e-3, A,
                    "x^T A x / 2 + b^T x with A = " + _fmt(A))


@_test("01_hessians", "fd_hessian", "fd_hessian_nonquadratic", "fd_hessian, a quartic-exp")
def _t_fd_nonquadratic(fn=None):
    _student("fd_hessian", "fd_hessian", fn)

    def f(z):
        x, y = _asarray(z, dtype=float)
        return _float(x**4 + x**2 * y**3 + np.exp(y / 2) + np.sin(x * y))

    x, y = 1.0, 0.7
    exact = _array([
        [12 * x**2 + 2 * y**3 - y**2 * np.sin(x * y),
         6 * x * y**2 + np.cos(x * y) - x * y * np.sin(x * y)],
        [6 * x * y**2 + np.cos(x * y) - x * y * np.sin(x * y),
         6 * x**2 * y + np.exp(y / 2) / 4 - x**2 * np.sin(x * y)],
    ])
    _run_fd_hessian(fn, f, [x, y], 1e-3, exact, "x^4 + x^2 y^3 + exp(y/2) + sin(xy)")


@_test("01_hessians", "fd_hessian", "fd_hessian_hidden", "fd_hessian, random functions (hidden)",
       hidden=True)
def _t_fd_hidden(fn=None):
    _student("fd_hessian", "fd_hessian", fn)
    rng = _rng("fd_hessian_hidden")
    for n in (4, 3):
        smooth = _Smooth.random(rng, n)
        x = rng.uniform(-1, 1, size=n)
        _run_fd_hessian(fn, smooth.f, x, 1e-4, smooth.hess(x),
                        f"a random smooth function of {n} variables")


def _pathological(z) -> float:
    """x y (x^2 - y^2) / (x^2 + y^2), 0 at the origin: its mixed partials differ at (0, 0)."""
    x, y = _asarray(z, dtype=float)
    r = x * x + y * y
    return 0.0 if r == 0 else _float(x * y * (x * x - y * y) / r)


def _second_partial_value(fn, f, x, i, j, h_outer, h_inner):
    name = "second_partial"
    return _call(name, fn, f, _array(x, dtype=float), i, j, h_outer, h_inner,
                 convert=lambda v: _to_float(v, name, "the second partial derivative"))


@_test("01_hessians", "second_partial", "second_partial_smooth",
       "second_partial, a smooth function")
def _t_sp_smooth(fn=None):
    _student("second_partial", "second_partial", fn)

    def f(z):
        x, y = _asarray(z, dtype=float)
        return _float(x**2 * y + x * y**3)

    for (i, j), exact in (((0, 1), 14.0), ((0, 0), 4.0), ((1, 1), 12.0), ((1, 0), 14.0)):
        got = _second_partial_value(fn, f, [1.0, 2.0], i, j, 1e-3, 1e-6)
        inputs = _inputs(f="x^2 y + x y^3", x=[1.0, 2.0], i=i, j=j, h_outer=1e-3,
                         h_inner=1e-6)
        variants = [(lambda k=k, e=exact: e * k, msg) for k, msg in (
            (2.0, "twice the right value: a missing factor 1/2 (a central difference "
             "divides by 2h)."),
            (4.0, "four times the right value: both central differences divide by 2h."),
            (0.5, "half the right value: an extra factor 1/2."),
            (0.25, "a quarter of the right value: divide by 2h, not 4h."),
            (-1.0, "the sign is wrong."))]
        _compare("second_partial", _array(got), exact, inputs=inputs, variants=variants,
                 rtol=1e-4, atol=1e-6, what="value")


@_test("01_hessians", "second_partial", "second_partial_order",
       "second_partial, the order of differentiation")
def _t_sp_order(fn=None):
    _student("second_partial", "second_partial", fn)
    a = _second_partial_value(fn, _pathological, [0.0, 0.0], 0, 1, 1e-3, 1e-6)
    b = _second_partial_value(fn, _pathological, [0.0, 0.0], 1, 0, 1e-3, 1e-6)
    got = _array([a, b])
    inputs = _inputs(f="x y (x^2 - y^2) / (x^2 + y^2), f(0, 0) = 0", x=[0.0, 0.0],
                     h_outer=1e-3, h_inner=1e-6) + "\n  (i, j) = (0, 1), then (1, 0)"
    variants = [
        (lambda: [-1.0, 1.0], "the order of differentiation is reversed. In this book "
         "H_ij = d/dx_i (df/dx_j): differentiate first by x_j (the inner difference, step "
         "h_inner), then by x_i (the outer difference, step h_outer)."),
        (lambda: [0.0, 0.0], "a symmetric formula cannot tell the two orders apart (the "
         "four-point formula, or equal inner and outer steps). Nest two central differences: "
         "the inner one in x_j with h_inner, the outer one in x_i with h_outer."),
    ]
    _compare("second_partial", got, [1.0, -1.0], inputs=inputs, variants=variants, rtol=0,
             atol=1e-3, what="pair of values (H_01, H_10)",
             fallback="at the origin this function's mixed partials are 1 and -1 (Schwarz's "
             "theorem does not apply: they are not continuous there).")


@_test("01_hessians", "second_partial", "second_partial_hidden",
       "second_partial, random functions (hidden)", hidden=True)
def _t_sp_hidden(fn=None):
    _student("second_partial", "second_partial", fn)
    rng = _rng("second_partial_hidden")
    smooth = _Smooth.random(rng, 3)
    x = rng.uniform(-1, 1, size=3)
    H = smooth.hess(x)
    for _ in range(2):
        i, j = (int(k) for k in rng.choice(3, size=2, replace=False))
        got = _second_partial_value(fn, smooth.f, x, i, j, 1e-3, 1e-6)
        _compare("second_partial", _array(got), H[i, j], rtol=1e-4, atol=1e-5, what="value",
                 inputs=_inputs(f="a random smooth function of 3 variables", x=x, i=i, j=j,
                                h_outer=1e-3, h_inner=1e-6))


def _run_quadratic_model(fn, f0, g, H, x0, points, label=""):
    name = "quadratic_model"
    g, H, x0 = _array(g, dtype=float), _array(H, dtype=float), _array(x0, dtype=float)

    def evaluate(m):
        if not callable(m):
            raise _Fail(f"{name} returned {_describe_type(m)}; it should return a function "
                        "m(x) (define it inside quadratic_model and return it).")
        return _array([_to_float(m(_array(p, dtype=float)), "m(x)", "m(x)") for p in points])

    got = _call(name, fn, f0, g.copy(), H.copy(), x0.copy(), convert=evaluate)
    reference = _ref_taylor2(f0, g, H, x0)
    expected = _array([reference(_array(p, dtype=float)) for p in points])
    D = _array(points, dtype=float) - x0
    P = _array(points, dtype=float)
    quad = np.einsum("pi,ij,pj->p", D, H, D)
    variants = [
        (lambda: f0 + D @ g + quad, "the quadratic term is missing its factor 1/2: "
         "m(x) = f0 + g^T d + (1/2) d^T H d with d = x - x0."),
        (lambda: f0 - D @ g + quad / 2, "the sign of the linear term: it is + g^T d."),
        (lambda: f0 + P @ g + np.einsum("pi,ij,pj->p", P, H, P) / 2, "the model must be "
         "written in d = x - x0, the step from the expansion point, not in x."),
        (lambda: f0 + D @ g + np.einsum("pi,ij,pj->p", D, np.linalg.inv(H), D) / 2,
         "H^-1 is used where H belongs: the curvature term is (1/2) d^T H d."),
        (lambda: D @ g + quad / 2, "f0 is missing: m(x0) must equal f(x0) = f0."),
    ]
    shown = _inputs(f0=f0, g=g, H=H, x0=x0) + (f"\n  ({label})" if label else "")
    shown += "\n  evaluated at x = " + "; ".join(_fmt(p) for p in points)
    _compare(name, got, expected, inputs=shown, variants=variants, rtol=1e-9, atol=1e-10,
             what="model values m(x)")


@_test("01_hessians", "quadratic_model", "quadratic_model_fixed", "quadratic_model, fixed data")
def _t_qm_fixed(fn=None):
    _student("quadratic_model", "quadratic_model", fn)
    x0 = _array([0.5, 1.0])
    points = [x0, x0 + [1.0, 0.0], x0 + [0.3, -0.7], x0 + [-1.0, 2.0]]
    _run_quadratic_model(fn, 1.5, [1.0, -2.0], [[2.0, 1.0], [1.0, 4.0]], x0, points)


@_test("01_hessians", "quadratic_model", "quadratic_model_taylor",
       "quadratic_model, Taylor model of x^4 + y^4 - 4xy")
def _t_qm_taylor(fn=None):
    _student("quadratic_model", "quadratic_model", fn)
    prob = _seed_quartic()
    x0 = _array([0.8, -0.5])
    d = _array([0.6, 0.8])
    points = [x0 + t * d for t in (0.01, 0.1, 0.5, 1.0)]
    _run_quadratic_model(fn, prob.f(x0), prob.grad(x0), prob.hess(x0), x0, points,
                         "the data of f = x^4 + y^4 - 4xy at x0")


@_test("01_hessians", "quadratic_model", "quadratic_model_hidden",
       "quadratic_model, random data (hidden)", hidden=True)
def _t_qm_hidden(fn=None):
    _student("quadratic_model", "quadratic_model", fn)
    rng = _rng("quadratic_model_hidden")
    n = 4
    M = rng.normal(size=(n, n))
    H = M @ M.T + np.eye(n)
    x0 = rng.normal(size=n)
    points = [x0 + rng.normal(size=n) for _ in range(4)]
    _run_quadratic_model(fn, _float(rng.normal()), rng.normal(size=n), H, x0, points,
                         "random data")


# =========================================================================== 02 classifying

_forbid("critical_points_of", "hessian_lab")
_forbid("classify_eigen", "hessian_lab")
_forbid("second_derivative_test_2d", "hessian_lab", "numpy.linalg.eig", "numpy.linalg.eigh",
        "numpy.linalg.eigvals", "numpy.linalg.eigvalsh")
_forbid("definiteness_by_minors", "hessian_lab", "numpy.linalg.eig", "numpy.linalg.eigh",
        "numpy.linalg.eigvals", "numpy.linalg.eigvalsh", "numpy.linalg.cholesky",
        "scipy.linalg.eig", "scipy.linalg.eigh", "scipy.linalg.eigvals", "scipy.linalg.eigvalsh",
        "scipy.linalg.cholesky", "scipy.linalg.cho_factor")

_KINDS = ("minimum", "maximum", "saddle", "inconclusive")
_DEFINITENESS = ("positive definite", "negative definite", "not definite")


def _student_points(value, variables, name) -> list[tuple[complex, ...]]:
    sympy = _sympy()
    if value is None:
        raise _Fail(f"{name} returned None: is the `return` statement missing?")
    if _isinstance(value, (str, bytes, dict)) or not _iterable(value):
        raise _Fail(f"{name} returned {_describe_type(value)}; return a list of points, each a "
                    "tuple of coordinates, e.g. [(0.0, 0.0), (1.0, 1.0)].")
    names = {v.name: v for v in variables}
    points = []
    for item in value:
        if _isinstance(item, dict):
            lookup = {(names.get(k, k) if _isinstance(k, str) else k): v for k, v in item.items()}
            if not all(v in lookup for v in variables):
                raise _Fail(f"{name} returned the point {_short(item)} without a value for "
                            "every variable.")
            coords = [lookup[v] for v in variables]
        else:
            try:
                coords = list(item)
            except TypeError:
                raise _Fail(f"{name} returned {_short(item)} as a point; each point should be "
                            f"a tuple of {_len(variables)} coordinates.") from None
        if _len(coords) != _len(variables):
            raise _Fail(f"{name} returned the point {_short(item)} with {_len(coords)} "
                        f"coordinates; expected {_len(variables)}.")
        try:
            points.append(tuple(complex(sympy.N(sympy.sympify(c), 30)) for c in coords))
        except (TypeError, ValueError, sympy.SympifyError):
            raise _Fail(f"{name} returned the point {_short(item)}, whose coordinates are not "
                        "numbers.") from None
    return points


def _iterable(value) -> bool:
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _run_critical_points(fn, text, names):
    sympy = _sympy()
    name = "critical_points_of"
    expr, variables = _symbolic_case(text, names)
    got = _call(name, fn, expr, variables,
                convert=lambda v: _student_points(v, variables, name))
    expected = [tuple(_float(sympy.N(p[v], 30)) for v in variables)
                for p in _ref_critical_points(expr, variables)]
    inputs = _inputs(f=str(expr), variables=str(variables))
    complex_points = [p for p in got if any(abs(c.imag) > 1e-9 for c in p)]
    if complex_points:
        shown = ", ".join("(" + ", ".join(f"{c:.4g}" for c in p) + ")" for p in complex_points[:3])
        raise _Fail(f"{name} includes complex solutions for\n{inputs}\n  complex: {shown}\n"
                    "Likely mistake: sympy.solve returns complex roots too; keep only the real "
                    "critical points (check each coordinate's `.is_real`, or its imaginary part).")
    real = []
    for p in got:
        point = tuple(c.real for c in p)
        if not any(max(abs(a - b) for a, b in zip(point, q, strict=True)) < 1e-7 for q in real):
            real.append(point)

    def near(p, pool):
        return any(max(abs(a - b) for a, b in zip(p, q, strict=True))
                   < 1e-7 * max(1.0, max(map(abs, q)))
                   for q in pool)

    missing = [p for p in expected if not near(p, real)]
    extra = [p for p in real if not near(p, expected)]
    if missing or extra:
        text = f"{name} does not give the right critical points for\n{inputs}\n"
        text += "  expected: " + _point_list(expected) + "\n  got:      " + _point_list(real)
        if missing:
            text += "\n  missing:  " + _point_list(missing)
        if extra:
            grads = [sympy.Matrix([sympy.diff(expr, v) for v in variables]).subs(
                dict(zip(variables, p, strict=True))) for p in extra[:2]]
            text += "\n  not critical (gradient not zero): " + _point_list(extra) + "; gradient "
            text += ", ".join(_fmt(_array(g.evalf(), dtype=float).ravel()) for g in grads)
        if missing and not extra:
            text += ("\nLikely mistake: some solutions of grad f = 0 were dropped; solve all "
                     "equations df/dx_i = 0 together and keep every real solution.")
        raise _Fail(text)


def _point_list(points) -> str:
    if not points:
        return "(none)"
    return ", ".join("(" + ", ".join(f"{c:.6g}" for c in p) + ")" for p in points)


@_test("02_classifying", "critical_points_of", "critical_points_fixed",
       "critical_points_of, x^4 + y^4 - 4xy")
def _t_cp_fixed(fn=None):
    _student("critical_points_of", "critical_points_of", fn)
    _run_critical_points(fn, "x**4 + y**4 - 4*x*y", "x y")


@_test("02_classifying", "critical_points_of", "critical_points_more",
       "critical_points_of, more functions")
def _t_cp_more(fn=None):
    _student("critical_points_of", "critical_points_of", fn)
    _run_critical_points(fn, "x**3 - 3*x*y", "x y")
    _run_critical_points(fn, "x**2 + x*y + y**2 - 3*x", "x y")


@_test("02_classifying", "critical_points_of", "critical_points_hidden",
       "critical_points_of, random functions (hidden)", hidden=True)
def _t_cp_hidden(fn=None):
    _student("critical_points_of", "critical_points_of", fn)
    rng = _rng("critical_points_hidden")
    a = int(rng.integers(1, 4))
    b = int(rng.choice([-2, -1, 1, 2]))
    c = int(rng.integers(-2, 3))
    _run_critical_points(fn, f"x**3 - 3*{a**2}*x + ({b})*(y - ({c}))**2", "x y")
    d = int(rng.choice([1, 2, 3]))
    e = int(rng.integers(-2, 3))
    _run_critical_points(fn, f"x**3 - 3*{a**2}*x + ({b})*(y - ({c}))**2 + {d}*(z - ({e}))**2",
                         "x y z")


def _eig_kind(eigenvalues, tol) -> str:
    positive = any(v > tol for v in eigenvalues)
    negative = any(v < -tol for v in eigenvalues)
    if positive and negative:
        return "saddle"
    if all(v > tol for v in eigenvalues):
        return "minimum"
    if all(v < -tol for v in eigenvalues):
        return "maximum"
    return "inconclusive"


def _labels_check(name, fn, cases, expected, variants, make_args, show, allowed):
    """Run a labelling function on several cases; on a mismatch name the matching variant."""
    got = [_call(name, fn, *make_args(case), convert=lambda v: _to_label(v, name, allowed))
           for case in cases]
    wrong = [k for k in range(_len(cases)) if got[k] != expected[k]]
    if not wrong:
        return
    lines = [f"  {show(cases[k])}: expected {expected[k]!r}, got {got[k]!r}" for k in wrong[:4]]
    if _len(wrong) > 4:
        lines.append(f"  ... and {_len(wrong) - 4} more")
    text = f"{name} gives the wrong answer for {_len(wrong)} of {_len(cases)} cases:\n"
    text += "\n".join(lines)
    for rule, message in variants:
        try:
            predicted = [rule(case) for case in cases]
        except Exception:  # noqa: BLE001
            continue
        if predicted == got:
            text += "\nLikely mistake: " + message
            break
    raise _Fail(text)


def _matrix_text(H) -> str:
    return _fmt(H).replace("\n      ", " ")


_CLASSIFY_VARIANTS = [
    (lambda H: _eig_kind(np.diag(H), 1e-8), "diagonal-only reasoning: the signs of the "
     "diagonal entries do not decide. [[1, 2], [2, 1]] has a positive diagonal but eigenvalues "
     "-1 and 3: a saddle. Use the eigenvalues (numpy.linalg.eigvalsh)."),
    (lambda H: {"minimum": "maximum", "maximum": "minimum"}.get(
        _eig_kind(np.linalg.eigvalsh(H), 1e-8), _eig_kind(np.linalg.eigvalsh(H), 1e-8)),
     "minimum and maximum are swapped: all eigenvalues positive (H positive definite) means "
     "a minimum."),
    (lambda H: _eig_kind_nonstrict(np.linalg.eigvalsh(H), 1e-8), "an eigenvalue within tol "
     "of zero is counted as positive (or negative). Zero eigenvalues make the second-order "
     "test inconclusive unless other eigenvalues of both signs already make it a saddle."),
    (lambda H: _eig_kind(np.linalg.eigvalsh(H), 0.0), "the tolerance is ignored: eigenvalues "
     "with |lambda| <= tol count as zero (rounding noise), so they make the test "
     "inconclusive."),
]


def _eig_kind_nonstrict(eigenvalues, tol) -> str:
    if all(v >= -tol for v in eigenvalues) and any(v > tol for v in eigenvalues):
        return "minimum"
    if all(v <= tol for v in eigenvalues) and any(v < -tol for v in eigenvalues):
        return "maximum"
    return _eig_kind(eigenvalues, tol)


def _run_classify(fn, matrices, tol=1e-8):
    cases = [_array(H, dtype=float) for H in matrices]
    expected = [_ref_classify(H, tol=tol).kind for H in cases]
    _labels_check("classify_eigen", fn, cases, expected, _CLASSIFY_VARIANTS,
                  lambda H: (H.copy(), tol), lambda H: f"H = {_matrix_text(H)}", _KINDS)


@_test("02_classifying", "classify_eigen", "classify_eigen_diagonal",
       "classify_eigen, diagonal matrices")
def _t_ce_diagonal(fn=None):
    _student("classify_eigen", "classify_eigen", fn)
    _run_classify(fn, [np.diag([1.0, 2.0]), np.diag([-1.0, -3.0]), np.diag([1.0, -1.0]),
                       np.diag([3.0, 1.0, 2.0])])


@_test("02_classifying", "classify_eigen", "classify_eigen_offdiagonal",
       "classify_eigen, matrices with off-diagonal entries")
def _t_ce_offdiagonal(fn=None):
    _student("classify_eigen", "classify_eigen", fn)
    _run_classify(fn, [[[1.0, 2.0], [2.0, 1.0]], [[-1.0, 3.0], [3.0, -1.0]],
                       [[2.0, 1.0], [1.0, 2.0]], [[-2.0, 1.0], [1.0, -2.0]],
                       [[2.0, -1.0, 0.0], [-1.0, 2.0, -1.0], [0.0, -1.0, 2.0]],
                       [[1.0, 0.0, 2.0], [0.0, 1.0, 0.0], [2.0, 0.0, 1.0]]])


@_test("02_classifying", "classify_eigen", "classify_eigen_degenerate",
       "classify_eigen, degenerate cases")
def _t_ce_degenerate(fn=None):
    _student("classify_eigen", "classify_eigen", fn)
    _run_classify(fn, [np.zeros((2, 2)), np.diag([1.0, 0.0]), np.diag([-2.0, 0.0]),
                       np.diag([1e-12, 1.0]), np.diag([-1.0, 0.0, 1.0]),
                       [[1.0, 1.0], [1.0, 1.0]]])


def _planted(rng, eigenvalues) -> np.ndarray:
    n = _len(eigenvalues)
    Q, R = np.linalg.qr(rng.normal(size=(n, n)))
    Q = Q * np.sign(np.diag(R))
    A = (Q * _array(eigenvalues, dtype=float)) @ Q.T
    return (A + A.T) / 2


def _random_spectra(rng, count):
    out = []
    for k in range(count):
        n = int(rng.integers(2, 5))
        magnitudes = rng.uniform(0.5, 3.0, size=n)
        pattern = k % 4
        if pattern == 0:
            values = magnitudes
        elif pattern == 1:
            values = -magnitudes
        elif pattern == 2:
            values = magnitudes * np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
        else:
            values = magnitudes.copy()
            values[0] = 0.0
        out.append(_planted(rng, rng.permutation(values)))
    return out


@_test("02_classifying", "classify_eigen", "classify_eigen_hidden",
       "classify_eigen, random matrices (hidden)", hidden=True)
def _t_ce_hidden(fn=None):
    _student("classify_eigen", "classify_eigen", fn)
    _run_classify(fn, _random_spectra(_rng("classify_eigen_hidden"), 8), tol=1e-8)


def _sdt_reference(case) -> str:
    fxx, fxy, fyy = case
    return _ref_second_derivative_test([[fxx, fxy], [fxy, fyy]], tol=1e-12)


def _sdt_rule(d_of, first=None):
    def rule(case):
        fxx, fxy, fyy = case
        D = d_of(fxx, fxy, fyy)
        if abs(D) <= 1e-12:
            return "inconclusive"
        if D < 0:
            return "saddle"
        return "minimum" if fxx > 0 else "maximum"
    return rule


def _sdt_diagonal(case) -> str:
    fxx, _, fyy = case
    return _eig_kind([fxx, fyy], 1e-12)


_SDT_VARIANTS = [
    (_sdt_rule(lambda a, b, c: a * c + b * b), "the sign in D: D = f_xx f_yy - f_xy^2 (minus), "
     "the determinant of H."),
    (_sdt_rule(lambda a, b, c: a * c - b), "f_xy is not squared: D = f_xx f_yy - f_xy^2."),
    (_sdt_diagonal, "diagonal-only reasoning: f_xx and f_yy alone do not decide; the mixed "
     "term enters through D = f_xx f_yy - f_xy^2."),
    (lambda case: ("minimum" if case[0] > 0 else "maximum") if case[0] != 0
     else _sdt_reference(case), "the sign of f_xx is used before checking D. First D: D < 0 "
     "is a saddle whatever f_xx is; only for D > 0 does f_xx decide."),
]


def _run_sdt(fn, cases):
    expected = [_sdt_reference(c) for c in cases]
    _labels_check("second_derivative_test_2d", fn, cases, expected, _SDT_VARIANTS,
                  lambda c: tuple(_float(v) for v in c),
                  lambda c: f"(f_xx, f_xy, f_yy) = ({c[0]:g}, {c[1]:g}, {c[2]:g})", _KINDS)


@_test("02_classifying", "second_derivative_test_2d", "sdt_fixed",
       "second_derivative_test_2d, fixed cases")
def _t_sdt_fixed(fn=None):
    _student("second_derivative_test_2d", "second_derivative_test_2d", fn)
    _run_sdt(fn, [(0.0, -3.0, 0.0), (2.0, 1.0, 2.0), (-2.0, 1.0, -2.0), (1.0, 2.0, 1.0),
                  (2.0, -3.0, 2.0), (-1.0, 0.5, -1.0), (0.0, 1.0, 5.0)])


@_test("02_classifying", "second_derivative_test_2d", "sdt_degenerate",
       "second_derivative_test_2d, D = 0")
def _t_sdt_degenerate(fn=None):
    _student("second_derivative_test_2d", "second_derivative_test_2d", fn)
    _run_sdt(fn, [(0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (4.0, 2.0, 1.0), (-1.0, 1.0, -1.0),
                  (3.0, 0.0, 2.0)])


@_test("02_classifying", "second_derivative_test_2d", "sdt_hidden",
       "second_derivative_test_2d, random cases (hidden)", hidden=True)
def _t_sdt_hidden(fn=None):
    _student("second_derivative_test_2d", "second_derivative_test_2d", fn)
    rng = _rng("sdt_hidden")
    cases = [tuple(_float(v) for v in rng.integers(-5, 6, size=3)) for _ in range(10)]
    a = _float(rng.integers(1, 4))
    cases.append((a, a, a))  # D = 0
    _run_sdt(fn, cases)


def _minors(H):
    return [_float(np.linalg.det(H[:k, :k])) for k in range(1, H.shape[0] + 1)]


def _minors_rule(H, pd, nd) -> str:
    D = _minors(H)
    if pd(D):
        return "positive definite"
    if nd(D):
        return "negative definite"
    return "not definite"


def _alternating(D) -> bool:
    return all((d < 0) if k % 2 == 0 else (d > 0) for k, d in enumerate(D))


def _minors_reference(H) -> str:
    D = _ref_leading_minors(H)
    scale = max(1.0, _scale(_array(H)))
    eps = 1e-10 * scale ** _len(D)
    if all(d > eps for d in D):
        return "positive definite"
    if all((d < -eps) if k % 2 == 0 else (d > eps) for k, d in enumerate(D)):
        return "negative definite"
    return "not definite"


_MINOR_VARIANTS = [
    (lambda H: _minors_rule(H, lambda D: all(d > 0 for d in D), lambda D: all(d < 0 for d in D)),
     "'all leading minors negative' is not the test for negative definite: the signs must "
     "alternate, D_1 < 0, D_2 > 0, D_3 < 0, ... (the minors of -H are (-1)^k D_k)."),
    (lambda H: _minors_rule(H, lambda D: all(d >= 0 for d in D),
                            lambda D: all((d <= 0) if k % 2 == 0 else (d >= 0)
                                          for k, d in enumerate(D))),
     "minors equal to 0 were accepted (>= instead of >): definiteness needs every D_k strictly "
     "positive (or strictly alternating). [[1, 1], [1, 1]] has minors 1, 0: only "
     "semidefinite."),
    (lambda H: _minors_rule(H, lambda D: D[-1] > 0, lambda D: D[-1] < 0),
     "only the determinant D_n is used; Sylvester's criterion needs every leading minor "
     "D_1, ..., D_n."),
    (lambda H: _minors_rule(np.diag(np.diag(H)), lambda D: all(d > 0 for d in D), _alternating),
     "diagonal-only reasoning: the leading minors involve the off-diagonal entries too "
     "(D_2 = H_11 H_22 - H_12^2)."),
]


def _run_minors(fn, matrices):
    cases = [_array(H, dtype=float) for H in matrices]
    expected = [_minors_reference(H) for H in cases]
    _labels_check("definiteness_by_minors", fn, cases, expected, _MINOR_VARIANTS,
                  lambda H: (H.copy(),), lambda H: f"H = {_matrix_text(H)}", _DEFINITENESS)


@_test("02_classifying", "definiteness_by_minors", "minors_positive",
       "definiteness_by_minors, positive definite or not")
def _t_mi_positive(fn=None):
    _student("definiteness_by_minors", "definiteness_by_minors", fn)
    _run_minors(fn, [[[4.0, 2.0, 1.0], [2.0, 3.0, 1.0], [1.0, 1.0, 2.0]], np.diag([1.0, 2.0]),
                     [[2.0, -1.0], [-1.0, 2.0]], [[1.0, 2.0], [2.0, 1.0]]])


@_test("02_classifying", "definiteness_by_minors", "minors_negative",
       "definiteness_by_minors, negative definite")
def _t_mi_negative(fn=None):
    _student("definiteness_by_minors", "definiteness_by_minors", fn)
    _run_minors(fn, [[[-2.0, 1.0], [1.0, -2.0]],
                     [[-3.0, 1.0, 0.0], [1.0, -2.0, 1.0], [0.0, 1.0, -4.0]],
                     np.diag([-1.0, 1.0, 1.0]), np.diag([-1.0, -1.0, -1.0])])


@_test("02_classifying", "definiteness_by_minors", "minors_semidefinite",
       "definiteness_by_minors, semidefinite matrices")
def _t_mi_semidefinite(fn=None):
    _student("definiteness_by_minors", "definiteness_by_minors", fn)
    _run_minors(fn, [[[1.0, 1.0], [1.0, 1.0]], [[0.0, 0.0], [0.0, -1.0]],
                     np.diag([2.0, 0.0, 3.0]), [[-1.0, 1.0], [1.0, -1.0]]])


@_test("02_classifying", "definiteness_by_minors", "minors_hidden",
       "definiteness_by_minors, random matrices (hidden)", hidden=True)
def _t_mi_hidden(fn=None):
    _student("definiteness_by_minors", "definiteness_by_minors", fn)
    rng = _rng("minors_hidden")
    # singular matrices are left out: rounding decides the sign of their determinant
    matrices = [H for H in _random_spectra(rng, 12) if min(abs(np.linalg.eigvalsh(H))) > 0.1]
    _run_minors(fn, matrices)


# =========================================================================== 03 Newton

_OPTIMIZERS = ("hessian_lab.newton", "hessian_lab.gradient_descent", "hessian_lab.momentum",
               "hessian_lab.bfgs", "hessian_lab.lbfgs", "hessian_lab.gauss_newton",
               "hessian_lab.levenberg_marquardt", "hessian_lab.sam", "hessian_lab.optimizers")
_forbid("newton_step", "hessian_lab", *_INVERSES, "scipy.optimize")
_forbid("newton_iterate", "hessian_lab", *_INVERSES, "scipy.optimize")
_forbid("newton_globalized", "hessian_lab", *_INVERSES, "scipy.optimize")
_forbid("convergence_order", "hessian_lab")
_forbid("race", *_OPTIMIZERS, "scipy.optimize")


def _newton_step_variants(g, H):
    return [
        (lambda: np.linalg.solve(H, g), "the sign of the Newton step: it solves H p = -g "
         "(minus!), so that p points downhill when H is positive definite."),
        (lambda: -H @ g, "H is used where its inverse belongs: p = -H^-1 g, i.e. solve "
         "H p = -g (np.linalg.solve(H, -g)), not -H @ g."),
        (lambda: H @ g, "H is used where its inverse belongs (and the sign is wrong): solve "
         "H p = -g."),
        (lambda: -g, "that is the steepest-descent step -g; Newton's step also uses the "
         "curvature: solve H p = -g."),
        (lambda: -g / np.diag(H), "diagonal-only reasoning: dividing by the diagonal of H "
         "ignores the off-diagonal curvature; solve the full system H p = -g."),
        (lambda: -np.linalg.solve(H, g) / 2, "a stray "
         "factor 1/2: the Newton step minimises g^T p + p^T H p / 2, which gives H p = -g."),
    ]


def _run_newton_step(fn, g, H, label=""):
    name = "newton_step"
    g, H = _array(g, dtype=float), _array(H, dtype=float)
    got = _call(name, fn, g.copy(), H.copy(),
                convert=lambda v: _to_array(v, name, "the step p"))
    expected = np.linalg.solve(H, -g)
    inputs = _inputs(g=g, H=H) + (f"\n  ({label})" if label else "")
    if got.shape != expected.shape and got.size == expected.size:
        raise _Fail(f"{name} returned shape {got.shape} for\n{inputs}\nexpected a 1-D array "
                    f"of shape {expected.shape} (like g). Pass g as it is to np.linalg.solve, "
                    "without reshaping it into a column.")
    _compare(name, got, expected, inputs=inputs, variants=_newton_step_variants(g, H),
             rtol=1e-8, atol=1e-10, what="step p")


@_test("03_newton", "newton_step", "newton_step_shape", "newton_step, shape")
def _t_ns_shape(fn=None):
    _student("newton_step", "newton_step", fn)
    g, H = _array([1.0, 2.0]), _array([[4.0, 1.0], [1.0, 3.0]])
    got = _call("newton_step", fn, g.copy(), H.copy(),
                convert=lambda v: _to_array(v, "newton_step", "the step p"))
    if got.shape != (2,):
        raise _Fail(f"newton_step returned shape {got.shape} for\n{_inputs(g=g, H=H)}\n"
                    "expected a 1-D array of shape (2,), like g.")
    if not _isfinite(got).all():
        raise _Fail(f"newton_step returned NaN or inf for\n{_inputs(g=g, H=H)}")


@_test("03_newton", "newton_step", "newton_step_fixed", "newton_step, fixed input")
def _t_ns_fixed(fn=None):
    _student("newton_step", "newton_step", fn)
    _run_newton_step(fn, [1.0, 2.0], [[4.0, 1.0], [1.0, 3.0]])
    _run_newton_step(fn, [1.0, -1.0, 2.0], [[2.0, 0.0, 1.0], [0.0, -3.0, 0.0], [1.0, 0.0, 1.0]],
                     "an indefinite H: the Newton step is still -H^-1 g")


@_test("03_newton", "newton_step", "newton_step_hidden", "newton_step, random input (hidden)",
       hidden=True)
def _t_ns_hidden(fn=None):
    _student("newton_step", "newton_step", fn)
    rng = _rng("newton_step_hidden")
    for n in (5, 3):
        values = rng.uniform(0.5, 5.0, size=n) * rng.choice([-1.0, 1.0], size=n)
        _run_newton_step(fn, rng.normal(size=n), _planted(rng, values), "random")


@_test("03_newton", "newton_step", "newton_step_singular", "newton_step, singular H")
def _t_ns_singular(fn=None):
    _student("newton_step", "newton_step", fn)
    for g, H in (([1.0, 2.0], [[1.0, 1.0], [1.0, 1.0]]), ([1.0, 0.0], [[2.0, 0.0], [0.0, 0.0]])):
        g, H = _array(g), _array(H)
        outcome = _call("newton_step", fn, g.copy(), H.copy(), expect=(ValueError,))
        if not _isinstance(outcome, ValueError):
            raise _Fail(f"newton_step returned {_short(outcome)} for a singular H:\n"
                        f"{_inputs(g=g, H=H)}\nH p = -g has no unique solution here, so there "
                        "is no Newton step: let it raise ValueError (np.linalg.solve raises "
                        "LinAlgError, a ValueError, by itself; a pseudo-inverse or lstsq hides "
                        "the problem).")


def _student_path(value, name, n):
    path = _to_array(value, name, "the path")
    if path.ndim == 1 and path.size == n:
        raise _Fail(f"{name} returned a single point {_fmt(path)}; return the whole path: an "
                    "array of shape (k + 1, n) whose rows are x_0, x_1, ..., x_k.")
    if path.ndim != 2 or path.shape[1] != n or path.shape[0] < 1:
        raise _Fail(f"{name} returned an array of shape {path.shape}; the path should have "
                    f"shape (k + 1, {n}): one row per iterate, starting with x_0.")
    return path


def _run_newton_iterate(fn, prob, x0, tol, max_iter, label):
    name = "newton_iterate"
    x0 = _array(x0, dtype=float)
    got = _call(name, fn, prob.grad, prob.hess, x0.copy(), tol, max_iter,
                convert=lambda v: _student_path(v, name, x0.size))
    with _errstate(all="ignore"):
        ref = _ref_newton(prob.f, prob.grad, prob.hess, x0, globalize=False, tol=tol,
                          max_iter=max_iter)
    expected = ref.path
    inputs = _inputs(f=label, x0=x0, tol=tol, max_iter=max_iter)
    if not _close(got[0], x0, 0, 0):
        cause = ""
        if expected.shape[0] > 1 and _close(got[0], expected[1], 1e-8, 1e-10):
            cause = "\nLikely mistake: the path must start with x0 itself."
        raise _Fail(f"{name}'s path does not start at x0 for\n{inputs}\n  first row: "
                    f"{_fmt(got[0])}{cause}")
    if got.shape != expected.shape:
        agree = min(got.shape[0], expected.shape[0])
        same = _close(got[:agree], expected[:agree], 1e-6, 1e-9 * max(1.0, _scale(expected)))
        text = (f"{name} took {got.shape[0] - 1} steps for\n{inputs}\nthe reference takes "
                f"{expected.shape[0] - 1} (final iterate {_fmt(expected[-1])}).")
        if same:
            text += ("\nLikely mistake: the stopping rule. Stop as soon as "
                     "||grad f(x_k)||_inf <= tol (test before taking a step), and never take "
                     "more than max_iter steps.")
            raise _Fail(text)
        if got.shape[0] > 1 and expected.shape[0] > 1:
            _first_step_diagnosis(name, got, expected, prob, x0, inputs)
        raise _Fail(text)
    _compare(name, got, expected, inputs=inputs, rtol=1e-6, atol=1e-9, what="path",
             fallback=lambda: _first_step_cause(got, prob, x0))


def _first_step_cause(got, prob, x0) -> str:
    if got.shape[0] < 2:
        return ""
    g, H = prob.grad(x0), prob.hess(x0)
    step = got[1] - x0
    for candidate, message in _newton_step_variants(g, H)[:5]:
        value = _variant(candidate)
        if value is not None and _close(step, value, 1e-6, 1e-9):
            return "the first step: " + message
    return ""


def _first_step_diagnosis(name, got, expected, prob, x0, inputs):
    cause = _first_step_cause(got, prob, x0)
    if cause:
        raise _Fail(f"{name} follows the wrong path for\n{inputs}\n  expected x_1: "
                    f"{_fmt(expected[1])}\n  got x_1:      {_fmt(got[1])}\nLikely mistake: "
                    + cause)


class _Sqrt2D:
    """f(x, y) = sqrt(1 + x^2) + sqrt(1 + y^2): pure Newton diverges from |x| > 1."""

    @staticmethod
    def f(z):
        return _float(np.sum(np.sqrt(1.0 + _asarray(z, dtype=float) ** 2)))

    @staticmethod
    def grad(z):
        z = _asarray(z, dtype=float)
        return z / np.sqrt(1.0 + z**2)

    @staticmethod
    def hess(z):
        z = _asarray(z, dtype=float)
        return np.diag((1.0 + z**2) ** -1.5)


class _ConvexQuartic:
    """f(x) = x^T A x / 2 + sum((x - c)^4) / 4 - b^T x, strictly convex."""

    def __init__(self, A, b, c):
        self.A, self.b, self.c = A, b, c

    def f(self, x):
        x = _asarray(x, dtype=float)
        return _float(x @ self.A @ x / 2 + np.sum((x - self.c) ** 4) / 4 - self.b @ x)

    def grad(self, x):
        x = _asarray(x, dtype=float)
        return self.A @ x + (x - self.c) ** 3 - self.b

    def hess(self, x):
        x = _asarray(x, dtype=float)
        return self.A + 3 * np.diag((x - self.c) ** 2)

    @classmethod
    def random(cls, rng, n):
        return cls(_planted(rng, rng.uniform(1.0, 4.0, size=n)), rng.normal(size=n),
                   0.5 * rng.normal(size=n))


@_test("03_newton", "newton_iterate", "newton_iterate_quadratic", "newton_iterate, a quadratic")
def _t_ni_quadratic(fn=None):
    _student("newton_iterate", "newton_iterate", fn)
    _run_newton_iterate(fn, _seed_bowl(), [1.0, 1.0], 1e-10, 50,
                        "x^2 + xy + y^2 (one Newton step reaches the minimum)")


@_test("03_newton", "newton_iterate", "newton_iterate_rosenbrock", "newton_iterate, Rosenbrock")
def _t_ni_rosenbrock(fn=None):
    _student("newton_iterate", "newton_iterate", fn)
    _run_newton_iterate(fn, _rosenbrock(), [-1.2, 1.0], 1e-10, 50, "Rosenbrock")


@_test("03_newton", "newton_iterate", "newton_iterate_stopping", "newton_iterate, stopping rules")
def _t_ni_stopping(fn=None):
    _student("newton_iterate", "newton_iterate", fn)
    _run_newton_iterate(fn, _seed_quartic(), [2.0, 1.5], 1e-6, 50, "x^4 + y^4 - 4xy")
    _run_newton_iterate(fn, _Sqrt2D, [1.5, 1.5], 1e-10, 3,
                        "sqrt(1 + x^2) + sqrt(1 + y^2), where pure Newton diverges: "
                        "max_iter = 3 must stop it")


@_test("03_newton", "newton_iterate", "newton_iterate_hidden",
       "newton_iterate, random convex functions (hidden)", hidden=True)
def _t_ni_hidden(fn=None):
    _student("newton_iterate", "newton_iterate", fn)
    rng = _rng("newton_iterate_hidden")
    for n in (4, 3):
        prob = _ConvexQuartic.random(rng, n)
        _run_newton_iterate(fn, prob, rng.uniform(-1.0, 1.0, size=n), 1e-10, 50,
                            f"a random strictly convex function of {n} variables")


def _run_globalized(fn, prob, x0, label, max_iter=100):
    name = "newton_globalized"
    x0 = _array(x0, dtype=float)
    path = _call(name, fn, prob.f, prob.grad, prob.hess, x0.copy(), 1e-8, max_iter,
                 convert=lambda v: _student_path(v, name, x0.size))
    inputs = _inputs(f=label, x0=x0, tol=1e-8, max_iter=max_iter)
    if not _close(path[0], x0, 0, 0):
        raise _Fail(f"{name}'s path does not start at x0 for\n{inputs}\n  first row: "
                    f"{_fmt(path[0])}")
    if not _isfinite(path).all():
        raise _Fail(f"{name}'s path contains NaN or inf for\n{inputs}\nLikely mistake: a step "
                    "that was not shortened: backtrack (halve alpha) until f decreases enough.")
    values = [prob.f(x) for x in path]
    for k in range(_len(values) - 1):
        if values[k + 1] > values[k] + 1e-12 * max(1.0, abs(values[k])):
            raise _Fail(f"{name}: f increased from {values[k]:.6g} to {values[k + 1]:.6g} at "
                        f"step {k + 1} for\n{inputs}\nLikely mistake: no line search. A "
                        "globalised Newton method backtracks: try alpha = 1, 1/2, 1/4, ... "
                        "until f(x + alpha p) <= f(x) + c1 alpha g^T p (Armijo, c1 = 1e-4).")
    x = path[-1]
    gnorm = _float(_absolute(prob.grad(x)).max())
    eigenvalues = np.linalg.eigvalsh(prob.hess(x))
    if gnorm <= 1e-6 and eigenvalues[0] <= 1e-8:
        raise _Fail(f"{name} stopped at {_fmt(x)}, a critical point that is not a minimum "
                    f"(eigenvalues of H there: {_fmt(eigenvalues)}), for\n{inputs}\nLikely "
                    "mistake: the Hessian is used unmodified. Where H is not positive definite "
                    "(its Cholesky factorisation fails), solve with H + tau I instead, "
                    "increasing tau until the factorisation succeeds, so that p is a descent "
                    "direction.")
    if gnorm > 1e-6:
        raise _Fail(f"{name} did not converge for\n{inputs}\n  final x = {_fmt(x)} after "
                    f"{_len(path) - 1} steps, ||grad f||_inf = {gnorm:.3g} (expected <= 1e-6)."
                    "\nCheck the stopping test, the shift of H and the line search.")


@_test("03_newton", "newton_globalized", "newton_globalized_quartic",
       "newton_globalized, escaping the saddle of x^4 + y^4 - 4xy")
def _t_ng_quartic(fn=None):
    _student("newton_globalized", "newton_globalized", fn)
    _run_globalized(fn, _seed_quartic(), [0.3, 0.2],
                    "x^4 + y^4 - 4xy (pure Newton from here goes to the saddle (0, 0))")


@_test("03_newton", "newton_globalized", "newton_globalized_rosenbrock",
       "newton_globalized, Rosenbrock")
def _t_ng_rosenbrock(fn=None):
    _student("newton_globalized", "newton_globalized", fn)
    _run_globalized(fn, _rosenbrock(), [-1.2, 1.0], "Rosenbrock")


@_test("03_newton", "newton_globalized", "newton_globalized_hidden",
       "newton_globalized, Himmelblau from random starts (hidden)", hidden=True)
def _t_ng_hidden(fn=None):
    _student("newton_globalized", "newton_globalized", fn)
    rng = _rng("newton_globalized_hidden")
    prob = _himmelblau()
    for _ in range(3):
        _run_globalized(fn, prob, rng.uniform(-4.0, 4.0, size=2), "Himmelblau's function")


def _order_estimate(errors) -> float:
    e = [abs(_float(v)) for v in errors]
    return math.log(e[-1] / e[-2]) / math.log(e[-2] / e[-3])


def _run_order(fn, errors, label):
    name = "convergence_order"
    errors = [_float(v) for v in errors]
    got = _call(name, fn, list(errors),
                convert=lambda v: _to_float(v, name, "the order q"))
    expected = _order_estimate(errors)
    e = errors
    variants = [
        (lambda: 1.0 / expected, "the ratio is upside down: q = log(e_{k+1}/e_k) / "
         "log(e_k/e_{k-1})."),
        (lambda: math.log(e[-1]) / math.log(e[-2]), "q = log(e_{k+1}) / log(e_k) is only right "
         "when the constant C in e_{k+1} = C e_k^q is 1; the ratio of ratios, log(e_{k+1}/e_k) "
         "/ log(e_k/e_{k-1}), cancels C."),
        (lambda: _order_estimate(e[:3]), "the first three errors were used; the order is an "
         "asymptotic property: use the last three."),
        (lambda: math.log(e[-1] / e[-2]), "only the numerator log(e_{k+1}/e_k) was computed; "
         "divide it by log(e_k/e_{k-1})."),
    ]
    _compare(name, _array(got), expected, inputs=_inputs(errors=_array(errors)) + f"\n  ({label})",
             variants=variants, rtol=0.0, atol=0.02, what="order q")


@_test("03_newton", "convergence_order", "order_sequences",
       "convergence_order, model sequences")
def _t_co_sequences(fn=None):
    _student("convergence_order", "convergence_order", fn)
    for q, C, e0, label in ((1.0, 0.5, 0.8, "linear, e_{k+1} = 0.5 e_k"),
                            (2.0, 3.0, 0.01, "quadratic, e_{k+1} = 3 e_k^2"),
                            (1.618, 1.0, 0.3, "superlinear, q = 1.618")):
        errors = [e0]
        for _ in range(3):
            errors.append(C * errors[-1] ** q)
        _run_order(fn, errors, label)
    _run_order(fn, [0.9, 0.5, 0.1, 1e-2, 1e-4, 1e-8], "a slow start, then quadratic")


@_test("03_newton", "convergence_order", "order_newton", "convergence_order, a Newton run")
def _t_co_newton(fn=None):
    _student("convergence_order", "convergence_order", fn)
    x, errors = 0.5, [0.5]
    for _ in range(4):  # Newton for g(x) = x + x^2 = 0, root 0
        x = x - (x + x * x) / (1 + 2 * x)
        errors.append(abs(x))
    _run_order(fn, errors, "Newton's method on g(x) = x + x^2")


@_test("03_newton", "convergence_order", "order_hidden",
       "convergence_order, random sequences (hidden)", hidden=True)
def _t_co_hidden(fn=None):
    _student("convergence_order", "convergence_order", fn)
    rng = _rng("order_hidden")
    q = _float(rng.choice([1.0, 1.5, 2.0, 3.0]))
    C = _float(rng.uniform(0.2, 0.9)) if q == 1.0 else _float(rng.uniform(0.5, 4.0))
    errors = [_float(rng.uniform(0.01, 0.05))]
    for _ in range(3):
        errors.append(C * errors[-1] ** q)
    _run_order(fn, errors, f"e_(k+1) = {C:.3g} e_k^{q:g}")


def _race_reference(kappa, tol):
    prob = _quadratic(kappa)
    with _errstate(all="ignore"):
        gd = _ref_gradient_descent(prob.f, prob.grad, prob.x0, lr=1.0 / kappa, tol=tol,
                                   max_iter=10**7)
        nt = _ref_newton(prob.f, prob.grad, prob.hess, prob.x0, globalize=False, tol=tol)
    return {"newton": nt.nit, "gradient_descent": gd.nit}


def _student_race(value, name):
    if not _isinstance(value, dict):
        raise _Fail(f"{name} returned {_describe_type(value)}; return a dict "
                    "{'newton': ..., 'gradient_descent': ...} of iteration counts.")
    missing = [k for k in ("newton", "gradient_descent") if k not in value]
    if missing:
        raise _Fail(f"{name}'s dict has no key {missing[0]!r}; it needs 'newton' and "
                    "'gradient_descent'.")
    return {k: _to_int(value[k], name, f"the {k} iteration count")
            for k in ("newton", "gradient_descent")}


def _run_race(fn, kappa, tol):
    name = "race"
    got = _call(name, fn, kappa, tol, convert=lambda v: _student_race(v, name))
    expected = _race_reference(kappa, tol)
    if got == expected:
        return
    inputs = _inputs(kappa=kappa, tol=tol)
    text = (f"{name} gives the wrong counts for\n{inputs}\n  expected: {expected}\n"
            f"  got:      {got}")
    gd_got, gd_ref = got["gradient_descent"], expected["gradient_descent"]
    best = _race_reference_step(kappa, tol, 2.0 / (1.0 + kappa))
    if got["newton"] == expected["newton"] + 1 or gd_got == gd_ref + 1:
        text += ("\nLikely mistake: counting iterates instead of steps (x_0 is not a step), "
                 "or testing the gradient after the step instead of before.")
    elif got["newton"] == 0 or gd_got == gd_ref - 1:
        text += "\nLikely mistake: one step too few: stop only when ||grad||_inf <= tol."
    elif gd_got == best:
        text += ("\nLikely mistake: the step size. The race uses alpha = 1 / lambda_max = "
                 "1 / kappa (the optimal 2 / (lambda_min + lambda_max) is faster).")
    elif got["newton"] != expected["newton"]:
        text += ("\nLikely mistake: on a quadratic, Newton's method reaches the minimum in "
                 "one step (H p = -g is solved exactly).")
    raise _Fail(text)


def _race_reference_step(kappa, tol, lr):
    prob = _quadratic(kappa)
    with _errstate(all="ignore"):
        return _ref_gradient_descent(prob.f, prob.grad, prob.x0, lr=lr, tol=tol,
                                     max_iter=10**7).nit


@_test("03_newton", "race", "race_fixed", "race, kappa = 10 and 100")
def _t_race_fixed(fn=None):
    _student("race", "race", fn)
    _run_race(fn, 10.0, 1e-8)
    _run_race(fn, 100.0, 1e-6)


@_test("03_newton", "race", "race_hidden", "race, a random condition number (hidden)",
       hidden=True)
def _t_race_hidden(fn=None):
    _student("race", "race", fn)
    rng = _rng("race_hidden")
    _run_race(fn, _float(np.round(rng.uniform(20.0, 300.0), 1)),
              _float(rng.choice([1e-5, 1e-6, 1e-8])))


# =========================================================================== 04 quasi-Newton

_forbid("bfgs_inverse_update", "hessian_lab", "scipy.optimize")
_forbid("bfgs_minimize", *_OPTIMIZERS, "hessian_lab.bfgs_update", "hessian_lab.two_loop",
        "scipy.optimize")
_forbid("two_loop_direction", "hessian_lab", "scipy.optimize")
_forbid("lbfgs_memory_update", "hessian_lab")


def _direct_bfgs(B, s, y):
    """The BFGS update of a *Hessian* approximation (Nocedal & Wright's B_k)."""
    Bs = B @ s
    return B - np.outer(Bs, Bs) / (s @ Bs) + np.outer(y, y) / (y @ s)


def _bfgs_variants(B, s, y):
    rho = 1.0 / (y @ s)
    identity = np.eye(s.size)
    return [
        (lambda: _direct_bfgs(B, s, y), "this is the BFGS update of an approximation of the "
         "Hessian (Nocedal & Wright's B_k, with B_new s = y). In this book B approximates the "
         "INVERSE Hessian: B_new = (I - rho s y^T) B (I - rho y s^T) + rho s s^T, "
         "rho = 1 / (y^T s), so that B_new y = s."),
        (lambda: _ref_bfgs_update(B, y, s), "s and y are swapped: s = x_new - x_old is the "
         "step, y = g_new - g_old the change of the gradient; the result must satisfy "
         "B_new y = s."),
        (lambda: (identity - rho * np.outer(s, y)) @ B @ (identity - rho * np.outer(s, y))
         + rho * np.outer(s, s), "the right-hand factor is not transposed: it is "
         "(I - rho y s^T), the transpose of the left one (so B_new stays symmetric)."),
        (lambda: (identity - rho * np.outer(s, y)) @ B @ (identity - rho * np.outer(y, s)),
         "the last term rho s s^T is missing."),
        (lambda: B - np.outer(B @ y, B @ y) / (y @ B @ y) + np.outer(s, s) / (y @ s),
         "that is the DFP update of the inverse, not BFGS."),
        (lambda: _bfgs_with_rho(B, s, y, 1.0 / (s @ s)), "rho is 1 / (y^T s), not 1 / (s^T s)."),
        (lambda: _bfgs_with_rho(B, s, y, 1.0 / (y @ y)), "rho is 1 / (y^T s), not 1 / (y^T y)."),
    ]


def _bfgs_with_rho(B, s, y, rho):
    identity = np.eye(s.size)
    left = identity - rho * np.outer(s, y)
    return left @ B @ left.T + rho * np.outer(s, s)


def _run_bfgs_update(fn, B, s, y, label=""):
    name = "bfgs_inverse_update"
    B, s, y = _array(B, dtype=float), _array(s, dtype=float), _array(y, dtype=float)
    got = _call(name, fn, B.copy(), s.copy(), y.copy(),
                convert=lambda v: _to_array(v, name, "B_new", ndim=2))
    inputs = _inputs(B=B, s=s, y=y) + (f"\n  ({label})" if label else "")
    _compare(name, got, _ref_bfgs_update(B, s, y), inputs=inputs,
             variants=_bfgs_variants(B, s, y), rtol=1e-8, atol=1e-10, what="B_new")


@_test("04_quasi_newton", "bfgs_inverse_update", "bfgs_update_secant",
       "bfgs_inverse_update, symmetry and the secant condition")
def _t_bu_secant(fn=None):
    name = "bfgs_inverse_update"
    _student(name, name, fn)
    B, s, y = np.eye(2), _array([1.0, 0.0]), _array([2.0, 1.0])
    got = _call(name, fn, B.copy(), s.copy(), y.copy(),
                convert=lambda v: _to_array(v, name, "B_new", ndim=2))
    inputs = _inputs(B=B, s=s, y=y)
    if got.shape != (2, 2) or not _isfinite(got).all():
        raise _Fail(f"{name} returned {_fmt(got)} (shape {got.shape}) for\n{inputs}\nexpected a "
                    "finite 2 x 2 matrix.")
    if _float(_absolute(got - got.T).max()) > 1e-10:
        raise _Fail(f"{name}'s B_new is not symmetric for\n{inputs}\n  got: {_fmt(got)}\n"
                    "Likely mistake: the right-hand factor must be the transpose of the left "
                    "one: (I - rho s y^T) B (I - rho y s^T).")
    if not _close(got @ y, s, 1e-8, 1e-10):
        cause = ("B_new s = y holds instead: this is the update of the Hessian approximation "
                 "(or s and y are swapped). In this book B approximates the INVERSE Hessian, so "
                 "the secant condition is B_new y = s."
                 if _close(got @ s, y, 1e-8, 1e-10) else
                 "check the formula B_new = (I - rho s y^T) B (I - rho y s^T) + rho s s^T.")
        raise _Fail(f"{name}'s B_new does not satisfy the secant condition B_new y = s for\n"
                    f"{inputs}\n  B_new y = {_fmt(got @ y)}, s = {_fmt(s)}\nLikely mistake: "
                    + cause)


@_test("04_quasi_newton", "bfgs_inverse_update", "bfgs_update_fixed",
       "bfgs_inverse_update, fixed input")
def _t_bu_fixed(fn=None):
    _student("bfgs_inverse_update", "bfgs_inverse_update", fn)
    _run_bfgs_update(fn, [[2.0, 0.5], [0.5, 1.0]], [0.5, -0.2], [1.0, 0.3])
    _run_bfgs_update(fn, [[1.0, 0.2, 0.0], [0.2, 2.0, 0.3], [0.0, 0.3, 1.5]], [0.1, 0.4, -0.3],
                     [0.5, 0.9, -0.2])


@_test("04_quasi_newton", "bfgs_inverse_update", "bfgs_update_hidden",
       "bfgs_inverse_update, random input (hidden)", hidden=True)
def _t_bu_hidden(fn=None):
    _student("bfgs_inverse_update", "bfgs_inverse_update", fn)
    rng = _rng("bfgs_update_hidden")
    for n in (5, 3):
        B = _planted(rng, rng.uniform(0.5, 3.0, size=n))
        A = _planted(rng, rng.uniform(0.5, 3.0, size=n))
        s = rng.normal(size=n)
        _run_bfgs_update(fn, B, s, A @ s, "random; y^T s > 0")


@_test("04_quasi_newton", "bfgs_inverse_update", "bfgs_update_curvature",
       "bfgs_inverse_update, the curvature condition")
def _t_bu_curvature(fn=None):
    name = "bfgs_inverse_update"
    _student(name, name, fn)
    for s, y in (([1.0, 0.0], [-1.0, 0.5]), ([1.0, 0.0], [0.0, 1.0])):
        B, s, y = np.eye(2), _array(s), _array(y)
        outcome = _call(name, fn, B.copy(), s.copy(), y.copy(), expect=(ValueError,))
        if not _isinstance(outcome, ValueError):
            raise _Fail(f"{name} returned an update for\n{_inputs(B=B, s=s, y=y)}\nwhere "
                        f"y^T s = {_float(y @ s):g} <= 0.\nLikely mistake: the forgotten "
                        "curvature check. The update needs y^T s > 0 to keep B positive "
                        "definite (and rho = 1 / y^T s finite): raise ValueError otherwise.")


def _is_pair(value) -> bool:
    """Any sequence of two items, as a reasonable grader accepts where a tuple is asked:
    a tuple, a list, a numpy array, ... (not a string, a dict or a set)."""
    if _isinstance(value, (str, bytes, dict, set, frozenset)):
        return False
    try:
        return _len(value) == 2 and _len(list(value)) == 2
    except TypeError:
        return False


def _student_minimize(value, name, n):
    if not _is_pair(value):
        raise _Fail(f"{name} returned {_describe_type(value)} {_short(value)}; return a tuple "
                    "(x, nit): the final point and the number of iterations.")
    value = tuple(value)
    x = _to_array(value[0], name, "x", ndim=1)
    if x.size != n:
        raise _Fail(f"{name} returned x of length {x.size}; expected {n}.")
    return x, _to_int(value[1], name, "nit")


def _run_bfgs_minimize(fn, f, grad, x0, label, max_iter=200, target=None, gtol=1e-5):
    name = "bfgs_minimize"
    x0 = _array(x0, dtype=float)
    x, nit = _call(name, fn, f, grad, x0.copy(), 1e-6, max_iter,
                   convert=lambda v: _student_minimize(v, name, x0.size))
    inputs = _inputs(f=label, x0=x0, tol=1e-6, max_iter=max_iter)
    gnorm = _float(_absolute(_asarray(grad(x), dtype=float)).max())
    problem = ""
    if not 0 <= nit <= max_iter:
        problem = f"nit = {nit} is outside 0 ... max_iter = {max_iter}"
    elif not math.isfinite(gnorm) or gnorm > gtol:
        problem = f"||grad f(x)||_inf = {gnorm:.3g} at the returned x = {_fmt(x)} (after {nit} " \
                  f"iterations); expected <= {gtol:g}"
    elif target is not None and not _close(x, target, 0, 1e-4):
        problem = f"x = {_fmt(x)}, expected {_fmt(target)}"
    if problem:
        raise _Fail(f"{name} did not converge for\n{inputs}\n  {problem}.\nCommon causes: the "
                    "direction must be p = -B g (B approximates the INVERSE Hessian: no solve); "
                    "s = x_new - x_old and y = g_new - g_old; skip the update when y^T s <= 0; "
                    "backtrack alpha = 1, 1/2, ... until f decreases enough (Armijo).")


@_test("04_quasi_newton", "bfgs_minimize", "bfgs_minimize_quadratic",
       "bfgs_minimize, an ill-conditioned quadratic")
def _t_bm_quadratic(fn=None):
    _student("bfgs_minimize", "bfgs_minimize", fn)
    prob = _quadratic(10.0, n=4, rng=0)
    _run_bfgs_minimize(fn, prob.f, prob.grad, prob.x0, "x^T A x / 2, kappa(A) = 10, n = 4",
                       target=np.zeros(4))


@_test("04_quasi_newton", "bfgs_minimize", "bfgs_minimize_rosenbrock", "bfgs_minimize, Rosenbrock")
def _t_bm_rosenbrock(fn=None):
    _student("bfgs_minimize", "bfgs_minimize", fn)
    prob = _rosenbrock()
    _run_bfgs_minimize(fn, prob.f, prob.grad, prob.x0, "Rosenbrock", target=np.ones(2),
                       gtol=1e-4)


@_test("04_quasi_newton", "bfgs_minimize", "bfgs_minimize_hidden",
       "bfgs_minimize, random convex functions (hidden)", hidden=True)
def _t_bm_hidden(fn=None):
    _student("bfgs_minimize", "bfgs_minimize", fn)
    rng = _rng("bfgs_minimize_hidden")
    for n in (6, 3):
        prob = _ConvexQuartic.random(rng, n)
        _run_bfgs_minimize(fn, prob.f, prob.grad, rng.uniform(-2.0, 2.0, size=n),
                           f"a random strictly convex function of {n} variables")


def _two_loop_variant(g, s_list, y_list, gamma, first_reversed=False, second_reversed=False,
                      gamma_power=1.0):
    m = _len(s_list)
    rho = [1.0 / (y @ s) for s, y in zip(s_list, y_list, strict=True)]
    q = _array(g, dtype=float)
    a = [0.0] * m
    order = list(range(m)) if first_reversed else list(reversed(range(m)))
    for i in order:
        a[i] = rho[i] * (s_list[i] @ q)
        q = q - a[i] * y_list[i]
    r = gamma**gamma_power * q
    order = list(reversed(range(m))) if second_reversed else list(range(m))
    for i in order:
        b = rho[i] * (y_list[i] @ r)
        r = r + (a[i] - b) * s_list[i]
    return r


def _two_loop_variants(g, s_list, y_list, gamma):
    expected = _ref_two_loop(g, s_list, y_list, gamma)
    return [
        (lambda: -expected, "the sign: the recursion returns r = B g; the L-BFGS step is "
         "p = -r, and the caller negates it."),
        (lambda: _two_loop_variant(g, s_list, y_list, gamma, second_reversed=True), "the second "
         "loop must run from the OLDEST pair to the newest (the first loop runs newest to "
         "oldest)."),
        (lambda: _two_loop_variant(g, s_list, y_list, gamma, first_reversed=True), "the first "
         "loop must run from the NEWEST pair to the oldest."),
        (lambda: _two_loop_variant(g, s_list, y_list, gamma, True, True), "both loops run in the "
         "wrong order: first newest -> oldest, then oldest -> newest."),
        (lambda: _two_loop_variant(g, s_list, y_list, gamma, gamma_power=0.0), "gamma is "
         "ignored: between the loops r = gamma q (B_0 = gamma I)."),
        (lambda: _two_loop_variant(g, s_list, y_list, gamma, gamma_power=-1.0), "gamma divides "
         "where it should multiply: r = gamma q."),
        (lambda: _two_loop_variant(g, y_list, s_list, 1.0 / gamma), "s and y are swapped: that "
         "computes the product with the Hessian approximation, not with its inverse B."),
    ]


def _run_two_loop(fn, g, s_list, y_list, gamma, label):
    name = "two_loop_direction"
    g = _array(g, dtype=float)
    s_list = [_array(s, dtype=float) for s in s_list]
    y_list = [_array(y, dtype=float) for y in y_list]
    got = _call(name, fn, g.copy(), [s.copy() for s in s_list], [y.copy() for y in y_list],
                _float(gamma), convert=lambda v: _to_array(v, name, "r = B g", ndim=1))
    expected = _ref_two_loop(g, s_list, y_list, gamma)
    if g.size > 50:
        inputs = f"  ({label})"
    else:
        inputs = _inputs(g=g, gamma=gamma) + f"\n  ({label})\n  s_list = " + "; ".join(
            _fmt(s) for s in s_list) + "\n  y_list = " + "; ".join(_fmt(y) for y in y_list)
    _compare(name, got, expected, inputs=inputs,
             variants=_two_loop_variants(g, s_list, y_list, gamma) if g.size <= 50 else (),
             rtol=1e-8, atol=1e-10, what="r = B g")


def _random_pairs(rng, n, m):
    A = _planted(rng, rng.uniform(0.5, 4.0, size=n))
    s_list = [rng.normal(size=n) for _ in range(m)]
    return s_list, [A @ s + 0.05 * rng.normal(size=n) for s in s_list]


@_test("04_quasi_newton", "two_loop_direction", "two_loop_one_pair",
       "two_loop_direction, one pair")
def _t_tl_one(fn=None):
    _student("two_loop_direction", "two_loop_direction", fn)
    _run_two_loop(fn, [1.0, -2.0, 0.5], [[0.4, 0.1, -0.2]], [[1.0, 0.5, -0.1]], 0.5,
                  "m = 1 pair")


@_test("04_quasi_newton", "two_loop_direction", "two_loop_fixed",
       "two_loop_direction, three pairs")
def _t_tl_fixed(fn=None):
    _student("two_loop_direction", "two_loop_direction", fn)
    s_list = [[0.5, 0.1, -0.3, 0.2], [-0.2, 0.4, 0.1, 0.0], [0.1, -0.1, 0.3, 0.5]]
    y_list = [[1.2, 0.3, -0.5, 0.4], [-0.3, 1.1, 0.2, 0.1], [0.2, -0.2, 0.9, 1.4]]
    _run_two_loop(fn, [1.0, 0.5, -1.0, 2.0], s_list, y_list, 0.7, "m = 3 pairs, oldest first")


@_test("04_quasi_newton", "two_loop_direction", "two_loop_hidden",
       "two_loop_direction, random pairs (hidden)", hidden=True)
def _t_tl_hidden(fn=None):
    _student("two_loop_direction", "two_loop_direction", fn)
    rng = _rng("two_loop_hidden")
    s_list, y_list = _random_pairs(rng, 8, 5)
    gamma = _float((s_list[-1] @ y_list[-1]) / (y_list[-1] @ y_list[-1]))
    _run_two_loop(fn, rng.normal(size=8), s_list, y_list, gamma, "m = 5 random pairs")


@_test("04_quasi_newton", "two_loop_direction", "two_loop_large",
       "two_loop_direction, n = 200000 without forming B")
def _t_tl_large(fn=None):
    _student("two_loop_direction", "two_loop_direction", fn)
    rng = np.random.default_rng(7)
    n = 200_000
    s_list = [rng.normal(size=n) for _ in range(5)]
    y_list = [2.0 * s + 0.1 * rng.normal(size=n) for s in s_list]
    _run_two_loop(fn, rng.normal(size=n), s_list, y_list, 0.5,
                  "n = 200000, m = 5: a dense B would need 320 GB")


def _student_memory(value, name):
    if not _is_pair(value):
        raise _Fail(f"{name} returned {_describe_type(value)}; return a tuple "
                    "(s_list, y_list) of two lists.")
    value = tuple(value)
    lists = []
    for k, part in enumerate(value):
        if _isinstance(part, np.ndarray) and part.ndim == 2:
            part = list(part)
        if not _isinstance(part, (list, tuple)):
            raise _Fail(f"{name}: {'s_list' if k == 0 else 'y_list'} should be a list of "
                        f"vectors, got {_describe_type(part)}.")
        lists.append([_to_array(v, name, "each stored vector", ndim=1) for v in part])
    return lists


def _run_memory(fn, s_list, y_list, s, y, m, expected_s, label, hint=""):
    name = "lbfgs_memory_update"
    got = _call(name, fn, [_array(v) for v in s_list], [_array(v) for v in y_list], _array(s),
                _array(y), m, convert=lambda v: _student_memory(v, name))
    inputs = (f"  s_list = {[_fmt(v) for v in s_list]}\n  new pair s = {_fmt(s)}, y = {_fmt(y)}"
              f"\n  m = {m} ({label})")
    got_s, got_y = got

    def ids(vectors, pool):
        out = []
        for v in vectors:
            match = [k for k, p in enumerate(pool) if p.shape == v.shape and _close(v, p, 0, 0)]
            out.append(match[0] if match else -1)
        return out

    pool_s = [_array(v) for v in list(s_list) + [s]]
    pool_y = [_array(v) for v in list(y_list) + [y]]
    want = ids([_array(v) for v in expected_s], pool_s)
    have_s, have_y = ids(got_s, pool_s), ids(got_y, pool_y)
    if have_s == want and have_y == want:
        return
    names = [f"s_old{k + 1}" for k in range(_len(s_list))] + ["s_new"]
    show = lambda idx: "[" + ", ".join(names[k] if k >= 0 else "?" for k in idx) + "]"  # noqa: E731
    text = (f"{name} keeps the wrong pairs for\n{inputs}\n  expected s_list: {show(want)}\n"
            f"  got s_list:      {show(have_s)}")
    if have_s != have_y:
        text += f"\n  got y_list:      {show(have_y)} (the lists must stay paired)"
    cause = hint
    if _len(have_s) == _len(s_list) + 1 and _len(s_list) == m:
        cause = "the memory grew beyond m pairs: drop the oldest pair (index 0) first."
    elif have_s and have_s[-1] == _len(s_list) and want[-1] != _len(s_list):
        cause = ("the new pair was stored although y^T s = "
                 f"{_float(_array(y) @ _array(s)):g} <= 0: the forgotten curvature check "
                 "(such a pair would make B indefinite).")
    elif _len(have_s) == m and have_s[:-1] == list(range(m - 1)) and have_s[-1] == _len(s_list):
        cause = "the newest stored pair was dropped; drop the OLDEST (index 0) instead."
    if cause:
        text += "\nLikely mistake: " + cause
    raise _Fail(text)


@_test("04_quasi_newton", "lbfgs_memory_update", "memory_append",
       "lbfgs_memory_update, below capacity")
def _t_mem_append(fn=None):
    _student("lbfgs_memory_update", "lbfgs_memory_update", fn)
    s1, y1 = _array([1.0, 0.0]), _array([2.0, 0.5])
    s2, y2 = _array([0.0, 1.0]), _array([0.3, 1.5])
    _run_memory(fn, [], [], s1, y1, 3, [s1], "empty memory")
    _run_memory(fn, [s1], [y1], s2, y2, 3, [s1, s2], "one pair stored; oldest first")


@_test("04_quasi_newton", "lbfgs_memory_update", "memory_evict", "lbfgs_memory_update, at capacity")
def _t_mem_evict(fn=None):
    _student("lbfgs_memory_update", "lbfgs_memory_update", fn)
    s1, y1 = _array([1.0, 0.0]), _array([2.0, 0.5])
    s2, y2 = _array([0.0, 1.0]), _array([0.3, 1.5])
    s3, y3 = _array([1.0, 1.0]), _array([1.0, 2.0])
    _run_memory(fn, [s1, s2], [y1, y2], s3, y3, 2, [s2, s3], "full: m = 2 pairs stored")


@_test("04_quasi_newton", "lbfgs_memory_update", "memory_curvature",
       "lbfgs_memory_update, a pair with y^T s <= 0")
def _t_mem_curvature(fn=None):
    _student("lbfgs_memory_update", "lbfgs_memory_update", fn)
    s1, y1 = _array([1.0, 0.0]), _array([2.0, 0.5])
    s2, y2 = _array([0.0, 1.0]), _array([0.3, -1.5])
    _run_memory(fn, [s1], [y1], s2, y2, 3, [s1], "y^T s = -1.5 for the new pair",
                hint="the new pair was stored although y^T s <= 0: skip it.")


# =========================================================================== 05 curvature at scale

_forbid("gauss_newton_step", "hessian_lab", *_INVERSES, "scipy.optimize")
_forbid("hvp_central", "hessian_lab", "scipy", *_AUTODIFF)
_forbid("power_iteration_max", "hessian_lab", *_EIGEN)
_forbid("largest_stable_step", "hessian_lab", *_EIGEN, *_AUTODIFF)


def _gauss_newton_variants(r, J):
    return [
        (lambda: np.linalg.lstsq(J, r, rcond=None)[0], "the sign: the step solves "
         "J^T J p = -J^T r (it minimises ||J p + r||)."),
        (lambda: -J.T @ r, "that is the negative gradient -J^T r; Gauss-Newton also divides by "
         "the curvature J^T J: solve J^T J p = -J^T r."),
        (lambda: -np.linalg.solve(J.T @ J, r[: J.shape[1]]), "J^T is missing on the right-hand "
         "side: J^T J p = -J^T r."),
    ]


def _run_gn_step(fn, r, J, label=""):
    name = "gauss_newton_step"
    r, J = _array(r, dtype=float), _array(J, dtype=float)
    got = _call(name, fn, r.copy(), J.copy(), convert=lambda v: _to_array(v, name, "the step p"))
    expected = np.linalg.lstsq(J, -r, rcond=None)[0]
    inputs = _inputs(r=r, J=J) + (f"\n  ({label})" if label else "")
    if got.shape == r.shape and r.shape != expected.shape:
        raise _Fail(f"{name} returned a vector of length {got.size} (one entry per residual) "
                    f"for\n{inputs}\nLikely mistake: p has one entry per parameter "
                    f"({expected.size}): solve (J^T J) p = -J^T r, with J^T J of size "
                    f"{expected.size} x {expected.size} (not J J^T).")
    _compare(name, got, expected, inputs=inputs, variants=_gauss_newton_variants(r, J),
             rtol=1e-7, atol=1e-10, what="step p")


@_test("05_curvature_at_scale", "gauss_newton_step", "gn_step_fixed",
       "gauss_newton_step, fixed input")
def _t_gn_fixed(fn=None):
    _student("gauss_newton_step", "gauss_newton_step", fn)
    _run_gn_step(fn, [0.5, -1.0, 0.25], [[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]],
                 "a straight-line fit: 3 residuals, 2 parameters")


@_test("05_curvature_at_scale", "gauss_newton_step", "gn_step_curve_fit",
       "gauss_newton_step, fitting a exp(-b t)")
def _t_gn_curve(fn=None):
    name = "gauss_newton_step"
    _student(name, name, fn)
    prob = _curve_fit_problem(noise=0.0)
    theta = prob.theta0.copy()
    for k in range(8):
        r, J = prob.residual(theta), prob.jacobian(theta)
        p = _call(name, fn, r.copy(), J.copy(),
                  convert=lambda v: _to_array(v, name, "the step p", ndim=1))
        if p.shape != theta.shape or not _isfinite(p).all():
            _run_gn_step(fn, r, J, f"Gauss-Newton iteration {k} of the curve fit")
        theta = theta + p
    if not _close(theta, prob.theta_true, 0, 1e-6):
        _run_gn_step(fn, prob.residual(prob.theta0), prob.jacobian(prob.theta0),
                     "the first Gauss-Newton step of the curve fit")
        raise _Fail(f"{name}: 8 Gauss-Newton steps from theta0 = {_fmt(prob.theta0)} end at "
                    f"{_fmt(theta)}, not at the exact fit {_fmt(prob.theta_true)}.")


@_test("05_curvature_at_scale", "gauss_newton_step", "gn_step_hidden",
       "gauss_newton_step, random input (hidden)", hidden=True)
def _t_gn_hidden(fn=None):
    _student("gauss_newton_step", "gauss_newton_step", fn)
    rng = _rng("gn_step_hidden")
    _run_gn_step(fn, rng.normal(size=20), rng.normal(size=(20, 4)), "random, 20 x 4")


def _run_hvp(fn, grad, x, v, h, exact, label, rtol=1e-5):
    name = "hvp_central"
    x, v = _array(x, dtype=float), _array(v, dtype=float)
    got = _call(name, fn, grad, x.copy(), v.copy(), h,
                convert=lambda value: _to_array(value, name, "H v", ndim=1))
    if x.size > 50:
        inputs = _inputs(f=label, h=h) + f"\n  (n = {x.size})"
    else:
        inputs = _inputs(f=label, x=x, v=v, h=h)
    variants = [
        (lambda: 2.0 * exact, "twice the right value: the missing factor 1/2 of the central "
         "difference (grad f(x + h v) - grad f(x - h v)) / (2 h)."),
        (lambda: -exact, "the sign: (grad f(x + h v) - grad f(x - h v)) / (2 h)."),
        (lambda: (grad(x + h * v) - grad(x)) / h, "this matches the forward difference "
         "(grad f(x + h v) - grad f(x)) / h, whose error is O(h); the central difference is "
         "O(h^2)."),
        (lambda: 0.5 * exact, "half the right value: divide by 2h, not 4h."),
    ]
    _compare(name, got, exact, inputs=inputs, variants=variants, rtol=rtol, atol=rtol,
             what="H v")


@_test("05_curvature_at_scale", "hvp_central", "hvp_quadratic", "hvp_central, a quadratic")
def _t_hvp_quadratic(fn=None):
    _student("hvp_central", "hvp_central", fn)
    A = _array([[3.0, 1.0, 0.0], [1.0, 2.0, -1.0], [0.0, -1.0, 4.0]])
    v = _array([1.0, -1.0, 2.0])

    def grad(x):
        return A @ _asarray(x, dtype=float)

    _run_hvp(fn, grad, [0.5, 1.0, -1.0], v, 1e-5, A @ v, "x^T A x / 2 with A = " + _fmt(A),
             rtol=1e-6)


@_test("05_curvature_at_scale", "hvp_central", "hvp_rosenbrock", "hvp_central, Rosenbrock, n = 50")
def _t_hvp_rosenbrock(fn=None):
    _student("hvp_central", "hvp_central", fn)
    prob = _rosenbrock(50)
    v = np.random.default_rng(1).normal(size=50)
    _run_hvp(fn, prob.grad, prob.x0, v, 1e-4, prob.hessp(prob.x0, v), "chained Rosenbrock")


@_test("05_curvature_at_scale", "hvp_central", "hvp_large",
       "hvp_central, n = 1000000 without forming H")
def _t_hvp_large(fn=None):
    _student("hvp_central", "hvp_central", fn)
    prob = _rosenbrock(1_000_000, kind="extended")
    v = np.random.default_rng(2).normal(size=prob.n)
    _run_hvp(fn, prob.grad, prob.x0, v, 1e-5, prob.hessp(prob.x0, v),
             "extended Rosenbrock (a dense H would need 8 TB)")


class _HvpFunction:
    """f(x) = x^T A x / 2 + sum(c cos x) + (w^T x)^4 / 4."""

    def __init__(self, rng, n):
        self.A = _planted(rng, rng.uniform(-2.0, 4.0, size=n))
        self.c = rng.uniform(0.5, 2.0, size=n)
        self.w = 0.5 * rng.normal(size=n)

    def grad(self, x):
        x = _asarray(x, dtype=float)
        return self.A @ x - self.c * np.sin(x) + (self.w @ x) ** 3 * self.w

    def hessp(self, x, v):
        return self.A @ v - self.c * np.cos(x) * v + 3 * (self.w @ x) ** 2 * (self.w @ v) * self.w


@_test("05_curvature_at_scale", "hvp_central", "hvp_hidden",
       "hvp_central, a random function (hidden)", hidden=True)
def _t_hvp_hidden(fn=None):
    _student("hvp_central", "hvp_central", fn)
    rng = _rng("hvp_hidden")
    func = _HvpFunction(rng, 8)
    x, v = rng.normal(size=8), rng.normal(size=8)
    _run_hvp(fn, func.grad, x, v, 1e-5, func.hessp(x, v), "a random smooth function, n = 8")


def _run_power(fn, diagonal_or_matrix, label, rtol=1e-6):
    name = "power_iteration_max"
    M = _array(diagonal_or_matrix, dtype=float)
    if M.ndim == 1:
        n, expected = M.size, _float(M[int(_absolute(M).argmax())])

        def matvec(v):
            return M * _asarray(v, dtype=float)
    else:
        n = M.shape[0]
        eigenvalues = np.linalg.eigvalsh(M)
        expected = _float(eigenvalues[int(_absolute(eigenvalues).argmax())])

        def matvec(v):
            return M @ _asarray(v, dtype=float)

    got = _call(name, fn, matvec, n, convert=lambda v: _to_float(v, name, "the eigenvalue"))
    inputs = f"  H = {label} (n = {n})"
    variants = [
        (lambda: abs(expected), "the sign is lost: ||H v|| is the magnitude |lambda|. The "
         "Rayleigh quotient v^T H v (with ||v|| = 1) keeps the sign."),
        (lambda: expected**2, "lambda^2: the Rayleigh quotient is v^T H v with ||v|| = 1 "
         "(not ||H v||^2)."),
    ]
    reference = _ref_power_iteration(matvec, n, rng=0, max_iter=5000)
    _compare(name, _array(got), expected, inputs=inputs, variants=variants, rtol=rtol,
             atol=1e-9, what="eigenvalue",
             fallback="" if reference.converged else "the reference power iteration did not "
             "converge either")


@_test("05_curvature_at_scale", "power_iteration_max", "power_diagonal",
       "power_iteration_max, diag(1, 2, 5)")
def _t_pow_diag(fn=None):
    _student("power_iteration_max", "power_iteration_max", fn)
    _run_power(fn, [1.0, 2.0, 5.0], "diag(1, 2, 5)")


@_test("05_curvature_at_scale", "power_iteration_max", "power_negative",
       "power_iteration_max, a dominant negative eigenvalue")
def _t_pow_negative(fn=None):
    _student("power_iteration_max", "power_iteration_max", fn)
    _run_power(fn, [1.0, 2.0, -5.0], "diag(1, 2, -5), a saddle: the largest magnitude is -5")


@_test("05_curvature_at_scale", "power_iteration_max", "power_hidden",
       "power_iteration_max, a random matrix (hidden)", hidden=True)
def _t_pow_hidden(fn=None):
    _student("power_iteration_max", "power_iteration_max", fn)
    rng = _rng("power_hidden")
    values = np.concatenate([rng.uniform(0.1, 7.0, size=29), [10.0 + rng.uniform(0, 5)]])
    _run_power(fn, _planted(rng, values), "a random symmetric positive definite matrix",
               rtol=1e-5)


@_test("05_curvature_at_scale", "power_iteration_max", "power_matrix_free",
       "power_iteration_max, n = 100000 without forming H")
def _t_pow_free(fn=None):
    _student("power_iteration_max", "power_iteration_max", fn)
    d = np.linspace(0.5, 1.0, 100_000)
    d[17] = 3.0
    _run_power(fn, d, "a diagonal operator given only as v -> H v")


def _run_stable_step(fn, prob, x, label, rtol=1e-4):
    name = "largest_stable_step"
    x = _array(x, dtype=float)
    got = _call(name, fn, prob.grad, x.copy(), convert=lambda v: _to_float(v, name, "the step"))
    lam = _float(np.linalg.eigvalsh(prob.hess(x))[-1])
    variants = [
        (lambda: lam, "that is lambda_max itself; the largest stable step is 2 / lambda_max."),
        (lambda: 1.0 / lam, "1 / lambda_max is a safe step, but gradient descent on a quadratic "
         "is stable for every alpha < 2 / lambda_max: return 2 / lambda_max."),
        (lambda: 2.0 * lam, "2 lambda_max: the step is 2 / lambda_max (a division)."),
    ]
    _compare(name, _array(got), 2.0 / lam, inputs=_inputs(f=label, x=x), variants=variants,
             rtol=rtol, atol=1e-12, what="step")


@_test("05_curvature_at_scale", "largest_stable_step", "stable_step_quadratic",
       "largest_stable_step, a quadratic with kappa = 50")
def _t_ss_quadratic(fn=None):
    _student("largest_stable_step", "largest_stable_step", fn)
    prob = _quadratic(50.0, n=5, rng=1)
    _run_stable_step(fn, prob, prob.x0, "x^T A x / 2, eigenvalues from 1 to 50")


@_test("05_curvature_at_scale", "largest_stable_step", "stable_step_rosenbrock",
       "largest_stable_step, Rosenbrock, n = 20")
def _t_ss_rosenbrock(fn=None):
    _student("largest_stable_step", "largest_stable_step", fn)
    prob = _rosenbrock(20)
    _run_stable_step(fn, prob, prob.x0, "chained Rosenbrock at its start point", rtol=1e-3)
