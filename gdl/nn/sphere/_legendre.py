"""Orthonormal associated Legendre functions by the stable three-term recurrence (float64).

P̄_l^m(θ) is normalised so that Y_lm(θ, φ) = P̄_l^m(cos θ) · Φ_m(φ) is orthonormal on S²
(∫ Y² dΩ = 1) with Φ_0 = 1, Φ_m = √2 cos(mφ), Φ_{-m} = √2 sin(mφ) for m > 0. The recurrence
(no Condon–Shortley phase)

    P̄_0^0 = 1/√(4π),   P̄_m^m = √((2m+1)/(2m)) · sin θ · P̄_{m-1}^{m-1},
    P̄_{m+1}^m = √(2m+3) · cos θ · P̄_m^m,
    P̄_l^m = a_lm (cos θ · P̄_{l-1}^m − b_lm P̄_{l-2}^m),
    a_lm = √((4l²−1)/(l²−m²)),   b_lm = √(((l−1)²−m²)/(4(l−1)²−1)),

never forms factorials or powers that overflow, so it stays accurate to ~1e-15 at the
degrees used here (L ≤ a few hundred). Always run in float64; callers cast the result.
"""
from __future__ import annotations

import math

import torch


def normalized_legendre(lmax: int, colatitude: torch.Tensor) -> torch.Tensor:
    """P̄_l^m(cos θ) for 0 ≤ m ≤ l ≤ lmax at colatitudes θ [K]: tensor [lmax+1 (m), lmax+1 (l), K].

    Entries with l < m are zero. Computed in float64 whatever the input dtype.
    """
    theta = torch.as_tensor(colatitude, dtype=torch.float64).reshape(-1)
    x, s = torch.cos(theta), torch.sin(theta)
    out = torch.zeros(lmax + 1, lmax + 1, theta.shape[0], dtype=torch.float64)
    diagonal = torch.full_like(theta, 1.0 / math.sqrt(4 * math.pi))
    for m in range(lmax + 1):
        if m > 0:
            diagonal = math.sqrt((2 * m + 1) / (2 * m)) * s * diagonal
        out[m, m] = diagonal
        if m + 1 <= lmax:
            out[m, m + 1] = math.sqrt(2 * m + 3) * x * diagonal
        for l in range(m + 2, lmax + 1):
            a = math.sqrt((4 * l * l - 1) / (l * l - m * m))
            b = math.sqrt(((l - 1) ** 2 - m * m) / (4 * (l - 1) ** 2 - 1))
            out[m, l] = a * (x * out[m, l - 1] - b * out[m, l - 2])
    return out
