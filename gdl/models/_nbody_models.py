"""N-body models besides EGNN: TFN, SEGNN (equivariant), GNN and Linear (baselines).

Every model takes a PyG ``Data``/``Batch`` with ``pos`` [N, 3], ``vel`` [N, 3], ``charges``
[N, 1], ``edge_index`` (and ``batch``) and returns predicted positions [N, 3]. ``in_type`` =
{pos: points, vel: vectors, charges: scalars} of E(3); ``out_type`` = points.
"""
from __future__ import annotations

import torch
from e3nn import o3
from torch import nn

from gdl.models._nbody_inputs import charge_products, nbody_in_type, nbody_out_type, read_nbody, speed
from gdl.nn.graph import (
    GatedO3TensorProduct,
    O3TensorProduct,
    SteerableConv,
    TensorFieldConv,
    aggregate,
    edge_spherical_harmonics,
    edge_structure,
    segment_sum,
)


def _graph_mean(x, batch, num_graphs):
    """x̄_g = mean of x over the nodes of graph g (0 for a graph without nodes)."""
    count = torch.bincount(batch, minlength=num_graphs).clamp_(min=1).to(x.dtype).unsqueeze(1)
    return segment_sum(x, batch, num_graphs) / count


class TFN(nn.Module):
    r"""Tensor-field network for N-body: x̂ = x + f(x, v, q), f an l = 1 output of TensorFieldConv layers.

    Node input h⁰ = [q_i, ‖v_i‖] (2x0e) ⊕ v_i (1x1o), mixed by an e3nn Linear into ``irreps_hidden``;
    ``num_layers`` ``TensorFieldConv`` layers (spherical harmonics up to ``lmax``, radial MLP on a
    Gaussian basis of ‖x_j − x_i‖ and the edge attribute q_i q_j); an e3nn Linear to 1x1o gives the
    displacement. Defaults follow the EGNN paper's TFN (4 layers, 16 channels per degree l ≤ 1,
    filters up to l = 2). Symmetry: E(3) and node permutations, exact.
    """

    def __init__(self, irreps_hidden="16x0e+16x1o", num_layers: int = 4, lmax: int = 2, num_radial: int = 8,
                 radial_max: float = 6.0, radial_hidden: int = 32, aggregation: str = "mean"):
        super().__init__()
        self.irreps_input = o3.Irreps("2x0e+1x1o")
        self.embedding = o3.Linear(self.irreps_input, irreps_hidden)
        self.layers = nn.ModuleList(
            TensorFieldConv(irreps_hidden, irreps_hidden, lmax=lmax, num_radial=num_radial, radial_max=radial_max,
                            radial_hidden=radial_hidden, edge_channels=1, aggregation=aggregation)
            for _ in range(num_layers)
        )
        self.head = o3.Linear(irreps_hidden, "1x1o")
        self.in_type = nbody_in_type()
        self.out_type = nbody_out_type()

    def forward(self, data) -> torch.Tensor:
        pos, vel, charges, source, target, _ = read_nbody(data, module=self)
        h = self.embedding(torch.cat([charges, speed(vel), vel], dim=1))
        edge_attr = charge_products(charges, source, target)
        edges = edge_structure(data.edge_index, pos.shape[0], pos.dtype, fused_layout=False)
        for layer in self.layers:
            h = layer.propagate(h, pos, edges, edge_attr)
        return pos + self.head(h)


