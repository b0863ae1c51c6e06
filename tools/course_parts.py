"""The content of the five autograded assignments: the parts, their text and solutions.

``tools/make_course.py`` turns this into the nbgrader source notebooks in ``solutions/``.
Each part has a title, the instructions (markdown), the solution cell (with
``### BEGIN SOLUTION`` / ``### END SOLUTION``: nbgrader replaces the block with
``raise NotImplementedError()`` in the student version) and its points per test id; the test
ids and what they check are registered in :mod:`hessian_lab.grading`.
"""

from __future__ import annotations

#: Per assignment: (title, introduction, the packages the setup cell imports).
ASSIGNMENT_INFO = {
    "01_hessians": (
        "Assignment 1: Hessians",
        "You will build the Hessian three ways: symbolically with sympy, from function "
        "values by finite differences, and one mixed partial at a time, and then use it in the "
        "quadratic (second-order Taylor) model. Background: "
        "[Building the Hessian](../../book/02_building_the_hessian.ipynb), "
        "[Symmetry](../../book/03_symmetry.ipynb) and "
        "[Taylor models](../../book/04_taylor.ipynb).",
        ("numpy as np", "sympy"),
    ),
    "02_classifying": (
        "Assignment 2: Classifying critical points",
        "Find the critical points of a function and decide what they are: by the eigenvalues "
        "of the Hessian, by the two-variable test with D = f_xx f_yy - f_xy^2, and by "
        "Sylvester's criterion. The degenerate cases (a zero eigenvalue, D = 0) matter as "
        "much as the clear ones. Background: "
        "[Positive definite matrices](../../book/05_positive_definite.ipynb), "
        "[The 2-D test](../../book/06_test_2d.ipynb), "
        "[The general case](../../book/07_general_case.ipynb) and "
        "[Sylvester's criterion](../../book/15_sylvester.ipynb).",
        ("numpy as np", "sympy"),
    ),
    "03_newton": (
        "Assignment 3: Newton's method",
        "The Newton step, the pure Newton iteration, a globalised Newton method that always "
        "goes downhill, the measured order of convergence, and a race against gradient "
        "descent on an ill-conditioned quadratic. Background: "
        "[Newton's method](../../book/08_newton.ipynb), "
        "[Why Newton converges fast](../../book/09_newton_convergence.ipynb) and "
        "[The condition number](../../book/10_condition_number.ipynb).",
        ("numpy as np",),
    ),
    "04_quasi_newton": (
        "Assignment 4: Quasi-Newton methods",
        "BFGS builds an approximation B of the *inverse* Hessian from gradients alone: each "
        "step's pair s = x_new - x_old, y = g_new - g_old updates B so that the secant "
        "condition B_new y = s holds. L-BFGS keeps only the last m pairs and applies B with the "
        "two-loop recursion. Background: the quasi-Newton chapter of the book and "
        "`hessian_lab.bfgs_update`'s docstring for the notation (do not call it).",
        ("numpy as np",),
    ),
    "05_curvature_at_scale": (
        "Assignment 5: Curvature at scale",
        "When n is large the Hessian cannot be formed. Gauss-Newton uses J^T J instead, a "
        "Hessian-vector product needs only two gradients, and power iteration finds "
        "lambda_max from such products alone. Background: "
        "[Gauss-Newton](../../book/16_gauss_newton.ipynb) and "
        "[Hessian-vector products](../../book/17_hvp.ipynb).",
        ("numpy as np",),
    ),
}

# Each part: (part name = function name, heading, instructions, solution code,
#             [(test id, points), ...]). Hidden tests are marked in the catalogue.
PARTS = {}

