"""SphericalHarmonicTransform: grid signals ↔ real spherical-harmonic coefficients, O(L³).

Analysis  c_lm = ∫_{S²} f Y_lm dΩ ≈ (2π/nlon) Σ_k w_k P̄_l^|m|(θ_k) Σ_j f(θ_k, φ_j) Φ_m(φ_j)
Synthesis f(θ_k, φ_j) = Σ_{l ≤ L} Σ_{|m| ≤ l} c_lm P̄_l^|m|(θ_k) Φ_m(φ_j)

The sum over longitudes is one real FFT per latitude ring; the sum over colatitudes is one
matrix product per order m (a [nlat, L+1−m] block of w_k P̄_l^m, zero-padded into one
[L+1, nlat, L+1] batch): O(L³) memory and time, never a dense (L+1)² × (nlat·nlon) matrix.
The Legendre blocks are computed in float64 by the stable recurrence of ``_legendre`` and
cast to the module's dtype, so float32 keeps ~1e-7 accuracy at every degree.

Basis and axes. Coefficients are ordered and normalised as e3nn's real spherical harmonics
(index l² + l + m, m = −l…l, ∫ Y_lm² dΩ = 1, no Condon–Shortley phase). Grid points are
z-up: colatitude θ from +z, longitude φ from +x towards +y, x = (sin θ cos φ, sin θ sin φ, cos θ).
e3nn's harmonics are y-up; the two agree through the rotation Q : (x, y, z) ↦ (y, z, x):

    Y_lm(x) = e3nn.o3.spherical_harmonics(l, Q x)_m          (tested ≤ 1e-12 in float64)

so the coefficients are e3nn coefficients of the signal seen in e3nn's frame, and a rotation
R of e3nn's frame (``e3nn_points``) acts on them by e3nn's block-diagonal Wigner-D(R).
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from gdl.nn.sphere._grids import (
    colatitudes_and_weights,
    default_resolution,
    grid_points,
    max_degree,
    z_up_to_e3nn,
    _check_grid_name,
)
from gdl.nn.sphere._legendre import normalized_legendre


METHODS = ("auto", "blocks", "dense")
# "auto" uses the dense matrices when (lmax+1)² · nlat · nlon is at most this many entries (small L:
# one matrix product beats the FFT + per-m products and their Python / copy overhead; measured in docs/spheres.md)
DENSE_MAX_ENTRIES = 2 ** 17


def coefficient_count(lmax: int) -> int:
    return (lmax + 1) ** 2


def _order_layout(lmax: int) -> torch.Tensor:
    """Index into the flattened [m, (cos, sin), l] layout for every e3nn position l² + l + m."""
    index = []
    width = lmax + 1
    for l in range(lmax + 1):
        for m in range(-l, l + 1):
            part = 1 if m < 0 else 0
            index.append((abs(m) * 2 + part) * width + l)
    return torch.tensor(index, dtype=torch.long)


class SphericalHarmonicTransform(nn.Module):
    """Real spherical harmonic transform of degree ≤ ``lmax`` on a quadrature grid.

    ``grid``: ``"gauss-legendre"`` (default, nlat = lmax + 1, nlon = 2 lmax + 2),
    ``"driscoll-healy"`` or ``"soft"`` (2b × 2b, b = lmax + 1 by default). ``nlat`` / ``nlon``
    choose a finer grid (oversampling); a grid that cannot resolve ``lmax`` is refused.

    ``analysis(f [..., nlat, nlon]) -> c [..., (lmax+1)²]`` and ``synthesis(c) -> f``.
    Exact (to rounding) on band-limited signals: synthesis then analysis is the identity;
    analysis then synthesis is the L² projection onto degrees ≤ lmax. SO(3) equivariant:
    rotating a band-limited grid signal rotates its coefficients by Wigner-D (see module doc).
    """

    def __init__(self, lmax: int, grid: str = "gauss-legendre", nlat: Optional[int] = None,
                 nlon: Optional[int] = None, dtype: Optional[torch.dtype] = None, method: str = "auto"):
        super().__init__()
        _check_grid_name(grid)
        if int(lmax) != lmax or lmax < 0:
            raise ValueError(f"SphericalHarmonicTransform: lmax must be a non-negative integer, got {lmax!r}")
        lmax = int(lmax)
        lat0, lon0 = default_resolution(grid, lmax)
        nlat = lat0 if nlat is None else int(nlat)
        nlon = lon0 if nlon is None else int(nlon)
        if grid != "gauss-legendre" and nlat % 2:
            raise ValueError(f"SphericalHarmonicTransform: a {grid} grid is 2b × 2b with an even number of "
                             f"colatitudes, got nlat={nlat}")
        resolved = max_degree(grid, nlat, nlon)
        if lmax > resolved:
            need_lat, need_lon = default_resolution(grid, lmax)
            raise ValueError(f"SphericalHarmonicTransform: a {grid} grid of {nlat} × {nlon} resolves degrees ≤ "
                             f"{resolved}, got lmax={lmax} (needs at least nlat={need_lat}, nlon={2 * lmax + 1})")
        if method not in METHODS:
            raise ValueError(f"SphericalHarmonicTransform: method must be one of {', '.join(METHODS)}, got {method!r}")
        self.lmax, self.grid, self.nlat, self.nlon = lmax, grid, nlat, nlon
        dtype = dtype or torch.get_default_dtype()
        theta, weights = colatitudes_and_weights(grid, nlat)
        legendre = normalized_legendre(lmax, theta)  # [m, l, k] float64
        scale = torch.full((lmax + 1,), math.sqrt(2.0), dtype=torch.float64)
        scale[0] = 1.0
        # analysis block: A[m, k, l] = (2π/nlon) w_k Φ-norm_m P̄_l^m(θ_k)
        analysis = (2 * math.pi / nlon) * scale[:, None, None] * weights[None, :, None] * legendre.transpose(1, 2)
        # synthesis block: S[m, l, k] = Φ-norm_m P̄_l^m(θ_k) × the irfft scale (n for m = 0, n/2 else):
        # irfft(G, n)[j] = (1/n)(G_0 + 2 Σ_m Re(G_m e^{imφ_j})), Re((a − ib) e^{imφ}) = a cos + b sin
        irfft_scale = torch.full((lmax + 1,), 0.5 * nlon, dtype=torch.float64)
        irfft_scale[0] = nlon
        synthesis = (scale * irfft_scale)[:, None, None] * legendre
        # float64 masters: a later .to(dtype) / .double() re-casts from them, never from a float32 copy
        self._exact = {"colatitude": theta, "quadrature_weights": weights,
                       "analysis_blocks": analysis, "synthesis_blocks": synthesis}
        for name, value in self._exact.items():
            self.register_buffer(name, value.to(dtype), persistent=False)
        self.register_buffer("layout", _order_layout(lmax), persistent=False)
        # rfft gives Re = Σ f cos, Im = −Σ f sin: the sine coefficients (m < 0) change sign
        sign = torch.cat([torch.where(torch.arange(-l, l + 1) < 0, -1.0, 1.0) for l in range(lmax + 1)])
        self._exact["order_sign"] = sign.to(torch.float64)
        self.register_buffer("order_sign", sign.to(dtype), persistent=False)
        inverse = torch.empty(2 * (lmax + 1) ** 2, dtype=torch.long).fill_(coefficient_count(lmax))
        inverse[self.layout] = torch.arange(coefficient_count(lmax))
        self.register_buffer("inverse_layout", inverse, persistent=False)
        entries = coefficient_count(lmax) * nlat * nlon
        self.method = method if method != "auto" else ("dense" if entries <= DENSE_MAX_ENTRIES else "blocks")
        if self.method == "dense":
            # the same maps as matrices, built in float64 by the block path from the float64 masters
            eye = torch.eye(coefficient_count(lmax), dtype=torch.float64)
            synthesis_matrix = self._synthesis_blocks(eye, synthesis, sign).reshape(-1, nlat * nlon)
            grid_eye = torch.eye(nlat * nlon, dtype=torch.float64).reshape(-1, nlat, nlon)
            analysis_matrix = self._analysis_blocks(grid_eye, analysis, sign)  # [nlat·nlon, (L+1)²]
            self._exact.update(synthesis_matrix=synthesis_matrix, analysis_matrix=analysis_matrix)
            self.register_buffer("synthesis_matrix", synthesis_matrix.to(dtype), persistent=False)
            self.register_buffer("analysis_matrix", analysis_matrix.to(dtype), persistent=False)

    def _apply(self, fn, *args, **kwargs):
        out = super()._apply(fn, *args, **kwargs)
        for name, exact in self._exact.items():
            current = getattr(self, name)
            setattr(self, name, exact.to(device=current.device, dtype=current.dtype))
        return out

    @property
    def num_coefficients(self) -> int:
        return coefficient_count(self.lmax)

    def extra_repr(self) -> str:
        return f"lmax={self.lmax}, grid={self.grid!r}, nlat={self.nlat}, nlon={self.nlon}, method={self.method!r}"

    def points(self) -> torch.Tensor:
        """Grid points [nlat, nlon, 3] in the z-up frame (float64)."""
        return grid_points(self.grid, self.nlat, self.nlon)

    def e3nn_points(self) -> torch.Tensor:
        """Grid points [nlat, nlon, 3] in e3nn's y-up frame: e3nn's Y there is this transform's basis."""
        return z_up_to_e3nn(self.points())

    # -- checks ------------------------------------------------------------------------------------
    def _check(self, name: str, x: torch.Tensor, trailing: tuple, what: str) -> None:
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"SphericalHarmonicTransform.{name}: expected a floating-point tensor {what}, "
                            f"got {type(x).__name__ if not isinstance(x, torch.Tensor) else x.dtype}")
        if tuple(x.shape[len(x.shape) - len(trailing):]) != trailing or x.dim() < len(trailing):
            raise ValueError(f"SphericalHarmonicTransform.{name}: expected {what} (lmax={self.lmax}, {self.grid} "
                             f"grid {self.nlat} × {self.nlon}), got shape {list(x.shape)}")
        if x.dtype != self.analysis_blocks.dtype:
            raise TypeError(f"SphericalHarmonicTransform.{name}: input dtype {x.dtype} differs from the "
                            f"transform's {self.analysis_blocks.dtype} (call .to(dtype) on the module)")
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"SphericalHarmonicTransform.{name}: input contains NaN or inf")

    # -- transforms --------------------------------------------------------------------------------
    def analysis(self, f: torch.Tensor, check: bool = True) -> torch.Tensor:
        """Grid signal f [..., nlat, nlon] → coefficients [..., (lmax+1)²]."""
        if check:
            self._check("analysis", f, (self.nlat, self.nlon), "[..., nlat, nlon]")
        if self.method == "dense":
            lead = f.shape[:-2]
            return (f.reshape(-1, self.nlat * self.nlon) @ self.analysis_matrix).reshape(*lead, self.num_coefficients)
        return self._analysis_blocks(f, self.analysis_blocks, self.order_sign)

    def synthesis(self, c: torch.Tensor, check: bool = True) -> torch.Tensor:
        """Coefficients c [..., (lmax+1)²] → grid signal [..., nlat, nlon]."""
        if check:
            self._check("synthesis", c, (self.num_coefficients,), "[..., (lmax+1)²]")
        if self.method == "dense":
            lead = c.shape[:-1]
            return (c.reshape(-1, self.num_coefficients) @ self.synthesis_matrix).reshape(*lead, self.nlat, self.nlon)
        return self._synthesis_blocks(c, self.synthesis_blocks, self.order_sign)

    def _analysis_blocks(self, f: torch.Tensor, analysis_blocks: torch.Tensor, order_sign: torch.Tensor) -> torch.Tensor:
        """FFT along the rings, then one [nlat, lmax+1] product per order m (the O(L³) path)."""
        lead = f.shape[:-2]
        width = self.lmax + 1
        spectrum = torch.fft.rfft(f.reshape(-1, self.nlat, self.nlon), dim=-1)[..., :width]  # [B, K, M]
        ring = torch.view_as_real(spectrum)  # [B, K, M, 2]: Re = Σ f cos, Im = −Σ f sin
        ring = ring.permute(2, 0, 3, 1).reshape(width, -1, self.nlat)  # [M, B·2, K]
        coeff = torch.bmm(ring, analysis_blocks)  # [M, B·2, L+1]
        coeff = coeff.reshape(width, -1, 2 * width).transpose(0, 1)  # [B, M·(cos, −sin)·(L+1)]
        out = coeff.reshape(coeff.shape[0], -1).index_select(1, self.layout) * order_sign
        return out.reshape(*lead, self.num_coefficients)

    def _synthesis_blocks(self, c: torch.Tensor, synthesis_blocks: torch.Tensor, order_sign: torch.Tensor) -> torch.Tensor:
        """One [lmax+1, nlat] product per order m, then an inverse FFT along the rings (the O(L³) path)."""
        lead = c.shape[:-1]
        width = self.lmax + 1
        flat = c.reshape(-1, self.num_coefficients) * order_sign
        padded = torch.cat([flat, flat.new_zeros(flat.shape[0], 1)], 1)  # slot for the empty (l < m) entries
        blocks = padded.index_select(1, self.inverse_layout).reshape(-1, width, 2, width)  # [B, M, 2, L+1]
        blocks = blocks.permute(1, 0, 2, 3).reshape(width, -1, width)  # [M, B·2, L+1]
        rings = torch.bmm(blocks, synthesis_blocks)  # [M, B·2, K]
        rings = rings.reshape(width, -1, 2, self.nlat).permute(1, 3, 0, 2)  # [B, K, M, (a, −b)]
        spectrum = torch.view_as_complex(rings.contiguous())
        f = torch.fft.irfft(spectrum, n=self.nlon, dim=-1)
        return f.reshape(*lead, self.nlat, self.nlon)
