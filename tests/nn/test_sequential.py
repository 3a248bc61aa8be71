"""gdl.nn.Sequential: connections type-checked at construction, tensors threaded through at run time."""
import pytest
import torch
from e3nn import o3
from torch import nn

from gdl.groups import Euclidean, FieldType, FieldTypeError
from gdl.nn import Sequential
from gdl.nn.graph import EGNNConv, GINConv, SteerableConv, TensorFieldConv, fully_connected_graph
from gdl.testing import check_equivariance


def test_a_mismatch_fails_at_construction_naming_both_types():
    with pytest.raises(FieldTypeError) as info:
        Sequential(EGNNConv(8, 16), TensorFieldConv("8x0e+4x1o", "8x0e+4x1o"))
    assert str(info.value) == ("Sequential: layer 0 (EGNNConv) outputs 'h' of type 16x0e (dim 16) of E(3), but layer 1 "
                               "(TensorFieldConv) expects 'h' of type 8x0e+4x1o (dim 20) of E(3)")
    with pytest.raises(FieldTypeError, match=r"layer 1 \(TensorFieldConv\) outputs 'h' of type 8x0e\+4x1o \(dim 20\) "
                                             r"of E\(3\), but layer 2 \(SteerableConv\) expects 'h' of type 8x0e\+4x1e"):
        Sequential(EGNNConv(8, 16), TensorFieldConv("16x0e", "8x0e+4x1o"), SteerableConv("8x0e+4x1e", "8x0e+4x1e"))
    with pytest.raises(FieldTypeError, match=r"outputs 'h' of type 4x trivial \(dim 4\) of S1, but layer 1 \(EGNNConv\) "
                                             r"expects 'h' of type 4x0e \(dim 4\) of E\(3\)"):
        Sequential(GINConv(3, 4), EGNNConv(4))  # node features of S_n are not E(3) scalars


def test_layers_without_types_and_missing_fields_are_refused():
    with pytest.raises(TypeError, match="ReLU declares no in_type/out_type"):
        Sequential(GINConv(4), nn.ReLU(), GINConv(4))
    with pytest.raises(FieldTypeError, match=r"layer 1 \(EGNNConv\) has no field 'x' in its in_type \(it declares \['h', 'pos'\]\)"):
        Sequential(o3.Linear("4x0e", "4x0e"), EGNNConv(4), field="x")
    with pytest.raises(ValueError, match="at least one layer"):
        Sequential()


def test_stack_of_egnn_tfn_steerable_runs_and_is_equivariant():
    """EGNNConv's (h, pos) output feeds the next layers' h and pos; node_attr reaches only SteerableConv."""
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        net = Sequential(EGNNConv(6, 16), TensorFieldConv("16x0e", "8x0e+4x1o"), o3.Linear("8x0e+4x1o", "8x0e+4x1o"),
                         SteerableConv(FieldType.irreps(Euclidean(3), "8x0e+4x1o"), "8x0e+4x1o"))
    finally:
        torch.set_default_dtype(previous)
    assert net.in_type["h"] == net[0].in_type["h"] and net.out_type["h"] == net[-1].out_type["h"] and len(net) == 4
    batch = torch.arange(2).repeat_interleave(5)
    h, pos = torch.randn(10, 6, dtype=torch.float64), torch.randn(10, 3, dtype=torch.float64)
    edge_index, node_attr = fully_connected_graph(batch), torch.randn(10, 4, dtype=torch.float64)
    out = net(h, pos=pos, edge_index=edge_index, node_attr=node_attr)
    first = net[0](h, pos, edge_index)
    by_hand = net[3](net[2](net[1](first.h, first.pos, edge_index)), first.pos, edge_index, node_attr)
    torch.testing.assert_close(out, by_hand)
    node_attr_type = FieldType.irreps(Euclidean(3), "1x0e+1x1o")
    report = check_equivariance(net, dict(h=h, pos=pos, edge_index=edge_index, node_attr=node_attr),
                                in_type={**net.in_type, "node_attr": node_attr_type}, n_random=2, n_grid=1)
    assert report.passed, report.table()


def test_gin_stack_by_type():
    net = Sequential(GINConv(3, 8), GINConv(8), GINConv(8, 2))
    h, edge_index = torch.randn(6, 3), fully_connected_graph(6)
    assert net.eval()(h, edge_index=edge_index).shape == (6, 2)
