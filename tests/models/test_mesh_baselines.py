"""Mesh baselines: invariance (float64, through gdl.testing), the XYZ GCN breaking rotations, bad input."""
import pytest
import torch
from torch_geometric.data import Batch, Data

from gdl.data.synth_faust import synth_faust_sample
from gdl.models import InvariantFeatureMLP, MeshGCN, invariant_vertex_features, read_mesh
from gdl.testing import EuclideanSymmetry, NodePermutation, check_equivariance, default_dtype


def mesh(index=0, subdivisions=2):
    pos, face, y = synth_faust_sample(index, subdivisions)
    return Data(pos=pos, face=face, y=y)


def test_invariant_mlp_is_se3_invariant_and_relabelling_equivariant():
    with default_dtype(torch.float64):
        model = InvariantFeatureMLP(5, hidden_channels=16, num_layers=2)
        for symmetry in (EuclideanSymmetry(3, special=True), NodePermutation()):
            report = check_equivariance(model, mesh(), symmetry=symmetry)
            assert report.passed and report.max_error < 1e-10, report


def test_descriptors_flip_sign_under_reflection_and_ignore_scale():
    data = mesh()
    features = invariant_vertex_features(read_mesh(data, "test"))
    assert features.shape == (162, 10) and torch.isfinite(features).all()
    mirrored = Data(pos=data.pos * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64), face=data.face)
    flipped = invariant_vertex_features(read_mesh(mirrored, "test"))
    assert torch.allclose(flipped[:, :4], -features[:, :4], atol=1e-12)  # the signed normal displacements
    assert torch.allclose(flipped[:, 4:], features[:, 4:], atol=1e-10)
    scaled = invariant_vertex_features(read_mesh(Data(pos=2.5 * data.pos, face=data.face), "test"))
    assert torch.allclose(scaled, features, atol=1e-10)


def test_gcn_on_xyz_breaks_rotations_but_not_translations_or_relabelling():
    with default_dtype(torch.float64):
        model = MeshGCN(4, hidden_channels=16, num_layers=2)
        rotation = check_equivariance(model, mesh(), symmetry=EuclideanSymmetry(3, special=True))
        assert not rotation.passed and rotation.max_error > 1e-3
        assert check_equivariance(model, mesh(), symmetry=NodePermutation()).max_error < 1e-10
        data = mesh()
        moved = Data(pos=data.pos + torch.tensor([3.0, -1.0, 2.0], dtype=torch.float64), face=data.face)
        assert torch.allclose(model(moved), model(data), atol=1e-10)


def test_batches_equal_single_meshes():
    model = InvariantFeatureMLP(3, hidden_channels=8, num_layers=1).double()
    first, second = mesh(0), mesh(1, subdivisions=1)
    batched = model(Batch.from_data_list([first, second]))
    assert torch.allclose(batched, torch.cat([model(first), model(second)]), atol=1e-12)
    gcn = MeshGCN(3, hidden_channels=8, num_layers=2).double()
    assert torch.allclose(gcn(Batch.from_data_list([first, second])), torch.cat([gcn(first), gcn(second)]), atol=1e-12)


@pytest.mark.parametrize("data, message", [
    (Data(pos=torch.zeros(3, 3)), "expected a mesh batch with data.face"),
    (Data(pos=torch.zeros(3, 2), face=torch.tensor([[0], [1], [2]])), r"expected data.pos as a float tensor \[V, 3\]"),
    (Data(pos=torch.zeros(3, 3), face=torch.zeros(3, 0, dtype=torch.long)), "the mesh has no faces"),
    (Data(pos=torch.zeros(3, 3), face=torch.tensor([[0], [1], [5]])), r"indices must lie in \[0, 3\)"),
    (Data(pos=torch.full((3, 3), float("nan")), face=torch.tensor([[0], [1], [2]])), "non-finite"),
])
def test_bad_meshes_raise_clear_errors(data, message):
    with pytest.raises(ValueError, match=message):
        InvariantFeatureMLP(2)(data)