class SEGNN(nn.Module):
    r"""Steerable E(3) GNN for N-body (Brandstetter et al. 2022, N-body configuration): x̂ = x + f.

    Node input [x_i − x̄, v_i] (2x1o) ⊕ ‖v_i‖ (0e), x̄ the mean position of the node's graph
    (translation-invariant, unlike the reference code's absolute positions); steerable attributes
    ã_ij = Y(x_j − x_i), ã_i = mean_j ã_ij + Y(v_i) (Y up to ``lmax_attr``); invariant message
    inputs ‖x_j − x_i‖² and q_i q_j. Embedding O3TensorProduct → ``num_layers`` ``SteerableConv``
    (sum aggregation) → gated + linear O3TensorProduct to 1x1o, the displacement f. Defaults: the
    README configuration (4 layers, l_max = 1, 64 'weight-balanced' features = 32x0e+32x1o) and
    the reference's weight parametrisation (``O3TensorProduct``; ``rescale=False``: e3nn's, which
    trains about 7× slower on N-body, docs/layers.md). ``fused``: the layers run as
    ``SteerableConv(fused=True)`` (one autograd Function with a hand-written backward each,
    differentiable once; same parameters and state_dict keys); ``False``: plain autograd.
    Symmetry: E(3) including reflections and node permutations, exact.
    """

    def __init__(self, irreps_hidden="32x0e+32x1o", num_layers: int = 4, lmax_attr: int = 1, aggregation: str = "sum",
                 rescale: bool = True, fused: bool = True):
        super().__init__()
        self.irreps_input = o3.Irreps("2x1o+1x0e")
        self.irreps_attr = o3.Irreps.spherical_harmonics(lmax_attr)
        self.embedding = O3TensorProduct(self.irreps_input, irreps_hidden, self.irreps_attr, rescale=rescale)
        self.layers = nn.ModuleList(
            SteerableConv(irreps_hidden, irreps_hidden, irreps_hidden, lmax_attr=lmax_attr, edge_channels=1,
                          aggregation=aggregation, rescale=rescale, fused=fused)
            for _ in range(num_layers)
        )
        self.head_1 = GatedO3TensorProduct(irreps_hidden, irreps_hidden, self.irreps_attr, rescale)
        self.head_2 = O3TensorProduct(irreps_hidden, "1x1o", self.irreps_attr, rescale=rescale)
        self.in_type = nbody_in_type()
        self.out_type = nbody_out_type()

    def forward(self, data) -> torch.Tensor:
        pos, vel, charges, source, target, batch = read_nbody(data, module=self)
        num_nodes = pos.shape[0]
        num_graphs = int(batch.max()) + 1 if num_nodes else 0
        centre = _graph_mean(pos, batch, num_graphs)
        vec = pos.index_select(0, source) - pos.index_select(0, target)  # x_j − x_i
        edge_sh = edge_spherical_harmonics(self.irreps_attr, vec, normalization="integral")
        edges = edge_structure(data.edge_index, num_nodes, pos.dtype, fused_layout=False)
        vel_sh = edge_spherical_harmonics(self.irreps_attr, vel, normalization="integral")
        node_attr = aggregate(edge_sh, edges, "mean") + vel_sh  # ã_i = mean_j ã_ij + Y(v_i)
        edge_attr = charge_products(charges, source, target)
        h = self.embedding(torch.cat([pos - centre.index_select(0, batch), vel, speed(vel)], dim=1), node_attr)
        for layer in self.layers:
            h = layer.propagate(h, vec, edges, node_attr, edge_attr, edge_sh)
        return pos + self.head_2(self.head_1(h, node_attr), node_attr)


class GNN(nn.Module):
    r"""The EGNN paper's non-equivariant GNN baseline: message passing on h⁰ = Linear([x_i, v_i]).

    ``num_layers`` layers h_i ← h_i + φ_h([h_i, Σ_j φ_e([h_i, h_j, q_i q_j])]) (two-layer SiLU MLPs),
    then a decoder Linear → SiLU → Linear(3) giving the positions directly (as the reference).
    Symmetry: node permutations only — it reads absolute coordinates, so it is NOT E(3)-equivariant
    (its declared types are honest and ``gdl.testing`` flags it).
    """

    def __init__(self, hidden_channels: int = 64, num_layers: int = 4):
        super().__init__()
        act = nn.SiLU
        hid = hidden_channels
        self.embedding = nn.Linear(6, hid)
        self.edge_mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(2 * hid + 1, hid), act(), nn.Linear(hid, hid), act()) for _ in range(num_layers))
        self.node_mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(2 * hid, hid), act(), nn.Linear(hid, hid)) for _ in range(num_layers))
        self.decoder = nn.Sequential(nn.Linear(hid, hid), act(), nn.Linear(hid, 3))
        self.in_type = nbody_in_type()
        self.out_type = nbody_out_type()

    def forward(self, data) -> torch.Tensor:
        pos, vel, charges, source, target, _ = read_nbody(data, module=self)
        h = self.embedding(torch.cat([pos, vel], dim=1))
        edge_attr = charge_products(charges, source, target)
        edges = edge_structure(data.edge_index, pos.shape[0], pos.dtype, fused_layout=False)
        for edge_mlp, node_mlp in zip(self.edge_mlps, self.node_mlps):
            m = edge_mlp(torch.cat([h.index_select(0, target), h.index_select(0, source), edge_attr], dim=1))
            h = h + node_mlp(torch.cat([h, aggregate(m, edges, "sum")], dim=1))
        return self.decoder(h)


class Linear(nn.Module):
    r"""Linear baseline: x̂_i = x_i + W [x_i, v_i] + b per node (W: 6 → 3).

    Symmetry: node permutations only (W mixes absolute coordinates; not E(3)-equivariant — declared
    types are honest and ``gdl.testing`` flags it).
    """

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(6, 3)
        self.in_type = nbody_in_type()
        self.out_type = nbody_out_type()

    def forward(self, data) -> torch.Tensor:
        pos, vel, _, _, _, _ = read_nbody(data, module=self)
        return pos + self.linear(torch.cat([pos, vel], dim=1))
