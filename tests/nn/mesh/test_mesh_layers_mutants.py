"""The mesh layers' documented numbers, worked out by hand (not through the layers' own helpers):
the radial hats, the norm / gated / regular nonlinearities on single copies, transport-aware
pooling, the frequency-grouped layout and the initial weight scales. Written against the
survivors of ``python -m gdl.benchmarks.mutation mesh-layers``; gauge equivariance alone
cannot see these (a wrong but equivariant number passes every equivariance check)."""
import math

import pytest
import torch

from gdl.nn.mesh import (GatedNonlinearity, GaugeFieldLayout, GaugePooling, GaugeUnpooling, NormNonlinearity,
                         RegularNonlinearity, hat_profile)

F64 = torch.float64


def _rot(angle):
    c, s = math.cos(angle), math.sin(angle)
    return torch.tensor([[c, -s], [s, c]], dtype=F64)


def test_hat_profile_values_by_hand():
    t = torch.tensor([0.0, 0.25, 0.5, 1.0, 1.2, 1.5, 2.0], dtype=F64)
    # one ring: h(t) = max(0, 1 − t)
    assert torch.allclose(hat_profile(t, 1)[:, 0], torch.tensor([1.0, 0.75, 0.5, 0.0, 0.0, 0.0, 0.0], dtype=F64))
    # three rings: centres 0, 1/2, 1 and half-width 1/2
    expect = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.6],
                           [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=F64)
    assert torch.allclose(hat_profile(t, 3), expect, atol=1e-15)
    # four rings: centres 0, 1/3, 2/3, 1 (in the dtype of t: float64 here)
    four = hat_profile(torch.tensor([1 / 3, 0.5, 0.9], dtype=F64), 4)
    expect = torch.tensor([[0.0, 1.0, 0.0, 0.0], [0.0, 0.5, 0.5, 0.0], [0.0, 0.0, 0.3, 0.7]], dtype=F64)
    assert four.dtype == F64 and torch.allclose(four, expect, atol=1e-12, rtol=0)
    two = hat_profile(t, 2)  # centres 0 and 1, width 1
    assert two.shape == (7, 2) and torch.allclose(two[:4], torch.tensor([[1.0, 0.0], [0.75, 0.25], [0.5, 0.5], [0.0, 1.0]],
                                                                        dtype=F64))


def test_norm_nonlinearity_scales_each_copy_by_its_norm():
    layer = NormNonlinearity("1x0+2x1", activation="relu").double()  # default bias −0.1 on every copy
    x = torch.tensor([[-2.0, 3.0, 4.0, 0.0, 0.0], [1.5, 0.03, 0.04, -6.0, 8.0]], dtype=F64)
    y = layer(x)
    expect = torch.tensor([[0.0, 3 * 4.9 / 5, 4 * 4.9 / 5, 0.0, 0.0],
                           [1.5, 0.0, 0.0, -6 * 9.9 / 10, 8 * 9.9 / 10]], dtype=F64)  # |(0.03, 0.04)| − 0.1 < 0
    assert torch.allclose(y, expect, atol=1e-15)
    with torch.no_grad():
        layer.bias.copy_(torch.tensor([1.0, -1.0]))
    # σ(|x| + b) per copy: b = +1 on the first copy, −1 on the second
    assert torch.allclose(layer(x)[0, 1:3], torch.tensor([3 * 6 / 5, 4 * 6 / 5], dtype=F64))
    assert torch.allclose(layer(x)[1, 3:], torch.tensor([-6 * 9 / 10, 8 * 9 / 10], dtype=F64))
    assert layer.bias.shape == (2,) and torch.allclose(NormNonlinearity("1x1", bias_init=0.3).bias, torch.tensor([0.3]))


