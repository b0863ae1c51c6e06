"""Line searches: returned steps satisfy Armijo or strong Wolfe; NaN and inf are survivable."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import hessian_lab as hl

C1, C2 = 1e-4, 0.9


class Counter:
    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, x):
        self.calls += 1
        return self.fn(x)


def armijo_holds(f, x, p, alpha, c1=C1, f0=None, g0=None):
    return f(x + alpha * p) <= f0 + c1 * alpha * float(g0 @ p)


def strong_wolfe_holds(f, grad, x, p, alpha, c1=C1, c2=C2):
    f0, slope0 = f(x), float(grad(x) @ p)
    new = x + alpha * p
    return f(new) <= f0 + c1 * alpha * slope0 and abs(grad(new) @ p) <= c2 * abs(slope0)


def random_descent_directions(grad, rng, count, n):
    """Steepest descent and random directions with g.p < 0 at random points."""
    for _ in range(count):
        x = rng.uniform(-2.0, 2.0, n)
        g = grad(x)
        yield x, -g
        p = rng.standard_normal(n)
        yield x, (p if p @ g < 0 else -p)


PROBLEMS = {
    "rosenbrock": hl.rosenbrock(2),
    "rosenbrock-chained-10": hl.rosenbrock(10),
    "ill-conditioned-quadratic": hl.quadratic(1e4, n=6, rng=0),
    "himmelblau": hl.himmelblau(),
}


# ----------------------------------------------------------------------------- backtracking


@pytest.mark.parametrize("name", PROBLEMS)
def test_backtracking_step_satisfies_armijo(name):
    problem = PROBLEMS[name]
    rng = np.random.default_rng(0)
    for x, p in random_descent_directions(problem.grad, rng, 10, problem.n):
        f0, g0 = problem.f(x), problem.grad(x)
        res = hl.backtracking(problem.f, x, p, f0, g0)
        assert res.success
        assert armijo_holds(problem.f, x, p, res.alpha, f0=f0, g0=g0)
        # the previous (twice as long) trial failed, unless alpha0 itself was accepted
        if res.alpha < 1.0:
            assert not armijo_holds(problem.f, x, p, 2 * res.alpha, f0=f0, g0=g0)
        np.testing.assert_allclose(res.x_new, x + res.alpha * p)
        assert res.f_new == problem.f(res.x_new)


def test_backtracking_accepts_the_full_newton_step_on_a_quadratic():
    problem = hl.quadratic(100.0, n=3, rng=2)
    x = problem.x0
    p = -np.linalg.solve(problem.hess(x), problem.grad(x))
    res = hl.backtracking(problem.f, x, p, problem.f(x), problem.grad(x))
    assert res.alpha == 1.0 and res.nfev == 1
    assert np.allclose(res.x_new, 0.0)


def test_backtracking_counts_its_function_calls_including_f0():
    f = Counter(hl.rosenbrock(2).f)
    grad = hl.rosenbrock(2).grad
    x = np.array([-1.2, 1.0])
    res = hl.backtracking(f, x, -grad(x), None, grad(x))
    assert res.nfev == f.calls
    assert res.nfev > 2  # the full gradient step is far too long here


def test_backtracking_shrinks_past_infinite_and_nan_values():
    def f(x):  # defined only inside the unit ball, like a log barrier
        r2 = float(x @ x)
        return float(np.inf) if r2 >= 1 else float(r2 - np.log(1.0 - r2))

    x = np.array([0.5, 0.0])
    g0 = np.array([1.0 + 1.0 / 0.75, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = hl.backtracking(f, x, -10.0 * g0, f(x), g0)
    assert res.success and np.isfinite(res.f_new) and res.f_new < f(x)

    res = hl.backtracking(lambda z: float("nan"), x, -g0, f(x), g0, max_iter=10)
    assert not res.success and res.alpha == 0.0 and res.nfev == 10
    np.testing.assert_array_equal(res.x_new, x)


def test_backtracking_rejects_an_ascent_direction_with_a_clear_message():
    x, g0 = np.array([1.0, 1.0]), np.array([2.0, 2.0])
    with pytest.raises(ValueError, match="not a descent direction"):
        hl.backtracking(lambda z: float(z @ z), x, g0, 2.0, g0)
    with pytest.raises(ValueError, match="descent"):
        hl.backtracking(lambda z: float(z @ z), x, np.array([1.0, -1.0]), 2.0, g0)


@pytest.mark.parametrize(
    "kwargs", [{"c1": 0.0}, {"c1": 1.0}, {"rho": 1.0}, {"rho": 0.0}, {"alpha0": -1.0}]
)
def test_backtracking_rejects_bad_constants(kwargs):
    x = np.array([1.0])
    with pytest.raises(ValueError):
        hl.backtracking(lambda z: float(z @ z), x, -x, 1.0, 2 * x, **kwargs)


def test_line_searches_validate_array_arguments():
    f, grad = hl.rosenbrock(2).f, hl.rosenbrock(2).grad
    x = np.array([0.0, 0.0])
    with pytest.raises(ValueError, match="length"):
        hl.wolfe_line_search(f, grad, x, np.array([1.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="NaN or inf"):
        hl.backtracking(f, np.array([np.nan, 0.0]), -grad(x), None, grad(x))


# ----------------------------------------------------------------------------- strong Wolfe


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize("alpha0", [1.0, 1e-6, 1e3])
def test_wolfe_step_satisfies_the_strong_wolfe_conditions(name, alpha0):
    problem = PROBLEMS[name]
    rng = np.random.default_rng(1)
    for x, p in random_descent_directions(problem.grad, rng, 8, problem.n):
        res = hl.wolfe_line_search(problem.f, problem.grad, x, p, alpha0=alpha0)
        assert res.success, res.message
        assert strong_wolfe_holds(problem.f, problem.grad, x, p, res.alpha)
        np.testing.assert_array_equal(res.g_new, problem.grad(res.x_new))
        assert res.f_new == problem.f(res.x_new)


@pytest.mark.parametrize("c2", [0.9, 0.5, 0.1, 0.01])
def test_wolfe_meets_tight_curvature_constants(c2):
    problem = hl.rosenbrock(2)
    rng = np.random.default_rng(2)
    for x, p in random_descent_directions(problem.grad, rng, 6, 2):
        res = hl.wolfe_line_search(problem.f, problem.grad, x, p, c2=c2)
        assert res.success, res.message
        assert strong_wolfe_holds(problem.f, problem.grad, x, p, res.alpha, c2=c2)


def test_wolfe_step_makes_the_bfgs_curvature_condition_hold():
    problem = hl.rosenbrock(2)
    rng = np.random.default_rng(3)
    for x, p in random_descent_directions(problem.grad, rng, 10, 2):
        res = hl.wolfe_line_search(problem.f, problem.grad, x, p)
        s, y = res.x_new - x, res.g_new - problem.grad(x)
        assert y @ s > 0


def test_wolfe_accepts_the_exact_newton_step_on_a_quadratic_at_once():
    problem = hl.quadratic(1e3, n=4, rng=5)
    x = problem.x0
    p = -np.linalg.solve(problem.hess(x), problem.grad(x))
    res = hl.wolfe_line_search(problem.f, problem.grad, x, p, problem.f(x), problem.grad(x))
    assert res.alpha == 1.0 and res.nfev == 1 and res.njev == 1


def test_wolfe_on_a_quadratic_with_exact_constants_finds_the_exact_minimiser_along_p():
    # c2 tiny: |phi'(alpha)| must nearly vanish, i.e. alpha is the exact line minimiser.
    problem = hl.quadratic(50.0, n=3, rng=8)
    x = problem.x0
    g = problem.grad(x)
    A = problem.hess(x)
    exact = (g @ g) / (g @ A @ g)
    res = hl.wolfe_line_search(problem.f, problem.grad, x, -g, c1=1e-10, c2=1e-8)
    assert res.success
    assert res.alpha == pytest.approx(exact, rel=1e-6)


def test_wolfe_counts_every_evaluation_honestly():
    problem = hl.rosenbrock(2)
    f, grad = Counter(problem.f), Counter(problem.grad)
    x = problem.x0
    res = hl.wolfe_line_search(f, grad, x, -problem.grad(x), alpha0=1.0)
    assert (res.nfev, res.njev) == (f.calls, grad.calls)
    assert res.nfev >= 2  # alpha = 1 along -grad overshoots by far


def test_wolfe_shrinks_when_f_is_infinite_or_nan_beyond_a_radius():
    def f(x):
        r2 = float(x @ x)
        return float("nan") if r2 >= 4 else r2 - float(np.log(4.0 - r2))

    def grad(x):
        return 2.0 * x + 2.0 * x / (4.0 - float(x @ x))

    x = np.array([1.0, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = hl.wolfe_line_search(f, grad, x, -grad(x), alpha0=100.0)
    assert res.success
    assert strong_wolfe_holds(f, grad, x, -grad(x), res.alpha)

    def f_inf(x):
        return np.inf if x[0] < 0.5 else float((x[0] - 1.0) ** 2)

    def g_inf(x):
        return np.array([2.0 * (x[0] - 1.0)])

    res = hl.wolfe_line_search(f_inf, g_inf, np.array([3.0]), np.array([-1.0]), alpha0=10.0)
    assert res.success and 0.5 <= res.x_new[0]


def test_wolfe_gives_up_gracefully_on_a_function_unbounded_below():
    f = Counter(lambda x: -float(x[0]))
    grad = Counter(lambda x: np.array([-1.0]))
    res = hl.wolfe_line_search(f, grad, np.array([0.0]), np.array([1.0]), max_iter=20)
    assert not res.success
    assert res.alpha == 0.0 and "no bracket" in res.message
    assert res.nfev == f.calls


def test_wolfe_gives_up_gracefully_when_f_is_nan_everywhere_but_x():
    x = np.array([1.0, 1.0])

    def f(z):
        return 2.0 if np.array_equal(z, x) else float("nan")

    res = hl.wolfe_line_search(f, lambda z: 2 * z, x, -x)
    assert not res.success and res.alpha == 0.0
    np.testing.assert_array_equal(res.x_new, x)


def test_wolfe_rejects_an_ascent_direction_and_bad_constants():
    problem = hl.rosenbrock(2)
    x = problem.x0
    with pytest.raises(ValueError, match="not a descent direction"):
        hl.wolfe_line_search(problem.f, problem.grad, x, problem.grad(x))
    with pytest.raises(ValueError, match="0 < c1 < c2 < 1"):
        hl.wolfe_line_search(problem.f, problem.grad, x, -problem.grad(x), c1=0.5, c2=0.4)
    with pytest.raises(ValueError, match="not finite"):
        hl.wolfe_line_search(lambda z: np.inf, problem.grad, x, -problem.grad(x))
