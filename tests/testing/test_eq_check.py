"""check_equivariance on tensor modules, graph modules and PyG batches; the report; bad input."""

import pytest
import torch
from e3nn import o3

from gdl.groups import O3, SO3, Euclidean, FieldType, FieldTypeError
from gdl.testing import (
    EquivarianceReport,
    EquivarianceSetupError,
    EuclideanSymmetry,
    NodePermutation,
    assert_equivariant,
    check_equivariance,
)

from .helpers import DataModel, TinyEGNN, fully_connected, nbody_like

E3 = Euclidean(3)


def _tp(dtype):
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        torch.manual_seed(0)
        return o3.FullyConnectedTensorProduct("4x0e+4x1o+2x2e", "0e+1o+2e", "4x0e+4x1o+2x2e")
    finally:
        torch.set_default_dtype(old)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_e3nn_tensor_product_needs_nothing_but_inputs(dtype):
    tp = _tp(dtype)
    x, y = tp.irreps_in1.randn(8, -1, dtype=dtype), tp.irreps_in2.randn(8, -1, dtype=dtype)
    report = check_equivariance(tp, x, y)
    assert isinstance(report, EquivarianceReport)
    assert report.passed and report.dtype == dtype
    assert report.symmetries == ["O(3)"]
    # generators first (2 rotations, a reflection, the inversion), then 8 grid, then 8 random
    assert len(report.results) == 4 + 8 + 8
    assert report.elements[0].startswith("O(3) / generator 0")
    assert report.elements[-1].startswith("O(3) / random 7")
    assert report.max_error < (1e-12 if dtype == torch.float64 else 1e-5)


def test_report_table_and_assert_message():
    torch.manual_seed(0)
    model = TinyEGNN()
    ei, batch = fully_connected(3, 4)
    h, pos, vel = torch.randn(12, 16), torch.randn(12, 3), torch.randn(12, 3)
    report = check_equivariance(model, h, pos, vel, ei, batch)
    assert report.passed, report
    assert report.outputs == ["h", "pos"]
    assert set(report.per_output) == {"h", "pos"}
    assert set(report.per_symmetry) == {"E(3)", "node permutation"}
    assert report.errors("E(3)").shape == (7 + 8 + 8, 2)
    text = str(report)
    assert "E(3)" in text and "node permutation" in text and "swap nodes 0,1" in text and "passed" in text

    class Leaky(TinyEGNN):
        def forward(self, h, pos, vel, edge_index, batch=None):
            h, pos = super().forward(h, pos, vel, edge_index, batch)
            return h, pos + 1e-2 * vel[:, :1]

    torch.manual_seed(0)
    with pytest.raises(AssertionError, match="NOT EQUIVARIANT") as info:
        assert_equivariant(Leaky(), h, pos, vel, ei, batch)
    assert "✗" in str(info.value) and "pos" in str(info.value)


def test_graph_module_with_keyword_dict_and_float64_copy():
    torch.manual_seed(1)
    model = TinyEGNN()
    ei, batch = fully_connected(2, 5)
    sample = dict(h=torch.randn(10, 16), pos=torch.randn(10, 3), vel=torch.randn(10, 3), edge_index=ei, batch=batch)
    report = check_equivariance(model, sample, dtype=torch.float64)
    assert report.passed and report.dtype == torch.float64 and report.max_error < 1e-12
    assert next(model.parameters()).dtype == torch.float32  # the model itself is untouched


def test_pyg_batch_and_single_data():
    torch.manual_seed(0)
    batch = nbody_like(4, 5)
    report = check_equivariance(DataModel(), batch)
    assert report.passed and report.batched
    assert report.symmetries == ["E(3)", "node permutation"]
    assert check_equivariance(DataModel(), batch.get_example(0)).passed
    broken = check_equivariance(DataModel(leak=1e-3), batch)
    assert not broken.passed and broken.per_symmetry["node permutation"] < 1e-6


def test_node_permutation_relabels_nodes_and_reorders_edges():
    data = nbody_like(3, 4, dtype=torch.float64)
    from gdl.testing._sample import build_sample

    sample = build_sample(DataModel(), (data,), DataModel.in_type, dtype=torch.float64, device="cpu")
    sym = NodePermutation()
    els = sym.elements(sample, n_grid=2, n_random=3, seed=0, device="cpu")
    k = len(els)
    out = sym.act_inputs(els.values, sample, sample.copies(k))
    edge_graph = data.batch[data.edge_index[0]]
    reordered = 0
    for i in range(k):
        p, q = els.values.nodes[i], els.values.items["edge"][i]  # σ on nodes, π on edges
        assert torch.equal(data.batch[p], data.batch)  # every graph is mapped to itself
        assert torch.equal(edge_graph[q], edge_graph)  # edges stay in their graph
        new_pos, new_ei = out["pos"][i], out["edge_index"][i]
        assert torch.equal(new_pos[p], data.pos)  # entry i moved to σ(i)
        qinv = torch.argsort(q)
        assert torch.equal(new_ei, p[data.edge_index][:, qinv])  # edges relabelled by σ, reordered by π
        assert torch.equal(out["edge_attr"][i], data.edge_attr[qinv])  # per-edge tensors move with their edge
        reordered += int(not torch.equal(q, torch.arange(q.numel())))
    assert reordered == k - 2  # all but the two node generators reorder edges
    assert els.labels[2].startswith("generator 2: swap edges 0,1")
    assert len({tuple(p.tolist()) for p in els.values.nodes}) >= k - 3  # the two edge generators keep nodes fixed


