"""Layers take their types as FieldType, e3nn Irreps or a string; one input check, one message format."""
import pytest
import torch
from e3nn import o3

from gdl.groups import Euclidean, FieldType, FieldTypeError
from gdl.nn import (
    DeviceMismatchError,
    DtypeMismatchError,
    as_channels,
    as_irreps,
    check_field,
    check_matches_module,
    same_type,
)
from gdl.nn.graph import (
    EGNNConv,
    GINConv,
    GraphReadout,
    O3TensorProduct,
    SteerableConv,
    TensorFieldConv,
    fully_connected_graph,
    node_feature_type,
)

E = Euclidean(3)


@pytest.mark.parametrize("spelling", [
    lambda: "8x0e+4x1o",
    lambda: o3.Irreps("8x0e+4x1o"),
    lambda: FieldType.irreps(E, "8x0e+4x1o"),
    lambda: TensorFieldConv("4x0e", "8x0e+4x1o").out_type["h"],
], ids=["string", "Irreps", "FieldType", "out_type"])
def test_irreps_layers_accept_every_spelling(spelling):
    t = spelling()
    tfn = TensorFieldConv(t, "4x0e+2x1o")
    segnn = SteerableConv(t, "8x0e+4x1o", t)
    tp = O3TensorProduct(t, t, "1x0e+1x1o")
    for layer in (tfn, segnn):
        assert layer.irreps_in == o3.Irreps("8x0e+4x1o") and layer.in_type["h"] == FieldType.irreps(E, "8x0e+4x1o")
    assert tp.irreps_in == tp.irreps_out == o3.Irreps("8x0e+4x1o")


def test_layers_chain_by_type():
    """layer2 is built from layer1.out_type["h"] and runs on layer1's output."""
    torch.manual_seed(0)
    egnn = EGNNConv(6, 16)
    tfn = TensorFieldConv(egnn.out_type["h"], "8x0e+4x1o")  # 16 invariant scalars = 16x0e
    steer = SteerableConv(tfn.out_type["h"], "8x0e+4x1o", tfn.out_type["h"])
    tfn_again = TensorFieldConv(o3.Irreps(str(steer.out_type["h"].e3nn_irreps)), "8x0e+4x1o")
    gin = GINConv(6, 10)
    gin_next = GINConv(gin.out_type["h"], 4)
    readout = GraphReadout(gin_next.out_type["h"])
    pos, edge_index = torch.randn(5, 3), fully_connected_graph(5)
    h = egnn(torch.randn(5, 6), pos, edge_index).h
    h = tfn(h, pos, edge_index)
    node_attr = torch.randn(5, 4)
    h = tfn_again(steer(h, pos, edge_index, node_attr), pos, edge_index)
    assert h.shape == (5, 20)
    g = readout(gin_next(gin(torch.randn(5, 6), edge_index), edge_index))
    assert g.shape == (1, 4)
    assert EGNNConv("16x0e").in_channels == EGNNConv(FieldType(E, E.trivial_rep(16))).in_channels == 16


def test_scalar_layers_refuse_non_scalar_types():
    with pytest.raises(ValueError, match=r"in_channels: this layer's features are invariant scalars \(0e\); got irreps 4x1o"):
        EGNNConv("4x1o")
    with pytest.raises(ValueError, match="in_channels: this layer's features are invariant scalars; got field type"):
        GINConv(FieldType(E, E.vector_rep()))
    with pytest.raises(ValueError, match="irreps_in: cannot read '4x0q' as e3nn irreps"):
        TensorFieldConv("4x0q", "4x0e")
    with pytest.raises(ValueError, match="irreps_in: field type .* is not made of O\\(3\\) irreps"):
        TensorFieldConv(FieldType(E, E.standard_rep()), "4x0e")
    with pytest.raises(ValueError, match="got the integer 4"):
        as_irreps(4, "irreps_in")
    assert as_channels(FieldType.irreps(E, "3x0e")) == 3 and as_irreps(FieldType(E, E.trivial_rep(2))) == o3.Irreps("2x0e")


def test_same_type_compares_values():
    assert same_type(FieldType(E, E.trivial_rep(4)), FieldType.irreps(E, "4x0e"))
    assert same_type(FieldType.irreps(E, "2x0e+2x0e+1x1o"), "4x0e+1x1o")
    assert not same_type(FieldType.irreps(E, "4x0e+1x1o"), "4x0e+1x1e")
    assert not same_type(FieldType(E, E.trivial_rep(4)), node_feature_type(4))  # E(3) scalars vs S_n features
    assert same_type(FieldType(E, E.standard_rep()), FieldType(E, E.standard_rep()))


