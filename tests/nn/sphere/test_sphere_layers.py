"""Spherical layers: exact Wigner-D equivariance of the spectral parts, the grid nonlinearity's
aliasing error decreasing with oversampling, invariant readout, bad input."""
import pytest
import torch

from gdl.nn.sphere import (
    GatedActivation,
    GramReadout,
    InvariantReadout,
    NormActivation,
    S2Conv,
    S2GradientNorm,
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
        "GramReadout s2": GramReadout(3, 4, "s2", projected=4),
        "S2GradientNorm": S2GradientNorm(4),
        "S2GradientNorm to a higher degree": S2GradientNorm(4, 7),
        "GramReadout so3": GramReadout(3, 4, "so3", projected=2),
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


def test_gram_readout_is_the_per_degree_inner_products_of_the_projected_channels():
    torch.manual_seed(0)
    readout = GramReadout(3, 2, "s2", projected=2).double()
    x = torch.randn(4, 3, 9, dtype=torch.float64)
    out = readout(x)
    assert out.shape == (4, 3 * 3)  # (lmax + 1) · k(k + 1)/2
    for l, (a, b) in enumerate([(0, 1), (1, 4), (4, 9)]):
        u = torch.einsum("ncm,ck->nkm", x[..., a:b], readout.weight[l])
        expected = torch.stack([(u[:, 0] * u[:, 0]).sum(-1), (u[:, 0] * u[:, 1]).sum(-1), (u[:, 1] * u[:, 1]).sum(-1)], -1)
        assert torch.allclose(out[:, 3 * l:3 * l + 3], expected / (b - a) ** 0.5)
    # the off-diagonal entries see what the norms cannot: turning one channel against the other
    from e3nn import o3

    r = o3.wigner_D(1, *o3.rand_angles(dtype=torch.float64))
    turned = x.clone()
    turned[:, 0, 1:4] = x[:, 0, 1:4] @ r.T
    norms = InvariantReadout(3, 2, "s2", eps=0.0).double()
    assert torch.allclose(norms(turned), norms(x))
    assert not torch.allclose(readout(turned), out)
    with pytest.raises(ValueError, match="projected must be >= 1"):
        GramReadout(3, 2, projected=0)


def test_gradient_norm_of_a_degree_one_harmonic_and_of_a_product():
    """|∇Y|² for Y = √(3/4π) z is (3/4π)(1 − z²); for f = a random band-limited signal it matches the
    squared gradient computed by finite differences of the synthesis at random points."""
    import math

    from gdl.nn.sphere import SphericalHarmonicTransform

    layer = S2GradientNorm(3, 6).double()
    c = torch.zeros(1, 1, 16, dtype=torch.float64)
    c[0, 0, 2] = 1.0  # e3nn's l = 1, m = 0 (the y-up axis, the transform's z)
    grid = SphericalHarmonicTransform(6, "gauss-legendre", dtype=torch.float64)
    z = grid.points()[..., 2]
    assert torch.allclose(grid.synthesis(layer(c))[0, 0], 3 / (4 * math.pi) * (1 - z ** 2), atol=1e-12)
    # random signal: central differences along two tangent directions at the grid's points
    torch.manual_seed(0)
    coeffs = torch.randn(1, 1, 16, dtype=torch.float64)
    fine = SphericalHarmonicTransform(3, "gauss-legendre", nlat=12, nlon=24, dtype=torch.float64)
    points = fine.points().reshape(-1, 3)
    from e3nn import o3

    from gdl.nn.sphere._grids import z_up_to_e3nn

    def f(p):
        p = p / p.norm(dim=-1, keepdim=True)
        return (o3.spherical_harmonics(o3.Irreps.spherical_harmonics(3), z_up_to_e3nn(p), normalize=True) * coeffs[0, 0]).sum(-1)

    helper = torch.tensor([0.3, -0.5, 0.81], dtype=torch.float64)
    t1 = torch.linalg.cross(points, helper.expand_as(points))
    t1 = t1 / t1.norm(dim=-1, keepdim=True)
    t2 = torch.linalg.cross(points, t1)
    h = 1e-5
    squared = sum(((f(points + h * t) - f(points - h * t)) / (2 * h)) ** 2 for t in (t1, t2))
    on_grid = SphericalHarmonicTransform(6, "gauss-legendre", nlat=12, nlon=24, dtype=torch.float64)
    assert torch.allclose(on_grid.synthesis(layer(coeffs))[0, 0].reshape(-1), squared, atol=1e-6)
    with pytest.raises(ValueError, match="lmax_out must be an integer in \\[0, 2·lmax = 6\\]"):
        S2GradientNorm(3, 7)


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


def test_own_real_harmonics_equal_e3nns_and_go_beyond_degree_12():
    from e3nn import o3

    from gdl.nn.sphere._legendre import real_spherical_harmonics

    torch.manual_seed(0)
    points = torch.randn(40, 3, dtype=torch.float64)
    points[0], points[1] = torch.tensor([0.0, 2.0, 0.0]), torch.tensor([0.0, -1.0, 0.0])  # e3nn's poles (y axis)
    ours = real_spherical_harmonics(12, points)
    assert (ours - o3.spherical_harmonics(list(range(13)), points, normalize=True)).abs().max() < 1e-12
    # degree 20: orthonormal on a Gauss–Legendre grid that integrates degree 40 exactly
    from gdl.nn.sphere import SphericalHarmonicTransform
    from gdl.nn.sphere._grids import z_up_to_e3nn

    grid = SphericalHarmonicTransform(20, "gauss-legendre", dtype=torch.float64)
    y = real_spherical_harmonics(20, z_up_to_e3nn(grid.points()))  # [nlat, nlon, 441]
    assert (grid.analysis(y.permute(2, 0, 1)) - torch.eye(441, dtype=torch.float64)).abs().max() < 1e-12
    # and the so3 design's local kernels work past e3nn's limit (raised NotImplementedError before)
    from gdl.models import SphericalCNN

    model = SphericalCNN(bandwidth=16, lmax=(14, 13, 4, 2), channels=(2, 2, 2), design="so3", hidden=4)
    assert model(torch.rand(2, 1, 32, 32)).shape == (2, 10)
