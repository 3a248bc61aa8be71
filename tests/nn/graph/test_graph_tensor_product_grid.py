"""gdl's tensor products equal e3nn's on every (l_max, l_attr) point of the tp_grid benchmark, float64."""
import pytest
import torch
from e3nn import o3

from gdl.benchmarks import tp_grid
from gdl.nn.graph import TensorFieldConv
from gdl.nn.graph._attribute_tp import AttributeTensorProduct
from gdl.nn.graph._edge_weight_tp import EdgeWeightTensorProduct, edge_weight_tp_supported
from gdl.testing import default_dtype

POINTS = [(lmax, lmax_attr) for lmax in (1, 2, 3) for lmax_attr in (1, 2, 3)]
SMALLEST_CHANNELS = 8  # the grid's smallest channel count


def _inputs(tp, edges, generator):
    x = torch.randn(edges, tp.irreps_in1.dim, generator=generator, requires_grad=True)
    a = torch.randn(edges, tp.irreps_in2.dim, generator=generator, requires_grad=True)
    shape = (tp.weight_numel,) if tp.shared_weights else (edges, tp.weight_numel)
    w = torch.randn(*shape, generator=generator, requires_grad=True)
    return x, a, w


@pytest.mark.parametrize("mode", ["uvw", "uvw-weights-first", "uvu"])
@pytest.mark.parametrize("lmax,lmax_attr", POINTS, ids=[f"l{a}-attr{b}" for a, b in POINTS])
def test_equals_e3nn_on_the_grid(mode, lmax, lmax_attr):
    with default_dtype(torch.float64):
        build = tp_grid.uvu_products if mode == "uvu" else tp_grid.uvw_products
        e3nn_tp, gdl_tp = build(SMALLEST_CHANNELS, lmax, lmax_attr)
        if mode == "uvw-weights-first":  # the grid runs attribute_first (equal channels); check the other too
            gdl_tp = AttributeTensorProduct(e3nn_tp, method="weights_first")
        generator = torch.Generator().manual_seed(lmax * 10 + lmax_attr)
        x, a, w = _inputs(e3nn_tp, 4, generator)
        expected, actual = e3nn_tp(x, a, w), gdl_tp(x, a, w)
        assert actual.shape == expected.shape == (4, e3nn_tp.irreps_out.dim)
        assert (actual - expected).abs().max() <= 1e-12
        cotangent = torch.randn(expected.shape, generator=generator)
        wants = torch.autograd.grad(expected, (x, a, w), cotangent)
        gots = torch.autograd.grad(actual, (x, a, w), cotangent)
        for name, got, want in zip("xaw", gots, wants):
            assert (got - want).abs().max() <= 1e-12, f"gradient in {name}"


def test_edge_weight_product_float32_empty_and_second_derivative():
    tp, fast = tp_grid.uvu_products(3, 1, 2)
    x, a, w = _inputs(tp, 6, torch.Generator().manual_seed(0))
    torch.testing.assert_close(fast(x, a, w), tp(x, a, w), rtol=1e-5, atol=1e-5)
    assert fast(x[:0], a[:0], w[:0]).shape == (0, tp.irreps_out.dim)
    # plain autograd: differentiable twice (force training differentiates the energy's gradient)
    (gx,) = torch.autograd.grad(fast(x, a, w).pow(2).sum(), x, create_graph=True)
    (want,) = torch.autograd.grad(tp(x, a, w).pow(2).sum(), x, create_graph=True)
    torch.testing.assert_close(torch.autograd.grad(gx.sum(), a)[0], torch.autograd.grad(want.sum(), a)[0],
                               rtol=1e-4, atol=1e-4)


def test_edge_weight_product_refuses_what_it_cannot_evaluate():
    shared = o3.TensorProduct("2x0e", "1x0e", "2x0e", [(0, 0, 0, "uvu", True)], shared_weights=True)
    multi = o3.TensorProduct("2x0e", "2x0e", "2x0e", [(0, 0, 0, "uvu", True)], shared_weights=False)
    uvw = o3.TensorProduct("2x0e", "1x0e", "2x0e", [(0, 0, 0, "uvw", True)], shared_weights=False)
    for tp in (shared, multi, uvw):
        assert not edge_weight_tp_supported(tp)
        with pytest.raises(ValueError, match="per-edge weighted 'uvu'"):
            EdgeWeightTensorProduct(tp)


def test_tensor_field_conv_fast_path_equals_e3nn():
    with default_dtype(torch.float64):
        torch.manual_seed(0)
        layer = TensorFieldConv("4x0e+2x1o+2x2e", "4x0e+2x1o+2x2e", lmax=2, edge_channels=1)
        assert layer.fast is not None
        pos, h = torch.randn(6, 3), torch.randn(6, layer.irreps_in.dim)
        edge_index = torch.tensor([[0, 1, 2, 3, 4, 5, 0, 2], [1, 2, 3, 4, 5, 0, 3, 5]])
        edge_attr = torch.randn(8, 1)
        fast = layer(h, pos, edge_index, edge_attr)
        product, layer.fast = layer.fast, None  # e3nn's own module, same weights
        plain = layer(h, pos, edge_index, edge_attr)
        layer.fast = product
        assert (fast - plain).abs().max() <= 1e-12
        assert set(layer.state_dict()) == set(TensorFieldConv("4x0e+2x1o+2x2e", "4x0e+2x1o+2x2e", lmax=2,
                                                              edge_channels=1, fast=False).state_dict())


def test_benchmark_command_writes_its_table(tmp_path, capsys):
    doc = tmp_path / "layers.md"
    doc.write_text(f"before\n{tp_grid.DOC_START}\nold\n{tp_grid.DOC_END}\nafter\n", encoding="utf-8")
    assert tp_grid.main(["--channels", "2", "--lmax", "1", "--lmax-attr", "1", "--edges", "8", "--repeats", "1",
                         "--no-cue", "--write-docs", "--docs", str(doc)]) == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("before\n") and text.endswith("after\n") and "old" not in text
    assert "| uvw | 2 | 1 | 1 |" in text and "| uvu | 2 | 1 | 1 |" in text and "Largest gdl/e3nn ratio" in text
    doc.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(ValueError, match="markers"):
        tp_grid.write_docs("table", str(doc))
