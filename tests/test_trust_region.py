"""Trust regions: the subproblem solvers against their defining properties, the method
against scipy's trust-region methods."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from hessian_lab import (
    cauchy_point,
    dogleg_step,
    exact_step,
    reduction_ratio,
    rosenbrock,
    seed_quartic,
    steihaug_step,
    trust_region,
    update_radius,
)


def model(g, B, p):
    return float(g @ p) + 0.5 * float(p @ B @ p)


def random_symmetric(n, seed, definite=True):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = rng.uniform(0.5, 20.0, n)
    if not definite:
        lam[: n // 3] *= -0.25  # a third of the eigenvalues negative
    return (Q * lam) @ Q.T, rng.standard_normal(n)


@pytest.mark.parametrize("radius", [0.01, 0.3, 10.0])
@pytest.mark.parametrize("definite", [True, False])
def test_every_solver_decreases_the_model_at_least_as_much_as_the_cauchy_point(radius,
                                                                               definite):
    """m(0) - m(p) >= (1/2) ||g|| min(radius, ||g|| / ||B||), the decrease that makes
    trust-region methods converge; the Cauchy point achieves it, and the others beat it."""
    B, g = random_symmetric(8, seed=int(radius * 100) + definite, definite=definite)
    bound = 0.5 * np.linalg.norm(g) * min(radius, np.linalg.norm(g) / np.linalg.norm(B, 2))
    pc = cauchy_point(g, B @ g, radius)
    steps = [steihaug_step(g, lambda v: B @ v, radius)]
    if definite:
        steps.append(dogleg_step(g, B, radius))
    assert -model(g, B, pc) >= bound * (1 - 1e-12)
    for step in steps:
        assert np.linalg.norm(step.p) <= radius * (1 + 1e-12)
        assert -model(g, B, step.p) >= -model(g, B, pc) * (1 - 1e-12)
        assert step.model == pytest.approx(model(g, B, step.p), rel=1e-9, abs=1e-12)


def test_the_cauchy_point_minimises_the_model_along_minus_g():
    B, g = random_symmetric(5, seed=1)
    pc = cauchy_point(g, B @ g, radius=100.0)
    ts = np.linspace(0, 2, 2001)
    best = ts[np.argmin([model(g, B, t * pc) for t in ts])]
    assert best == pytest.approx(1.0, abs=1e-3)


def test_dogleg_is_the_newton_step_inside_and_on_the_sphere_outside():
    B, g = random_symmetric(6, seed=2)
    newton = -np.linalg.solve(B, g)
    inside = dogleg_step(g, B, radius=2 * np.linalg.norm(newton))
    assert inside.reason == "interior" and np.allclose(inside.p, newton)
    short = dogleg_step(g, B, radius=0.5 * np.linalg.norm(newton))
    assert short.reason == "boundary"
    assert np.linalg.norm(short.p) == pytest.approx(0.5 * np.linalg.norm(newton))


def test_dogleg_falls_back_to_the_cauchy_point_when_B_is_indefinite():
    B, g = random_symmetric(6, seed=3, definite=False)
    step = dogleg_step(g, B, radius=1.0)
    assert step.reason == "negative curvature"
    assert np.allclose(step.p, cauchy_point(g, B @ g, 1.0))


def test_steihaug_with_a_large_radius_is_conjugate_gradients():
    B, g = random_symmetric(10, seed=4)
    step = steihaug_step(g, lambda v: B @ v, radius=1e6, rtol=1e-12)
    assert step.reason == "interior"
    assert np.allclose(step.p, -np.linalg.solve(B, g), rtol=1e-8, atol=1e-10)


def test_steihaug_follows_negative_curvature_to_the_boundary():
    B = np.diag([1.0, -2.0, 3.0])
    g = np.array([1.0, 1.0, 0.1])  # -g already has negative curvature: -g.B.(-g) < 0
    step = steihaug_step(g, lambda v: B @ v, radius=0.7)
    assert step.reason == "negative curvature"
    assert step.hits_boundary and np.linalg.norm(step.p) == pytest.approx(0.7)
    assert step.model == pytest.approx(model(g, B, step.p))
    assert step.model <= model(g, B, cauchy_point(g, B @ g, 0.7)) + 1e-15


def test_trust_region_solves_rosenbrock_with_either_solver():
    prob = rosenbrock()
    for kwargs in ({"hess": prob.hess, "method": "dogleg"}, {"hess": prob.hess},
                   {"hessp": prob.hessp}):
        res = trust_region(prob.f, prob.grad, [-1.2, 1.0], tol=1e-9, **kwargs)
        assert res.success and np.allclose(res.x, [1.0, 1.0], atol=1e-8), kwargs
        ex = res.extras
        assert len(ex["radii"]) == len(ex["rho"]) == len(ex["accepted"]) == res.nit
        assert sum(ex["accepted"]) == res.path.shape[0] - 1
        assert all(r <= 1000.0 for r in ex["radii"])


def test_rejected_steps_shrink_the_radius_and_good_ones_expand_it():
    prob = rosenbrock()
    res = trust_region(prob.f, prob.grad, [-1.2, 1.0], hess=prob.hess, radius=5.0)
    ex = res.extras
    rejected = [k for k, ok in enumerate(ex["accepted"]) if not ok]
    assert rejected, "from this start the first large steps should be rejected"
    for k in rejected:
        assert ex["rho"][k] <= 0.15 and ex["radii"][k + 1] < ex["radii"][k]
    grown = [k for k in range(res.nit - 1) if ex["rho"][k] > 0.75
             and ex["reasons"][k] != "interior"]
    for k in grown:
        assert ex["radii"][k + 1] == pytest.approx(min(2 * ex["radii"][k], 1000.0))


def test_an_indefinite_hessian_needs_no_shift():
    prob = seed_quartic()  # H(0.3, 0.2) is indefinite; pure Newton goes to the saddle
    for kwargs in ({"hess": prob.hess}, {"hess": prob.hess, "method": "dogleg"}):
        res = trust_region(prob.f, prob.grad, [0.3, 0.2], tol=1e-10, **kwargs)
        assert res.success and res.fun == pytest.approx(-2.0), kwargs
    steihaug = trust_region(prob.f, prob.grad, [0.3, 0.2], hess=prob.hess)
    assert steihaug.extras["reasons"][0] == "negative curvature"


def test_trust_region_counts_like_scipy_trust_ncg():
    """Iterations and Hessian-vector products within 1.1x of scipy's trust-ncg (the same
    algorithm) at the same gradient tolerance, on 2-D Rosenbrock."""
    prob = rosenbrock()
    ours = trust_region(prob.f, prob.grad, [-1.2, 1.0], hessp=prob.hessp, tol=1e-6)
    ref = minimize(prob.f, [-1.2, 1.0], jac=prob.grad, hessp=prob.hessp, method="trust-ncg",
                   options={"gtol": 1e-6})
    assert ours.success and ref.success
    assert ours.nit <= 1.1 * ref.nit and ours.nhev <= 1.1 * ref.nhev


def test_trust_region_runs_matrix_free():
    n = 100_000
    prob = rosenbrock(n, kind="extended")
    res = trust_region(prob.f, prob.grad, prob.x0, hessp=prob.hessp, tol=1e-6,
                       store_path=False)
    assert res.success and np.abs(res.x - 1).max() < 1e-5


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"method": "newton"}, ValueError, "method"),
    ({"method": "dogleg", "hessp": "p"}, TypeError, "dogleg"),
    ({}, TypeError, "exactly one"),
    ({"radius": 10.0, "max_radius": 1.0}, ValueError, "max_radius"),
    ({"eta": 0.5}, ValueError, "eta"),
    ({"radius": -1.0}, ValueError, "radius"),
])
def test_trust_region_rejects_bad_settings_clearly(kwargs, error, match):
    prob = rosenbrock()
    if "hessp" in kwargs:
        kwargs = {**kwargs, "hessp": prob.hessp}
    elif "method" in kwargs or "radius" in kwargs or "eta" in kwargs:
        kwargs = {"hess": prob.hess, **kwargs}
    with pytest.raises(error, match=match):
        trust_region(prob.f, prob.grad, prob.x0, **kwargs)


@pytest.mark.parametrize("definite", [True, False])
@pytest.mark.parametrize("radius", [0.05, 1.0, 30.0])
def test_exact_step_satisfies_the_optimality_conditions(radius, definite):
    """(B + lambda I) p = -g, lambda (Delta - ||p||) = 0, B + lambda I psd (More-Sorensen),
    and no other solver's model value is lower."""
    B, g = random_symmetric(6, seed=int(radius * 10) + definite, definite=definite)
    step = exact_step(g, B, radius)
    lam, p = step.multiplier, step.p
    assert lam >= 0 and np.linalg.norm(p) <= radius * (1 + 1e-12)
    assert np.allclose((B + lam * np.eye(6)) @ p, -g, atol=1e-8)
    assert lam * (radius - np.linalg.norm(p)) == pytest.approx(0.0, abs=1e-8)
    assert np.linalg.eigvalsh(B + lam * np.eye(6))[0] >= -1e-10
    assert step.model == pytest.approx(model(g, B, p))
    assert step.model <= steihaug_step(g, lambda v: B @ v, radius).model + 1e-12


