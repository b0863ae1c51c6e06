"""Demo 1, the Hessian explorer: a 2 x 2 symmetric H, its quadratic model and its verdict.

Sliders set the entries of H = [[a, b], [b, d]] (and, when switched on, a gradient g);
the figure shows the contours of the quadratic model q(p) = g.p + p^T H p / 2, the
eigenvectors drawn as principal axes of the level set q = q(centre) + 1/2 (half-length
1/sqrt|lambda| along each eigenvector), the eigenvalues, det H = lambda_1 lambda_2,
tr H = lambda_1 + lambda_2 and the classification from :func:`hessian_lab.classify`.
Chapters 05-07 (definiteness, the 2-D test, the general case).
"""

from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection

from ..curvature import classify
from ..plotting import COLORS, level_curves
from ._base import Demo, readout_lines, readout_note, readout_verdict
from ._registry import register

__all__ = ["hessian_explorer", "HessianExplorer", "PRESETS"]

CUSTOM = "custom"

#: Presets from the seed essay's examples: name -> (a, b, d), H = [[a, b], [b, d]].
PRESETS = {
    "x^2 + xy + y^2: a bowl": (2.0, 1.0, 2.0),
    "[[1, 2], [2, 1]]: the diagonal misleads": (1.0, 2.0, 1.0),
    "x^3 - 3xy at (0, 0)": (0.0, -3.0, 0.0),
    "x^4 + y^4 - 4xy at (0, 0)": (0.0, -4.0, 0.0),
    "x^4 + y^4 - 4xy at (1, 1)": (12.0, -4.0, 12.0),
    "[[1, 1], [1, 1]]: det = 0": (1.0, 1.0, 1.0),
    "monkey saddle at (0, 0): H = 0": (0.0, 0.0, 0.0),
    "a maximum: [[-2, 1], [1, -3]]": (-2.0, 1.0, -3.0),
}

EXTENT = 2.0  # the plot shows p in [-2, 2]^2
GRID = np.linspace(-EXTENT, EXTENT, 121)
PX, PY = np.meshgrid(GRID, GRID)
KIND_COLOURS = {
    "minimum": COLORS["minimum"],
    "maximum": COLORS["maximum"],
    "saddle": COLORS["saddle"],
    "inconclusive": COLORS["function"],
}


def _sign_colour(value: float, tol: float) -> str:
    if value > tol:
        return COLORS["minimum"]
    if value < -tol:
        return COLORS["maximum"]
    return COLORS["neutral"]