def test_model_mixing_rows_falls_back_to_one_call_per_element():
    class Centre(torch.nn.Module):
        in_type = FieldType(E3, E3.standard_rep())
        out_type = FieldType(E3, E3.vector_rep())

        def forward(self, x):  # x − mean(x): translation invariant, rotates like vectors
            return x - x.mean(0, keepdim=True)

    report = check_equivariance(Centre(), torch.randn(6, 3, dtype=torch.float64))
    assert report.passed and not report.batched and report.max_error < 1e-13


def test_symmetry_as_group_list_and_user_elements():
    tp = _tp(torch.float64)
    x, y = tp.irreps_in1.randn(4, -1, dtype=torch.float64), tp.irreps_in2.randn(4, -1, dtype=torch.float64)
    report = check_equivariance(tp, x, y, symmetry=SO3(), n_random=2, n_grid=0)
    assert report.symmetries == ["SO(3)"] and len(report.results) == 2 + 2
    g = O3().sample(5, torch.Generator().manual_seed(3), dtype=torch.float64)
    report = check_equivariance(tp, x, y, symmetry=O3(), elements=g)
    assert len(report.results) == 5 and report.passed
    assert torch.equal(report.element_values["O(3)"], g)


def test_relative_error_does_not_depend_on_scale():
    class Leak(torch.nn.Module):
        in_type = out_type = FieldType(O3(), O3().standard_rep())

        def forward(self, x):
            return x + 1e-4 * x[:, :1]

    x = torch.randn(10, 3, dtype=torch.float64)
    small, large = check_equivariance(Leak(), x), check_equivariance(Leak(), 100 * x)
    assert not small.passed and not large.passed
    assert large.max_error == pytest.approx(small.max_error, rel=1e-6)


def test_translations_move_points_not_vectors():
    class PosAsVector(torch.nn.Module):  # declares positions as vectors: translations expose it
        in_type = FieldType(E3, E3.standard_rep())
        out_type = FieldType(E3, E3.vector_rep())

        def forward(self, x):
            return x

    report = check_equivariance(PosAsVector(), torch.randn(5, 3, dtype=torch.float64))
    rot_only = [r.max_error for r in report.results if "|t|" not in r.element]
    assert max(rot_only) < 1e-14 and report.max_error > 0.1


def test_atol_sets_the_floor():
    tp = _tp(torch.float64)
    x, y = tp.irreps_in1.randn(4, -1, dtype=torch.float64), tp.irreps_in2.randn(4, -1, dtype=torch.float64)
    report = check_equivariance(tp, 1e-8 * x, y, atol=1e-6, rtol=1e-3)
    assert all(v == pytest.approx(1e-3) for v in report.floor.values())


# -- bad input -----------------------------------------------------------------------------------
def test_no_types_declared():
    with pytest.raises(EquivarianceSetupError, match="Linear declares no in_type and out_type"):
        check_equivariance(torch.nn.Linear(3, 3), torch.randn(4, 3))


def test_types_given_explicitly():
    lin = torch.nn.Linear(3, 3, bias=False)
    t = FieldType(O3(), O3().trivial_rep(3))
    assert check_equivariance(lin, torch.randn(4, 3), in_type=t, out_type=t).passed


def test_dimension_mismatch_names_the_input():
    tp = _tp(torch.float32)
    with pytest.raises(FieldTypeError, match=r"input 'y'.*dim 9.*with 5 channels"):
        check_equivariance(tp, tp.irreps_in1.randn(4, -1), torch.randn(4, 5))
    model = TinyEGNN()
    ei, batch = fully_connected(1, 4)
    with pytest.raises(FieldTypeError, match=r"input 'vel'.*dim 3.*2 channels"):
        check_equivariance(model, torch.randn(4, 16), torch.randn(4, 3), torch.randn(4, 2), ei, batch)


def test_unknown_in_type_name():
    class Bad(TinyEGNN):
        def __init__(self):
            super().__init__()
            self.in_type = dict(self.in_type, charges=FieldType(E3, E3.trivial_rep(1)))

    ei, batch = fully_connected(1, 4)
    with pytest.raises(EquivarianceSetupError, match="charges"):
        check_equivariance(Bad(), torch.randn(4, 16), torch.randn(4, 3), torch.randn(4, 3), ei, batch)


