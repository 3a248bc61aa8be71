"""Verdicts the checker used to get wrong, each in both directions: the broken model is
flagged, the correct one passes (issue "Trustworthy runs and verdicts", docs/testing.md
"What the verdicts guarantee")."""
import pytest
import torch
from e3nn import o3
from torch_geometric.data import Batch, Data

from gdl.groups import Euclidean, FieldType
from gdl.testing import NodePermutation, assert_equivariant, check_equivariance, default_dtype
from gdl.testing import EquivarianceSetupError

E3 = Euclidean(3)
POINTS, VECTORS = FieldType(E3, E3.standard_rep()), FieldType(E3, E3.vector_rep())


def scalars(n):
    return FieldType(E3, E3.trivial_rep(n))


def fully_connected(n):
    i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    return torch.stack([j[i != j], i[i != j]])


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# -- edge order: a graph is a set of edges ------------------------------------------------------
class EdgeMessages(torch.nn.Module):
    """h_i' = Σ_{j→i} ‖x_i − x_j‖ h_j; ``order`` plants a dependence on the order of edge_index."""

    in_type = {"h": scalars(4), "pos": POINTS}
    out_type = {"h": scalars(4)}

    def __init__(self, order=None):
        super().__init__()
        self.order = order

    def forward(self, h, pos, edge_index):
        src, dst = edge_index
        m = h[src] * (pos[dst] - pos[src]).norm(dim=-1, keepdim=True)
        if self.order == "cumsum":  # a running sum over the edge list
            m = torch.cumsum(m, 0) / m.shape[0]
        elif self.order == "first edge":  # reads edge_index[:, 0]
            m = m + 1e-3 * h[edge_index[0, 0]]
        return torch.zeros_like(h).index_add_(0, dst, m)


@pytest.mark.parametrize("order", ["cumsum", "first edge"])
def test_edge_order_dependence_is_flagged(order):
    h, pos, ei = _randn(6, 4), _randn(6, 3, seed=1), fully_connected(6)
    report = check_equivariance(EdgeMessages(order), h, pos, ei)
    assert not report.passed and report.per_symmetry["E(3)"] < 1e-12
    perm = [r for r in report.results if r.symmetry == "node permutation"]
    node_only = [r for r in perm if "swap nodes" in r.element or r.element.startswith("generator 1")]
    edge_only = [r for r in perm if "edges" in r.element and r.element.startswith("generator")]
    assert node_only and max(r.max_error for r in node_only) < 1e-12  # relabelling nodes alone keeps edge order
    assert edge_only and min(r.max_error for r in edge_only) > 1e-6
    assert any("order of edge_index" in n for n in report.notes), report.notes


def test_correct_message_passing_passes_with_edges_reordered():
    h, pos, ei = _randn(6, 4), _randn(6, 3, seed=1), fully_connected(6)
    report = check_equivariance(EdgeMessages(), h, pos, ei)
    assert report.passed and report.batched and report.max_error < 1e-13, report.table()
    assert any("swap edges 0,1" in e for e in report.elements)


def test_per_edge_outputs_move_with_their_edges():
    class EdgeLengths(torch.nn.Module):
        in_type = {"pos": POINTS}
        out_type = {"length": scalars(1)}

        def forward(self, pos, edge_index, edge_attr):
            return (pos[edge_index[1]] - pos[edge_index[0]]).norm(dim=-1, keepdim=True) * edge_attr

    ei = fully_connected(5)
    report = check_equivariance(EdgeLengths(), _randn(5, 3), ei, _randn(ei.shape[1], 1, seed=2))
    assert report.passed and report.max_error < 1e-13, report.table()


# -- index attributes: faces and *_index are relabelled with the nodes -------------------------
def octahedron(seed=0):
    pos = torch.tensor([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=torch.float64)
    face = torch.tensor([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]]).T
    return Data(pos=pos + 0.1 * _randn(6, 3, seed=seed), face=face, h=_randn(6, 2, seed=seed + 1))


