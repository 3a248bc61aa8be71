"""Spherical layers: exact Wigner-D equivariance of the spectral parts, the grid nonlinearity's
aliasing error decreasing with oversampling, invariant readout, bad input."""
import pytest
import torch

from gdl.nn.sphere import (
    GatedActivation,
    InvariantReadout,
    NormActivation,
    S2Conv,
    S2GridActivation,
    SO3Conv,
    SphericalBatchNorm,
    SphericalGridRep,
    s2_type,
    so3_type,
)
from gdl.testing import SphereRotation, check_equivariance
from gdl.testing import SphericalGridRep as ReexportedGridRep


def _exact_layers():
    return {
        "S2Conv s2": S2Conv(3, 4, 5, 3),
        "S2Conv so3": S2Conv(3, 4, 5, 3, output="so3"),
        "SO3Conv": SO3Conv(3, 4, 4, 2),
        "S2Conv so3 local": S2Conv(3, 4, 5, 3, output="so3", kernel="local"),
        "SO3Conv local": SO3Conv(3, 4, 4, 2, kernel="local"),
        "NormActivation s2": NormActivation(3, 4, "s2"),
        "NormActivation so3": NormActivation(3, 4, "so3"),
        "GatedActivation so3": GatedActivation(3, 4, "so3", "silu"),
        "InvariantReadout s2": InvariantReadout(3, 4, "s2"),
        "InvariantReadout so3": InvariantReadout(3, 4, "so3"),
        "SphericalBatchNorm s2": SphericalBatchNorm(3, 4, "s2"),
        "SphericalBatchNorm so3": SphericalBatchNorm(3, 4, "so3"),
    }


