"""EGNNConv: equivariance, the fused backward against autograd, bad and degenerate input."""
import copy
import itertools

import pytest
import torch
from tests.helpers.graph import F32_RTOL, F64_RTOL

from gdl.groups import FieldTypeError
from gdl.nn.graph import EGNNConv
from gdl.testing import check_equivariance


def layer_inputs(batch, channels=8, edge_channels=1, velocity=True, seed=0):
    gen = torch.Generator().manual_seed(seed)
    dtype = batch.pos.dtype
    inputs = {"h": torch.randn(batch.num_nodes, channels, generator=gen).to(dtype), "pos": batch.pos,
              "edge_index": batch.edge_index}
    if velocity:
        inputs["vel"] = batch.vel
    if edge_channels:
        inputs["edge_attr"] = torch.randn(batch.edge_index.shape[1], edge_channels, generator=gen).to(dtype)
    return inputs


@pytest.mark.parametrize("dtype,rtol", [(torch.float64, F64_RTOL), (torch.float32, F32_RTOL)])
def test_equivariant_e3_and_permutations(nbody_batch, dtype, rtol):
    torch.manual_seed(0)
    layer = EGNNConv(8, hidden_channels=16, edge_channels=1, velocity=True, coords_init_gain=1.0).to(dtype)
    report = check_equivariance(layer, layer_inputs(nbody_batch(4, dtype)), rtol=rtol, n_random=4, n_grid=2)
    assert report.passed, report.table()
    assert set(report.symmetries) == {"E(3)", "node permutation"}
    assert report.per_output.keys() == {"h", "pos"}


@pytest.mark.parametrize("normalize,tanh,coords_aggregation,message_aggregation", [
    (True, False, "mean", "sum"), (False, True, "sum", "mean"), (True, True, "sum", "sum")])
def test_options_stay_equivariant(nbody_batch, normalize, tanh, coords_aggregation, message_aggregation):
    torch.manual_seed(1)
    layer = EGNNConv(8, 10, 16, velocity=False, residual=False, normalize=normalize, tanh=tanh,
                     coords_aggregation=coords_aggregation, aggregation=message_aggregation,
                     coords_init_gain=1.0).double()
    inputs = layer_inputs(nbody_batch(3), edge_channels=0, velocity=False)
    report = check_equivariance(layer, inputs, rtol=F64_RTOL, n_random=2, n_grid=1)
    assert report.passed, report.table()


def test_types_declared():
    layer = EGNNConv(8, velocity=True)
    assert set(layer.in_type) == {"h", "pos", "vel"} and set(layer.out_type) == {"h", "pos"}
    assert layer.in_type["h"].dim == 8 and layer.in_type["pos"].dim == 3
    assert set(EGNNConv(8).in_type) == {"h", "pos"}


OPTIONS = list(itertools.product([True, False], [0, 2], [False, True], [False, True], ["mean", "sum"], ["sum", "mean"],
                                 [100.0, 0.05, None]))