class VertexAreas(torch.nn.Module):
    """Per vertex: Σ over its faces of area × mean feature (scalars) and area × (centroid − x_v) (vectors)."""

    in_type = {"pos": POINTS, "h": scalars(2)}
    out_type = {"area": scalars(2), "offset": VECTORS}

    def __init__(self, broken=None, face_name="face"):
        super().__init__()
        self.broken, self.face_name = broken, face_name

    def forward(self, data):
        a, b, c = data[self.face_name]
        pos = data.pos
        area = torch.linalg.cross(pos[b] - pos[a], pos[c] - pos[a], dim=-1).norm(dim=-1, keepdim=True) / 2
        if self.broken == "face order":
            area = area * (1 + 1e-3 * torch.arange(area.shape[0], dtype=area.dtype).unsqueeze(1))
        feature = area * (data.h[a] + data.h[b] + data.h[c]) / 3
        centroid = (pos[a] + pos[b] + pos[c]) / 3
        out, offset = torch.zeros_like(data.h), torch.zeros_like(pos)
        for v in (a, b, c):
            out.index_add_(0, v, feature)
            offset.index_add_(0, v, area * (centroid - pos[v]))
        if self.broken == "vertex labels":
            out = out + 1e-3 * torch.arange(out.shape[0], dtype=out.dtype).unsqueeze(1)
        return {"area": out, "offset": offset}


@pytest.mark.parametrize("sample", ["data", "batch"])
def test_correct_mesh_model_passes_with_faces_relabelled(sample):
    data = octahedron() if sample == "data" else Batch.from_data_list([octahedron(0), octahedron(5)])
    report = check_equivariance(VertexAreas(), data)
    assert report.passed and report.max_error < 1e-13, report.table()
    assert report.symmetries == ["E(3)", "node permutation"] and report.batched
    assert any("faces" in e for e in report.elements)


@pytest.mark.parametrize("broken, diagnosis", [("face order", "order of edge_index / face"), ("vertex labels", "node labels")])
def test_broken_mesh_model_is_flagged(broken, diagnosis):
    report = check_equivariance(VertexAreas(broken), octahedron())
    assert not report.passed and report.per_symmetry["E(3)"] < 1e-12
    assert report.per_symmetry["node permutation"] > 1e-4
    assert any(diagnosis in n for n in report.notes), report.notes


def test_custom_index_attribute_is_declared():
    data = octahedron()
    data = Data(pos=data.pos, h=data.h, tri=data.face)  # a name the defaults do not know
    with pytest.raises(AssertionError):  # without the declaration `tri` keeps its old labels: a false alarm
        assert_equivariant(VertexAreas(face_name="tri"), data)
    report = check_equivariance(VertexAreas(face_name="tri"), data,
                                symmetry=[NodePermutation(index_attributes=("tri",))], n_random=4)
    assert report.passed and report.max_error < 1e-13, report.table()
    with pytest.raises(EquivarianceSetupError, match="index attribute 'h'.*integer tensor of node indices"):
        check_equivariance(VertexAreas(face_name="tri"), data, symmetry=[NodePermutation(index_attributes=("h",))])


def test_batch_vector_and_out_of_range_index_are_not_node_indices():
    from gdl.testing._sample import default_index_names

    values = {"edge_index": fully_connected(4), "batch_index": torch.zeros(4, dtype=torch.long),
              "pair_index": torch.tensor([[0, 1], [3, 2]]), "atom_index": torch.tensor([0, 7, 2, 1]),
              "face": torch.tensor([[0], [1], [2]])}
    assert default_index_names(values, 4) == ["edge_index", "pair_index", "face"]


# -- batched evaluation: a stacked-call failure is confirmed one element at a time -------------
class RelativeToFirst(torch.nn.Module):
    """x_i − x_0 scaled by an invariant: E(3)-equivariant on one cloud, but row 0 of a stacked
    call is the first copy's; ``leak`` plants a real defect."""

    in_type, out_type = POINTS, VECTORS

    def __init__(self, leak=0.0):
        super().__init__()
        self.leak = leak

    def forward(self, x):
        d = x - x[0]
        return d * torch.tanh((d * d).sum(-1, keepdim=True)) + self.leak * x[:, :1]


