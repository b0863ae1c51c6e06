"""The snapshot :func:`setup` takes before any student code runs, and the comparison every check
makes with it: rebinding a helper, patching numpy or replacing a function's code, a check or
a forbidden list fails the test."""

from __future__ import annotations

import builtins
import os
import sys
import types

from .session import (
    _FORBIDDEN,
    _STATE,
    _TESTS,
    GRADING_MODULES,
    _cap_memory,
    _Fail,
    _float,
    _isinstance,
    _len,
    _read_seed,
)


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
    "hessian_lab.cg",
    "hessian_lab.trust_region",
    "hessian_lab._monitor",
    *GRADING_MODULES,
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
    # the registries' contents: a check replaced, retitled or moved to another part, a test
    # added or removed, a forbidden list emptied
    tests = {test_id: (test, test.test_id, test.assignment, test.part, test.title, test.run,
                       test.hidden, test.owner, test.owner.name, test.owner.forbid)
             for test_id, test in _TESTS.items()}
    for test_id, test in _TESTS.items():
        found = _function_code(test.run)
        if found is not None:
            code[("the check", test_id)] = found
    return {
        "modules": modules,
        "code": code,
        "tests": tests,
        "forbidden": dict(_FORBIDDEN),
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
    tests = snap["tests"]
    if _TESTS.keys() != tests.keys():
        changed.append("the list of checks")
    for test_id, kept in tests.items():
        test = _TESTS.get(test_id)
        now = None if test is None else (
            test, test.test_id, test.assignment, test.part, test.title, test.run, test.hidden,
            test.owner, test.owner.name, test.owner.forbid)
        if now is None or _len(now) != _len(kept) or any(
                a is not b for a, b in zip(now, kept, strict=True)):
            changed.append(f"the check {test_id}")
    forbidden = snap["forbidden"]
    if _FORBIDDEN.keys() != forbidden.keys() or any(
            _FORBIDDEN[part] is not names for part, names in forbidden.items()):
        changed.append("the forbidden routines of a part")
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