def test_norm_nonlinearity_with_frequencies_two_and_three():
    layer = NormNonlinearity("1x2+1x0+1x3", activation="softplus").double()
    x = torch.tensor([[0.6, 0.8, -1.0, 0.0, 2.0]], dtype=F64)  # channels in type order: ρ2, ρ0, ρ3
    y = layer(x)
    sp = torch.nn.functional.softplus
    s2 = sp(torch.tensor(1.0 - 0.1, dtype=F64)) / 1.0
    s3 = sp(torch.tensor(2.0 - 0.1, dtype=F64)) / 2.0
    expect = torch.stack([0.6 * s2, 0.8 * s2, sp(torch.tensor(-1.0, dtype=F64)), 0.0 * s3, 2.0 * s3])
    assert torch.allclose(y[0], expect, atol=1e-15)


def test_gated_nonlinearity_multiplies_each_copy_by_the_sigmoid_of_its_gate():
    layer = GatedNonlinearity("1x0+2x1+1x2", activation="tanh").double()
    gates = torch.tensor([0.0, 2.0, -1.0], dtype=F64)  # one per copy of ρ1, ρ1, ρ2, in that order
    x = torch.cat([torch.tensor([0.7, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dtype=F64), gates])[None]
    y = layer(x)[0]
    g = torch.sigmoid(gates)
    expect = torch.tensor([math.tanh(0.7), g[0] * 1, g[0] * 2, g[1] * 3, g[1] * 4, g[2] * 5, g[2] * 6], dtype=F64)
    assert torch.allclose(y, expect, atol=1e-15)
    assert GatedNonlinearity("3x0").in_type.dim == 3 and GatedNonlinearity("3x0").n_gates == 0


def test_regular_nonlinearity_samples_the_band_limited_function():
    n = 9
    layer = RegularNonlinearity("1x0+1x1+1x2", n).double()
    x = torch.tensor([[0.3, 1.0, -0.5, 0.2, 0.4]], dtype=F64)  # (x0, x1c, x1s, x2c, x2s)
    t = 2 * math.pi * torch.arange(n, dtype=F64) / n
    f = (x[0, 0] / math.sqrt(n) + math.sqrt(2 / n) * (x[0, 1] * torch.cos(t) + x[0, 2] * torch.sin(t)
                                                      + x[0, 3] * torch.cos(2 * t) + x[0, 4] * torch.sin(2 * t)))
    g = torch.relu(f)
    expect = torch.stack([g.sum() / math.sqrt(n)] + [math.sqrt(2 / n) * (g * fn(m * t)).sum()
                                                     for m in (1, 2) for fn in (torch.cos, torch.sin)])
    assert torch.allclose(layer(x)[0], expect, atol=1e-14)
    # a negative constant function is cut to zero, a positive one kept (ρ0 only)
    scalar = RegularNonlinearity("2x0", 3).double()
    assert torch.allclose(scalar(torch.tensor([[-1.0, 2.0]], dtype=F64)), torch.tensor([[0.0, 2.0]], dtype=F64))


def test_pooling_is_the_mean_of_the_transported_features():
    pool, unpool = GaugePooling("1x0+1x1"), GaugeUnpooling("1x0+1x1")
    x = torch.tensor([[1.0, 1.0, 0.0], [3.0, 0.0, 2.0], [5.0, 1.0, 1.0]], dtype=F64)
    index = torch.tensor([0, 0, 1])
    transport = torch.tensor([0.0, math.pi / 2, math.pi], dtype=F64)
    y = pool(x, index, transport, 3)
    v0 = (torch.tensor([1.0, 0.0], dtype=F64) + _rot(math.pi / 2) @ torch.tensor([0.0, 2.0], dtype=F64)) / 2
    assert torch.allclose(y[0], torch.cat([torch.tensor([2.0], dtype=F64), v0]), atol=1e-15)
    assert torch.allclose(y[1], torch.tensor([5.0, -1.0, -1.0], dtype=F64), atol=1e-15)
    assert torch.equal(y[2], torch.zeros(3, dtype=F64))  # a coarse vertex nothing pools to
    back = unpool(y, index, transport)
    assert torch.allclose(back[1, 1:], _rot(-math.pi / 2) @ y[0, 1:], atol=1e-15)
    assert torch.allclose(back[2], torch.tensor([5.0, 1.0, 1.0], dtype=F64), atol=1e-15)
    with pytest.raises(ValueError, match=r"refers to coarse vertex 1, but y has 1 rows"):
        unpool(y[:1], index, transport)
    with pytest.raises(ValueError, match=r"pool_transport of shape \[3\]"):
        pool(x, index, transport[:2], 2)


def test_grouped_layout_puts_each_frequency_together():
    layout = GaugeFieldLayout("1x1+2x0+1x2+1x1")  # channels: a1c a1s | s s | b2c b2s | c1c c1s
    assert layout.counts == [2, 2, 1] and layout.offsets == [0, 2, 6] and layout.dim == 8 and layout.max_freq == 2
    # grouped: [s s | a1c c1c, a1s c1s | b2c, b2s]
    assert layout.to_grouped.tolist() == [2, 3, 0, 6, 1, 7, 4, 5]
    x = torch.arange(8.0)[None]
    assert torch.equal(layout.ungroup(layout.group(x)), x) and not layout.is_grouped
    assert GaugeFieldLayout("2x0+1x1").is_grouped and layout.block_dim(0) == 2 and layout.block_dim(1) == 4
    cos = torch.tensor([[1.0, 0.0, -1.0]])
    sin = torch.tensor([[0.0, 1.0, 0.0]])  # ψ = π/2: ρ1 turns by a quarter, ρ2 by a half
    g = layout.group(x)
    turned = layout.rotate_grouped(g, cos, sin)
    assert torch.equal(turned[0, :2], g[0, :2])
    assert torch.equal(turned[0, 2:6], torch.stack([-g[0, 4], -g[0, 5], g[0, 2], g[0, 3]]))
    assert torch.equal(turned[0, 6:], -g[0, 6:])


# -- convolution: chunks, scales, checks ----------------------------------------------------------
def _sphere(subdivisions=1):
    from gdl.gauge import MeshGeometry
    from gdl.testing.strategies import triangle_mesh

    return MeshGeometry()(triangle_mesh("sphere", subdivisions=subdivisions))


def test_edge_chunks_do_not_change_the_result_or_its_gradients(monkeypatch):
    from gdl.nn.mesh import GaugeEquivariantConv
    from gdl.nn.mesh import _conv

    torch.manual_seed(0)
    mesh = _sphere()
    conv = GaugeEquivariantConv("2x0+1x1+1x2", "1x0+2x1", max_radius=0.6, n_rings=3).double()
    x = torch.randn(mesh.num_nodes, 6, dtype=F64, requires_grad=True)
    probe = torch.randn(mesh.num_nodes, 5, dtype=F64)

    def run():
        out = conv(x, mesh)
        return [out] + list(torch.autograd.grad((out * probe).sum(), [x] + list(conv.parameters())))

    whole = run()
    monkeypatch.setattr(_conv, "EDGE_CHUNK", 7)  # 240 edges: 35 chunks, the last one partial
    chunked = run()
    for a, b in zip(whole, chunked):
        assert (a - b).abs().max() < 1e-12
    x_only = torch.autograd.grad((conv(x, mesh) * probe).sum(), x)[0]  # the input's gradient alone
    assert (x_only - whole[1]).abs().max() < 1e-12


def test_gradient_with_respect_to_the_input_alone():
    from gdl.nn.mesh import GaugeEquivariantConv

    torch.manual_seed(1)
    mesh = _sphere(0)
    conv = GaugeEquivariantConv("1x0+1x1", "1x1+1x0", max_radius=1.2).double()
    for p in conv.parameters():
        p.requires_grad_(False)
    x = torch.randn(12, 3, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: conv(t, mesh), (x,))
    conv.weight["0_0"].requires_grad_(True)  # and the weights alone
    w = conv.weight["0_0"]
    g = torch.autograd.grad(conv(x.detach(), mesh).sum(), w)[0]
    eps = 1e-6
    with torch.no_grad():
        w[0, 0, 0, 0] += eps
        up = conv(x.detach(), mesh).sum()
        w[0, 0, 0, 0] -= 2 * eps
        down = conv(x.detach(), mesh).sum()
        w[0, 0, 0, 0] += eps
    assert abs(float(g[0, 0, 0, 0]) - float(up - down) / (2 * eps)) < 1e-6


def test_initial_weights_have_variance_one_over_fan_in():
    """fan_in = in dim × (rings + 1 for the self-interaction); the bias starts at zero, ρ_0 outputs only."""
    from gdl.nn.mesh import GaugeEquivariantConv, GaugeLinear

    torch.manual_seed(0)
    conv = GaugeEquivariantConv("16x0+16x1", "16x0+16x1", max_radius=1.0, n_rings=2)
    ring = torch.cat([w.detach().flatten() for w in conv.weight.values()])
    own = torch.cat([w.detach().flatten() for w in conv.self_weight.values()])
    assert abs(float(ring.std()) * math.sqrt(48 * 3) - 1) < 0.05 and abs(float(own.std()) * math.sqrt(48 * 3) - 1) < 0.15
    plain = GaugeEquivariantConv("16x0+16x1", "16x0", max_radius=1.0, n_rings=3, self_interaction=False)
    ring = torch.cat([w.detach().flatten() for w in plain.weight.values()])
    assert abs(float(ring.std()) * math.sqrt(48 * 3) - 1) < 0.07 and len(plain.self_weight) == 0
    assert torch.equal(conv.bias, torch.zeros(16)) and GaugeEquivariantConv("1x0", "2x1", max_radius=1.0).bias is None
    assert GaugeEquivariantConv("1x0", "2x0", max_radius=1.0, bias=False).bias is None
    linear = GaugeLinear("64x0+32x1", "64x0+32x1")
    assert abs(float(linear.weight["0"].detach().std()) * 8 - 1) < 0.05
    assert abs(float(linear.weight["1"].detach().std()) * math.sqrt(32) - 1) < 0.05


def test_gauge_linear_acts_on_equal_frequencies_with_its_bias_on_scalars():
    from gdl.nn.mesh import GaugeLinear

    layer = GaugeLinear("1x0+1x1", "2x0+1x1+1x2").double()
    with torch.no_grad():
        layer.bias.copy_(torch.tensor([0.5, -1.0]))
    assert layer(torch.zeros(1, 3, dtype=F64)).tolist() == [[0.5, -1.0, 0.0, 0.0, 0.0, 0.0]]
    x = torch.tensor([[0.0, 1.0, 0.0]], dtype=F64)
    k = layer.matrix()  # ρ1 block: a·I + b·J, nothing into ρ2 (no input of frequency 2)
    assert k.shape == (6, 3) and torch.equal(k[4:], torch.zeros(2, 3, dtype=F64))
    y = layer(x)[0]
    assert torch.allclose(y[2:4], k[2:4, 1:3] @ torch.tensor([1.0, 0.0], dtype=F64)) and torch.equal(y[4:], torch.zeros(2, dtype=F64))
    a, b = k[2, 1], k[3, 1]
    assert torch.allclose(k[2:4, 1:3], torch.stack([torch.stack([a, -b]), torch.stack([b, a])]))  # commutes with rotations
    assert GaugeLinear("1x1", "1x1", bias=True).bias is None  # no ρ0 output, no bias


def test_convolution_refuses_bad_geometry_and_settings_by_name():
    from gdl.nn.mesh import GaugeEquivariantConv

    mesh = _sphere(0)
    conv = GaugeEquivariantConv("1x0", "1x0", max_radius=1.0).double()
    x = torch.randn(12, 1, dtype=F64)
    with pytest.raises(ValueError, match=r"'neighbour_radius' must be ≥ 0 \(a distance\), got minimum -1.0"):
        conv(x, mesh.edge_index, -torch.ones_like(mesh.neighbour_radius), mesh.neighbour_angle, mesh.transport)
    with pytest.raises(ValueError, match=r"missing mesh geometry \['transport'\]"):
        conv(x, mesh.edge_index, mesh.neighbour_radius, mesh.neighbour_angle)
    with pytest.raises(ValueError, match=r"lacks the mesh geometry \['neighbour_radius', 'transport'\]"):
        conv(x, mesh.__class__(edge_index=mesh.edge_index, neighbour_angle=mesh.neighbour_angle))
    with pytest.raises(ValueError, match=r"expected 'transport' of shape \[60\] \(one value per edge\), got \[60, 1\]"):
        conv(x, mesh.edge_index, mesh.neighbour_radius, mesh.neighbour_angle, mesh.transport[:, None])
    for bad in (0, True, 1.5):
        with pytest.raises(ValueError, match="n_rings is a positive integer"):
            GaugeEquivariantConv("1x0", "1x0", max_radius=1.0, n_rings=bad)
    for bad in (True, float("inf"), -1.0, "1"):
        with pytest.raises(ValueError, match="max_radius is the fixed radial scale"):
            GaugeEquivariantConv("1x0", "1x0", max_radius=bad)
    with pytest.raises(ValueError, match=r"frequencies are ≥ 0, got out -1, in 0"):
        __import__("gdl.nn.mesh", fromlist=["solve_kernel_basis"]).solve_kernel_basis(-1, 0)


def test_activations_by_name_and_bad_ones():
    import torch.nn.functional as fn

    x = torch.tensor([[-1.0], [0.5]], dtype=F64)
    for name, f in (("relu", torch.relu), ("silu", fn.silu), ("gelu", fn.gelu), ("tanh", torch.tanh),
                    ("softplus", fn.softplus)):
        assert torch.equal(NormNonlinearity("1x0", activation=name).double()(x), f(x)), name
    assert torch.equal(NormNonlinearity("1x0", activation=None).double()(x), torch.relu(x))
    with pytest.raises(TypeError, match="expected a name or a callable, got int"):
        NormNonlinearity("1x0", activation=3)
    with pytest.raises(ValueError, match=r"n_samples must be an integer ≥ 2L \+ 1 = 3"):
        RegularNonlinearity("1x0+1x1", True)
    from gdl.nn.mesh import GaugeResNetBlock

    with pytest.raises(ValueError, match="nonlinearity is 'norm', 'gated' or 'regular', got 'relu'"):
        GaugeResNetBlock("1x0", "1x0", max_radius=1.0, nonlinearity="relu")


def test_residual_block_is_the_documented_composition():
    from gdl.nn.mesh import GaugeResNetBlock

    torch.manual_seed(0)
    mesh = _sphere()
    x = torch.randn(mesh.num_nodes, 5, dtype=F64)
    same = GaugeResNetBlock("1x0+2x1", "1x0+2x1", max_radius=0.6).double()
    assert same.residual is None
    h = same.conv2(same.act1(same.conv1(x, mesh)), mesh)
    assert torch.allclose(same(x, mesh), same.act2(h + x), atol=1e-14)
    last = GaugeResNetBlock("1x0+2x1", "2x0+1x1", max_radius=0.6, last_layer=True).double()
    assert last.act2 is None and last.residual is not None
    h = last.conv2(last.act1(last.conv1(x, mesh)), mesh)
    assert torch.allclose(last(x, mesh), h + last.residual(x), atol=1e-14)
    gated = GaugeResNetBlock("1x0+2x1", "1x0+2x1", max_radius=0.6, nonlinearity="gated").double()
    assert gated.n_gates == 2 and gated.conv2.out_type.dim == 7
    h = gated.conv2(gated.act1(gated.conv1(x, mesh)), mesh)
    skip = torch.cat([h[:, :5] + x, h[:, 5:]], 1)  # the skip joins the features, not the gates
    assert torch.allclose(gated(x, mesh), gated.act2(skip), atol=1e-14)


@pytest.mark.parametrize("seed", [3, 11])
def test_the_solved_bases_do_not_depend_on_the_sample_angles(seed):
    """Another seed (and number) of sample angles spans the same kernels: GEM-CNN's Table 1 again
    (solved afresh through ``__wrapped__``: the cached solutions would hide the solver)."""
    from gdl.nn.mesh import solve_kernel_basis, solve_self_interaction_basis

    solve_kernel_basis, solve_self_interaction_basis = solve_kernel_basis.__wrapped__, solve_self_interaction_basis.__wrapped__
    for (m, n), size in {(0, 0): 1, (0, 2): 2, (1, 1): 4, (2, 1): 4}.items():
        fresh = solve_kernel_basis(m, n, n_samples=20 + seed, seed=seed)
        default = solve_kernel_basis(m, n)
        assert fresh.size == size and fresh.frequencies() == default.frequencies()
        # same span: projecting the fresh basis on the default one loses nothing
        a = fresh.at_zero().reshape(size, -1)
        b = torch.linalg.qr(default.at_zero().reshape(size, -1).T)[0]
        assert (a - (a @ b) @ b.T).abs().max() < 1e-9
    assert [solve_self_interaction_basis(m, n, seed=seed).shape[0] for m, n in ((0, 0), (1, 1), (3, 3), (1, 2))] == [1, 2, 2, 0]
    ident = solve_self_interaction_basis(2, 2, n_samples=5, seed=seed)
    assert ident.shape == (2, 2, 2)
    j = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=F64)
    for k in ident:  # a·I + b·J
        assert torch.allclose(k, k[0, 0] * torch.eye(2, dtype=F64) + k[1, 0] * j, atol=1e-12)


