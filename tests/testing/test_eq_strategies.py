"""Hypothesis strategies: the objects they build are valid and as promised."""
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gdl.groups import O3, SO2, SO3, Cyclic, Dihedral, Euclidean, Symmetric
from gdl.testing import strategies


@settings(max_examples=10)
@given(st.data())
def test_group_elements_are_valid(data):
    for group in [SO3(), O3(), Euclidean(3), SO2(), Cyclic(5), Dihedral(4), Symmetric(5)]:
        g = data.draw(strategies.group_elements(group, n=3))
        group.validate(g)
        assert group.batch_size(g) == 3


@settings(max_examples=25)
@given(strategies.point_clouds(min_points=2, max_points=12, min_distance=0.3))
def test_point_clouds_are_well_separated(points):
    d = (points[:, None] - points[None]).norm(dim=-1)
    d = d + torch.eye(points.shape[0], dtype=d.dtype) * 1e9
    assert d.min() >= 0.3 - 1e-12
    assert points.mean(0).abs().max() < 1e-12  # centred


@settings(max_examples=10)
@given(strategies.graphs(min_nodes=2, max_nodes=9, connected=True))
def test_graphs_are_valid_pyg_data(data):
    ei = data.edge_index
    assert ei.dtype == torch.long and ei.shape[0] == 2
    assert (ei[0] != ei[1]).all() and int(ei.max()) < data.num_nodes
    both = {tuple(e) for e in ei.T.tolist()}
    assert all((j, i) in both for i, j in both)  # undirected: both directions
    assert data.x.shape == (data.num_nodes, 4) and data.pos.shape == (data.num_nodes, 3)


@settings(max_examples=5)
@given(strategies.graph_batches(max_graphs=3))
def test_graph_batches(batch):
    assert batch.batch.shape == (batch.num_nodes,) and batch.num_graphs >= 1


@settings(max_examples=8)
@given(strategies.triangle_meshes())
def test_triangle_meshes(mesh):
    v, f, e = mesh.num_nodes, mesh.face.shape[1], mesh.edge_index.shape[1] // 2
    assert int(mesh.face.max()) < v
    face_edges = torch.cat([mesh.face[[0, 1]], mesh.face[[1, 2]], mesh.face[[2, 0]]], 1).sort(0).values
    _, uses = torch.unique(face_edges, dim=1, return_counts=True)
    assert len(uses) == e and uses.max() <= 2  # a manifold: every edge borders one or two faces
    closed = bool((uses == 2).all())
    assert v - e + f == (2 if closed else 1)  # icosphere: a sphere; grid: a disc
    assert torch.isfinite(mesh.transport).all() and torch.isfinite(mesh.neighbour_angle).all()
    assert (mesh.normal.norm(dim=1) - 1).abs().max() < 1e-12


@settings(max_examples=5)
@given(strategies.spherical_signals(lmax=3, channels=4))
def test_spherical_signals(c):
    assert c.shape == (4, 16) and torch.isfinite(c).all()
