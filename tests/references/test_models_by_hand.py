"""Equivariance of gdl's models with the inputs moved by hand, without gdl's group code or checker.

For N-body models f(x, v, q, edges) → x̂ (EGNN, TFN, SEGNN) and every Q ∈ O(3) (scipy rotations,
numpy-QR matrices with det −1, the inversion) and translation t::

    f(x Qᵀ + t, v Qᵀ, q, edges) = f(x, v, q, edges) Qᵀ + t

and for a permutation σ given as an index array (new node k = old node σ(k), edges relabelled
with σ⁻¹)::

    f(x[σ], v[σ], q[σ], σ⁻¹(edges)) = f(x, v, q, edges)[σ].

GIN layers are permutation-equivariant, and the sum/mean readout is permutation-invariant.
The matrices come from ``tests/helpers/transforms.py`` (numpy/scipy only), so a bug in
``gdl.groups`` or ``gdl.testing`` cannot hide a bug in a model. The non-equivariant baselines
(GNN, Linear) must FAIL the same E(3) test: the test can tell.
"""
import contextlib
import copy
import functools

import pytest
import torch
from torch_geometric.data import Data

from gdl.models import EGNN, GNN, SEGNN, TFN, Linear
from gdl.nn.graph import GINConv, GraphReadout
from tests.helpers.transforms import (
    move_points, orthogonal_matrices, permute_graph, random_permutation, relative_error, translations, turn_vectors,
)

TOL = 1e-10  # float64; correct models sit at ~1e-15


@contextlib.contextmanager
def float64_default():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def _small(name):
    """A fresh copy of the small seeded model (building e3nn modules is the slow part)."""
    return copy.deepcopy(_built(name))


@functools.lru_cache(maxsize=None)
def _built(name):
    torch.manual_seed(0)
    with float64_default():  # e3nn constants keep the dtype they are built in
        return {
            "egnn": lambda: EGNN(hidden_channels=16, num_layers=3),
            "tfn": lambda: TFN(irreps_hidden="8x0e+8x1o", num_layers=2),
            "segnn": lambda: SEGNN(irreps_hidden="8x0e+8x1o", num_layers=2),
            "gnn": lambda: GNN(hidden_channels=16, num_layers=2),
            "linear": lambda: Linear(),
        }[name]().double().eval()


def _two_graphs(seed=0):
    """Two charged systems (5 and 6 nodes) in one batch; the second graph is not complete and its
    in-degrees are uneven."""
    g = torch.Generator().manual_seed(seed)
    n1, n2 = 5, 6
    i, j = torch.meshgrid(torch.arange(n1), torch.arange(n1), indexing="ij")
    complete = torch.stack([j[i != j], i[i != j]])
    sparse = torch.tensor([[1, 2, 3, 4, 5, 0, 2, 5, 0, 1, 3, 4], [0, 0, 0, 0, 0, 1, 1, 1, 2, 3, 4, 5]])
    edge_index = torch.cat([complete, sparse + n1], 1)
    n = n1 + n2
    return Data(pos=2 * torch.randn(n, 3, generator=g, dtype=torch.float64),
                vel=torch.randn(n, 3, generator=g, dtype=torch.float64),
                charges=(torch.randint(0, 2, (n, 1), generator=g) * 2 - 1).double(),
                edge_index=edge_index, batch=torch.tensor([0] * n1 + [1] * n2))


def _moved(data, q, t):
    return Data(pos=move_points(data.pos, q, t), vel=turn_vectors(data.vel, q), charges=data.charges,
                edge_index=data.edge_index, batch=data.batch)


def _worst_e3_error(model, data):
    with torch.no_grad():
        out = model(data)
        worst = 0.0
        for k, (q, t) in enumerate(zip(orthogonal_matrices(seed=1), translations(7, seed=2))):
            worst = max(worst, relative_error(model(_moved(data, q, t)), move_points(out, q, t)))
    return worst


@pytest.mark.parametrize("name", ["egnn", "tfn", "segnn"])
def test_nbody_models_commute_with_rotations_reflections_translations(name):
    model = _small(name)
    assert _worst_e3_error(model, _two_graphs()) <= TOL


@pytest.mark.parametrize("name", ["gnn", "linear"])
def test_non_equivariant_baselines_fail_the_same_test(name):
    assert _worst_e3_error(_small(name), _two_graphs()) > 1e-3


@pytest.mark.parametrize("name", ["egnn", "tfn", "segnn", "gnn", "linear"])
def test_nbody_models_commute_with_node_permutations(name):
    model = _small(name)
    data = _two_graphs()
    with torch.no_grad():
        out = model(data)
        for seed in range(3):
            # within each graph (the batch vector follows), as index arrays
            perm = torch.cat([torch.as_tensor(random_permutation(5, seed)),
                              5 + torch.as_tensor(random_permutation(6, seed + 10))])
            perm, edge_index = permute_graph(perm.numpy(), data.edge_index)
            moved = Data(pos=data.pos[perm], vel=data.vel[perm], charges=data.charges[perm], edge_index=edge_index,
                         batch=data.batch[perm])
            assert relative_error(model(moved), out[perm]) <= TOL


def test_translation_alone_and_the_inversion_for_egnn():
    """Translations move positions but not velocities; the inversion x ↦ −x flips both."""
    model = _small("egnn")
    data = _two_graphs(seed=3)
    with torch.no_grad():
        out = model(data)
        t = torch.tensor([10.0, -4.0, 2.5], dtype=torch.float64)
        shifted = Data(pos=data.pos + t, vel=data.vel, charges=data.charges, edge_index=data.edge_index, batch=data.batch)
        assert relative_error(model(shifted), out + t) <= TOL
        inverted = Data(pos=-data.pos, vel=-data.vel, charges=data.charges, edge_index=data.edge_index, batch=data.batch)
        assert relative_error(model(inverted), -out) <= TOL


def _gin_inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    edge_index = torch.tensor([[1, 2, 3, 4, 0, 2, 5, 6, 6, 0, 3], [0, 0, 0, 1, 1, 1, 4, 4, 5, 6, 6]])
    return torch.randn(7, 4, generator=g, dtype=torch.float64), edge_index, torch.tensor([0, 0, 0, 0, 1, 1, 1])


def test_gin_layer_commutes_with_node_permutations():
    torch.manual_seed(1)
    conv = GINConv(4, 6).double()
    h, edge_index, _ = _gin_inputs()
    with torch.no_grad():
        out = conv(h, edge_index)
        for seed in range(4):
            perm, moved_edges = permute_graph(random_permutation(7, seed), edge_index)
            assert relative_error(conv(h[perm], moved_edges), out[perm]) <= TOL


@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_readout_is_invariant_under_permutations_within_graphs(reduce):
    readout = GraphReadout(4, reduce=reduce)
    h, _, batch = _gin_inputs(seed=2)
    with torch.no_grad():
        pooled = readout(h, batch)
        perm = torch.tensor([2, 0, 3, 1, 6, 4, 5])
        assert relative_error(readout(h[perm], batch[perm]), pooled) <= TOL
        # and it really is a readout of each graph: the sum/mean of the rows of graph 0
        rows = h[:4].sum(0) if reduce == "sum" else h[:4].mean(0)
        assert relative_error(pooled[0], rows) <= TOL