def test_pooling_errors_name_the_layer_and_the_argument():
    pool, unpool = GaugePooling("1x0+1x1"), GaugeUnpooling("1x0+1x1")
    x = torch.zeros(3, 3, dtype=F64)
    index, transport = torch.tensor([0, 0, 1]), torch.zeros(3, dtype=F64)
    with pytest.raises(ValueError, match=r"^GaugePooling: expected pool_transport of shape \[3\]"):
        pool(x, index, transport[:2], 2)
    with pytest.raises(ValueError, match=r"^GaugeUnpooling: expected pool_transport of shape \[3\]"):
        unpool(x, index, transport[:2])
    with pytest.raises(Exception, match=r"'y'"):
        unpool(torch.zeros(3, 2, dtype=F64), index, transport)
    with pytest.raises(ValueError, match=r"^GaugePooling type: expected a field type over SO\(2\)"):
        from gdl.groups import SO3, FieldType

        GaugePooling(FieldType.irreps(SO3(), "1x0e"))


def test_norm_nonlinearity_uses_one_bias_per_copy_across_frequencies():
    layer = NormNonlinearity("1x1+1x2+1x3", activation="relu").double()
    with torch.no_grad():
        layer.bias.copy_(torch.tensor([0.5, 1.0, 2.0]))
    x = torch.tensor([[1.0, 0.0, 0.0, 1.0, -1.0, 0.0]], dtype=F64)  # unit copies of ρ1, ρ2, ρ3
    assert torch.allclose(layer(x), x * torch.tensor([1.5, 1.5, 2.0, 2.0, 3.0, 3.0], dtype=F64))


