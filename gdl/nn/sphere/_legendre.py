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


def real_spherical_harmonics(lmax: int, points: torch.Tensor) -> torch.Tensor:
    """e3nn's real spherical harmonics of every degree ≤ ``lmax`` at ``points`` [..., 3] (e3nn's y-up frame),
    [..., (lmax+1)²] float64 — ``o3.spherical_harmonics(range(lmax+1), points, normalize=True)`` (its 'integral'
    normalisation, ∫ Y² dΩ = 1), which stops at l = 12, at any degree.

    In the z-up frame x = (p_z, p_x, p_y) of the e3nn point p, with colatitude θ and longitude φ of x:
    Y_{l,0} = P̄_l^0(θ), Y_{l,m} = √2 P̄_l^m(θ) cos(mφ), Y_{l,−m} = √2 P̄_l^m(θ) sin(mφ) (m > 0), by the
    recurrence above (the layout of ``SphericalHarmonicTransform``; tested against e3nn ≤ 1e-12 for l ≤ 12).
    """
    p = torch.as_tensor(points, dtype=torch.float64)
    if p.shape[-1:] != (3,):
        raise ValueError(f"real_spherical_harmonics: points must be [..., 3], got shape {list(p.shape)}")
    p = p / p.norm(dim=-1, keepdim=True)
    x, y, z = p[..., 2], p[..., 0], p[..., 1]  # z-up coordinates of the e3nn point
    theta = torch.arccos(z.clamp(-1.0, 1.0)).reshape(-1)
    phi = torch.atan2(y, x).reshape(-1)
    legendre = normalized_legendre(lmax, theta)  # [m, l, K]
    columns = []
    for l in range(lmax + 1):
        for m in range(-l, l + 1):
            value = legendre[abs(m), l]
            if m > 0:
                value = math.sqrt(2.0) * value * torch.cos(m * phi)
            elif m < 0:
                value = math.sqrt(2.0) * value * torch.sin(-m * phi)
            columns.append(value)
    return torch.stack(columns, -1).reshape(*p.shape[:-1], (lmax + 1) ** 2)