def test_exact_step_in_the_hard_case_goes_along_the_lowest_eigenvector():
    B, g = np.diag([-1.0, 2.0]), np.array([0.0, 1.0])  # g has no component along e_1
    step = exact_step(g, B, radius=2.0)
    assert step.multiplier == pytest.approx(1.0) and np.linalg.norm(step.p) == pytest.approx(2.0)
    assert step.p[1] == pytest.approx(-1.0 / 3.0) and abs(step.p[0]) > 1.9
    inside = exact_step(g, np.diag([1.0, 2.0]), radius=2.0)
    assert inside.reason == "interior" and inside.multiplier == 0.0


def test_the_radius_rule_and_the_ratio():
    assert update_radius(1.0, 0.2, 0.8, True) == pytest.approx(0.2)
    assert update_radius(1.0, 0.8, 1.0, True, max_radius=1.5) == 1.5
    assert update_radius(1.0, 0.8, 0.5, False) == 1.0
    assert update_radius(1.0, 0.5, 1.0, True) == 1.0
    assert reduction_ratio(1.0, 0.5, 1.0) == 0.5
    assert reduction_ratio(1.0, 0.5, 0.0) == -np.inf
    assert reduction_ratio(1.0, 1.0 - 1e-17, 1e-17) == 0.5  # below rounding: take it


def test_trust_region_exact_solver_matches_the_others():
    prob = seed_quartic()
    res = trust_region(prob.f, prob.grad, [0.3, 0.2], hess=prob.hess, method="exact",
                       tol=1e-10)
    assert res.success and res.fun == pytest.approx(-2.0)
    with pytest.raises(TypeError, match="exact"):
        trust_region(prob.f, prob.grad, [0.3, 0.2], hessp=prob.hessp, method="exact")
