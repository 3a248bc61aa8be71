"""Nonlinearities on SO(2) gauge fields: norm and gated (exact), regular (approximate).

All act vertex by vertex, so gauge equivariance (x_i ↦ ρ(θ_i) x_i) is equivariance to one
rotation per vertex.

- ``NormNonlinearity``: scalars (ρ_0) go through the activation; each copy of ρ_m (m ≥ 1)
  is scaled by σ(|x| + b)/|x| (b a learnable bias per copy, σ the activation; 0 where
  |x| = 0). The norm is invariant, so this is exact.
- ``GatedNonlinearity``: input = the field type followed by one ρ_0 *gate* per copy of a
  ρ_m (m ≥ 1); scalars go through the activation and each ρ_m copy is multiplied by
  sigmoid(its gate). Exact.
- ``RegularNonlinearity``: for C copies of ρ_0 ⊕ ρ_1 ⊕ … ⊕ ρ_L, sample each copy's band-
  limited function f(t) = x_0/√N + Σ_m √(2/N)(x_m,c cos mt + x_m,s sin mt) at N directions
  t_k = 2πk/N, apply the activation pointwise, and project back (GEM-CNN §4). Exactly
  equivariant only for rotations by multiples of 2π/N; for other angles the error falls as
  N grows (measured in docs/meshes.md and tests/nn/mesh/test_mesh_nonlinearities_and_blocks.py). N ≥ 2L + 1.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from gdl.groups import SO2, FieldType
from gdl.nn._checks import check_field
from gdl.nn.mesh._layout import GaugeFieldLayout, GaugeTypeLike


def _activation(activation) -> Callable:
    if activation is None:
        return torch.relu
    if isinstance(activation, str):
        table = {"relu": torch.relu, "silu": nn.functional.silu, "gelu": nn.functional.gelu, "tanh": torch.tanh,
                 "softplus": nn.functional.softplus}
        if activation not in table:
            raise ValueError(f"activation: expected one of {sorted(table)} or a callable, got {activation!r}")
        return table[activation]
    if not callable(activation):
        raise TypeError(f"activation: expected a name or a callable, got {type(activation).__name__}")
    return activation


class NormNonlinearity(nn.Module):
    """Exact gauge-equivariant nonlinearity on the norms of the ρ_m copies (module docstring).
    ``in_type`` = ``out_type`` = ``field_type``."""

    def __init__(self, field_type: GaugeTypeLike, activation="relu", bias_init: float = -0.1):
        super().__init__()
        self.layout = GaugeFieldLayout(field_type, "NormNonlinearity type")
        self.in_type = self.layout.field_type
        self.out_type = self.layout.field_type
        self.activation = _activation(activation)
        self.activation_name = activation if isinstance(activation, str) else getattr(activation, "__name__", "callable")
        n_vec = sum(self.layout.counts[1:])
        self.bias = nn.Parameter(torch.full((n_vec,), float(bias_init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_field("x", x, self.in_type)
        lay = self.layout
        g = lay.group(x)
        parts = [self.activation(g[:, : lay.counts[0]])] if lay.counts[0] else []
        start = 0
        for m in range(1, lay.max_freq + 1):
            c = lay.counts[m]
            if not c:
                continue
            o = lay.offsets[m]
            a, b = g[:, o : o + c], g[:, o + c : o + 2 * c]
            square = a * a + b * b
            nonzero = square > 0
            norm = torch.sqrt(torch.where(nonzero, square, torch.ones_like(square)))  # finite gradient at 0
            scale = torch.where(nonzero, self.activation(norm + self.bias[start : start + c]) / norm, torch.zeros_like(norm))
            parts.append(torch.cat([a * scale, b * scale], 1))
            start += c
        return lay.ungroup(torch.cat(parts, 1))

    def extra_repr(self):
        return f"{self.in_type.rep}, activation={self.activation_name}"


class GatedNonlinearity(nn.Module):
    """Exact gated nonlinearity (module docstring): ``in_type`` = ``field_type`` ⊕ k·ρ_0
    (k = number of copies of ρ_m, m ≥ 1, gates last, in the field type's copy order by
    frequency), ``out_type`` = ``field_type``."""

    def __init__(self, field_type: GaugeTypeLike, activation="relu"):
        super().__init__()
        self.layout = GaugeFieldLayout(field_type, "GatedNonlinearity type")
        self.n_gates = sum(self.layout.counts[1:])
        self.out_type = self.layout.field_type
        gates = FieldType(SO2(), SO2().irreps(f"{self.n_gates}x0")) if self.n_gates else None
        self.in_type = self.out_type + gates if gates is not None else self.out_type
        self.activation = _activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_field("x", x, self.in_type)
        lay = self.layout
        g = lay.group(x[:, : lay.dim])
        gates = torch.sigmoid(x[:, lay.dim :])
        parts = [self.activation(g[:, : lay.counts[0]])] if lay.counts[0] else []
        start = 0
        for m in range(1, lay.max_freq + 1):
            c = lay.counts[m]
            if not c:
                continue
            o = lay.offsets[m]
            gate = gates[:, start : start + c]
            parts.append(torch.cat([g[:, o : o + c] * gate, g[:, o + c : o + 2 * c] * gate], 1))
            start += c
        return lay.ungroup(torch.cat(parts, 1))


class RegularNonlinearity(nn.Module):
    """Approximately gauge-equivariant pointwise nonlinearity on sampled directions (module
    docstring). ``field_type`` must hold C copies of each of ρ_0 … ρ_L (any order, e.g.
    ``"16x0+16x1+16x2"``); ``n_samples`` = N ≥ 2L + 1 directions; ``in_type`` = ``out_type``."""

    def __init__(self, field_type: GaugeTypeLike, n_samples: int = 7, activation="relu"):
        super().__init__()
        self.layout = GaugeFieldLayout(field_type, "RegularNonlinearity type")
        counts = self.layout.counts
        if len(set(counts)) != 1:
            raise ValueError(f"RegularNonlinearity: the field type must hold the same number of copies of every "
                             f"ρ_0 … ρ_L (C copies of a band-limited function), got counts {counts} for "
                             f"{self.layout.field_type.rep}")
        lmax = self.layout.max_freq
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 2 * lmax + 1:
            raise ValueError(f"RegularNonlinearity: n_samples must be an integer ≥ 2L + 1 = {2 * lmax + 1} "
                             f"(band limit L = {lmax}), got {n_samples!r}")
        self.in_type = self.out_type = self.layout.field_type
        self.copies = counts[0]
        self.n_samples = n_samples
        self.activation = _activation(activation)
        t = 2 * math.pi * torch.arange(n_samples, dtype=torch.float64) / n_samples
        rows = [torch.full((n_samples,), 1 / math.sqrt(n_samples), dtype=torch.float64)]
        for m in range(1, lmax + 1):
            rows += [math.sqrt(2 / n_samples) * torch.cos(m * t), math.sqrt(2 / n_samples) * torch.sin(m * t)]
        self._dft = torch.stack(rows)  # [2L+1, N] float64: orthonormal rows (N ≥ 2L+1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_field("x", x, self.in_type)
        lay, c = self.layout, self.copies
        g = lay.group(x)
        blocks = [g[:, : c][:, :, None]]
        for m in range(1, lay.max_freq + 1):
            o = lay.offsets[m]
            blocks += [g[:, o : o + c][:, :, None], g[:, o + c : o + 2 * c][:, :, None]]
        coeff = torch.cat(blocks, 2)  # [V, C, 2L+1]: (x0, x1c, x1s, x2c, ...)
        dft = self._dft.to(dtype=x.dtype, device=x.device)
        out = self.activation(coeff @ dft) @ dft.T
        parts = [out[:, :, 0]]
        for m in range(1, lay.max_freq + 1):
            parts += [out[:, :, 2 * m - 1], out[:, :, 2 * m]]
        return lay.ungroup(torch.cat(parts, 1))

    def extra_repr(self):
        return f"{self.in_type.rep}, n_samples={self.n_samples}"