@pytest.mark.parametrize("velocity,edge_channels,normalize,tanh,coords_agg,message_agg,clamp", OPTIONS[::5] + OPTIONS[1::7])
def test_fused_backward_matches_autograd(velocity, edge_channels, normalize, tanh, coords_agg, message_agg, clamp):
    """The hand-written backward equals autograd's, for inputs and weights, in float64."""
    torch.manual_seed(0)
    n, e = 9, 30
    source, target = torch.randint(0, n, (e,)), torch.randint(0, n, (e,))
    source[0] = target[0]  # a self-loop: x_i − x_j = 0
    edge_index = torch.stack([source, target])
    fused = EGNNConv(5, 5, 7, edge_channels=edge_channels, velocity=velocity, normalize=normalize, tanh=tanh,
                     coords_aggregation=coords_agg, aggregation=message_agg, coords_clamp=clamp,
                     coords_init_gain=1.0).double()
    plain = copy.deepcopy(fused)
    plain.fused = False
    h = torch.randn(n, 5, dtype=torch.float64, requires_grad=True)
    pos = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    vel = torch.randn(n, 3, dtype=torch.float64, requires_grad=True) if velocity else None
    attr = torch.randn(e, edge_channels, dtype=torch.float64, requires_grad=True) if edge_channels else None
    grad_h, grad_pos = torch.randn(n, 5, dtype=torch.float64), torch.randn(n, 3, dtype=torch.float64)
    results = []
    for layer in (fused, plain):
        out = layer(h, pos, edge_index, vel, attr)
        leaves = [t for t in (h, pos, vel, attr) if t is not None] + [layer.flat]
        grads = torch.autograd.grad((out.h * grad_h).sum() + (out.pos * grad_pos).sum(), leaves)
        results.append((out.h, out.pos) + grads)
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_fused_is_once_differentiable():
    layer = EGNNConv(4).double()
    pos = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    h = torch.randn(5, 4, dtype=torch.float64)
    out = layer(h, pos, torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]]))
    (g,) = torch.autograd.grad(out.pos.sum(), pos, create_graph=True)
    with pytest.raises(RuntimeError):
        g.sum().backward()
    layer.fused = False  # the autograd path supports higher derivatives
    out = layer(h, pos, torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]]))
    (g,) = torch.autograd.grad(out.pos.sum(), pos, create_graph=True)
    g.sum().backward()
    assert torch.isfinite(pos.grad).all()


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("normalize", [False, True])
def test_coincident_points_finite_values_and_gradients(fused, normalize):
    layer = EGNNConv(4, edge_channels=0, velocity=True, normalize=normalize, fused=fused).double()
    pos = torch.zeros(4, 3, dtype=torch.float64, requires_grad=True)  # all four points coincide
    h = torch.randn(4, 4, dtype=torch.float64, requires_grad=True)
    vel = torch.randn(4, 3, dtype=torch.float64)
    edge_index = torch.tensor([[0, 1, 2, 3, 0], [1, 2, 3, 0, 2]])
    out = layer(h, pos, edge_index, vel)
    (out.h.sum() + out.pos.sum()).backward()
    assert torch.isfinite(out.h).all() and torch.isfinite(out.pos).all()
    assert torch.isfinite(pos.grad).all() and torch.isfinite(h.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters())


def test_out_of_place():
    layer = EGNNConv(4, velocity=True)
    h, pos, vel = torch.randn(3, 4), torch.randn(3, 3), torch.randn(3, 3)
    copies = [t.clone() for t in (h, pos, vel)]
    out = layer(h, pos, torch.tensor([[0, 1, 2], [1, 2, 0]]), vel)
    for before, after in zip(copies, (h, pos, vel)):
        assert torch.equal(before, after)
    assert out.pos.data_ptr() != pos.data_ptr() and out.h.data_ptr() != h.data_ptr()


def test_single_node_and_empty_graphs():
    layer = EGNNConv(4, velocity=True)
    no_edges = torch.zeros(2, 0, dtype=torch.long)
    h, pos, vel = torch.randn(1, 4), torch.randn(1, 3), torch.randn(1, 3)
    out = layer(h, pos, no_edges, vel)  # one node, no neighbours: only the velocity term moves it
    assert out.h.shape == (1, 4) and torch.isfinite(out.h).all()
    w = layer.block
    speed = torch.nn.functional.silu(h @ w("w_v1").t() + w("b_v1")) @ w("w_v2").t() + w("b_v2")
    torch.testing.assert_close(out.pos, pos + speed * vel)
    empty = layer(torch.zeros(0, 4), torch.zeros(0, 3), no_edges, torch.zeros(0, 3))
    assert empty.h.shape == (0, 4) and empty.pos.shape == (0, 3)


def test_bad_input_messages():
    layer = EGNNConv(4, edge_channels=2, velocity=True)
    h, pos, vel = torch.randn(3, 4), torch.randn(3, 3), torch.randn(3, 3)
    ei, attr = torch.tensor([[0, 1], [1, 2]]), torch.randn(2, 2)
    with pytest.raises(FieldTypeError, match=r"expected field type 4x0e \(dim 4\) on axis -1 of 'h' \(\[num_nodes, 4\]\), "
                                             r"got tensor of shape \[3, 5\] with 5 channels"):
        layer(torch.randn(3, 5), pos, ei, vel, attr)
    with pytest.raises(FieldTypeError, match=r"expected field type points \(dim 3\) on axis -1 of 'pos'"):
        layer(h, torch.randn(3, 2), ei, vel, attr)
    with pytest.raises(FieldTypeError, match=r"expected 3 rows \(one per node\) in 'vel'"):
        layer(h, pos, ei, torch.randn(2, 3), attr)
    with pytest.raises(FieldTypeError, match="on axis -1 of 'edge_attr'"):
        layer(h, pos, ei, vel, torch.randn(2, 3))
    with pytest.raises(FieldTypeError, match="edge_channels=2, got None"):
        layer(h, pos, ei, vel)
    with pytest.raises(ValueError, match="'pos' contains non-finite"):
        layer(h, torch.tensor([[0.0, float("nan"), 0.0]] * 3), ei, vel, attr)
    with pytest.raises(ValueError, match="refers to node 7"):
        layer(h, pos, torch.tensor([[0, 7], [1, 2]]), vel, attr)
    with pytest.raises(ValueError, match="velocity=True, got None"):
        layer(h, pos, ei, None, attr)
    with pytest.raises(ValueError, match=r"residual=True needs the output type to equal the input type, got 4x0e → 5x0e"):
        EGNNConv(4, 5, residual=True)
    assert not EGNNConv(4, 5).residual and EGNNConv(4).residual  # residual=None: when the types agree
    with pytest.raises(ValueError, match="coords_aggregation must be 'sum' or 'mean', got 'max'"):
        EGNNConv(4, coords_aggregation="max")
    with pytest.raises(ValueError, match="aggregation must be"):
        EGNNConv(4, aggregation="max")


