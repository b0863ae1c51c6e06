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

__all__ = ["COLORS", "use_book_style", "function_with_models", "quadratic_grid", "level_curves"]

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
