"""The fused SteerableConv (one autograd Function, hand-written backward) against the autograd path.

Float64: values and the gradients of every input and parameter equal to 1e-12; equivariance of
the fused layer through gdl.testing in float64 and float32; once differentiable (a clear error on
a second derivative), the autograd path twice; SEGNN's state_dict unchanged by the switch.
"""
import copy

import pytest
import torch
from e3nn import o3
from tests.helpers.graph import F32_RTOL, F64_RTOL, default_dtype

from gdl.models import SEGNN
from gdl.nn.graph import SteerableConv, edge_spherical_harmonics, fully_connected_graph
from gdl.testing import check_equivariance

CONFIGS = [  # (irreps_in, irreps_hidden, irreps_out, lmax_attr, edge_channels, aggregation)
    ("4x0e+4x1o", "4x0e+4x1o", None, 1, 1, "sum"),  # SEGNN's N-body layer, narrow
    ("4x0e+4x1o", "3x0e+2x1o+2x2e", "4x0e+4x1o", 2, 2, "mean"),
    ("2x0e+2x1o+1x1e", "3x0e+2x0o+2x1o+2x1e+1x1o", "2x1o", 2, 0, "sum"),  # odd scalars, gates not contiguous
    ("3x1o", "4x0e+2x1o", "2x0e", 1, 1, "sum"),  # no scalar input, scalar output
    ("2x0e+1x1o+1x2e", "2x0e+1x1o+1x2e+1x3o", "2x0e+1x1o+1x2e", 3, 1, "mean"),  # l up to 3
]


def random_graph(num_nodes, seed):
    """A random directed graph with repeated targets, a node without edges, and unsorted edges."""
    g = torch.Generator().manual_seed(seed)
    source = torch.randint(0, num_nodes - 1, (3 * num_nodes,), generator=g)
    target = torch.randint(0, num_nodes - 1, (3 * num_nodes,), generator=g)
    keep = source != target
    return torch.stack([source[keep], target[keep]])


def inputs(conv, edge_index, num_nodes, seed=0):
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64).requires_grad_()
    return {"h": rand(num_nodes, conv.irreps_in.dim), "pos": rand(num_nodes, 3), "edge_index": edge_index,
            "node_attr": rand(num_nodes, conv.irreps_node_attr.dim),
            "edge_attr": rand(edge_index.shape[1], conv.edge_channels) if conv.edge_channels else None}


def values_and_gradients(conv, x):
    out = conv(**x)
    leaves = [v for k, v in x.items() if k != "edge_index" and v is not None] + list(conv.parameters())
    weight = torch.randn(out.shape, generator=torch.Generator().manual_seed(1), dtype=out.dtype)
    return out, torch.autograd.grad((out * weight).sum(), leaves, allow_unused=True)


CASES = [(config, "complete") for config in CONFIGS] + [(config, "random") for config in CONFIGS[:2]]


@pytest.mark.parametrize("config,graph", CASES, ids=lambda c: c if isinstance(c, str) else f"{c[1]}-l{c[3]}-{c[5]}")
def test_fused_equals_autograd_float64(config, graph):
    irreps_in, hidden, irreps_out, lmax, channels, aggregation = config
    torch.manual_seed(0)
    with default_dtype(torch.float64):
        fused = SteerableConv(irreps_in, hidden, irreps_out, lmax_attr=lmax, edge_channels=channels,
                              aggregation=aggregation)
    plain = copy.deepcopy(fused)
    plain.fused = False
    assert fused.fused and fused.fused_plan is not None
    edge_index = fully_connected_graph(5) if graph == "complete" else random_graph(7, seed=3)
    num_nodes = 5 if graph == "complete" else 7
    x = inputs(fused, edge_index, num_nodes)
    out_f, grads_f = values_and_gradients(fused, x)
    out_p, grads_p = values_and_gradients(plain, x)
    torch.testing.assert_close(out_f, out_p, rtol=0, atol=1e-12)
    assert out_p.abs().max() > 1e-3  # a layer that outputs zeros would pass trivially
    for a, b in zip(grads_f, grads_p):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype,rtol", [(torch.float64, F64_RTOL), (torch.float32, F32_RTOL)])