PARTS["01_hessians"] = [
    ("hessian_symbolic", "Part 1: the symbolic Hessian",
     "Write `hessian_symbolic(f, variables)`: `f` is a sympy expression, `variables` a tuple "
     "of sympy symbols. Return the `sympy.Matrix` with entries "
     "H[i, j] = d/dx_i (d f / dx_j). Use `sympy.diff`; `sympy.hessian` (the ready-made "
     "routine) earns no credit.",
     '''def hessian_symbolic(f, variables):
    """The n x n sympy Matrix of second partial derivatives of f."""
    ### BEGIN SOLUTION
    n = len(variables)
    rows = []
    for i in range(n):
        first = sympy.diff(f, variables[i])
        rows.append([sympy.diff(first, variables[j]) for j in range(n)])
    return sympy.Matrix(rows)
    ### END SOLUTION
''',
     [("hessian_symbolic_shape", 1), ("hessian_symbolic_fixed", 2),
      ("hessian_symbolic_hidden", 2)]),
    ("fd_hessian", "Part 2: the finite-difference Hessian",
     "Write `fd_hessian(f, x, h)`: `f` maps a numpy vector to a float. Return the n x n "
     "matrix of central differences: on the diagonal "
     "(f(x + h e_i) - 2 f(x) + f(x - h e_i)) / h^2, off the diagonal the four-point formula "
     "[f(x + h e_i + h e_j) - f(x + h e_i - h e_j) - f(x - h e_i + h e_j) + "
     "f(x - h e_i - h e_j)] / (4 h^2). Only numpy: no sympy, scipy or autodiff.",
     '''def fd_hessian(f, x, h):
    """Central-difference Hessian of f at x with step h."""
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    n = x.size
    steps = h * np.eye(n)
    f0 = f(x)
    H = np.zeros((n, n))
    for i in range(n):
        H[i, i] = (f(x + steps[i]) - 2.0 * f0 + f(x - steps[i])) / h**2
        for j in range(i + 1, n):
            mixed = (f(x + steps[i] + steps[j]) - f(x + steps[i] - steps[j])
                     - f(x - steps[i] + steps[j]) + f(x - steps[i] - steps[j]))
            H[i, j] = H[j, i] = mixed / (4.0 * h**2)
    return H
    ### END SOLUTION
''',
     [("fd_hessian_shape", 1), ("fd_hessian_quadratic", 1), ("fd_hessian_nonquadratic", 1),
      ("fd_hessian_hidden", 2)]),
    ("second_partial", "Part 3: one mixed partial, in order",
     "Write `second_partial(f, x, i, j, h_outer, h_inner)`, the value of "
     "d/dx_i (d f / dx_j) at x as two nested central differences: the inner one in x_j with "
     "step `h_inner`, the outer one in x_i with step `h_outer`. For smooth f the order does "
     "not matter (Schwarz); the test also tries a function where it does.",
     '''def second_partial(f, x, i, j, h_outer, h_inner):
    """d/dx_i (df/dx_j) at x by nested central differences."""
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)

    def partial_j(point):
        e = np.zeros_like(point)
        e[j] = h_inner
        return (f(point + e) - f(point - e)) / (2.0 * h_inner)

    e = np.zeros_like(x)
    e[i] = h_outer
    return float((partial_j(x + e) - partial_j(x - e)) / (2.0 * h_outer))
    ### END SOLUTION
''',
     [("second_partial_smooth", 1), ("second_partial_order", 1), ("second_partial_hidden", 2)]),
    ("quadratic_model", "Part 4: the quadratic model",
     "Write `quadratic_model(f0, g, H, x0)` that returns a *function* `m(x)`, the "
     "second-order Taylor model m(x) = f0 + g^T d + (1/2) d^T H d with d = x - x0.",
     '''def quadratic_model(f0, g, H, x0):
    """The function m(x) = f0 + g.d + d.H.d / 2, d = x - x0."""
    ### BEGIN SOLUTION
    g = np.asarray(g, dtype=float)
    H = np.asarray(H, dtype=float)
    x0 = np.asarray(x0, dtype=float)

    def m(x):
        d = np.asarray(x, dtype=float) - x0
        return float(f0 + g @ d + 0.5 * d @ H @ d)

    return m
    ### END SOLUTION
''',
     [("quadratic_model_fixed", 1), ("quadratic_model_taylor", 1),
      ("quadratic_model_hidden", 2)]),
]