def test_one_message_format():
    t = FieldType.irreps(E, "8x0e+4x1o")
    with pytest.raises(FieldTypeError) as info:
        check_field("h", torch.randn(5, 16), t)
    assert str(info.value) == ("expected field type 8x0e+4x1o (dim 20) on axis -1 of 'h' ([num_nodes, 20]), "
                               "got tensor of shape [5, 16] with 16 channels")
    with pytest.raises(FieldTypeError, match=r"^expected 6 rows \(one per node\) in 'h', got tensor of shape \[5, 20\]$"):
        check_field("h", torch.randn(5, 20), t, rows=6)
    with pytest.raises(FieldTypeError, match="^expected a floating-point tensor for 'h', got dtype int64$"):
        check_field("h", torch.zeros(5, 20, dtype=torch.long), t)
    with pytest.raises(ValueError, match="^'h' contains non-finite values"):
        check_field("h", torch.full((5, 20), float("inf")), t)
    with pytest.raises(FieldTypeError, match="^expected a tensor of field type 8x0e\\+4x1o \\(dim 20\\) for 'h', got list$"):
        check_field("h", [1.0], t)
    check_field("h", torch.randn(5, 20), "8x0e+4x1o", rows=5)  # strings and Irreps work as the type too


@pytest.mark.parametrize("make,inputs", [
    (lambda: EGNNConv(4), lambda d: (torch.randn(3, 4, dtype=d), torch.randn(3, 3, dtype=d), fully_connected_graph(3))),
    (lambda: EGNNConv(4, fused=False), lambda d: (torch.randn(3, 4, dtype=d), torch.randn(3, 3, dtype=d),
                                                  fully_connected_graph(3))),
    (lambda: TensorFieldConv("4x0e", "4x0e"),
     lambda d: (torch.randn(3, 4, dtype=d), torch.randn(3, 3, dtype=d), fully_connected_graph(3))),
    (lambda: SteerableConv("4x0e", "4x0e"),
     lambda d: (torch.randn(3, 4, dtype=d), torch.randn(3, 3, dtype=d), fully_connected_graph(3), torch.randn(3, 4, dtype=d))),
    (lambda: GINConv(4), lambda d: (torch.randn(3, 4, dtype=d), fully_connected_graph(3))),
], ids=["EGNNConv", "EGNNConv-autograd", "TensorFieldConv", "SteerableConv", "GINConv"])
def test_dtype_mismatch_is_named(make, inputs):
    layer = make()  # float32 parameters
    with pytest.raises(DtypeMismatchError, match=r"^module parameters are float32 but input 'h' is float64; "
                                                 r"call \.double\(\) on the module or cast the input$"):
        layer(*inputs(torch.float64))
    layer.double()
    layer(*inputs(torch.float64))  # after .double() it runs


def test_device_mismatch_is_named():
    reference = torch.zeros(1)
    with pytest.raises(DeviceMismatchError, match=r"^module parameters are on cpu but input 'h' is on meta; "
                                                  r"call \.to\('meta'\) on the module or move the input$"):
        check_matches_module(reference, "h", torch.zeros(2, 3, device="meta"))
    check_matches_module(reference, "h", torch.zeros(2, 3))
    check_matches_module(None, "h", torch.zeros(2, 3, dtype=torch.float64))  # a module without parameters


def test_unreachable_outputs_are_refused():
    with pytest.raises(ValueError, match=r"TensorFieldConv\(1x0e → 1x1e\): no path .* reaches the output irreps 1x1e; "
                                         r"they would be identically zero"):
        TensorFieldConv("1x0e", "1x1e")
    with pytest.raises(ValueError, match=r"reaches the output irreps 2x3o"):
        TensorFieldConv("4x0e+2x1o", "4x0e+2x1o+2x3o", lmax=1)
    TensorFieldConv("4x0e+2x1o", "4x0e+2x1o+2x3o", lmax=2)  # 1o ⊗ Y² (2e) ∋ 3o: reachable
    with pytest.raises(ValueError, match=r"O3TensorProduct\(1x0e ⊗ 1x0e → 1x0e\+1x1o\): no path reaches the output "
                                         r"irreps 1x1o"):
        O3TensorProduct("1x0e", "1x0e+1x1o", "1x0e")
    with pytest.raises(ValueError, match=r"no path reaches the output irreps 2x1e"):
        SteerableConv("4x0e", "4x0e+2x1e", lmax_attr=1)  # 0e ⊗ (0e + 1o) never gives 1e

