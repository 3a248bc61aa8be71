"""The modules the checker must pass, each shown equivariant first WITHOUT gdl's group code.

A must-pass module typed by the code under test (e.g. by gdl's own tensor-product rep) proves
little: a bug shared by the rep and the checker cancels out. Every module here is first checked
by hand — inputs moved with numpy/scipy matrices (``tests/helpers/transforms.py``) or e3nn's
Wigner-D, permutations as index arrays — and only then must ``check_equivariance`` pass it at its
default tolerance, in float64 and float32. Its types use only the plain reps (trivial, standard,
vector) or e3nn irreps, whose matrices e3nn computes.
"""
import contextlib

import pytest
import torch
from e3nn import o3
from torch_geometric.data import Batch, Data

from gdl.groups import O3, Euclidean, FieldType
from gdl.testing import check_equivariance
from tests.helpers.transforms import (
    move_points, orthogonal_matrices, permute_graph, random_permutation, relative_error, translations, turn_vectors,
)

E3 = Euclidean(3)
BY_HAND_TOL = 1e-12  # float64


@contextlib.contextmanager
def default_dtype(dtype):
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


class CentredCloud(torch.nn.Module):
    """x_i − x̄ scaled by tanh ‖x_i − x̄‖²: E(3) points in, vectors out."""

    in_type = FieldType(E3, E3.standard_rep())
    out_type = FieldType(E3, E3.vector_rep())

    def forward(self, x):
        d = x - x.mean(-2, keepdim=True)
        return d * torch.tanh((d * d).sum(-1, keepdim=True))


class PairForces(torch.nn.Module):
    """F_i = Σ_{j→i} q_i q_j (x_i − x_j) / (‖x_i − x_j‖³ + 1): E(3) and node permutations."""

    in_type = {"pos": FieldType(E3, E3.standard_rep()), "charges": FieldType(E3, E3.trivial_rep(1))}
    out_type = FieldType(E3, E3.vector_rep())

    def forward(self, data):
        src, dst = data.edge_index
        d = data.pos[dst] - data.pos[src]
        w = data.charges[src] * data.charges[dst] / (d.norm(dim=-1, keepdim=True) ** 3 + 1)
        return torch.zeros_like(data.pos).index_add_(0, dst, w * d)


def _tensor_product(dtype):
    torch.manual_seed(0)
    with default_dtype(dtype):  # e3nn's Clebsch–Gordan constants keep the dtype they are built in
        return o3.FullyConnectedTensorProduct("2x0e+2x1o+1x2e", "0e+1o+1e", "2x0e+2x1o+1x2e")


def _cloud(n=12, seed=0):
    return torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _pair_graph(seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    graphs = []
    for n in (4, 6):
        i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
        keep = (i != j) & (torch.rand(n, n, generator=g) < 0.7)
        graphs.append(Data(pos=torch.randn(n, 3, generator=g, dtype=torch.float64).to(dtype),
                           charges=torch.randn(n, 1, generator=g, dtype=torch.float64).to(dtype),
                           edge_index=torch.stack([j[keep], i[keep]])))
    return Batch.from_data_list(graphs)


# ------------------------------------------------------------------------------------- by hand
def test_centred_cloud_by_hand():
    x, f = _cloud(), CentredCloud()
    for q, t in zip(orthogonal_matrices(seed=3), translations(7, seed=4)):
        assert relative_error(f(move_points(x, q, t)), turn_vectors(f(x), q)) <= BY_HAND_TOL


def test_pair_forces_by_hand():
    data, f = _pair_graph(), PairForces()
    out = f(data)
    for q, t in zip(orthogonal_matrices(seed=5), translations(7, seed=6)):
        moved = Batch(pos=move_points(data.pos, q, t), charges=data.charges, edge_index=data.edge_index, batch=data.batch)
        assert relative_error(f(moved), turn_vectors(out, q)) <= BY_HAND_TOL
    perm, edge_index = permute_graph(random_permutation(data.num_nodes, 1), data.edge_index)
    moved = Batch(pos=data.pos[perm], charges=data.charges[perm], edge_index=edge_index, batch=data.batch[perm])
    assert relative_error(f(moved), out[perm]) <= BY_HAND_TOL


def test_tensor_product_by_hand_with_e3nn_wigner_d():
    tp = _tensor_product(torch.float64)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(8, tp.irreps_in1.dim, generator=g, dtype=torch.float64)
    y = torch.randn(8, tp.irreps_in2.dim, generator=g, dtype=torch.float64)
    with torch.no_grad(), default_dtype(torch.float64):  # e3nn's Wigner-D uses the default dtype
        for q in orthogonal_matrices(seed=7):
            d1, d2, d_out = (ir.D_from_matrix(q) for ir in (tp.irreps_in1, tp.irreps_in2, tp.irreps_out))
            assert relative_error(tp(x @ d1.T, y @ d2.T), tp(x, y) @ d_out.T) <= BY_HAND_TOL


# ------------------------------------------------------------------------------------- the checker
MUST_PASS = {
    "centred cloud": lambda dtype: (CentredCloud(), (_cloud().to(dtype),)),
    "pair forces": lambda dtype: (PairForces(), (_pair_graph(dtype=dtype),)),
    "e3nn tensor product": lambda dtype: (_tensor_product(dtype), _tp_inputs(dtype)),
}


def _tp_inputs(dtype):
    g = torch.Generator().manual_seed(2)
    return (torch.randn(8, 13, generator=g, dtype=torch.float64).to(dtype),
            torch.randn(8, 7, generator=g, dtype=torch.float64).to(dtype))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", list(MUST_PASS))
def test_checker_passes_the_hand_checked_modules(name, dtype):
    model, inputs = MUST_PASS[name](dtype)
    for seed in range(3):
        report = check_equivariance(model, *inputs, seed=seed)
        assert report.passed, report.table(max_rows=5)
        assert report.dtype == dtype and len(report.results) >= 10
        floor = {torch.float64: 1e-13, torch.float32: 1e-5}[dtype]
        assert report.max_error < floor, (name, report.max_error)


def test_checker_derives_the_symmetries_the_hand_checks_used():
    assert check_equivariance(CentredCloud(), _cloud()).symmetries == ["E(3)"]
    assert check_equivariance(PairForces(), _pair_graph()).symmetries == ["E(3)", "node permutation"]
    assert check_equivariance(_tensor_product(torch.float64), *_tp_inputs(torch.float64)).symmetries == ["O(3)"]


def test_the_must_pass_set_uses_only_plain_reps_or_e3nn_irreps():
    """No must-pass module is typed by gdl's derived reps (tensor products, duals, sums)."""
    for model in (CentredCloud(), PairForces()):
        types = model.in_type.values() if isinstance(model.in_type, dict) else [model.in_type]
        for t in list(types) + [model.out_type]:
            assert t.rep.name in {"points", "standard", "trivial"} or t.rep.name.endswith("x trivial"), t.rep.name
    assert isinstance(_tensor_product(torch.float64).irreps_in1, o3.Irreps) and O3() is not None