PARTS["02_classifying"] = [
    ("critical_points_of", "Part 1: finding the critical points",
     "Write `critical_points_of(f, variables)`: solve grad f = 0 with `sympy.solve` and "
     "return the list of the **real** critical points, each a tuple of coordinates (numbers "
     "or sympy numbers), e.g. `[(0, 0), (1, 1)]`. `sympy.solve` also returns complex "
     "solutions: leave them out.",
     '''def critical_points_of(f, variables):
    """The real solutions of grad f = 0, as a list of coordinate tuples."""
    ### BEGIN SOLUTION
    equations = [sympy.diff(f, v) for v in variables]
    points = []
    for solution in sympy.solve(equations, variables, dict=True):
        coords = [complex(sympy.N(solution.get(v, v))) for v in variables]
        if all(abs(c.imag) < 1e-12 for c in coords):
            points.append(tuple(c.real for c in coords))
    return points
    ### END SOLUTION
''',
     [("critical_points_fixed", 1), ("critical_points_more", 1), ("critical_points_hidden", 2)]),
    ("classify_eigen", "Part 2: classifying by eigenvalues",
     "Write `classify_eigen(H, tol)` returning one of the strings `'minimum'`, `'maximum'`, "
     "`'saddle'`, `'inconclusive'`, from the eigenvalues of the symmetric matrix H "
     "(`numpy.linalg.eigvalsh`). Eigenvalues with |lambda| <= tol count as zero. Eigenvalues "
     "of both signs make a saddle even when some are zero.",
     '''def classify_eigen(H, tol):
    """'minimum', 'maximum', 'saddle' or 'inconclusive' from the eigenvalues of H."""
    ### BEGIN SOLUTION
    eigenvalues = np.linalg.eigvalsh(np.asarray(H, dtype=float))
    has_positive = bool(np.any(eigenvalues > tol))
    has_negative = bool(np.any(eigenvalues < -tol))
    if has_positive and has_negative:
        return "saddle"
    if np.all(eigenvalues > tol):
        return "minimum"
    if np.all(eigenvalues < -tol):
        return "maximum"
    return "inconclusive"
    ### END SOLUTION
''',
     [("classify_eigen_diagonal", 1), ("classify_eigen_offdiagonal", 1),
      ("classify_eigen_degenerate", 1), ("classify_eigen_hidden", 2)]),
    ("second_derivative_test_2d", "Part 3: the two-variable test",
     "Write `second_derivative_test_2d(fxx, fxy, fyy)` with D = f_xx f_yy - f_xy^2: D < 0 "
     "a saddle; D > 0 a minimum if f_xx > 0, a maximum if f_xx < 0; D = 0 (up to "
     "rounding, |D| <= 1e-12) `'inconclusive'`. No eigenvalue routines in this part.",
     '''def second_derivative_test_2d(fxx, fxy, fyy):
    """The 2-D second-derivative test from D = fxx fyy - fxy^2."""
    ### BEGIN SOLUTION
    D = fxx * fyy - fxy * fxy
    if abs(D) <= 1e-12:
        return "inconclusive"
    if D < 0:
        return "saddle"
    return "minimum" if fxx > 0 else "maximum"
    ### END SOLUTION
''',
     [("sdt_fixed", 1), ("sdt_degenerate", 1), ("sdt_hidden", 2)]),
    ("definiteness_by_minors", "Part 4: Sylvester's criterion",
     "Write `definiteness_by_minors(H)` returning `'positive definite'`, `'negative "
     "definite'` or `'not definite'` from the leading principal minors D_1, ..., D_n "
     "(`numpy.linalg.det` of the upper-left k x k blocks): all D_k > 0 is positive definite; "
     "alternating signs D_1 < 0, D_2 > 0, ... negative definite. Treat |D_k| <= 1e-10 as "
     "zero. No eigenvalues and no Cholesky here.",
     '''def definiteness_by_minors(H):
    """Definiteness of symmetric H by Sylvester's criterion."""
    ### BEGIN SOLUTION
    H = np.asarray(H, dtype=float)
    n = H.shape[0]
    minors = [np.linalg.det(H[:k, :k]) for k in range(1, n + 1)]
    eps = 1e-10
    if all(d > eps for d in minors):
        return "positive definite"
    if all((d < -eps) if k % 2 == 1 else (d > eps) for k, d in enumerate(minors, start=1)):
        return "negative definite"
    return "not definite"
    ### END SOLUTION
''',
     [("minors_positive", 1), ("minors_negative", 1), ("minors_semidefinite", 1),
      ("minors_hidden", 2)]),
]

