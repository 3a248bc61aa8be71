"""Pooling/unpooling with transport, matrix features and HKS, and a small whole network:
gauge equivariance (float64), invariance to 3D rotation + translation, and to relabelling
the vertices (faces relabelled too)."""
import pytest
import torch

from gdl.gauge import GaugeTransform, MeshGeometry, farthest_point_sampling, pooling_geometry, surface_geometry
from gdl.groups import SO2, SO3
from gdl.nn.mesh import (GaugeEquivariantConv, GaugePooling, GaugeResNetBlock, GaugeUnpooling, heat_kernel_signature,
                         local_matrix_features, matrix_feature_type)
from gdl.testing import check_equivariance
from gdl.testing.strategies import triangle_mesh


def _mesh(subdivisions=2):
    return MeshGeometry()(triangle_mesh("sphere", subdivisions=subdivisions))


def test_farthest_point_sampling_spreads_and_is_deterministic():
    mesh = _mesh()
    idx = farthest_point_sampling(mesh.pos, 40)
    assert idx.unique().numel() == 40 and torch.equal(idx, farthest_point_sampling(mesh.pos, 40))
    chosen = mesh.pos[idx]
    gap = torch.cdist(chosen, chosen) + torch.eye(40, dtype=torch.float64) * 9
    coverage = torch.cdist(mesh.pos, chosen).min(1).values.max()
    assert coverage <= gap.min(1).values.max()  # every vertex is no farther than the chosen set's spacing
    with pytest.raises(ValueError, match="1 ≤ n ≤ 162"):
        farthest_point_sampling(mesh.pos, 500)


def test_pooling_and_unpooling_are_gauge_equivariant():
    torch.manual_seed(0)
    mesh = _mesh()
    coarse = farthest_point_sampling(mesh.pos, 40)
    geo = pooling_geometry(mesh.pos, mesh.normal, mesh.frame_x, mesh.frame_y, coarse)
    assert torch.equal(geo["pool_index"][coarse], torch.arange(40)) and geo["pool_transport"][coarse].abs().max() == 0
    ftype = "2x0+1x1+2x2"
    pool, unpool = GaugePooling(ftype), GaugeUnpooling(ftype)
    x = torch.randn(mesh.num_nodes, 8, dtype=torch.float64)
    h = GaugeTransform.random(SO2(), mesh.num_nodes, torch.Generator().manual_seed(2), dtype=torch.float64)
    h_coarse = GaugeTransform(SO2(), h.elements[coarse])
    moved_geo = pooling_geometry(mesh.pos, mesh.normal, *h.transform_frames(mesh.frame_x, mesh.frame_y), coarse)
    y = pool(x, geo["pool_index"], geo["pool_transport"], 40)
    y_moved = pool(h.transform_field(x, pool.out_type), moved_geo["pool_index"], moved_geo["pool_transport"], 40)
    assert (y_moved - h_coarse.transform_field(y, pool.out_type)).abs().max() < 1e-12
    back = unpool(y, geo["pool_index"], geo["pool_transport"])
    back_moved = unpool(h_coarse.transform_field(y, pool.out_type), moved_geo["pool_index"], moved_geo["pool_transport"])
    assert (back_moved - h.transform_field(back, pool.out_type)).abs().max() < 1e-12
    # unpool then pool is the identity on the coarse level
    assert (pool(back, geo["pool_index"], geo["pool_transport"], 40) - y).abs().max() < 1e-12
    with pytest.raises(ValueError, match="pool_index of shape \\[162\\]"):
        pool(x, geo["pool_index"][:-1], geo["pool_transport"], 40)


def test_matrix_features_are_gauge_equivariant_and_rigid_motion_invariant():
    mesh = _mesh()
    feats = local_matrix_features(mesh.pos, mesh.normal, mesh.frame_x, mesh.frame_y, mesh.edge_index)
    assert feats.shape == (mesh.num_nodes, matrix_feature_type().dim)
    h = GaugeTransform.random(SO2(), mesh.num_nodes, torch.Generator().manual_seed(0), dtype=torch.float64)
    turned = local_matrix_features(mesh.pos, mesh.normal, *h.transform_frames(mesh.frame_x, mesh.frame_y), mesh.edge_index)
    assert (turned - h.transform_field(feats, matrix_feature_type())).abs().max() < 1e-12
    rot = SO3().sample(1, torch.Generator().manual_seed(0), dtype=torch.float64)[0]
    pos = mesh.pos @ rot.T + torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    geo = surface_geometry(pos, mesh.face)
    moved = local_matrix_features(pos, geo["normal"], geo["frame_x"], geo["frame_y"], geo["edge_index"])
    assert (moved - feats).abs().max() < 1e-12


