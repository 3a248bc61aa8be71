"""GEMCNN: the gauge-equivariant mesh CNN of de Haan et al. (ICLR 2021) for per-vertex tasks, on ``gdl.nn.mesh``.

    inputs (ρ_0 fields per vertex)
      → num_blocks × GaugeResNetBlock [conv → σ → conv, + residual, → σ]   (hidden type C(ρ0⊕…⊕ρL);
                                       the first block's residual is a gauge-equivariant linear map)
      → GaugeEquivariantConv to C' ρ_0 → per-vertex MLP (the paper's 1×1 convolutions) → out_channels

Geometry: computed in the forward pass from ``pos`` and ``face`` by ``gdl.gauge.surface_geometry``
(area-weighted normals, tangent frames anchored at the first neighbour, chord log map, Levi-Civita
transport), so the network sees the mesh exactly as given and a rigid motion of ``pos`` moves every
frame with it. Radii are divided by the mesh's mean edge length (per mesh, never per batch), and the
convolutions' fixed radial scale ``max_radius`` is in that unit.

Inputs (``input_features``):

- ``"matrix"``: ``gdl.nn.mesh.local_matrix_features`` (9ρ0 ⊕ 6ρ1 ⊕ 3ρ2: neighbour offsets and normals in
  the local frame; offsets divided by each mesh's mean edge length): SE(3)-invariant, gauge equivariant;
- ``"descriptors"``: ``invariant_vertex_features`` as ρ0 fields (SE(3)-invariant scalars: multi-scale
  normal displacements, Gaussian curvature, relative area);
- ``"xyz"``: centred positions as 3 ρ0 (the paper's input): **not** rotation invariant.

Symmetry: the convolutions, the nonlinearity and the residual additions are gauge equivariant and the
head reads only ρ0 fields, so the output is gauge invariant; with ``"matrix"`` or ``"descriptors"``
inputs it is invariant to rotations and translations of the mesh (SE(3)) by construction. With the
regular nonlinearity (``nonlinearity="regular"``, N samples) gauge equivariance is approximate (its
error falls with N; see docs/meshes.md); ``"norm"`` and ``"gated"`` are exact. Rigid-motion
invariance does not depend on it (the frames move with the mesh). in_type = {pos: points of E(3)}; out_type = ``out_channels``
scalars per vertex.
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

__all__ = ["GEMCNN"]

INPUT_FEATURES = ("matrix", "descriptors", "xyz")


def _hidden_type(channels: int, max_order: int) -> str:
    return "+".join(f"{channels}x{m}" for m in range(max_order + 1))


class GEMCNN(nn.Module):
    """Gauge-equivariant mesh CNN for per-vertex classification or regression (module docstring).

    Args:
        out_channels: outputs per vertex (template vertices for correspondence, 1 for regression).
        input_features: ``"matrix"``, ``"descriptors"`` (the default; the benchmarked one) or ``"xyz"``.
        hidden_channels: C, multiplicity of each ρ_m in the hidden type C(ρ0⊕…⊕ρL).
        max_order: L (2).
        num_blocks: residual blocks (``gdl.nn.mesh.GaugeResNetBlock``, ≥ 1).
        invariant_channels: C' ρ0 fields after the last convolution.
        head_channels: width of the per-vertex MLP head (0: a single linear layer).
        max_radius: the convolutions' fixed radial scale, in mean edge lengths.
        n_rings: radial hat functions per convolution.
        nonlinearity: ``"regular"`` (sample ``n_samples`` directions, ReLU, back), ``"norm"`` or ``"gated"``.
        n_samples: N of the regular nonlinearity (odd, ≥ 2L + 1).
        dropout: before the head's last layer.
        reference: how the tangent frames are anchored (``surface_geometry``'s ``reference``: ``"neighbour"``,
            or a fixed direction such as ``(1.0, 0.0, 0.0)``). The output is gauge invariant, so it does not
            depend on this choice (exactly with ``nonlinearity="norm"``) — a whole-network gauge test.
    """

    def __init__(self, out_channels: int, input_features: str = "descriptors", hidden_channels: int = 16, max_order: int = 2,
                 num_blocks: int = 2, invariant_channels: int = 32, head_channels: int = 128, max_radius: float = 2.0,
                 n_rings: int = 2, nonlinearity: str = "regular", n_samples: int = 7, dropout: float = 0.0,
                 descriptor_scales: Sequence[int] = (1, 4, 16, 64), reference="neighbour"):
        super().__init__()
        from gdl.nn import mesh as mesh_nn

        if input_features not in INPUT_FEATURES:
            raise ValueError(f"GEMCNN: input_features must be one of {INPUT_FEATURES}, got {input_features!r}")
        if nonlinearity not in ("regular", "norm", "gated"):
            raise ValueError(f"GEMCNN: nonlinearity must be 'regular', 'norm' or 'gated', got {nonlinearity!r}")
        if out_channels < 1 or hidden_channels < 1 or invariant_channels < 1 or num_blocks < 1:
            raise ValueError(f"GEMCNN: out_channels, hidden_channels, invariant_channels and num_blocks must be >= 1, "
                             f"got {out_channels}, {hidden_channels}, {invariant_channels}, {num_blocks}")
        self.input_features = input_features
        self.reference = reference
        self.descriptor_scales = tuple(descriptor_scales)
        self.in_type = {"pos": mesh_point_type()}
        self.out_type = mesh_scalar_type(out_channels)
        if input_features == "matrix":
            in_type = mesh_nn.matrix_feature_type()
        elif input_features == "descriptors":
            in_type = f"{2 * len(set(self.descriptor_scales)) + 2}x0"
        else:
            in_type = "3x0"
        hidden = _hidden_type(hidden_channels, max_order)
        conv = dict(max_radius=max_radius, n_rings=n_rings)
        block = dict(conv, nonlinearity=nonlinearity, n_samples=n_samples)
        self.blocks = nn.ModuleList([mesh_nn.GaugeResNetBlock(in_type, hidden, **block)])
        self.blocks.extend(mesh_nn.GaugeResNetBlock(hidden, hidden, **block) for _ in range(num_blocks - 1))
        self.last = mesh_nn.GaugeEquivariantConv(hidden, f"{invariant_channels}x0", **conv)
        if head_channels:
            self.head = nn.Sequential(nn.ReLU(), nn.Linear(invariant_channels, head_channels), nn.ReLU(),
                                      nn.Dropout(dropout), nn.Linear(head_channels, out_channels))
        else:
            self.head = nn.Sequential(nn.ReLU(), nn.Dropout(dropout), nn.Linear(invariant_channels, out_channels))

    def geometry(self, mesh):
        """The geometry dict of ``surface_geometry`` (plus ``unit``, the mean edge length of each edge's mesh) and
        (edge_index, radius ÷ unit, log-map angle, transport) of a mesh batch."""
        from gdl.gauge import surface_geometry

        geo = surface_geometry(mesh.pos, mesh.face, mesh.edge_index, reference=self.reference)
        edge_index = geo["edge_index"]
        radius = geo["neighbour_radius"]
        per_mesh = scatter_mean(radius, mesh.batch[edge_index[1]], mesh.num_graphs)
        unit = per_mesh[mesh.batch[edge_index[1]]].clamp_min(torch.finfo(radius.dtype).tiny)
        geo["unit"] = unit
        return geo, (edge_index, radius / unit, geo["neighbour_angle"], geo["transport"])

    def inputs(self, mesh, geo) -> torch.Tensor:
        """The input fields: matrix features, invariant descriptors (ρ0) or centred positions (3 ρ0)."""
        if self.input_features == "matrix":
            from gdl.nn.mesh import local_matrix_features

            scale = torch.zeros(mesh.pos.shape[0], dtype=geo["unit"].dtype, device=mesh.pos.device).index_copy_(
                0, geo["edge_index"][1], geo["unit"])  # each mesh's mean edge length, per vertex
            scale = torch.where(scale > 0, scale, torch.ones_like(scale))
            return local_matrix_features(mesh.pos / scale[:, None].to(mesh.pos.dtype), geo["normal"], geo["frame_x"],
                                         geo["frame_y"], geo["edge_index"], scale=1.0)
        if self.input_features == "descriptors":
            return invariant_vertex_features(mesh, self.descriptor_scales)
        return mesh.pos - scatter_mean(mesh.pos, mesh.batch, mesh.num_graphs)[mesh.batch]

    def forward(self, data) -> torch.Tensor:
        mesh = read_mesh(data, type(self).__name__)
        geo, graph = self.geometry(mesh)
        dtype = self.head[-1].weight.dtype
        graph = (graph[0],) + tuple(t.to(dtype) for t in graph[1:])
        h = self.inputs(mesh, geo).to(dtype)
        for block in self.blocks:
            h = block(h, *graph)
        return self.head(self.last(h, *graph))
