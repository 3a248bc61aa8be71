"""Extreme Hessian eigenvalues by Lanczos with full reorthogonalisation (and power iteration, for contrast).

Lanczos builds an orthonormal basis Q_m = [q_1 … q_m] of the Krylov space K_m(H, q_1) and the
tridiagonal T_m = Q_mᵀ H Q_m (α_j on the diagonal, β_j beside it) from m Hessian-vector products:

    β_j q_{j+1} = H q_j − α_j q_j − β_{j−1} q_{j−1},   α_j = q_jᵀ H q_j,

with every new vector re-orthogonalised against all previous ones (twice, classical Gram–Schmidt:
without it rounding makes ghost copies of converged eigenvalues). The Ritz values θ_i (eigenvalues of T_m)
approach the extreme eigenvalues of H from inside, both ends at once; the residual of the Ritz pair
(θ_i, y_i = Q_m s_i) is ‖H y_i − θ_i y_i‖ = |β_m s_{m,i}|, which stops the iteration. Lanczos returns the
top **algebraic** eigenvalues (``which="largest"``) or the bottom ones (``"smallest"``); with m = d it is
exact up to rounding.

Power iteration v ← Hv/‖Hv‖ converges to the eigenvalue of largest **magnitude**; at a saddle or in a
network with a strongly negative direction that is a negative number, not the sharpness
(issue #14: −13126 returned where the top eigenvalue was +3122). It is kept here to show that.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from gdl.thermo._objective import Objective
from gdl.thermo.landscape._hessian import HessianOperator


@dataclass
class LanczosState:
    """The Krylov basis Q[d, m] and the tridiagonal coefficients α[m], β[m−1] (float64)."""

    basis: torch.Tensor
    alpha: torch.Tensor
    beta: torch.Tensor
    last_beta: float  # β_m: the residual scale of every Ritz pair (0 on an invariant subspace)

    def tridiagonal(self) -> torch.Tensor:
        m = self.alpha.numel()
        t = torch.diag(self.alpha)
        if m > 1:
            t = t + torch.diag(self.beta[: m - 1], 1) + torch.diag(self.beta[: m - 1], -1)
        return t


@dataclass
class EigenResult:
    """``eigenvalues`` [k] (float64; descending for ``largest``, ascending for ``smallest``), ``eigenvectors``
    [d, k] (unit Ritz vectors), ``residuals`` [k] = ‖H y − θ y‖, ``n_products`` Hessian-vector products,
    ``n_iterations`` Lanczos steps, ``converged`` (every residual ≤ tol · max(|θ|, 1e-30))."""

    eigenvalues: torch.Tensor
    eigenvectors: torch.Tensor
    residuals: torch.Tensor
    n_products: int
    n_iterations: int
    converged: bool
    which: str

    @property
    def max(self) -> float:
        """λ_max when ``which='largest'`` (the first eigenvalue)."""
        return float(self.eigenvalues[0])


def _as_operator(target, method: str = "double_backward") -> HessianOperator:
    if isinstance(target, Objective):
        return HessianOperator(target, method=method)
    if hasattr(target, "matvec") and hasattr(target, "dim"):
        return target
    raise TypeError(f"expected a gdl.thermo.Objective or a HessianOperator, got {type(target).__name__}")


def _random_unit(dim: int, generator: Optional[torch.Generator], device) -> torch.Tensor:
    v = torch.randn(dim, generator=generator, dtype=torch.float64)
    return (v / v.norm()).to(device)


def lanczos(operator, n_iterations: int, start: Optional[torch.Tensor] = None,
            generator: Optional[torch.Generator] = None, reorthogonalize: bool = True, stop=None) -> LanczosState:
    """Run up to ``n_iterations`` Lanczos steps from ``start`` (default: a unit Gaussian from ``generator``).

    Stops early on an invariant subspace (β_j ≤ 1e-12 · max|α|) or when ``stop(state)`` returns true
    (checked after every step). ``operator`` has ``dim`` and ``matvec`` (a :class:`HessianOperator`).
    """
    dim = operator.dim
    if n_iterations < 1:
        raise ValueError(f"n_iterations must be ≥ 1, got {n_iterations}")
    m = min(int(n_iterations), dim)
    device = getattr(getattr(operator, "objective", None), "device", None) or torch.device("cpu")
    q = _random_unit(dim, generator, device) if start is None else start.to(device=device, dtype=torch.float64)
    if start is not None:
        if q.dim() != 1 or q.numel() != dim:
            raise ValueError(f"start must be a flat vector of {dim} entries, got shape {tuple(start.shape)}")
        norm = q.norm()
        if norm == 0:
            raise ValueError("start vector is zero")
        q = q / norm
    basis = torch.zeros(dim, m, dtype=torch.float64, device=device)
    alpha = torch.zeros(m, dtype=torch.float64, device=device)
    beta = torch.zeros(m, dtype=torch.float64, device=device)
    basis[:, 0] = q
    steps = m
    for j in range(m):
        w = operator.matvec(basis[:, j]).to(torch.float64)
        alpha[j] = basis[:, j] @ w
        w = w - alpha[j] * basis[:, j]
        if j > 0:
            w = w - beta[j - 1] * basis[:, j - 1]
        if reorthogonalize:
            for _ in range(2):
                w = w - basis[:, : j + 1] @ (basis[:, : j + 1].T @ w)
        beta[j] = w.norm()
        scale = alpha[: j + 1].abs().max().clamp_min(1e-300)
        invariant = bool(beta[j] <= 1e-12 * scale)
        if invariant or j == m - 1 or (stop is not None and stop(LanczosState(basis[:, : j + 1], alpha[: j + 1], beta[:j], float(beta[j])))):
            steps = j + 1
            if invariant:
                beta[j] = 0.0
            break
        basis[:, j + 1] = w / beta[j]
    return LanczosState(basis[:, :steps], alpha[:steps].clone(), beta[: steps - 1].clone(), float(beta[steps - 1]))


def _ritz(state: LanczosState, k: int, which: str):
    theta, s = torch.linalg.eigh(state.tridiagonal())
    if which == "largest":
        order = torch.argsort(theta, descending=True)
    else:
        order = torch.argsort(theta)
    order = order[:k]
    values = theta[order]
    vectors = s[:, order]
    residuals = (state.last_beta * vectors[-1, :]).abs()
    return values, vectors, residuals


def hessian_eigenvalues(target, k: int = 1, which: str = "largest", *, max_iterations: Optional[int] = None,
                        tol: float = 1e-6, generator: Optional[torch.Generator] = None, seed: Optional[int] = None,
                        method: str = "double_backward", check_every: int = 5) -> EigenResult:
    """The ``k`` top-algebraic (``which='largest'``) or bottom (``'smallest'``) Hessian eigenvalues by Lanczos.

    ``target``: an :class:`~gdl.thermo.Objective` (the Hessian at its current weights) or a
    :class:`HessianOperator`. ``max_iterations``: Krylov dimension cap (default min(d, max(4k + 20, 30)));
    the iteration stops earlier once the wanted Ritz pairs have residual ≤ ``tol`` · |θ| (checked every
    ``check_every`` steps). ``generator`` / ``seed``: the start vector (a fixed seed gives the same numbers;
    the global RNG is never used). With ``max_iterations ≥ d`` the result is exact up to rounding.
    """
    if which not in ("largest", "smallest"):
        raise ValueError(f"which must be 'largest' (top algebraic) or 'smallest', got {which!r}")
    operator = _as_operator(target, method)
    if not 1 <= k <= operator.dim:
        raise ValueError(f"k must be in [1, {operator.dim}] (the number of parameters), got {k}")
    if tol <= 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    if generator is None:
        generator = torch.Generator().manual_seed(0 if seed is None else int(seed))
    m = max_iterations if max_iterations is not None else min(operator.dim, max(4 * k + 20, 30))
    start_products = operator.n_products

    def converged(state: LanczosState) -> bool:
        steps = state.alpha.numel()
        if steps < k or steps % check_every:
            return False
        values, _, residuals = _ritz(state, k, which)
        return bool((residuals <= tol * values.abs().clamp_min(1e-30)).all())

    state = lanczos(operator, m, generator=generator, stop=converged)
    values, vectors, residuals = _ritz(state, min(k, state.alpha.numel()), which)
    eigenvectors = state.basis @ vectors
    return EigenResult(values, eigenvectors, residuals, operator.n_products - start_products, state.alpha.numel(),
                       bool((residuals <= tol * values.abs().clamp_min(1e-30)).all()) and values.numel() == k, which)


def top_hessian_eigenvalues(target, k: int = 1, **options) -> EigenResult:
    """The k largest (algebraic) Hessian eigenvalues; λ_max = ``result.max``. See :func:`hessian_eigenvalues`."""
    return hessian_eigenvalues(target, k, "largest", **options)


def bottom_hessian_eigenvalues(target, k: int = 1, **options) -> EigenResult:
    """The k smallest (most negative) Hessian eigenvalues, ascending. See :func:`hessian_eigenvalues`."""
    return hessian_eigenvalues(target, k, "smallest", **options)


@dataclass
class PowerIterationResult:
    eigenvalue: float  # the Rayleigh quotient: converges to the eigenvalue of largest |λ|
    eigenvector: torch.Tensor
    n_products: int
    converged: bool


def power_iteration(target, n_iterations: int = 100, tol: float = 1e-8, *, generator: Optional[torch.Generator] = None,
                    seed: Optional[int] = None, method: str = "double_backward") -> PowerIterationResult:
    """v ← Hv/‖Hv‖ until the Rayleigh quotient changes by ≤ ``tol`` relative: the **largest-magnitude**
    eigenvalue (negative at a saddle). Kept to contrast with Lanczos; use :func:`top_hessian_eigenvalues`."""
    operator = _as_operator(target, method)
    if generator is None:
        generator = torch.Generator().manual_seed(0 if seed is None else int(seed))
    device = getattr(getattr(operator, "objective", None), "device", None) or torch.device("cpu")
    v = _random_unit(operator.dim, generator, device)
    value, converged, start = float("nan"), False, operator.n_products
    for _ in range(int(n_iterations)):
        w = operator.matvec(v)
        new = float(v @ w)
        norm = w.norm()
        if norm == 0:
            value, converged = 0.0, True
            break
        v = w / norm
        if abs(new - value) <= tol * abs(new):
            value, converged = new, True
            break
        value = new
    return PowerIterationResult(value, v, operator.n_products - start, converged)
