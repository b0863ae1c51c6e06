"""Input validation shared by the numerical core.

Every public function of :mod:`hessian_lab` passes its array arguments through
these helpers, so bad input fails early with a message that says what was wrong
and what to do about it.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__: list[str] = []


def as_vector(x, name: str = "x", n: int | None = None) -> np.ndarray:
    """Return ``x`` as a finite 1-D float array (a copy), or raise.

    Parameters
    ----------
    x : array_like
        The point or direction.
    name : str
        The argument's name, used in error messages.
    n : int, optional
        The required length.
    """
    try:
        arr = np.array(x, dtype=float)
    except (TypeError, ValueError) as exc:
        msg = f"{name} must be a 1-D array of numbers; got {type(x).__name__}"
        raise TypeError(msg) from exc
    if arr.ndim == 0:
        raise ValueError(
            f"{name} must be a 1-D array, got a scalar (0-d array) {arr!r}; "
            f"wrap a single coordinate as [{float(arr)!r}]"
        )
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array, got shape {arr.shape}; use .ravel() if intended"
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty; it needs at least one coordinate")
    if n is not None and arr.size != n:
        raise ValueError(f"{name} has length {arr.size}, expected {n} (the problem's dimension)")
    if not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr))[:5].tolist()
        raise ValueError(f"{name} contains NaN or inf at index {bad}; pass finite values")
    return arr


def as_symmetric(H, name: str = "H", rtol: float = 1e-8) -> np.ndarray:
    """Return ``H`` as a finite, square, symmetric float matrix, or raise.

    Symmetry is checked to ``rtol`` relative to the largest entry; the returned
    matrix is the exact symmetric part ``(H + H.T) / 2``.
    """
    try:
        A = np.array(H, dtype=float)
    except (TypeError, ValueError) as exc:
        msg = f"{name} must be a square matrix of numbers; got {type(H).__name__}"
        raise TypeError(msg) from exc
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"{name} must be a square 2-D matrix, got shape {A.shape}")
    if A.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{name} contains NaN or inf; a Hessian must be finite")
    scale = max(np.max(np.abs(A)), np.finfo(float).tiny)
    asym = np.max(np.abs(A - A.T))
    if asym > rtol * scale:
        raise ValueError(
            f"{name} is not symmetric: max |H - H^T| = {asym:.3g} (relative {asym / scale:.3g}); "
            "a Hessian of a C^2 function is symmetric - check the order of your indices, "
            "or pass (H + H.T) / 2"
        )
    return (A + A.T) / 2


def as_int(value, name: str, minimum: int = 0, meaning: str = "") -> int:
    """Return ``value`` as a Python int >= ``minimum``, or raise.

    A value that is not an integer (a float such as ``10.0``, a string, ``True``) is a
    ``TypeError``; an integer below ``minimum`` is a ``ValueError``. ``meaning`` names
    what the number counts, for the message ("the number of stored pairs").

    Examples
    --------
    >>> as_int(3, "m", 1)
    3
    >>> as_int(0, "m", 1, "the number of stored pairs")
    Traceback (most recent call last):
    ...
    ValueError: m (the number of stored pairs) must be an integer >= 1, got 0
    """
    label = f"{name} ({meaning})" if meaning else name
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{label} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})"
            + ("; write it without a decimal point" if isinstance(value, float) else "")
        )
    if value < minimum:
        raise ValueError(f"{label} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def as_positive(value, name: str, allow_zero: bool = False, meaning: str = "") -> float:
    """Return ``value`` as a finite float > 0 (>= 0 with ``allow_zero``), or raise.

    Something that is not a real number (a string, ``None``, a complex number, a bool)
    is a ``TypeError``; NaN, an infinity or a value out of range is a ``ValueError``.

    Examples
    --------
    >>> as_positive(0.5, "lr")
    0.5
    >>> as_positive(0.0, "lr", meaning="the step size")
    Traceback (most recent call last):
    ...
    ValueError: lr (the step size) must be a finite number > 0, got 0.0
    """
    label = f"{name} ({meaning})" if meaning else name
    bound = ">= 0" if allow_zero else "> 0"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{label} must be a finite number {bound}, got {value!r} ({type(value).__name__})"
        )
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{label} must be a finite number {bound}, got {value!r}")
    return value


def cholesky(A: np.ndarray) -> np.ndarray:
    """``np.linalg.cholesky(A)``, raising ``LinAlgError`` for a matrix that is not positive
    definite wherever numpy runs. numpy detects the failure through the CPU's floating-point
    flags; WebAssembly has none, so in a browser's Python (the site's Pyodide) it returns NaNs
    instead of raising, and the shifted Newton method would never shift.

    >>> cholesky(np.array([[4.0, 2.0], [2.0, 5.0]])).tolist()
    [[2.0, 0.0], [1.0, 2.0]]
    >>> cholesky(np.array([[1.0, 2.0], [2.0, 1.0]]))
    Traceback (most recent call last):
    ...
    numpy.linalg.LinAlgError: Matrix is not positive definite
    """
    L = np.linalg.cholesky(A)
    if not np.all(np.isfinite(L)):
        raise np.linalg.LinAlgError("Matrix is not positive definite")
    return L
