"""Benchmark: cost of the MLP's Hessian-vector product, and Lanczos on its Hessian.

Prints two tables:

1. time of ``MLP.hvp_fast`` / time of ``MLP.grad`` (Pearlmutter's R-operator should cost
   "about as much as a gradient"; target at most 2x with one hidden layer) at about 1e4,
   1e5 and 1e6 parameters, for 1, 2 and 3 hidden layers, with the readable ``MLP.hvp``
   (the code chapter 17 shows) and the Gauss-Newton product for comparison. Times are
   medians over repeats in which the methods alternate, so a change in machine load hits
   all of them.
2. extreme eigenvalues of the Hessian at about 1e5 parameters: ``lanczos`` (time, HVPs)
   against a converged ``power_iteration``, and lambda_min from the same Lanczos run.

The ratio depends on the shape, so two input widths are shown. With many inputs
(n_in = 256) the first layer's matrix products dominate and hvp needs three of them
against the gradient's two: about 1.5x. With a thin input layer (n_in = 16) the time goes
into elementwise work on the N x width activations (tanh, D = 1 - z^2, R{z}, R{delta}),
of which hvp does about three times as much, plus first-touch costs of its extra arrays:
about 2x. Hidden-to-hidden layers need eight matrix products against three: 2-3x.

Run ``python benchmarks/bench_mlp.py`` (``--quick`` for small sizes, a few seconds).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from functools import partial

import numpy as np

from hessian_lab import lanczos, mlp_of_size, power_iteration


def paired_medians(fns, repeats: int) -> list[float]:
    """Median wall time of each function, the functions alternating within each repeat."""
    for fn in fns:  # warm up: first-touch allocations, BLAS thread start
        fn()
    times = np.empty((repeats, len(fns)))
    for r in range(repeats):
        for j, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[r, j] = time.perf_counter() - t0
    return list(np.median(times, axis=0))


def hvp_table(sizes, depths, n_in_values, n_samples: int) -> None:
    print("\n## MLP: time(hvp) / time(grad), medians of alternating repeats\n")
    header = (f"{'params':>9} {'depth':>5} {'n_in':>5} {'widths':>17} {'grad ms':>9} "
              f"{'fast ms':>9} {'fast/grad':>9} {'hvp/grad':>8} {'GN/grad':>8}")
    print(header)
    print("-" * len(header))
    for n_in in n_in_values:
        for target in sizes:
            for depth in depths:
                net = mlp_of_size(target, depth=depth, n_in=n_in, n_samples=n_samples, rng=0)
                theta = net.init_params()
                v = np.random.default_rng(1).standard_normal(net.n_params)
                repeats = 7 if net.n_params >= 500_000 else 21
                t_grad, t_fast, t_hvp, t_gn = paired_medians(
                    [partial(net.grad, theta), partial(net.hvp_fast, theta, v),
                     partial(net.hvp, theta, v), partial(net.gauss_newton_vp, theta, v)],
                    repeats,
                )
                widths = "x".join(map(str, net.hidden))
                print(f"{net.n_params:>9} {depth:>5} {n_in:>5} {widths:>17} {t_grad * 1e3:>9.2f} "
                      f"{t_fast * 1e3:>9.2f} {t_fast / t_grad:>9.2f} {t_hvp / t_grad:>8.2f} "
                      f"{t_gn / t_grad:>8.2f}")


def lanczos_table(target: int, n_in: int, n_samples: int) -> None:
    net = mlp_of_size(target, depth=1, n_in=n_in, n_samples=n_samples, rng=0)
    theta = net.init_params()
    n = net.n_params

    def matvec(v):
        return net.hvp_fast(theta, v)

    print(f"\n## Extreme eigenvalues of the MLP Hessian, {n} parameters "
          f"(sizes {net.sizes}, N = {n_samples}, at init_params)\n")
    t0 = time.perf_counter()
    power = power_iteration(matvec, n, rng=2, tol=1e-10, max_iter=3000)
    t_power = time.perf_counter() - t0
    rows = [("power_iteration (tol 1e-10)", power.eigenvalue, None, power.n_matvec, t_power,
             f"converged={power.converged}, residual {power.residual:.1e}")]
    lz = None
    for k in (30, 60, 150):
        t0 = time.perf_counter()
        lz = lanczos(matvec, n, k=k, rng=3)
        t_lz = time.perf_counter() - t0
        rel = abs(lz.lambda_max - power.eigenvalue) / abs(power.eigenvalue)
        rows.append((f"lanczos k={k}: lambda_max", lz.lambda_max, rel, lz.n_matvec, t_lz,
                     f"Ritz residual {lz.residuals[-1]:.1e}"))
        rows.append((f"lanczos k={k}: lambda_min", lz.lambda_min, None, 0, 0.0,
                     f"Ritz residual {lz.residuals[0]:.1e}"))
    t0 = time.perf_counter()
    shifted = power_iteration(matvec, n, rng=4, tol=1e-8, max_iter=1000, shift=lz.lambda_max)
    t_shift = time.perf_counter() - t0
    rel = abs(shifted.eigenvalue - lz.lambda_min) / abs(lz.lambda_min)
    rows.append(("power, shift=lambda_max", shifted.eigenvalue, rel, shifted.n_matvec, t_shift,
                 f"converged={shifted.converged} (compare to lanczos lambda_min)"))
    header = (f"{'method':<28} {'eigenvalue':>14} {'rel. diff':>10} {'HVPs':>6} {'time s':>8}  "
              "note")
    print(header)
    print("-" * len(header))
    for name, value, rel, hvps, seconds, note in rows:
        rel_text = "" if rel is None else f"{rel:.1e}"
        hvp_text = "" if not hvps else str(hvps)
        time_text = "" if not seconds else f"{seconds:.2f}"
        print(f"{name:<28} {value:>14.10f} {rel_text:>10} {hvp_text:>6} {time_text:>8}  {note}")
    print("\n(rel. diff of lambda_max is against power iteration; of the shifted power "
          "iteration, against the last lanczos lambda_min. Power iteration finds the largest "
          "|lambda|, here lambda_max because |lambda_min| is smaller.)"
          if abs(lz.lambda_min) < abs(lz.lambda_max) else
          "\n(power iteration finds the largest |lambda|: here that is lambda_min!)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    args = parser.parse_args()
    print("# bench_mlp")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}; numpy {np.__version__}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(not set)')}")
    if args.quick:
        hvp_table([1_000, 10_000], [1, 2], [16], n_samples=64)
        lanczos_table(5_000, n_in=16, n_samples=64)
    else:
        hvp_table([10_000, 100_000, 1_000_000], [1, 2, 3], [16, 256], n_samples=256)
        lanczos_table(100_000, n_in=256, n_samples=256)


if __name__ == "__main__":
    main()
