"""AttributeTensorProduct equals e3nn's tensor product; O3TensorProduct's SEGNN parametrisation."""
import pytest
import torch
from e3nn import o3

from gdl.nn.graph import O3TensorProduct
from gdl.nn.graph._attribute_tp import AttributeTensorProduct, attribute_tp_supported

CASES = [
    ("32x0e+32x1o+32x0e+32x1o+2x0e", "1x0e+1x1o", "64x0e+32x1o"),  # SEGNN message input (unsorted blocks)
    ("3x0e+2x1o+2x2e+1x1e+4x0o", "1x0e+1x1o+1x2e", "2x0e+3x1o+2x2e+1x1e+2x0o"),  # parities, l = 2, odd scalars
    ("16x0e+8x1o", "1x0e+1x1o", "1x1o"),  # a head
    ("4x1o", "1x0e+1x1o", "3x0e+2x1e"),  # outputs reached only through l1 = l2 = 1
    ("2x0e", "1x1o", "2x0e+1x1o"),  # an output block no path reaches
]


@pytest.fixture
def float64_default():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # e3nn's constants are built in the default dtype
    yield
    torch.set_default_dtype(previous)


@pytest.mark.parametrize("method", ["attribute_first", "weights_first"])
@pytest.mark.parametrize("irreps", CASES, ids=[c[0] for c in CASES])
def test_equals_e3nn_values_and_gradients(irreps, method, float64_default):
    torch.manual_seed(0)
    tp = o3.FullyConnectedTensorProduct(*irreps, shared_weights=True, internal_weights=False)
    fast = AttributeTensorProduct(tp, method=method)
    assert fast.method == method
    x = torch.randn(37, tp.irreps_in1.dim, requires_grad=True)
    a = torch.randn(37, tp.irreps_in2.dim, requires_grad=True)
    w = torch.randn(tp.weight_numel, requires_grad=True)
    expected, actual = tp(x, a, w), fast(x, a, w)
    assert actual.shape == expected.shape
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-12)
    g = torch.randn_like(expected)
    for got, want in zip(torch.autograd.grad(actual, (x, a, w), g), torch.autograd.grad(expected, (x, a, w), g)):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-11)


def test_float32_and_empty_batch():
    tp = o3.FullyConnectedTensorProduct("8x0e+4x1o", "1x0e+1x1o", "8x0e+4x1o", shared_weights=True,
                                        internal_weights=False)
    fast = AttributeTensorProduct(tp)
    x, a, w = torch.randn(10, 20), torch.randn(10, 4), torch.randn(tp.weight_numel)
    torch.testing.assert_close(fast(x, a, w), tp(x, a, w), rtol=1e-5, atol=1e-5)
    assert fast(x[:0], a[:0], w).shape == (0, 20)


def test_method_is_chosen_once_by_the_channel_counts():
    def product(irreps_out):
        return o3.FullyConnectedTensorProduct("16x0e+8x1o", "1x0e+1x1o", irreps_out, shared_weights=True,
                                              internal_weights=False)
    assert AttributeTensorProduct(product("1x1o")).method == "weights_first"  # a head narrows: 24 → 1 channels
    assert AttributeTensorProduct(product("16x0e+8x1o")).method == "attribute_first"
    with pytest.raises(ValueError, match="method must be 'auto' or one of"):
        AttributeTensorProduct(product("1x1o"), method="fastest")


def test_unsupported_products_are_refused():
    multi_attr = o3.FullyConnectedTensorProduct("4x0e", "2x0e", "4x0e", shared_weights=True, internal_weights=False)
    assert not attribute_tp_supported(multi_attr)
    with pytest.raises(ValueError, match="multiplicity 1"):
        AttributeTensorProduct(multi_attr)
    layer = O3TensorProduct("4x0e", "4x0e", "2x0e")  # falls back to e3nn, still correct
    assert layer.fast is None
    x, a = torch.randn(5, 4), torch.randn(5, 2)
    torch.testing.assert_close(layer(x, a), layer.tp(x, a, layer.path_weights()) + layer.bias)


def test_fast_and_e3nn_paths_agree_in_the_layer(float64_default):
    torch.manual_seed(1)
    layer = O3TensorProduct("6x0e+3x1o", "4x0e+2x1o", "1x0e+1x1o")
    assert layer.fast is not None
    x, a = torch.randn(11, 15), torch.randn(11, 4)
    reference = layer.tp(x, a, layer.path_weights())
    reference = reference + reference.new_zeros(reference.shape[1]).index_put((layer.bias_index,), layer.bias)
    torch.testing.assert_close(layer(x, a), reference, rtol=0, atol=1e-12)


def test_segnn_parametrisation():
    """θ ~ U(−1/√F, 1/√F) per output block with fan-in F, path weight θ·√F; bias U(−1/√F, 1/√F)."""
    torch.manual_seed(2)
    layer = O3TensorProduct("40x0e+24x1o", "12x0e+6x1o", "1x0e+1x1o")
    fan_in = {0: 40 + 24, 1: 40 + 24}  # 0e: 0e⊗0e, 1o⊗1o; 1o: 0e⊗1o, 1o⊗0e (mul_2 = 1)
    offset = 0
    for ins in layer.tp.instructions:
        numel = ins.path_shape[0] * ins.path_shape[1] * ins.path_shape[2]
        theta = layer.weight[offset:offset + numel]
        bound = fan_in[ins.i_out] ** -0.5
        assert theta.abs().max() <= bound
        assert theta.abs().max() > 0.9 * bound  # uniform over the whole interval, not a narrower one
        torch.testing.assert_close(layer.path_weights()[offset:offset + numel], theta / bound)
        offset += numel
    assert offset == layer.weight.numel()
    assert layer.bias.abs().max() <= 64 ** -0.5 and layer.bias.abs().max() > 0
    plain = O3TensorProduct("40x0e+24x1o", "12x0e+6x1o", "1x0e+1x1o", rescale=False)
    assert torch.equal(plain.path_weights(), plain.weight) and not plain.bias.any()
    assert 0.9 < plain.weight.std() < 1.1  # e3nn's N(0, 1)


def test_rescaled_weights_take_larger_adam_steps():
    """Adam moves θ by ≈ lr, so the path weight θ·√F moves ≈ lr·√F: SEGNN's effective learning rate."""
    torch.manual_seed(3)
    layer = O3TensorProduct("32x0e+32x1o", "32x0e+32x1o", "1x0e+1x1o")
    before = layer.path_weights().detach().clone()
    optimiser = torch.optim.Adam(layer.parameters(), lr=1e-3)
    layer(torch.randn(20, 128), torch.randn(20, 4)).pow(2).sum().backward()
    optimiser.step()
    step = (layer.path_weights().detach() - before).abs()
    assert torch.allclose(step.median(), torch.tensor(1e-3 * 64 ** 0.5), rtol=0.05)
