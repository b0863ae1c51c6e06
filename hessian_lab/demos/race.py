"""Demo 3, the condition-number race: gradient descent, momentum and Newton on one quadratic.

f(x) = x^T A x / 2 with A = R diag(1, kappa) R^T (R a rotation by 30 degrees, so the
valley is tilted), lambda_min = 1, lambda_max = kappa, started at the same point. For a
fixed budget of iterations:

* gradient descent with step alpha (set as a multiple of 1/lambda_max) shrinks the error
  component along eigenvector i by exactly |1 - alpha lambda_i| per step, so its rate is
  rho(alpha) = max_i |1 - alpha lambda_i|; the essay's alpha = 1/lambda_max gives
  1 - 1/kappa, the best fixed step 2/(lambda_min + lambda_max) gives (kappa-1)/(kappa+1),
  and alpha > 2/lambda_max diverges;
* heavy-ball momentum at its optimal parameters alpha = 4/(sqrt(L) + sqrt(mu))^2,
  beta = ((sqrt(kappa) - 1)/(sqrt(kappa) + 1))^2 has rate (sqrt(kappa)-1)/(sqrt(kappa)+1);
* Newton's method lands on the minimiser in one step.

The measured rate is (e_K / e_{K/2})^{1/(K - K/2)}, e_k = ||x_k - x*||, over the second half
of the run (of the part above 1e-250 if the error vanishes sooner). Chapter 10.
"""

from __future__ import annotations

import numpy as np

from ..optimizers import gradient_descent, momentum, newton
from ..plotting import COLORS
from ..rates import measured_rate
from ._base import Demo, clip_path, readout_note, readout_table
from ._registry import register

__all__ = ["condition_race", "ConditionRace", "measured_rate"]

THETA = np.pi / 6
ROTATION = np.array([[np.cos(THETA), -np.sin(THETA)], [np.sin(THETA), np.cos(THETA)]])
START = ROTATION @ np.array([-1.3, 0.3])
WINDOW = 1.6
FLOOR, CEILING = 1e-16, 1e8  # the error axis
LEVELS = [0.02, 0.1, 0.3, 0.6, 1.0, 1.6]  # contour levels, as fractions of f(x0)
CIRCLE = np.linspace(0, 2 * np.pi, 181)


