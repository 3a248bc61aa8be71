"""Hessian-vector products of an :class:`~gdl.thermo.Objective`: H v = ∇(∇L(w) · v), never forming H.

H = ∇²L(w) is the d × d Hessian of the training loss at the current weights (L = Σ_b ω_b L_b, so
H v = Σ_b ω_b H_b v, accumulated batch by batch). Two ways to compute H v:

- ``method="double_backward"`` (default): g_b = ∂L_b/∂w with ``create_graph=True``, then
  H_b v = ∂(g_b · v)/∂w by a second backward pass (Pearlmutter 1994). With ``cache_graph=True``
  the first-order graphs are built once per batch and reused by every product (only the second
  backward runs per product); the cache is rebuilt when a parameter changes in place (its version
  counter moves), so an operator is never silently evaluated at stale weights.
- ``method="func"``: forward-over-reverse ``torch.func.jvp(torch.func.grad(L), (w,), (v,))`` with the
  model called through ``torch.func.functional_call`` (same numbers to ~1e-13 in float64, usually slower
  on message-passing models; see docs/thermo.md).

Models whose fast path is differentiable only once (gdl's fused EGNN layer) are switched to their
twice-differentiable path while a product runs (``gdl.thermo.twice_differentiable``). A parameter whose
gradient comes back **without** an autograd graph although it is non-zero (a custom autograd Function marked
``once_differentiable`` elsewhere) would silently give a zero Hessian block: that is an error
(``strict=False`` accepts it, e.g. for a loss that is exactly linear in some parameters).

Symmetry: for an equivariant model under a global symmetry of the data (same transformation of every
batch), L and therefore H are exactly invariant, so every spectral quantity below is too (float64
rounding only).
"""
from __future__ import annotations

from typing import List, Optional

import torch

from gdl.thermo._energy_model import twice_differentiable
from gdl.thermo._objective import Objective, flatten, unflatten

METHODS = ("double_backward", "func")


