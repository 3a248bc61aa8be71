"""The kernel basis of a gauge-equivariant convolution, solved numerically from its constraint.

A message from neighbour j to vertex i is K(φ_ij) ρ_in(α_ij) x_j (φ: log-map angle of j in
i's frame, α: transport angle; gdl's gauge convention, ``gdl.gauge``). A change of gauge
θ_i turns φ_ij into φ_ij + θ_i, so the message is gauge equivariant exactly when

    K(φ + θ) = ρ_out(θ) K(φ) ρ_in(−θ)        for all φ, θ,

which is GEM-CNN's constraint K(θ − g) = ρ_out(−g) K(θ) ρ_in(g) with g = −θ. For each pair of
irreps (ρ_m out, ρ_n in) the unknown K is a Fourier series up to frequency m + n,

    K(φ) = Σ_{k=0}^{m+n} cos(kφ) A_k + sin(kφ) B_k,        A_k, B_k ∈ R^{d_m × d_n},

and the constraint, evaluated at seeded random angles (φ_s, θ_s) with the irreps' matrices
from ``gdl.groups`` (``SO2().irreps``), is a linear system in (A, B). Its null space (SVD,
singular values below 1e-9 of the largest) is the basis. It reproduces GEM-CNN's Table 1:
1 element for ρ0→ρ0, 2 for ρ0↔ρm (frequency m), 4 for ρn→ρm (frequencies |m−n| and m+n).

Setting φ = 0 in the constraint gives K(θ) = ρ_out(θ) K(0) ρ_in(−θ): a solution is fixed by
W = K(0), and W ranges over all d_m × d_n matrices. The convolution uses exactly this fused
form, with W = Σ_b w_b K_b(0) over the solved basis (``KernelBasis.at_zero``).

The self-interaction (the message of vertex i to itself, where no angle exists) must commute
with the gauge group, ρ_out(θ) K = K ρ_in(θ): its solved basis is 1 element for ρ0→ρ0, 2 for
ρn→ρn (I and J = ρ_n(π/2)) and none between different frequencies.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import torch

from gdl.groups import SO2

_TOL = 1e-9


class KernelBasis(NamedTuple):
    """Solved basis of kernels ρ_n → ρ_m: ``cos`` and ``sin`` are [B, F+1, d_m, d_n] Fourier
    coefficients (A_k, B_k) of each basis kernel, for frequencies k = 0 … F (F = m + n)."""

    out_freq: int
    in_freq: int
    cos: torch.Tensor
    sin: torch.Tensor

    @property
    def size(self) -> int:
        return self.cos.shape[0]

    def evaluate(self, angle: torch.Tensor) -> torch.Tensor:
        """K_b(φ) for angles [S]: [S, B, d_m, d_n]."""
        k = torch.arange(self.cos.shape[1], dtype=torch.float64)
        arg = angle.to(torch.float64)[:, None] * k
        return torch.einsum("sk,bkpq->sbpq", torch.cos(arg), self.cos) + torch.einsum("sk,bkpq->sbpq", torch.sin(arg), self.sin)

    def at_zero(self) -> torch.Tensor:
        """K_b(0) = Σ_k A_k: [B, d_m, d_n]."""
        return self.cos.sum(1)

    def frequencies(self) -> list:
        """The frequencies k with a non-zero coefficient in some basis kernel (sorted)."""
        norm = self.cos.abs().amax((0, 2, 3)) + self.sin.abs().amax((0, 2, 3))
        return [k for k in range(norm.shape[0]) if norm[k] > 1e-8]


def _irrep_matrix(freq: int, angle: torch.Tensor) -> torch.Tensor:
    return SO2().irreps(f"1x{freq}").matrix(angle.to(torch.float64))


def _null_space(matrix: torch.Tensor) -> torch.Tensor:
    """Orthonormal rows spanning {v : M v = 0} (SVD)."""
    if matrix.shape[1] == 0:
        return matrix.new_zeros(0, 0)
    _, s, vh = torch.linalg.svd(matrix, full_matrices=True)
    scale = s[0] if s.numel() else torch.tensor(1.0, dtype=matrix.dtype)
    rank = int((s > _TOL * max(float(scale), 1.0)).sum())
    return vh[rank:]


@functools.lru_cache(maxsize=None)
def solve_kernel_basis(out_freq: int, in_freq: int, n_samples: int = 24, seed: int = 0) -> KernelBasis:
    """The basis of kernels ρ_in → ρ_out satisfying K(φ + θ) = ρ_out(θ) K(φ) ρ_in(−θ)
    (module docstring), solved numerically in float64 at ``n_samples`` seeded random (φ, θ)."""
    if out_freq < 0 or in_freq < 0:
        raise ValueError(f"solve_kernel_basis: frequencies are ≥ 0, got out {out_freq}, in {in_freq}")
    d_out, d_in = (1 if out_freq == 0 else 2), (1 if in_freq == 0 else 2)
    top = out_freq + in_freq
    gen = torch.Generator().manual_seed(seed)
    phi = (torch.rand(n_samples, generator=gen, dtype=torch.float64) * 2 - 1) * torch.pi
    theta = (torch.rand(n_samples, generator=gen, dtype=torch.float64) * 2 - 1) * torch.pi
    k = torch.arange(top + 1, dtype=torch.float64)
    # unknowns: (cos|sin, k, p, q) → index; K_u(φ) = trig_u(kφ) E_pq
    n_unknown = 2 * (top + 1) * d_out * d_in
    eye = torch.eye(n_unknown, dtype=torch.float64).reshape(n_unknown, 2, top + 1, d_out, d_in)

    def kernels(angle):  # [S, U, d_out, d_in]
        arg = angle[:, None] * k
        return (torch.einsum("sk,ukpq->supq", torch.cos(arg), eye[:, 0]) + torch.einsum("sk,ukpq->supq", torch.sin(arg), eye[:, 1]))

    rho_out, rho_in = _irrep_matrix(out_freq, theta), _irrep_matrix(in_freq, -theta)
    lhs = kernels(phi + theta)
    rhs = torch.einsum("spa,suab,sbq->supq", rho_out, kernels(phi), rho_in)
    system = (lhs - rhs).permute(0, 2, 3, 1).reshape(-1, n_unknown)
    # the sine of frequency 0 is identically zero: pin it so it is not a spurious solution
    zero_sin = torch.zeros(d_out * d_in, n_unknown, dtype=torch.float64)
    for row, (p, q) in enumerate((p, q) for p in range(d_out) for q in range(d_in)):
        zero_sin[row, ((1 * (top + 1) + 0) * d_out + p) * d_in + q] = 1.0
    basis = _null_space(torch.cat([system, zero_sin]))
    coeff = basis.reshape(-1, 2, top + 1, d_out, d_in)
    return KernelBasis(out_freq, in_freq, coeff[:, 0].contiguous(), coeff[:, 1].contiguous())


@functools.lru_cache(maxsize=None)
def solve_self_interaction_basis(out_freq: int, in_freq: int, n_samples: int = 8, seed: int = 0) -> torch.Tensor:
    """Basis [B, d_out, d_in] of the maps K with ρ_out(θ) K = K ρ_in(θ) for all θ (solved at
    seeded random θ): I (and J) between equal frequencies, nothing between different ones."""
    d_out, d_in = (1 if out_freq == 0 else 2), (1 if in_freq == 0 else 2)
    gen = torch.Generator().manual_seed(seed)
    theta = (torch.rand(n_samples, generator=gen, dtype=torch.float64) * 2 - 1) * torch.pi
    n_unknown = d_out * d_in
    eye = torch.eye(n_unknown, dtype=torch.float64).reshape(n_unknown, d_out, d_in)
    rho_out, rho_in = _irrep_matrix(out_freq, theta), _irrep_matrix(in_freq, theta)
    system = torch.einsum("spa,uaq->supq", rho_out, eye) - torch.einsum("supb,sbq->supq", eye[None].expand(n_samples, -1, -1, -1), rho_in)
    basis = _null_space(system.permute(0, 2, 3, 1).reshape(-1, n_unknown))
    return basis.reshape(-1, d_out, d_in)
