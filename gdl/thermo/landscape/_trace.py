"""The Hessian trace tr H = Σ_i λ_i by Hutchinson's estimator (and Hutch++), with a standard error.

Hutchinson (1989): for probes z with E[z zᵀ] = I (Rademacher ±1 by default, or Gaussian),

    tr H = E[zᵀ H z] ≈ (1/m) Σ_j z_jᵀ H z_j,     se = std_j(z_jᵀ H z_j) / √m   (sample std, ddof = 1).

For Rademacher probes Var(zᵀHz) = 2 Σ_{i≠j} H_ij² (off-diagonal mass only), for Gaussian 2‖H‖_F².
Hutch++ (Meyer, Musco, Musco & Woodruff 2021) spends a third of the m products on a sketch S, takes
Q = orth(H S), counts tr(Qᵀ H Q) exactly and runs Hutchinson on the deflated (I − QQᵀ) H (I − QQᵀ):
the error falls like 1/m instead of 1/√m when the spectrum is dominated by a few large eigenvalues.
Its ``standard_error`` is that of the Hutchinson part (the exact part has none).

Symmetry: the trace is invariant under any orthogonal change of the parameters' basis and under a global
symmetry of the data that the model respects (same probes → same estimate, up to rounding).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch

from gdl.thermo.landscape._lanczos import _as_operator

DISTRIBUTIONS = ("rademacher", "gaussian")


@dataclass
class TraceEstimate:
    """``value`` ± ``standard_error`` from ``n_products`` Hessian-vector products; ``samples`` the per-probe zᵀHz."""

    value: float
    standard_error: float
    n_products: int
    samples: torch.Tensor
    method: str = "hutchinson"

    def __str__(self):
        return f"{self.value:.6g} ± {self.standard_error:.2g} ({self.method}, {self.n_products} products)"


def probe_vectors(dim: int, n: int, generator: torch.Generator, distribution: str = "rademacher") -> torch.Tensor:
    """n probes z[d, n] with E[z zᵀ] = I (float64): Rademacher ±1 or standard Gaussian."""
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"unknown probe distribution {distribution!r}; expected one of {', '.join(DISTRIBUTIONS)}")
    if distribution == "gaussian":
        return torch.randn(dim, n, generator=generator, dtype=torch.float64)
    return torch.randint(0, 2, (dim, n), generator=generator).to(torch.float64).mul_(2).sub_(1)


def _generator(generator, seed):
    return generator if generator is not None else torch.Generator().manual_seed(0 if seed is None else int(seed))


def hutchinson_trace(target, n_probes: int = 100, *, distribution: str = "rademacher",
                     generator: Optional[torch.Generator] = None, seed: Optional[int] = None,
                     method: str = "double_backward") -> TraceEstimate:
    """tr H ± its standard error from ``n_probes`` probes (≥ 2 for an error bar). See the module docstring."""
    if n_probes < 2:
        raise ValueError(f"n_probes must be ≥ 2 (the standard error needs two samples), got {n_probes}")
    operator = _as_operator(target, method)
    device = getattr(getattr(operator, "objective", None), "device", None) or torch.device("cpu")
    probes = probe_vectors(operator.dim, n_probes, _generator(generator, seed), distribution).to(device)
    start = operator.n_products
    samples = torch.stack([probes[:, j] @ operator.matvec(probes[:, j]) for j in range(n_probes)])
    value = float(samples.mean())
    se = float(samples.std(unbiased=True) / math.sqrt(n_probes))
    return TraceEstimate(value, se, operator.n_products - start, samples.cpu(), "hutchinson")


def hutchpp_trace(target, n_products: int = 99, *, distribution: str = "rademacher",
                  generator: Optional[torch.Generator] = None, seed: Optional[int] = None,
                  method: str = "double_backward") -> TraceEstimate:
    """Hutch++ with a budget of ``n_products`` Hessian-vector products (≥ 6: a third sketch, a third exact
    part, a third Hutchinson on the deflated remainder). See the module docstring."""
    if n_products < 6:
        raise ValueError(f"Hutch++ needs n_products ≥ 6 (sketch, exact part and ≥ 2 residual probes), got {n_products}")
    operator = _as_operator(target, method)
    device = getattr(getattr(operator, "objective", None), "device", None) or torch.device("cpu")
    generator = _generator(generator, seed)
    d = operator.dim
    sketch = min(n_products // 3, d)
    n_residual = n_products - 2 * sketch
    start = operator.n_products
    s = probe_vectors(d, sketch, generator, distribution).to(device)
    q, _ = torch.linalg.qr(operator.matmat(s))
    exact = float(torch.trace(q.T @ operator.matmat(q)))
    g = probe_vectors(d, n_residual, generator, distribution).to(device)
    g = g - q @ (q.T @ g)
    # g ← (I − QQᵀ) g, so gᵀ H g = g₀ᵀ (I − QQᵀ) H (I − QQᵀ) g₀: Hutchinson on the deflated remainder
    samples = torch.stack([g[:, j] @ operator.matvec(g[:, j]) for j in range(n_residual)])
    value = exact + float(samples.mean())
    se = float(samples.std(unbiased=True) / math.sqrt(n_residual))
    return TraceEstimate(value, se, operator.n_products - start, samples.cpu(), "hutch++")