class HessianOperator:
    """The symmetric linear map v ↦ H v of an objective at its current weights (see the module docstring).

    ``operator @ v`` / ``operator.matvec(v)`` take a flat vector of length ``dim`` (any float dtype) and
    return H v in float64; ``matmat(V)`` applies it to the columns of V[d, m]. ``n_products`` counts the
    products computed (the cost unit of every estimator: one product ≈ one forward + two backward passes
    per batch without the cache, one second-order backward with it).
    """

    def __init__(self, objective: Objective, method: str = "double_backward", cache_graph: bool = True,
                 strict: bool = True):
        if method not in METHODS:
            raise ValueError(f"unknown Hessian-vector method {method!r}; expected one of {', '.join(METHODS)}")
        if not isinstance(objective, Objective):
            raise TypeError(f"HessianOperator: expected a gdl.thermo.Objective, got {type(objective).__name__}")
        self.objective = objective
        self.method = method
        self.cache_graph = bool(cache_graph) and method == "double_backward"
        self.strict = bool(strict)
        self.params = objective.params()
        self.dim = objective.dim
        self.n_products = 0
        self._cache: Optional[List[List[torch.Tensor]]] = None
        self._versions: Optional[List[int]] = None
        self._functional = None

    @property
    def shape(self):
        return (self.dim, self.dim)

    def __matmul__(self, vector: torch.Tensor) -> torch.Tensor:
        return self.matvec(vector) if vector.dim() == 1 else self.matmat(vector)

    def _check(self, vector: torch.Tensor) -> torch.Tensor:
        if vector.dim() != 1 or vector.numel() != self.dim:
            raise ValueError(f"expected a flat vector of {self.dim} entries (the number of parameters), "
                             f"got shape {tuple(vector.shape)}")
        return vector.to(device=self.objective.device, dtype=self.objective.dtype)

    def matvec(self, vector: torch.Tensor) -> torch.Tensor:
        """H v (float64, flat)."""
        v = self._check(vector)
        self.n_products += 1
        if self.method == "func":
            return self._func_product(v).to(torch.float64)
        pieces = unflatten(v, self.params)
        total = torch.zeros(self.dim, dtype=torch.float64, device=self.objective.device)
        with twice_differentiable(self.objective.model):
            for index, weight in enumerate(self.objective.weights):
                grads = self._gradient_graph(index)
                dot = sum((g * p).sum() for g, p in zip(grads, pieces) if g.requires_grad)
                if not isinstance(dot, torch.Tensor) or not dot.requires_grad:
                    continue  # this batch's gradient does not depend on w: H_b = 0
                hv = torch.autograd.grad(dot, self.params, retain_graph=self.cache_graph, allow_unused=True)
                total += weight * flatten([torch.zeros_like(p) if h is None else h for p, h in zip(self.params, hv)]).to(torch.float64)
        return total

    def matmat(self, matrix: torch.Tensor) -> torch.Tensor:
        """H V for the columns of V[d, m] (float64)."""
        if matrix.dim() != 2 or matrix.shape[0] != self.dim:
            raise ValueError(f"expected a matrix of shape ({self.dim}, m), got {tuple(matrix.shape)}")
        return torch.stack([self.matvec(matrix[:, j]) for j in range(matrix.shape[1])], dim=1)

    # ------------------------------------------------------------------ double backward
    def _current_versions(self) -> List[int]:
        return [p._version for p in self.params]

    def _gradient_graph(self, index: int) -> List[torch.Tensor]:
        if not self.cache_graph:
            return self._first_order(index)
        if self._cache is None or self._versions != self._current_versions():
            self._cache = [None] * len(self.objective.batches)
            self._versions = self._current_versions()
        if self._cache[index] is None:
            self._cache[index] = self._first_order(index)
        return self._cache[index]

    def _first_order(self, index: int) -> List[torch.Tensor]:
        loss = self.objective.batch_loss(index)
        grads = torch.autograd.grad(loss, self.params, create_graph=True, allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(self.params, grads)]
        if self.strict:
            names = {id(p): name for name, p in self.objective.model.named_parameters()}
            for p, g in zip(self.params, grads):
                if not g.requires_grad and bool((g != 0).any()):
                    raise RuntimeError(
                        f"the gradient of parameter {names.get(id(p), '?')!r} has no autograd graph although it is non-zero: "
                        "part of the model is differentiable only once (e.g. a custom autograd.Function with "
                        "@once_differentiable), so its Hessian block would silently be zero; use the model's "
                        "twice-differentiable path, or pass strict=False if the loss is exactly linear in it")
        return grads

    def release(self) -> None:
        """Drop the cached first-order graphs (frees their memory)."""
        self._cache, self._versions = None, None

    # ------------------------------------------------------------------ torch.func
    def _func_product(self, v: torch.Tensor) -> torch.Tensor:
        from torch.func import functional_call, grad, jvp

        if self._functional is None:
            self._functional = _FunctionalLoss(self.objective)
        wrapper, names = self._functional.wrapper, self._functional.names
        w = flatten([p.detach() for p in self.params])
        total = torch.zeros(self.dim, dtype=torch.float64, device=self.objective.device)
        for index, weight in enumerate(self.objective.weights):
            wrapper.index = index

            def loss_of(flat):
                values = dict(zip(names, unflatten(flat, self.params)))
                return functional_call(wrapper, values, ())

            try:
                with twice_differentiable(self.objective.model):
                    _, hv = jvp(grad(loss_of), (w,), (v,))
            except RuntimeError as exc:
                raise RuntimeError(f"method='func' (torch.func jvp over grad) failed on this model: {exc} — in-place "
                                   "scatters (index_add_) in message passing are not functorch-safe; use "
                                   "method='double_backward'") from exc
            total += weight * hv.to(torch.float64)
        return total


class _FunctionalLoss:
    """Wraps ``loss_fn(model, batch)`` in a module so ``torch.func.functional_call`` can swap the parameters."""

    def __init__(self, objective: Objective):
        by_id = {id(p): name for name, p in objective.model.named_parameters()}
        missing = [i for i, p in enumerate(objective.params()) if id(p) not in by_id]
        if missing:
            raise ValueError("method='func' needs every objective parameter to be a parameter of the model; "
                             f"parameters {missing} are not")
        self.names = ["model." + by_id[id(p)] for p in objective.params()]
        self.wrapper = _LossModule(objective)


class _LossModule(torch.nn.Module):
    def __init__(self, objective: Objective):
        super().__init__()
        self.model = objective.model
        self._objective = objective
        self.index = 0

    def forward(self):
        return self._objective.batch_loss(self.index)


def hessian_vector_product(objective: Objective, vector: torch.Tensor, method: str = "double_backward",
                           strict: bool = True) -> torch.Tensor:
    """H v at the objective's current weights (float64, flat); one-off form of :class:`HessianOperator`."""
    return HessianOperator(objective, method=method, cache_graph=False, strict=strict).matvec(vector)


def dense_hessian(objective: Objective, method: str = "double_backward") -> torch.Tensor:
    """The full d × d Hessian by d products with the unit vectors (float64, symmetrised); for small models and tests."""
    operator = HessianOperator(objective, method=method)
    eye = torch.eye(operator.dim, dtype=torch.float64, device=objective.device)
    hessian = operator.matmat(eye)
    return 0.5 * (hessian + hessian.T)
