"""Demo 4, the Newton stepper: one Newton iteration at a time, with its local model.

At the iterate x_k the quadratic model is m_k(x) = f(x_k) + g_k.(x - x_k) +
(x - x_k)^T H_k (x - x_k) / 2. Pure Newton jumps to the model's stationary point
x_k - H_k^{-1} g_k, whatever kind it is (a saddle of the model when H_k is indefinite);
globalised Newton solves with H_k + tau I, tau >= 0 just large enough for a positive
definite matrix, and backtracks along that direction (:func:`hessian_lab.newton`). Near a
minimum the number of correct digits roughly doubles per step (Chapter 9).
"""

from __future__ import annotations

import numpy as np

from ..curvature import classify
from ..optimizers import newton
from ..plotting import COLORS
from ..problems import himmelblau, rosenbrock, seed_quartic
from ._base import Demo, clip_path, readout_lines, readout_table, readout_verdict
from ._registry import register

__all__ = ["newton_stepper", "NewtonStepper", "STEPPER_PROBLEMS"]

#: name -> (problem factory, {start name: start}, plot window (xmin, xmax, ymin, ymax))
STEPPER_PROBLEMS = {
    "Rosenbrock": (rosenbrock, {"standard start": (-1.2, 1.0),
                                "start where H is indefinite": (0.0, 1.0)}, (-2, 2, -1, 3)),
    "x^4 + y^4 - 4xy": (seed_quartic, {"standard start": (1.5, 0.8),
                                       "start where H is indefinite": (0.3, 0.2)},
                        (-2, 2, -2, 2)),
    "Himmelblau": (himmelblau, {"standard start": (4.0, 3.0),
                                "start where H is indefinite": (-0.3, 2.0)}, (-5, 5, -5, 5)),
}
MAX_ITER = 30
KIND_COLOURS = {"minimum": COLORS["minimum"], "maximum": COLORS["maximum"],
                "saddle": COLORS["saddle"], "inconclusive": COLORS["function"]}


