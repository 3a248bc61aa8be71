"""Measured symmetry errors of the mesh layers (the numbers in docs/meshes.md).

    python -m gdl.benchmarks.mesh_errors

On the 162-vertex icosphere (2 subdivisions, radial noise 0.05, seed 0) with its extrinsic
geometry: ``check_equivariance`` with ``GaugeSymmetry()`` (generators, grid and random
per-vertex angles), max relative error, for each layer in float64 (and the convolution in
float32); the regular nonlinearity alone and inside a residual block for growing N; a block
with a bias on every output channel (GEM-CNN's residual defect); a small whole network
(matrix features → block → conv to invariants) under a random 3D rotation + translation.
"""
from __future__ import annotations

import torch

from gdl.gauge import GaugeTransform, MeshGeometry, surface_geometry
from gdl.groups import SO2, SO3
from gdl.nn.mesh import (GaugeEquivariantConv, GaugeResNetBlock, RegularNonlinearity, local_matrix_features,
                         matrix_feature_type)
from gdl.testing import GaugeSymmetry, check_equivariance
from gdl.testing.strategies import triangle_mesh


def _gauge(model, x, mesh):
    geo = (mesh.edge_index, mesh.neighbour_radius, mesh.neighbour_angle, mesh.transport)
    return check_equivariance(model, x, *geo, symmetry=GaugeSymmetry()).max_error


class _BiasOnEveryChannel(torch.nn.Module):
    """A residual 1×1 map plus a bias on every output channel (ρ_1/ρ_2 too), as GEM-CNN's
    ``nn.Conv1d(C_in, C_out, 1)`` with its default bias."""

    def __init__(self, linear):
        super().__init__()
        self.linear = linear
        self.bias = torch.nn.Parameter(torch.full((linear.out_type.dim,), 0.1, dtype=torch.float64))

    def forward(self, x):
        return self.linear(x) + self.bias


def main():
    rows = []
    mesh = MeshGeometry()(triangle_mesh("sphere", subdivisions=2))
    torch.manual_seed(0)
    for dtype in (torch.float64, torch.float32):
        m = MeshGeometry(dtype=dtype)(triangle_mesh("sphere", subdivisions=2, dtype=dtype))
        conv = GaugeEquivariantConv("4x0+2x1+2x2", "4x0+2x1+2x2", max_radius=0.5).to(dtype)
        rows.append((f"GaugeEquivariantConv 4x0+2x1+2x2, {str(dtype)[6:]}", _gauge(conv, torch.randn(m.num_nodes, 12, dtype=dtype), m)))
    x5 = torch.randn(mesh.num_nodes, 5, dtype=torch.float64)
    for nl in ("norm", "gated"):
        torch.manual_seed(0)
        block = GaugeResNetBlock("3x0+1x1", "2x0+2x1+2x2", max_radius=0.5, nonlinearity=nl).double()
        rows.append((f"GaugeResNetBlock 3x0+1x1 → 2x0+2x1+2x2, {nl}", _gauge(block, x5, mesh)))
    for n in (7, 101, 1001):
        torch.manual_seed(0)
        block = GaugeResNetBlock("3x0+1x1", "2x0+2x1+2x2", max_radius=0.5, nonlinearity="regular", n_samples=n).double()
        rows.append((f"GaugeResNetBlock, regular N={n}", _gauge(block, x5, mesh)))
    for nl, n in (("norm", 7), ("regular", 101)):
        torch.manual_seed(0)
        block = GaugeResNetBlock("3x0+1x1", "2x0+2x1+2x2", max_radius=0.5, nonlinearity=nl, n_samples=n).double()
        block.residual = _BiasOnEveryChannel(block.residual)
        label = "norm" if nl == "norm" else f"regular N={n}"
        rows.append((f"block with GEM-CNN's residual bias on every channel, {label}", _gauge(block, x5, mesh)))
    x = torch.randn(mesh.num_nodes, 15, dtype=torch.float64)
    h = GaugeTransform.random(SO2(), mesh.num_nodes, torch.Generator().manual_seed(0), dtype=torch.float64)
    for n in (5, 7, 51, 101, 1001):
        layer = RegularNonlinearity("3x0+3x1+3x2", n)
        out = layer(x)
        err = (layer(h.transform_field(x, layer.in_type)) - h.transform_field(out, layer.out_type)).abs().max() / out.abs().max()
        rows.append((f"RegularNonlinearity alone, N={n} (random angles)", float(err)))
    torch.manual_seed(0)
    block = GaugeResNetBlock(matrix_feature_type(), "4x0+2x1+2x2", max_radius=0.5).double()
    head = GaugeEquivariantConv("4x0+2x1+2x2", "3x0", max_radius=0.5).double()

    def net(pos):
        g = surface_geometry(pos, mesh.face)
        geo = (g["edge_index"], g["neighbour_radius"], g["neighbour_angle"], g["transport"])
        return head(block(local_matrix_features(pos, g["normal"], g["frame_x"], g["frame_y"], g["edge_index"]), *geo), *geo)

    rot = SO3().sample(1, torch.Generator().manual_seed(3), dtype=torch.float64)[0]
    with torch.no_grad():
        out = net(mesh.pos)
        moved = net(mesh.pos @ rot.T + torch.tensor([0.5, 1.0, -2.0], dtype=torch.float64))
    rows.append(("whole network, 3D rotation + translation", float((moved - out).abs().max() / out.abs().max())))
    print("| layer | max relative error |\n|---|---|")
    for name, err in rows:
        print(f"| {name} | {err:.1e} |")


if __name__ == "__main__":
    main()
