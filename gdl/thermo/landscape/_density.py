"""The Hessian's eigenvalue density by stochastic Lanczos quadrature (Ubaru, Chen & Saad 2017; Ghorbani et al. 2019).

The spectral density φ(t) = (1/d) Σ_i δ(t − λ_i), broadened by a Gaussian g_σ, is
φ_σ(t) = (1/d) tr g_σ(t − H) = E_v[vᵀ g_σ(t − H) v] for unit probes v uniform on the sphere (E[v vᵀ] = I/d;
v = z/‖z‖ with z Gaussian).
m Lanczos steps from v give T_m = S Θ Sᵀ, and the Gauss quadrature vᵀ f(H) v ≈ Σ_k τ_k f(θ_k) with
nodes θ_k (Ritz values) and weights τ_k = S_{0k}² (Σ_k τ_k = 1). Averaged over n_v probes:

    φ_σ(t) ≈ (1/n_v) Σ_v Σ_k τ_k^(v) g_σ(t − θ_k^(v)),    ∫ φ_σ = 1.

The same nodes give tr H ≈ d · mean_v Σ_k τ_k θ_k. Symmetry: invariant like the trace and eigenvalues.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch

from gdl.thermo.landscape._lanczos import _as_operator, lanczos


@dataclass
class SpectralDensity:
    """``grid`` [G] and ``density`` [G] (integrates to ≈ 1 when the grid covers the nodes), the quadrature
    ``nodes`` / ``weights`` [n_probes, m], the broadening ``sigma``, ``n_products``."""

    grid: torch.Tensor
    density: torch.Tensor
    nodes: torch.Tensor
    weights: torch.Tensor
    sigma: float
    dim: int
    n_products: int

    @property
    def trace(self) -> float:
        """tr H ≈ d · mean over probes of Σ_k τ_k θ_k."""
        return float(self.dim * (self.weights * self.nodes).sum(dim=1).mean())

    def plot(self, path=None, ax=None, log=True):
        """Plot the density (log scale by default, as in Ghorbani et al.); saved to ``path`` when given."""
        import matplotlib

        if ax is None:
            matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(5, 3.2))
        else:
            fig = ax.figure
        ax.plot(self.grid.numpy(), self.density.clamp_min(1e-12).numpy() if log else self.density.numpy())
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("eigenvalue of the Hessian")
        ax.set_ylabel("density")
        ax.set_title(f"SLQ spectral density (σ = {self.sigma:.2g})")
        if path is not None:
            fig.tight_layout()
            fig.savefig(path, dpi=120)
        return fig


def gaussian_broadening(grid: torch.Tensor, nodes: torch.Tensor, weights: torch.Tensor, sigma: float) -> torch.Tensor:
    """(1/n_v) Σ_v Σ_k τ_k g_σ(t − θ_k) on ``grid``; nodes/weights [n_v, m]."""
    diff = grid[:, None, None] - nodes[None]
    kernel = torch.exp(-0.5 * (diff / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    return (kernel * weights[None]).sum(dim=2).mean(dim=1)


def spectral_density(target, n_iterations: int = 30, n_probes: int = 4, *, grid: Optional[torch.Tensor] = None,
                     n_grid: int = 1000, sigma: Optional[float] = None, generator: Optional[torch.Generator] = None,
                     seed: Optional[int] = None, method: str = "double_backward") -> SpectralDensity:
    """The Gaussian-broadened eigenvalue density by stochastic Lanczos quadrature (module docstring).

    ``grid``: evaluation points (default ``n_grid`` points over [min θ − 5σ, max θ + 5σ]); ``sigma``:
    broadening (default 1 % of the node range, at least 1e-12).
    """
    if n_probes < 1:
        raise ValueError(f"n_probes must be ≥ 1, got {n_probes}")
    operator = _as_operator(target, method)
    generator = generator if generator is not None else torch.Generator().manual_seed(0 if seed is None else int(seed))
    start = operator.n_products
    m = min(int(n_iterations), operator.dim)
    nodes = torch.zeros(n_probes, m, dtype=torch.float64)
    weights = torch.zeros(n_probes, m, dtype=torch.float64)
    for j in range(n_probes):
        state = lanczos(operator, m, generator=generator)
        theta, s = torch.linalg.eigh(state.tridiagonal())
        steps = theta.numel()  # fewer than m on an invariant subspace: pad with zero-weight nodes
        nodes[j, :steps] = theta.cpu()
        weights[j, :steps] = (s[0, :] ** 2).cpu()
        if steps < m:
            nodes[j, steps:] = theta[-1].cpu()
    span = float(nodes.max() - nodes.min())
    if sigma is None:
        sigma = max(0.01 * span, 1e-12)
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    if grid is None:
        grid = torch.linspace(float(nodes.min()) - 5 * sigma, float(nodes.max()) + 5 * sigma, n_grid, dtype=torch.float64)
    grid = grid.to(torch.float64).cpu()
    density = gaussian_broadening(grid, nodes, weights, sigma)
    return SpectralDensity(grid, density, nodes, weights, float(sigma), operator.dim, operator.n_products - start)