class NewtonStepper(Demo):
    """The live stepper; see :func:`newton_stepper`."""

    title = "Newton stepper"
    figsize = (10.5, 4.4)

    def __init__(self, **values):
        self._runs: dict = {}
        self._problem_drawn = None
        super().__init__(**values)

    def _make_controls(self) -> dict:
        import ipywidgets as widgets

        return {
            "problem": widgets.Dropdown(options=list(STEPPER_PROBLEMS), value="Rosenbrock",
                                        description="f"),
            "start": widgets.Dropdown(options=["standard start", "start where H is indefinite"],
                                      value="standard start", description="start"),
            "method": widgets.ToggleButtons(options=["pure", "globalised"], value="pure",
                                            description="Newton"),
            "iteration": widgets.IntSlider(value=0, min=0, max=MAX_ITER, description="k",
                                           continuous_update=True),
        }

    def _build_figure(self, fig):
        ax, err_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.0]})
        ax.set_xlabel("$x$")
        ax.set_ylabel("$y$")
        self._f_contours = None
        self._model_contours = []
        (self._path,) = ax.plot([], [], "-o", color=COLORS["function"], lw=1.3, ms=4)
        (self._current,) = ax.plot([], [], "o", color=COLORS["accent"], ms=10, zorder=6)
        (self._step,) = ax.plot([], [], "--", color=COLORS["model"], lw=2)
        (self._target,) = ax.plot([], [], "X", color=COLORS["model"], ms=10, zorder=6)
        (self._accepted,) = ax.plot([], [], "o", color=COLORS["minimum"], ms=7, zorder=6,
                                    mfc="none", mew=2)
        err_ax.set_yscale("log")
        err_ax.set_xlim(-0.5, MAX_ITER + 0.5)
        err_ax.set_ylim(1e-17, 1e2)
        err_ax.set_xlabel("iteration k")
        err_ax.set_ylabel(r"error $\|x_k - x_{\mathrm{final}}\|$")
        err_ax.set_title("digits of accuracy")
        (self._errors,) = err_ax.plot([], [], "-o", color=COLORS["model"], ms=5)
        (self._err_now,) = err_ax.plot([], [], "o", color=COLORS["accent"], ms=11, zorder=5)
        self._ax, self._err_ax = ax, err_ax
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.9, wspace=0.25)
        return fig

    def _dynamic_artists(self) -> list:
        return [*self._model_contours, self._path, self._current, self._step, self._target,
                self._accepted, self._errors, self._err_now]

    # ------------------------------------------------------------------ maths
    def _run(self, problem, start, method):
        key = (problem, start, method)
        if key not in self._runs:
            factory, starts, _ = STEPPER_PROBLEMS[problem]
            prob = factory()
            res = newton(prob.f, prob.grad, prob.hess, starts[start],
                         globalize=(method == "globalised"), tol=1e-12, max_iter=MAX_ITER)
            self._runs[key] = (prob, res)
        return self._runs[key]

    def _compute(self, *, problem, start, method, iteration) -> dict:
        prob, res = self._run(problem, start, method)
        path = res.path
        finite = np.all(np.isfinite(path), axis=1)
        path = path[: int(np.argmin(finite)) if not finite.all() else len(path)]
        nit = len(path) - 1
        k = min(int(iteration), nit)
        x = path[k]
        g, H = prob.grad(x), prob.hess(x)
        here = classify(H)
        reference = path[-1]
        final_kind = classify(prob.hess(reference)).kind
        errors = np.linalg.norm(path - reference, axis=1)
        scale = max(1.0, float(np.linalg.norm(reference)))
        with np.errstate(divide="ignore"):
            digits = np.minimum(16.0, -np.log10(np.maximum(errors / scale, 1e-300)))
        shift = res.extras["shifts"][k] if method == "globalised" and k < nit else 0.0
        target = None
        if k < nit or not res.success:
            try:
                target = x + np.linalg.solve(H + shift * np.eye(2), -g)
            except np.linalg.LinAlgError:
                target = None
            if target is not None and not np.all(np.isfinite(target)):
                target = None       # singular where numpy cannot raise (WebAssembly)
        return {
            "problem": problem,
            "start": start,
            "method": method,
            "iteration": k,
            "n_iterations": nit,
            "success": bool(res.success),
            "message": res.message,
            "x": x,
            "f": float(prob.f(x)),
            "grad_norm": float(np.max(np.abs(g))),
            "hessian": H,
            "kind_at_x": here.kind,
            "indefinite": here.kind in ("saddle", "maximum", "inconclusive"),
            "shift": float(shift),
            "model_minimizer": target,
            "next_x": path[k + 1] if k < nit else None,
            "converged_to": final_kind,
            "final_x": reference,
            "errors": errors,
            "digits": digits,
            "path": path,
            "_prob": prob,
        }

    # ------------------------------------------------------------------ drawing
    def _draw(self) -> None:
        s, ax = self.state, self._ax
        prob = s["_prob"]
        x0, x1, y0, y1 = STEPPER_PROBLEMS[s["problem"]][2]
        if self._problem_drawn != s["problem"]:
            if self._f_contours is not None:
                self._f_contours.remove()
            gx, gy = np.meshgrid(np.linspace(x0, x1, 160), np.linspace(y0, y1, 160))
            Z = np.array([prob.f(p) for p in np.column_stack([gx.ravel(), gy.ravel()])])
            Z = Z.reshape(gx.shape)
            levels = np.unique(np.quantile(Z, np.linspace(0.0, 1.0, 24) ** 2.5))
            self._f_contours = ax.contour(gx, gy, Z, levels=levels, colors=COLORS["neutral"],
                                          linewidths=0.7)
            ax.set_xlim(x0, x1)
            ax.set_ylim(y0, y1)
            ax.set_title(f"f = {s['problem']}")
            self._problem_drawn = s["problem"]
            self.invalidate()
        for cs in self._model_contours:
            cs.remove()
        self._model_contours = []
        x, H = s["x"], s["hessian"]
        g = prob.grad(x)
        target = s["model_minimizer"]
        radius = 0.25 * (x1 - x0)
        if target is not None and np.all(np.isfinite(target)):
            radius = float(np.clip(1.3 * np.linalg.norm(target - x), 0.1 * (x1 - x0),
                                   0.6 * (x1 - x0)))
        u = np.linspace(-radius, radius, 61)
        du, dv = np.meshgrid(u, u)
        M = g[0] * du + g[1] * dv + 0.5 * (H[0, 0] * du**2 + 2 * H[0, 1] * du * dv
                                           + H[1, 1] * dv**2)
        if np.ptp(M) > 0:
            levels = np.unique(np.quantile(M, np.linspace(0.05, 0.95, 9)))
            if levels.size >= 2:
                self._model_contours.append(ax.contour(
                    du + x[0], dv + x[1], M, levels=levels, colors=COLORS["model"],
                    linewidths=1.1, linestyles="solid"))
        bound = 10 * (x1 - x0)
        pts = clip_path(s["path"][: s["iteration"] + 1], bound)
        self._path.set_data(pts[:, 0], pts[:, 1])
        self._current.set_data([x[0]], [x[1]])
        if target is not None and np.all(np.isfinite(target)):
            t = np.clip(target, -bound, bound)
            self._step.set_data([x[0], t[0]], [x[1], t[1]])
            self._target.set_data([t[0]], [t[1]])
        else:
            self._step.set_data([], [])
            self._target.set_data([], [])
        nxt = s["next_x"]
        if nxt is not None and s["method"] == "globalised":
            self._accepted.set_data([nxt[0]], [nxt[1]])
        else:
            self._accepted.set_data([], [])
        k = s["iteration"]
        errors = np.clip(s["errors"], 1e-16, 1e3)
        self._errors.set_data(np.arange(errors.size), errors)
        self._err_now.set_data([k], [errors[k]])

    # ------------------------------------------------------------------ text
    def readout_html(self) -> str:
        s = self.state
        x, k, target = s["x"], s["iteration"], s["model_minimizer"]
        kind = s["kind_at_x"] + ("  (indefinite)" if s["kind_at_x"] == "saddle" else "")
        lines = [f"x_k = ({x[0]:.4g}, {x[1]:.4g})", f"H(x_k): {kind}"]
        if s["method"] == "globalised" and s["shift"] > 0:
            lines.append(f"shift \u03c4 = {s['shift']:.3g}: solve with H + \u03c4I")
        if target is not None:
            what = "model minimum" if s["kind_at_x"] == "minimum" or s["shift"] > 0 else \
                "model's stationary point"
            lines.append(f"X: the {what}")
        lines.append(f"run ends at a {s['converged_to']}"
                     + ("" if s["success"] else " (not converged)"))
        shown = list(enumerate(s["digits"][:14]))
        digits = readout_table(None, [("k", *(f"{i}" for i, _ in shown)),
                                      ("digits", *(f"{d:.1f}" for _, d in shown))],
                               caption="correct digits per iteration")
        return (readout_verdict(f"iteration {k} of {s['n_iterations']}", COLORS["accent"])
                + readout_lines(lines) + digits)

    def frame_label(self) -> str:
        s = self.state
        return f"{s['problem']}, {s['start']}, {s['method']} Newton, k = {s['iteration']}"

    def alt_text(self) -> str:
        s = self.state
        digits = ", ".join(f"{d:.0f}" for d in s["digits"][: s["iteration"] + 1])
        return (f"{s['method'].capitalize()} Newton on {s['problem']} from the "
                f"{s['start']}, iteration {s['iteration']} of {s['n_iterations']}: contours of "
                f"f with the path so far, the local quadratic model's contours around the "
                f"current iterate (where the Hessian is {s['kind_at_x']}) and a dashed step "
                f"to the model's stationary point. Right: error on a log scale; correct digits "
                f"so far {digits}. The run ends at a {s['converged_to']}.")

    def caption(self) -> str:
        return ("The Newton stepper. Left: contours of f (grey), the quadratic model at the "
                "current iterate (blue), and the Newton step to the model's stationary point "
                "(blue X); for globalised Newton the accepted point is circled in green. "
                "Right: the error on a log scale. Beside them, the digits of accuracy, "
                "which roughly double per step near the end. Frames: pure Newton on "
                "Rosenbrock; then from a start where H is indefinite on x^4 + y^4 - 4xy, "
                "pure Newton (drawn to the saddle) and globalised Newton (to a minimum).")

    def static_settings(self) -> list[dict]:
        frames = []
        for problem, start, method in (
                ("Rosenbrock", "standard start", "pure"),
                ("x^4 + y^4 - 4xy", "start where H is indefinite", "pure"),
                ("x^4 + y^4 - 4xy", "start where H is indefinite", "globalised")):
            nit = len(self._run(problem, start, method)[1].path) - 1
            frames += [{"problem": problem, "start": start, "method": method, "iteration": k}
                       for k in range(min(nit, 7) + 1)]
        return frames


