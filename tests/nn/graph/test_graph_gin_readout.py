"""GINConv (permutation-equivariant) and GraphReadout (permutation-invariant)."""
import pytest
import torch
from torch import nn

from gdl.groups import FieldTypeError
from gdl.nn import DtypeMismatchError
from gdl.nn.graph import GINConv, GraphReadout, fully_connected_graph, knn_graph
from gdl.testing import NodePermutation, check_equivariance


def random_graphs(num_graphs=4, nodes=6, channels=5, dtype=torch.float64):
    gen = torch.Generator().manual_seed(0)
    batch = torch.arange(num_graphs).repeat_interleave(nodes)
    pos = torch.randn(num_graphs * nodes, 3, generator=gen)
    edge_index = knn_graph(pos, 2, batch=batch)  # directed, irregular degrees
    return torch.randn(num_graphs * nodes, channels, generator=gen).to(dtype), edge_index, batch


def test_gin_matches_formula_and_is_permutation_equivariant():
    h, edge_index, batch = random_graphs()
    conv = GINConv(5, 7, mlp=nn.Linear(5, 7), eps=0.3).double()
    aggregated = torch.zeros_like(h).index_add_(0, edge_index[1], h[edge_index[0]])
    torch.testing.assert_close(conv(h, edge_index), conv.mlp(1.3 * h + aggregated))
    report = check_equivariance(conv, {"h": h, "edge_index": edge_index}, n_random=4, n_grid=2)
    assert report.passed and report.symmetries == ["node permutation"], report.table()


def test_default_gin_in_eval_mode_is_equivariant():
    h, edge_index, _ = random_graphs()
    conv = GINConv(5, 8).double().eval()
    assert conv(h, edge_index).shape == (h.shape[0], 8)
    assert check_equivariance(conv, {"h": h, "edge_index": edge_index}, n_random=4, n_grid=2).passed


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
def test_readout_values_and_invariance(reduce):
    h, edge_index, batch = random_graphs()
    readout = GraphReadout(5, reduce)
    out = readout(h, batch)
    per_graph = h.view(4, 6, 5)
    expected = {"sum": per_graph.sum(1), "mean": per_graph.mean(1), "max": per_graph.amax(1)}[reduce]
    torch.testing.assert_close(out, expected)
    report = check_equivariance(readout, {"h": h, "batch": batch}, symmetry=NodePermutation(), n_random=4, n_grid=2)
    assert report.passed and report.symmetries == ["node permutation"], report.table()


def test_readout_empty_graph_and_bad_batch():
    readout = GraphReadout(3, "mean")
    out = readout(torch.ones(2, 3), torch.tensor([0, 2]), num_graphs=3)  # graph 1 has no nodes
    torch.testing.assert_close(out, torch.tensor([[1.0] * 3, [0.0] * 3, [1.0] * 3]))
    assert readout(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)).shape == (0, 3)
    with pytest.raises(ValueError, match=r"expected an integer tensor of shape \[2\] \(one graph id per node\) for 'batch', got \[1\] int64"):
        readout(torch.ones(2, 3), torch.tensor([0]))
    with pytest.raises(FieldTypeError, match=r"expected field type 3x trivial \(dim 3\) on axis -1 of 'h' "
                                             r"\(\[num_nodes, 3\]\), got tensor of shape \[2, 4\] with 4 channels"):
        readout(torch.ones(2, 4), torch.tensor([0, 0]))
    with pytest.raises(ValueError, match="reduce must be"):
        GraphReadout(3, "median")


def test_gin_bad_input():
    conv = GINConv(4)
    with pytest.raises(FieldTypeError, match=r"on axis -1 of 'h' \(\[num_nodes, 4\]\), got tensor of shape \[3, 5\]"):
        conv(torch.randn(3, 5), fully_connected_graph(3))
    with pytest.raises(DtypeMismatchError, match="module parameters are float32 but input 'h' is float64"):
        conv(torch.randn(3, 4, dtype=torch.float64), fully_connected_graph(3))
    with pytest.raises(ValueError, match="non-finite"):
        conv(torch.full((3, 4), float("nan")), fully_connected_graph(3))
    with pytest.raises(ValueError, match="refers to node 5"):
        conv(torch.randn(3, 4), torch.tensor([[0], [5]]))
