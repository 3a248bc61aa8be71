"""MeshGeometry: the PyG transform that writes the gauge geometry onto a Data."""
import pytest
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.transforms import BaseTransform, Compose

from gdl.gauge import MeshGeometry, face_edges, surface_geometry
from gdl.testing.strategies import mesh_geometry, triangle_mesh

F64 = torch.float64
ATTRIBUTES = ["normal", "degenerate_normal", "frame_x", "frame_y", "neighbour_radius", "neighbour_angle", "transport"]


def test_writes_every_attribute_and_edges_from_faces():
    mesh = triangle_mesh("sphere", subdivisions=1, geometry=False)
    data = MeshGeometry(curvature=True)(Data(pos=mesh.pos, face=mesh.face))
    assert isinstance(MeshGeometry(), BaseTransform)
    assert torch.equal(data.edge_index, face_edges(mesh.face, mesh.num_nodes))
    v, e = mesh.num_nodes, data.edge_index.shape[1]
    shapes = {"normal": (v, 3), "frame_x": (v, 3), "frame_y": (v, 3), "degenerate_normal": (v,),
              "neighbour_radius": (e,), "neighbour_angle": (e,), "transport": (e,), "angle_deficit": (v,), "fan_holonomy": (v,)}
    for key, shape in shapes.items():
        assert tuple(data[key].shape) == shape, key
    assert data.degenerate_normal.dtype == torch.bool and not data.degenerate_normal.any()
    assert data.face is not None  # faces are kept


def test_keeps_a_given_edge_index_and_matches_the_functional_form():
    mesh = triangle_mesh("grid", rows=3, cols=4, noise=0.1, geometry=False)
    ei = mesh.edge_index[:, torch.randperm(mesh.edge_index.shape[1], generator=torch.Generator().manual_seed(0))]
    data = MeshGeometry(reference=(0.0, 1.0, 0.0))(Data(pos=mesh.pos, face=mesh.face, edge_index=ei))
    assert torch.equal(data.edge_index, ei)
    geo = surface_geometry(mesh.pos, mesh.face, ei, reference=(0.0, 1.0, 0.0))
    for key in ATTRIBUTES:
        assert torch.equal(data[key], geo[key]), key


def test_the_mesh_strategy_is_a_user_of_gdl_gauge():
    mesh = triangle_mesh("sphere", subdivisions=1, noise=0.1, seed=9)
    data = MeshGeometry()(Data(pos=mesh.pos, face=mesh.face, edge_index=mesh.edge_index))
    for key in ("normal", "transport", "neighbour_angle"):
        assert torch.equal(mesh[key], data[key])
    assert torch.equal(mesh_geometry(mesh.pos, mesh.face, mesh.edge_index)["frame_x"], data.frame_x)


def test_float32_meshes_get_float32_geometry_computed_in_float64():
    mesh = triangle_mesh("sphere", subdivisions=1, noise=0.1, geometry=False)
    data32 = MeshGeometry()(Data(pos=mesh.pos.float(), face=mesh.face))
    data64 = MeshGeometry()(Data(pos=mesh.pos.float().double(), face=mesh.face))
    assert data32.transport.dtype == torch.float32 and data32.frame_x.dtype == torch.float32
    assert torch.equal(data32.transport, data64.transport.float())
    assert MeshGeometry(dtype=F64)(Data(pos=mesh.pos.float(), face=mesh.face)).transport.dtype == F64


def test_a_batch_of_meshes_equals_the_meshes_one_by_one():
    meshes = [triangle_mesh("sphere", subdivisions=1, seed=1, geometry=False),
              triangle_mesh("grid", rows=3, cols=3, seed=2, geometry=False)]
    one_by_one = Batch.from_data_list([MeshGeometry()(Data(pos=m.pos, face=m.face, edge_index=m.edge_index)) for m in meshes])
    together = MeshGeometry()(Batch.from_data_list([Data(pos=m.pos, face=m.face, edge_index=m.edge_index) for m in meshes]))
    for key in ATTRIBUTES:
        assert torch.equal(one_by_one[key], together[key]), key


def test_composes_with_pyg_transforms():
    mesh = triangle_mesh("sphere", subdivisions=0, geometry=False)
    data = Compose([MeshGeometry()])(Data(pos=mesh.pos, face=mesh.face))
    assert torch.isfinite(data.transport).all()
    assert "MeshGeometry(reference='neighbour', curvature=False)" == repr(MeshGeometry())


def test_bad_input_is_refused_by_name():
    mesh = triangle_mesh("sphere", subdivisions=0, geometry=False)
    with pytest.raises(ValueError, match="no face; expected triangles"):
        MeshGeometry()(Data(pos=mesh.pos, edge_index=mesh.edge_index))
    with pytest.raises(ValueError, match="no pos"):
        MeshGeometry()(Data(face=mesh.face, num_nodes=12))
    with pytest.raises(ValueError, match=r"face of shape \[3, F\]"):
        MeshGeometry()(Data(pos=mesh.pos, face=mesh.face.T.contiguous()))
    with pytest.raises(ValueError, match=r"edge_index entries must lie in \[0, 12\)"):
        MeshGeometry()(Data(pos=mesh.pos, face=mesh.face, edge_index=torch.tensor([[0], [12]])))
    with pytest.raises(ValueError, match="reference is 'neighbour' or a direction"):
        MeshGeometry(reference="x")