class HessianExplorer(Demo):
    """The live explorer; see :func:`hessian_explorer`."""

    title = "Hessian explorer"
    figsize = (5.0, 4.6)

    def _make_controls(self) -> dict:
        import ipywidgets as widgets

        def entry(name, value):
            return widgets.FloatSlider(value=value, min=-12.0, max=12.0, step=0.1,
                                       description=name, continuous_update=True,
                                       readout_format=".1f")

        def grad(name):
            return widgets.FloatSlider(value=0.0, min=-3.0, max=3.0, step=0.1,
                                       description=name, continuous_update=True,
                                       disabled=True, readout_format=".1f")

        return {
            "preset": widgets.Dropdown(options=[CUSTOM, *PRESETS],
                                       value="x^2 + xy + y^2: a bowl", description="preset"),
            "a": entry("a = f_xx", 2.0),
            "b": entry("b = f_xy", 1.0),
            "d": entry("d = f_yy", 2.0),
            "show_gradient": widgets.Checkbox(value=False, description="gradient g"),
            "g1": grad("g_1"),
            "g2": grad("g_2"),
        }

    def _control_order(self, values: dict) -> list:
        return sorted(values, key=lambda k: (k != "preset", k))

    def _linked(self, changed: set) -> None:
        c = self.controls
        entries = changed & {"a", "b", "d"}
        if "preset" in changed and c["preset"].value != CUSTOM and not entries:
            for name, value in zip("abd", PRESETS[c["preset"].value], strict=True):
                c[name].value = value
        elif entries and c["preset"].value != CUSTOM:
            if PRESETS[c["preset"].value] != (c["a"].value, c["b"].value, c["d"].value):
                c["preset"].value = CUSTOM
        for name in ("g1", "g2"):
            c[name].disabled = not c["show_gradient"].value

    # ------------------------------------------------------------------ figure
    def _build_figure(self, fig):
        ax = fig.subplots()
        ax.set_xlim(-EXTENT, EXTENT)
        ax.set_ylim(-EXTENT, EXTENT)
        ax.set_aspect("equal")
        ax.set_xlabel(r"$p_1$")
        ax.set_ylabel(r"$p_2$")
        ax.set_title(r"$q(p) = g^T p + \frac{1}{2} p^T H p$")
        self._axes = [
            ax.plot([], [], lw=3, solid_capstyle="round")[0] for _ in range(2)
        ]
        self._axis_labels = [ax.text(0, 0, "", fontsize=10, ha="center", va="center",
                                     bbox={"fc": "white", "ec": "none", "alpha": 0.8})
                             for _ in range(2)]
        (self._centre,) = ax.plot([], [], "o", color=COLORS["accent"], ms=8, zorder=5)
        # the model's level curves, moved with set_segments (no ContourSet per change)
        self._levels = LineCollection([], colors=COLORS["model"], linewidths=1.1)
        self._through = LineCollection([], colors=COLORS["function"], linewidths=1.6)
        ax.add_collection(self._levels)
        ax.add_collection(self._through)
        self._empty = ax.text(0, 0, "", ha="center", va="center")
        self._ax = ax
        fig.subplots_adjust(left=0.13, right=0.97, bottom=0.12, top=0.9)
        return fig

    def _dynamic_artists(self) -> list:
        return [self._levels, self._through, *self._axes, *self._axis_labels, self._centre,
                self._empty]

    # ------------------------------------------------------------------ maths
    def _compute(self, *, preset, a, b, d, show_gradient, g1, g2) -> dict:
        H = np.array([[a, b], [b, d]], dtype=float)
        g = np.array([g1, g2], dtype=float) if show_gradient else np.zeros(2)
        verdict = classify(H)
        lam, vec = verdict.eigenvalues, verdict.eigenvectors
        det, trace = a * d - b * b, a + d
        if verdict.kind != "inconclusive":
            centre = np.linalg.solve(H, -g)
        else:  # singular H: the minimum-norm stationary point, if g is in H's range
            centre = np.linalg.lstsq(H, -g, rcond=None)[0]
            if np.linalg.norm(H @ centre + g) > 1e-9 * (1 + np.linalg.norm(g)):
                centre = None
        diag_says = "minimum" if a > 0 and d > 0 else "maximum" if a < 0 and d < 0 else None
        return {
            "H": H,
            "g": g,
            "eigenvalues": lam,
            "eigenvectors": vec,
            "det": float(det),
            "trace": float(trace),
            "kind": verdict.kind,
            "tol": verdict.tol,
            "condition_number": verdict.condition_number,
            "diagonal_misleads": diag_says is not None and diag_says != verdict.kind,
            "diagonal_suggests": diag_says,
            "stationary_point": centre,
            "critical": not np.any(g),
        }

    # ------------------------------------------------------------------ drawing
    def _draw(self) -> None:
        s = self.state
        H, g = s["H"], s["g"]
        Z = g[0] * PX + g[1] * PY + 0.5 * (H[0, 0] * PX**2 + 2 * H[0, 1] * PX * PY
                                           + H[1, 1] * PY**2)
        spread = float(np.ptp(Z))
        self._empty.set_text("")
        levels = through = []
        if spread > 1e-12:
            values = np.unique(np.quantile(Z, np.linspace(0.03, 0.97, 15)))
            if values.size >= 2:
                levels = level_curves(PX, PY, Z, values)
        else:
            self._empty.set_text("q = 0 everywhere:\nthe quadratic model is flat")
        centre = s["stationary_point"]
        if centre is not None and np.all(np.abs(centre) <= EXTENT):
            if spread > 1e-12:
                through = level_curves(PX, PY, Z, [0.5 * float(g @ centre) + 0.5])
            self._centre.set_data([centre[0]], [centre[1]])
        else:
            self._centre.set_data([], [])
        self._levels.set_segments(levels)
        self._through.set_segments(through)
        origin = np.zeros(2) if centre is None else centre
        for i, (line, label) in enumerate(zip(self._axes, self._axis_labels, strict=True)):
            lam, v = s["eigenvalues"][i], s["eigenvectors"][:, i]
            half = EXTENT * 1.5 if abs(lam) <= s["tol"] else min(1 / np.sqrt(abs(lam)),
                                                                 EXTENT * 1.5)
            ends = np.array([origin - half * v, origin + half * v])
            line.set_data(ends[:, 0], ends[:, 1])
            line.set_color(_sign_colour(lam, s["tol"]))
            tip = np.clip(origin + (half + 0.25) * v, -EXTENT + 0.3, EXTENT - 0.3)
            label.set_position(tip)
            label.set_text(rf"$\lambda_{i + 1}$")
            label.set_color(_sign_colour(lam, s["tol"]))

    # ------------------------------------------------------------------ text
    def readout_html(self) -> str:
        s = self.state
        lam1, lam2 = s["eigenvalues"]
        (a, b), (_, d) = s["H"]
        centre = s["stationary_point"]
        where = "at a critical point" if s["critical"] else "of the model"
        lines = [
            f"H = [[{a:.3g}, {b:.3g}], [{b:.3g}, {d:.3g}]]",
            f"\u03bb\u2081 = {lam1:.4g},  \u03bb\u2082 = {lam2:.4g}",
            f"det H = \u03bb\u2081\u03bb\u2082 = {s['det']:.4g}",
            f"tr H = \u03bb\u2081 + \u03bb\u2082 = {s['trace']:.4g}",
            "\u03ba = |\u03bb|max / |\u03bb|min = " + _kappa_text(s["condition_number"]),
        ]
        if not s["critical"]:
            if centre is None:
                lines.append("g not in the range of H: no stationary point")
            else:
                lines.append(f"stationary point of q: ({centre[0]:.3g}, {centre[1]:.3g})")
        out = readout_verdict(f"{s['kind']} ({where})", KIND_COLOURS[s["kind"]])
        out += readout_lines(lines)
        if s["diagonal_misleads"]:
            out += readout_note(
                f"The diagonal ({a:.2g}, {d:.2g}) looks like a {s['diagonal_suggests']}, but "
                f"the eigenvalues say {s['kind']}: the off-diagonal b = {b:.2g} matters. "
                "The diagonal alone misleads.", warning=True)
        elif s["kind"] == "inconclusive":
            out += readout_note("det H = 0: the second-order test cannot decide; "
                                "higher-order terms do.", warning=True)
        return out

    def frame_label(self) -> str:
        v = self.values()
        label = f"a = {v['a']:.2g}, b = {v['b']:.2g}, d = {v['d']:.2g}"
        if v["show_gradient"]:
            label += f", g = ({v['g1']:.2g}, {v['g2']:.2g})"
        return label + f": {self.state['kind']}"

    def alt_text(self) -> str:
        s = self.state
        lam1, lam2 = s["eigenvalues"]
        shape = {
            "minimum": "nested ellipses around a minimum",
            "maximum": "nested ellipses around a maximum",
            "saddle": "hyperbolas crossing at a saddle",
            "inconclusive": "parallel lines (a flat direction)",
        }[s["kind"]]
        text = (f"Contour plot of the quadratic model for H with entries "
                f"{self.frame_label().split(':')[0]}: {shape}, with the two eigenvector axes "
                f"drawn. Eigenvalues {lam1:.3g} and {lam2:.3g}, determinant {s['det']:.3g}, "
                f"trace {s['trace']:.3g}: classified {s['kind']}.")
        if s["diagonal_misleads"]:
            text += " The positive-looking diagonal is misleading."
        return text

    def caption(self) -> str:
        return ("The Hessian explorer. Left: contours of the quadratic model (blue), the level "
                "set q = 1/2 above its centre (black), and the eigenvectors as principal axes "
                "of half-length 1/sqrt|lambda| (green: positive curvature, vermillion: "
                "negative, grey: zero). Beside it: eigenvalues, det, trace and the verdict. The "
                "frames sweep b from 0 to 2 with a = d = 1 (a minimum until b = 1, where "
                "det = 0, then a saddle with a positive diagonal), then the seed's examples.")

    def static_settings(self) -> list[dict]:
        sweep = [{"preset": CUSTOM, "a": 1.0, "b": float(b), "d": 1.0,
                  "show_gradient": False} for b in np.linspace(0.0, 2.0, 9)]
        examples = [{"preset": name, "show_gradient": False} for name in (
            "x^2 + xy + y^2: a bowl", "x^3 - 3xy at (0, 0)", "x^4 + y^4 - 4xy at (1, 1)",
            "a maximum: [[-2, 1], [1, -3]]", "monkey saddle at (0, 0): H = 0")]
        tilted = [{"preset": "x^2 + xy + y^2: a bowl", "show_gradient": True,
                   "g1": 1.0, "g2": -0.5}]
        return sweep + examples + tilted


