"""hessian_lab.rates: the measured rate of a run and the book's number formats."""

from __future__ import annotations

import numpy as np
import pytest

import hessian_lab as hl


def test_measured_rate_recovers_a_linear_rate_and_handles_the_edges():
    assert hl.measured_rate(0.3 ** np.arange(60)) == pytest.approx(0.3, rel=1e-12)
    assert hl.measured_rate(2.0 ** np.arange(20)) == pytest.approx(2.0)  # diverging
    assert np.isnan(hl.measured_rate([1.0]))  # no step
    assert hl.measured_rate([1.0, 0.0, 0.0]) == 0.0  # solved in one step
    # a run that reaches the minimiser exactly: the rate before it, not 0 or NaN
    e = np.concatenate([0.5 ** np.arange(30), np.zeros(5)])
    assert hl.measured_rate(e) == pytest.approx(0.5)
    # overflow after the last finite error: the last ratio, so > 1
    assert hl.measured_rate([1.0, 10.0, 100.0, np.inf]) == pytest.approx(10.0)


def test_the_rate_of_gradient_descent_on_a_quadratic_is_the_theorys():
    kappa = 50.0
    q = hl.quadratic(kappa)
    run = hl.gradient_descent(q.f, q.grad, q.x0, lr=2 / (1 + kappa), tol=0.0, max_iter=400)
    rate = hl.measured_rate(np.linalg.norm(run.path, axis=1))
    assert rate == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-6)


def test_scientific_notation_for_the_prose():
    assert hl.sci_latex(1.37e-14) == r"1.4 \times 10^{-14}"
    assert hl.sci_latex(-8.0e16, digits=2) == r"-8.00 \times 10^{16}"
    assert hl.sci_latex(1.0) == r"1.0 \times 10^{0}"
    assert hl.sci_markdown(2.5e-7)._repr_markdown_() == r"$2.5 \times 10^{-7}$"
    with pytest.raises(ValueError, match="finite"):
        hl.sci_latex(float("nan"))