class RadiusGraph(torch.nn.Module):
    """Σ_{‖x_j − x_i‖ < r} (x_j − x_i): a radius graph over the whole tensor, like e3nn's
    gate_points_2101 without a batch vector: stacked copies link to each other."""

    in_type, out_type = POINTS, VECTORS

    def forward(self, x):
        d = x.unsqueeze(0) - x.unsqueeze(1)
        near = (d.norm(dim=-1) < 1.5).to(x.dtype).unsqueeze(-1)
        return (near * d).sum(0)


@pytest.mark.parametrize("model", [RelativeToFirst(), RadiusGraph()], ids=["x - x[0]", "radius graph"])
def test_model_mixing_the_stack_is_run_one_at_a_time(model):
    report = check_equivariance(model, _randn(8, 3))
    assert report.passed and report.max_error < 1e-13, report.table()
    assert not report.batched and set(report.modes.values()) == {"one-at-a-time"}
    assert any("one at a time" in n and "copies" in n for n in report.notes), report.notes
    assert report.verdicts["E(3)"] == "passed (one-at-a-time)"


def test_reading_a_fixed_row_cannot_pass_in_the_stack():
    # edge_index[:, 0] of a stacked call is the untransformed copy's first edge: without the check
    # of the last element alone, every reordering of edges would pass
    h, pos, ei = _randn(6, 4), _randn(6, 3, seed=1), fully_connected(6)
    report = check_equivariance(EdgeMessages("first edge"), h, pos, ei)
    assert not report.passed and report.modes["node permutation"] == "one-at-a-time"


def _far_apart_translations(shifts):
    linear = torch.eye(3, dtype=torch.float64).expand(len(shifts), 3, 3)
    t = torch.tensor([[x, 0.0, 0.0] for x in shifts], dtype=torch.float64)
    return E3.from_parts(linear, t)


def test_stacked_false_alarm_is_overruled_one_at_a_time():
    # copies 2 and 3 of the stack (translations by 50 and 50.5) fall within each other's radius; the
    # untransformed copy and the last one are far from everything, so only a re-run alone shows it
    elements = _far_apart_translations([-100.0, 50.0, 50.5, 100.0])
    report = check_equivariance(RadiusGraph(), _randn(8, 3), symmetry=E3, elements=elements)
    assert report.passed and report.max_error < 1e-13, report.table()
    assert [r.mode for r in report.results] == ["batched", "one-at-a-time", "one-at-a-time", "batched"]
    assert report.verdicts["E(3)"] == "passed (one-at-a-time)" and not report.batched
    assert any("2 of 2 elements that failed in the stacked call" in n and "passed one at a time" in n for n in report.notes)


def test_real_defect_found_in_a_stacked_call_is_confirmed():
    class Leak(torch.nn.Module):  # row by row, so it batches; leaks one coordinate into every output
        in_type, out_type = VECTORS, VECTORS

        def forward(self, x):
            return x * torch.tanh((x * x).sum(-1, keepdim=True)) + 1e-3 * x[:, :1]

    report = check_equivariance(Leak(), _randn(8, 3))
    assert not report.passed and report.max_error > 1e-4
    assert report.verdicts["E(3)"] == "NOT EQUIVARIANT (confirmed one-at-a-time)"
    failing = [r for r in report.results if r.max_error > report.rtol]
    assert failing and all(r.mode == "confirmed one-at-a-time" for r in failing)
    assert all(r.mode == "batched" for r in report.results if r.max_error <= report.rtol)
    assert "confirmed one-at-a-time" in report.summary() and "(confirmed one-at-a-time)" in report.table()
    unbatched = check_equivariance(Leak(), _randn(8, 3), batch_elements=False)
    assert unbatched.verdicts["E(3)"] == "NOT EQUIVARIANT (one-at-a-time)"
    assert unbatched.max_error == pytest.approx(report.max_error, rel=1e-9)


def test_batched_verdict_says_batched():
    class Scaled(torch.nn.Module):  # row by row: batches cleanly
        in_type, out_type = VECTORS, VECTORS

        def forward(self, x):
            return x * torch.tanh((x * x).sum(-1, keepdim=True))

    report = check_equivariance(Scaled(), _randn(8, 3))
    assert report.passed and report.batched and report.verdicts == {"E(3)": "passed (batched)"}
    assert "E(3): passed (batched)" in report.summary()


