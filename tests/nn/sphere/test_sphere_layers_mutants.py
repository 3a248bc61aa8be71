"""The spherical layers' documented maths, computed by hand with explicit loops (not through the
layers' helpers): the per-degree spectral products of S2Conv / SO3Conv, the bias on l = 0, the
truncation to lmax_out, the norm / gated activations and the readout per irrep copy, the local
kernels' points and rotations. Gauge- or rotation-equivariance checks alone cannot see these
(a wrong but equivariant product passes them); written against the survivors of
``python -m gdl.benchmarks.mutation sphere-layers``."""
import math

import pytest
import torch
from e3nn import o3

from gdl.groups import wigner_d_from_matrix
from gdl.nn.sphere import (GatedActivation, InvariantReadout, NormActivation, S2Conv, SO3Conv, s2_near_identity_points,
                           so3_near_identity_rotations, z_up_to_e3nn)

F64 = torch.float64


def _set(layer, seed=0, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * scale)
    return layer


def _blocks_so3(lmax):
    out, start = [], 0
    for l in range(lmax + 1):
        out.append((l, start))
        start += (2 * l + 1) ** 2
    return out


def test_s2_to_s2_convolution_is_one_real_weight_per_degree():
    layer = _set(S2Conv(2, 3, 3, 2).double())
    x = torch.randn(4, 2, 16, generator=torch.Generator().manual_seed(1), dtype=F64)
    out = layer(x)
    assert out.shape == (4, 3, 9)
    w = layer.weight  # [lmax_out + 1, in, out]
    expect = torch.zeros(4, 3, 9, dtype=F64)
    for l in range(3):
        for m in range(2 * l + 1):
            for o in range(3):
                expect[:, o, l * l + m] = sum(w[l, i, o] * x[:, i, l * l + m] for i in range(2))
    expect[:, :, 0] += layer.bias
    assert torch.allclose(out, expect, atol=1e-13)


def test_s2_to_so3_convolution_is_the_outer_product_per_degree():
    layer = _set(S2Conv(2, 3, 3, 2, output="so3").double())
    x = torch.randn(2, 16, generator=torch.Generator().manual_seed(2), dtype=F64)  # no leading batch axis
    out = layer(x)
    assert out.shape == (3, 1 + 9 + 25)
    psi = layer.weight  # [in, out, (lmax_out+1)²]
    for l, start in _blocks_so3(2):
        d = 2 * l + 1
        for o in range(3):
            # stored as rows n of length 2l+1 in m: out^l_o[m, n] at start + n·d + m
            block = sum(torch.outer(psi[i, o, l * l:(l + 1) ** 2], x[i, l * l:(l + 1) ** 2]) for i in range(2))
            if l == 0:
                block = block + layer.bias[o]
            assert torch.allclose(out[o, start:start + d * d], block.reshape(-1), atol=1e-13), (l, o)


def test_so3_to_so3_convolution_multiplies_each_block_by_the_kernel_block():
    layer = _set(SO3Conv(2, 2, 2, 1).double())
    x = torch.randn(3, 2, 35, generator=torch.Generator().manual_seed(3), dtype=F64)
    out = layer(x)
    assert out.shape == (3, 2, 10)
    for l, start in _blocks_so3(1):
        d = 2 * l + 1
        for o in range(2):
            # B_out = Σ_i ψ_io B_i with B_i [n = rows, m] and ψ_io [n, k]
            expect = sum(layer.weight[i, o, start:start + d * d].reshape(d, d) @ x[:, i, start:start + d * d].reshape(-1, d, d)
                         for i in range(2))
            if l == 0:
                expect = expect + layer.bias[o]
            assert torch.allclose(out[:, o, start:start + d * d], expect.reshape(3, -1), atol=1e-13), (l, o)


def test_without_bias_zero_input_gives_zero_and_bias_moves_only_l0():
    for layer in (S2Conv(1, 2, 2), S2Conv(1, 2, 2, output="so3"), SO3Conv(1, 2, 2)):
        layer = _set(layer.double())
        x = torch.zeros(1, layer.in_type.dim, dtype=F64)
        out = layer(x)
        assert torch.equal(out[:, 0], layer.bias) and torch.equal(out[:, 1:], torch.zeros_like(out[:, 1:]))
    for layer in (S2Conv(1, 2, 2, bias=False), SO3Conv(1, 2, 2, bias=False), S2Conv(1, 2, 2, output="so3", bias=False)):
        assert layer.bias is None and torch.equal(layer(torch.zeros(1, layer.in_type.dim)), torch.zeros(2, layer.out_type.dim))


