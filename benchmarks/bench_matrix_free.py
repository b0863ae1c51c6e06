"""Benchmark the matrix-free methods against scipy, side by side in one run.

Run from the repository root::

    python benchmarks/bench_matrix_free.py                 # n = 1e3, 1e4, 1e5, 1e6
    python benchmarks/bench_matrix_free.py --sizes 1e3 1e4 # quicker

On the extended Rosenbrock function in n variables from x0 = (-1.2, 1, -1.2, 1, ...),
with Hessian-vector products only (``problem.hessp``):

* ``newton_cg`` against ``scipy.optimize.minimize(method="Newton-CG", hessp=...)``;
* ``trust_region`` (Steihaug-CG) against ``method="trust-ncg"`` and ``"trust-krylov"``;
* ``conjugate_gradient`` against ``scipy.sparse.linalg.cg`` on H(x) p = -g(x) (a
  LinearOperator of the same products), to a relative residual of 1e-8, at a seeded
  random point x = x0 + U(-0.1, 0.1)^n: at x0 itself the 2 x 2 blocks of H are all equal,
  H has two distinct eigenvalues and CG ends in two steps.

Every optimizer is stopped at the first iterate with ||grad f||_inf <= 1e-6: ours by
``tol``; scipy's through a callback that evaluates the gradient at each iterate and stops
the run (scipy's Newton-CG has no gradient tolerance, and its trust-region methods measure
the 2-norm). The callback's gradient evaluations are timed and subtracted from scipy's wall
time. Printed: iterations, Hessian-vector products and wall time of each, and our / scipy's
ratio (at most 1.1 for the counts and 1.0 for the time is the target; the time at
n >= 1e5, where the work is in the products and not in Python's overhead).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse.linalg as sla
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hessian_lab import conjugate_gradient, newton_cg, rosenbrock, trust_region  # noqa: E402

TOL = 1e-6


class Counted:
    """hessp with a call counter."""

    def __init__(self, hessp):
        self.hessp, self.calls = hessp, 0

    def __call__(self, x, v):
        self.calls += 1
        return self.hessp(x, v)


def scipy_run(prob, x0, method):
    """(iterations, HVPs, seconds) of scipy's method up to ||grad||_inf <= TOL."""
    hessp = Counted(prob.hessp)
    state = {"nit": 0, "hvp": None, "overhead": 0.0}

    def callback(intermediate_result):
        start = time.perf_counter()
        state["nit"] += 1
        done = np.abs(prob.grad(intermediate_result.x)).max() <= TOL
        state["overhead"] += time.perf_counter() - start
        if done:
            state["hvp"] = hessp.calls
            raise StopIteration

    options = {"maxiter": 5000}
    if method == "Newton-CG":
        options["xtol"] = 1e-30
    else:
        options["gtol"] = 1e-30
    start = time.perf_counter()
    minimize(prob.f, x0, jac=prob.grad, hessp=hessp, method=method, callback=callback,
             options=options)
    seconds = time.perf_counter() - start - state["overhead"]
    if state["hvp"] is None:
        raise RuntimeError(f"scipy's {method} did not reach ||grad||_inf <= {TOL}")
    return state["nit"], state["hvp"], seconds


def ours(solver, prob, x0, **kwargs):
    start = time.perf_counter()
    res = solver(prob.f, prob.grad, x0, hessp=prob.hessp, tol=TOL, store_path=False,
                 **kwargs)
    seconds = time.perf_counter() - start
    if not res.success:
        raise RuntimeError(f"{solver.__name__}: {res.message}")
    return res.nit, res.nhev, seconds


def cg_pair(prob, x0):
    x0 = x0 + np.random.default_rng(0).uniform(-0.1, 0.1, x0.size)
    g, n = prob.grad(x0), x0.size
    hv = Counted(prob.hessp)
    start = time.perf_counter()
    res = conjugate_gradient(lambda v: hv(x0, v), -g, rtol=1e-8)
    mine = (res.nit, hv.calls, time.perf_counter() - start)
    ref_hv = Counted(prob.hessp)
    op = sla.LinearOperator((n, n), matvec=lambda v: ref_hv(x0, v), dtype=float)
    count = {"n": 0}

    def callback(_):
        count["n"] += 1

    start = time.perf_counter()
    _, info = sla.cg(op, -g, rtol=1e-8, atol=0.0, callback=callback)
    theirs = (count["n"], ref_hv.calls, time.perf_counter() - start)
    if not res.success or info != 0:
        raise RuntimeError("CG did not converge")
    return mine, theirs


def row(name, n, mine, theirs):
    ratios = [m / t for m, t in zip(mine, theirs, strict=True)]
    ok = ratios[0] <= 1.1 and ratios[1] <= 1.1 and (n < 1e5 or ratios[2] <= 1.0)
    print(f"{name:28s} {n:>9,d}  {mine[0]:5d} {theirs[0]:5d} {ratios[0]:5.2f}  "
          f"{mine[1]:6d} {theirs[1]:6d} {ratios[1]:5.2f}  {mine[2]:8.3f} {theirs[2]:8.3f} "
          f"{ratios[2]:5.2f}  {'ok' if ok else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e3, 1e4, 1e5, 1e6])
    args = parser.parse_args()
    print(f"extended Rosenbrock, stop at ||grad||_inf <= {TOL:g}; ours vs scipy "
          "(iterations, Hessian-vector products, seconds)")
    print(f"{'method (ours / scipy)':28s} {'n':>9s}  {'it':>5s} {'sp':>5s} {'ratio':>5s}  "
          f"{'hvp':>6s} {'sp':>6s} {'ratio':>5s}  {'s':>8s} {'sp s':>8s} {'ratio':>5s}")
    for size in args.sizes:
        n = int(size)
        prob = rosenbrock(n, kind="extended")
        x0 = np.tile([-1.2, 1.0], n // 2)
        row("newton_cg / Newton-CG", n, ours(newton_cg, prob, x0),
            scipy_run(prob, x0, "Newton-CG"))
        mine = ours(trust_region, prob, x0)
        row("trust_region / trust-ncg", n, mine, scipy_run(prob, x0, "trust-ncg"))
        row("trust_region / trust-krylov", n, mine, scipy_run(prob, x0, "trust-krylov"))
        row("conjugate_gradient / cg", n, *cg_pair(prob, x0))


if __name__ == "__main__":
    main()
