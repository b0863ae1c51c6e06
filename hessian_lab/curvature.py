"""What a Hessian says about a critical point: eigenvalues, definiteness, conditioning.

Every function takes a symmetric matrix: a numpy array, a nested list, or a sympy
``Matrix`` with numeric entries (converted to float, except in :func:`leading_minors`
and :func:`is_positive_definite`, which stay exact for sympy input).

Chapters: 05 (positive definite), 06 (2-D test), 07 (general n-D case),
10 (condition number), 15 (Sylvester's criterion), 21 (the Newton decrement).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_symmetric, cholesky

__all__ = [
    "Classification",
    "classify",
    "condition_number",
    "second_derivative_test",
    "leading_minors",
    "is_positive_definite",
    "is_negative_definite",
    "newton_decrement",
]

EPS = np.finfo(float).eps


def _is_sympy(obj) -> bool:
    """Is obj a sympy object? (Checked by module name, so sympy is never imported here.)"""
    return type(obj).__module__.split(".")[0] == "sympy"


def _float_matrix(H, name: str = "H") -> np.ndarray:
    """H as a finite symmetric float array; sympy matrices must have numeric entries."""
    if _is_sympy(H):
        if not hasattr(H, "shape"):
            raise TypeError(f"{name} must be a matrix, got the sympy {type(H).__name__} {H}")
        if H.free_symbols:
            names = ", ".join(sorted(str(s) for s in H.free_symbols))
            raise ValueError(
                f"{name} has free symbols {names}; substitute a point first, "
                "e.g. H.subs({x: 1, y: 2})"
            )
        H = np.array(H.evalf().tolist(), dtype=float)
    return as_symmetric(H, name)


def _default_tol(A: np.ndarray) -> float:
    r"""``10 n eps ||A||_F``: eigenvalues this small are rounding noise of ``eigh``."""
    return 10 * A.shape[0] * EPS * float(np.linalg.norm(A))


def _kappa(eigenvalues: np.ndarray) -> float:
    magnitudes = np.abs(eigenvalues)
    if magnitudes.min() == 0:
        return math.inf
    return float(magnitudes.max() / magnitudes.min())


@dataclass(frozen=True, eq=False)
class Classification:
    """The verdict of :func:`classify` and the numbers behind it.

    Attributes
    ----------
    kind : str
        "minimum", "maximum", "saddle" or "inconclusive".
    eigenvalues : numpy.ndarray
        Ascending, shape (n,).
    eigenvectors : numpy.ndarray
        Orthonormal columns, ``eigenvectors[:, i]`` belongs to ``eigenvalues[i]``.
    condition_number : float
        max|lambda| / min|lambda| (``inf`` when an eigenvalue is exactly 0).
    tol : float
        Eigenvalues in [-tol, tol] counted as zero.
    """

    kind: str
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    condition_number: float
    tol: float

    def __str__(self) -> str:
        values = "[" + ", ".join(f"{v:.4g}" for v in self.eigenvalues) + "]"
        return (
            f"{self.kind}: eigenvalues {values} (|lambda| <= {self.tol:.2g} counts as 0), "
            f"condition number {self.condition_number:.4g}"
        )


def classify(H, tol: float | None = None) -> Classification:
    r"""Classify a critical point by the signs of its Hessian's eigenvalues.

    Chapter 07 (general n-D case). With :math:`\lambda_1 \le \dots \le \lambda_n`:

    - all :math:`\lambda_i > \text{tol}`: "minimum" (H positive definite);
    - all :math:`\lambda_i < -\text{tol}`: "maximum" (H negative definite);
    - some :math:`\lambda_i > \text{tol}` and some :math:`\lambda_j < -\text{tol}`: "saddle";
    - anything else (an eigenvalue in [-tol, tol] and no sign change): "inconclusive":
      the second-order test cannot decide, higher-order terms do (x^4 + y^4 is a minimum,
      x^4 - y^4 a saddle, both with H = 0).

    The default :math:`\text{tol} = 10\, n\, \epsilon\, \|H\|_F` is the rounding noise of
    the eigenvalue computation, scaled with H so that multiplying f by a constant does not
    change the answer. It suits exact Hessians (sympy, or formulas). A finite-difference
    Hessian (:func:`~hessian_lab.derivatives.hessian`) has errors of order :math:`h^2`
    times the fourth derivatives plus rounding: with the default steps about
    :math:`10^{-10}` (from the gradient) and :math:`10^{-8}` to :math:`10^{-7}` (from values
    of f) times the size of f's derivatives, so a zero eigenvalue comes out as a small
    number of either sign
    (x^4 - y^4 at the origin gives about :math:`\pm 10^{-7}`). Pass a tol above that error,
    such as ``tol=1e-6`` when f's second derivatives are of order one, or a degenerate
    point will be called a saddle or an extremum. (Not ``1e-6 * norm(H)``: at a
    degenerate point H itself is nearly zero.)

    Parameters
    ----------
    H : array_like or sympy.Matrix
        Symmetric (n, n) Hessian at a critical point.
    tol : float, optional
        Eigenvalues with :math:`|\lambda| \le` tol count as zero.

    Returns
    -------
    Classification
        ``.kind``, ``.eigenvalues`` (ascending), ``.eigenvectors`` (columns),
        ``.condition_number``, ``.tol``.

    Examples
    --------
    >>> c = classify([[1.0, 2.0], [2.0, 1.0]])
    >>> c.kind, c.eigenvalues.round(6).tolist()
    ('saddle', [-1.0, 3.0])
    >>> classify([[12.0, -4.0], [-4.0, 12.0]]).condition_number
    2.0
    >>> classify([[2.0, 0.0], [0.0, 0.0]]).kind
    'inconclusive'
    """
    A = _float_matrix(H)
    if tol is None:
        tol = _default_tol(A)
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0, got {tol}")
    eigenvalues, eigenvectors = np.linalg.eigh(A)
    positive, negative = eigenvalues > tol, eigenvalues < -tol
    if positive.all():
        kind = "minimum"
    elif negative.all():
        kind = "maximum"
    elif positive.any() and negative.any():
        kind = "saddle"
    else:
        kind = "inconclusive"
    return Classification(kind, eigenvalues, eigenvectors, _kappa(eigenvalues), float(tol))


def condition_number(H) -> float:
    r"""Condition number :math:`\kappa = \max_i |\lambda_i| / \min_i |\lambda_i|`.

    Chapter 10 (condition number). ``inf`` when an eigenvalue is exactly zero; an
    eigenvalue that is tiny but not zero (for instance rounding noise of a singular matrix)
    gives a huge finite :math:`\kappa`, which means the same thing in practice.

    At a minimum (H positive definite) :math:`\kappa` predicts gradient descent's rate,
    :math:`(\kappa - 1)/(\kappa + 1)` per step with the best fixed step size. For an
    indefinite H it is still the ratio of the largest to the smallest curvature magnitude,
    which governs how sensitive Newton's linear solve :math:`H p = -g` is to errors, but it
    says nothing about gradient descent's rate: gradient descent moves away from a saddle
    along the directions of negative curvature.

    Parameters
    ----------
    H : array_like or sympy.Matrix
        Symmetric (n, n) matrix.

    Returns
    -------
    float

    Examples
    --------
    >>> condition_number([[1.0, 0.0], [0.0, 1000.0]])
    1000.0
    >>> condition_number([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues -1 and 3
    3.0
    >>> condition_number([[1.0, 0.0], [0.0, 0.0]])
    inf
    """
    return _kappa(np.linalg.eigvalsh(_float_matrix(H)))


def second_derivative_test(H, tol: float | None = None) -> str:
    r"""The 2-D second-derivative test from :math:`\det H` and :math:`f_{xx}`.

    Chapter 06 (2-D test). With :math:`H = \begin{pmatrix} f_{xx} & f_{xy} \\ f_{xy} &
    f_{yy}\end{pmatrix}` and :math:`\det H = f_{xx} f_{yy} - f_{xy}^2 = \lambda_1 \lambda_2`:

    ===================================  ==============
    condition                            conclusion
    ===================================  ==============
    :math:`\det H > 0,\ f_{xx} > 0`      "minimum"
    :math:`\det H > 0,\ f_{xx} < 0`      "maximum"
    :math:`\det H < 0`                   "saddle"
    :math:`\det H = 0`                   "inconclusive"
    ===================================  ==============

    ":math:`\det H = 0`" means :math:`|\det H| \le \text{tol}\, \|H\|_F`, with the same
    default tol as :func:`classify`. Since :math:`|\det H| = |\lambda|_{\min} |\lambda|_{\max}`
    and :math:`|\lambda|_{\max} \le \|H\|_F \le \sqrt2 |\lambda|_{\max}`, this is
    :func:`classify`'s rule :math:`|\lambda|_{\min} \le \text{tol}` up to a factor
    :math:`\sqrt 2` in tol, so the two agree whenever no eigenvalue is near the tolerance.
    When :math:`\det H > \text{tol}\, \|H\|_F`, :math:`f_{xx} f_{yy} > f_{xy}^2 \ge 0`, so
    :math:`f_{xx}` is safely nonzero and its sign decides.

    Parameters
    ----------
    H : array_like or sympy.Matrix
        Symmetric 2 x 2 Hessian at a critical point.
    tol : float, optional
        As in :func:`classify`.

    Returns
    -------
    str
        "minimum", "maximum", "saddle" or "inconclusive".

    Examples
    --------
    >>> second_derivative_test([[0.0, -3.0], [-3.0, 0.0]])  # x^3 - 3xy at the origin
    'saddle'
    >>> second_derivative_test([[2.0, 1.0], [1.0, 2.0]])  # x^2 + xy + y^2
    'minimum'
    """
    A = _float_matrix(H)
    if A.shape != (2, 2):
        raise ValueError(
            f"second_derivative_test needs a 2 x 2 Hessian, got shape {A.shape}; "
            "use classify for n variables"
        )
    if tol is None:
        tol = _default_tol(A)
    (fxx, fxy), (_, fyy) = A
    det = fxx * fyy - fxy**2
    if abs(det) <= tol * np.linalg.norm(A):
        return "inconclusive"
    if det < 0:
        return "saddle"
    return "minimum" if fxx > 0 else "maximum"


def leading_minors(H) -> list:
    r"""Leading principal minors :math:`D_k = \det H_{1:k,\,1:k}`, k = 1, ..., n.

    Chapter 15 (Sylvester's criterion): a symmetric H is positive definite exactly when
    :math:`D_1, \dots, D_n > 0`, and negative definite exactly when the signs alternate,
    :math:`D_1 < 0, D_2 > 0, D_3 < 0, \dots` (the minors of -H are :math:`(-1)^k D_k`).
    Leading minors decide *definiteness* only: :math:`D_k \ge 0` for all k does not imply
    positive semidefinite (``[[0, 0], [0, -1]]`` has minors 0, 0); semidefiniteness needs
    all principal minors. To test definiteness numerically, use
    :func:`is_positive_definite` (Cholesky), not determinants.

    Parameters
    ----------
    H : array_like or sympy.Matrix
        Symmetric (n, n) matrix. A sympy Matrix stays exact and may contain symbols.

    Returns
    -------
    list
        n floats, or n sympy expressions for sympy input.

    Examples
    --------
    >>> [round(d, 6) for d in leading_minors([[4, 2, 1], [2, 3, 1], [1, 1, 2]])]
    [4.0, 8.0, 13.0]
    >>> import sympy
    >>> leading_minors(sympy.Matrix([[4, 2, 1], [2, 3, 1], [1, 1, 2]]))
    [4, 8, 13]
    """
    if _is_sympy(H):
        M = _exact_symmetric(H)
        return [M[:k, :k].det() for k in range(1, M.shape[0] + 1)]
    A = _float_matrix(H)
    return [float(np.linalg.det(A[:k, :k])) for k in range(1, A.shape[0] + 1)]


def _exact_symmetric(M):
    """A square, symmetric sympy Matrix, or a ValueError."""
    if len(M.shape) != 2 or M.shape[0] != M.shape[1] or M.shape[0] == 0:
        raise ValueError(f"H must be a square, non-empty matrix, got shape {M.shape}")
    if M != M.T:
        raise ValueError("H is not symmetric (H != H.T); a Hessian of a C^2 function is")
    return M


def _cholesky(A: np.ndarray) -> np.ndarray | None:
    r"""Lower-triangular L with :math:`A = L L^T`, or None when a pivot is not positive.

    Column by column: :math:`L_{jj} = \sqrt{A_{jj} - \sum_{k<j} L_{jk}^2}` and
    :math:`L_{ij} = (A_{ij} - \sum_{k<j} L_{ik} L_{jk}) / L_{jj}` for i > j;
    about :math:`n^3/3` multiplications.
    """
    n = A.shape[0]
    L = np.zeros_like(A)
    for j in range(n):
        pivot = A[j, j] - L[j, :j] @ L[j, :j]
        if not pivot > 0:
            return None
        L[j, j] = math.sqrt(pivot)
        L[j + 1 :, j] = (A[j + 1 :, j] - L[j + 1 :, :j] @ L[j, :j]) / L[j, j]
    return L


def is_positive_definite(H) -> bool:
    r"""Is :math:`\delta^T H \delta > 0` for every :math:`\delta \ne 0`? Decided by Cholesky.

    Chapter 05 (positive definite) and Chapter 15 (Sylvester's criterion). H is positive
    definite exactly when the factorisation :math:`H = L L^T` exists with every pivot
    :math:`A_{jj} - \sum_{k<j} L_{jk}^2 > 0`; it costs about :math:`n^3/3` flops and
    needs neither eigenvalues nor a characteristic polynomial. The pivots are ratios of
    leading minors, :math:`L_{jj}^2 = D_j / D_{j-1}`, which is why Sylvester's criterion
    works.

    For a float matrix the answer is the one Cholesky gives in floating point: a matrix
    within rounding of singular can go either way (use :func:`classify` with a ``tol``
    for a safety margin). A sympy Matrix is decided exactly, by the same pivots written as
    :math:`D_j / D_{j-1}` (all positive exactly when all leading minors are positive).

    Parameters
    ----------
    H : array_like or sympy.Matrix
        Symmetric (n, n) matrix with numeric entries.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_positive_definite([[2, -3], [-3, 5]])
    True
    >>> is_positive_definite([[1, 2], [2, 1]])
    False
    """
    if _is_sympy(H):
        minors = leading_minors(H)
        if any(d.free_symbols for d in minors):
            raise ValueError("H has free symbols; substitute numbers first, e.g. H.subs({x: 1})")
        return all(bool(d > 0) for d in minors)
    return _cholesky(_float_matrix(H)) is not None


def is_negative_definite(H) -> bool:
    r"""Is :math:`\delta^T H \delta < 0` for every :math:`\delta \ne 0`? Cholesky of -H.

    Chapter 15 (Sylvester's criterion). Equivalent to the leading minors alternating in
    sign, :math:`D_1 < 0, D_2 > 0, D_3 < 0, \dots` (not to all minors being negative).

    Examples
    --------
    >>> is_negative_definite([[-2, 1], [1, -2]])
    True
    >>> is_negative_definite([[-2, 3], [3, -2]])  # eigenvalues 1 and -5
    False
    """
    if _is_sympy(H):
        return is_positive_definite(-H)
    return is_positive_definite(-_float_matrix(H))


def newton_decrement(g: ArrayLike, H: ArrayLike) -> float:
    r"""The Newton decrement :math:`\lambda = \sqrt{g^T H^{-1} g}` of a gradient and a Hessian.

    Chapter 21 (Newton's method, affine-invariantly). With the Newton step
    :math:`\delta_N = -H^{-1} g`, the same number is the step's length in the Hessian's
    norm, :math:`\lambda = \sqrt{\delta_N^T H \delta_N}`; the slope of f along the step
    is :math:`g^T \delta_N = -\lambda^2`; and :math:`\lambda^2/2` is how far the quadratic
    model :math:`f(x) + g^T\delta + \tfrac12 \delta^T H \delta` lies below f(x) at its
    minimiser. Unlike :math:`\lVert g\rVert`, it does not change under an affine change of
    variables :math:`x = My + b`. Computed from a Cholesky factor
    :math:`H = L L^T` as :math:`\lambda = \lVert L^{-1} g\rVert`, without forming
    :math:`H^{-1}`.

    Parameters
    ----------
    g : array_like
        The gradient at x, shape (n,).
    H : array_like
        The Hessian at x, symmetric positive definite, shape (n, n).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If H is not positive definite (then :math:`g^T H^{-1} g` is not a squared norm
        and the decrement is undefined), or if the shapes do not match.

    Examples
    --------
    >>> newton_decrement([2.0, 0.0], [[4.0, 0.0], [0.0, 1.0]])   # sqrt(2 * 2 / 4)
    1.0
    >>> round(newton_decrement([1.0, 1.0], [[1.0, 0.0], [0.0, 100.0]]) ** 2, 12)
    1.01
    """
    A = _float_matrix(H)
    g = np.asarray(g, dtype=float)
    if g.shape != (A.shape[0],):
        raise ValueError(f"g must be a vector of length {A.shape[0]} to match H, "
                         f"got shape {g.shape}")
    try:
        L = cholesky(A)
    except np.linalg.LinAlgError:
        raise ValueError("H is not positive definite, so the Newton decrement "
                         "sqrt(g^T H^{-1} g) is undefined; shift H (H + tau I) first") from None
    z = np.linalg.solve(L, g)   # L z = g, so z^T z = g^T (L L^T)^{-1} g
    return float(np.sqrt(z @ z))