@pytest.mark.parametrize("name", list(_exact_layers()))
@pytest.mark.parametrize("dtype, tolerance", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_spectral_layers_are_exactly_equivariant(name, dtype, tolerance):
    torch.manual_seed(0)
    layer = _exact_layers()[name].to(dtype)
    with torch.no_grad():  # a non-zero bias, so the l = 0 path is exercised
        for p in layer.parameters():
            p.add_(0.3 * torch.randn_like(p))
    x = torch.randn(2, 3, layer.in_type.dim, dtype=dtype)
    report = check_equivariance(layer, x, symmetry=SphereRotation(), rtol=tolerance)
    assert report.passed, report
    assert report.max_error < tolerance
    assert report.approximate == {"SO(3) on S²": False}


class MDependentConv(S2Conv):
    """A broken S² → S² kernel that depends on the order m (must fail: torch-harmonics #55)."""

    def forward(self, x):
        m = torch.cat([torch.arange(-l, l + 1) for l in range(self.lmax_out + 1)]).to(x)
        return super().forward(x)[..., :] * (1 + 0.5 * torch.tanh(m))


def test_checker_catches_an_m_dependent_kernel():
    torch.manual_seed(0)
    layer = MDependentConv(2, 2, 3).double()
    report = check_equivariance(layer, torch.randn(2, 2, 16, dtype=torch.float64), symmetry=SphereRotation())
    assert not report.passed and report.max_error > 1e-2


def _aliasing_error(activation, oversampling, lmax=8):
    torch.manual_seed(0)
    layer = S2GridActivation(lmax, activation, oversampling).double()
    x = torch.randn(2, 4, (lmax + 1) ** 2, dtype=torch.float64)
    return check_equivariance(layer, x, symmetry=SphereRotation(), n_grid=2, n_random=3, rtol=1.0).max_error


def test_grid_nonlinearity_error_decreases_with_oversampling():
    relu = [_aliasing_error("relu", s) for s in (1, 2, 4)]
    assert relu[0] > relu[1] > relu[2]
    assert relu[0] > 1e-2 and relu[2] < 1e-2  # documented order of magnitude (docs/spheres.md)
    silu = _aliasing_error("silu", 4)
    assert silu < relu[2]  # smooth activations alias far less


def test_grid_nonlinearity_is_exact_for_a_polynomial_on_a_fine_enough_grid():
    """φ(f) = f² has degree 2L: a grid resolving 2L makes the layer exactly equivariant."""
    torch.manual_seed(0)
    layer = S2GridActivation(4, lambda f: f * f, oversampling=2.0).double()
    report = check_equivariance(layer, torch.randn(2, 3, 25, dtype=torch.float64), symmetry=SphereRotation())
    assert report.max_error < 1e-10


def test_readout_is_the_l0_coefficient_and_degree_norms():
    x = torch.zeros(1, 1, 9, dtype=torch.float64)
    x[0, 0, 0], x[0, 0, 1:4], x[0, 0, 4:9] = -2.0, torch.tensor([3.0, 0, 4.0]), 1.0
    out = InvariantReadout(1, 2, "s2", eps=0.0)(x)
    assert torch.allclose(out, torch.tensor([[-2.0, 5.0, 5 ** 0.5]], dtype=torch.float64))


def test_layers_declare_their_types_and_chain():
    conv = S2Conv(1, 4, 6, 4, output="so3")
    assert conv.in_type == s2_type(6) and conv.out_type == so3_type(4)
    nxt = SO3Conv(4, 2, 4, 2)
    assert nxt.in_type == conv.out_type
    out = nxt(GatedActivation(4, 4, "so3")(conv(torch.randn(5, 1, 49))))
    assert out.shape == (5, 2, 1 + 9 + 25)


def test_bad_inputs_are_refused_with_expected_and_got():
    with pytest.raises(ValueError, match=r"expected S² features \[..., channels=3, 16\].*got shape \[2, 3, 15\]"):
        S2Conv(3, 4, 3)(torch.randn(2, 3, 15))
    with pytest.raises(ValueError, match=r"SO\(3\) features \[..., channels=2, 35\]"):
        SO3Conv(2, 2, 2)(torch.randn(1, 3, 35))
    bad = torch.randn(1, 3, 16)
    bad[0, 1, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        S2Conv(3, 4, 3)(bad)
    with pytest.raises(ValueError, match="NaN"):
        S2GridActivation(3)(bad)
    with pytest.raises(ValueError, match="lmax_out=5 exceeds lmax_in=3"):
        S2Conv(1, 1, 3, 5)
    with pytest.raises(ValueError, match="output must be 's2'"):
        S2Conv(1, 1, 3, output="sphere")
    with pytest.raises(ValueError, match="oversampling must be ≥ 1"):
        S2GridActivation(3, oversampling=0.5)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        S2GridActivation(3, "swish")
    with pytest.raises(ValueError, match="kernel must be 'spectral'"):
        SO3Conv(1, 1, 3, kernel="dense")
    with pytest.raises(ValueError, match="kind must be 's2' or 'so3'"):
        NormActivation(2, 3, "s1")


def test_spherical_grid_rep_moved_and_reexported():
    assert ReexportedGridRep is SphericalGridRep
    assert SphericalGridRep.__module__ == "gdl.nn.sphere._grid_rep"


@pytest.mark.parametrize("kind", ["s2", "so3"])
def test_spherical_batch_norm_normalises_each_degree_and_is_equivariant_in_eval_mode(kind):
    """Training mode: per (channel, degree) unit mean-square coefficients, centred l = 0; eval mode: the
    running statistics, still exactly equivariant (a positive scalar per channel and degree)."""
    from gdl.nn.sphere._features import s2_degrees, so3_degrees

    torch.manual_seed(0)
    layer = SphericalBatchNorm(3, 3, kind, momentum=1.0).double()
    degree = s2_degrees(3) if kind == "s2" else so3_degrees(3)
    x = 5.0 * torch.randn(16, 3, degree.numel(), dtype=torch.float64) + 2.0
    y = layer(x)
    assert y[..., 0].mean(0).abs().max() < 1e-12
    for l in range(4):
        power = y[..., degree == l].pow(2).mean((0, 2))
        assert torch.allclose(power, torch.ones(3, dtype=torch.float64), atol=1e-4), (l, power)
    layer.eval()
    assert (layer(x) - y).abs().max() < 1e-4  # momentum 1: the running statistics are this batch's
    report = check_equivariance(layer, x[:4], symmetry=SphereRotation(), rtol=1e-10)
    assert report.passed and report.max_error < 1e-10, report
    with pytest.raises(ValueError, match="more than one sample"):
        layer.train()(x[:1, :, :])
    with pytest.raises(ValueError, match="momentum must be in"):
        SphericalBatchNorm(3, 3, kind, momentum=0.0)