PARTS["03_newton"] = [
    ("newton_step", "Part 1: the Newton step",
     "Write `newton_step(g, H)` returning the step p that solves H p = -g (use "
     "`numpy.linalg.solve`, never an explicit inverse). For a singular H there is no Newton "
     "step: let it raise `ValueError` (`numpy.linalg.LinAlgError` is one).",
     '''def newton_step(g, H):
    """The Newton step p with H p = -g."""
    ### BEGIN SOLUTION
    return np.linalg.solve(np.asarray(H, dtype=float), -np.asarray(g, dtype=float))
    ### END SOLUTION
''',
     [("newton_step_shape", 1), ("newton_step_fixed", 1), ("newton_step_singular", 1),
      ("newton_step_hidden", 2)]),
    ("newton_iterate", "Part 2: the pure Newton iteration",
     "Write `newton_iterate(grad, hess, x0, tol, max_iter)` returning the path, an array of "
     "shape (k + 1, n) with rows x_0, x_1, ..., x_k. Before each step test "
     "||grad f(x)||_inf <= tol (stop), and take at most `max_iter` steps; each step is "
     "x + p with H p = -g.",
     '''def newton_iterate(grad, hess, x0, tol, max_iter):
    """Pure Newton from x0; returns the path of iterates, shape (k + 1, n)."""
    ### BEGIN SOLUTION
    x = np.array(x0, dtype=float)
    path = [x.copy()]
    for _ in range(max_iter):
        g = np.asarray(grad(x), dtype=float)
        if np.max(np.abs(g)) <= tol:
            break
        x = x + np.linalg.solve(np.asarray(hess(x), dtype=float), -g)
        path.append(x.copy())
    return np.array(path)
    ### END SOLUTION
''',
     [("newton_iterate_quadratic", 1), ("newton_iterate_rosenbrock", 1),
      ("newton_iterate_stopping", 1), ("newton_iterate_hidden", 2)]),
    ("newton_globalized", "Part 3: a globalised Newton method",
     "Write `newton_globalized(f, grad, hess, x0, tol, max_iter)` returning the path like "
     "Part 2, but (a) where H is not positive definite (its Cholesky factorisation fails) "
     "solve with H + tau I instead, raising tau until the factorisation succeeds, and (b) "
     "backtrack alpha = 1, 1/2, 1/4, ... until f(x + alpha p) <= f(x) + 1e-4 alpha g^T p. "
     "Then f never increases and the method does not stop at a saddle.",
     '''def newton_globalized(f, grad, hess, x0, tol, max_iter):
    """Newton with a shifted Hessian and Armijo backtracking; returns the path."""
    ### BEGIN SOLUTION
    x = np.array(x0, dtype=float)
    path = [x.copy()]
    identity = np.eye(x.size)
    for _ in range(max_iter):
        g = np.asarray(grad(x), dtype=float)
        if np.max(np.abs(g)) <= tol:
            break
        H = np.asarray(hess(x), dtype=float)
        tau = 0.0 if np.min(np.diag(H)) > 0 else 1e-3 - np.min(np.diag(H))
        while True:
            try:
                L = np.linalg.cholesky(H + tau * identity)
                break
            except np.linalg.LinAlgError:
                tau = max(2.0 * tau, 1e-3)
        p = -np.linalg.solve(L.T, np.linalg.solve(L, g))
        fx, slope, alpha = f(x), g @ p, 1.0
        while f(x + alpha * p) > fx + 1e-4 * alpha * slope and alpha > 1e-12:
            alpha /= 2.0
        x = x + alpha * p
        path.append(x.copy())
    return np.array(path)
    ### END SOLUTION
''',
     [("newton_globalized_quartic", 1), ("newton_globalized_rosenbrock", 1),
      ("newton_globalized_hidden", 2)]),
    ("convergence_order", "Part 4: measuring the order of convergence",
     "Write `convergence_order(errors)`: from a list of errors e_0, e_1, ..., estimate the "
     "order q in e_{k+1} ~ C e_k^q from the **last three**: "
     "q = log(e_{k+1} / e_k) / log(e_k / e_{k-1}).",
     '''def convergence_order(errors):
    """The order q estimated from the last three errors."""
    ### BEGIN SOLUTION
    e = np.abs(np.asarray(errors, dtype=float))
    return float(np.log(e[-1] / e[-2]) / np.log(e[-2] / e[-3]))
    ### END SOLUTION
''',
     [("order_sequences", 1), ("order_newton", 1), ("order_hidden", 2)]),
    ("race", "Part 5: the race",
     "Write `race(kappa, tol)` for the quadratic f(x) = x^T A x / 2 with A = diag(1, kappa), "
     "started at x0 = (1, 1). Count the steps each method needs until "
     "||grad f||_inf <= tol (tested before each step): gradient descent with the fixed step "
     "alpha = 1 / kappa (update x = x - alpha * g), and pure Newton. Return "
     "`{'newton': ..., 'gradient_descent': ...}`. The optimizers of hessian_lab are not "
     "allowed here.",
     '''def race(kappa, tol):
    """Steps to ||grad||_inf <= tol for Newton and gradient descent (alpha = 1 / kappa)."""
    ### BEGIN SOLUTION
    A = np.diag([1.0, kappa])
    counts = {}
    x, steps = np.ones(2), 0
    while np.max(np.abs(A @ x)) > tol:
        x = x + np.linalg.solve(A, -(A @ x))
        steps += 1
    counts["newton"] = steps
    alpha = 1.0 / kappa
    x, steps = np.ones(2), 0
    g = A @ x
    while np.max(np.abs(g)) > tol:
        x = x - alpha * g
        g = A @ x
        steps += 1
    counts["gradient_descent"] = steps
    return counts
    ### END SOLUTION
''',
     [("race_fixed", 1), ("race_hidden", 2)]),
]

