"""The book's figure vocabulary: one style, colour-blind-safe colours, shared plots.

Imports matplotlib, so it is kept out of the numerical core: ``import hessian_lab``
does not import this module; chapters and demos do ``from hessian_lab import plotting``.

Every figure the book draws uses :func:`use_book_style`: an opaque white
background (so figures stay legible on the site's dark theme), the Okabe-Ito
palette (distinguishable with the common colour-vision deficiencies) and
labelled axes.
"""

from __future__ import annotations

import numpy as np

try:
    import matplotlib as mpl
except ImportError as exc:  # the core installs without the demo stack
    raise ImportError(
        "hessian_lab.plotting and hessian_lab.demos need matplotlib, ipywidgets and ipympl: "
        "install the extra with  pip install 'hessian_lab[demos]'"
    ) from exc

__all__ = ["COLORS", "use_book_style", "function_with_models", "quadratic_grid", "level_curves",
           "iterate_path", "principal_axes"]

#: Okabe & Ito's colour-blind-safe palette, named by role in the book.
COLORS = {
    "function": "#000000",  # black: the function itself
    "model": "#0072B2",  # blue: a quadratic (Taylor) model
    "minimum": "#009E73",  # bluish green: minima, convergent paths
    "maximum": "#D55E00",  # vermillion: maxima, divergent paths
    "saddle": "#CC79A7",  # reddish purple: saddles
    "accent": "#E69F00",  # orange: highlights, the current iterate
    "secondary": "#56B4E9",  # sky blue: a second method or model
    "neutral": "#999999",  # grey: guides, axes, reference lines
}

_CYCLE = [COLORS[k] for k in ("model", "maximum", "minimum", "accent", "saddle", "secondary")]


def use_book_style() -> None:
    """Set matplotlib's rcParams to the book's style (idempotent).

    Examples
    --------
    >>> use_book_style()
    >>> import matplotlib as mpl
    >>> mpl.rcParams["figure.facecolor"]
    'white'
    """
    mpl.rcParams.update(
        {
            "figure.facecolor": "white",  # opaque: legible in dark mode
            "axes.facecolor": "white",
            "savefig.facecolor": "white",
            "savefig.transparent": False,
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "figure.figsize": (6.4, 4.0),
            "font.size": 11,
            "axes.titlesize": 12,
            "axes.labelsize": 11,
            "axes.grid": True,
            "grid.color": "#dddddd",
            "grid.linewidth": 0.6,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": mpl.cycler(color=_CYCLE),
            "lines.linewidth": 2.0,
            "legend.frameon": False,
            "image.cmap": "cividis",
        }
    )


def function_with_models(ax, f, x, models, *, labels=None, colors=None, ylim=None):
    """Plot a 1-D function and quadratic models of it on one axis.

    Parameters
    ----------
    ax : matplotlib Axes
    f : callable
        Vectorised function of one variable.
    x : ndarray
        Grid of abscissae.
    models : list of (c, callable)
        Expansion point and vectorised model for each model drawn.
    labels : list of str, optional
        Legend label per model.
    colors : list of str, optional
        Colour per model (e.g. ``COLORS["minimum"]`` at a minimum); a default cycle otherwise.
    ylim : tuple, optional
        y-limits; models are clipped to them.
    """
    ax.plot(x, f(x), color=COLORS["function"], label="$f(x)$")
    palette = [COLORS["minimum"], COLORS["maximum"], COLORS["saddle"], COLORS["model"]]
    for i, (c, m) in enumerate(models):
        colour = colors[i] if colors else palette[i % len(palette)]
        label = labels[i] if labels else None
        ax.plot(x, m(x), "--", color=colour, label=label)
        ax.plot([c], [f(np.array([c]))[0]], "o", color=colour, markersize=7)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel("$x$")
    ax.set_ylabel("$f(x)$")
    ax.legend(loc="best")
    return ax


def quadratic_grid(H, g=None, extent=2.0, num=201):
    """Grid and values of the quadratic model q(d) = g.d + d^T H d / 2 around 0.

    Returns ``(X, Y, Z)`` ready for ``contour``; ``H`` is 2 x 2.

    Examples
    --------
    >>> X, Y, Z = quadratic_grid([[2, 0], [0, 1]], num=3, extent=1.0)
    >>> float(Z[0, 0])  # d = (-1, -1): (2 + 1) / 2
    1.5
    """
    H = np.asarray(H, dtype=float)
    g = np.zeros(2) if g is None else np.asarray(g, dtype=float)
    s = np.linspace(-extent, extent, num)
    X, Y = np.meshgrid(s, s)
    Z = g[0] * X + g[1] * Y + 0.5 * (H[0, 0] * X**2 + 2 * H[0, 1] * X * Y + H[1, 1] * Y**2)
    return X, Y, Z


