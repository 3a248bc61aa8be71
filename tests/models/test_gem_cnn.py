"""GEMCNN: whole-network invariance to rigid motions, vertex relabelling and the choice of gauge (float64)."""
import pytest
import torch
from torch_geometric.data import Batch, Data

from gdl.data.synth_faust import synth_faust_sample
from gdl.models import GEMCNN
from gdl.testing import EuclideanSymmetry, NodePermutation, check_equivariance, default_dtype


def mesh(index=0, subdivisions=2):
    pos, face, y = synth_faust_sample(index, subdivisions)
    return Data(pos=pos, face=face, y=y)


def small(input_features, **options):
    torch.manual_seed(0)
    return GEMCNN(7, input_features=input_features, hidden_channels=3, num_blocks=1, invariant_channels=4,
                  head_channels=8, **options)


@pytest.mark.parametrize("input_features", ["matrix", "descriptors"])
def test_invariant_inputs_make_the_network_se3_invariant(input_features):
    with default_dtype(torch.float64):
        model = small(input_features, nonlinearity="norm")
        for symmetry in (EuclideanSymmetry(3, special=True), NodePermutation()):
            report = check_equivariance(model, mesh(), symmetry=symmetry)
            assert report.passed and report.max_error < 1e-10, report


def test_xyz_input_breaks_rotations_only():
    with default_dtype(torch.float64):
        model = small("xyz", nonlinearity="norm")
        assert check_equivariance(model, mesh(), symmetry=EuclideanSymmetry(3, special=True)).max_error > 1e-3
        assert check_equivariance(model, mesh(), symmetry=NodePermutation()).max_error < 1e-10


def test_output_does_not_depend_on_the_gauge():
    """Gauge invariance of the whole network: frames anchored at the first neighbour or at a fixed axis."""
    with default_dtype(torch.float64):
        data = mesh()
        exact = [small("descriptors", nonlinearity="norm", reference=r)(data) for r in ("neighbour", (1.0, 0.0, 0.0))]
        assert (exact[0] - exact[1]).abs().max() <= 1e-10 * exact[0].abs().max()
        regular = [small("descriptors", nonlinearity="regular", n_samples=n, reference=r)(data)
                   for n in (5, 21) for r in ("neighbour", (1.0, 0.0, 0.0))]
        coarse = (regular[0] - regular[1]).abs().max() / regular[0].abs().max()
        fine = (regular[2] - regular[3]).abs().max() / regular[2].abs().max()
        assert 0 < fine < coarse  # the regular nonlinearity is approximate, better with more samples


def test_batches_equal_single_meshes_and_radius_is_per_mesh():
    with default_dtype(torch.float64):
        model = small("descriptors", nonlinearity="norm")
        first, second = mesh(0), mesh(1, subdivisions=1)
        second.pos = 3.0 * second.pos  # a different scale must not change the other mesh's radii
        batched = model(Batch.from_data_list([first, second]))
        assert torch.allclose(batched, torch.cat([model(first), model(second)]), atol=1e-12)


def test_bad_options():
    with pytest.raises(ValueError, match="input_features must be one of"):
        GEMCNN(3, input_features="shot")
    with pytest.raises(ValueError, match="nonlinearity must be"):
        GEMCNN(3, nonlinearity="tanh")


def test_matrix_input_is_gauge_independent_and_per_mesh():
    with default_dtype(torch.float64):
        data = mesh()
        outputs = [small("matrix", nonlinearity="norm", reference=r)(data) for r in ("neighbour", (0.0, 1.0, 0.0))]
        assert (outputs[0] - outputs[1]).abs().max() <= 1e-10 * outputs[0].abs().max()
        model = small("matrix", nonlinearity="norm")
        first, second = mesh(0), mesh(1, subdivisions=1)
        second.pos = 3.0 * second.pos
        assert torch.allclose(model(Batch.from_data_list([first, second])), torch.cat([model(first), model(second)]), atol=1e-12)
