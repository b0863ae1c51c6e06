"""Demo 2, a surface and its quadratic model: the second-order Taylor model at a point.

At the point a, m(a + d) = f(a) + grad f(a).d + d^T H(a) d / 2. The 3-D view shows f and
the model (a wireframe) over the same window; the second panel shows the model's error
max_{|d| = r} |f(a + d) - m(a + d)| against r on log-log axes: for a smooth f it falls
like r^3 (slope 3), zero for a quadratic, and it grows as the point moves to where the
third derivatives are large. Chapter 04 (Taylor).
"""

from __future__ import annotations

import numpy as np

from ..curvature import classify
from ..plotting import COLORS
from ..problems import himmelblau, monkey_saddle, rosenbrock, seed_bowl, seed_cubic, seed_quartic
from ._base import Demo, readout_lines
from ._registry import register

__all__ = ["surface_model", "SurfaceModel", "SURFACE_PROBLEMS"]

#: name -> (factory, window (xmin, xmax, ymin, ymax), default point)
SURFACE_PROBLEMS = {
    "x^4 + y^4 - 4xy": (seed_quartic, (-2.0, 2.0, -2.0, 2.0), (0.5, 0.5)),
    "x^3 - 3xy": (seed_cubic, (-2.0, 2.0, -2.0, 2.0), (0.0, 0.0)),
    "x^2 + xy + y^2": (seed_bowl, (-2.0, 2.0, -2.0, 2.0), (1.0, 0.5)),
    "Rosenbrock": (rosenbrock, (-2.0, 2.0, -1.0, 3.0), (-1.2, 1.0)),
    "Himmelblau": (himmelblau, (-5.0, 5.0, -5.0, 5.0), (0.0, 0.0)),
    "monkey saddle": (monkey_saddle, (-1.5, 1.5, -1.5, 1.5), (0.5, 0.3)),
}
DIRECTIONS = np.array([[np.cos(t), np.sin(t)] for t in np.linspace(0, np.pi, 12,
                                                                      endpoint=False)])
FLOOR = 1e-16


