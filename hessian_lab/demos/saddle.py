"""Demo 6, saddles and sharpness: escaping a saddle with noise, sharp vs flat minima, SAM.

1. f(x, y) = x^2/2 + (y^2 - 1)^2/4 has a saddle at the origin (H = diag(1, -1)) and minima
   at (0, +-1). Gradient descent started almost on the saddle's stable manifold (y0 = 1e-8)
   needs about log(1e8)/log(1 + alpha) steps to leave; with noise in the gradient, as in
   SGD, x_{k+1} = x_k - alpha (grad f(x_k) + sigma xi_k), it leaves quickly.
2. A loss with two wells, L(w) = 1 - c sum_i exp(-(w - m_i)^T A_i (w - m_i) / 2): a sharp
   minimum (large lambda_max) and a flat one. lambda_max at each minimum is read off by
   :func:`hessian_lab.power_iteration` with Hessian-vector products only, and checked
   against numpy's eigvalsh.
3. A SAM step next to a plain gradient step at a point near the sharp minimum: SAM takes
   the gradient at w + rho g/||g|| (:func:`hessian_lab.sam`). Chapter 12.
"""

from __future__ import annotations

import numpy as np

from ..optimizers import gradient_descent, newton
from ..plotting import COLORS
from ..spectra import power_iteration
from ._base import Demo, clip_path, readout_table
from ._registry import register

__all__ = ["saddle_and_sharpness", "SaddleAndSharpness"]

LR, BUDGET, SEED = 0.1, 150, 0
SADDLE_START = np.array([1.5, 1e-8])
WELL_DEPTH = 0.5
SHARP_CENTRE, FLAT_CENTRE = np.array([-1.0, 0.3]), np.array([1.2, -0.2])
FLAT_CURVATURE = np.array([1.5, 0.6])
SAM_OFFSET = np.array([0.12, 0.08])  # the SAM point, relative to the sharp minimum
SAM_LR = 0.004
ZOOM = 0.35


def saddle_f(w):
    return float(w[0] ** 2 / 2 + (w[1] ** 2 - 1) ** 2 / 4)


def saddle_grad(w):
    return np.array([w[0], w[1] ** 3 - w[1]])


