"""S2GradientNorm: the squared gradient |∇f|² of S² features, exactly, from the Laplacian identity.

On the unit sphere  Δ(f²) = 2 f Δf + 2 |∇f|²,  so

    |∇f|² = ½ Δ(f²) − f Δf,        Δ Y_lm = −l(l+1) Y_lm.

f and Δf are synthesised on a Gauss–Legendre grid, multiplied pointwise and analysed back. A
product of two degree-L signals has degree 2L, and its degree-≤ L_out coefficients are integrals
of degree 2L + L_out, which the grid (nlat = ⌈(2L + L_out + 1)/2⌉, nlon = 2L + L_out + 2) integrates
exactly: the layer is exactly SO(3) (and O(3)) equivariant, a scalar field per channel, unlike a
pointwise nonlinearity on a grid. It sees what isotropic (zonal) S² → S² kernels cannot: how
strongly f varies around a point, not only its ring averages.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from gdl.nn.sphere._features import check_feature, feature_type, s2_degrees
from gdl.nn.sphere._transform import SphericalHarmonicTransform


class S2GradientNorm(nn.Module):
    """|∇f|² of every channel: [..., C, (lmax+1)²] → [..., C, (lmax_out+1)²] (default lmax_out = lmax). Exact."""

    def __init__(self, lmax: int, lmax_out: int = None):
        super().__init__()
        lmax_out = lmax if lmax_out is None else lmax_out
        if int(lmax) != lmax or lmax < 0:
            raise ValueError(f"S2GradientNorm: lmax must be a non-negative integer, got {lmax!r}")
        if int(lmax_out) != lmax_out or not 0 <= lmax_out <= 2 * lmax:
            raise ValueError(f"S2GradientNorm: lmax_out must be an integer in [0, 2·lmax = {2 * lmax}], got {lmax_out!r}")
        self.lmax, self.lmax_out = int(lmax), int(lmax_out)
        degree = 2 * self.lmax + self.lmax_out
        nlat, nlon = math.ceil((degree + 1) / 2), degree + 2
        self.to_grid = SphericalHarmonicTransform(self.lmax, "gauss-legendre", nlat=nlat, nlon=nlon)
        self.from_grid = SphericalHarmonicTransform(self.lmax_out, "gauss-legendre", nlat=nlat, nlon=nlon)
        l_in, l_out = s2_degrees(self.lmax).double(), s2_degrees(self.lmax_out).double()
        self.register_buffer("laplacian_in", -l_in * (l_in + 1), persistent=False)
        self.register_buffer("laplacian_out", -l_out * (l_out + 1), persistent=False)
        self.in_type = feature_type("s2", self.lmax)
        self.out_type = feature_type("s2", self.lmax_out)

    def extra_repr(self) -> str:
        return f"lmax {self.lmax} → {self.lmax_out}, grid {self.to_grid.nlat} × {self.to_grid.nlon}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature("S2GradientNorm", x, "s2", self.lmax, x.shape[-2] if x.dim() >= 2 else 1)
        f = self.to_grid.synthesis(x, check=False)
        laplacian_f = self.to_grid.synthesis(x * self.laplacian_in.to(x), check=False)
        square = self.from_grid.analysis(f * f, check=False)
        cross = self.from_grid.analysis(f * laplacian_f, check=False)
        return 0.5 * self.laplacian_out.to(x) * square - cross
