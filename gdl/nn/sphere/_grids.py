"""Quadrature grids on the sphere: Gauss–Legendre, Driscoll–Healy and SOFT (float64).

A grid is nlat colatitudes θ_k (from the north pole, θ = 0, towards the south pole) times
nlon equally spaced longitudes φ_j = 2πj/nlon, with latitude weights w_k such that

    ∫_0^π g(θ) sin θ dθ = Σ_k w_k g(θ_k)      (Σ_k w_k = 2)

for every g(θ) = polynomial in cos θ (times sin^{2m} θ) of the degrees a band-limited
product Y_lm · Y_l'm needs, so ∫_{S²} f Y_lm dΩ = (2π/nlon) Σ_{k,j} w_k f(θ_k, φ_j) Y_lm(θ_k, φ_j)
is exact for f of degree ≤ lmax:

- ``"gauss-legendre"`` (default): cos θ_k the Gauss–Legendre nodes, nlat = lmax + 1 at least;
- ``"driscoll-healy"``: 2b × 2b, θ_k = πk/2b (includes the north pole), lmax ≤ b − 1;
- ``"soft"``: 2b × 2b, θ_k = π(2k+1)/4b (Kostelec–Rockmore / s2cnn), lmax ≤ b − 1.

The equiangular weights (Driscoll & Healy 1994) for N = 2b colatitudes are

    w_k = (4/N) sin θ_k Σ_{j<N/2} sin((2j+1) θ_k) / (2j+1).

Longitudes must satisfy nlon ≥ 2 lmax + 1 so that the real FFT separates every order m ≤ lmax.
"""
from __future__ import annotations

import math

import numpy as np
import torch

GRIDS = ("gauss-legendre", "driscoll-healy", "soft")


def _check_grid_name(grid: str) -> str:
    if grid not in GRIDS:
        raise ValueError(f"unknown spherical grid {grid!r}: expected one of {', '.join(GRIDS)}")
    return grid


def colatitudes_and_weights(grid: str, nlat: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(θ_k [nlat], w_k [nlat]) in float64 for a grid kind and number of colatitudes."""
    _check_grid_name(grid)
    if grid == "gauss-legendre":
        nodes, weights = np.polynomial.legendre.leggauss(nlat)
        # nodes ascend in cos θ; list colatitudes from the north pole (cos θ = 1) down
        theta = torch.from_numpy(np.arccos(nodes[::-1]).copy())
        return theta, torch.from_numpy(weights[::-1].copy())
    if nlat % 2:
        raise ValueError(f"{grid} grid needs an even number of colatitudes 2b, got nlat={nlat}")
    k = torch.arange(nlat, dtype=torch.float64)
    theta = math.pi * k / nlat if grid == "driscoll-healy" else math.pi * (2 * k + 1) / (2 * nlat)
    j = torch.arange(nlat // 2, dtype=torch.float64)
    series = (torch.sin((2 * j[None, :] + 1) * theta[:, None]) / (2 * j[None, :] + 1)).sum(1)
    return theta, (4.0 / nlat) * torch.sin(theta) * series


def default_resolution(grid: str, lmax: int) -> tuple[int, int]:
    """The smallest (nlat, nlon) of a grid kind that resolves degree ``lmax``."""
    _check_grid_name(grid)
    if grid == "gauss-legendre":
        return lmax + 1, 2 * lmax + 2
    return 2 * (lmax + 1), 2 * (lmax + 1)


def max_degree(grid: str, nlat: int, nlon: int) -> int:
    """The largest lmax a grid (nlat × nlon) resolves exactly."""
    by_lat = nlat - 1 if grid == "gauss-legendre" else nlat // 2 - 1
    return min(by_lat, (nlon - 1) // 2)


def longitudes(nlon: int) -> torch.Tensor:
    return 2 * math.pi * torch.arange(nlon, dtype=torch.float64) / nlon


def grid_points(grid: str, nlat: int, nlon: int) -> torch.Tensor:
    """Unit vectors [nlat, nlon, 3] of the grid in the z-up frame: (sin θ cos φ, sin θ sin φ, cos θ)."""
    theta, _ = colatitudes_and_weights(grid, nlat)
    phi = longitudes(nlon)
    st, ct = torch.sin(theta)[:, None], torch.cos(theta)[:, None]
    return torch.stack([st * torch.cos(phi), st * torch.sin(phi), ct.expand(-1, nlon)], -1)


def z_up_to_e3nn(points: torch.Tensor) -> torch.Tensor:
    """The same points in e3nn's y-up frame: (x, y, z) ↦ (y, z, x), a rotation (cyclic permutation)."""
    return points[..., [1, 2, 0]]
