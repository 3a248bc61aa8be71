"""Nonlinearities on spherical features: one approximate (grid), two exact (norm, gated).

``S2GridActivation`` (approximate). Synthesise the S² feature on a Gauss–Legendre grid,
apply φ pointwise, analyse back: f ↦ SHT_L'(φ(SHT⁻¹_L f)). φ(f) is not band-limited, so its
degrees above the grid's resolution alias into the kept ones; that aliasing is the only
equivariance error, and it shrinks as the grid is refined. ``oversampling`` = s uses
nlat = ⌈s (L+1)⌉ Gauss–Legendre colatitudes and nlon = 2 nlat longitudes (s = 1: the
smallest exact grid, (L+1) × (2L+2); e3nn's default S² grid is about s = 2). Measured relative
equivariance error, L = 10, 8 channels × 4 signals of unit-variance coefficients, float64, mean
over 8 rotations (``python -m gdl.benchmarks.sht_speed --aliasing``; docs/spheres.md):

    s =      1        2        4        8
    ReLU   2.5e-1   2.5e-2   4.0e-3   7.0e-4
    SiLU   2.7e-1   1.7e-2   6.1e-4   3.7e-6
    GELU   2.7e-1   2.5e-2   1.9e-3   2.3e-5

Smooth activations alias less as soon as the grid resolves their curvature (s ≥ 4).

``NormActivation`` (exact). Every irrep copy v (one degree l of one channel) is scaled by an
invariant of its own norm: v ↦ v · σ(|v| − b_l) for l > 0, and the l = 0 scalars go through φ.

``GatedActivation`` (exact). The l = 0 coefficient s of each channel (an invariant) gates the
channel's other degrees: l = 0 ↦ φ(s), v_l ↦ σ(s) v_l (e3nn's Gate with the gate taken from
the same channel). Both exact ones work on S² and SO(3) features alike.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from gdl.nn.sphere._features import check_feature, feature_dim, feature_type, s2_degrees, so3_degrees
from gdl.nn.sphere._transform import SphericalHarmonicTransform

ACTIVATIONS = {
    "relu": torch.relu,
    "silu": torch.nn.functional.silu,
    "gelu": torch.nn.functional.gelu,
    "tanh": torch.tanh,
    "softplus": torch.nn.functional.softplus,
}


def _activation(name):
    if callable(name):
        return name
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}: expected a callable or one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


class S2GridActivation(nn.Module):
    """Pointwise φ on the sphere through an oversampled Gauss–Legendre grid (approximate).

    Input S² features [..., C, (lmax+1)²], output [..., C, (lmax_out+1)²] (lmax_out ≤ lmax,
    default lmax). ``oversampling`` ≥ 1: grid refinement factor (see module doc for errors).
    """

    approximate = True

    def __init__(self, lmax: int, activation="relu", oversampling: float = 2.0, lmax_out: int = None):
        super().__init__()
        lmax_out = lmax if lmax_out is None else lmax_out
        if not oversampling >= 1.0:
            raise ValueError(f"S2GridActivation: oversampling must be ≥ 1 (1 = the smallest exact grid), "
                             f"got {oversampling!r}")
        if lmax_out > lmax or lmax_out < 0:
            raise ValueError(f"S2GridActivation: lmax_out must be in [0, lmax={lmax}], got {lmax_out}")
        self.lmax, self.lmax_out, self.oversampling = int(lmax), int(lmax_out), float(oversampling)
        self.activation = _activation(activation)
        self.activation_name = activation if isinstance(activation, str) else getattr(activation, "__name__", "φ")
        nlat = math.ceil(self.oversampling * (self.lmax + 1))
        self.to_grid = SphericalHarmonicTransform(self.lmax, "gauss-legendre", nlat=nlat, nlon=2 * nlat)
        self.from_grid = SphericalHarmonicTransform(self.lmax_out, "gauss-legendre", nlat=nlat, nlon=2 * nlat)
        self.in_type = feature_type("s2", self.lmax)
        self.out_type = feature_type("s2", self.lmax_out)

    def extra_repr(self) -> str:
        return (f"{self.activation_name}, lmax {self.lmax} → {self.lmax_out}, oversampling={self.oversampling:g} "
                f"(grid {self.to_grid.nlat} × {self.to_grid.nlon})")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[-1] != feature_dim("s2", self.lmax):
            check_feature("S2GridActivation", x, "s2", self.lmax, x.shape[-2] if x.dim() >= 2 else 1)
        if not bool(torch.isfinite(x).all()):
            raise ValueError("S2GridActivation: input contains NaN or inf")
        f = self.to_grid.synthesis(x, check=False)
        return self.from_grid.analysis(self.activation(f), check=False)


def _degree_index(kind: str, lmax: int) -> torch.Tensor:
    return s2_degrees(lmax) if kind == "s2" else so3_degrees(lmax)


def _copy_norms(x: torch.Tensor, kind: str, lmax: int, eps: float) -> torch.Tensor:
    """|v| of every irrep copy, broadcast back onto its coefficients: same shape as x."""
    if kind == "s2":
        squares = [x[..., l * l:(l + 1) ** 2].pow(2).sum(-1, keepdim=True).expand(*x.shape[:-1], 2 * l + 1)
                   for l in range(lmax + 1)]
    else:
        squares, start = [], 0
        for l in range(lmax + 1):
            d = 2 * l + 1
            block = x[..., start:start + d * d].reshape(*x.shape[:-1], d, d)
            squares.append(block.pow(2).sum(-1, keepdim=True).expand(*x.shape[:-1], d, d).reshape(*x.shape[:-1], d * d))
            start += d * d
    return (torch.cat(squares, -1) + eps * eps).sqrt()


class NormActivation(nn.Module):
    """Exact nonlinearity: v ↦ v · sigmoid(|v| − b) per irrep copy (l > 0); φ on l = 0 scalars."""

    def __init__(self, channels: int, lmax: int, kind: str = "s2", activation="relu", eps: float = 1e-6):
        super().__init__()
        feature_dim(kind, lmax)
        self.channels, self.lmax, self.kind, self.eps = int(channels), int(lmax), kind, float(eps)
        self.activation = _activation(activation)
        self.bias = nn.Parameter(torch.zeros(channels, lmax + 1))
        self.register_buffer("degree", _degree_index(kind, lmax), persistent=False)
        self.in_type = self.out_type = feature_type(kind, self.lmax)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature("NormActivation", x, self.kind, self.lmax, self.channels)
        gate = torch.sigmoid(_copy_norms(x, self.kind, self.lmax, self.eps) - self.bias[:, self.degree])
        return torch.cat([self.activation(x[..., :1]), (x * gate)[..., 1:]], -1)


class GatedActivation(nn.Module):
    """Exact nonlinearity: each channel's l = 0 coefficient s gives φ(s) and gates the rest by σ(s)."""

    def __init__(self, channels: int, lmax: int, kind: str = "s2", activation="relu"):
        super().__init__()
        feature_dim(kind, lmax)
        self.channels, self.lmax, self.kind = int(channels), int(lmax), kind
        self.activation = _activation(activation)
        self.in_type = self.out_type = feature_type(kind, self.lmax)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature("GatedActivation", x, self.kind, self.lmax, self.channels)
        scalar = x[..., :1]
        return torch.cat([self.activation(scalar), x[..., 1:] * torch.sigmoid(scalar)], -1)
