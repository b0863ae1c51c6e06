"""Demo 7, one trust-region step: the ball, the model, its minimisers and the ratio rho.

At x_k the model m(p) = f(x_k) + g^T p + p^T B p / 2 (B the Hessian) is minimised over
||p|| <= Delta by the chosen solver (:mod:`hessian_lab.trust_region`): the dogleg
(positive definite B; the Cauchy point otherwise), Steihaug-CG, or the exact minimiser
(the secular equation). The step is judged by rho = actual / predicted decrease, and the
radius rule says what the next Delta would be. Every number comes from the library;
this module draws. Chapter 19.
"""

from __future__ import annotations

import numpy as np

from ..curvature import classify
from ..plotting import COLORS, level_curves, quadratic_grid
from ..problems import seed_quartic
from ..trust_region import (
    ETA,
    cauchy_point,
    dogleg_step,
    exact_step,
    reduction_ratio,
    steihaug_step,
    update_radius,
)
from ._base import Demo, readout_lines, readout_note, readout_table, readout_verdict
from ._registry import register

__all__ = ["trust_region_step", "TrustRegionStep", "TRUST_STARTS", "TRUST_SOLVERS"]

#: start name -> x_k on f(x, y) = x^4 + y^4 - 4xy
TRUST_STARTS = {
    "near the saddle (H indefinite)": (0.3, 0.2),
    "on the far slope (H indefinite)": (-0.4, 0.6),
    "near a minimum (H positive definite)": (1.5, 0.8),
}
TRUST_SOLVERS = ("dogleg", "Steihaug-CG", "exact")
RADIUS_MIN, RADIUS_MAX = 0.03, 3.0
WINDOW = 2.3  # the plot shows [-WINDOW, WINDOW]^2
SWEEP = np.geomspace(RADIUS_MIN, RADIUS_MAX, 60)
_PROBLEM = seed_quartic()
#: what classify's kind says about the matrix H itself
DEFINITENESS = {"minimum": "positive definite", "maximum": "negative definite",
                "saddle": "indefinite", "inconclusive": "singular"}
#: how a SubproblemStep ended, in words
ENDINGS = {"interior": "inside the ball", "boundary": "on the boundary",
           "negative curvature": "on the boundary, along negative curvature"}
VERDICT_COLOURS = {"shrink": COLORS["maximum"], "keep": COLORS["accent"],
                   "expand": COLORS["minimum"]}


def _solve(solver: str, g: np.ndarray, H: np.ndarray, radius: float):
    if solver == "dogleg":
        return dogleg_step(g, H, radius)
    if solver == "Steihaug-CG":
        return steihaug_step(g, H.__matmul__, radius)
    return exact_step(g, H, radius)


def _judge(prob, x, fx, g, H, solver, radius):
    """The step, its decreases, rho and the next radius, all from the library."""
    step = _solve(solver, g, H, radius)
    f_new = float(prob.f(x + step.p))
    predicted = -step.model
    rho = reduction_ratio(fx, f_new, predicted)
    norm = float(np.linalg.norm(step.p))
    new_radius = update_radius(radius, rho, norm, step.hits_boundary, max_radius=np.inf)
    return step, f_new, predicted, rho, norm, new_radius