def level_curves(X, Y, Z, levels) -> list:
    """The level curves of ``Z`` on the grid ``(X, Y)`` as a list of ``(k, 2)`` point arrays.

    What ``ax.contour`` draws, without building a ContourSet (a colormap, a norm and one
    artist per call): give the list to a :class:`~matplotlib.collections.LineCollection`
    and move it with ``set_segments``, as the demos do on every slider change.

    Examples
    --------
    >>> X, Y, Z = quadratic_grid([[2, 0], [0, 2]], num=41)  # q = |d|^2
    >>> (curve,) = level_curves(X, Y, Z, [1.0])               # the unit circle
    >>> bool(np.allclose(np.hypot(curve[:, 0], curve[:, 1]), 1.0, atol=2e-3))
    True
    """
    import contourpy

    generator = contourpy.contour_generator(
        np.asarray(X, dtype=float), np.asarray(Y, dtype=float), np.asarray(Z, dtype=float),
        line_type=contourpy.LineType.Separate)
    return [line for level in np.atleast_1d(levels) for line in generator.lines(float(level))
            if len(line) >= 2]


def iterate_path(ax, path, *, color=None, label=None, markersize=3.0, linewidth=1.2,
                 **kwargs):
    """Draw an optimizer's iterates x_0, x_1, ... as dots joined by lines (2-D paths).

    ``path`` is an ``(k + 1, 2)`` array, e.g. ``result.path``; non-finite rows (a
    diverged run) are left out. Returns the Line2D.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().subplots()
    >>> line = iterate_path(ax, [[1.0, 1.0], [0.5, 0.2], [0.0, 0.0]], label="GD")
    >>> line.get_xydata().shape, line.get_label()
    ((3, 2), 'GD')
    """
    pts = np.asarray(path, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"iterate_path draws 2-D paths of shape (k + 1, 2), got {pts.shape}")
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    (line,) = ax.plot(pts[:, 0], pts[:, 1], "o-", color=color or COLORS["maximum"],
                      markersize=markersize, linewidth=linewidth, label=label, **kwargs)
    return line


def principal_axes(ax, H, *, centre=(0.0, 0.0), length=1.6, colors=None, label_at=1.85,
                   fontsize=9):
    """Arrows along the eigenvectors of a symmetric 2 x 2 ``H``, labelled with the eigenvalues.

    The arrow ``i`` points from ``centre`` to ``centre + length * v_i`` and carries the
    label "v_i, lambda_i = ..." at ``label_at * v_i`` (eigenvalues in ascending order, as
    ``numpy.linalg.eigh`` gives them; one that is zero up to rounding is shown as 0).
    Returns ``(eigenvalues, eigenvectors)``.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().subplots()
    >>> lam, V = principal_axes(ax, [[2.0, 1.0], [1.0, 2.0]])
    >>> lam.tolist(), len(ax.texts)  # two arrows (annotations) and two labels
    ([1.0, 3.0], 4)
    """
    H = np.asarray(H, dtype=float)
    if H.shape != (2, 2) or not np.allclose(H, H.T):
        raise ValueError(f"principal_axes needs a symmetric 2 x 2 matrix, got {H.tolist()}")
    lam, V = np.linalg.eigh(H)
    shown = np.where(np.abs(lam) <= 1e-12 * max(1.0, np.abs(lam).max()), 0.0, lam)
    centre = np.asarray(centre, dtype=float)
    colors = colors or (COLORS["accent"], COLORS["saddle"])
    for i, colour in enumerate(colors[:2]):
        ax.annotate("", xy=centre + length * V[:, i], xytext=centre,
                    arrowprops={"arrowstyle": "->", "color": colour, "lw": 2.2})
        ax.text(*(centre + label_at * V[:, i]), rf"$v_{i + 1}$, $\lambda_{i + 1}={shown[i]:.3g}$",
                color=colour, ha="center", va="center", fontsize=fontsize,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    return lam, V