class SurfaceModel(Demo):
    """The live demo; see :func:`surface_model`."""

    title = "Surface and quadratic model"
    figsize = (11.0, 4.6)

    def __init__(self, **values):
        self._problem_drawn = None
        self._surface = None
        super().__init__(**values)

    def _make_controls(self) -> dict:
        import ipywidgets as widgets

        def coordinate(name, value):
            return widgets.FloatSlider(value=value, min=-2.0, max=2.0, step=0.05,
                                       description=name, continuous_update=True)

        return {
            "problem": widgets.Dropdown(options=list(SURFACE_PROBLEMS),
                                        value="x^4 + y^4 - 4xy", description="f"),
            "x": coordinate("point x", 0.5),
            "y": coordinate("point y", 0.5),
        }

    def _control_order(self, values: dict) -> list:
        return sorted(values, key=lambda k: k != "problem")

    def _linked(self, changed: set) -> None:
        if "problem" not in changed:
            return
        _, (x0, x1, y0, y1), point = SURFACE_PROBLEMS[self.controls["problem"].value]
        for name, lo, hi, default in (("x", x0, x1, point[0]), ("y", y0, y1, point[1])):
            slider = self.controls[name]
            slider.min, slider.max = min(lo, slider.min), max(hi, slider.max)
            slider.min, slider.max = lo, hi
            if name not in changed:
                slider.value = default

    def _build_figure(self, fig):
        ax3d = fig.add_subplot(1, 2, 1, projection="3d", computed_zorder=False)
        err_ax = fig.add_subplot(1, 2, 2)
        ax3d.view_init(elev=28, azim=-58)
        ax3d.set_xlabel("$x$")
        ax3d.set_ylabel("$y$")
        ax3d.set_zlabel("$f$")
        self._model = ax3d.plot_wireframe(np.zeros((2, 2)), np.zeros((2, 2)),
                                          np.zeros((2, 2)), color=COLORS["model"],
                                          linewidth=0.9, rcount=16, ccount=16, zorder=4)
        (self._point3d,) = ax3d.plot([0], [0], [0], "o", color=COLORS["accent"], ms=8,
                                     zorder=5)
        err_ax.set_xscale("log")
        err_ax.set_yscale("log")
        err_ax.set_xlim(1e-3, 3)
        err_ax.set_ylim(1e-14, 1e4)
        err_ax.set_xlabel(r"distance $r = \|d\|$ from the point")
        err_ax.set_ylabel(r"$\max_{\|d\|=r} |f(a+d) - m(a+d)|$")
        err_ax.set_title("the model's error")
        (self._error,) = err_ax.plot([], [], "-o", color=COLORS["model"], ms=3,
                                     label="model error")
        (self._guide,) = err_ax.plot([], [], "--", color=COLORS["neutral"],
                                     label=r"slope 3: $C r^3$")
        err_ax.legend(loc="lower right", fontsize=8, frameon=True, framealpha=0.9)
        self._axes = (ax3d, err_ax)
        fig.subplots_adjust(left=0.02, right=0.98, bottom=0.13, top=0.9, wspace=0.15)
        return fig

    def _dynamic_artists(self) -> list:
        return [self._model, self._point3d, self._error, self._guide]

    def _compute(self, *, problem, x, y) -> dict:
        factory, window, _ = SURFACE_PROBLEMS[problem]
        prob = factory()
        a = np.array([x, y], dtype=float)
        fa, g, H = float(prob.f(a)), prob.grad(a), prob.hess(a)
        radii = np.geomspace(1e-3, 0.5 * (window[1] - window[0]), 25)
        errors = []
        for r in radii:
            d = r * DIRECTIONS
            model = fa + d @ g + 0.5 * np.einsum("ij,jk,ik->i", d, H, d)
            exact = np.array([prob.f(a + di) for di in d])
            errors.append(float(np.max(np.abs(exact - model))))
        errors = np.array(errors)
        usable = errors > 1e-9 * max(1.0, abs(fa))
        slope = float("nan")
        if usable.sum() >= 3:
            lr, le = np.log(radii[usable][:6]), np.log(errors[usable][:6])
            slope = float(np.polyfit(lr, le, 1)[0])
        return {
            "problem": problem,
            "point": a,
            "f": fa,
            "grad": g,
            "hessian": H,
            "kind": classify(H).kind,
            "radii": radii,
            "errors": errors,
            "error_slope": slope,
            "max_error": float(errors.max()),
            "_prob": prob,
            "_window": window,
        }

    def _draw(self) -> None:
        s = self.state
        ax3d, err_ax = self._axes
        x0, x1, y0, y1 = s["_window"]
        prob = s["_prob"]
        gx, gy = np.meshgrid(np.linspace(x0, x1, 33), np.linspace(y0, y1, 33))
        if self._problem_drawn != s["problem"]:
            Z = np.array([prob.f(p) for p in np.column_stack([gx.ravel(), gy.ravel()])])
            Z = Z.reshape(gx.shape)
            if self._surface is not None:
                self._surface.remove()
            self._surface = ax3d.plot_surface(gx, gy, Z, cmap="cividis", alpha=0.55,
                                              linewidth=0, zorder=1)
            self._zrange = (float(Z.min()), float(Z.max()))
            ax3d.set_xlim(x0, x1)
            ax3d.set_ylim(y0, y1)
            ax3d.set_zlim(*self._zrange)
            ax3d.set_title(f"f = {s['problem']} and its quadratic model")
            self._problem_drawn = s["problem"]
            self.invalidate()
        a, g, H = s["point"], s["grad"], s["hessian"]
        dx, dy = gx - a[0], gy - a[1]
        M = s["f"] + g[0] * dx + g[1] * dy + 0.5 * (H[0, 0] * dx**2 + 2 * H[0, 1] * dx * dy
                                                    + H[1, 1] * dy**2)
        lo, hi = self._zrange
        M = np.where((M < lo) | (M > hi), np.nan, M)  # the model leaves the box: cut it
        segments = [np.column_stack([gx[i], gy[i], M[i]]) for i in range(0, 33, 2)]
        segments += [np.column_stack([gx[:, j], gy[:, j], M[:, j]]) for j in range(0, 33, 2)]
        self._model.set_segments(segments)
        self._point3d.set_data_3d([a[0]], [a[1]], [s["f"]])
        r, e = s["radii"], np.maximum(s["errors"], FLOOR)
        self._error.set_data(r, e)
        C = e[len(e) // 3] / r[len(r) // 3] ** 3
        self._guide.set_data(r, C * r**3)

    def readout_html(self) -> str:
        s = self.state
        a, slope = s["point"], s["error_slope"]
        slope_text = ("the model is exact (f is quadratic)" if not np.isfinite(slope)
                      else f"fitted slope near 0: {slope:.2f}")
        return readout_lines([f"point a = ({a[0]:.2f}, {a[1]:.2f}),  f(a) = {s['f']:.3g}",
                              f"H(a): {s['kind']}", slope_text,
                              f"largest error shown: {s['max_error']:.2g}"])

    def frame_label(self) -> str:
        s = self.state
        return f"{s['problem']} at ({s['point'][0]:.2f}, {s['point'][1]:.2f})"

    def alt_text(self) -> str:
        s = self.state
        return (f"Left: a 3-D surface of f = {s['problem']} with its second-order Taylor model, "
                f"a blue wireframe paraboloid touching it at ({s['point'][0]:.2f}, "
                f"{s['point'][1]:.2f}), where the Hessian is {s['kind']}. Right: the model's "
                f"largest error at distance r on log-log axes, rising to {s['max_error']:.2g}, "
                f"parallel to a dashed slope-3 line.")

    def caption(self) -> str:
        return ("The second-order Taylor model of a surface. Left: f (shaded) and its "
                "quadratic model at the orange point (blue wireframe, cut where it leaves the "
                "box). Right: the model's error against the distance r, falling like r^3 "
                "(dashed). Frames move the point along a line on x^4 + y^4 - 4xy, then show "
                "the other functions at their default points.")

    def static_settings(self) -> list[dict]:
        frames = [{"problem": "x^4 + y^4 - 4xy", "x": float(t), "y": float(t) * 0.6}
                  for t in np.linspace(-1.5, 1.5, 7)]
        for name in ("x^3 - 3xy", "x^2 + xy + y^2", "Rosenbrock", "Himmelblau",
                     "monkey saddle"):
            point = SURFACE_PROBLEMS[name][2]
            frames.append({"problem": name, "x": point[0], "y": point[1]})
        return frames


@register(2, chapter="04_taylor",
          drag=lambda: [{"x": float(x)} for x in np.linspace(-1.5, 1.5, 40)])
def surface_model(problem: str = "x^4 + y^4 - 4xy", point=None) -> SurfaceModel:
    """A surface and its second-order Taylor model at a point (demo 2).

    Parameters
    ----------
    problem : str
        One of :data:`SURFACE_PROBLEMS`: the seed's examples, Rosenbrock, Himmelblau, the
        monkey saddle.
    point : (float, float), optional
        The expansion point; default the problem's own.

    Returns
    -------
    SurfaceModel
        Controls ``problem``, ``x``, ``y``. ``.state`` keys: ``problem``, ``point``, ``f``,
        ``grad``, ``hessian``, ``kind``, ``radii``, ``errors``, ``error_slope`` (log-log
        slope at small r, about 3; NaN when the model is exact), ``max_error``.
    """
    if problem not in SURFACE_PROBLEMS:
        raise ValueError(f"unknown problem {problem!r}; choose one of {list(SURFACE_PROBLEMS)}")
    values: dict = {"problem": problem}
    if point is not None:
        values.update(x=float(point[0]), y=float(point[1]))
    return SurfaceModel(**values)