def test_float32_layers_compute_in_float32():
    from gdl.nn.mesh import GaugeLinear, GaugeResNetBlock

    linear = GaugeLinear("2x0+1x1", "1x0+2x1")
    assert linear(torch.randn(4, 4)).dtype == torch.float32 and linear.matrix().dtype == torch.float32
    with pytest.raises(ValueError, match="^GaugeLinear in_type: cannot read"):
        GaugeLinear("1xq", "1x0")
    regular = GaugeResNetBlock("1x0+1x1", "1x0+1x1", max_radius=1.0, nonlinearity="regular")
    assert regular.act1.n_samples == regular.act2.n_samples == RegularNonlinearity("1x0+1x1").n_samples == 7


def test_heat_kernel_signature_against_a_dense_eigensolver():
    """HKS(x, t) = Σ_k e^{−λ_k t} φ_k(x)² (L φ = λ M φ, M-orthonormal φ), t log-spaced over
    [4 ln 10 / λ_max, 4 ln 10 / λ_1] of the kept eigenvalues (λ_1 the smallest positive one)."""
    pytest.importorskip("scipy")
    import numpy as np
    import scipy.linalg

    from gdl.gauge import cotangent_laplacian
    from gdl.nn.mesh import heat_kernel_signature
    from gdl.testing.strategies import triangle_mesh

    mesh = triangle_mesh("sphere", subdivisions=1, geometry=False)  # 42 vertices, noisy: no repeated eigenvalues
    lap, mass = cotangent_laplacian(mesh.pos, mesh.face)
    vals, vecs = scipy.linalg.eigh(lap.toarray(), mass.toarray())
    vals = np.clip(vals, 0, None)
    for n_eigs, n_times in ((6, 3), (12, 5)):
        lam, phi = vals[:n_eigs], vecs[:, :n_eigs]
        times = np.geomspace(4 * np.log(10) / lam[-1], 4 * np.log(10) / lam[1], n_times)
        expect = (np.exp(-lam[None, :, None] * times[None, None, :]) * phi[:, :, None] ** 2).sum(1)
        hks = heat_kernel_signature(mesh.pos, mesh.face, n_eigs=n_eigs, n_times=n_times)
        assert hks.shape == (42, n_times) and hks.dtype == torch.float64
        assert np.abs(hks.numpy() - expect).max() < 1e-8 * np.abs(expect).max()
    assert heat_kernel_signature(mesh.pos.float(), mesh.face, n_eigs=6, n_times=2).dtype == torch.float32
    assert heat_kernel_signature(mesh.pos, mesh.face).shape == (42, 16)  # defaults: 32 eigenpairs, 16 times
    with pytest.raises(ValueError, match=r"n_eigs must lie in \[2, 42\) for 42 vertices, got 42"):
        heat_kernel_signature(mesh.pos, mesh.face, n_eigs=42)


