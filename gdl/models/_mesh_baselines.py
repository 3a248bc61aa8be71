"""Baselines of the mesh benchmarks: a GCN on vertex coordinates and an MLP on invariant descriptors.

Both read a mesh batch (``pos`` [V, 3], ``face`` [3, F]) and return per-vertex outputs [V, C]
(logits over template vertices for correspondence, C = 1 values for regression). Plain torch
(``index_add_``), no torch-scatter.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from gdl.models._mesh_inputs import (
    invariant_vertex_features,
    mesh_point_type,
    mesh_scalar_type,
    read_mesh,
    scatter_mean,
)

__all__ = ["MeshGCN", "InvariantFeatureMLP"]


class _GCNLayer(nn.Module):
    """h_i' = Σ_{j ∈ N(i) ∪ {i}} h_j W / √(d_i d_j) + b, d = degree + 1 (Kipf & Welling 2017, eq. 2)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.linear = nn.Linear(in_channels, out_channels)

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        source, target = edge_index
        n = h.shape[0]
        degree = torch.ones(n, dtype=h.dtype, device=h.device).index_add_(0, target, torch.ones_like(target, dtype=h.dtype))
        scale = degree.rsqrt()
        g = h @ self.linear.weight.T
        out = g * (scale * scale)[:, None]  # the self-loop
        out = out.index_add(0, target, g[source] * (scale[source] * scale[target])[:, None])
        return out + self.linear.bias


class MeshGCN(nn.Module):
    r"""Isotropic graph convolutional network on vertex coordinates (the "Graph CNN, XYZ" row of GEM-CNN's
    Table 2; Kipf & Welling 2017) over the mesh's edges.

    Input: x_i = (p_i − mean_mesh p) · ``input_scale`` (centred per mesh, so translation-invariant;
    **not** rotation-invariant: a rotated mesh gives rotated inputs). ``num_layers`` GCN layers
    (ReLU between), width ``hidden_channels``, then a per-vertex linear head to ``out_channels``.
    Symmetry: vertex relabelling (equivariant) and translations (invariant); it breaks rotations by
    design (``breaks=("SE(3)",)`` in the tasks). in_type = {pos: points of E(3)}, out_type =
    ``out_channels`` scalars per vertex.
    """

    def __init__(self, out_channels: int, hidden_channels: int = 64, num_layers: int = 4, input_scale: float = 1.0,
                 dropout: float = 0.0):
        super().__init__()
        if out_channels < 1 or hidden_channels < 1 or num_layers < 1:
            raise ValueError(f"MeshGCN: out_channels, hidden_channels and num_layers must be >= 1, got "
                             f"{out_channels}, {hidden_channels}, {num_layers}")
        self.in_type = {"pos": mesh_point_type()}
        self.out_type = mesh_scalar_type(out_channels)
        self.input_scale = float(input_scale)
        widths = [3] + [hidden_channels] * num_layers
        self.layers = nn.ModuleList(_GCNLayer(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_channels, out_channels)

    def forward(self, data) -> torch.Tensor:
        mesh = read_mesh(data, type(self).__name__)
        x = (mesh.pos - scatter_mean(mesh.pos, mesh.batch, mesh.num_graphs)[mesh.batch]) * self.input_scale
        h = x.to(self.head.weight.dtype)
        for layer in self.layers:
            h = torch.relu(layer(h, mesh.edge_index))
        return self.head(self.dropout(h))


class InvariantFeatureMLP(nn.Module):
    r"""A per-vertex MLP on rotation-invariant shape descriptors (``invariant_vertex_features``: multi-scale
    normal displacements, Gaussian curvature, relative area; 2·len(scales) + 2 channels).

    Symmetry: invariant to rotations and translations of the mesh (SE(3); the descriptors flip sign
    under reflections, so not E(3)), equivariant to vertex relabelling — exact up to rounding, with no
    message passing beyond the descriptors' neighbourhoods. in_type = {pos: points of E(3)},
    out_type = ``out_channels`` scalars per vertex.
    """

    def __init__(self, out_channels: int, hidden_channels: int = 128, num_layers: int = 3,
                 scales: Sequence[int] = (1, 4, 16, 64), dropout: float = 0.0):
        super().__init__()
        if out_channels < 1 or hidden_channels < 1 or num_layers < 1:
            raise ValueError(f"InvariantFeatureMLP: out_channels, hidden_channels and num_layers must be >= 1, got "
                             f"{out_channels}, {hidden_channels}, {num_layers}")
        self.scales = tuple(int(s) for s in scales)
        self.in_type = {"pos": mesh_point_type()}
        self.out_type = mesh_scalar_type(out_channels)
        widths = [2 * len(set(self.scales)) + 2] + [hidden_channels] * num_layers
        blocks = []
        for a, b in zip(widths[:-1], widths[1:]):
            blocks += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(dropout)]
        self.mlp = nn.Sequential(*blocks, nn.Linear(hidden_channels, out_channels))

    def forward(self, data) -> torch.Tensor:
        mesh = read_mesh(data, type(self).__name__)
        features = invariant_vertex_features(mesh, self.scales)
        return self.mlp(features.to(self.mlp[0].weight.dtype))
