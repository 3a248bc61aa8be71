"""``GaugeLinear`` (a 1×1 gauge-equivariant map) and ``GaugeResNetBlock``.

``GaugeLinear``: y_i = K x_i + b with K from the maps commuting with every rotation (I and J
between equal frequencies, ``solve_self_interaction_basis``) and b on the ρ_0 outputs only.
Exact.

``GaugeResNetBlock`` (GEM-CNN's ResNet block, with its defect fixed):

    y = σ₂( conv₂(σ₁(conv₁(x))) + residual(x) ),

residual = identity when in_type == out_type, else ``GaugeLinear`` — whose bias touches ρ_0
only. GEM-CNN's residual is an ``nn.Conv1d`` with its default bias, which adds the same
bias to the ρ_1/ρ_2 components: a relative gauge error ≈ 1.1 whatever the nonlinearity's
resolution (docs/meshes.md). σ: ``"norm"`` (``NormNonlinearity``), ``"gated"``
(``GatedNonlinearity``; the convolutions then also produce the gates) — both exact, so the
block is exactly gauge equivariant — or ``"regular"`` (``RegularNonlinearity``, N samples,
approximate). ``last_layer=True`` drops σ₂.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from gdl.groups import SO2, FieldType
from gdl.nn._checks import check_field
from gdl.nn.mesh._conv import GaugeEquivariantConv, _orthonormal
from gdl.nn.mesh._kernel_basis import solve_self_interaction_basis
from gdl.nn.mesh._layout import GaugeFieldLayout, GaugeTypeLike
from gdl.nn.mesh._nonlinearities import GatedNonlinearity, NormNonlinearity, RegularNonlinearity


class GaugeLinear(nn.Module):
    """1×1 gauge-equivariant linear map between SO(2) field types (module docstring)."""

    def __init__(self, in_type: GaugeTypeLike, out_type: GaugeTypeLike, bias: bool = True):
        super().__init__()
        self.layout_in = GaugeFieldLayout(in_type, "GaugeLinear in_type")
        self.layout_out = GaugeFieldLayout(out_type, "GaugeLinear out_type")
        self.in_type, self.out_type = self.layout_in.field_type, self.layout_out.field_type
        lin, lout = self.layout_in, self.layout_out
        self.weight = nn.ParameterDict()
        self._bases = {}
        for m in range(min(lin.max_freq, lout.max_freq) + 1):
            if lin.counts[m] and lout.counts[m]:
                basis = _orthonormal(solve_self_interaction_basis(m, m))
                self._bases[m] = basis
                self.weight[str(m)] = nn.Parameter(torch.randn(lout.counts[m], lin.counts[m], basis.shape[0]) / math.sqrt(lin.counts[m]))
        self.bias = nn.Parameter(torch.zeros(lout.counts[0])) if bias and lout.counts[0] else None

    def matrix(self) -> torch.Tensor:
        """K in the grouped layouts: [out dim, in dim]."""
        lin, lout = self.layout_in, self.layout_out
        ref = next(iter(self.weight.values()), None)
        full = torch.zeros(lout.dim, lin.dim, dtype=ref.dtype if ref is not None else torch.get_default_dtype(),
                           device=ref.device if ref is not None else None)
        for m, basis in self._bases.items():
            w = self.weight[str(m)]
            blk = torch.einsum("oib,bpq->poqi", w, basis.to(dtype=w.dtype, device=w.device))
            blk = blk.reshape(basis.shape[1] * w.shape[0], basis.shape[2] * w.shape[1])
            full[lout.offsets[m] : lout.offsets[m] + blk.shape[0], lin.offsets[m] : lin.offsets[m] + blk.shape[1]] = blk
        return full

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_field("x", x, self.in_type)
        y = self.layout_in.group(x) @ self.matrix().transpose(0, 1)
        if self.bias is not None:
            c0 = self.layout_out.counts[0]
            y = torch.cat([y[:, :c0] + self.bias, y[:, c0:]], 1)
        return self.layout_out.ungroup(y)


def _nonlinearity(kind: str, field_type, n_samples: int, activation):
    if kind == "norm":
        return NormNonlinearity(field_type, activation)
    if kind == "gated":
        return GatedNonlinearity(field_type, activation)
    if kind == "regular":
        return RegularNonlinearity(field_type, n_samples, activation)
    raise ValueError(f"GaugeResNetBlock: nonlinearity is 'norm', 'gated' or 'regular', got {kind!r}")


class GaugeResNetBlock(nn.Module):
    """conv → σ → conv (+ residual) → σ on SO(2) fields (module docstring).

    Args: ``in_type``, ``out_type``, ``max_radius`` (the convolutions' fixed radial scale);
    ``hidden_type`` (default ``out_type``); ``nonlinearity`` ``"norm"`` | ``"gated"`` |
    ``"regular"`` (with ``n_samples``); ``activation``; ``n_rings``, ``aggregation``,
    ``self_interaction`` passed to both ``GaugeEquivariantConv`` s; ``last_layer``.
    Called as ``block(x, data)`` or with explicit geometry, like ``GaugeEquivariantConv``.
    """

    def __init__(self, in_type: GaugeTypeLike, out_type: GaugeTypeLike, max_radius: float,
                 hidden_type: Optional[GaugeTypeLike] = None, nonlinearity: str = "norm", n_samples: int = 7,
                 activation="relu", n_rings: int = 2, aggregation: str = "mean", self_interaction: bool = True,
                 last_layer: bool = False):
        super().__init__()
        lin = GaugeFieldLayout(in_type, "GaugeResNetBlock in_type")
        lout = GaugeFieldLayout(out_type, "GaugeResNetBlock out_type")
        hidden = GaugeFieldLayout(hidden_type if hidden_type is not None else out_type, "GaugeResNetBlock hidden_type")
        self.in_type = {"x": lin.field_type}
        self.out_type = lout.field_type
        self.last_layer = last_layer
        self.nonlinearity_kind = nonlinearity
        self.act1 = _nonlinearity(nonlinearity, hidden.field_type, n_samples, activation)
        self.act2 = None if last_layer else _nonlinearity(nonlinearity, lout.field_type, n_samples, activation)
        conv_args = dict(max_radius=max_radius, n_rings=n_rings, aggregation=aggregation, self_interaction=self_interaction)
        self.conv1 = GaugeEquivariantConv(lin.field_type, self.act1.in_type, **conv_args)
        out2 = self.act2.in_type if self.act2 is not None else lout.field_type
        self.conv2 = GaugeEquivariantConv(hidden.field_type, out2, **conv_args)
        self.n_gates = out2.dim - lout.dim
        same = lin.field_type == lout.field_type
        self.residual = None if same else GaugeLinear(lin.field_type, lout.field_type)

    def forward(self, x: torch.Tensor, edge_index, neighbour_radius=None, neighbour_angle=None, transport=None):
        geo = (edge_index, neighbour_radius, neighbour_angle, transport)
        h = self.act1(self.conv1(x, *geo))
        h = self.conv2(h, *geo)
        skip = x if self.residual is None else self.residual(x)
        if self.n_gates:
            h = torch.cat([h[:, : skip.shape[1]] + skip, h[:, skip.shape[1]:]], 1)
        else:
            h = h + skip
        return h if self.act2 is None else self.act2(h)