class ConditionRace(Demo):
    """The live race; see :func:`condition_race`."""

    title = "Condition-number race"
    figsize = (8.8, 4.3)

    def __init__(self, budget: int = 300, **values):
        self.budget = int(budget)
        super().__init__(**values)

    def _make_controls(self) -> dict:
        import ipywidgets as widgets

        return {
            "kappa": widgets.FloatLogSlider(value=100.0, base=10, min=0.0, max=4.0, step=0.05,
                                            description="\u03ba", continuous_update=True,
                                            readout_format=".3g"),
            "step": widgets.FloatSlider(value=1.0, min=0.05, max=2.2, step=0.01,
                                        description="\u03b1\u00b7\u03bb_max",
                                        continuous_update=True, readout_format=".2f"),
        }

    # ------------------------------------------------------------------ figure
    def _build_figure(self, fig):
        ax, err_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.2]})
        ax.set_xlim(-WINDOW, WINDOW)
        ax.set_ylim(-WINDOW, WINDOW)
        ax.set_aspect("equal")
        ax.set_xlabel(r"$x_1$")
        ax.set_ylabel(r"$x_2$")
        ax.set_title("paths on the contours of f")
        self._levels = [ax.plot([], [], color=COLORS["neutral"], lw=0.9)[0] for _ in LEVELS]
        (self._gd_path,) = ax.plot([], [], "-o", color=COLORS["model"], lw=1.2, ms=2.5,
                                   label="gradient descent")
        (self._mom_path,) = ax.plot([], [], "-", color=COLORS["minimum"], lw=0.9,
                                    alpha=0.8, label="momentum (optimal)")
        (self._newton_path,) = ax.plot([], [], "-s", color=COLORS["function"], lw=1.6,
                                       ms=4, label="Newton")
        ax.plot(*START, "o", color=COLORS["accent"], ms=8, zorder=6)
        ax.plot(0, 0, "*", color=COLORS["function"], ms=10, zorder=6)
        ax.legend(loc="lower right", fontsize=8, frameon=True, framealpha=0.9)
        self._diverged = ax.text(0.5, 0.9, "", transform=ax.transAxes, ha="center",
                                 fontsize=15, fontweight="bold", color=COLORS["maximum"],
                                 bbox={"fc": "white", "ec": COLORS["maximum"]}, zorder=10)
        err_ax.set_yscale("log")
        err_ax.set_xlim(0, self.budget)
        err_ax.set_ylim(FLOOR, CEILING)
        err_ax.set_xlabel("iteration k")
        err_ax.set_ylabel(r"error $\|x_k - x^*\|$")
        err_ax.set_title("error vs iteration (dashed: predicted)")
        k = np.arange(self.budget + 1)
        self._k = k
        style = {"lw": 1.0}
        self._pred_best = err_ax.plot(k, k * 0.0 + np.nan, ":", color=COLORS["neutral"],
                                      label=r"best step: $(\kappa-1)/(\kappa+1)$", **style)[0]
        self._pred_inv = err_ax.plot(k, k * 0.0 + np.nan, "-.", color=COLORS["neutral"],
                                     label=r"$1/\lambda_{\max}$: $1-1/\kappa$", **style)[0]
        self._pred_gd = err_ax.plot(k, k * 0.0 + np.nan, "--", color=COLORS["model"],
                                    label=r"chosen $\alpha$: $\max_i|1-\alpha\lambda_i|$")[0]
        self._pred_mom = err_ax.plot(k, k * 0.0 + np.nan, "--", color=COLORS["minimum"],
                                     label=r"momentum: $(\sqrt{\kappa}-1)/(\sqrt{\kappa}+1)$")[0]
        self._gd_err = err_ax.plot([], [], color=COLORS["model"], lw=2.2)[0]
        self._mom_err = err_ax.plot([], [], color=COLORS["minimum"], lw=2.2)[0]
        self._newton_err = err_ax.plot([], [], "-s", color=COLORS["function"], lw=1.5,
                                       ms=4)[0]
        err_ax.legend(loc="lower left", fontsize=7.5, frameon=True, framealpha=0.9)
        fig.subplots_adjust(left=0.08, right=0.99, bottom=0.13, top=0.9, wspace=0.3)
        return fig

    def _dynamic_artists(self) -> list:
        return [*self._levels, self._gd_path, self._mom_path, self._newton_path,
                self._pred_best, self._pred_inv, self._pred_gd, self._pred_mom,
                self._gd_err, self._mom_err, self._newton_err, self._diverged]

    # ------------------------------------------------------------------ maths
    def _compute(self, *, kappa, step) -> dict:
        kappa = float(kappa)
        lam = np.array([1.0, kappa])
        A = (ROTATION * lam) @ ROTATION.T
        A = (A + A.T) / 2

        def f(x):
            return float(x @ (A @ x) / 2)

        def grad(x):
            return A @ x

        def hess(x):
            return A

        alpha = step / kappa
        gd = gradient_descent(f, grad, START, lr=alpha, tol=0.0, max_iter=self.budget)
        sq = float(np.sqrt(kappa))
        mom_lr, mom_beta = 4.0 / (sq + 1.0) ** 2, ((sq - 1.0) / (sq + 1.0)) ** 2
        mom = momentum(f, grad, START, lr=mom_lr, beta=mom_beta, tol=0.0,
                       max_iter=self.budget)
        nwt = newton(f, grad, hess, START, globalize=False, tol=0.0, max_iter=1)
        gd_err = np.linalg.norm(gd.path, axis=1)
        mom_err = np.linalg.norm(mom.path, axis=1)
        newton_err = np.linalg.norm(nwt.path, axis=1)
        rate_gd = float(np.max(np.abs(1.0 - alpha * lam)))
        diverged = bool(rate_gd > 1.0 or not np.all(np.isfinite(gd_err))
                        or gd_err[-1] > gd_err[0])
        return {
            "kappa": kappa,
            "step": float(step),
            "alpha": float(alpha),
            "lambda_min": 1.0,
            "lambda_max": kappa,
            "budget": self.budget,
            "rate_predicted": rate_gd,
            "rate_measured": measured_rate(gd_err),
            "rate_best": (kappa - 1.0) / (kappa + 1.0),
            "rate_inverse_lambda_max": 1.0 - 1.0 / kappa,
            "rate_momentum_predicted": (sq - 1.0) / (sq + 1.0),
            "rate_momentum_measured": measured_rate(mom_err),
            "momentum_lr": mom_lr,
            "momentum_beta": mom_beta,
            "gd_iterations": gd.nit,
            "momentum_iterations": mom.nit,
            "newton_iterations": nwt.nit,
            "newton_error": float(newton_err[-1]),
            "gd_final_error": float(gd_err[-1]),
            "momentum_final_error": float(mom_err[-1]),
            "diverged": diverged,
            "gd_errors": gd_err,
            "momentum_errors": mom_err,
            "newton_errors": newton_err,
            "gd_path": gd.path,
            "momentum_path": mom.path,
            "newton_path": nwt.path,
        }

    # ------------------------------------------------------------------ drawing
    def _draw(self) -> None:
        s = self.state
        kappa = s["kappa"]
        f0 = 0.5 * (1.3**2 + kappa * 0.3**2)
        for line, fraction in zip(self._levels, LEVELS, strict=True):
            level = fraction * f0
            u = np.sqrt(2 * level) * np.cos(CIRCLE)
            v = np.sqrt(2 * level / kappa) * np.sin(CIRCLE)
            x, y = ROTATION @ np.vstack([u, v])
            line.set_data(x, y)
        bound = 10 * WINDOW
        for line, key in ((self._gd_path, "gd_path"), (self._mom_path, "momentum_path"),
                          (self._newton_path, "newton_path")):
            pts = clip_path(s[key], bound)
            line.set_data(pts[:, 0], pts[:, 1])
        k = self._k
        e0 = float(np.linalg.norm(START))
        with np.errstate(all="ignore"):
            for line, rate in ((self._pred_best, s["rate_best"]),
                               (self._pred_inv, s["rate_inverse_lambda_max"]),
                               (self._pred_gd, s["rate_predicted"]),
                               (self._pred_mom, s["rate_momentum_predicted"])):
                line.set_ydata(np.clip(e0 * rate ** k.astype(float), FLOOR / 10, CEILING * 10))
        for line, key in ((self._gd_err, "gd_errors"), (self._mom_err, "momentum_errors"),
                          (self._newton_err, "newton_errors")):
            e = np.nan_to_num(s[key], nan=CEILING * 10, posinf=CEILING * 10)
            line.set_data(np.arange(e.size), np.clip(e, FLOOR / 10, CEILING * 10))
        self._diverged.set_text("diverged" if s["diverged"] else "")

    # ------------------------------------------------------------------ text
    def readout_html(self) -> str:
        s = self.state
        setting = readout_table(None, [
            ("\u03ba = \u03bb_max/\u03bb_min", f"{s['kappa']:.4g}"),
            ("step \u03b1\u00b7\u03bb_max", f"{s['step']:.3f}"),
            ("step \u03b1", f"{s['alpha']:.3g}"),
        ])
        rates = readout_table(("rate per step", "predicted", "measured"), [
            ("GD, chosen \u03b1", f"{s['rate_predicted']:.6f}", _rate(s["rate_measured"])),
            ("GD, best step", f"{s['rate_best']:.6f}", ""),
            ("GD, \u03b1 = 1/\u03bb_max", f"{s['rate_inverse_lambda_max']:.6f}", ""),
            ("momentum (optimal)", f"{s['rate_momentum_predicted']:.6f}",
             _rate(s["rate_momentum_measured"])),
        ])
        after = readout_table(None, [
            ("Newton: steps", f"{s['newton_iterations']}"),
            ("Newton: error", f"{s['newton_error']:.1e}"),
            (f"final error, GD ({s['budget']} steps)", f"{s['gd_final_error']:.1e}"),
            ("final error, momentum", f"{s['momentum_final_error']:.1e}"),
        ])
        out = setting + rates + after
        if s["diverged"]:
            out += readout_note("Gradient descent diverges: \u03b1\u00b7\u03bb_max > 2, so "
                                "the steep component grows at every step.", warning=True)
        return out

    def frame_label(self) -> str:
        s = self.state
        label = f"kappa = {s['kappa']:.3g}, alpha = {s['step']:.2f}/lambda_max"
        return label + (" (diverged)" if s["diverged"] else "")

    def alt_text(self) -> str:
        s = self.state
        if s["diverged"]:
            gd = (f"gradient descent diverges: its error grows by {s['rate_predicted']:.3g} "
                  "per step and leaves the plot")
        else:
            gd = (f"gradient descent's error falls along a straight line on the log axis at "
                  f"rate {s['rate_measured']:.4g} per step, matching the predicted "
                  f"{s['rate_predicted']:.4g}")
        return (f"Race on a quadratic with condition number {s['kappa']:.3g} and step "
                f"{s['step']:.2f} over lambda max. Left: tilted elliptical contours with the "
                f"three paths from the same start. Right: error against iteration on a log "
                f"scale; {gd}; momentum at rate {s['rate_momentum_measured']:.4g} (predicted "
                f"{s['rate_momentum_predicted']:.4g}); Newton reaches the minimum in one step.")

    def caption(self) -> str:
        return ("The condition-number race: gradient descent (blue) with the chosen step, "
                "momentum at its optimal parameters (green) and Newton's method (black) on "
                "f = x^T A x / 2 with eigenvalues 1 and kappa. Dashed lines: the predicted "
                "error e_0 rho^k; dotted and dash-dotted: the best fixed step and "
                "1/lambda_max. The frames raise kappa from 1 to 10^4 with alpha = "
                "1/lambda_max, then vary the step at kappa = 100, up to a step that diverges.")

    def static_settings(self) -> list[dict]:
        sweep = [{"kappa": k, "step": 1.0} for k in (1.0, 10.0, 100.0, 1000.0, 10000.0)]
        steps = [{"kappa": 100.0, "step": a} for a in (0.3, 0.6, 1.5, 200 / 101, 2.05, 2.2)]
        return sweep + steps