class TrustRegionStep(Demo):
    """The live demo; see :func:`trust_region_step`."""

    title = "One trust-region step"
    figsize = (10.5, 4.6)

    _prob = _PROBLEM

    def __init__(self, **values):
        self._runs: dict = {}  # (start, solver) -> rho over SWEEP
        self._start_drawn = self._sweep_drawn = None
        super().__init__(**values)

    def _make_controls(self) -> dict:
        import ipywidgets as widgets

        return {
            "start": widgets.Dropdown(options=list(TRUST_STARTS), value=list(TRUST_STARTS)[0],
                                      description="x_k"),
            "solver": widgets.ToggleButtons(options=list(TRUST_SOLVERS), value="dogleg",
                                            description="solver"),
            "radius": widgets.FloatLogSlider(value=0.5, base=10, min=np.log10(RADIUS_MIN),
                                             max=np.log10(RADIUS_MAX), step=0.02,
                                             description="\u0394", continuous_update=True,
                                             readout_format=".3g"),
        }

    def _control_order(self, values: dict) -> list:
        return sorted(values, key=lambda k: k == "radius")

    def _build_figure(self, fig):
        from matplotlib.collections import LineCollection

        ax, rho_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1.0]})
        s = np.linspace(-WINDOW, WINDOW, 161)
        X, Y = np.meshgrid(s, s)
        Z = X**4 + Y**4 - 4 * X * Y
        ax.contour(X, Y, Z, levels=np.linspace(-1.9, 6, 14), colors=COLORS["neutral"],
                   linewidths=0.6, linestyles="solid")
        ax.plot([0, 1, -1], [0, 1, -1], "+", color=COLORS["function"], ms=8, zorder=3)
        ax.set_xlim(-WINDOW, WINDOW)
        ax.set_ylim(-WINDOW, WINDOW)
        ax.set_aspect("equal")
        ax.set_xlabel("$x$")
        ax.set_ylabel("$y$")
        ax.set_title("$f = x^4 + y^4 - 4xy$ (grey), model (blue)")
        self._model = LineCollection([], colors=COLORS["model"], linewidths=1.0)
        ax.add_collection(self._model)
        (self._circle,) = ax.plot([], [], "-", color=COLORS["function"], lw=1.6,
                                  label=r"trust region $\|p\| \leq \Delta$")
        (self._dogleg,) = ax.plot([], [], ":", color=COLORS["secondary"], lw=1.8,
                                  label="dogleg path")
        (self._step,) = ax.plot([], [], "-", color=COLORS["accent"], lw=2.6, label="step")
        (self._cauchy,) = ax.plot([], [], "s", color=COLORS["maximum"], ms=7, zorder=6,
                                  label="Cauchy point")
        (self._exact,) = ax.plot([], [], "*", color=COLORS["minimum"], ms=13, zorder=8,
                                 mec="white", mew=0.6, label="exact minimiser")
        (self._trial,) = ax.plot([], [], "o", color=COLORS["accent"], ms=8, zorder=7,
                                 mec=COLORS["function"], mew=0.8)
        (self._xk,) = ax.plot([], [], "o", color=COLORS["function"], ms=6, zorder=7)
        ax.legend(loc="lower right", fontsize=7.5, frameon=True, framealpha=0.92)
        rho_ax.set_xscale("log")
        rho_ax.set_xlim(RADIUS_MIN, RADIUS_MAX)
        rho_ax.set_ylim(-1.0, 1.6)
        for level in (0.25, 0.75):
            rho_ax.axhline(level, color=COLORS["neutral"], lw=0.8, ls="--")
        rho_ax.axhline(1.0, color=COLORS["neutral"], lw=0.5)
        rho_ax.set_xlabel(r"trust radius $\Delta$")
        rho_ax.set_ylabel(r"$\rho$ = actual / predicted decrease")
        rho_ax.set_title(r"$\rho$ for every $\Delta$ (dashed: 1/4 and 3/4)")
        (self._rho_curve,) = rho_ax.plot([], [], "-", color=COLORS["model"], lw=1.6)
        (self._rho_now,) = rho_ax.plot([], [], "o", color=COLORS["accent"], ms=9, zorder=5,
                                       mec=COLORS["function"], mew=0.8)
        self._ax, self._rho_ax = ax, rho_ax
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.92, wspace=0.28)
        return fig

    def _dynamic_artists(self) -> list:
        # drawn in this order over the cached background (blitting ignores zorder)
        return [self._circle, self._dogleg, self._step, self._xk, self._trial,
                self._cauchy, self._exact, self._rho_now]

    # ------------------------------------------------------------------ maths
    def _sweep(self, start, solver):
        """rho over the radii of the slider (drawn on the right; cached)."""
        key = (start, solver)
        if key not in self._runs:
            x = np.asarray(TRUST_STARTS[start], dtype=float)
            prob = self._prob
            fx, g, H = float(prob.f(x)), prob.grad(x), prob.hess(x)
            self._runs[key] = np.array(
                [_judge(prob, x, fx, g, H, solver, r)[3] for r in SWEEP])
        return self._runs[key]

    def _compute(self, *, start, solver, radius) -> dict:
        prob = self._prob
        x = np.asarray(TRUST_STARTS[start], dtype=float)
        fx, g, H = float(prob.f(x)), prob.grad(x), prob.hess(x)
        radius = float(radius)
        step, f_new, predicted, rho, norm, new_radius = _judge(prob, x, fx, g, H, solver,
                                                               radius)
        pc = cauchy_point(g, H @ g, radius)
        exact = exact_step(g, H, radius)
        kind = classify(H).kind
        definite = kind == "minimum"
        newton = np.linalg.solve(H, -g)
        dogleg_path = None
        if definite:
            steepest = -(float(g @ g) / float(g @ H @ g)) * g
            dogleg_path = np.array([np.zeros(2), steepest, newton])
        if rho < 0.25:
            verdict = "shrink"
        elif new_radius > radius:
            verdict = "expand"
        else:
            verdict = "keep"

        def model_of(p):
            return float(g @ p) + 0.5 * float(p @ H @ p)

        return {
            "start": start,
            "solver": solver,
            "radius": radius,
            "x": x,
            "f": fx,
            "grad": g,
            "hessian": H,
            "eigenvalues": np.linalg.eigvalsh(H),
            "kind": kind,
            "step": step.p,
            "reason": step.reason,
            "step_norm": norm,
            "n_products": step.n_products,
            "predicted": predicted,
            "actual": fx - f_new,
            "f_new": f_new,
            "rho": rho,
            "accepted": bool(rho > ETA),
            "new_radius": new_radius,
            "verdict": verdict,
            "cauchy": pc,
            "cauchy_decrease": -model_of(pc),
            "exact": exact.p,
            "exact_decrease": -exact.model,
            "multiplier": exact.multiplier,
            "newton": newton,
            "newton_is_minimiser": definite,
            "dogleg_path": dogleg_path,
            "dogleg_fallback": solver == "dogleg" and not definite,
            "rho_sweep": self._sweep(start, solver),
        }

    # ------------------------------------------------------------------ drawing
    def _draw(self) -> None:
        s = self.state
        x = s["x"]
        if getattr(self, "_start_drawn", None) != s["start"]:
            g, H = s["grad"], s["hessian"]
            X, Y, Z = quadratic_grid(H, g, extent=2 * WINDOW, num=121)
            levels = np.quantile(Z[np.hypot(X, Y) < 1.2], np.linspace(0.05, 0.95, 9))
            self._model.set_segments([c + x for c in level_curves(X, Y, Z, levels)])
            self._start_drawn = s["start"]
            self.invalidate()
        if getattr(self, "_sweep_drawn", None) != (s["start"], s["solver"]):
            self._rho_curve.set_data(SWEEP, np.clip(s["rho_sweep"], -0.99, 1.59))
            self._sweep_drawn = (s["start"], s["solver"])
            self.invalidate()
        t = np.linspace(0, 2 * np.pi, 181)
        r = s["radius"]
        self._circle.set_data(x[0] + r * np.cos(t), x[1] + r * np.sin(t))
        path = s["dogleg_path"]
        if path is not None and s["solver"] == "dogleg":
            self._dogleg.set_data(x[0] + path[:, 0], x[1] + path[:, 1])
        else:
            self._dogleg.set_data([], [])
        end = x + s["step"]
        self._step.set_data([x[0], end[0]], [x[1], end[1]])
        self._trial.set_data([end[0]], [end[1]])
        self._xk.set_data([x[0]], [x[1]])
        pc, pe = x + s["cauchy"], x + s["exact"]
        self._cauchy.set_data([pc[0]], [pc[1]])
        self._exact.set_data([pe[0]], [pe[1]])
        self._rho_now.set_data([r], [float(np.clip(s["rho"], -0.99, 1.59))])

    # ------------------------------------------------------------------ text
    def readout_html(self) -> str:
        s = self.state
        lam = s["eigenvalues"]
        accept = "accept the step" if s["accepted"] else "reject the step"
        change = {"shrink": f"shrink \u0394 to {s['new_radius']:.3g}",
                  "expand": f"expand \u0394 to {s['new_radius']:.3g}",
                  "keep": f"keep \u0394 = {s['radius']:.3g}"}[s["verdict"]]
        headline = readout_verdict(f"\u03c1 = {s['rho']:.3f}: {accept}, {change}",
                                   VERDICT_COLOURS[s["verdict"]])
        lines = readout_lines([
            f"x_k = ({s['x'][0]:.3g}, {s['x'][1]:.3g}), \u0394 = {s['radius']:.3g}",
            f"H(x_k): eigenvalues {lam[0]:.3g}, {lam[1]:.3g} ({DEFINITENESS[s['kind']]})",
            f"{s['solver']} step: |p| = {s['step_norm']:.3g}, {ENDINGS[s['reason']]}",
        ])
        table = readout_table(None, [
            ("predicted decrease m(0) \u2212 m(p)", f"{s['predicted']:.4g}"),
            ("actual decrease f(x_k) \u2212 f(x_k + p)", f"{s['actual']:.4g}"),
            ("ratio \u03c1", f"{s['rho']:.3f}"),
        ], caption="the step")
        rows = [("Cauchy point", f"{s['cauchy_decrease']:.4g}")]
        if s["solver"] != "exact":
            rows.append((f"{s['solver']} step", f"{s['predicted']:.4g}"))
        rows.append((f"exact (\u03bb = {s['multiplier']:.3g})", f"{s['exact_decrease']:.4g}"))
        compare = readout_table(None, rows, caption="model decrease m(0) \u2212 m(p) by solver")
        notes = []
        if s["dogleg_fallback"]:
            notes.append(readout_note("H is indefinite: the dogleg is undefined and falls "
                                      "back to the Cauchy point.", warning=True))
        if s["verdict"] == "keep" and s["rho"] > 0.75:
            notes.append(readout_note("rho > 3/4 but the step is inside the ball: the "
                                      "radius did not limit it, so it is kept."))
        rule = readout_note("Rule: rho < 1/4 shrinks to |p|/4; rho > 3/4 with |p| = \u0394 "
                            f"doubles \u0394; the step is taken when rho > {ETA:g}.")
        return headline + lines + table + compare + "".join(notes) + rule

    def frame_label(self) -> str:
        s = self.state
        return f"{s['start']}, {s['solver']}, radius = {s['radius']:.3g}"

    def alt_text(self) -> str:
        s = self.state
        return (f"Left: contours of x^4 + y^4 - 4xy and of the quadratic model at "
                f"({s['x'][0]:.2g}, {s['x'][1]:.2g}), where the Hessian is "
                f"{DEFINITENESS[s['kind']]}; a "
                f"circle of radius {s['radius']:.3g} around it, the Cauchy point, the exact "
                f"minimiser and the {s['solver']} step of length {s['step_norm']:.3g} "
                f"({ENDINGS[s['reason']]}). Right: the ratio rho against the radius on a log "
                f"scale, "
                f"with the current radius marked at rho = {s['rho']:.3f}: "
                f"{'accept' if s['accepted'] else 'reject'} and {s['verdict']} the radius.")

    def caption(self) -> str:
        return ("One trust-region step on x^4 + y^4 - 4xy. Left: the trust region (black "
                "circle) around x_k, the quadratic model's contours (blue), the Cauchy point "
                "(square), the exact minimiser of the model in the ball (star) and the "
                "chosen solver's step (orange; the dotted dogleg path when H is positive "
                "definite). Right: the ratio rho of actual to predicted decrease for every "
                "radius, the current one marked. Beside them: the decreases, rho and what "
                "the radius rule does. Frames: radii from small to large near the saddle "
                "(dogleg, then Steihaug-CG), then near a minimum.")

    def static_settings(self) -> list[dict]:
        near, slope, good = list(TRUST_STARTS)
        frames = [{"start": near, "solver": "dogleg", "radius": r}
                  for r in (0.05, 0.2, 0.5, 1.0, 2.0)]
        frames += [{"start": near, "solver": "Steihaug-CG", "radius": r}
                   for r in (0.05, 0.2, 0.5, 1.0, 2.0)]
        frames += [{"start": slope, "solver": "exact", "radius": r} for r in (0.1, 0.5, 1.5)]
        frames += [{"start": good, "solver": "dogleg", "radius": r}
                   for r in (0.05, 0.3, 1.0)]
        return frames