@register(4, chapter="08_newton",
          drag=lambda: [{"iteration": k % 8} for k in range(40)])
def newton_stepper(problem: str = "Rosenbrock", start: str = "standard start",
                   method: str = "pure", iteration: int = 0) -> NewtonStepper:
    """The Newton stepper (demo 4): step through Newton's iterations with their models.

    Parameters
    ----------
    problem : str
        "Rosenbrock", "x^4 + y^4 - 4xy" or "Himmelblau".
    start : str
        "standard start" or "start where H is indefinite".
    method : str
        "pure" (alpha = 1, H as is) or "globalised" (shifted H, backtracking).
    iteration : int
        The iteration shown, 0 to 30 (clipped to the run's length).

    Returns
    -------
    NewtonStepper
        Controls ``problem``, ``start``, ``method``, ``iteration``. ``.state`` keys:
        ``problem``, ``start``, ``method``, ``iteration``, ``n_iterations``, ``success``,
        ``message``, ``x``, ``f``, ``grad_norm``, ``hessian``, ``kind_at_x``, ``indefinite``,
        ``shift``, ``model_minimizer``, ``next_x``, ``converged_to``, ``final_x``,
        ``errors``, ``digits``, ``path``.
    """
    if problem not in STEPPER_PROBLEMS:
        raise ValueError(f"unknown problem {problem!r}; choose one of {list(STEPPER_PROBLEMS)}")
    return NewtonStepper(problem=problem, start=start, method=method, iteration=iteration)
