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

The package's modules:

* :mod:`~hessian_lab.grading.session`: the seed, the limits, the registries;
* :mod:`~hessian_lab.grading.integrity`: :func:`setup` and the snapshot every check verifies;
* :mod:`~hessian_lab.grading.forbidden`: the static pass for forbidden routines and copied code;
* :mod:`~hessian_lab.grading.calls`: calling student code under the time limit, with its
  output captured and the run-time watch on;
* :mod:`~hessian_lab.grading.compare`: converting results and naming the likely mistake;
* :mod:`~hessian_lab.grading.registry`: :class:`Part`, its ``test`` decorator and :func:`check`;
* one module per assignment (``a01_hessians`` ... ``a06_matrix_free_newton``): its parts and
  their checks.
"""

from __future__ import annotations

# the assignments' checks, registered on import
from . import (  # noqa: E402,F401
    a01_hessians,
    a02_classifying,
    a03_newton,
    a04_quasi_newton,
    a05_curvature_at_scale,
    a06_matrix_free_newton,  # noqa: E402,F401
)
from .forbidden import forbidden_routines
from .integrity import setup
from .registry import Part, check, receipt, test_catalogue
from .session import ASSIGNMENTS, DEFAULT_SEED, grading_seed, use_seed

__all__ = [
    "DEFAULT_SEED",
    "ASSIGNMENTS",
    "Part",
    "check",
    "forbidden_routines",
    "grading_seed",
    "receipt",
    "setup",
    "test_catalogue",
    "use_seed",
]