def _rate(value: float) -> str:
    return f"{value:.6f}" if np.isfinite(value) else "overflow"


@register(3, chapter="10_condition_number",
          drag=lambda: [{"kappa": float(k)} for k in np.geomspace(1, 1e4, 40)])
def condition_race(kappa: float = 100.0, step: float = 1.0, alpha: float | None = None,
                   budget: int = 300) -> ConditionRace:
    """The condition-number race (demo 3): GD, momentum and Newton on one quadratic.

    Parameters
    ----------
    kappa : float
        Condition number, 1 to 1e4 (a log-scale slider); lambda_min = 1, lambda_max = kappa.
    step : float
        Gradient descent's step as a multiple of 1/lambda_max (slider 0.05 to 2.2; above 2
        the iteration diverges).
    alpha : float, optional
        The step itself; overrides ``step`` (``step = alpha * kappa``).
    budget : int
        Iterations for gradient descent and momentum (default 300).

    Returns
    -------
    ConditionRace
        Controls ``kappa`` and ``step``. ``.state`` keys: ``kappa``, ``step``, ``alpha``,
        ``lambda_min``, ``lambda_max``, ``budget``, ``rate_predicted`` (max_i |1 - alpha
        lambda_i|), ``rate_measured``, ``rate_best``, ``rate_inverse_lambda_max``,
        ``rate_momentum_predicted``, ``rate_momentum_measured``, ``momentum_lr``,
        ``momentum_beta``, ``gd_iterations``, ``momentum_iterations``, ``newton_iterations``,
        ``newton_error``, ``gd_final_error``, ``momentum_final_error``, ``diverged``,
        ``gd_errors``, ``momentum_errors``, ``newton_errors``, ``gd_path``,
        ``momentum_path``, ``newton_path``.
    """
    if alpha is not None:
        step = float(alpha) * float(kappa)
    if not (np.isfinite(kappa) and 1.0 <= kappa <= 1e4):
        raise ValueError(f"kappa must be between 1 and 1e4 (the slider's range), got {kappa!r}")
    if not (np.isfinite(step) and 0.05 <= step <= 2.2):
        raise ValueError(f"step = alpha * lambda_max must be in [0.05, 2.2], got {step!r}")
    return ConditionRace(budget=budget, kappa=float(kappa), step=float(step))