def test_nan_input_is_refused():
    ei, batch = fully_connected(1, 4)
    pos = torch.randn(4, 3)
    pos[1, 1] = float("nan")
    with pytest.raises(FieldTypeError, match="input 'pos' contains non-finite"):
        check_equivariance(TinyEGNN(), torch.randn(4, 16), pos, torch.randn(4, 3), ei, batch)


def test_nan_output_is_reported_as_such():
    class NaNAfterRotation(torch.nn.Module):
        in_type = out_type = FieldType(O3(), O3().standard_rep())

        def forward(self, x):
            return torch.where(x[:, :1] > 10, torch.nan, 1.0) * x + torch.log(x[:, 2:3] - x[:, 2:3].min() + 1e-30) * 0

    class AlwaysNaN(torch.nn.Module):
        in_type = out_type = FieldType(O3(), O3().standard_rep())

        def forward(self, x):
            return x * torch.nan

    report = check_equivariance(AlwaysNaN(), torch.randn(4, 3))
    assert not report.passed and report.status == "model returned non-finite output"
    assert "untransformed input" in report.non_finite
    with pytest.raises(AssertionError, match="non-finite output") as info:
        assert_equivariant(AlwaysNaN(), torch.randn(4, 3))
    assert "NOT EQUIVARIANT" not in str(info.value)

    class NaNWhenRotated(torch.nn.Module):
        in_type = out_type = FieldType(O3(), O3().standard_rep())

        def forward(self, x):
            return torch.where(x[:, :1] < -5, torch.nan, 1.0) * x

    x = torch.tensor([[5.5, 0.0, 0.0], [0.1, 0.2, 0.3]])
    report = check_equivariance(NaNWhenRotated(), x)
    assert report.non_finite and "under O(3) element" in report.non_finite


def test_output_dimension_mismatch():
    class Wrong(torch.nn.Module):
        in_type = FieldType(O3(), O3().standard_rep())
        out_type = FieldType.irreps(O3(), "2x1o")

        def forward(self, x):
            return x

    with pytest.raises(FieldTypeError, match="output 'output'.*dim 6"):
        check_equivariance(Wrong(), torch.randn(4, 3))


def test_node_permutation_of_point_rows_and_nothing_to_act_on():
    t = FieldType(O3(), O3().trivial_rep(3))
    lin = torch.nn.Linear(3, 3)  # acts row by row: equivariant to permutations of the rows
    assert check_equivariance(lin, torch.randn(4, 3), in_type=t, out_type=t, symmetry=NodePermutation()).passed
    with pytest.raises(EquivarianceSetupError, match="nothing to act on"):
        check_equivariance(lin, torch.randn(1, 3), in_type=t, out_type=t, symmetry=NodePermutation())


# -- speed ----------------------------------------------------------------------------------------
def test_hundred_graph_batch_twenty_elements_in_three_model_calls():
    # The promise is "one stacked call per symmetry", not a wall-clock number (which failed under load):
    # count the model's calls, exact under any load.
    torch.manual_seed(0)
    model = TinyEGNN(hidden=64, layers=4)
    calls = []
    model.register_forward_hook(lambda *_: calls.append(1))
    ei, batch = fully_connected(100, 5)
    sample = dict(h=torch.randn(500, 64), pos=torch.randn(500, 3), vel=torch.randn(500, 3), edge_index=ei, batch=batch)
    sym = EuclideanSymmetry(3)
    check_equivariance(model, sample, symmetry=sym, n_grid=5, n_random=8)  # warm-up
    calls.clear()
    report = check_equivariance(model, sample, symmetry=sym, n_grid=5, n_random=8)
    assert len(report.results) == 20 and report.passed and report.batched
    # the original sample, one stacked call for the 20 elements, one probe element run alone
    assert len(calls) <= 3, f"batched check made {len(calls)} model calls for 20 elements"


def test_transformed_samples_are_callable_and_moved():
    from gdl.testing import transformed_samples

    batch = nbody_like(3, 4, dtype=torch.float64)
    model = DataModel().double()
    types = dict(DataModel.in_type, y=FieldType(E3, E3.standard_rep()))  # move the target too
    moved = transformed_samples(model, batch, in_type=types, n_random=2, seed=0)
    assert [m[0] for m in moved] == ["E(3)"] * 9 + ["node permutation"] * 6  # 4 generators (2 nodes, 2 edges) + 2 random
    ref = model(batch)
    for sym, label, (data,) in moved:
        out = model(data)
        if sym == "E(3)":  # the loss ‖f(g·x) − g·y‖ equals ‖f(x) − y‖
            assert torch.allclose((out - data.y).norm(), (ref - batch.y).norm(), rtol=1e-10)
    # tensor inputs, each moved sample checked by hand: test_transformed_samples_by_hand.py