def test_initial_weights_keep_the_output_variance():
    """Spectral weights ~ N(0, 1/in) (S² kernels) and N(0, 1/((2l+1)·in)) per degree (SO(3) kernels)."""
    torch.manual_seed(0)
    s2 = S2Conv(64, 64, 2)
    assert abs(float(s2.weight.detach().std()) * 8 - 1) < 0.05
    so3 = SO3Conv(32, 32, 2)
    for l, start in _blocks_so3(2):
        block = so3.weight[..., start:start + (2 * l + 1) ** 2]
        assert abs(float(block.detach().std()) * math.sqrt(32 * (2 * l + 1)) - 1) < 0.1, l
    outer = S2Conv(64, 32, 3, output="so3")
    assert abs(float(outer.weight.detach().std()) * 8 - 1) < 0.05
    assert torch.equal(s2.bias, torch.zeros(64))


def test_local_kernels_are_the_transforms_of_values_at_the_points():
    points = s2_near_identity_points(n_alpha=4, n_beta=2, max_beta=0.4)
    # rings of colatitude 0.2 and 0.4, longitudes 0, π/2, π, 3π/2 (z-up)
    colat = torch.acos(points[:, 2])
    assert torch.allclose(colat, torch.tensor([0.2] * 4 + [0.4] * 4, dtype=F64))
    assert torch.allclose(torch.atan2(points[:4, 1], points[:4, 0]), torch.tensor([0, math.pi / 2, math.pi, -math.pi / 2],
                                                                                  dtype=F64), atol=1e-15)
    layer = _set(S2Conv(2, 3, 2, output="so3", kernel="local", kernel_points=points).double())
    basis = o3.spherical_harmonics([0, 1, 2], z_up_to_e3nn(points), normalize=True)  # [P, 9]
    assert torch.allclose(layer.local(), layer.local.weight @ basis, atol=1e-14)
    spectral = S2Conv(2, 3, 2, output="so3").double()
    with torch.no_grad():
        spectral.weight.copy_(layer.local())
        spectral.bias.copy_(layer.bias)
    x = torch.randn(2, 9, dtype=F64)
    assert torch.allclose(layer(x), spectral(x), atol=1e-13)
    assert layer.local.weight.shape == (2, 3, 8)
    # rotations Rz(α) Ry(β) Rz(γ), γ fastest
    rot = so3_near_identity_rotations(n_alpha=2, n_beta=1, n_gamma=3, max_beta=0.3)
    assert rot.shape == (6, 3, 3)

    def rz(a):
        return torch.tensor([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]], dtype=F64)

    def ry(b):
        return torch.tensor([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]], dtype=F64)

    expect = torch.stack([rz(a) @ ry(0.3) @ rz(g) for a in (0, math.pi) for g in (0, 2 * math.pi / 3, 4 * math.pi / 3)])
    assert torch.allclose(rot, expect, atol=1e-15)
    so3 = _set(SO3Conv(1, 2, 1, kernel="local", kernel_rotations=rot).double())
    d = torch.cat([wigner_d_from_matrix(l, rot).reshape(6, -1) for l in range(2)], 1)
    assert torch.allclose(so3.local(), so3.local.weight @ d, atol=1e-14)


def test_local_kernel_basis_is_recast_from_float64():
    layer = S2Conv(1, 1, 3, output="so3", kernel="local")
    exact = layer.local._exact
    assert exact.dtype == F64 and layer.local.basis.dtype == torch.get_default_dtype()
    layer = layer.float().double()
    assert torch.equal(layer.local.basis, exact)  # not a float32 copy cast up


def test_convolutions_drop_degrees_above_the_output_bandwidth():
    layer = _set(S2Conv(1, 1, 4, 2).double())
    x = torch.randn(1, 25, dtype=F64)
    high = x.clone()
    high[:, 9:] = torch.randn(1, 16, dtype=F64)
    assert torch.equal(layer(x), layer(high)) and layer(x).shape == (1, 9)
    so3 = _set(SO3Conv(1, 1, 2, 1).double())
    y = torch.randn(1, 35, dtype=F64)
    other = y.clone()
    other[:, 10:] = 0
    assert torch.equal(so3(y), so3(other))


def test_norm_activation_gates_each_copy_by_its_norm():
    layer = NormActivation(2, 1, "s2", activation="relu", eps=0.0).double()
    with torch.no_grad():
        layer.bias.copy_(torch.tensor([[0.0, 1.0], [0.0, -2.0]]))
    x = torch.tensor([[-1.0, 2.0, 0.0, 0.0], [3.0, 0.0, 3.0, 4.0]], dtype=F64)
    out = layer(x)
    s1, s2 = torch.sigmoid(torch.tensor(2.0 - 1.0)), torch.sigmoid(torch.tensor(5.0 + 2.0))
    expect = torch.tensor([[0.0, 2.0 * s1, 0.0, 0.0], [3.0, 0.0, 3 * s2, 4 * s2]], dtype=F64)
    assert torch.allclose(out, expect, atol=1e-15)
    # SO(3) features: the norm of each row of block l (one copy of the irrep)
    so3 = NormActivation(1, 1, "so3", activation="tanh", eps=1e-3).double()
    x = torch.zeros(1, 10, dtype=F64)
    x[0, 0], x[0, 1:4], x[0, 4:7] = 0.5, torch.tensor([3.0, 0, 4.0]), torch.tensor([0.0, 1.0, 0.0])
    out = so3(x)
    n1, n2 = math.sqrt(25 + 1e-6), math.sqrt(1 + 1e-6)
    assert torch.allclose(out[0, 0], torch.tensor(math.tanh(0.5), dtype=F64))
    assert torch.allclose(out[0, 1:4], x[0, 1:4] / (1 + math.exp(-n1)))
    assert torch.allclose(out[0, 4:7], x[0, 4:7] / (1 + math.exp(-n2)))
    assert torch.equal(out[0, 7:], torch.zeros(3, dtype=F64))