def noisy_descent(sigma: float, x0=SADDLE_START, lr=LR, steps=BUDGET, seed=SEED):
    """x_{k+1} = x_k - lr (grad f(x_k) + sigma xi_k), xi_k ~ N(0, I), seeded."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((steps, 2))
    path = np.empty((steps + 1, 2))
    path[0] = x0
    for k in range(steps):
        path[k + 1] = path[k] - lr * (saddle_grad(path[k]) + sigma * noise[k])
    return path


class TwoWells:
    """L(w) = 1 - c sum_i exp(-q_i/2), q_i = (w - m_i)^T A_i (w - m_i), A_i diagonal."""

    def __init__(self, sharpness: float):
        self.centres = [SHARP_CENTRE, FLAT_CENTRE]
        self.curvatures = [np.array([sharpness, sharpness / 3]), FLAT_CURVATURE]

    def terms(self, w):
        for m, a in zip(self.centres, self.curvatures, strict=True):
            d = w - m
            yield d, a, WELL_DEPTH * np.exp(-0.5 * float(d @ (a * d)))

    def f(self, w):
        return 1.0 - sum(e for _, _, e in self.terms(w))

    def grad(self, w):
        return sum(e * a * d for d, a, e in self.terms(w))

    def hess(self, w):
        return sum(e * (np.diag(a) - np.outer(a * d, a * d)) for d, a, e in self.terms(w))

    def grid(self, X, Y):
        Z = np.ones_like(X)
        for m, a in zip(self.centres, self.curvatures, strict=True):
            dx, dy = X - m[0], Y - m[1]
            Z -= WELL_DEPTH * np.exp(-0.5 * (a[0] * dx**2 + a[1] * dy**2))
        return Z


class SaddleAndSharpness(Demo):
    """The live demo; see :func:`saddle_and_sharpness`."""

    title = "Saddle escape and sharpness"
    figsize = (12.0, 4.3)

    def _make_controls(self) -> dict:
        import ipywidgets as widgets

        return {
            "noise": widgets.FloatSlider(value=0.1, min=0.0, max=0.5, step=0.01,
                                         description="noise \u03c3", continuous_update=True),
            "sharpness": widgets.FloatLogSlider(value=50.0, base=10, min=0.7, max=2.5,
                                                step=0.05, description="sharpness",
                                                continuous_update=True, readout_format=".3g"),
            "rho": widgets.FloatSlider(value=0.1, min=0.01, max=0.4, step=0.01,
                                       description="SAM \u03c1", continuous_update=True),
        }

    def _build_figure(self, fig):
        ax1, ax2, ax3 = fig.subplots(1, 3)
        g = np.linspace(-1.6, 1.6, 121)
        X, Y = np.meshgrid(g, g)
        Z = X**2 / 2 + (Y**2 - 1) ** 2 / 4
        ax1.contour(X, Y, Z, levels=np.linspace(0.01, 1.5, 14), colors=COLORS["neutral"],
                    linewidths=0.7)
        ax1.plot([0], [0], "P", color=COLORS["saddle"], ms=10, zorder=5)
        ax1.plot([0, 0], [-1, 1], "*", color=COLORS["minimum"], ms=11, zorder=5)
        ax1.set_aspect("equal")
        ax1.set_title("escaping a saddle (150 steps)")
        ax1.set_xlabel("$x$")
        ax1.set_ylabel("$y$")
        (self._gd,) = ax1.plot([], [], "-", color=COLORS["model"], lw=2, label="GD")
        (self._noisy,) = ax1.plot([], [], "-", color=COLORS["accent"], lw=1.2,
                                  label="GD + noise (SGD-like)")
        ax1.legend(loc="lower left", fontsize=8, frameon=True, framealpha=0.9)
        ax2.set_xlim(-2.2, 2.6)
        ax2.set_ylim(-1.8, 1.8)
        ax2.set_aspect("equal")
        ax2.set_title("a sharp and a flat minimum")
        ax2.set_xlabel("$w_1$")
        ax2.set_ylabel("$w_2$")
        self._wells = []
        self._labels = [ax2.text(0, 0, "", fontsize=8.5, ha="center", va="top",
                                 bbox={"fc": "white", "ec": "none", "alpha": 0.85}, zorder=8)
                        for _ in range(2)]
        (self._minima,) = ax2.plot([], [], "*", color=COLORS["minimum"], ms=11, zorder=6)
        ax3.set_title("SAM step vs gradient step")
        ax3.set_xlim(SHARP_CENTRE[0] - ZOOM, SHARP_CENTRE[0] + ZOOM)
        ax3.set_ylim(SHARP_CENTRE[1] - ZOOM, SHARP_CENTRE[1] + ZOOM)
        ax3.set_aspect("equal")
        ax3.set_xlabel("$w_1$ (zoom on the sharp minimum)")
        self._zoom = []
        (self._perturb,) = ax3.plot([], [], ":", color=COLORS["neutral"], lw=2,
                                    label=r"perturbation $\rho g/\|g\|$")
        (self._gd_step,) = ax3.plot([], [], "-", color=COLORS["model"], lw=3,
                                    label="gradient step")
        (self._sam_step,) = ax3.plot([], [], "-", color=COLORS["maximum"], lw=3,
                                     label="SAM step")
        (self._points,) = ax3.plot([], [], "o", color=COLORS["function"], ms=5, zorder=6)
        (self._sharp_min,) = ax3.plot([], [], "*", color=COLORS["minimum"], ms=12, zorder=6)
        ax3.legend(loc="lower left", fontsize=7.5, frameon=True, framealpha=0.9)
        self._axes = (ax1, ax2, ax3)
        fig.subplots_adjust(left=0.05, right=0.99, bottom=0.13, top=0.9, wspace=0.25)
        return fig

    def _dynamic_artists(self) -> list:
        return [self._gd, self._noisy, *self._wells, *self._labels,
                self._minima, *self._zoom, self._perturb, self._gd_step, self._sam_step,
                self._points, self._sharp_min]

    # ------------------------------------------------------------------ maths
    def _compute(self, *, noise, sharpness, rho) -> dict:
        gd = gradient_descent(saddle_f, saddle_grad, SADDLE_START, lr=LR, tol=0.0,
                              max_iter=BUDGET).path
        noisy = noisy_descent(noise)
        left = np.nonzero(np.abs(noisy[:, 1]) > 0.5)[0]
        wells = TwoWells(sharpness)
        state = {
            "noise": float(noise),
            "gd_final": gd[-1],
            "noisy_final": noisy[-1],
            "gd_escaped": bool(abs(gd[-1, 1]) > 0.5),
            "noisy_escaped": bool(left.size > 0),
            "escape_iteration": int(left[0]) if left.size else None,
            "gd_path": gd,
            "noisy_path": noisy,
            "saddle_eigenvalues": np.array([-1.0, 1.0]),
            "sharpness": float(sharpness),
            "rho": float(rho),
            "_wells": wells,
        }
        for name, centre in (("sharp", SHARP_CENTRE), ("flat", FLAT_CENTRE)):
            res = newton(wells.f, wells.grad, wells.hess, centre, tol=1e-12, max_iter=50)
            H = wells.hess(res.x)
            est = power_iteration(lambda v, H=H: H @ v, 2, rng=SEED, tol=1e-10)
            state[f"{name}_minimum"] = res.x
            state[f"lambda_max_{name}"] = float(est.eigenvalue)
            state[f"lambda_max_{name}_exact"] = float(np.linalg.eigvalsh(H)[-1])
            state[f"power_matvecs_{name}"] = est.n_matvec
            state[f"loss_{name}"] = float(wells.f(res.x))
        w = state["sharp_minimum"] + SAM_OFFSET
        g = wells.grad(w)
        perturbation = rho * g / np.linalg.norm(g)
        state.update(
            sam_point=w,
            sam_perturbation=perturbation,
            gd_step=-SAM_LR * g,
            sam_step=-SAM_LR * wells.grad(w + perturbation),
        )
        state["sam_step_ratio"] = float(np.linalg.norm(state["sam_step"])
                                        / np.linalg.norm(state["gd_step"]))
        return state

    # ------------------------------------------------------------------ drawing
    def _draw(self) -> None:
        s = self.state
        for line, key in ((self._gd, "gd_path"), (self._noisy, "noisy_path")):
            pts = clip_path(s[key], 5.0)
            line.set_data(pts[:, 0], pts[:, 1])
        if getattr(self, "_drawn_sharpness", None) != s["sharpness"]:
            self._draw_wells(s["_wells"])  # contours change only with the sharpness
            self._drawn_sharpness = s["sharpness"]
        sharp, flat = s["sharp_minimum"], s["flat_minimum"]
        self._minima.set_data([sharp[0], flat[0]], [sharp[1], flat[1]])
        for label, name, where in ((self._labels[0], "sharp", sharp),
                                   (self._labels[1], "flat", flat)):
            label.set_position((where[0], where[1] - 0.25))
            label.set_text(name)
        w, e = s["sam_point"], s["sam_perturbation"]
        scale = 0.12 / max(np.linalg.norm(s["gd_step"]), np.linalg.norm(s["sam_step"]))
        gd_end, sam_end = w + scale * s["gd_step"], w + scale * s["sam_step"]
        self._perturb.set_data([w[0], w[0] + e[0]], [w[1], w[1] + e[1]])
        self._gd_step.set_data([w[0], gd_end[0]], [w[1], gd_end[1]])
        self._sam_step.set_data([w[0], sam_end[0]], [w[1], sam_end[1]])
        self._points.set_data([w[0], w[0] + e[0]], [w[1], w[1] + e[1]])
        self._sharp_min.set_data([sharp[0]], [sharp[1]])

    def _draw_wells(self, wells) -> None:
        ax2, ax3 = self._axes[1:]
        for cs in self._wells + self._zoom:
            cs.remove()
        gx, gy = np.meshgrid(np.linspace(-2.2, 2.6, 121), np.linspace(-1.8, 1.8, 91))
        self._wells = [ax2.contour(gx, gy, wells.grid(gx, gy),
                                   levels=np.linspace(0.55, 0.98, 10),
                                   colors=COLORS["model"], linewidths=0.9)]
        c = SHARP_CENTRE  # the zoom window is fixed (the minimum moves by < 1e-3)
        zx, zy = np.meshgrid(np.linspace(c[0] - ZOOM, c[0] + ZOOM, 81),
                             np.linspace(c[1] - ZOOM, c[1] + ZOOM, 81))
        Zz = wells.grid(zx, zy)
        self._zoom = [ax3.contour(zx, zy, Zz, levels=np.quantile(Zz, np.linspace(0.02, 0.9, 10)),
                                  colors=COLORS["neutral"], linewidths=0.8)]

    # ------------------------------------------------------------------ text
    def readout_html(self) -> str:
        s = self.state
        noisy = (f"left after {s['escape_iteration']} steps" if s["noisy_escaped"]
                 else "still near the saddle")
        saddle = readout_table(None, [
            ("GD from y\u2080 = 1e-8", "left the saddle" if s["gd_escaped"]
             else "stuck at the saddle"),
            (f"GD + noise (\u03c3 = {s['noise']:.2f})", noisy),
        ], caption="escaping the saddle H = diag(1, -1)")
        wells = readout_table(("minimum", "\u03bb_max", "H\u00b7v products"), [
            (name, f"{s[f'lambda_max_{name}']:.4g}", f"{s[f'power_matvecs_{name}']}")
            for name in ("sharp", "flat")], caption="sharpness by power iteration")
        sam = readout_table(None, [
            ("SAM \u03c1", f"{s['rho']:.2f}"),
            ("|SAM step| / |gradient step|", f"{s['sam_step_ratio']:.3g}"),
        ], caption="SAM at the sharp minimum")
        return saddle + wells + sam

    def frame_label(self) -> str:
        s = self.state
        return (f"noise sigma = {s['noise']:.2f}, sharpness = {s['sharpness']:.3g}, "
                f"rho = {s['rho']:.2f}")

    def alt_text(self) -> str:
        s = self.state
        escape = (f"the noisy run leaves after {s['escape_iteration']} steps"
                  if s["noisy_escaped"] else "the noisy run stays near the saddle too")
        return (f"Three panels. Left: contours around a saddle; plain gradient descent "
                f"{'escapes' if s['gd_escaped'] else 'stalls at the saddle'} while {escape} "
                f"(noise {s['noise']:.2f}). Middle: a loss with a narrow sharp well "
                f"(lambda max {s['lambda_max_sharp']:.3g} by power iteration) and a wide flat "
                f"one (lambda max {s['lambda_max_flat']:.3g}). Right: zoom on the sharp well "
                f"with a gradient step and a SAM step (rho {s['rho']:.2f}) from the same point, "
                f"drawn to a common scale; the SAM step is {s['sam_step_ratio']:.2g} times "
                f"as long.")

    def caption(self) -> str:
        return ("Saddles and sharpness. Left: gradient descent (blue) started 1e-8 off the "
                "saddle's stable manifold stalls there for the whole budget; the same "
                "iteration with Gaussian noise in the gradient (orange, seeded) leaves. "
                "Middle: lambda_max at a sharp and a flat minimum from power iteration with "
                "Hessian-vector products. Right: the SAM step (vermillion) uses the gradient at "
                "the perturbed point (dotted) and points differently from the plain gradient "
                "step (blue); both arrows share one scale. Frames vary the noise, then the "
                "sharpness, then rho.")

    def static_settings(self) -> list[dict]:
        base = {"noise": 0.1, "sharpness": 50.0, "rho": 0.1}
        frames = [{**base, "noise": n} for n in (0.0, 0.02, 0.1, 0.3)]
        frames += [{**base, "sharpness": k} for k in (10.0, 30.0, 100.0, 300.0)]
        frames += [{**base, "rho": r} for r in (0.03, 0.2, 0.4)]
        return frames


@register(6, chapter="12_loss_landscapes",
          drag=lambda: [{"noise": float(s)} for s in np.linspace(0, 0.5, 40)])
def saddle_and_sharpness(noise: float = 0.1, sharpness: float = 50.0,
                         rho: float = 0.1) -> SaddleAndSharpness:
    """Saddle escape, sharp vs flat minima and a SAM step (demo 6).

    Parameters
    ----------
    noise : float
        sigma, the standard deviation of the gradient noise (0 to 0.5; 0 is plain GD).
    sharpness : float
        The larger curvature in the sharp well's exponent (5 to 316, log slider); its
        lambda_max is about half of it (the well has depth 1/2).
    rho : float
        SAM's perturbation radius (0.01 to 0.4).

    Returns
    -------
    SaddleAndSharpness
        Controls ``noise``, ``sharpness``, ``rho``. ``.state`` keys: ``noise``,
        ``gd_final``, ``noisy_final``, ``gd_escaped``, ``noisy_escaped``,
        ``escape_iteration``, ``gd_path``, ``noisy_path``, ``saddle_eigenvalues``,
        ``sharpness``, ``rho``, ``sharp_minimum``, ``flat_minimum``, ``lambda_max_sharp``,
        ``lambda_max_sharp_exact``, ``lambda_max_flat``, ``lambda_max_flat_exact``,
        ``power_matvecs_sharp``, ``power_matvecs_flat``, ``loss_sharp``, ``loss_flat``,
        ``sam_point``, ``sam_perturbation``, ``gd_step``, ``sam_step``, ``sam_step_ratio``.
    """
    return SaddleAndSharpness(noise=noise, sharpness=sharpness, rho=rho)
