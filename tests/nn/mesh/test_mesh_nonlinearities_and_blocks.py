"""Norm / gated (exact) and regular (approximate, error falling with N) nonlinearities;
GaugeLinear and GaugeResNetBlock (bias on ρ_0 only)."""
import pytest
import torch

from gdl.gauge import GaugeTransform, MeshGeometry
from gdl.groups import SO2
from gdl.nn.mesh import (GatedNonlinearity, GaugeLinear, GaugeResNetBlock, NormNonlinearity, RegularNonlinearity)
from gdl.testing import GaugeSymmetry, check_equivariance
from gdl.testing.strategies import triangle_mesh


def _gauge_error(layer, x, seed=0):
    h = GaugeTransform.random(SO2(), x.shape[0], torch.Generator().manual_seed(seed), dtype=torch.float64)
    out = layer(x)
    moved = layer(h.transform_field(x, layer.in_type))
    return float(((moved - h.transform_field(out, layer.out_type)).abs().max() / out.abs().max()).detach())


@pytest.mark.parametrize("layer", [NormNonlinearity("2x0+1x1+2x2+1x3"), GatedNonlinearity("2x0+1x1+2x2"),
                                   GaugeLinear("2x0+1x1+2x2", "1x0+3x1+1x2+1x3")])
def test_exact_layers_are_gauge_equivariant(layer):
    torch.manual_seed(0)
    layer = layer.double()
    x = torch.randn(40, layer.in_type.dim, dtype=torch.float64)
    assert _gauge_error(layer, x) < 1e-14


def test_norm_nonlinearity_is_finite_at_zero_and_acts_on_scalars():
    layer = NormNonlinearity("1x0+1x1", activation="relu").double()
    x = torch.tensor([[-1.0, 0.0, 0.0], [2.0, 3.0, 4.0]], dtype=torch.float64, requires_grad=True)
    y = layer(x)
    assert torch.isfinite(y).all() and y[0, 0] == 0 and y[1, 0] == 2
    y.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_gated_nonlinearity_declares_its_gates():
    layer = GatedNonlinearity("2x0+1x1+2x2")
    assert layer.in_type.dim == 2 + 2 + 4 + 3 and layer.out_type.dim == 8


def test_regular_nonlinearity_error_falls_with_the_number_of_samples():
    """Gauge error at random angles, relative (ReLU, 3 copies of ρ0⊕ρ1⊕ρ2, 50 vertices):
    measured 0.43 (N=5), 0.13 (N=7), 1.8e-3 (N=51), 5.1e-4 (N=101), 5.1e-6 (N=1001)."""
    torch.manual_seed(0)
    x = torch.randn(50, 15, dtype=torch.float64)
    errors = [_gauge_error(RegularNonlinearity("3x0+3x1+3x2", n), x) for n in (5, 7, 51, 101, 1001)]
    assert all(a > b for a, b in zip(errors, errors[1:])), errors
    assert errors[0] > 0.1 and errors[-1] < 2e-5
    # exact for rotations by multiples of 2π/N
    layer = RegularNonlinearity("3x0+3x1+3x2", 7)
    k = torch.randint(0, 7, (50,), generator=torch.Generator().manual_seed(1)).to(torch.float64)
    h = GaugeTransform(SO2(), 2 * torch.pi * k / 7)
    assert (layer(h.transform_field(x, layer.in_type)) - h.transform_field(layer(x), layer.out_type)).abs().max() < 1e-13


def test_regular_nonlinearity_with_identity_reproduces_its_input():
    x = torch.randn(10, 15, dtype=torch.float64)
    assert (RegularNonlinearity("3x0+3x1+3x2", 5, activation=lambda t: t)(x) - x).abs().max() < 1e-13


def test_nonlinearity_bad_input():
    with pytest.raises(ValueError, match="same number of copies"):
        RegularNonlinearity("2x0+1x1", 7)
    with pytest.raises(ValueError, match="2L \\+ 1 = 5"):
        RegularNonlinearity("1x0+1x1+1x2", 3)
    with pytest.raises(ValueError, match="activation"):
        NormNonlinearity("1x1", activation="nope")


def _mesh():
    return MeshGeometry()(triangle_mesh("sphere", subdivisions=1))


@pytest.mark.parametrize("nonlinearity", ["norm", "gated"])
def test_residual_block_is_exactly_gauge_equivariant(nonlinearity):
    torch.manual_seed(0)
    mesh = _mesh()
    block = GaugeResNetBlock("3x0+1x1", "2x0+2x1+2x2", max_radius=0.6, nonlinearity=nonlinearity).double()
    with torch.no_grad():
        block.residual.bias.normal_()
    x = torch.randn(mesh.num_nodes, 5, dtype=torch.float64)
    report = check_equivariance(block, x, mesh.edge_index, mesh.neighbour_radius, mesh.neighbour_angle, mesh.transport)
    assert report.passed and report.per_symmetry["gauge"] <= 1e-10, report


def test_regular_block_error_falls_with_n_and_the_reference_bias_defect_is_caught():
    torch.manual_seed(0)
    mesh = _mesh()
    x = torch.randn(mesh.num_nodes, 5, dtype=torch.float64)
    geo = (mesh.edge_index, mesh.neighbour_radius, mesh.neighbour_angle, mesh.transport)
    errors = []
    for n in (7, 101):
        torch.manual_seed(0)
        block = GaugeResNetBlock("3x0+1x1", "2x0+2x1+2x2", max_radius=0.6, nonlinearity="regular", n_samples=n).double()
        errors.append(check_equivariance(block, x, *geo, symmetry=GaugeSymmetry()).max_error)
    assert errors[1] < errors[0] / 10
    # GEM-CNN's residual Conv1d adds its bias to ρ1/ρ2 components: caught, at any N
    torch.manual_seed(0)
    block = GaugeResNetBlock("3x0+1x1", "2x0+2x1+2x2", max_radius=0.6, nonlinearity="norm").double()

    class BiasOnEveryChannel(torch.nn.Module):
        in_type, out_type = block.in_type, block.out_type

        def forward(self, x, edge_index, neighbour_radius, neighbour_angle, transport):
            return block(x, edge_index, neighbour_radius, neighbour_angle, transport) + 0.5

    assert check_equivariance(BiasOnEveryChannel(), x, *geo, symmetry=GaugeSymmetry()).max_error > 0.1