PARTS["04_quasi_newton"] = [
    ("bfgs_inverse_update", "Part 1: the BFGS update of the inverse Hessian",
     "Write `bfgs_inverse_update(B, s, y)` returning "
     "B_new = (I - rho s y^T) B (I - rho y s^T) + rho s s^T with rho = 1 / (y^T s). B "
     "approximates the **inverse** Hessian, so B_new y = s (the secant condition). When "
     "y^T s <= 0 raise `ValueError` (the curvature condition fails).",
     '''def bfgs_inverse_update(B, s, y):
    """BFGS update of the inverse-Hessian approximation B with the pair (s, y)."""
    ### BEGIN SOLUTION
    B, s, y = (np.asarray(a, dtype=float) for a in (B, s, y))
    ys = y @ s
    if ys <= 0:
        raise ValueError(f"curvature condition fails: y^T s = {ys} <= 0")
    rho = 1.0 / ys
    V = np.eye(s.size) - rho * np.outer(s, y)
    return V @ B @ V.T + rho * np.outer(s, s)
    ### END SOLUTION
''',
     [("bfgs_update_secant", 1), ("bfgs_update_fixed", 1), ("bfgs_update_curvature", 1),
      ("bfgs_update_hidden", 2)]),
    ("bfgs_minimize", "Part 2: BFGS",
     "Write `bfgs_minimize(f, grad, x0, tol, max_iter)` returning `(x, nit)`. Start with "
     "B = I; each iteration: stop if ||g||_inf <= tol; p = -B g; backtrack (Armijo, "
     "alpha = 1, 1/2, ...); update B with s and y (skip the update when y^T s <= 0). Your "
     "Part 1 may be used; hessian_lab's optimizers may not.",
     '''def bfgs_minimize(f, grad, x0, tol, max_iter):
    """BFGS with backtracking; returns (x, number of iterations)."""
    ### BEGIN SOLUTION
    x = np.array(x0, dtype=float)
    B = np.eye(x.size)
    g = np.asarray(grad(x), dtype=float)
    nit = 0
    while nit < max_iter and np.max(np.abs(g)) > tol:
        p = -B @ g
        fx, slope, alpha = f(x), g @ p, 1.0
        while f(x + alpha * p) > fx + 1e-4 * alpha * slope and alpha > 1e-12:
            alpha /= 2.0
        x_new = x + alpha * p
        g_new = np.asarray(grad(x_new), dtype=float)
        s, y = x_new - x, g_new - g
        if y @ s > 1e-12:
            if nit == 0:
                B = (y @ s) / (y @ y) * np.eye(x.size)
            B = bfgs_inverse_update(B, s, y)
        x, g = x_new, g_new
        nit += 1
    return x, nit
    ### END SOLUTION
''',
     [("bfgs_minimize_quadratic", 1), ("bfgs_minimize_rosenbrock", 1),
      ("bfgs_minimize_hidden", 2)]),
    ("two_loop_direction", "Part 3: the L-BFGS two-loop recursion",
     "Write `two_loop_direction(g, s_list, y_list, gamma)` returning r = B g, where B is "
     "the BFGS inverse approximation built from B_0 = gamma I and the pairs (oldest first) "
     "**without forming B**: the first loop runs newest to oldest, r = gamma q, the second "
     "loop oldest to newest. One test uses n = 200000.",
     '''def two_loop_direction(g, s_list, y_list, gamma):
    """r = B g by the L-BFGS two-loop recursion (pairs oldest first)."""
    ### BEGIN SOLUTION
    q = np.array(g, dtype=float)
    m = len(s_list)
    rho = [1.0 / (y_list[i] @ s_list[i]) for i in range(m)]
    a = [0.0] * m
    for i in range(m - 1, -1, -1):
        a[i] = rho[i] * (s_list[i] @ q)
        q = q - a[i] * y_list[i]
    r = gamma * q
    for i in range(m):
        b = rho[i] * (y_list[i] @ r)
        r = r + (a[i] - b) * s_list[i]
    return r
    ### END SOLUTION
''',
     [("two_loop_one_pair", 1), ("two_loop_fixed", 1), ("two_loop_large", 1),
      ("two_loop_hidden", 2)]),
    ("lbfgs_memory_update", "Part 4: the L-BFGS memory",
     "Write `lbfgs_memory_update(s_list, y_list, s, y, m)` returning the new "
     "`(s_list, y_list)`: append the pair (oldest first), drop the oldest when more than m "
     "are stored, and do not store a pair with y^T s <= 0.",
     '''def lbfgs_memory_update(s_list, y_list, s, y, m):
    """Store the pair (s, y) in the L-BFGS memory of at most m pairs."""
    ### BEGIN SOLUTION
    s_list, y_list = list(s_list), list(y_list)
    if np.dot(y, s) <= 0:
        return s_list, y_list
    s_list.append(np.asarray(s, dtype=float))
    y_list.append(np.asarray(y, dtype=float))
    while len(s_list) > m:
        s_list.pop(0)
        y_list.pop(0)
    return s_list, y_list
    ### END SOLUTION
''',
     [("memory_append", 1), ("memory_evict", 1), ("memory_curvature", 1)]),
]