@register(7, chapter="19_trust_regions",
          drag=lambda: [{"radius": float(r)} for r in np.geomspace(0.04, 2.5, 40)])
def trust_region_step(start: str = "near the saddle (H indefinite)", solver: str = "dogleg",
                      radius: float = 0.5) -> TrustRegionStep:
    """One trust-region step with its model, its minimisers and the ratio rho (demo 7).

    Parameters
    ----------
    start : str
        x_k, one of :data:`TRUST_STARTS` (two where the Hessian is indefinite, one where it
        is positive definite).
    solver : str
        "dogleg", "Steihaug-CG" or "exact" (see :mod:`hessian_lab.trust_region`).
    radius : float
        The trust radius Delta, 0.03 to 3 (log slider).

    Returns
    -------
    TrustRegionStep
        Controls ``start``, ``solver``, ``radius``. ``.state`` keys: ``start``, ``solver``,
        ``radius``, ``x``, ``f``, ``grad``, ``hessian``, ``eigenvalues``, ``kind``,
        ``step``, ``reason``, ``step_norm``, ``n_products``, ``predicted``, ``actual``,
        ``f_new``, ``rho``, ``accepted``, ``new_radius``, ``verdict``, ``cauchy``,
        ``cauchy_decrease``, ``exact``, ``exact_decrease``, ``multiplier``, ``newton``,
        ``newton_is_minimiser``, ``dogleg_path``, ``dogleg_fallback``, ``rho_sweep``.
    """
    if start not in TRUST_STARTS:
        raise ValueError(f"unknown start {start!r}; choose one of {list(TRUST_STARTS)}")
    if solver not in TRUST_SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; choose one of {list(TRUST_SOLVERS)}")
    return TrustRegionStep(start=start, solver=solver, radius=radius)
