"""TensorFieldConv and SteerableConv: E(3) (with parity) and permutation equivariance, bad input."""
import pytest
import torch
from tests.helpers.graph import F32_RTOL, F64_RTOL, default_dtype
from e3nn import o3

from gdl.groups import FieldTypeError
from gdl.nn.graph import SteerableConv, TensorFieldConv
from gdl.testing import check_equivariance


def random_irreps(irreps, n, dtype, seed=0):
    return torch.randn(n, o3.Irreps(irreps).dim, generator=torch.Generator().manual_seed(seed)).to(dtype)


def node_attributes(pos, vel, edge_index, lmax=1):
    """ã_i = mean_j Y(x_j − x_i) + Y(v_i), as SEGNN."""
    from gdl.nn.graph import edge_spherical_harmonics

    irreps = o3.Irreps.spherical_harmonics(lmax)
    source, target = edge_index
    sh = edge_spherical_harmonics(irreps, pos[source] - pos[target], normalization="integral")
    count = torch.bincount(target, minlength=pos.shape[0]).clamp(min=1).unsqueeze(1).to(pos.dtype)
    return torch.zeros(pos.shape[0], irreps.dim, dtype=pos.dtype).index_add_(0, target, sh) / count + \
        edge_spherical_harmonics(irreps, vel, normalization="integral")


@pytest.mark.parametrize("dtype,rtol", [(torch.float64, F64_RTOL), (torch.float32, F32_RTOL)])
def test_tensor_field_conv_equivariant(nbody_batch, dtype, rtol):
    torch.manual_seed(0)
    with default_dtype(dtype):
        layer = TensorFieldConv("8x0e+4x1o+2x1e", "8x0e+2x0o+4x1o+2x1e+2x2e", lmax=2, edge_channels=1)
    batch = nbody_batch(4, dtype)
    inputs = {"h": random_irreps(layer.irreps_in, batch.num_nodes, dtype), "pos": batch.pos,
              "edge_index": batch.edge_index, "edge_attr": batch.edge_attr}
    report = check_equivariance(layer, inputs, rtol=rtol, n_random=4, n_grid=2)
    assert report.passed, report.table()
    assert set(report.symmetries) == {"E(3)", "node permutation"}
    assert layer.out_type["h"].e3nn_irreps == o3.Irreps("8x0e+2x0o+4x1o+2x1e+2x2e")


@pytest.mark.parametrize("dtype,rtol", [(torch.float64, F64_RTOL), (torch.float32, F32_RTOL)])
def test_steerable_conv_equivariant(nbody_batch, dtype, rtol):
    torch.manual_seed(0)
    with default_dtype(dtype):
        layer = SteerableConv("4x0e+4x1o+1x1e", "8x0e+4x1o+2x1e", lmax_attr=1, edge_channels=1)
    batch = nbody_batch(4, dtype)
    inputs = {"h": random_irreps(layer.irreps_in, batch.num_nodes, dtype), "pos": batch.pos,
              "edge_index": batch.edge_index, "node_attr": node_attributes(batch.pos, batch.vel, batch.edge_index),
              "edge_attr": batch.edge_attr}
    report = check_equivariance(layer, inputs, rtol=rtol, n_random=4, n_grid=2)
    assert report.passed, report.table()
    assert set(report.symmetries) == {"E(3)", "node permutation"}


def test_parity_matters():
    """A pseudo-vector (1e) input mistyped as a vector (1o) must be flagged under reflections."""
    torch.manual_seed(0)
    with default_dtype(torch.float64):
        layer = TensorFieldConv("2x0e+2x1e", "2x0e+2x1o")
        mistyped = TensorFieldConv("2x0e+2x1e", "2x0e+2x1o")
    mistyped.load_state_dict(layer.state_dict())
    from gdl.groups import Euclidean, FieldType

    E = Euclidean(3)
    mistyped.in_type = {"h": FieldType.irreps(E, "2x0e+2x1o"), "pos": FieldType(E, E.standard_rep())}
    pos = torch.randn(6, 3, dtype=torch.float64)
    inputs = {"h": torch.randn(6, 8, dtype=torch.float64), "pos": pos,
              "edge_index": torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]])}
    assert check_equivariance(layer, inputs, n_random=2, n_grid=1).passed
    assert not check_equivariance(mistyped, inputs, n_random=2, n_grid=1).passed


@pytest.mark.parametrize("make", [
    lambda: TensorFieldConv("4x0e+2x1o", "4x0e+2x1o"),
    lambda: SteerableConv("4x0e+2x1o", "4x0e+2x1o"),
])
def test_coincident_points_single_node_and_empty(make):
    torch.manual_seed(0)
    with default_dtype(torch.float64):
        layer = make()
    kwargs = lambda n, pos: {"node_attr": torch.randn(n, 4, dtype=torch.float64)} if isinstance(layer, SteerableConv) else {}
    pos = torch.zeros(3, 3, dtype=torch.float64, requires_grad=True)
    h = torch.randn(3, 10, dtype=torch.float64, requires_grad=True)
    out = layer(h, pos, edge_index=torch.tensor([[0, 1, 2], [1, 2, 0]]), **kwargs(3, pos))
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(pos.grad).all() and torch.isfinite(h.grad).all()
    single = layer(torch.randn(1, 10, dtype=torch.float64), torch.randn(1, 3, dtype=torch.float64),
                   torch.zeros(2, 0, dtype=torch.long), **kwargs(1, None))
    assert single.shape == (1, 10) and torch.isfinite(single).all()
    empty = layer(torch.zeros(0, 10, dtype=torch.float64), torch.zeros(0, 3, dtype=torch.float64),
                  torch.zeros(2, 0, dtype=torch.long), **kwargs(0, None))
    assert empty.shape == (0, 10)


def test_bad_input_messages():
    layer = TensorFieldConv("4x0e+2x1o", "4x0e+2x1o", edge_channels=1)
    ei = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(FieldTypeError, match=r"expected field type 4x0e\+2x1o \(dim 10\) on axis -1 of 'h' "
                                             r"\(\[num_nodes, 10\]\), got tensor of shape \[2, 9\] with 9 channels"):
        layer(torch.randn(2, 9), torch.randn(2, 3), ei, torch.randn(2, 1))
    with pytest.raises(ValueError, match="non-finite"):
        layer(torch.randn(2, 10), torch.tensor([[0.0, 0, 0], [float("nan"), 0, 0]]), ei, torch.randn(2, 1))
    with pytest.raises(FieldTypeError, match="edge_attr"):
        layer(torch.randn(2, 10), torch.randn(2, 3), ei)
    steer = SteerableConv("4x0e+2x1o", "8x0e+2x1o")
    with pytest.raises(FieldTypeError, match="expected field type 1x0e\\+1x1o \\(dim 4\\) on axis -1 of 'node_attr'"):
        steer(torch.randn(2, 10), torch.randn(2, 3), ei, torch.randn(2, 3))
    with pytest.raises(ValueError, match="cannot read"):
        TensorFieldConv("4x0q", "4x0e")
    with pytest.raises(ValueError, match="scalars \\(l = 0\\) first"):
        TensorFieldConv("4x0e", "2x1o+4x0e")