@pytest.mark.parametrize("velocity,normalize,coords_agg,message_agg", [
    (True, False, "mean", "sum"), (False, True, "sum", "mean")])
def test_fused_fast_path_for_sorted_regular_graphs(velocity, normalize, coords_agg, message_agg):
    """Edges sorted by target with constant degree (batched complete graphs) take reshape-and-sum
    paths instead of scatters; values and gradients equal the autograd path's."""
    from gdl.nn.graph import fully_connected_graph
    from gdl.nn.graph import edge_structure

    torch.manual_seed(0)
    edge_index = fully_connected_graph(torch.arange(3).repeat_interleave(4))
    assert edge_structure(edge_index, 12, torch.float64).degree == 3
    n = 12
    fused = EGNNConv(5, 5, 7, edge_channels=1, velocity=velocity, normalize=normalize, coords_init_gain=1.0,
                     coords_aggregation=coords_agg, aggregation=message_agg).double()
    plain = copy.deepcopy(fused)
    plain.fused = False
    for pos_grad in (True, False):
        h = torch.randn(n, 5, dtype=torch.float64, requires_grad=True)
        pos = torch.randn(n, 3, dtype=torch.float64, requires_grad=pos_grad)
        vel = torch.randn(n, 3, dtype=torch.float64) if velocity else None
        attr = torch.randn(edge_index.shape[1], 1, dtype=torch.float64)
        results = []
        for layer in (fused, plain):
            out = layer(h, pos, edge_index, vel, attr)
            leaves = [h, layer.flat] + ([pos] if pos_grad else [])
            results.append((out.h, out.pos) + torch.autograd.grad(out.h.sum() + out.pos.square().sum(), leaves))
        for a, b in zip(*results):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("edges", ["random", "complete"])