def test_gated_activation_and_readout_by_hand():
    gated = GatedActivation(1, 1, "s2", activation="relu")
    x = torch.tensor([[-0.5, 1.0, 2.0, 3.0]])
    assert torch.allclose(gated(x), torch.tensor([[0.0, 1.0, 2.0, 3.0]]) * torch.tensor([1.0] + [1 / (1 + math.exp(0.5))] * 3))
    readout = InvariantReadout(2, 1, "so3", eps=0.0)
    x = torch.zeros(2, 10, dtype=F64)
    x[0, 0], x[0, 1:10] = -1.5, torch.arange(9, dtype=F64)
    x[1, 0], x[1, 4] = 2.0, -3.0
    assert torch.allclose(readout(x), torch.tensor([-1.5, math.sqrt(sum(k * k for k in range(9))), 2.0, 3.0], dtype=F64))
    assert readout.out_type.dim == 4
    assert InvariantReadout(1, 2, "s2", eps=1.0)(torch.zeros(1, 9)).tolist() == [0.0, 1.0, 1.0]


@pytest.mark.parametrize("layer,match", [
    (lambda: S2Conv(0, 1, 2), "in_channels must be a positive integer, got 0"),
    (lambda: SO3Conv(1, 1.5, 2), "out_channels must be a positive integer, got 1.5"),
    (lambda: S2Conv(1, 1, -1), "lmax_in must be a non-negative integer, got -1"),
    (lambda: SO3Conv(1, 1, 2, 3), "lmax_out=3 exceeds lmax_in=2"),
    (lambda: S2Conv(1, 1, 2, kernel="dense"), "S2Conv: kernel must be 'spectral'"),
])
def test_constructors_refuse_bad_sizes_by_name(layer, match):
    with pytest.raises(ValueError, match=match):
        layer()


def test_feature_checks_name_the_layer_the_type_and_the_shape():
    from gdl.nn.sphere import S2GridActivation

    with pytest.raises(TypeError, match=r"^S2Conv: expected a floating-point tensor of S² coefficients \[\.\.\., 1, 4\], "
                                        r"got torch.int64"):
        S2Conv(1, 1, 1)(torch.ones(1, 4, dtype=torch.long))
    with pytest.raises(TypeError, match=r"got list"):
        S2Conv(1, 1, 1)([[0.0] * 4])
    with pytest.raises(ValueError, match=r"^S2GridActivation: expected S² features \[\.\.\., channels=2, 16\]"):
        S2GridActivation(3)(torch.randn(2, 15))
    with pytest.raises(ValueError, match=r"^SO3Conv: lmax_out=3 exceeds lmax_in=2"):
        SO3Conv(1, 1, 2, 3)
    with pytest.raises(ValueError, match=r"expected a callable or one of relu, silu, gelu, tanh, softplus"):
        S2GridActivation(3, "swish")


def test_only_weights_and_bias_are_saved_and_local_bases_are_float64():
    assert set(S2Conv(1, 2, 2).state_dict()) == {"weight", "bias"}
    rot = so3_near_identity_rotations()
    assert rot.shape == (36, 3, 3)  # defaults: 6 × 1 × 6
    layer = SO3Conv(1, 1, 1, kernel="local", kernel_rotations=rot.float())
    assert layer.local._exact.dtype == F64 and layer.local.weight.shape == (1, 1, 36)


def test_grid_reps_are_equal_exactly_when_their_grids_are():
    from gdl.nn.sphere import SphericalGridRep, grid_points

    grid = grid_points("gauss-legendre", 4, 8).reshape(-1, 3)
    assert SphericalGridRep(grid, 2) == SphericalGridRep(grid.clone(), 2)
    assert SphericalGridRep(grid, 2) != SphericalGridRep(grid.flip(0), 2)


def test_equiangular_grids_resolve_half_their_colatitudes():
    from gdl.nn.sphere import SphericalHarmonicTransform

    for grid in ("driscoll-healy", "soft"):
        with pytest.raises(ValueError, match=rf"a {grid} grid of 4 × 8 resolves degrees ≤ 1, got lmax=2"):
            SphericalHarmonicTransform(2, grid, nlat=4, nlon=8)
        assert SphericalHarmonicTransform(1, grid, nlat=4, nlon=8).nlat == 4
