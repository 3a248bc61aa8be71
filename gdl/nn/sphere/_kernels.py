"""Localised kernels for the S² → SO(3) and SO(3) → SO(3) convolutions (Cohen et al. 2018, §5).

Instead of one free coefficient per (l, m, n), the kernel is given by learnable values w_p at a
few points near the identity, and its coefficients are their transforms:

    ψ̂^l_io[n]    = Σ_p w_iop Y^l_n(x_p)          x_p on rings around the north pole (S² kernel)
    ψ̂^l_io[n, k] = Σ_p w_iop D^l_nk(R_p)         R_p = Rz(α) Ry(β) Rz(γ) near the identity (SO(3) kernel)

(in e3nn's real basis; the S² points are read in e3nn's frame, like the transform's basis).
A kernel is any fixed linear image of the weights, so the layers stay exactly equivariant;
the parametrisation only lowers the parameter count (Cin·Cout·P instead of Cin·Cout·Σ(2l+1)^k)
and makes the filters local. The bases are computed in float64 and kept as float64 masters.
"""
from __future__ import annotations

import math

import torch

from gdl.groups import wigner_d_from_matrix
from gdl.nn.sphere._legendre import real_spherical_harmonics
from gdl.nn.sphere._grids import z_up_to_e3nn


def s2_near_identity_points(n_alpha: int = 8, n_beta: int = 3, max_beta: float = math.pi / 8) -> torch.Tensor:
    """Points [n_alpha·n_beta, 3] (z-up) on n_beta rings of colatitude max_beta·(i+1)/n_beta."""
    beta = max_beta * torch.arange(1, n_beta + 1, dtype=torch.float64) / n_beta
    alpha = 2 * math.pi * torch.arange(n_alpha, dtype=torch.float64) / n_alpha
    b, a = torch.meshgrid(beta, alpha, indexing="ij")
    return torch.stack([b.sin() * a.cos(), b.sin() * a.sin(), b.cos()], -1).reshape(-1, 3)


def _rz(angle: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(angle), torch.sin(angle)
    z, o = torch.zeros_like(angle), torch.ones_like(angle)
    return torch.stack([torch.stack([c, -s, z], -1), torch.stack([s, c, z], -1), torch.stack([z, z, o], -1)], -2)


def _ry(angle: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(angle), torch.sin(angle)
    z, o = torch.zeros_like(angle), torch.ones_like(angle)
    return torch.stack([torch.stack([c, z, s], -1), torch.stack([z, o, z], -1), torch.stack([-s, z, c], -1)], -2)


def so3_near_identity_rotations(n_alpha: int = 6, n_beta: int = 1, n_gamma: int = 6,
                                max_beta: float = math.pi / 8) -> torch.Tensor:
    """Rotations [n_alpha·n_beta·n_gamma, 3, 3] Rz(α) Ry(β) Rz(γ) with β on n_beta rings up to max_beta."""
    alpha = 2 * math.pi * torch.arange(n_alpha, dtype=torch.float64) / n_alpha
    beta = max_beta * torch.arange(1, n_beta + 1, dtype=torch.float64) / n_beta
    gamma = 2 * math.pi * torch.arange(n_gamma, dtype=torch.float64) / n_gamma
    a, b, g = (t.reshape(-1) for t in torch.meshgrid(alpha, beta, gamma, indexing="ij"))
    return _rz(a) @ _ry(b) @ _rz(g)


def s2_kernel_basis(lmax: int, points: torch.Tensor) -> torch.Tensor:
    """Y^l_n(x_p) in the transform's basis: [P, (lmax+1)²] (float64)."""
    return real_spherical_harmonics(lmax, z_up_to_e3nn(points.to(torch.float64)))  # any degree (e3nn's stop at 12)


def so3_kernel_basis(lmax: int, rotations: torch.Tensor) -> torch.Tensor:
    """D^l_nk(R_p) flattened row by row per degree: [P, Σ (2l+1)²] (float64)."""
    rotations = rotations.to(torch.float64)
    return torch.cat([wigner_d_from_matrix(l, rotations).reshape(rotations.shape[0], -1) for l in range(lmax + 1)], 1)
