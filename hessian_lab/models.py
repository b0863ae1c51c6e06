"""A small multilayer perceptron in numpy: loss, backprop gradient and R-operator HVP.

The network of Chapter 12 (loss landscapes and saddles) and Chapter 17 (Hessian-vector
products). It is small enough to read in one sitting and fast enough that its Hessian
at a million parameters can be probed with :func:`~hessian_lab.spectra.lanczos`.

The model is ``f_theta(x) = W_L^T tanh(... tanh(W_1^T x + b_1) ...) + b_L`` (tanh on
every hidden layer, a linear output layer) with the least-squares loss

    L(theta) = 1/(2N) sum_i ||f_theta(x_i) - y_i||^2.

All parameters live in ONE flat 1-D vector ``theta``, layer after layer, each layer's
weight matrix ``W_l`` (shape ``(fan_in, fan_out)``, row-major) followed by its bias
``b_l`` (shape ``(fan_out,)``), so every tool of the library (optimizers, spectra,
finite differences) sees an ordinary function of a vector.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_int, as_vector

__all__ = ["MLP", "make_regression_data", "mlp_of_size"]

_MAX_DENSE_PARAMS = 5000


def _as_data_matrix(A, name: str) -> np.ndarray:
    """Return ``A`` as a finite 2-D float array (a 1-D array becomes one column)."""
    try:
        arr = np.array(A, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers; got {type(A).__name__}") from exc
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with one row per sample, shape (N, features); "
            f"got shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); it needs at least one sample")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; pass finite data")
    return arr


def _scale_by_product(M: np.ndarray, A: np.ndarray, W: np.ndarray) -> None:
    """``M *= A @ W.T`` in place; for one column, two broadcast scalings and no temporary."""
    if A.shape[1] == 1:
        M *= A
        M *= W.T
    else:
        M *= A @ W.T


def _two_products(A: np.ndarray, W: np.ndarray, B: np.ndarray, V: np.ndarray,
                  out: np.ndarray | None = None) -> np.ndarray:
    """``A @ W.T + B @ V.T`` as the single product ``[A, B] @ [W, V].T``."""
    return np.matmul(np.hstack([A, B]), np.hstack([W, V]).T, out=out)


class MLP:
    """A tanh multilayer perceptron with a least-squares loss (Chapters 12, 16 and 17).

    ``f_theta(x) = W_L^T z_{L-1} + b_L`` with ``z_0 = x`` and
    ``z_l = tanh(W_l^T z_{l-1} + b_l)``; the loss is
    ``L(theta) = 1/(2N) sum_i ||f_theta(x_i) - y_i||^2``.

    A class is used (not loose functions) because the model carries its data, its layer
    sizes and the layout of the flat parameter vector.

    Parameters
    ----------
    X : array_like, shape (N, n_in)
        Inputs, one row per sample.
    Y : array_like, shape (N, n_out) or (N,)
        Targets; a 1-D array is one output.
    hidden : tuple of int
        Widths of the hidden layers, ``(16,)`` by default (one hidden layer). ``()`` gives
        linear least squares, whose Hessian ``X~^T X~ / N`` is constant.
    rng : int, numpy.random.Generator or None
        Seed for :meth:`init_params` when it is called without its own generator
        (``None``: fresh entropy, as in numpy).

    Attributes
    ----------
    sizes : tuple of int
        ``(n_in, *hidden, n_out)``.
    n_params : int
        Length of ``theta``: ``sum_l (fan_in_l + 1) fan_out_l``.

    Examples
    --------
    >>> import numpy as np
    >>> X, Y = make_regression_data(20, 3, 1, rng=0)
    >>> net = MLP(X, Y, hidden=(4,), rng=0)
    >>> net.n_params  # (3 + 1) * 4 + (4 + 1) * 1
    21
    >>> theta = net.init_params()
    >>> v = np.ones(net.n_params)
    >>> Hv = net.hvp(theta, v)
    >>> H = net.hessian(theta)
    >>> bool(np.allclose(H @ v, Hv)), bool(np.allclose(H, H.T))
    (True, True)
    """

    def __init__(
        self,
        X: ArrayLike,
        Y: ArrayLike,
        hidden: tuple[int, ...] = (16,),
        rng: int | np.random.Generator | None = 0,
    ) -> None:
        self.X = _as_data_matrix(X, "X")
        self.Y = _as_data_matrix(Y, "Y")
        if self.Y.shape[0] != self.X.shape[0]:
            raise ValueError(
                f"X has {self.X.shape[0]} samples (rows) but Y has {self.Y.shape[0]}; "
                "they must match"
            )
        if isinstance(hidden, numbers.Integral):
            hidden = (hidden,)
        self.hidden = tuple(as_int(h, "each hidden width", 1) for h in hidden)
        self.sizes = (self.X.shape[1], *self.hidden, self.Y.shape[1])
        self.n_samples = self.X.shape[0]
        self._X1 = np.hstack([self.X, np.ones((self.n_samples, 1))])  # [X, 1]
        self._layout = []  # (start of W, start of b, end of b, fan_in, fan_out) per layer
        start = 0
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            b_start = start + fan_in * fan_out
            self._layout.append((start, b_start, b_start + fan_out, fan_in, fan_out))
            start = b_start + fan_out
        self.n_params = start
        self._init_seed = int(np.random.default_rng(rng).integers(2**63))

    def __repr__(self) -> str:
        return (
            f"MLP(sizes={self.sizes}, n_params={self.n_params}, n_samples={self.n_samples})"
        )

    # ------------------------------------------------------------------ parameters
    def init_params(self, rng: int | np.random.Generator | None = None) -> np.ndarray:
        """A seeded initial ``theta``: ``W_l ~ N(0, 1/fan_in)`` entrywise, ``b_l = 0``.

        The scale ``1/fan_in`` keeps the pre-activations of order one, so tanh starts in its
        curved region rather than saturated (Chapter 12 discusses the landscape there).

        Parameters
        ----------
        rng : int, numpy.random.Generator or None
            ``None`` re-uses the seed given to the constructor, so repeated calls return
            the same vector.

        Examples
        --------
        >>> net = MLP([[0.0, 1.0]], [1.0], hidden=(3,), rng=7)
        >>> bool((net.init_params() == net.init_params()).all())
        True
        """
        gen = np.random.default_rng(self._init_seed if rng is None else rng)
        theta = np.zeros(self.n_params)
        for W, _ in self.unflatten(theta):
            W[...] = gen.standard_normal(W.shape) / np.sqrt(W.shape[0])
        return theta

    def unflatten(self, theta: ArrayLike) -> list[tuple[np.ndarray, np.ndarray]]:
        """Split a flat vector into ``[(W_1, b_1), ..., (W_L, b_L)]``.

        ``W_l`` has shape ``(fan_in, fan_out)`` and ``b_l`` shape ``(fan_out,)``; both are
        views into ``theta`` (no copy) when ``theta`` is a contiguous float array, so
        writing into them writes into ``theta``.

        Examples
        --------
        >>> net = MLP([[0.0, 1.0]], [1.0], hidden=(3,))
        >>> [(W.shape, b.shape) for W, b in net.unflatten(net.init_params())]
        [((2, 3), (3,)), ((3, 1), (1,))]
        """
        theta = np.asarray(theta)
        if theta.shape != (self.n_params,):
            raise ValueError(
                f"theta has shape {theta.shape}, expected ({self.n_params},) for layer sizes "
                f"{self.sizes}"
            )
        return [
            (theta[w0:b0].reshape(fan_in, fan_out), theta[b0:end])
            for w0, b0, end, fan_in, fan_out in self._layout
        ]

    def _check(self, theta, name: str = "theta") -> np.ndarray:
        return as_vector(theta, name, n=self.n_params)

    # ------------------------------------------------------------------ passes
    def _blocks(self, theta: np.ndarray) -> list[np.ndarray]:
        """Each layer's augmented matrix ``[W_l; b_l]`` (shape ``(fan_in + 1, fan_out)``).

        Because each ``W_l`` is stored just before its ``b_l``, this is a contiguous block of
        ``theta`` and a view: ``a_l = [z_{l-1}, 1] @ [W_l; b_l]`` is one matrix product, the
        bias absorbed into the weights.
        """
        return [
            theta[w0:end].reshape(fan_in + 1, fan_out)
            for w0, _, end, fan_in, fan_out in self._layout
        ]

    def _forward(self, blocks):
        """Augmented inputs ``[[X, 1], [z_1, 1], ..., [z_{L-1}, 1]]`` and the output ``F``.

        Each hidden activation is written into an array with a trailing column of ones, so
        the next layer's bias needs no separate pass; ``z_l`` is the view without it.
        """
        Z = [self._X1]
        for Wb in blocks[:-1]:
            Z.append(self._tanh_layer(Z[-1], Wb))
        return Z, Z[-1] @ blocks[-1]

    @staticmethod
    def _tanh_layer(Z1: np.ndarray, Wb: np.ndarray) -> np.ndarray:
        """``[tanh(Z1 @ Wb), 1]``, computed in place in one new array."""
        out = np.empty((Z1.shape[0], Wb.shape[1] + 1))
        out[:, -1] = 1.0
        z = np.matmul(Z1, Wb, out=out[:, :-1])
        np.tanh(z, out=z)
        return out

    def predict(self, theta: ArrayLike, X: ArrayLike | None = None) -> np.ndarray:
        """Network outputs ``f_theta(x)`` for each row of ``X`` (the training inputs if None).

        Examples
        --------
        >>> net = MLP([[0.0, 1.0]], [1.0], hidden=(3,))
        >>> net.predict(net.init_params()).shape
        (1, 1)
        """
        params = self.unflatten(self._check(theta))
        Z = self.X if X is None else _as_data_matrix(X, "X")
        if Z.shape[1] != self.sizes[0]:
            raise ValueError(f"X has {Z.shape[1]} columns, the network expects {self.sizes[0]}")
        for W, b in params[:-1]:
            Z = np.tanh(Z @ W + b)
        W, b = params[-1]
        return Z @ W + b

    def loss(self, theta: ArrayLike) -> float:
        """``L(theta) = 1/(2N) sum_i ||f_theta(x_i) - y_i||^2``.

        Examples
        --------
        >>> net = MLP([[1.0]], [2.0], hidden=())  # f(x) = w x + b
        >>> net.loss([0.5, 0.5])  # (1 - 2)^2 / 2
        0.5
        """
        _, F = self._forward(self._blocks(self._check(theta)))
        F -= self.Y
        return float(np.vdot(F, F)) / (2 * self.n_samples)

    def loss_and_grad(self, theta: ArrayLike) -> tuple[float, np.ndarray]:
        """The loss and its gradient from one forward and one backward pass.

        Backpropagation (the chain rule applied from the output back, Chapter 17): with
        ``delta_L = (F - Y) / N`` and ``delta_l = (delta_{l+1} W_{l+1}^T) * (1 - z_l^2)``,
        ``dL/dW_l = z_{l-1}^T delta_l`` and ``dL/db_l = sum over samples of delta_l``.

        Examples
        --------
        >>> net = MLP([[1.0]], [2.0], hidden=())
        >>> value, g = net.loss_and_grad([0.5, 0.5])
        >>> value, g.tolist()
        (0.5, [-1.0, -1.0])
        """
        blocks = self._blocks(self._check(theta))
        Z, F = self._forward(blocks)
        F -= self.Y  # F now holds the residuals r
        value = float(np.vdot(F, F)) / (2 * self.n_samples)
        F /= self.n_samples  # delta at the output
        return value, self._backward(blocks, Z, F)

    def _backward(self, blocks, Z, delta) -> np.ndarray:
        """Vector-Jacobian product: ``J^T delta`` for an output adjoint ``delta`` (N, n_out).

        Overwrites the hidden activations in ``Z`` (each is dead once its layer is done).
        """
        g = np.empty(self.n_params)
        for layer in range(len(blocks) - 1, -1, -1):
            # [dL/dW; dL/db] = [z, 1]^T delta, written straight into g
            np.matmul(Z[layer].T, delta, out=self._blocks(g)[layer])
            if layer > 0:
                # delta_{l} = (1 - z^2) * (delta W^T), in z's memory: z is not needed any more
                z = Z[layer][:, :-1]
                z *= z
                np.subtract(1.0, z, out=z)
                _scale_by_product(z, delta, blocks[layer][:-1])
                delta = z
        return g

    def grad(self, theta: ArrayLike) -> np.ndarray:
        """Gradient ``dL/dtheta`` by backpropagation (see :meth:`loss_and_grad`).

        Examples
        --------
        >>> net = MLP([[1.0]], [2.0], hidden=())
        >>> net.grad([0.5, 0.5]).tolist()
        [-1.0, -1.0]
        """
        return self.loss_and_grad(theta)[1]

    def hvp(self, theta: ArrayLike, v: ArrayLike) -> np.ndarray:
        """Hessian-vector product ``H(theta) v`` by Pearlmutter's R-operator (Chapter 17).

        Forward-over-reverse: ``R{.} = d/dt (.)(theta + t v) at t = 0`` is pushed through
        the forward pass and then through the backward pass, so ``R{grad L} = H v``. With
        ``(V_l, c_l)`` the blocks of ``v`` and ``D_l = 1 - z_l^2`` (tanh's derivative):

        * forward: ``a_l = z_{l-1} W_l + b_l``, ``z_l = tanh(a_l)`` and
          ``R{a_l} = R{z_{l-1}} W_l + z_{l-1} V_l + c_l``, ``R{z_l} = D_l * R{a_l}``,
          ``R{z_0} = 0``; the output ``F = a_L`` (no tanh);
        * output: ``delta_L = (F - Y) / N`` and ``R{delta_L} = R{F} / N``;
        * backward: ``R{dL/dW_l} = R{z_{l-1}}^T delta_l + z_{l-1}^T R{delta_l}``,
          ``R{dL/db_l} = sum R{delta_l}``, and
          ``R{delta_{l-1}} = (R{delta_l} W_l^T + delta_l V_l^T) * D_{l-1}
          - 2 (delta_l W_l^T) * z_{l-1} * R{z_{l-1}}``,
          ``delta_{l-1} = (delta_l W_l^T) * D_{l-1}``.

        The matrix ``H`` is never formed: memory is O(n) for the vectors plus a few
        activation-sized arrays per layer, and the cost is a small constant times a
        gradient. This is the formula written out; :meth:`hvp_fast` computes the same
        product with fewer temporary arrays (the benchmarks use it).

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP([[1.0], [2.0]], [0.0, 1.0], hidden=())  # linear: H = X~^T X~ / N
        >>> net.hvp([0.0, 0.0], [1.0, 0.0]).tolist()  # first column of [[2.5, 1.5], [1.5, 1]]
        [2.5, 1.5]
        """
        params = self.unflatten(self._check(theta))
        tangents = self.unflatten(self._check(v, "v"))
        N = self.n_samples

        # forward pass, with the tangents R{z} beside the activations z
        z, Rz = self.X, np.zeros_like(self.X)
        zs, Rzs = [z], [Rz]
        for (W, b), (V, c) in zip(params[:-1], tangents[:-1], strict=True):
            Ra = Rz @ W + z @ V + c
            z = np.tanh(z @ W + b)
            Rz = (1 - z**2) * Ra
            zs.append(z)
            Rzs.append(Rz)
        (W, b), (V, c) = params[-1], tangents[-1]
        F = z @ W + b
        RF = Rz @ W + z @ V + c
        delta, Rdelta = (F - self.Y) / N, RF / N

        # backward pass, with R{delta} beside delta
        Hv = []
        for layer in reversed(range(len(params))):
            W, V = params[layer][0], tangents[layer][0]
            z, Rz = zs[layer], Rzs[layer]
            Hv.append((Rz.T @ delta + z.T @ Rdelta, Rdelta.sum(axis=0)))  # R{dL/dW}, R{dL/db}
            if layer > 0:
                D = 1 - z**2
                back = delta @ W.T
                Rdelta = (Rdelta @ W.T + delta @ V.T) * D - 2 * back * z * Rz
                delta = back * D
        return np.concatenate([np.concatenate([RdW.ravel(), Rdb]) for RdW, Rdb in Hv[::-1]])

    def hvp_fast(self, theta: ArrayLike, v: ArrayLike) -> np.ndarray:
        """:meth:`hvp` with the memory reused: the same product, equal to rounding.

        The passes of :meth:`hvp`, with the bias folded into each layer's matrix
        (``[z, 1] @ [W; b]``), the results written straight into the output vector, two
        products fused into one where they share a shape, and every activation-sized
        array overwritten once it is dead. Counting matrix products, the first layer
        needs three (``X W_1``, ``X V_1``, ``X^T R{delta_1}``) against the gradient's
        two, and a hidden-to-hidden layer eight against three; the elementwise work on
        the N x width activations (D, R{z}, R{delta}) is about three times the
        gradient's. So one hidden layer fed by many inputs costs about 1.5 gradients, a
        thin input layer (elementwise work dominating) or deep stacks of wide layers
        about 2-3 (``benchmarks/bench_mlp.py`` measures it against :meth:`grad`).

        Examples
        --------
        >>> import numpy as np
        >>> net = MLP(*make_regression_data(30, 3, 2, rng=0), hidden=(5, 4), rng=0)
        >>> theta, v = net.init_params(), np.ones(net.n_params)
        >>> bool(np.allclose(net.hvp_fast(theta, v), net.hvp(theta, v), rtol=1e-13))
        True
        """
        theta = self._check(theta)
        v = self._check(v, "v")
        blocks, vblocks = self._blocks(theta), self._blocks(v)
        n_layers = len(blocks)

        # forward pass and its tangent, the R-forward pass; Z[l] = [z_l, 1]
        Z, D, RZ = [self._X1], [None], [None]
        for layer in range(n_layers):
            Wb, Vc = blocks[layer], vblocks[layer]
            RA = Z[-1] @ Vc
            if RZ[-1] is not None:
                RA += RZ[-1] @ Wb[:-1]
            if layer == n_layers - 1:
                break
            Z.append(self._tanh_layer(Z[-1], Wb))
            z = Z[-1][:, :-1]
            d = np.multiply(z, z)
            np.subtract(1.0, d, out=d)  # D = 1 - z^2
            RA *= d  # R{z} = D * R{a}
            D.append(d)
            RZ.append(RA)
        delta = Z[-1] @ blocks[-1]
        delta -= self.Y
        delta /= self.n_samples  # delta_L = (F - Y) / N
        Rdelta = RA
        Rdelta /= self.n_samples  # R{delta_L} = R{F} / N

        # backward pass and its tangent, written straight into Hv
        Hv = np.empty(self.n_params)
        hblocks = self._blocks(Hv)
        for layer in range(n_layers - 1, -1, -1):
            W, V = blocks[layer][:-1], vblocks[layer][:-1]
            np.matmul(Z[layer].T, Rdelta, out=hblocks[layer])
            if layer == 0:
                break
            z, d, Rz = Z[layer][:, :-1], D[layer], RZ[layer]
            hblocks[layer][:-1] += Rz.T @ delta
            # R{delta_{l-1}} = (R{delta} W^T + delta V^T) * D - 2 z * R{z} * (delta W^T),
            # built in the memory of z and R{z}, which are not needed any more
            Rz *= z
            Rdelta_next = _two_products(Rdelta, W, delta, V, out=z)
            Rdelta_next *= d
            _scale_by_product(Rz, -2.0 * delta, W)
            Rdelta_next += Rz
            if layer > 1:  # the first layer needs R{delta} only, since R{z_0} = 0
                _scale_by_product(d, delta, W)  # delta_{l-1} = D * (delta W^T), in D's memory
                delta = d
            Rdelta = Rdelta_next
        return Hv

    def gauss_newton_vp(self, theta: ArrayLike, v: ArrayLike) -> np.ndarray:
        """Gauss-Newton product ``G v = J^T J v / N`` (Chapter 16), never forming J.

        ``J`` is the Jacobian of the N x n_out outputs with respect to ``theta``. The product
        is a Jacobian-vector product (the R-forward pass, giving ``J v``) followed by a
        vector-Jacobian product (backpropagation of ``J v / N``). ``G`` is the Hessian
        ``H = G + (1/N) sum_i r_i . d^2 f(x_i)`` without its residual term: it is positive
        semidefinite and equals ``H`` wherever the residuals ``r_i`` vanish.

        Examples
        --------
        >>> net = MLP([[1.0], [2.0]], [0.0, 1.0], hidden=())  # linear model: G = H
        >>> net.gauss_newton_vp([0.3, -0.2], [1.0, 0.0]).tolist()
        [2.5, 1.5]
        """
        theta = self._check(theta)
        v = self._check(v, "v")
        blocks, vblocks = self._blocks(theta), self._blocks(v)
        Z, RZ = [self._X1], None
        for layer, (Wb, Vc) in enumerate(zip(blocks, vblocks, strict=True)):
            RA = Z[-1] @ Vc
            if RZ is not None:
                RA += RZ @ Wb[:-1]
            if layer == len(blocks) - 1:
                break
            Z.append(self._tanh_layer(Z[-1], Wb))
            z = Z[-1][:, :-1]
            d = np.multiply(z, z)
            np.subtract(1.0, d, out=d)
            RA *= d  # R{z} = (1 - z^2) * R{a}
            RZ = RA
        RA /= self.n_samples  # J v / N
        return self._backward(blocks, Z, RA)

    def hessian(self, theta: ArrayLike) -> np.ndarray:
        """The dense Hessian, column by column: ``H e_j = hvp(theta, e_j)``.

        For small nets only (``n_params <= 5000``): it costs n HVPs and n^2 floats, which is
        exactly what :meth:`hvp` exists to avoid. The result is symmetrised,
        ``(H + H^T) / 2``, to remove rounding-level asymmetry.

        Examples
        --------
        >>> net = MLP([[1.0], [2.0]], [0.0, 1.0], hidden=())
        >>> net.hessian([0.0, 0.0]).tolist()
        [[2.5, 1.5], [1.5, 1.0]]
        """
        theta = self._check(theta)
        n = self.n_params
        if n > _MAX_DENSE_PARAMS:
            raise ValueError(
                f"refusing to form a dense {n} x {n} Hessian: it would need "
                f"{n * n * 8 / 1e9:.3g} GB and {n} HVPs (limit {_MAX_DENSE_PARAMS} parameters); "
                "use hvp with power_iteration, lanczos or hutchinson_trace instead"
            )
        H = np.empty((n, n))
        e = np.zeros(n)
        for j in range(n):
            e[j] = 1.0
            H[:, j] = self.hvp_fast(theta, e)
            e[j] = 0.0
        return (H + H.T) / 2


def make_regression_data(
    n_samples: int,
    n_in: int,
    n_out: int = 1,
    rng: int | np.random.Generator | None = 0,
    noise: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded inputs and a smooth nonlinear target for regression experiments.

    ``X`` has i.i.d. standard normal entries and ``Y_ij = sin(x_i . a_j) + cos(x_i . c_j) / 2``
    (plus ``noise`` times standard normal noise), with random directions ``a_j, c_j`` of
    length one, so the target is smooth and of order one whatever ``n_in`` is.

    Examples
    --------
    >>> X, Y = make_regression_data(100, 5, 2, rng=1)
    >>> X.shape, Y.shape
    ((100, 5), (100, 2))
    >>> bool(np.array_equal(Y, make_regression_data(100, 5, 2, rng=1)[1]))
    True
    """
    n_samples = as_int(n_samples, "n_samples", 1)
    n_in = as_int(n_in, "n_in", 1)
    n_out = as_int(n_out, "n_out", 1)
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite non-negative number, got {noise!r}")
    gen = np.random.default_rng(rng)
    X = gen.standard_normal((n_samples, n_in))
    a = gen.standard_normal((n_in, n_out))
    c = gen.standard_normal((n_in, n_out))
    a /= np.linalg.norm(a, axis=0)
    c /= np.linalg.norm(c, axis=0)
    Y = np.sin(X @ a) + 0.5 * np.cos(X @ c)
    if noise:
        Y += noise * gen.standard_normal(Y.shape)
    return X, Y


def mlp_of_size(
    n_params: int,
    depth: int = 1,
    n_in: int = 16,
    n_out: int = 1,
    n_samples: int = 256,
    rng: int | np.random.Generator | None = 0,
) -> MLP:
    """An MLP of ``depth`` equal hidden layers with about ``n_params`` parameters.

    The common width ``h`` is the positive root of
    ``(depth - 1)(h^2 + h) + (n_in + 1) h + (h + 1) n_out = n_params``, rounded to the
    integer giving the nearer count, and at least 1; the data come from
    :func:`make_regression_data` with the same ``rng``.

    Examples
    --------
    >>> net = mlp_of_size(10_000, depth=2, n_in=8)
    >>> net.hidden, net.n_params
    ((95, 95), 10071)
    """
    n_params = as_int(n_params, "n_params", 1)
    depth = as_int(depth, "depth", 1)
    a = depth - 1
    b = n_in + 1 + (depth - 1) + n_out
    c = n_out - n_params
    h = -c / b if a == 0 else (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)
    candidates = {max(1, int(np.floor(h))), max(1, int(np.ceil(h)))}
    width = min(candidates, key=lambda w: abs(a * w * w + b * w + c))  # the nearer count
    X, Y = make_regression_data(n_samples, n_in, n_out, rng=rng)
    return MLP(X, Y, hidden=(width,) * depth, rng=rng)
