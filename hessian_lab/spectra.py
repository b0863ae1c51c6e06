"""Matrix-free spectral tools: power iteration, Lanczos, Hutchinson, spectral density.

Chapter 17 (Hessian-vector products) shows that ``v -> H v`` costs a small multiple of a
gradient while ``H`` itself costs n^2 memory. Everything here therefore takes the operator
as a function ``matvec(v) -> H v`` together with the dimension ``n``, and never forms H:

* :func:`power_iteration`: the eigenvalue of largest *magnitude* (with an optional shift);
* :func:`lanczos`, :func:`lanczos_extremes`: both ends of the spectrum from a Krylov space;
* :func:`hutchinson_trace`: ``tr(H)`` from random probes, with its standard error;
* :func:`spectral_density`: the whole eigenvalue distribution (stochastic Lanczos
  quadrature).

The operator is assumed symmetric, as a Hessian is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_int, as_positive, as_vector

__all__ = [
    "EigResult",
    "LanczosResult",
    "SpectralDensity",
    "TraceEstimate",
    "hutchinson_trace",
    "lanczos",
    "lanczos_extremes",
    "power_iteration",
    "spectral_density",
]

Matvec = Callable[[np.ndarray], np.ndarray]
Seed = int | np.random.Generator | None


# ---------------------------------------------------------------------- validation
def _check_n(n) -> int:
    return as_int(n, "n", 1, "the dimension")


def _check_matvec(matvec) -> None:
    if not callable(matvec):
        raise TypeError(
            f"matvec must be a function v -> H v, got {type(matvec).__name__}; "
            "for a matrix H pass `lambda v: H @ v`"
        )


def _check_count(k, name: str, minimum: int = 1) -> int:
    return as_int(k, name, minimum)


def _apply(matvec: Matvec, v: np.ndarray) -> np.ndarray:
    """``matvec(v)`` as a float vector of v's shape, or a ValueError saying what went wrong.

    ``matvec`` receives a copy, so an operator that modifies its argument cannot corrupt
    the caller's vectors.
    """
    w = np.asarray(matvec(v.copy()), dtype=float)
    if w.shape != v.shape:
        raise ValueError(
            f"matvec returned an array of shape {w.shape} for a vector of shape {v.shape}; "
            "it must return H v with the same shape (use .ravel() on a column vector)"
        )
    if not np.all(np.isfinite(w)):
        raise ValueError("matvec returned NaN or inf; the operator must be finite at this point")
    return w


def _start_vector(v0: ArrayLike | None, n: int, rng: Seed) -> np.ndarray:
    """A unit start vector: ``v0`` normalised, or a random Gaussian direction."""
    if v0 is None:
        v = np.random.default_rng(rng).standard_normal(n)
    else:
        v = as_vector(v0, "v0", n=n)
    norm = np.linalg.norm(v)
    if norm == 0.0:
        raise ValueError("v0 is the zero vector; pass a nonzero start vector (or None)")
    return v / norm


# ---------------------------------------------------------------------- power iteration
@dataclass
class EigResult:
    """One eigenpair estimate ``H v ~ lambda v`` and how it was obtained.

    Attributes
    ----------
    eigenvalue : float
        The Rayleigh quotient ``v^T H v`` (``v`` has unit length).
    eigenvector : numpy.ndarray
        Unit vector ``v``.
    n_matvec : int
        Products with H used.
    converged : bool
        Whether the residual test was met.
    residual : float
        ``||H v - lambda v||``, the backward error of the pair.
    message : str
        Why the iteration stopped.
    """

    eigenvalue: float
    eigenvector: np.ndarray
    n_matvec: int
    converged: bool
    residual: float
    message: str


def power_iteration(
    matvec: Matvec,
    n: int,
    v0: ArrayLike | None = None,
    rng: Seed = None,
    tol: float = 1e-8,
    max_iter: int = 1000,
    shift: float = 0.0,
) -> EigResult:
    """The eigenvalue of ``H`` of largest *magnitude*, by power iteration (Chapter 17).

    Iterates ``v <- (H - sigma I) v / ||(H - sigma I) v||`` and estimates the eigenvalue by
    the Rayleigh quotient ``lambda = v^T H v``. The error in ``v`` shrinks by the factor
    ``|mu_2 / mu_1|`` per step, where ``mu_1, mu_2`` are the two eigenvalues of
    ``H - sigma I`` of largest magnitude: slow when they are close.

    *Largest magnitude*, not largest: at a saddle point, or at a network's initialisation,
    the answer can be the most negative eigenvalue. A condition number needs
    ``lambda_min`` as well; use :func:`lanczos`, which gives both ends, or a shift: for a
    positive semidefinite H, run once to get ``lambda_max``, then again with
    ``shift=lambda_max``; the eigenvalues of ``H - lambda_max I`` lie in
    ``[lambda_min - lambda_max, 0]``, so the largest in magnitude is
    ``lambda_min - lambda_max`` and the returned eigenvalue (of H) is ``lambda_min``
    (converging at the often slow rate ``(lambda_max - lambda_2)/(lambda_max - lambda_min)``
    from the bottom, where ``lambda_2`` is the second smallest).

    The iteration stops on the residual, ``||H v - lambda v|| <= tol * |lambda - sigma|``,
    not on the change of ``lambda``: when convergence is slow, ``lambda`` changes little
    per step while ``v`` is still far from an eigenvector, but a small residual guarantees
    (for symmetric H) that an eigenvalue of H lies within ``||H v - lambda v||`` of
    ``lambda``.

    Parameters
    ----------
    matvec : callable
        ``v -> H v`` for a symmetric H, on 1-D arrays of length ``n``.
    n : int
        The dimension.
    v0 : array_like, optional
        Start vector; random (from ``rng``) when None.
    rng : int, numpy.random.Generator or None
        Seed for the random start vector.
    tol : float
        Relative residual tolerance.
    max_iter : int
        Maximum number of iterations (one product with H each).
    shift : float
        ``sigma``: iterate with ``H - sigma I``, which finds the eigenvalue of H farthest
        from ``sigma``.

    Returns
    -------
    EigResult

    Examples
    --------
    >>> import numpy as np
    >>> H = np.diag([1.0, 2.0, -5.0])  # a saddle: the largest magnitude is -5
    >>> res = power_iteration(lambda v: H @ v, 3, rng=0)
    >>> round(res.eigenvalue, 8), res.converged
    (-5.0, True)
    >>> P = np.diag([1.0, 2.0, 5.0])  # positive definite: shift by lambda_max for lambda_min
    >>> round(power_iteration(lambda v: P @ v, 3, rng=0, shift=5.0).eigenvalue, 8)
    1.0
    """
    _check_matvec(matvec)
    n = _check_n(n)
    max_iter = _check_count(max_iter, "max_iter")
    tol = as_positive(tol, "tol")
    if not np.isfinite(shift):
        raise ValueError(f"shift must be finite, got {shift!r}")
    v = _start_vector(v0, n, rng)
    mu, residual = 0.0, np.inf
    for it in range(1, max_iter + 1):
        w = _apply(matvec, v) - shift * v  # (H - sigma I) v
        norm_w = np.linalg.norm(w)
        if norm_w == 0.0:
            message = ("(H - shift I) v = 0: v is an eigenvector for the eigenvalue `shift`; "
                       "restart from another v0 if you expected another one")
            return EigResult(shift, v, it, True, 0.0, message)
        mu = float(v @ w)  # Rayleigh quotient of H - sigma I
        residual = float(np.linalg.norm(w - mu * v))
        if residual <= tol * abs(mu):
            message = (f"converged: residual {residual:.3g} <= tol * |lambda - shift| "
                       f"after {it} products")
            return EigResult(mu + shift, v, it, True, residual, message)
        v = w / norm_w
    return EigResult(mu + shift, v, max_iter, False, residual,
                     f"not converged: residual {residual:.3g} > tol * |lambda - shift| after "
                     f"{max_iter} products; the two largest eigenvalues in magnitude are "
                     "probably close (or equal and opposite): use lanczos")


# ---------------------------------------------------------------------- Lanczos
@dataclass
class LanczosResult:
    """What ``m`` steps of the Lanczos process learned about a symmetric operator.

    Attributes
    ----------
    alpha : numpy.ndarray, shape (m,)
        Diagonal of the tridiagonal matrix ``T = Q^T H Q``.
    beta : numpy.ndarray, shape (m - 1,)
        Its off-diagonal.
    ritz_values : numpy.ndarray, shape (m,)
        Eigenvalues of T, ascending: the estimates of eigenvalues of H.
    ritz_vectors : numpy.ndarray, shape (n, m)
        ``Q S`` with ``T S = S diag(ritz_values)``; column j goes with ``ritz_values[j]``.
    residuals : numpy.ndarray, shape (m,)
        ``||H y_j - theta_j y_j|| = beta_m |S[m-1, j]|`` for each Ritz pair (exact
        arithmetic): an eigenvalue of H lies within this distance of ``theta_j``.
    basis : numpy.ndarray, shape (n, m)
        The orthonormal Lanczos vectors ``Q``.
    n_matvec : int
        Products with H used (``m``).
    breakdown : bool
        True when the Krylov space became invariant before ``k`` steps (then ``m < k``
        and the Ritz values are eigenvalues of H to rounding error).
    message : str
        How the process ended.
    """

    alpha: np.ndarray
    beta: np.ndarray
    ritz_values: np.ndarray
    ritz_vectors: np.ndarray
    residuals: np.ndarray
    basis: np.ndarray
    n_matvec: int
    breakdown: bool
    message: str

    @property
    def lambda_min(self) -> float:
        """The smallest Ritz value: an upper bound on lambda_min(H) (Cauchy interlacing)."""
        return float(self.ritz_values[0])

    @property
    def lambda_max(self) -> float:
        """The largest Ritz value: a lower bound on lambda_max(H) (Cauchy interlacing)."""
        return float(self.ritz_values[-1])


def _tridiagonal(alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    return np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)


def lanczos(
    matvec: Matvec,
    n: int,
    k: int = 30,
    v0: ArrayLike | None = None,
    rng: Seed = None,
    reorthogonalize: bool = True,
) -> LanczosResult:
    """``k`` steps of the Lanczos process on a symmetric operator (Chapter 17).

    Builds an orthonormal basis ``Q = [q_1, ..., q_k]`` of the Krylov space
    ``span{v0, H v0, ..., H^{k-1} v0}`` by the three-term recurrence

        beta_j q_{j+1} = H q_j - alpha_j q_j - beta_{j-1} q_{j-1},   alpha_j = q_j^T H q_j,

    so that ``T = Q^T H Q`` is tridiagonal. The eigenvalues of T (Ritz values) approximate
    eigenvalues of H, the extreme ones first and fast. For the top one the Kaniel-Paige
    bound with a random start gives an error of about
    ``(lambda_1 - lambda_n) * 4 n * exp(-4 (k - 1) sqrt(gamma))``, where
    ``gamma = (lambda_1 - lambda_2) / (lambda_2 - lambda_n)``: the square root of the gap
    enters, against the gap itself in power iteration's ``(lambda_2 / lambda_1)^(2k)``.
    Both ends come out of the same run.

    In floating point the q_j lose orthogonality as soon as a Ritz value converges, and
    spurious copies ("ghost" eigenvalues) appear. With ``reorthogonalize=True`` (the
    default) each new vector is orthogonalised against all previous ones, twice (classical
    Gram-Schmidt repeated), which keeps Q orthonormal to rounding error at the cost of
    O(n k^2) flops and O(n k) memory (the whole basis is stored in any case, to return
    Ritz vectors).

    If some ``beta_j`` vanishes (to rounding, relative to the size of T), the Krylov space
    is invariant under H: the process stops early (``breakdown=True``) and its Ritz values
    are exact eigenvalues of H. With a random start vector this happens only when H has
    fewer than ``k`` distinct eigenvalues, and then they have all been found.

    Parameters
    ----------
    matvec : callable
        ``v -> H v`` for a symmetric H.
    n : int
        The dimension.
    k : int
        Number of steps (products with H); capped at ``n``.
    v0 : array_like, optional
        Start vector; random Gaussian (from ``rng``) when None.
    rng : int, numpy.random.Generator or None
        Seed for the random start vector.
    reorthogonalize : bool
        Full reorthogonalisation (recommended; False shows the textbook recurrence and
        its ghosts).

    Returns
    -------
    LanczosResult
        With ``.lambda_min`` and ``.lambda_max`` for the two ends.

    Examples
    --------
    >>> import numpy as np
    >>> H = np.diag(np.arange(1.0, 101.0))  # eigenvalues 1, 2, ..., 100
    >>> res = lanczos(lambda v: H @ v, 100, k=60, rng=0)
    >>> round(res.lambda_min, 6), round(res.lambda_max, 6)
    (1.0, 100.0)
    """
    _check_matvec(matvec)
    n = _check_n(n)
    k = min(_check_count(k, "k"), n)
    Q = np.empty((k, n))  # rows are the Lanczos vectors q_1, ..., q_k
    alpha, beta = np.zeros(k), np.zeros(k)
    Q[0] = _start_vector(v0, n, rng)
    breakdown, m, anorm = False, k, np.finfo(float).tiny
    breakdown_tol = 10 * np.sqrt(n) * np.finfo(float).eps  # relative to ||T||
    for j in range(k):
        w = _apply(matvec, Q[j])
        alpha[j] = Q[j] @ w
        w -= alpha[j] * Q[j]
        if j > 0:
            w -= beta[j - 1] * Q[j - 1]  # the three-term recurrence
        if reorthogonalize:
            for _ in range(2):  # "twice is enough" (Kahan, Parlett)
                w -= Q[: j + 1].T @ (Q[: j + 1] @ w)
        beta[j] = np.linalg.norm(w)
        beta_prev = beta[j - 1] if j > 0 else 0.0
        anorm = max(anorm, np.hypot(alpha[j], beta[j]), np.hypot(alpha[j], beta_prev))
        if j < k - 1 and beta[j] <= breakdown_tol * anorm:
            breakdown, m = True, j + 1
            break
        if j < k - 1:
            Q[j + 1] = w / beta[j]
    alpha, beta_last, beta = alpha[:m], beta[m - 1], beta[: m - 1]
    theta, S = np.linalg.eigh(_tridiagonal(alpha, beta))
    basis = Q[:m].T
    if breakdown:
        message = (f"invariant subspace found after {m} steps (beta = {beta_last:.2g}): the "
                   f"{m} Ritz values are eigenvalues of H")
        beta_last = 0.0
    else:
        message = f"completed {m} steps"
    return LanczosResult(
        alpha=alpha,
        beta=beta,
        ritz_values=theta,
        ritz_vectors=basis @ S,
        residuals=beta_last * np.abs(S[-1]),
        basis=basis,
        n_matvec=m,
        breakdown=breakdown,
        message=message,
    )


def lanczos_extremes(
    matvec: Matvec, n: int, k: int = 30, v0: ArrayLike | None = None, rng: Seed = None
) -> tuple[float, float]:
    """``(lambda_min, lambda_max)`` of a symmetric operator from ``k`` Lanczos steps.

    A convenience around :func:`lanczos` (full reorthogonalisation). Both values are
    Ritz values, so they lie inside the true range: ``lambda_min(H) <= lo`` and
    ``hi <= lambda_max(H)``, converging from inside as ``k`` grows. Their ratio gives the
    condition number of a positive definite Hessian (Chapter 10).

    Examples
    --------
    >>> import numpy as np
    >>> H = np.diag([-2.0, 0.5, 1.0, 3.0])  # an indefinite Hessian
    >>> lo, hi = lanczos_extremes(lambda v: H @ v, 4, k=4, rng=0)
    >>> round(lo, 8), round(hi, 8)
    (-2.0, 3.0)
    """
    res = lanczos(matvec, n, k=k, v0=v0, rng=rng)
    return res.lambda_min, res.lambda_max


# ---------------------------------------------------------------------- Hutchinson
@dataclass
class TraceEstimate:
    """A Monte Carlo estimate of ``tr(H)``.

    Attributes
    ----------
    estimate : float
        Mean of the probes' quadratic forms ``z^T H z``.
    std_error : float
        Their sample standard deviation divided by ``sqrt(samples)``.
    samples : int
        Number of probes (= products with H).
    quadratic_forms : numpy.ndarray
        The individual ``z_i^T H z_i``.
    """

    estimate: float
    std_error: float
    samples: int
    quadratic_forms: np.ndarray


def hutchinson_trace(
    matvec: Matvec, n: int, samples: int = 30, rng: Seed = None
) -> TraceEstimate:
    """Hutchinson's estimator ``tr(A) ~ (1/m) sum_i z_i^T A z_i`` (Chapter 17).

    The probes ``z_i`` have independent Rademacher entries (+1 or -1 with probability
    1/2), so ``E[z z^T] = I`` and each ``z^T A z`` is an unbiased estimate of ``tr(A)``.
    For symmetric A its variance is ``2 (||A||_F^2 - sum_i A_ii^2)``: the diagonal
    contributes nothing (``z_i^2 = 1``), the smallest variance among probes with i.i.d.
    entries. The mean of ``m = samples`` probes therefore has variance

        Var = 2 (||A||_F^2 - sum_i A_ii^2) / m,

    which shrinks only like 1/m; the reported ``std_error`` estimates its square root
    from the probes themselves. The trace of a Hessian is the sum of its curvatures, a
    cheap summary of sharpness (Chapter 12).

    Parameters
    ----------
    matvec : callable
        ``v -> A v`` for a symmetric A.
    n : int
        The dimension.
    samples : int
        Number of probes, at least 2 (a standard error needs two).
    rng : int, numpy.random.Generator or None
        Seed for the probes.

    Returns
    -------
    TraceEstimate

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag([1.0, 2.0, 3.0])  # diagonal: every Rademacher probe is exact
    >>> est = hutchinson_trace(lambda v: A @ v, 3, samples=5, rng=0)
    >>> round(est.estimate, 10), round(est.std_error, 10)
    (6.0, 0.0)
    """
    _check_matvec(matvec)
    n = _check_n(n)
    samples = _check_count(samples, "samples", minimum=2)
    gen = np.random.default_rng(rng)
    forms = np.empty(samples)
    for i in range(samples):
        z = 2.0 * gen.integers(0, 2, size=n) - 1.0  # Rademacher: +-1
        forms[i] = z @ _apply(matvec, z)
    return TraceEstimate(
        estimate=float(forms.mean()),
        std_error=float(forms.std(ddof=1) / np.sqrt(samples)),
        samples=samples,
        quadratic_forms=forms,
    )


# ---------------------------------------------------------------------- spectral density
@dataclass
class SpectralDensity:
    """A smoothed eigenvalue density from stochastic Lanczos quadrature.

    Attributes
    ----------
    grid : numpy.ndarray
        Points t where the density is evaluated.
    density : numpy.ndarray
        ``phi(t) = sum_j w_j g_sigma(t - theta_j)``, with ``g_sigma`` the Gaussian of
        standard deviation ``sigma``; it integrates to ~1 over the default grid.
    nodes : numpy.ndarray
        All Ritz values ``theta_j`` from all probes.
    weights : numpy.ndarray
        Their quadrature weights ``w_j`` (non-negative, summing to 1).
    sigma : float
        The Gaussian broadening used.
    n_matvec : int
        Products with H used.
    """

    grid: np.ndarray
    density: np.ndarray
    nodes: np.ndarray
    weights: np.ndarray
    sigma: float
    n_matvec: int


def spectral_density(
    matvec: Matvec,
    n: int,
    num_probes: int = 10,
    lanczos_steps: int = 30,
    rng: Seed = None,
    grid: ArrayLike | None = None,
    sigma: float | None = None,
) -> SpectralDensity:
    """The eigenvalue density of a symmetric operator, by stochastic Lanczos quadrature.

    The spectral density ``phi(t) = (1/n) sum_i delta(t - lambda_i)`` satisfies
    ``integral f(t) phi(t) dt = tr f(H) / n = E[z^T f(H) z]`` for a random unit probe z
    with ``E[z z^T] = I/n`` (normalised Rademacher here). Lanczos started at z turns the
    quadratic form into Gauss quadrature: ``z^T f(H) z ~ sum_j tau_j f(theta_j)``, where
    ``theta_j`` are the Ritz values and ``tau_j`` the squared first components of the
    eigenvectors of T. Averaging over ``num_probes`` probes and replacing each delta by a
    Gaussian of width ``sigma`` gives a smooth density (Chapter 17). The method shows the
    bulk, the clusters and the outliers of a Hessian spectrum at a cost of
    ``num_probes * lanczos_steps`` HVPs.

    Parameters
    ----------
    matvec : callable
        ``v -> H v`` for a symmetric H.
    n : int
        The dimension.
    num_probes : int
        Number of random probes.
    lanczos_steps : int
        Lanczos steps per probe (each a product with H; capped at n).
    rng : int, numpy.random.Generator or None
        Seed for the probes.
    grid : array_like, optional
        Where to evaluate the density; by default 1001 points from 5 sigma below the
        smallest node to 5 sigma above the largest (so the density integrates to ~1).
    sigma : float, optional
        Gaussian broadening; by default 2 % of the spread of the nodes.

    Returns
    -------
    SpectralDensity

    Examples
    --------
    >>> import numpy as np
    >>> H = np.diag(np.r_[np.full(50, 1.0), np.full(50, 3.0)])  # two clusters
    >>> sd = spectral_density(lambda v: H @ v, 100, num_probes=4, lanczos_steps=10, rng=0)
    >>> round(float(np.trapezoid(sd.density, sd.grid)), 4)  # a probability density
    1.0
    >>> low = sd.grid < 2
    >>> round(float(np.trapezoid(sd.density[low], sd.grid[low])), 1)  # half the mass near 1
    0.5
    """
    _check_matvec(matvec)
    n = _check_n(n)
    num_probes = _check_count(num_probes, "num_probes")
    lanczos_steps = _check_count(lanczos_steps, "lanczos_steps")
    gen = np.random.default_rng(rng)
    nodes, weights, n_matvec = [], [], 0
    for _ in range(num_probes):
        z = 2.0 * gen.integers(0, 2, size=n) - 1.0  # Rademacher; lanczos normalises it
        res = lanczos(matvec, n, k=lanczos_steps, v0=z)
        theta, S = np.linalg.eigh(_tridiagonal(res.alpha, res.beta))
        nodes.append(theta)
        weights.append(S[0] ** 2 / num_probes)  # tau_j = (e_1^T s_j)^2
        n_matvec += res.n_matvec
    nodes, weights = np.concatenate(nodes), np.concatenate(weights)
    weights /= weights.sum()  # each probe's weights sum to 1 up to rounding
    lo, hi = float(nodes.min()), float(nodes.max())
    if sigma is None:
        spread = hi - lo
        sigma = 0.02 * spread if spread > 0 else max(1e-3 * abs(hi), 1e-3)
    else:
        sigma = as_positive(sigma, "sigma", meaning="the width of each Gaussian")
    if grid is None:
        grid = np.linspace(lo - 5 * sigma, hi + 5 * sigma, 1001)
    else:
        grid = as_vector(grid, "grid")
    gauss = np.exp(-0.5 * ((grid[:, None] - nodes[None, :]) / sigma) ** 2)
    density = gauss @ weights / (sigma * np.sqrt(2 * np.pi))
    return SpectralDensity(grid, density, nodes, weights, float(sigma), n_matvec)
