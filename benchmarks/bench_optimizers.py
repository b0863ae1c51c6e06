"""Benchmark hessian_lab's optimizers against scipy.optimize (the reference).

Run from the repository root::

    python benchmarks/bench_optimizers.py            # full run, n up to 1e6 (about a minute)
    python benchmarks/bench_optimizers.py --quick    # smoke test, n <= 1e4

Part 1: iterations on the 2-D Rosenbrock function from (-1.2, 1), everybody stopping when
||grad||_inf <= 1e-5 (scipy: gtol=1e-5, ftol=0 for L-BFGS-B), against the targets
newton <= 25, bfgs <= 40, lbfgs <= 45.

Part 2: ``lbfgs`` (m=10) against scipy's L-BFGS-B (maxcor=10) on the separable extended
Rosenbrock function, start (-1.2, 1, -1.2, 1, ...), both stopping on ||grad||_inf <= 1e-5,
both calling the same f and grad. Targets: iterations within 1.25x of scipy, wall time
within 1.5x at n >= 1e5. Wall time is the best of ``--repeat`` runs.

numpy and scipy each ship their own OpenBLAS; with both thread pools spinning on a small
machine they slow each other down (on 2 cores scipy's L-BFGS-B ran 4x slower at n = 1e5).
The script therefore sets OPENBLAS_NUM_THREADS=1 unless the variable is already set; the
table header shows the setting used.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy and scipy load OpenBLAS

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.optimize as so  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hessian_lab as hl  # noqa: E402

TOL = 1e-5


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = ""
    for variable in ("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE"):
        if os.environ.get(variable):
            blas += f", {variable}={os.environ[variable]}"
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}, scipy {scipy.__version__}{blas}"
    )


def rosenbrock_2d() -> None:
    prob = hl.rosenbrock(2)
    rows = []
    ours = {
        "newton": hl.newton(prob.f, prob.grad, prob.hess, prob.x0, tol=TOL),
        "bfgs": hl.bfgs(prob.f, prob.grad, prob.x0, tol=TOL),
        "lbfgs": hl.lbfgs(prob.f, prob.grad, prob.x0, m=10, tol=TOL),
    }
    references = {
        "newton": ("trust-exact", {"gtol": TOL}),
        "bfgs": ("BFGS", {"gtol": TOL}),
        "lbfgs": ("L-BFGS-B", {"gtol": TOL, "ftol": 0.0, "maxcor": 10}),
    }
    targets = {"newton": 25, "bfgs": 40, "lbfgs": 45}
    for name, res in ours.items():
        method, options = references[name]
        hess = prob.hess if method == "trust-exact" else None
        ref = so.minimize(prob.f, prob.x0, jac=prob.grad, hess=hess, method=method,
                          options=options)
        ok = "yes" if res.success and res.nit <= targets[name] else "NO"
        rows.append((name, res.nit, res.nfev, f"scipy {method}", ref.nit, ref.nfev,
                     f"<= {targets[name]}", ok))
    print("\n(1) 2-D Rosenbrock from (-1.2, 1), stop at ||grad||_inf <= 1e-5")
    header = ("ours", "nit", "nfev", "reference", "nit", "nfev", "target", "met")
    widths = (8, 5, 6, 22, 5, 6, 8, 4)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))


def best_time(run, repeat: int):
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def extended_rosenbrock(sizes, repeat: int) -> None:
    print("\n(2) lbfgs (m=10) vs scipy L-BFGS-B (maxcor=10), separable extended Rosenbrock,")
    print("    start (-1.2, 1, ...), stop at ||grad||_inf <= 1e-5, wall time best of "
          f"{repeat}")
    header = ("n", "nit ours", "nit scipy", "ratio", "nfev ours", "nfev scipy",
              "time ours", "time scipy", "ratio", "targets met")
    widths = (9, 9, 9, 6, 9, 10, 10, 10, 6, 11)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for n in sizes:
        prob = hl.rosenbrock(n, kind="extended")
        options = {"maxcor": 10, "gtol": TOL, "ftol": 0.0, "maxiter": 10_000, "maxfun": 20_000}

        def ours(prob=prob):
            return hl.lbfgs(prob.f, prob.grad, prob.x0, m=10, tol=TOL, max_iter=10_000,
                            store_path=False)

        def reference(prob=prob, options=options):
            return so.minimize(prob.f, prob.x0, jac=prob.grad, method="L-BFGS-B",
                               options=options)

        t_ours, res = best_time(ours, repeat)
        t_ref, ref = best_time(reference, repeat)
        ref_gnorm = float(np.max(np.abs(prob.grad(ref.x))))
        if not (res.success and ref_gnorm <= TOL):
            print(f"  warning at n={n}: ours: {res.message} scipy: {ref.message}")
        nit_ratio, time_ratio = res.nit / ref.nit, t_ours / t_ref
        met = nit_ratio <= 1.25 and (n < 100_000 or time_ratio <= 1.5)
        row = (f"{n:.0e}", res.nit, ref.nit, f"{nit_ratio:.2f}", res.nfev, ref.nfev,
               f"{t_ours:.3f} s", f"{t_ref:.3f} s", f"{time_ratio:.2f}", "yes" if met else "NO")
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only n <= 1e4 (smoke test)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="timing repeats (default 3, 1 with --quick)")
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    print(f"hessian_lab optimizers vs scipy.optimize on {machine()}")
    rosenbrock_2d()
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000, 1_000_000]
    extended_rosenbrock(sizes, repeat)


if __name__ == "__main__":
    main()
