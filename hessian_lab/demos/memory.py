"""Demo 5, quasi-Newton memory: BFGS against L-BFGS with m pairs, on extended Rosenbrock.

BFGS keeps a dense n x n inverse-Hessian approximation B (n^2 floats); L-BFGS keeps only
the last m pairs (s_i, y_i) (2 m n floats) and rebuilds B g by the two-loop recursion
(:func:`hessian_lab.two_loop`). The extended Rosenbrock function is n/2 independent 2-D
Rosenbrock problems, so the iteration counts hardly depend on n while BFGS's memory grows
as n^2. Both stop when ||grad f||_inf <= 1e-6. Chapter 11 (quasi-Newton methods).
"""

from __future__ import annotations

import numpy as np

from ..optimizers import bfgs, lbfgs
from ..plotting import COLORS
from ..problems import rosenbrock
from ._base import Demo, readout_table
from ._registry import register

__all__ = ["quasi_newton_memory", "QuasiNewtonMemory", "M_SWEEP"]

M_SWEEP = (1, 2, 3, 5, 8, 13, 20, 30)
SIZES = (20, 100, 400)
TOL = 1e-6


class QuasiNewtonMemory(Demo):
    """The live demo; see :func:`quasi_newton_memory`."""

    title = "Quasi-Newton memory"
    figsize = (12.0, 4.2)

    def __init__(self, **values):
        self._runs: dict = {}
        self._n_drawn = None
        super().__init__(**values)

    def _make_controls(self) -> dict:
        import ipywidgets as widgets

        return {
            "m": widgets.IntSlider(value=5, min=1, max=30, description="m (pairs)",
                                   continuous_update=False),
            "n": widgets.Dropdown(options=list(SIZES), value=100, description="n"),
        }

    def _run(self, n: int, m: int | None):
        """BFGS (m None) or L-BFGS(m) on extended Rosenbrock in n variables, cached."""
        key = (n, m)
        if key not in self._runs:
            prob = rosenbrock(n, kind="extended")
            if m is None:
                res = bfgs(prob.f, prob.grad, prob.x0, tol=TOL, max_iter=500)
            else:
                res = lbfgs(prob.f, prob.grad, prob.x0, m=m, tol=TOL, max_iter=500)
            errors = np.array([prob.f(x) for x in res.path])  # f* = 0
            self._runs[key] = (res, errors)
        return self._runs[key]

    def _build_figure(self, fig):
        err_ax, it_ax, mem_ax = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.3, 1, 0.8]})
        err_ax.set_yscale("log")
        err_ax.set_ylim(1e-18, 1e4)
        err_ax.set_xlabel("iteration k")
        err_ax.set_ylabel(r"$f(x_k) - f^*$")
        err_ax.set_title("error curves")
        (self._bfgs_err,) = err_ax.plot([], [], color=COLORS["model"], lw=2, label="BFGS")
        (self._lbfgs_err,) = err_ax.plot([], [], color=COLORS["maximum"], lw=2,
                                         label="L-BFGS(m)")
        err_ax.legend(loc="lower left", fontsize=8, frameon=True, framealpha=0.9)
        it_ax.set_xscale("log")
        it_ax.set_xlabel("memory m (pairs)")
        it_ax.set_ylabel("iterations to ||grad||_inf <= 1e-6")
        it_ax.set_title("iterations vs m")
        (self._sweep,) = it_ax.plot([], [], "-o", color=COLORS["maximum"], ms=4,
                                    label="L-BFGS(m)")
        self._bfgs_level = it_ax.axhline(np.nan, color=COLORS["model"], ls="--", label="BFGS")
        (self._current,) = it_ax.plot([], [], "o", color=COLORS["accent"], ms=11, zorder=5)
        it_ax.legend(loc="upper right", fontsize=8, frameon=True, framealpha=0.9)
        mem_ax.set_yscale("log")
        mem_ax.set_ylim(1, 1e6)
        mem_ax.set_title("memory (floats)")
        self._bars = mem_ax.bar(["BFGS\nn\u00b2", "L-BFGS\n2mn"], [1, 1],
                                color=[COLORS["model"], COLORS["maximum"]])
        self._bar_text = [mem_ax.text(i, 1, "", ha="center", va="bottom", fontsize=9)
                          for i in range(2)]
        self._axes = (err_ax, it_ax, mem_ax)
        fig.subplots_adjust(left=0.08, right=0.99, bottom=0.15, top=0.9, wspace=0.3)
        return fig

    def _dynamic_artists(self) -> list:
        return [self._bfgs_err, self._lbfgs_err, self._current, *self._bars, *self._bar_text]

    def _compute(self, *, m, n) -> dict:
        n, m = int(n), int(m)
        bfgs_res, bfgs_err = self._run(n, None)
        lbfgs_res, lbfgs_err = self._run(n, m)
        sweep = [self._run(n, k)[0].nit for k in M_SWEEP]
        return {
            "n": n,
            "m": m,
            "bfgs_iterations": bfgs_res.nit,
            "lbfgs_iterations": lbfgs_res.nit,
            "bfgs_success": bool(bfgs_res.success),
            "lbfgs_success": bool(lbfgs_res.success),
            "bfgs_memory": n * n,
            "lbfgs_memory": 2 * m * n,
            "memory_ratio": n * n / (2 * m * n),
            "bfgs_errors": bfgs_err,
            "lbfgs_errors": lbfgs_err,
            "sweep_m": np.array(M_SWEEP),
            "sweep_iterations": np.array(sweep),
        }

    def _draw(self) -> None:
        s = self.state
        err_ax, it_ax, _ = self._axes
        if self._n_drawn != s["n"]:  # the axes' ranges follow n: a full redraw
            self._sweep.set_data(s["sweep_m"], s["sweep_iterations"])
            self._bfgs_level.set_ydata([s["bfgs_iterations"]] * 2)
            top = max(max(s["sweep_iterations"]), s["bfgs_iterations"])
            err_ax.set_xlim(0, top * 1.05)
            it_ax.set_xlim(0.8, 40)
            it_ax.set_ylim(0, top * 1.15)
            err_ax.set_title(f"error curves, extended Rosenbrock, n = {s['n']}")
            self._n_drawn = s["n"]
            self.invalidate()
        for line, key in ((self._bfgs_err, "bfgs_errors"), (self._lbfgs_err, "lbfgs_errors")):
            e = np.clip(s[key], 1e-18, 1e4)
            line.set_data(np.arange(e.size), e)
        self._lbfgs_err.set_label(f"L-BFGS(m={s['m']})")
        self._current.set_data([s["m"]], [s["lbfgs_iterations"]])
        for bar, text, key in zip(self._bars, self._bar_text,
                                  ("bfgs_memory", "lbfgs_memory"), strict=True):
            bar.set_height(s[key])
            text.set_position((bar.get_x() + bar.get_width() / 2, s[key] * 1.2))
            text.set_text(f"{s[key]:,}")

    def readout_html(self) -> str:
        s = self.state

        def its(method):
            done = s[f"{method}_success"]
            return f"{s[f'{method}_iterations']}" + ("" if done else " (not converged)")

        return readout_table(("n = " + f"{s['n']}", "iterations", "memory (floats)"), [
            ("BFGS", its("bfgs"), f"{s['bfgs_memory']:,}"),
            (f"L-BFGS, m = {s['m']}", its("lbfgs"), f"{s['lbfgs_memory']:,}"),
        ]) + readout_table(None, [("memory ratio n/(2m)", f"{s['memory_ratio']:.3g}")])

    def frame_label(self) -> str:
        return f"m = {self.state['m']}, n = {self.state['n']}"

    def alt_text(self) -> str:
        s = self.state
        return (f"Extended Rosenbrock with n = {s['n']}. Left: f minus its minimum on a log "
                f"scale against iteration, BFGS reaching 1e-6 gradient in "
                f"{s['bfgs_iterations']} iterations and L-BFGS with m = {s['m']} in "
                f"{s['lbfgs_iterations']}. Middle: L-BFGS iterations against m with the current "
                f"m marked and BFGS as a dashed line. Right: memory on a log scale, "
                f"{s['bfgs_memory']:,} floats for BFGS against {s['lbfgs_memory']:,} for L-BFGS.")

    def caption(self) -> str:
        return ("Quasi-Newton memory on the extended Rosenbrock function: BFGS (blue) stores "
                "n^2 floats, L-BFGS (vermillion) 2mn. A few pairs already give nearly BFGS's "
                "iteration count at a fraction of the memory. Frames step m from 1 to 30 at "
                "n = 100, then n = 400 at m = 5.")

    def static_settings(self) -> list[dict]:
        return [{"n": 100, "m": m} for m in M_SWEEP] + [{"n": 400, "m": 5}]


@register(5, chapter="11_quasi_newton",
          drag=lambda: [{"m": 1 + k % 30} for k in range(40)])
def quasi_newton_memory(m: int = 5, n: int = 100) -> QuasiNewtonMemory:
    """BFGS vs L-BFGS with m pairs on extended Rosenbrock (demo 5).

    Parameters
    ----------
    m : int
        L-BFGS memory, 1 to 30 pairs (slider, updates on release).
    n : int
        Dimension: 20, 100 or 400.

    Returns
    -------
    QuasiNewtonMemory
        Controls ``m``, ``n``. ``.state`` keys: ``n``, ``m``, ``bfgs_iterations``,
        ``lbfgs_iterations``, ``bfgs_success``, ``lbfgs_success``, ``bfgs_memory`` (n^2
        floats), ``lbfgs_memory`` (2 m n floats), ``memory_ratio``, ``bfgs_errors``,
        ``lbfgs_errors``, ``sweep_m``, ``sweep_iterations``.
    """
    if n not in SIZES:
        raise ValueError(f"n must be one of {SIZES}, got {n!r}")
    return QuasiNewtonMemory(m=m, n=n)