PARTS["05_curvature_at_scale"] = [
    ("gauss_newton_step", "Part 1: the Gauss-Newton step",
     "Write `gauss_newton_step(r, J)` for residuals r (length m) and Jacobian J (m x n): "
     "the step p (length n) that solves J^T J p = -J^T r.",
     '''def gauss_newton_step(r, J):
    """The Gauss-Newton step: J^T J p = -J^T r."""
    ### BEGIN SOLUTION
    r, J = np.asarray(r, dtype=float), np.asarray(J, dtype=float)
    return np.linalg.solve(J.T @ J, -(J.T @ r))
    ### END SOLUTION
''',
     [("gn_step_fixed", 1), ("gn_step_curve_fit", 1), ("gn_step_hidden", 2)]),
    ("hvp_central", "Part 2: Hessian-vector products without the Hessian",
     "Write `hvp_central(grad, x, v, h)` returning H(x) v by the central difference "
     "(grad(x + h v) - grad(x - h v)) / (2 h). It must work for n = 1000000, where H would "
     "need 8 TB.",
     '''def hvp_central(grad, x, v, h):
    """H(x) v from two gradient evaluations."""
    ### BEGIN SOLUTION
    x, v = np.asarray(x, dtype=float), np.asarray(v, dtype=float)
    return (np.asarray(grad(x + h * v)) - np.asarray(grad(x - h * v))) / (2.0 * h)
    ### END SOLUTION
''',
     [("hvp_quadratic", 1), ("hvp_rosenbrock", 1), ("hvp_large", 1), ("hvp_hidden", 2)]),
    ("power_iteration_max", "Part 3: power iteration",
     "Write `power_iteration_max(matvec, n)` returning the eigenvalue of largest magnitude "
     "(with its sign) of the symmetric operator v -> H v given only as `matvec`. Iterate "
     "v <- H v / ||H v|| from a random start and return the Rayleigh quotient v^T H v; stop "
     "when it no longer changes (relative change below 1e-12). No eigenvalue routines.",
     '''def power_iteration_max(matvec, n):
    """The dominant eigenvalue of a symmetric operator, by power iteration."""
    ### BEGIN SOLUTION
    v = np.random.default_rng(0).standard_normal(n)
    v /= np.linalg.norm(v)
    estimate = 0.0
    for _ in range(10_000):
        w = np.asarray(matvec(v), dtype=float)
        rayleigh = float(v @ w)
        norm = np.linalg.norm(w)
        if norm == 0.0:
            return 0.0
        v = w / norm
        if abs(rayleigh - estimate) <= 1e-12 * abs(rayleigh):
            return rayleigh
        estimate = rayleigh
    return estimate
    ### END SOLUTION
''',
     [("power_diagonal", 1), ("power_negative", 1), ("power_matrix_free", 1),
      ("power_hidden", 2)]),
    ("largest_stable_step", "Part 4: the largest stable step",
     "Write `largest_stable_step(grad, x)` returning 2 / lambda_max, lambda_max the largest "
     "eigenvalue of the Hessian at x, using only gradients: combine your Parts 2 and 3 "
     "(if the dominant eigenvalue is negative, shift: run power iteration on H - lambda I).",
     '''def largest_stable_step(grad, x):
    """2 / lambda_max of the Hessian at x, from Hessian-vector products."""
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    h = 1e-6 * max(1.0, np.linalg.norm(x))

    def hv(v):
        return hvp_central(grad, x, v, h)

    dominant = power_iteration_max(hv, x.size)
    if dominant < 0:
        dominant = dominant + power_iteration_max(lambda v: hv(v) - dominant * v, x.size)
    return 2.0 / dominant
    ### END SOLUTION
''',
     [("stable_step_quadratic", 1), ("stable_step_rosenbrock", 1)]),
]