def test_heat_kernel_signature_is_invariant_and_positive():
    pytest.importorskip("scipy")
    mesh = _mesh()
    hks = heat_kernel_signature(mesh.pos, mesh.face, n_eigs=16, n_times=6)
    rot = SO3().sample(1, torch.Generator().manual_seed(0), dtype=torch.float64)[0]
    assert hks.shape == (mesh.num_nodes, 6) and (hks > 0).all()
    assert (heat_kernel_signature(mesh.pos @ rot.T + 1.0, mesh.face, n_eigs=16, n_times=6) - hks).abs().max() < 1e-10
    with pytest.raises(ValueError, match="n_eigs"):
        heat_kernel_signature(mesh.pos, mesh.face, n_eigs=1)


class _SmallNetwork(torch.nn.Module):
    """matrix features → residual block (norm) → conv to invariant scalars; exact."""

    def __init__(self):
        super().__init__()
        self.block = GaugeResNetBlock(matrix_feature_type(), "4x0+2x1+2x2", max_radius=0.5, nonlinearity="norm")
        self.head = GaugeEquivariantConv("4x0+2x1+2x2", "3x0", max_radius=0.5)
        self.in_type = {"x": matrix_feature_type()}
        self.out_type = self.head.out_type

    def forward(self, x, edge_index, neighbour_radius, neighbour_angle, transport):
        geo = (edge_index, neighbour_radius, neighbour_angle, transport)
        return self.head(self.block(x, *geo), *geo)

    def on_mesh(self, pos, face):
        geo = surface_geometry(pos, face)
        feats = local_matrix_features(pos, geo["normal"], geo["frame_x"], geo["frame_y"], geo["edge_index"])
        return self(feats, geo["edge_index"], geo["neighbour_radius"], geo["neighbour_angle"], geo["transport"])


def test_whole_network_gauge_equivariant_and_invariant_to_rigid_motions_and_relabelling():
    torch.manual_seed(0)
    mesh = _mesh()
    net = _SmallNetwork().double()
    feats = local_matrix_features(mesh.pos, mesh.normal, mesh.frame_x, mesh.frame_y, mesh.edge_index)
    report = check_equivariance(net, feats, mesh.edge_index, mesh.neighbour_radius, mesh.neighbour_angle, mesh.transport)
    assert report.passed and report.per_symmetry["gauge"] <= 1e-10, report
    out = net.on_mesh(mesh.pos, mesh.face)
    rot = SO3().sample(1, torch.Generator().manual_seed(3), dtype=torch.float64)[0]
    moved = net.on_mesh(mesh.pos @ rot.T + torch.tensor([0.5, 1.0, -2.0], dtype=torch.float64), mesh.face)
    assert (moved - out).abs().max() <= 1e-10 * out.abs().max()
    perm = torch.randperm(mesh.num_nodes, generator=torch.Generator().manual_seed(4))
    inverse = torch.argsort(perm)
    relabelled = net.on_mesh(mesh.pos[perm], inverse[mesh.face])  # new vertex k is old vertex perm[k]
    assert (relabelled - out[perm]).abs().max() <= 1e-10 * out.abs().max()


def test_an_xyz_input_network_is_not_rotation_invariant():
    """The baseline's failure mode: XYZ as 3ρ0 input changes under rotation."""
    torch.manual_seed(0)
    mesh = _mesh()
    conv = GaugeEquivariantConv("3x0", "2x0", max_radius=0.5).double()
    rot = SO3().sample(1, torch.Generator().manual_seed(3), dtype=torch.float64)[0]
    out, moved = conv(mesh.pos, mesh), conv(mesh.pos @ rot.T, mesh)
    assert (moved - out).abs().max() > 1e-2 * out.abs().max()


def test_coarse_level_radius_graph_carries_a_gauge_equivariant_convolution():
    from gdl.gauge import radius_graph_geometry

    torch.manual_seed(0)
    mesh = _mesh()
    idx = farthest_point_sampling(mesh.pos, 40)
    geo = radius_graph_geometry(mesh.pos[idx], mesh.normal[idx], mesh.frame_x[idx], mesh.frame_y[idx], radius=0.6)
    src, dst = geo["edge_index"]
    assert (src != dst).all() and (geo["neighbour_radius"] <= 0.6).all() and src.numel() > 40
    conv = GaugeEquivariantConv("1x0+1x1+1x2", "2x0+1x1", max_radius=0.6).double()
    x = torch.randn(40, 5, dtype=torch.float64)
    report = check_equivariance(conv, x, geo["edge_index"], geo["neighbour_radius"], geo["neighbour_angle"], geo["transport"])
    assert report.passed and report.per_symmetry["gauge"] <= 1e-10
