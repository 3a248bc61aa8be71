"""SteerableConv: SEGNN message passing with steerable non-linear messages and updates."""
from __future__ import annotations

from typing import Optional

import torch
from e3nn import o3
from torch import nn

from gdl.groups import FieldType
from gdl.nn.graph._common import aggregation_code, check_edge_attr, check_edge_index, check_features, euclidean_group
from gdl.nn.graph._irreps import (
    GatedO3TensorProduct,
    O3TensorProduct,
    as_irreps,
    check_irreps_features,
    edge_spherical_harmonics,
)


class SteerableConv(nn.Module):
    r"""Steerable E(3)-equivariant message passing (SEGNN, Brandstetter et al. 2022, eq. 7–9).

    With steerable edge attributes ã_ij = Y(x_j − x_i) (spherical harmonics up to ``lmax_attr``)
    and steerable node attributes ã_i (an input, e.g. mean_j ã_ij + Y(v_i))::

        m_ij = φ_m([h_i, h_j, ‖x_j − x_i‖², a_ij], ã_ij)     two gated O(3) tensor-product layers
        m_i  = C Σ_j m_ij                                   (sum, as SEGNN, or mean)
        h_i' = h_i + φ_u([h_i, m_i], ã_i)                   gated layer, then a linear one

    A gated layer is Gate(W (x ⊗ ã) + b): e3nn ``FullyConnectedTensorProduct`` with the
    attributes, bias on even scalars, SiLU/sigmoid gate. a_ij are optional invariant edge
    attributes (``edge_channels``). The residual is used when ``irreps_in == irreps_out``.
    Weights are parametrised as SEGNN's (``O3TensorProduct``; ``rescale=False``: e3nn's).

    Symmetry: E(3) including reflections (all irreps carry their parity, Y^l has parity (−1)^l)
    and node permutations, exact. Types: h: ``FieldType.irreps(E, irreps_in)`` →
    ``FieldType.irreps(E, irreps_out)``; pos: points; node_attr: ``FieldType.irreps(E,
    irreps_node_attr)`` (default Y up to ``lmax_attr``); ``edge_attr`` invariant structure.
    """

    def __init__(
        self,
        irreps_in,
        irreps_hidden,
        irreps_out=None,
        lmax_attr: int = 1,
        irreps_node_attr=None,
        edge_channels: int = 0,
        aggregation: str = "sum",
        rescale: bool = True,
    ):
        super().__init__()
        self.irreps_in = as_irreps(irreps_in, "irreps_in")
        self.irreps_hidden = as_irreps(irreps_hidden, "irreps_hidden")
        self.irreps_out = as_irreps(irreps_out, "irreps_out") if irreps_out is not None else self.irreps_in
        self.irreps_edge_attr = o3.Irreps.spherical_harmonics(lmax_attr)
        self.irreps_node_attr = (as_irreps(irreps_node_attr, "irreps_node_attr") if irreps_node_attr is not None
                                 else self.irreps_edge_attr)
        self.edge_channels = int(edge_channels)
        self.aggregation = aggregation_code(aggregation)
        self.residual = self.irreps_in == self.irreps_out

        message_in = self.irreps_in + self.irreps_in + o3.Irreps(f"{1 + self.edge_channels}x0e")
        self.message_1 = GatedO3TensorProduct(message_in, self.irreps_hidden, self.irreps_edge_attr, rescale)
        self.message_2 = GatedO3TensorProduct(self.irreps_hidden, self.irreps_hidden, self.irreps_edge_attr, rescale)
        self.update_1 = GatedO3TensorProduct(self.irreps_in + self.irreps_hidden, self.irreps_hidden,
                                             self.irreps_node_attr, rescale)
        self.update_2 = O3TensorProduct(self.irreps_hidden, self.irreps_out, self.irreps_node_attr, rescale=rescale)

        E = euclidean_group(3)
        self.in_type = {
            "h": FieldType.irreps(E, self.irreps_in),
            "pos": FieldType(E, E.standard_rep()),
            "node_attr": FieldType.irreps(E, self.irreps_node_attr),
        }
        self.out_type = {"h": FieldType.irreps(E, self.irreps_out)}

    def forward(self, h: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor, node_attr: torch.Tensor,
                edge_attr: Optional[torch.Tensor] = None) -> torch.Tensor:
        check_features("pos", pos, 3, what="positions")
        num_nodes = pos.shape[0]
        check_irreps_features("h", h, self.irreps_in, num_nodes)
        check_irreps_features("node_attr", node_attr, self.irreps_node_attr, num_nodes)
        check_edge_index(edge_index, num_nodes)
        check_edge_attr(edge_attr, edge_index.shape[1], self.edge_channels)
        source, target = edge_index[0], edge_index[1]
        vec = pos.index_select(0, source) - pos.index_select(0, target)
        return self.propagate_checked(h, vec, source, target, node_attr, edge_attr)

    def propagate_checked(self, h, vec, source, target, node_attr, edge_attr=None, edge_sh=None, inv_deg=None):
        """The layer's maths on validated inputs; ``vec`` = x_j − x_i per edge, ``edge_sh`` = Y(vec) if known."""
        num_nodes = h.shape[0]
        if edge_sh is None:
            edge_sh = edge_spherical_harmonics(self.irreps_edge_attr, vec, normalization="integral")
        dist2 = (vec * vec).sum(-1, keepdim=True)
        parts = [h.index_select(0, target), h.index_select(0, source), dist2]
        if self.edge_channels:
            parts.append(edge_attr)
        m = self.message_2(self.message_1(torch.cat(parts, dim=1), edge_sh), edge_sh)
        agg = m.new_zeros(num_nodes, m.shape[1]).index_add_(0, target, m)
        if self.aggregation == "mean":
            if inv_deg is None:
                inv_deg = torch.bincount(target, minlength=num_nodes).clamp_(min=1).to(agg.dtype).reciprocal_().unsqueeze(1)
            agg = agg * inv_deg
        update = self.update_2(self.update_1(torch.cat([h, agg], dim=1), node_attr), node_attr)
        return h + update if self.residual else update

    def extra_repr(self) -> str:
        return (f"{self.irreps_in} → {self.irreps_out}, hidden={self.irreps_hidden}, edge_attr={self.irreps_edge_attr}, "
                f"node_attr={self.irreps_node_attr}, edge_channels={self.edge_channels}, aggregation={self.aggregation!r}")
