"""PlanarCNN, the Spherical MNIST baseline: shapes, inputs (tensor or batch), bad input, and its lack of symmetry."""
import pytest
import torch
from torch_geometric.data import Batch, Data

from gdl.models import PlanarCNN


def test_shapes_and_batch_input():
    torch.manual_seed(0)
    model = PlanarCNN(image_size=60)
    x = torch.rand(3, 1, 60, 60)
    logits = model(x)
    assert logits.shape == (3, 10)
    batch = Batch.from_data_list([Data(x=x[i : i + 1], y=torch.tensor([i])) for i in range(3)])
    assert torch.allclose(model(batch), logits)
    assert 50_000 < sum(p.numel() for p in model.parameters()) < 70_000  # ~ the 58k of Cohen et al.'s S2CNN
    small = PlanarCNN(in_channels=2, num_classes=4, image_size=(16, 24), channels=(4, 8), kernel_sizes=(3, 3))
    assert small(torch.rand(5, 2, 16, 24)).shape == (5, 4)


def test_bad_input_is_named():
    model = PlanarCNN(image_size=16, channels=(4,), kernel_sizes=(3,))
    with pytest.raises(ValueError, match=r"expected input \[B, 1, 16, 16\] .* got shape \[2, 16, 16\]"):
        model(torch.rand(2, 16, 16))
    with pytest.raises(ValueError, match="non-finite"):
        model(torch.full((1, 1, 16, 16), float("nan")))
    with pytest.raises(TypeError, match="takes a tensor"):
        model(Data(pos=torch.rand(3, 3)))
    with pytest.raises(ValueError, match="kernel_sizes must be odd"):
        PlanarCNN(kernel_sizes=(4, 5, 3))
    with pytest.raises(ValueError, match="too small"):
        PlanarCNN(image_size=4)


def test_not_invariant_to_longitude_shifts():
    """A rotation about the polar axis by 2π/2b is a roll of the longitude axis; a planar CNN's logits change."""
    torch.manual_seed(0)
    model = PlanarCNN(image_size=32, channels=(8, 8), kernel_sizes=(3, 3)).double()
    x = torch.rand(2, 1, 32, 32, dtype=torch.float64)
    change = (model(x.roll(5, dims=-1)) - model(x)).abs().max() / model(x).abs().max()
    assert change > 1e-3
