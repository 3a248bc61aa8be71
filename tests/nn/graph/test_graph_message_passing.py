"""The message-passing skeleton every convolution shares: aggregation, residual and option spelling."""
import inspect

import pytest
import torch

from gdl.nn.graph import EGNNConv, GINConv, SteerableConv, TensorFieldConv, aggregate, edge_structure


def test_aggregate_sum_and_mean_at_the_target():
    edge_index = torch.tensor([[1, 2, 0, 0], [0, 0, 1, 2]])  # node 3 receives nothing
    edges = edge_structure(edge_index, 4, torch.float64, fused_layout=False)
    messages = torch.tensor([[1.0], [3.0], [5.0], [7.0]], dtype=torch.float64)
    torch.testing.assert_close(aggregate(messages, edges, "sum"), torch.tensor([[4.0], [5.0], [7.0], [0.0]],
                                                                               dtype=torch.float64))
    torch.testing.assert_close(aggregate(messages, edges, "mean"), torch.tensor([[2.0], [5.0], [7.0], [0.0]],
                                                                                dtype=torch.float64))
    full = edge_structure(edge_index, 4, torch.float64)  # EGNN's fused layout: same source/target/inv_deg
    assert torch.equal(full.inv_deg, edges.inv_deg) and full.num_nodes == edges.num_nodes == 4


@pytest.mark.parametrize("layer", [EGNNConv, TensorFieldConv, SteerableConv, GINConv])
def test_the_same_option_names(layer):
    names = inspect.signature(layer.__init__).parameters
    assert "aggregation" in names
    assert layer is GINConv or "residual" in names and names["residual"].default is None
    with pytest.raises(ValueError, match="aggregation must be 'sum' or 'mean', got 'max'"):
        layer(*(("4x0e", "4x0e") if layer in (TensorFieldConv, SteerableConv) else (4,)), aggregation="max")


def test_residual_none_true_false():
    assert TensorFieldConv("4x0e+1x1o", "4x0e+1x1o").residual and not TensorFieldConv("4x0e", "8x0e").residual
    assert not TensorFieldConv("4x0e", "4x0e", residual=False).residual
    with pytest.raises(ValueError, match=r"residual=True needs the output type to equal the input type, got 4x0e → 8x0e"):
        TensorFieldConv("4x0e", "8x0e", residual=True)
    with pytest.raises(ValueError, match=r"got 4x0e\+1x1o → 8x0e"):
        SteerableConv("4x0e+1x1o", "8x0e+1x1o", "8x0e", residual=True)
    torch.manual_seed(0)
    layer = SteerableConv("4x0e", "8x0e", residual=False)
    h, pos, node_attr = torch.randn(3, 4), torch.randn(3, 3), torch.randn(3, 4)
    edge_index = torch.tensor([[0, 1, 2], [1, 2, 0]])
    with_residual = SteerableConv("4x0e", "8x0e")
    with_residual.load_state_dict(layer.state_dict())
    torch.testing.assert_close(with_residual(h, pos, edge_index, node_attr), h + layer(h, pos, edge_index, node_attr))


def test_mean_aggregation_is_the_sum_over_the_in_degree():
    torch.manual_seed(0)
    summed = GINConv(3, 3, mlp=torch.nn.Identity(), eps=0.0, train_eps=False)
    mean = GINConv(3, 3, mlp=torch.nn.Identity(), eps=0.0, train_eps=False, aggregation="mean")
    h, edge_index = torch.randn(3, 3), torch.tensor([[1, 2, 0], [0, 0, 1]])
    torch.testing.assert_close(mean(h, edge_index) - h, (summed(h, edge_index) - h) / torch.tensor([[2.0], [1.0], [1.0]]))
