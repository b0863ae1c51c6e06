"""The checks' registry: a :class:`Part` declares a graded part and what its solution must not
use; its :meth:`Part.test` decorator registers a check. :func:`check` runs one for a test cell."""

from __future__ import annotations

from .calls import _NOTES, _flush_notes, _timeout_message
from .forbidden import _reject_reference_calls
from .integrity import _verify_integrity
from .session import (
    _FORBIDDEN,
    _STATE,
    _TESTS,
    _describe_type,
    _Fail,
    _isinstance,
    _print,
    _sha256,
    _Test,
    _Timeout,
)


class Part:
    """A graded part of an assignment: the function the student writes, what its solution must
    not use, and the decorator that registers its checks.

    ``forbid`` names packages (``"hessian_lab"``, ``"scipy"``) or single objects
    (``"sympy.hessian"``, ``"numpy.linalg.eigh"``, ``"hessian_lab.newton"``); the part's
    instructions must name every one (``curvature-lab check-course`` checks that they do).
    Every check of the part first makes sure the student's object is a function that calls
    none of them, so the checks themselves start with what is particular to them.

    Examples
    --------
    >>> from hessian_lab.grading.a03_newton import newton_step
    >>> newton_step.name, newton_step.assignment, "numpy.linalg.inv" in newton_step.forbid
    ('newton_step', '03_newton', True)
    """

    __slots__ = ("assignment", "name", "forbid")

    def __init__(self, assignment: str, name: str, forbid: tuple[str, ...] = ()):
        if name in _FORBIDDEN:
            raise ValueError(f"part {name!r} is declared twice; part names are unique in the "
                             "course (they are the functions the students write)")
        self.assignment, self.name, self.forbid = assignment, name, tuple(forbid)
        _FORBIDDEN[name] = self.forbid

    def __repr__(self) -> str:
        return f"Part({self.assignment!r}, {self.name!r}, forbid={self.forbid!r})"

    def test(self, test_id: str, subtitle: str, *, hidden: bool = False):
        """Register the decorated function as the check ``test_id`` (the grade_id of the test
        cell that runs it). Its title, shown to the student, is ``"<part>, <subtitle>"``, with
        ``" (hidden)"`` after it for a hidden test."""
        title = f"{self.name}, {subtitle}" + (" (hidden)" if hidden else "")

        def register(run):
            if test_id in _TESTS:
                raise ValueError(f"duplicate test id {test_id!r}")
            _TESTS[test_id] = _Test(test_id, self.assignment, self.name, title, run,
                                    bool(hidden), self)
            return run

        return register

    def prepare(self, fn) -> None:
        """What every check of the part does first: the object is a function, and it does not
        use what the part forbids."""
        _STATE.part = self.name
        if not callable(fn):
            raise _Fail(f"{self.name} is not a function (it is {_describe_type(fn)}); run the "
                        "solution cell that defines it.")
        _reject_reference_calls(self.name, self.name, fn)


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
        test.owner.prepare(objects[0] if objects else None)
        test.run(*objects)
    except _Fail as failure:
        _flush_notes()
        raise AssertionError(f"{test.title}: {failure}") from None
    except _Timeout:  # the timer fired in our own code after the student's returned
        _flush_notes()
        raise AssertionError(f"{test.title}: {_timeout_message()}") from None
    except Exception as error:  # noqa: BLE001 - the student's own errors come as _Fail
        # Everything the student's code raises reaches us through _call as a _Fail, so this
        # is a bug in the check itself. Say so rather than blame the student; the round
        # flags the submission for review.
        _flush_notes()
        raise AssertionError(
            f"{test.title}: [review: grader error] the check itself failed "
            f"({type(error).__name__}: {error}). This is not a mistake in your code; tell "
            "your instructor, who will see it flagged.") from None
    _flush_notes()
    key = _receipt if _isinstance(_receipt, str) and _receipt else None
    _print(f"passed: {test.title} [receipt {test.test_id}:{receipt(test.test_id, key=key)}]")
