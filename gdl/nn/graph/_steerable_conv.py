"""SteerableConv: SEGNN message passing with steerable non-linear messages and updates."""
from __future__ import annotations

from typing import Optional

import torch
from e3nn import o3
from torch import nn

from gdl.groups import FieldType
from gdl.nn._checks import check_edge_attr, check_edge_index, check_field, check_matches_module, reference_tensor
from gdl.nn._types import TypeLike, as_channels, as_irreps, euclidean_group
from gdl.nn.graph._irreps import GatedO3TensorProduct, O3TensorProduct, edge_spherical_harmonics
from gdl.nn.graph._steerable_fused import SteerablePlan, fused_steerable_conv, fused_supported
from gdl.nn.graph._message_passing import (
    EdgeStructure,
    aggregate,
    check_aggregation,
    edge_structure,
    resolve_residual,
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
    attributes (``edge_channels``). Weights are parametrised as SEGNN's (``O3TensorProduct``;
    ``rescale=False``: e3nn's). A hidden or output irrep that no tensor-product path reaches is
    refused at construction (``O3TensorProduct``), since it would be identically zero.

    Symmetry: E(3) including reflections (all irreps carry their parity, Y^l has parity (−1)^l)
    and node permutations, exact.

    Types (E = ``Euclidean(3)``; every irreps argument takes a ``FieldType``, e3nn ``Irreps`` or a string):
        - h: ``FieldType.irreps(E, irreps_in)`` → ``FieldType.irreps(E, irreps_out)``
        - pos: ``E.standard_rep()`` (points)
        - node_attr: ``FieldType.irreps(E, irreps_node_attr)`` (default Y up to ``lmax_attr``)
        - edge_attr: [num_edges, edge_channels] invariant edge attributes

    Args:
        irreps_in, irreps_hidden, irreps_out: feature types (``irreps_out`` defaults to ``irreps_in``).
        lmax_attr: degree of the edge attributes Y(x_j − x_i). irreps_node_attr: type of ã_i.
        edge_channels: width of a_ij. aggregation: "sum" (SEGNN) or "mean".
        residual: h' = h + φ_u (``None``: when ``irreps_in == irreps_out``). rescale: SEGNN's weights.
        fused: run the layer as one autograd Function with a hand-written backward
            (``_steerable_fused.py``: grouped-by-irrep layout, weights of the first message product
            applied at the nodes, Clebsch–Gordan coefficients contracted with the attributes once;
            same parameters and maths, equal to the autograd path to 1e-12 in float64). It is
            differentiable once; ``fused=False`` (or ``layer.fused = False``, which ``EnergyModel``
            does under ``create_graph``) is the plain autograd path, differentiable any number of times.
    """

    def __init__(
        self,
        irreps_in: TypeLike,
        irreps_hidden: TypeLike,
        irreps_out: Optional[TypeLike] = None,
        lmax_attr: int = 1,
        irreps_node_attr: Optional[TypeLike] = None,
        edge_channels: int = 0,
        aggregation: str = "sum",
        rescale: bool = True,
        residual: Optional[bool] = None,
        fused: bool = True,
    ):
        super().__init__()
        self.irreps_in = as_irreps(irreps_in, "irreps_in")
        self.irreps_hidden = as_irreps(irreps_hidden, "irreps_hidden")
        self.irreps_out = as_irreps(irreps_out, "irreps_out") if irreps_out is not None else self.irreps_in
        self.irreps_edge_attr = o3.Irreps.spherical_harmonics(lmax_attr)
        self.irreps_node_attr = (as_irreps(irreps_node_attr, "irreps_node_attr") if irreps_node_attr is not None
                                 else self.irreps_edge_attr)
        self.edge_channels = as_channels(edge_channels, "edge_channels")
        self.aggregation = check_aggregation(aggregation)
        self.residual = resolve_residual(residual, self.irreps_in == self.irreps_out, str(self.irreps_in),
                                         str(self.irreps_out))

        message_in = self.irreps_in + self.irreps_in + o3.Irreps(f"{1 + self.edge_channels}x0e")
        self.message_1 = GatedO3TensorProduct(message_in, self.irreps_hidden, self.irreps_edge_attr, rescale)
        self.message_2 = GatedO3TensorProduct(self.irreps_hidden, self.irreps_hidden, self.irreps_edge_attr, rescale)
        self.update_1 = GatedO3TensorProduct(self.irreps_in + self.irreps_hidden, self.irreps_hidden,
                                             self.irreps_node_attr, rescale)
        self.update_2 = O3TensorProduct(self.irreps_hidden, self.irreps_out, self.irreps_node_attr, rescale=rescale)

        self.fused = bool(fused)
        # the fused path's bookkeeping (non-persistent buffers only: state_dict keys unchanged)
        self.fused_plan = SteerablePlan(self) if fused_supported(self) else None

        E = euclidean_group(3)
        self.in_type = {
            "h": FieldType.irreps(E, self.irreps_in),
            "pos": FieldType(E, E.standard_rep()),
            "node_attr": FieldType.irreps(E, self.irreps_node_attr),
        }
        self.out_type = {"h": FieldType.irreps(E, self.irreps_out)}

    def forward(self, h: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor, node_attr: torch.Tensor,
                edge_attr: Optional[torch.Tensor] = None) -> torch.Tensor:
        check_field("pos", pos, self.in_type["pos"])
        num_nodes = pos.shape[0]
        check_field("h", h, self.in_type["h"], num_nodes)
        check_field("node_attr", node_attr, self.in_type["node_attr"], num_nodes)
        reference = reference_tensor(self)
        for name, x in (("h", h), ("pos", pos), ("node_attr", node_attr)):
            check_matches_module(reference, name, x)
        check_edge_index(edge_index, num_nodes)
        check_edge_attr(edge_attr, edge_index.shape[1], self.edge_channels)
        edges = edge_structure(edge_index, num_nodes, pos.dtype, fused_layout=False)
        vec = pos.index_select(0, edges.source) - pos.index_select(0, edges.target)
        return self.propagate(h, vec, edges, node_attr, edge_attr)

    def propagate(self, h, vec, edges: EdgeStructure, node_attr, edge_attr=None, edge_sh=None) -> torch.Tensor:
        """The layer's maths on validated inputs; ``vec`` = x_j − x_i per edge, ``edge_sh`` = Y(vec) if known
        (models check a batch once and compute both once for all layers)."""
        source, target = edges.source, edges.target
        if edge_sh is None:
            edge_sh = edge_spherical_harmonics(self.irreps_edge_attr, vec, normalization="integral")
        if self.fused and self.fused_plan is not None:
            return fused_steerable_conv(self, self.fused_plan, h, vec, edges, node_attr, edge_attr, edge_sh)
        dist2 = (vec * vec).sum(-1, keepdim=True)
        parts = [h.index_select(0, target), h.index_select(0, source), dist2]
        if self.edge_channels:
            parts.append(edge_attr)
        m = self.message_2(self.message_1(torch.cat(parts, dim=1), edge_sh), edge_sh)
        agg = aggregate(m, edges, self.aggregation)
        update = self.update_2(self.update_1(torch.cat([h, agg], dim=1), node_attr), node_attr)
        return h + update if self.residual else update

    def extra_repr(self) -> str:
        return (f"{self.irreps_in} → {self.irreps_out}, hidden={self.irreps_hidden}, edge_attr={self.irreps_edge_attr}, "
                f"node_attr={self.irreps_node_attr}, edge_channels={self.edge_channels}, aggregation={self.aggregation!r}, "
                f"residual={self.residual}, fused={self.fused}")
