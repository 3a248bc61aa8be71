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
from gdl.nn._checks import check_edge_attr, check_edge_index, check_field, check_matches_module, reference_tensor
from gdl.nn._types import TypeLike, as_channels, as_irreps, euclidean_group
from gdl.nn.graph._edge_weight_tp import EdgeWeightTensorProduct, edge_weight_tp_supported
from gdl.nn.graph._irreps import edge_spherical_harmonics, make_gate
from gdl.nn.graph._message_passing import (
    EdgeStructure,
    aggregate,
    check_aggregation,
    edge_structure,
    resolve_residual,
)


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
    ('uvu', as NequIP), produced per edge by the radial MLP (``shared_weights=False``), evaluated by
    ``EdgeWeightTensorProduct`` (Clebsch–Gordan coefficients contracted with Y first, one batched
    matmul per input block; same weights and values as e3nn's module ``self.tp``, which
    ``fast=False`` calls; speed grid in docs/layers.md).

    An output irrep that no path reaches (neither some ir_in ⊗ Y^l nor the self-interaction, i.e.
    not in ``irreps_in``) would be identically zero: the constructor refuses it with a ``ValueError``
    naming those irreps (e.g. ``TensorFieldConv("1x0e", "1x1e")``: 0e ⊗ Y^l has parity (−1)^l).

    Symmetry: E(3) (rotations, reflections, translations) and node permutations, exact.

    Types (E = ``Euclidean(3)``; every irreps argument takes a ``FieldType``, e3nn ``Irreps`` or a string):
        - h: ``FieldType.irreps(E, irreps_in)`` → ``FieldType.irreps(E, irreps_out)``
        - pos: ``E.standard_rep()`` (points)
        - edge_attr: [num_edges, edge_channels] invariant edge attributes

    Args:
        irreps_in, irreps_out: feature types (``irreps_out`` lists its scalars first: the gate's layout).
        lmax: degree of the spherical harmonics Y. num_radial, radial_max, radial_hidden: the radial basis
            and MLP. edge_channels: width of a_ij. aggregation: "mean" or "sum".
        residual: h' = h + … (``None``: when ``irreps_in == irreps_out``).
        fast: evaluate the product with ``EdgeWeightTensorProduct`` (default) instead of e3nn's module.
    """

    def __init__(
        self,
        irreps_in: TypeLike,
        irreps_out: TypeLike,
        lmax: int = 2,
        num_radial: int = 8,
        radial_max: float = 5.0,
        radial_hidden: int = 32,
        edge_channels: int = 0,
        aggregation: str = "mean",
        residual: Optional[bool] = None,
        fast: bool = True,
    ):
        super().__init__()
        self.irreps_in = as_irreps(irreps_in, "irreps_in")
        self.irreps_out = as_irreps(irreps_out, "irreps_out")
        self.irreps_sh = o3.Irreps.spherical_harmonics(lmax)
        self.num_radial, self.radial_max = int(num_radial), float(radial_max)
        self.edge_channels = as_channels(edge_channels, "edge_channels")
        self.aggregation = check_aggregation(aggregation)
        self.residual = resolve_residual(residual, self.irreps_in == self.irreps_out, str(self.irreps_in),
                                         str(self.irreps_out))

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
        reached = {ir for _, ir in irreps_tp} | {ir for _, ir in self.irreps_in}
        unreachable = o3.Irreps([(mul, ir) for mul, ir in self.irreps_out if ir not in reached])
        if unreachable:
            raise ValueError(
                f"TensorFieldConv({self.irreps_in} → {self.irreps_out}): no path from {self.irreps_in} ⊗ "
                f"Y(lmax={lmax}) = {self.irreps_sh} (nor the self-interaction) reaches the output irreps "
                f"{unreachable.simplify()}; they would be identically zero. Raise lmax, add inputs that reach "
                f"them (mind the parity: Y^l has parity (-1)^l), or drop them from irreps_out")
        irreps_tp = o3.Irreps(irreps_tp)
        irreps_sorted, perm, _ = irreps_tp.sort()
        instructions = [(i, j, perm[k], mode, train) for i, j, k, mode, train in instructions]
        self.tp = o3.TensorProduct(self.irreps_in, self.irreps_sh, irreps_sorted, instructions,
                                   shared_weights=False, internal_weights=False)
        self.fast = EdgeWeightTensorProduct(self.tp) if fast and edge_weight_tp_supported(self.tp) else None
        self.radial = FullyConnectedNet([self.num_radial + self.edge_channels, radial_hidden, radial_hidden,
                                         self.tp.weight_numel], F.silu)
        self.linear = o3.Linear(irreps_sorted.simplify(), irreps_mid)
        self.self_interaction = o3.Linear(self.irreps_in, irreps_mid)

        E = euclidean_group(3)
        self.in_type = {"h": FieldType.irreps(E, self.irreps_in), "pos": FieldType(E, E.standard_rep())}
        self.out_type = {"h": FieldType.irreps(E, self.irreps_out)}

    def forward(self, h: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor,
                edge_attr: Optional[torch.Tensor] = None) -> torch.Tensor:
        check_field("pos", pos, self.in_type["pos"])
        num_nodes = pos.shape[0]
        check_field("h", h, self.in_type["h"], num_nodes)
        reference = reference_tensor(self)
        check_matches_module(reference, "h", h)
        check_matches_module(reference, "pos", pos)
        check_edge_index(edge_index, num_nodes)
        check_edge_attr(edge_attr, edge_index.shape[1], self.edge_channels)
        return self.propagate(h, pos, edge_structure(edge_index, num_nodes, pos.dtype, fused_layout=False), edge_attr)

    def propagate(self, h, pos, edges: EdgeStructure, edge_attr=None) -> torch.Tensor:
        """The layer's maths on validated inputs (models check a batch once, then call this per layer)."""
        source, target = edges.source, edges.target
        vec = pos.index_select(0, source) - pos.index_select(0, target)  # r_ij = x_j − x_i
        sh = edge_spherical_harmonics(self.irreps_sh, vec)
        dist = torch.linalg.vector_norm(vec, dim=-1)
        radial = soft_one_hot_linspace(dist, 0.0, self.radial_max, self.num_radial, basis="gaussian", cutoff=False)
        if self.edge_channels:
            radial = torch.cat([radial, edge_attr], dim=1)
        product = self.fast if self.fast is not None else self.tp
        messages = product(h.index_select(0, source), sh, self.radial(radial))
        agg = aggregate(messages, edges, self.aggregation)
        out = self.gate(self.linear(agg) + self.self_interaction(h))
        return h + out if self.residual else out

    def extra_repr(self) -> str:
        return (f"{self.irreps_in} → {self.irreps_out}, sh={self.irreps_sh}, num_radial={self.num_radial}, "
                f"radial_max={self.radial_max}, edge_channels={self.edge_channels}, aggregation={self.aggregation!r}, "
                f"residual={self.residual}")