# -- float32-built constants in a float64 check ----------------------------------------------------
def _tensor_product(build_dtype):
    torch.manual_seed(0)
    with default_dtype(build_dtype):
        return o3.FullyConnectedTensorProduct("4x0e+4x1o+2x2e", "0e+1o+2e", "4x0e+4x1o+2x2e")


def test_float32_built_e3nn_model_in_float64_gets_the_note():
    tp = _tensor_product(torch.float32).double()  # the documented trap: built in float32, then cast
    x, y = tp.irreps_in1.randn(8, -1, dtype=torch.float64), tp.irreps_in2.randn(8, -1, dtype=torch.float64)
    report = check_equivariance(tp, x, y)
    assert not report.passed and 1e-10 < report.max_error < 1e-6  # float32 rounding, not a defect
    note = [n for n in report.notes if "float32-built constants" in n]
    assert note and "FullyConnectedTensorProduct" in note[0] and "_w3j" in note[0] and "default_dtype" in note[0]
    cast = check_equivariance(_tensor_product(torch.float32), x.float(), y.float(), dtype=torch.float64)
    assert any("float32-built constants" in n for n in cast.notes)  # the same when the checker casts


def test_float64_built_e3nn_model_passes_without_the_note():
    tp = _tensor_product(torch.float64)
    x, y = tp.irreps_in1.randn(8, -1, dtype=torch.float64), tp.irreps_in2.randn(8, -1, dtype=torch.float64)
    report = check_equivariance(tp, x, y)
    assert report.passed and report.max_error < 1e-13 and not report.notes


def test_gdl_tfn_built_in_float64_passes_the_float64_check():
    from gdl.train import get_task

    task = get_task("nbody")
    batch = Batch.from_data_list([Data(pos=_randn(5, 3, seed=s), vel=_randn(5, 3, seed=s + 1),
                                       charges=torch.sign(_randn(5, 1, seed=s + 2)), edge_index=fully_connected(5))
                                  for s in range(2)])
    torch.manual_seed(0)
    with default_dtype(torch.float64):
        tfn = task.build_model("tfn", {"num_layers": 2})
    report = check_equivariance(tfn, batch, n_random=2, n_grid=2)
    assert report.passed and not report.notes, report.table()
    torch.manual_seed(0)
    cast = check_equivariance(task.build_model("tfn", {"num_layers": 2}).double(), batch, n_random=2, n_grid=2)
    assert any("float32-built constants" in n and "layers.0.tp" in n for n in cast.notes)


# -- hints --------------------------------------------------------------------------------------------
class Dropped(torch.nn.Module):
    in_type, out_type = VECTORS, VECTORS

    def __init__(self):
        super().__init__()
        self.dropout = torch.nn.Dropout(0.5)

    def forward(self, x):
        return x * self.dropout(torch.ones_like(x[:, :1]) + (x * x).sum(-1, keepdim=True))


def test_training_mode_dropout_gets_the_eval_hint():
    model = Dropped()
    torch.manual_seed(0)
    report = check_equivariance(model, _randn(8, 3))
    assert not report.passed
    assert any("training mode" in n and "dropout (Dropout)" in n and "model.eval()" in n for n in report.notes), report.notes
    assert any("not deterministic" in n for n in report.notes)
    assert model.training  # the checker runs the model in the mode it is in
    report = check_equivariance(model.eval(), _randn(8, 3))
    assert report.passed and not report.notes


def test_failure_only_under_translations_is_diagnosed():
    class ReadsAbsolutePositions(torch.nn.Module):
        in_type, out_type = POINTS, scalars(1)

        def forward(self, x):
            return (x * x).sum(-1, keepdim=True)  # ‖x_i‖²: rotation invariant, not translation invariant

    report = check_equivariance(ReadsAbsolutePositions(), _randn(6, 3))
    assert not report.passed
    assert any("only under translations" in n for n in report.notes), report.notes
    assert not any("only under improper" in n for n in report.notes)


