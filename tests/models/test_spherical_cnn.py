"""SphericalCNN: shapes, Data/Batch input, rotation invariance of the logits, bad input."""
import pytest
import torch
from e3nn import o3

from gdl.groups import SO3, IrrepsRep
from gdl.models import SphericalCNN


def _small(design, **kw):
    torch.manual_seed(0)
    return SphericalCNN(bandwidth=8, channels=(4, 6), lmax=(6, 4, 2), design=design, hidden=8, **kw).double().eval()


def _band_limited_pair(model, seed=0):
    """A band-limited signal on the model's grid and the same signal rotated (exactly, via Wigner-D)."""
    gen = torch.Generator().manual_seed(seed)
    lmax = model.lmax[0]
    coeffs = torch.randn(3, 1, (lmax + 1) ** 2, generator=gen, dtype=torch.float64)
    rotation = SO3().sample(1, gen, dtype=torch.float64)
    wigner = IrrepsRep(SO3(), o3.Irreps.spherical_harmonics(lmax)).matrix(rotation)[0]
    synthesis = model.transform.synthesis
    return synthesis(coeffs), synthesis(coeffs @ wigner.T)


def test_logits_shape_from_a_tensor_and_from_a_batch():
    from torch_geometric.data import Batch, Data

    model = _small("s2")
    x = torch.rand(2, 1, 16, 16, dtype=torch.float64)
    assert model(x).shape == (2, 10)
    batch = Batch.from_data_list([Data(x=x[i : i + 1], y=torch.tensor([i])) for i in range(2)])
    assert torch.allclose(model(batch), model(x))


@pytest.mark.parametrize("readout, gradient", [("norms", False), ("gram", False), ("norms", True)])
def test_so3_design_is_exactly_invariant(readout, gradient):
    model = _small("so3", readout=readout, gram_channels=3, gradient_features=gradient)
    f, rotated = _band_limited_pair(model)
    out, out_rotated = model(f), model(rotated)
    assert ((out - out_rotated).norm() / out.norm()).item() < 1e-10


def test_s2_design_is_invariant_up_to_the_aliasing_of_its_grid_relu():
    errors = []
    for oversampling in (1.0, 4.0):
        model = _small("s2", oversampling=oversampling)
        f, rotated = _band_limited_pair(model)
        out, out_rotated = model(f), model(rotated)
        errors.append(((out - out_rotated).norm() / out.norm()).item())
    assert errors[1] < errors[0] and errors[1] < 1e-2


def test_default_model_takes_the_60x60_driscoll_healy_grid():
    model = SphericalCNN()
    assert model.input_shape == (1, 60, 60) and model.points().shape == (60, 60, 3)
    assert model(torch.rand(2, 1, 60, 60)).shape == (2, 10)


def test_bad_input_and_arguments_are_refused():
    model = _small("s2")
    with pytest.raises(ValueError, match=r"expected input \[B, 1, 16, 16\].*got shape \[2, 16, 16\]"):
        model(torch.rand(2, 16, 16, dtype=torch.float64))
    with pytest.raises(TypeError, match="or a Data/Batch"):
        model([1, 2])
    with pytest.raises(ValueError, match="exceeds what a bandwidth-8 grid resolves"):
        SphericalCNN(bandwidth=8, lmax=(8, 4, 2, 1))
    with pytest.raises(ValueError, match="one entry more than channels"):
        SphericalCNN(channels=(4, 4), lmax=(6, 4))
    with pytest.raises(ValueError, match="design must be"):
        SphericalCNN(design="mesh")
    with pytest.raises(ValueError, match="readout must be 'norms' or 'gram'"):
        SphericalCNN(readout="bispectrum")
