"""Rates and numbers as the book reports them: the measured contraction of a run, and
numbers written in scientific notation for the prose.

Chapter 10 (the condition number) and the condition-number race demo measure the rate
of a run with :func:`measured_rate`; the chapters glue numbers into their text with
:func:`sci_latex` and :func:`sci_markdown`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["measured_rate", "sci_latex", "sci_markdown"]

#: errors at or below this count as "reached the minimiser" in :func:`measured_rate`
TINY = 1e-250


def measured_rate(errors) -> float:
    """Average contraction factor per step over the second half of a run.

    ``(e_K / e_h)^(1 / (K - h))`` with h = K // 2, where K is the last index whose error
    is finite and above 1e-250; 0.0 if the error is exactly 0 after the first step, NaN for
    a run with no step. For a linear rate r (e_k = r^k e_0) it returns r, the quantity
    chapter 10 compares with (kappa - 1) / (kappa + 1).

    Parameters
    ----------
    errors : array_like
        e_0, e_1, ...: the error of each iterate (e.g. its distance to the minimiser).

    Examples
    --------
    >>> round(measured_rate(0.5 ** np.arange(40)), 12)
    0.5
    >>> measured_rate([1.0, 0.0, 0.0])  # solved in one step
    0.0
    """
    e = np.asarray(errors, dtype=float)
    usable = np.nonzero(np.isfinite(e) & (e > TINY))[0]
    if e.size < 2:
        return float("nan")
    if usable.size == 0 or usable[-1] == 0:
        return 0.0 if np.isfinite(e[1]) else float("inf")
    K = int(usable[-1])
    if K < e.size - 1 and not np.isfinite(e[K + 1]):  # overflowed after K: diverging
        return float(e[K] / e[K - 1]) if K >= 1 else float("inf")
    h = K // 2
    return float((e[K] / e[h]) ** (1.0 / (K - h)))


def sci_latex(value: float, digits: int = 1) -> str:
    r"""``value`` in LaTeX scientific notation, ``digits`` after the point.

    Examples
    --------
    >>> sci_latex(1.37e-14)
    '1.4 \\times 10^{-14}'
    >>> sci_latex(8.0e16, digits=2)
    '8.00 \\times 10^{16}'
    """
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"sci_latex needs a finite number, got {value}")
    mantissa, exponent = f"{value:.{digits}e}".split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


class _InlineMath:
    """Inline math that IPython displays as Markdown (``text/markdown``), so ``glue:md``
    renders it; needs no IPython import here."""

    def __init__(self, latex: str):
        self.latex = latex

    def _repr_markdown_(self) -> str:
        return f"${self.latex}$"

    def __repr__(self) -> str:
        return f"${self.latex}$"


def sci_markdown(value: float, digits: int = 1) -> _InlineMath:
    r""":func:`sci_latex` as inline math for ``glue:md`` (displayed as Markdown).

    Examples
    --------
    >>> sci_markdown(2.5e-7)._repr_markdown_()
    '$2.5 \\times 10^{-7}$'
    """
    return _InlineMath(sci_latex(value, digits))