def test_fused_layer_equivariant(nbody_batch, dtype, rtol):
    torch.manual_seed(0)
    with default_dtype(dtype):
        layer = SteerableConv("4x0e+4x1o+1x1e", "8x0e+2x0o+4x1o+2x1e", lmax_attr=2, edge_channels=1)
    assert layer.fused and layer.fused_plan is not None
    batch = nbody_batch(3, dtype)
    source, target = batch.edge_index
    irreps = o3.Irreps.spherical_harmonics(2)
    sh = edge_spherical_harmonics(irreps, batch.pos[source] - batch.pos[target], normalization="integral")
    node_attr = torch.zeros(batch.num_nodes, irreps.dim, dtype=dtype).index_add_(0, target, sh) / 4 + \
        edge_spherical_harmonics(irreps, batch.vel, normalization="integral")
    h = torch.randn(batch.num_nodes, layer.irreps_in.dim, generator=torch.Generator().manual_seed(2)).to(dtype)
    report = check_equivariance(layer, {"h": h, "pos": batch.pos, "edge_index": batch.edge_index,
                                        "node_attr": node_attr, "edge_attr": batch.edge_attr},
                                rtol=rtol, n_random=3, n_grid=1)
    assert report.passed, report.table()
    assert set(report.symmetries) == {"E(3)", "node permutation"}


def test_fused_is_once_differentiable_and_the_autograd_path_twice():
    torch.manual_seed(0)
    with default_dtype(torch.float64):
        layer = SteerableConv("2x0e+2x1o", "2x0e+2x1o", lmax_attr=1, edge_channels=0)
    x = inputs(layer, fully_connected_graph(4), 4)
    (g_pos,) = torch.autograd.grad(layer(**x).pow(2).sum(), x["pos"], create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        g_pos.sum().backward()  # reaches the fused backward's DelayedError node
    layer.fused = False
    (g_pos,) = torch.autograd.grad(layer(**x).pow(2).sum(), x["pos"], create_graph=True)
    (g_h,) = torch.autograd.grad(g_pos.pow(2).sum(), x["h"])
    assert torch.isfinite(g_h).all() and g_h.abs().max() > 0


def test_segnn_fused_and_autograd_share_weights_and_state_dict():
    torch.manual_seed(0)
    with default_dtype(torch.float64):
        fused = SEGNN(irreps_hidden="4x0e+4x1o", num_layers=1)
        plain = SEGNN(irreps_hidden="4x0e+4x1o", num_layers=1, fused=False)
    assert list(fused.state_dict()) == list(plain.state_dict())
    plain.load_state_dict(fused.state_dict())  # a checkpoint of one loads into the other
    assert all(layer.fused for layer in fused.layers) and not any(layer.fused for layer in plain.layers)
    from torch_geometric.data import Data

    g = torch.Generator().manual_seed(0)
    batch = Data(pos=torch.randn(5, 3, generator=g, dtype=torch.float64),
                 vel=torch.randn(5, 3, generator=g, dtype=torch.float64),
                 charges=torch.randint(0, 2, (5, 1), generator=g).to(torch.float64) * 2 - 1,
                 edge_index=fully_connected_graph(5))
    out_f, out_p = fused(batch), plain(batch)
    torch.testing.assert_close(out_f, out_p, rtol=0, atol=1e-12)
    grads_f = torch.autograd.grad(out_f.pow(2).sum(), list(fused.parameters()))
    grads_p = torch.autograd.grad(out_p.pow(2).sum(), list(plain.parameters()))
    for a, b in zip(grads_f, grads_p):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
