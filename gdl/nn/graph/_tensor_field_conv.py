"""TensorFieldConv: a TFN / NequIP-style E(3)-equivariant convolution on e3nn irreps."""
from __future__ import annotations

from typing import Optional

import torch
from e3nn import o3
from e3nn.math import soft_one_hot_linspace
from e3nn.nn import FullyConnectedNet
from torch import nn
from torch.nn import functional as F

from gdl.groups import FieldType
from gdl.nn.graph._common import aggregation_code, check_edge_attr, check_edge_index, check_features, euclidean_group
from gdl.nn.graph._irreps import as_irreps, check_irreps_features, edge_spherical_harmonics, make_gate


class TensorFieldConv(nn.Module):
    r"""Tensor-field convolution (Thomas et al. 2018; NequIP, Batzner et al. 2022, eq. 3–5).

    For every edge j → i with r_ij = x_j − x_i::

        w_ij  = MLP([B(‖r_ij‖), a_ij])                              (radial network)
        m_ij  = TP_{w_ij}(h_j ⊗ Y(r̂_ij))                            (e3nn TensorProduct, 'uvu' paths)
        h_i'  = Gate(Linear(C Σ_j m_ij) + Linear_self(h_i))          (+ h_i if residual)

    B is a Gaussian basis of ``num_radial`` functions on [0, ``radial_max``]
    (``e3nn.math.soft_one_hot_linspace``), Y the spherical harmonics up to ``lmax`` (parity
    (−1)^l), C Σ_j the mean (default) or the sum over neighbours, Gate e3nn's gated
    nonlinearity (SiLU / tanh on scalars, sigmoid gates on l > 0). ``a_ij`` are optional invariant
    edge attributes (``edge_channels``). The tensor product has one weight per path and channel
    ('uvu', as NequIP), produced per edge by the radial MLP (``shared_weights=False``).

    Symmetry: E(3) (rotations, reflections, translations) and node permutations, exact.
    Types: h: ``FieldType.irreps(E, irreps_in)`` → ``FieldType.irreps(E, irreps_out)``;
    pos: ``E.standard_rep()`` (points); ``edge_attr`` invariant structure.
    """

    def __init__(
        self,
        irreps_in,
        irreps_out,
        lmax: int = 2,
        num_radial: int = 8,
        radial_max: float = 5.0,
        radial_hidden: int = 32,
        edge_channels: int = 0,
        aggregation: str = "mean",
        residual: bool = True,
    ):
        super().__init__()
        self.irreps_in = as_irreps(irreps_in, "irreps_in")
        self.irreps_out = as_irreps(irreps_out, "irreps_out")
        self.irreps_sh = o3.Irreps.spherical_harmonics(lmax)
        self.num_radial, self.radial_max, self.edge_channels = int(num_radial), float(radial_max), int(edge_channels)
        self.aggregation = aggregation_code(aggregation)
        self.residual = bool(residual) and self.irreps_in == self.irreps_out

        self.gate = make_gate(self.irreps_out)
        irreps_mid = self.gate.irreps_in  # scalars + gates + gated
        # 'uvu' paths: each input channel times each Y^l, into every irrep the gate input contains
        irreps_tp, instructions = [], []
        for i, (mul, ir_in) in enumerate(self.irreps_in):
            for j, (_, ir_sh) in enumerate(self.irreps_sh):
                for ir_out in ir_in * ir_sh:
                    if ir_out in irreps_mid:
                        instructions.append((i, j, len(irreps_tp), "uvu", True))
                        irreps_tp.append((mul, ir_out))
        if not instructions:
            raise ValueError(f"no tensor-product path from {self.irreps_in} ⊗ {self.irreps_sh} reaches {self.irreps_out}")
        irreps_tp = o3.Irreps(irreps_tp)
        irreps_sorted, perm, _ = irreps_tp.sort()
        instructions = [(i, j, perm[k], mode, train) for i, j, k, mode, train in instructions]
        self.tp = o3.TensorProduct(self.irreps_in, self.irreps_sh, irreps_sorted, instructions,
                                   shared_weights=False, internal_weights=False)
        self.radial = FullyConnectedNet([self.num_radial + self.edge_channels, radial_hidden, radial_hidden,
                                         self.tp.weight_numel], F.silu)
        self.linear = o3.Linear(irreps_sorted.simplify(), irreps_mid)
        self.self_interaction = o3.Linear(self.irreps_in, irreps_mid)

        E = euclidean_group(3)
        self.in_type = {"h": FieldType.irreps(E, self.irreps_in), "pos": FieldType(E, E.standard_rep())}
        self.out_type = {"h": FieldType.irreps(E, self.irreps_out)}

    def forward(self, h: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor,
                edge_attr: Optional[torch.Tensor] = None) -> torch.Tensor:
        check_features("pos", pos, 3, what="positions")
        num_nodes = pos.shape[0]
        check_irreps_features("h", h, self.irreps_in, num_nodes)
        check_edge_index(edge_index, num_nodes)
        check_edge_attr(edge_attr, edge_index.shape[1], self.edge_channels)
        return self.propagate_checked(h, pos, edge_index[0], edge_index[1], edge_attr)

    def propagate_checked(self, h, pos, source, target, edge_attr=None, inv_deg=None) -> torch.Tensor:
        """The layer's maths on validated inputs (models call this once the batch is checked)."""
        num_nodes = h.shape[0]
        vec = pos.index_select(0, source) - pos.index_select(0, target)  # r_ij = x_j − x_i
        sh = edge_spherical_harmonics(self.irreps_sh, vec)
        dist = torch.linalg.vector_norm(vec, dim=-1)
        radial = soft_one_hot_linspace(dist, 0.0, self.radial_max, self.num_radial, basis="gaussian", cutoff=False)
        if self.edge_channels:
            radial = torch.cat([radial, edge_attr], dim=1)
        messages = self.tp(h.index_select(0, source), sh, self.radial(radial))
        agg = messages.new_zeros(num_nodes, messages.shape[1]).index_add_(0, target, messages)
        if self.aggregation == "mean":
            if inv_deg is None:
                inv_deg = torch.bincount(target, minlength=num_nodes).clamp_(min=1).to(agg.dtype).reciprocal_().unsqueeze(1)
            agg = agg * inv_deg
        out = self.gate(self.linear(agg) + self.self_interaction(h))
        return h + out if self.residual else out

    def extra_repr(self) -> str:
        return (f"{self.irreps_in} → {self.irreps_out}, sh={self.irreps_sh}, num_radial={self.num_radial}, "
                f"radial_max={self.radial_max}, edge_channels={self.edge_channels}, aggregation={self.aggregation!r}")