def test_failure_only_under_reflections_is_diagnosed():
    class CrossProduct(torch.nn.Module):  # a pseudovector declared as a vector
        in_type, out_type = (VECTORS, VECTORS), VECTORS

        def forward(self, a, b):
            return torch.linalg.cross(a, b, dim=-1)

    report = check_equivariance(CrossProduct(), _randn(6, 3), _randn(6, 3, seed=1))
    assert not report.passed
    assert any("only under improper elements" in n for n in report.notes), report.notes
    assert not any("only under translations" in n for n in report.notes)


def test_general_failure_gets_no_misleading_diagnosis():
    report = check_equivariance(RelativeToFirst(leak=1e-2), _randn(8, 3))
    assert not report.passed and not any("fails only" in n for n in report.notes), report.notes


def test_identically_zero_output_is_marked_trivial():
    class Zero(torch.nn.Module):
        in_type, out_type = POINTS, VECTORS

        def forward(self, x):
            return torch.zeros_like(x)

    report = check_equivariance(Zero(), _randn(6, 3))
    assert report.passed and report.trivial and report.status == "passed (trivial: output identically zero)"
    assert any("identically zero" in n for n in report.notes)
    with pytest.warns(UserWarning, match="identically zero"):
        assert_equivariant(Zero(), _randn(6, 3))
    normal = check_equivariance(RelativeToFirst(), _randn(6, 3))
    assert not normal.trivial and normal.status == "passed"


def test_forces_by_autograd_need_enable_grad():
    class Forces(torch.nn.Module):
        in_type, out_type = POINTS, VECTORS

        def forward(self, x):
            x = x.detach().requires_grad_(True)
            d = x.unsqueeze(0) - x.unsqueeze(1)
            energy = ((d * d).sum(-1) + 1).log().sum()
            return -torch.autograd.grad(energy, x, create_graph=False)[0]

    with pytest.raises(EquivarianceSetupError, match="enable_grad=True"):
        check_equivariance(Forces(), _randn(6, 3))
    report = check_equivariance(Forces(), _randn(6, 3), enable_grad=True)
    assert report.passed and report.max_error < 1e-12


def test_data_is_fed_by_parameter_name():
    class Named(torch.nn.Module):
        in_type = {"x": scalars(4), "pos": POINTS}
        out_type = {"h": scalars(4)}

        def forward(self, x, pos, edge_index):
            return EdgeMessages()(x, pos, edge_index)

    data = Data(x=_randn(6, 4), pos=_randn(6, 3, seed=1), edge_index=fully_connected(6), y=torch.zeros(6))
    report = check_equivariance(Named(), data)
    assert report.passed and report.symmetries == ["E(3)", "node permutation"], report.table()

    class TakesBatch(torch.nn.Module):  # PyG habit: forward(batch) gets the Batch itself
        in_type = {"pos": POINTS}
        out_type = VECTORS

        def forward(self, batch):
            return batch.pos - batch.pos.mean(0, keepdim=True)

    assert check_equivariance(TakesBatch(), Batch.from_data_list([data])).passed


def test_trainer_builds_the_model_in_the_run_dtype(tmp_path):
    from gdl.testing import float32_constants
    from gdl.train import Trainer
    from gdl.train._trainer import resolve_config

    data = [Data(pos=_randn(4, 3, seed=s), vel=_randn(4, 3, seed=s + 1), charges=torch.ones(4, 1, dtype=torch.float64),
                 edge_index=fully_connected(4), y=_randn(4, 3, seed=s + 2)) for s in range(2)]
    for dtype, constants in (("float64", False), ("float32", False)):
        config = resolve_config({"task": "nbody", "model": "tfn", "dtype": dtype, "batch_size": 2,
                                 "model_options": {"num_layers": 1}})
        trainer = Trainer(config, run_dir=tmp_path / dtype, datasets={"train": data, "val": data, "test": data})
        assert next(trainer.model.parameters()).dtype == getattr(torch, dtype)
        assert bool(float32_constants(trainer.model)) == constants  # float64 runs: no float32-rounded constants