def _kappa_text(kappa: float) -> str:
    return "\u221e" if not np.isfinite(kappa) else f"{kappa:.4g}"


@register(1, chapter="13_geometry_2d",
          drag=lambda: [{"b": float(b)} for b in np.linspace(-3, 3, 40)])
def hessian_explorer(H=None, g=None, preset: str | None = None) -> HessianExplorer:
    """The Hessian explorer (demo 1): sliders for H = [[a, b], [b, d]] and a gradient.

    Parameters
    ----------
    H : array_like, optional
        A symmetric 2 x 2 start matrix (entries are clipped to the sliders' [-12, 12]).
    g : array_like, optional
        A start gradient; switches the gradient sliders on.
    preset : str, optional
        One of :data:`PRESETS` (the seed's examples); default the bowl x^2 + xy + y^2.

    Returns
    -------
    HessianExplorer
        ``.state`` keys: ``H``, ``g``, ``eigenvalues`` (ascending), ``eigenvectors``,
        ``det``, ``trace``, ``kind`` ("minimum", "maximum", "saddle", "inconclusive"),
        ``tol``, ``condition_number``, ``diagonal_misleads``, ``diagonal_suggests``,
        ``stationary_point`` (None when H is singular and g is not in its range),
        ``critical`` (g = 0). Controls: ``preset``, ``a``, ``b``, ``d``,
        ``show_gradient``, ``g1``, ``g2``.
    """
    values: dict = {}
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {list(PRESETS)}")
        values["preset"] = preset
    if H is not None:
        H = np.asarray(H, dtype=float)
        if H.shape != (2, 2) or not np.allclose(H, H.T):
            raise ValueError(f"H must be a symmetric 2 x 2 matrix, got {H.tolist()}")
        values.update(preset=CUSTOM, a=float(H[0, 0]), b=float(H[0, 1]), d=float(H[1, 1]))
    if g is not None:
        g = np.asarray(g, dtype=float).reshape(2)
        values.update(show_gradient=True, g1=float(g[0]), g2=float(g[1]))
    return HessianExplorer(**values)