def test_geometry_of_the_wrong_shape_is_named():
    from gdl.nn.mesh import GaugeEquivariantConv

    mesh = _sphere(0)
    conv = GaugeEquivariantConv("1x0", "1x0", max_radius=1.0).double()
    x = torch.randn(12, 1, dtype=F64)
    r, a, t = mesh.neighbour_radius, mesh.neighbour_angle, mesh.transport
    with pytest.raises(ValueError, match=r"^GaugeEquivariantConv: expected 'neighbour_radius' of shape \[60\] "
                                         r"\(one value per edge\), got \[59\]"):
        conv(x, mesh.edge_index, r[:-1], a, t)
    with pytest.raises(ValueError, match=r"expected 'neighbour_angle' of shape \[E\] \(one value per edge\), got list"):
        conv(x, mesh.edge_index[0], r, [0.0] * 60, t)  # a flat edge_index has no edge count to name
    with pytest.raises(ValueError, match="edge_index"):
        conv(x, mesh.edge_index[0], r, a, t)


def test_initial_scale_of_a_single_input_channel():
    from gdl.nn.mesh import GaugeEquivariantConv

    torch.manual_seed(0)
    conv = GaugeEquivariantConv("1x0", "400x0", max_radius=1.0, n_rings=2)  # fan_in = 1 × (2 + 1)
    ring = conv.weight["0_0"].detach().flatten()
    assert abs(float(ring.std()) * math.sqrt(3) - 1) < 0.1


def test_layouts_read_trivial_reps_and_refuse_what_is_not_irreps():
    from gdl.groups import SO2, FieldType
    from gdl.nn.mesh import GaugeEquivariantConv

    trivial = GaugeFieldLayout(FieldType(SO2(), SO2().trivial_rep(3)))  # a bare trivial rep: read as 3ρ_0
    assert trivial.counts == [3] and trivial.dim == 3 and trivial.max_freq == 0
    rep = SO2().trivial_rep(1) + SO2().irrep(1)
    with pytest.raises(ValueError, match=r"^pool: expected SO\(2\) irreps ρ_m \(e\.g\. '4x0\+2x1\+1x2'\), got the representation"):
        GaugeFieldLayout(FieldType(SO2(), rep.tensor(rep)), "pool")
    with pytest.raises(TypeError, match=r"^GaugeEquivariantConv in_type: expected an SO\(2\) field type \(FieldType, Rep or a "
                                        r"string such as '4x0\+2x1'\), got int"):
        GaugeEquivariantConv(3, "1x0", max_radius=1.0)
