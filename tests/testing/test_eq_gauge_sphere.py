"""Gauge transformations (per-vertex SO(2)) and SO(3) on spherical signals."""
import math

import pytest
import torch
from e3nn import o3
from hypothesis import given, settings

from gdl.groups import SO2, SO3, FieldType, wrap_angle
from gdl.testing import GaugeSymmetry, SphereRotation, SphericalGridRep, check_equivariance, strategies
from gdl.testing.mutations import GaugeConvolution, IsotropicSphericalFilter, random_neighbourhood_graph
from gdl.testing.strategies import mesh_geometry


def _gauge_sample(seed=0, n=8, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    ei = random_neighbourhood_graph(n, 3, gen)
    e = ei.shape[1]
    x = torch.randn(n, 5, generator=gen, dtype=dtype)
    return x, ei, (torch.rand(e, generator=gen, dtype=dtype) * 6 - 3), (torch.rand(e, generator=gen, dtype=dtype) * 6 - 3)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gauge_convolution_passes_and_the_symmetry_is_derived(dtype):
    torch.manual_seed(0)
    model = GaugeConvolution().to(dtype)
    report = check_equivariance(model, *_gauge_sample(dtype=dtype))
    assert report.passed, report
    assert report.symmetries == ["gauge", "node permutation"]
    assert report.per_symmetry["gauge"] < (1e-13 if dtype == torch.float64 else 1e-5)


def test_gauge_action_composes():
    """Acting with θ then θ' equals acting with θ + θ' on features, transports and angles."""
    torch.manual_seed(0)
    model = GaugeConvolution().double()
    x, ei, transport, angle = _gauge_sample()
    from gdl.testing._sample import build_sample

    sample = build_sample(model, (x, ei, transport, angle), model.in_type, dtype=torch.float64, device="cpu")
    sym = GaugeSymmetry()
    gen = torch.Generator().manual_seed(1)
    a = torch.rand(1, 8, generator=gen, dtype=torch.float64) * 6 - 3
    b = torch.rand(1, 8, generator=gen, dtype=torch.float64) * 6 - 3
    once = sym.act_inputs(a, sample, sample.copies(1))
    twice = sym.act_inputs(b, sample, once)
    both = sym.act_inputs(a + b, sample, sample.copies(1))
    assert torch.allclose(twice["x"], both["x"], atol=1e-12)
    for key in ("transport", "neighbour_angle"):
        assert wrap_angle(twice[key] - both[key]).abs().max() < 1e-12


@settings(max_examples=6)
@given(strategies.triangle_meshes())
def test_mesh_geometry_follows_the_gauge_convention(mesh):
    """Turning every tangent frame by −θ_i changes the geometry as GaugeSymmetry says."""
    geo = mesh_geometry(mesh.pos, mesh.face, mesh.edge_index)
    theta = torch.linspace(-3, 3, mesh.num_nodes, dtype=torch.float64)
    ex, ey = geo["frame_x"], geo["frame_y"]
    turned = ex * torch.cos(theta)[:, None] - ey * torch.sin(theta)[:, None]
    new = mesh_geometry(mesh.pos, mesh.face, mesh.edge_index, frame_x=turned)
    src, dst = mesh.edge_index
    assert wrap_angle(new["neighbour_angle"] - geo["neighbour_angle"] - theta[dst]).abs().max() < 1e-10
    assert wrap_angle(new["transport"] - geo["transport"] - theta[dst] + theta[src]).abs().max() < 1e-10


@settings(max_examples=3)
@given(strategies.triangle_meshes(kind="sphere"))
def test_gauge_convolution_on_a_real_mesh_and_a_broken_one(mesh):
    torch.manual_seed(0)
    x = torch.randn(mesh.num_nodes, 5, dtype=torch.float64)
    good = check_equivariance(GaugeConvolution().double(), x, mesh.edge_index, mesh.transport, mesh.neighbour_angle)
    assert good.passed
    bad = check_equivariance(GaugeConvolution(eps=1e-6).double(), x, mesh.edge_index, mesh.transport, mesh.neighbour_angle)
    assert not bad.passed and bad.per_symmetry["gauge"] > 1e-8


def test_gauge_invariant_readout_and_a_mislabelled_one():
    rep = SO2().irrep(0) + SO2().irrep(1) + SO2().irrep(2)

    class Norms(torch.nn.Module):
        in_type = {"x": FieldType(SO2(), rep)}
        out_type = FieldType(SO2(), SO2().trivial_rep(3))

        def forward(self, x, edge_index, transport):
            return torch.stack([x[:, 0].abs(), x[:, 1:3].norm(dim=1), x[:, 3:5].norm(dim=1)], 1)

    class Mislabelled(Norms):
        def forward(self, x, edge_index, transport):
            return x[:, :3]  # a ρ_1 part declared invariant

    x, ei, transport, _ = _gauge_sample()
    assert check_equivariance(Norms(), x, ei, transport).passed
    assert not check_equivariance(Mislabelled(), x, ei, transport).passed


# -- SO(3) on the sphere ------------------------------------------------------------------------------
def test_spherical_harmonic_coefficients_are_exact():
    torch.manual_seed(0)
    model = IsotropicSphericalFilter(4).double()
    report = check_equivariance(model, torch.randn(3, 25, dtype=torch.float64), symmetry=SphereRotation())
    assert report.passed and report.max_error < 1e-13
    assert report.approximate == {"SO(3) on S²": False}


def _fibonacci_grid(n):
    i = torch.arange(n, dtype=torch.float64) + 0.5
    z = 1 - 2 * i / n
    phi = math.pi * (1 + 5**0.5) * i
    r = (1 - z**2).sqrt()
    return torch.stack([r * torch.cos(phi), r * torch.sin(phi), z], 1)


@settings(max_examples=3)
@given(strategies.spherical_signals(lmax=4, channels=2))
def test_grid_action_is_exact_on_band_limited_signals(coeffs):
    grid = _fibonacci_grid(200)
    rep = SphericalGridRep(grid, lmax=4)
    signal = coeffs @ rep.basis.T  # f(x_p) = Σ c_lm Y_lm(x_p)
    rot = SO3().sample(3, torch.Generator().manual_seed(0), dtype=torch.float64)
    for i in range(3):
        moved = rep.act(rot[i : i + 1], signal)
        # ground truth (R·f)(x) = f(R⁻¹x)
        truth = coeffs @ o3.spherical_harmonics(rep.irreps, grid @ rot[i], normalize=True).T
        assert (moved - truth).abs().max() < 1e-10


class GridFilter(torch.nn.Module):
    """An isotropic filter applied to grid signals through their SH fit."""

    def __init__(self, rep, weights):
        super().__init__()
        self.in_type = self.out_type = FieldType(SO3(), rep)
        self.rep = rep
        degree = torch.cat([torch.full((2 * l + 1,), l) for l in range(rep.lmax + 1)])
        self.register_buffer("w", weights[degree])

    def forward(self, f):
        return self.rep.from_coefficients(self.rep.to_coefficients(f) * self.w)


@settings(max_examples=3)
@given(strategies.spherical_signals(lmax=3, channels=2))
def test_grid_signal_check_is_flagged_approximate(coeffs):
    rep = SphericalGridRep(_fibonacci_grid(150), lmax=3)
    model = GridFilter(rep, torch.tensor([1.0, 0.5, 0.25, 0.1], dtype=torch.float64))
    signal = coeffs @ rep.basis.T
    report = check_equivariance(model, signal, symmetry=SphereRotation())
    assert report.passed and report.approximate == {"SO(3) on S²": True}
    assert "approximate action" in report.summary()

    class PointwiseWeights(GridFilter):  # multiplies by a fixed weight per grid point: not equivariant
        def forward(self, f):
            return f * torch.linspace(0.5, 1.5, f.shape[-1], dtype=f.dtype)

    assert not check_equivariance(PointwiseWeights(rep, model.w[:4]), signal, symmetry=SphereRotation()).passed


def test_grid_that_cannot_resolve_lmax_is_refused():
    with pytest.raises(ValueError, match="cannot resolve lmax=4"):
        SphericalGridRep(_fibonacci_grid(10), lmax=4)