def test_fused_backward_when_only_positions_are_used(edges):
    """The model's last layer: h' unused (grad None), the backward skips the node update."""
    from gdl.nn.graph import fully_connected_graph

    torch.manual_seed(0)
    n = 10
    edge_index = (fully_connected_graph(torch.arange(2).repeat_interleave(5)) if edges == "complete"
                  else torch.randint(0, n, (2, 30)))
    fused = EGNNConv(4, velocity=True, coords_init_gain=1.0).double()
    plain = copy.deepcopy(fused)
    plain.fused = False
    h = torch.randn(n, 4, dtype=torch.float64, requires_grad=True)
    pos = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    vel = torch.randn(n, 3, dtype=torch.float64)
    grads = [torch.autograd.grad(layer(h, pos, edge_index, vel).pos.square().sum(), [h, pos, layer.flat])
             for layer in (fused, plain)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_fused_backward_sorted_constant_in_degree_uneven_out_degree():
    """Edges sorted by target with constant in-degree but uneven out-degrees (node 0 sends to all):
    the per-node gradient sums take the general bags; values and gradients equal autograd's."""
    from gdl.nn.graph import edge_structure

    torch.manual_seed(0)
    edge_index = torch.tensor([[1, 0, 0, 2, 0, 1, 0, 2], [0, 0, 1, 1, 2, 2, 3, 3]])
    structure = edge_structure(edge_index, 4, torch.float64)
    assert structure.degree == 2 and not structure.cache.get("uniform")
    fused = EGNNConv(5, 5, 7, edge_channels=1, velocity=True, coords_init_gain=1.0).double()
    plain = copy.deepcopy(fused)
    plain.fused = False
    h = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    pos = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    vel, attr = torch.randn(4, 3, dtype=torch.float64), torch.randn(8, 1, dtype=torch.float64)
    results = []
    for layer in (fused, plain):
        out = layer(h, pos, edge_index, vel, attr)
        results.append((out.h, out.pos) + torch.autograd.grad(out.h.sum() + out.pos.square().sum(), [h, pos, layer.flat]))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("velocity,edge_channels", [(True, 2), (False, 0)])
def test_initialisation_is_the_reference_one_block_by_block(velocity, edge_channels):
    """nn.Linear's default U(±1/√fan_in) for every Linear (φ_e's first layer with the fan-in of the
    unsplit [h_i, h_j, d², a] input), φ_x's output layer Xavier-uniform with gain ``coords_init_gain``:
    over repeated ``reset_parameters`` each block fills its interval and never leaves it."""
    torch.manual_seed(0)
    f, hid, out, a, gain = 6, 10, 4, edge_channels, 0.003
    layer = EGNNConv(f, out, hid, edge_channels=a, velocity=velocity, coords_init_gain=gain)
    bounds = {"w_i": (2 * f + 1 + a) ** -0.5, "w_j": (2 * f + 1 + a) ** -0.5, "w_s": (2 * f + 1 + a) ** -0.5,
              "b_1": (2 * f + 1 + a) ** -0.5, "w_2": hid ** -0.5, "b_2": hid ** -0.5, "w_3": hid ** -0.5,
              "b_3": hid ** -0.5, "w_4": gain * (6 / (hid + 1)) ** 0.5,
              "w_n1": (f + hid) ** -0.5, "b_n1": (f + hid) ** -0.5, "w_n2": hid ** -0.5, "b_n2": hid ** -0.5}
    shapes = {"w_i": (hid, f), "w_s": (hid, 1 + a), "w_4": (1, hid), "w_n1": (hid, f + hid), "w_n2": (out, hid),
              "b_n2": (out,)}
    if velocity:
        bounds.update({"w_v1": f ** -0.5, "b_v1": f ** -0.5, "w_v2": hid ** -0.5, "b_v2": hid ** -0.5})
        shapes.update({"w_v1": (hid, f), "w_v2": (1, hid), "b_v2": (1,)})
    assert set(name for name in layer.layout if name != "w_ij") == set(bounds)
    assert layer.flat.numel() == sum(layer.block(name).numel() for name in bounds)
    for name, shape in shapes.items():
        assert tuple(layer.block(name).shape) == shape, name
    largest = {name: 0.0 for name in bounds}
    draws = 60
    for _ in range(draws):
        layer.reset_parameters()
        for name in bounds:
            largest[name] = max(largest[name], float(layer.block(name).detach().abs().max()))
    for name, bound in bounds.items():
        n = layer.block(name).numel() * draws
        assert bound * (1 - 8 / n) < largest[name] <= bound, (name, largest[name], bound)


def test_residual_true_adds_h_and_false_leaves_it_out():
    torch.manual_seed(0)
    h, pos, edge_index = torch.randn(4, 5), torch.randn(4, 3), torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
    with_residual = EGNNConv(5, residual=True)
    without = EGNNConv(5, residual=False)
    without.load_state_dict(with_residual.state_dict())
    assert with_residual.residual is True and without.residual is False and EGNNConv(5).residual is True
    for fused in (True, False):
        with_residual.fused = without.fused = fused
        a, b = with_residual(h, pos, edge_index), without(h, pos, edge_index)
        torch.testing.assert_close(a.h, h + b.h)
        torch.testing.assert_close(a.pos, b.pos)


def test_documented_defaults():
    layer = EGNNConv(6)
    assert (layer.coords_clamp, layer.normalize_eps, layer.coords_aggregation, layer.aggregation) == (100.0, 1.0, "mean", "sum")
    assert (layer.out_channels, layer.hidden_channels, layer.edge_channels) == (6, 6, 0)
    assert not (layer.velocity or layer.normalize or layer.tanh) and layer.fused and layer.dim == 3
    wide = EGNNConv(6, 3, hidden_channels=9)
    assert (wide.in_channels, wide.out_channels, wide.hidden_channels) == (6, 3, 9)
    assert wide.block("w_2").shape == (9, 9) and wide.block("w_n2").shape == (3, 9)


def test_input_errors_name_the_argument_and_the_fix():
    layer = EGNNConv(4)
    h, pos, edge_index = torch.randn(3, 4), torch.randn(3, 3), torch.tensor([[0, 1], [1, 2]])
    with pytest.raises(ValueError, match=r"'vel': this layer was built with velocity=False; build it with velocity=True"):
        layer(h, pos, edge_index, torch.randn(3, 3))
    with pytest.raises(TypeError, match=r"module parameters are float32 but input 'h' is float64"):
        layer(h.double(), pos, edge_index)
    with pytest.raises(TypeError, match=r"module parameters are float32 but input 'pos' is float64"):
        layer(h, pos.double(), edge_index)


def test_non_finite_output_positions_are_diagnosed_by_their_cause():
    from gdl.nn.graph._egnn_conv import check_finite_positions

    finite, bad = torch.ones(2, 3), torch.full((2, 3), float("nan"))
    check_finite_positions(finite, finite, finite)  # finite output: nothing to say
    for pos, vel in [(bad, None), (bad, finite), (finite, bad), (finite * float("inf"), finite)]:
        with pytest.raises(FloatingPointError, match="^EGNNConv: the input positions or velocities contain NaN or inf$"):
            check_finite_positions(bad, pos, vel)
    with pytest.raises(FloatingPointError) as info:
        check_finite_positions(bad, 3e20 * finite, 2.5 * finite, where="EGNN")
    message = str(info.value)
    assert message.startswith("EGNN: the output positions are not finite although the inputs are")
    assert "|x| = 3.0e+20 (velocities 2.5e+00)" in message and "up to 3.6e+41" in message
    assert "overflow torch.float32 (max 3.4e+38)" in message
    with pytest.raises(FloatingPointError, match=r"\(velocities 0.0e\+00\)"):
        check_finite_positions(bad, 3e20 * finite)


def test_overflowing_layer_names_the_coordinate_and_velocity_scales():
    from gdl.nn.graph import fully_connected_graph

    torch.manual_seed(0)
    layer = EGNNConv(4, velocity=True, coords_init_gain=1.0)
    h, pos, vel = torch.randn(5, 4), torch.randn(5, 3), 3.0 * torch.randn(5, 3)
    edge_index = fully_connected_graph(5)
    assert torch.isfinite(layer(h, pos * 1e18, edge_index, vel).pos).all()  # large but representable
    for fused in (True, False):
        layer.fused = fused
        with pytest.raises(FloatingPointError) as info:
            layer(h, pos * 1e20, edge_index, vel)
        scale, speed = float((pos * 1e20).abs().max()), float(vel.abs().max())
        assert f"|x| = {scale:.1e} (velocities {speed:.1e})" in str(info.value)


def test_propagate_ignores_velocities_on_a_layer_without_them():
    """Models call ``propagate`` on checked batches: a batch's velocities reach every layer, and a layer
    built with velocity=False must not use them (both paths)."""
    from gdl.nn.graph import edge_structure

    torch.manual_seed(0)
    layer = EGNNConv(4, velocity=False, coords_init_gain=1.0).double()
    h, pos, vel = (torch.randn(5, c, dtype=torch.float64) for c in (4, 3, 3))
    edges = edge_structure(torch.tensor([[0, 1, 2, 3, 4, 0], [1, 2, 3, 4, 0, 2]]), 5, torch.float64)
    for fused in (True, False):
        layer.fused = fused
        a, b = layer.propagate(h, pos, edges, vel), layer.propagate(h, pos, edges)
        assert torch.equal(a.h, b.h) and torch.equal(a.pos, b.pos)


@pytest.mark.parametrize("normalize", [False, True])
def test_fused_fast_path_with_the_clamp_acting(normalize):
    """Batched complete graphs (sorted, constant degree) with coordinate messages beyond the clamp: the
    fused backward masks the clamped entries on the reshape path; values and gradients equal autograd's."""
    from gdl.nn.graph import edge_structure, fully_connected_graph

    torch.manual_seed(0)
    edge_index = fully_connected_graph(torch.arange(3).repeat_interleave(4))
    assert edge_structure(edge_index, 12, torch.float64).degree == 3
    fused = EGNNConv(5, 5, 7, velocity=True, normalize=normalize, coords_init_gain=1.0, coords_clamp=0.05).double()
    plain = copy.deepcopy(fused)
    plain.fused = False
    h = torch.randn(12, 5, dtype=torch.float64, requires_grad=True)
    pos = torch.randn(12, 3, dtype=torch.float64, requires_grad=True)
    vel = torch.randn(12, 3, dtype=torch.float64)
    results = []
    for layer in (fused, plain):
        out = layer(h, pos, edge_index, vel)
        results.append((out.h, out.pos) + torch.autograd.grad(out.h.sum() + out.pos.square().sum(), [h, pos, layer.flat]))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    unclamped = copy.deepcopy(plain)
    unclamped.coords_clamp = None
    assert not torch.allclose(unclamped(h, pos, edge_index, vel).pos, results[1][1])  # the clamp acted
